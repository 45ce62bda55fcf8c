# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal use only: this file is not a public API of the collection and may change at any time.

"""Pure helpers: tag conversion, tag and list deltas, date rendering. No boto3 here."""

from __future__ import annotations

import datetime
import typing as t

AWS_RESERVED_TAG_PREFIX = "aws:"


def tags_to_dict(tags: list[dict[str, str]] | None) -> dict[str, str]:
    """Convert boto3's [{'Key': k, 'Value': v}] to {k: v}."""
    return {tag["Key"]: tag.get("Value", "") for tag in tags or []}


def dict_to_tags(tags: dict[str, str]) -> list[dict[str, str]]:
    """Convert {k: v} to boto3's [{'Key': k, 'Value': v}], sorted by key for stable requests."""
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]


def tag_delta(current: dict[str, str], desired: dict[str, str] | None, purge: bool) -> tuple[dict[str, str], list[str]]:
    """Return (tags to set, keys to remove); None means tags are not managed. Never removes aws: tags."""
    if desired is None:
        return {}, []
    to_set = {key: value for key, value in desired.items() if current.get(key) != value}
    to_remove = []
    if purge:
        to_remove = sorted(key for key in current if key not in desired and not key.startswith(AWS_RESERVED_TAG_PREFIX))
    return to_set, to_remove


def apply_tag_delta(current: dict[str, str], to_set: dict[str, str], to_remove: list[str]) -> dict[str, str]:
    """The tags that result from applying a delta (the predicted state in check mode)."""
    result = {key: value for key, value in current.items() if key not in to_remove}
    result.update(to_set)
    return result


def list_delta(current: list[str], desired: list[str] | None, purge: bool) -> tuple[list[str], list[str]]:
    """Return (to add, to remove), order-preserving; None means the list is not managed."""
    if desired is None:
        return [], []
    to_add = [item for item in dict.fromkeys(desired) if item not in current]
    to_remove = [item for item in current if item not in desired] if purge else []
    return to_add, to_remove


def apply_list_delta(current: list[str], to_add: list[str], to_remove: list[str]) -> list[str]:
    """The list that results from applying a delta, sorted for stable output and diffs."""
    return sorted(set(current) - set(to_remove) | set(to_add))


def iso8601(value: t.Any) -> str | None:
    """Render a datetime as ISO 8601 (UTC if naive); pass strings and None through."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.UTC)
        return value.isoformat()
    return value


def age_in_days(value: datetime.datetime, now: datetime.datetime | None = None) -> int:
    """Whole days since ``value`` (a timezone-aware datetime)."""
    now = now or datetime.datetime.now(datetime.UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return (now - value).days


def user_result(
    user: dict[str, t.Any],
    *,
    tags: dict[str, str] | None = None,
    groups: list[str] | None = None,
    managed_policies: list[str] | None = None,
) -> dict[str, t.Any]:
    """The snake_case ``user`` return value (tags as a dict) from a GetUser/CreateUser/ListUsers item."""
    boundary = user.get("PermissionsBoundary") or {}
    return {
        "user_name": user["UserName"],
        "user_id": user.get("UserId"),
        "arn": user.get("Arn"),
        "path": user.get("Path", "/"),
        "create_date": iso8601(user.get("CreateDate")),
        "password_last_used": iso8601(user.get("PasswordLastUsed")),
        "tags": tags if tags is not None else tags_to_dict(user.get("Tags")),
        "permissions_boundary": boundary.get("PermissionsBoundaryArn"),
        "groups": sorted(groups or []),
        "managed_policies": sorted(managed_policies or []),
    }
