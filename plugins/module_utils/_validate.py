# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal use only: this file is not a public API of the collection and may change at any time.

"""Input validation to IAM's real rules, run before any AWS call (moto and botocore enforce few of them).

Each function returns a list of messages that start with the option's name; an empty list means valid.
"""

from __future__ import annotations

import re
import typing as t
import unicodedata

USER_NAME_MAX = 64
GROUP_NAME_MAX = 128
PATH_MAX = 512
TAGS_MAX = 50
TAG_KEY_MAX = 128
TAG_VALUE_MAX = 256

# Java's \w in IAM's patterns is ASCII only. Matched with fullmatch: "$" alone would accept a final newline.
_NAME_RE = re.compile(r"[A-Za-z0-9_+=,.@-]+")
_PATH_RE = re.compile(r"/|/[\x21-\x7e]+/")
_POLICY_ARN_RE = re.compile(r"arn:aws[a-z-]*:iam::(aws|\d{12}):policy/[\x21-\x7e]+")
_TAG_KEY_EXTRA = set("_.:/=+-@")


def user_name(option: str, value: str | None, max_length: int = USER_NAME_MAX) -> list[str]:
    """IAM user names: 1-64 ASCII characters of [A-Za-z0-9_+=,.@-]."""
    if value is None:
        return []
    if not value:
        return [f"{option} must not be empty"]
    if len(value) > max_length:
        return [f"{option} '{value}' is {len(value)} characters long; IAM allows at most {max_length}"]
    if not _NAME_RE.fullmatch(value):
        return [f"{option} '{value}' may contain only ASCII letters, digits and _+=,.@-"]
    return []


def group_name(option: str, value: str) -> list[str]:
    """IAM group names: 1-128 characters of the same set as user names."""
    return user_name(option, value, GROUP_NAME_MAX)


def path(option: str, value: str | None) -> list[str]:
    """IAM paths: '/' or '/.../' of printable ASCII, at most 512 characters."""
    if value is None:
        return []
    if len(value) > PATH_MAX:
        return [f"{option} is {len(value)} characters long; IAM allows at most {PATH_MAX}"]
    if not _PATH_RE.fullmatch(value):
        return [f"{option} '{value}' must begin and end with '/' and contain only printable ASCII without spaces"]
    return []


def policy_arn(option: str, value: str | None) -> list[str]:
    """A managed policy ARN (AWS-managed or customer-managed)."""
    if value is None or _POLICY_ARN_RE.fullmatch(value):
        return []
    return [f"{option} '{value}' is not an IAM policy ARN (arn:aws:iam::<account or aws>:policy/<name>)"]


def _valid_tag_key_char(char: str) -> bool:
    return unicodedata.category(char)[0] in "LZN" or char in _TAG_KEY_EXTRA


def tags(option: str, value: dict[str, t.Any] | None) -> list[str]:
    """At most 50 tags; keys 1-128 of letters, spaces, digits and _.:/=+-@, not aws:; values up to 256."""
    if value is None:
        return []
    errors = []
    if len(value) > TAGS_MAX:
        errors.append(f"{option} has {len(value)} tags; IAM allows at most {TAGS_MAX}")
    for key, tag_value in value.items():
        if not key or len(key) > TAG_KEY_MAX:
            errors.append(f"{option} key '{key[:40]}' must be 1 to {TAG_KEY_MAX} characters long")
        elif not all(_valid_tag_key_char(char) for char in key):
            errors.append(f"{option} key '{key}' may contain only letters, digits, spaces and _.:/=+-@")
        elif key.lower().startswith("aws:"):
            errors.append(f"{option} key '{key}' uses the prefix 'aws:', which AWS reserves")
        if tag_value is not None and len(str(tag_value)) > TAG_VALUE_MAX:
            length = len(str(tag_value))
            errors.append(f"{option} value of '{key}' is {length} characters long; IAM allows at most {TAG_VALUE_MAX}")
    return errors
