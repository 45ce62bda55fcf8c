# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal use only: this file is not a public API of the collection and may change at any time.

"""What a resource function did: one ``changed = before != after`` and one diff builder for every caller.

Every resource in module_utils (_user, _access_keys, _login_profile, _mfa, _ssh_key, _signing_certificate)
returns an Outcome; the single-resource modules turn it into their result, the roster engine into one
record per user. No boto3 here.
"""

from __future__ import annotations

import dataclasses
import typing as t


@dataclasses.dataclass
class Outcome:
    """Before and after (the managed view, never a secret) plus what the change was, in words for a summary."""

    before: t.Any
    after: t.Any
    created: list[str] = dataclasses.field(default_factory=list)
    updated: list[str] = dataclasses.field(default_factory=list)
    removed: list[str] = dataclasses.field(default_factory=list)
    # References (paths) of the secrets delivered by this run.
    delivered: list[str] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)
    # Fields of the module's result beyond ``changed`` and ``diff`` (a secret only when it was not delivered).
    result: dict[str, t.Any] = dataclasses.field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return self.before != self.after


def diff(before: t.Any, after: t.Any, header: str | None = None) -> dict[str, t.Any]:
    """An Ansible diff; ``header`` names what it is about (e.g. a user in a roster diff)."""
    built: dict[str, t.Any] = {"before": before, "after": after}
    if header:
        built["before_header"] = built["after_header"] = header
    return built


def module_result(outcome: Outcome, *, with_diff: bool) -> dict[str, t.Any]:
    """A module's result from an outcome: changed, the module's fields and, in diff mode, the diff."""
    result: dict[str, t.Any] = {"changed": outcome.changed, **outcome.result}
    if with_diff:
        result["diff"] = diff(outcome.before, outcome.after)
    return result
