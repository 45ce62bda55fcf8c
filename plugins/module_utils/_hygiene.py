# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal use only: this file is not a public API of the collection and may change at any time.

"""Credential hygiene for the roster: which keys and console passwords a remediation policy retires, and MFA.

Pure decisions, no AWS call: the engine reads what they need (last use of keys, the login profile, MFA devices)
and carries them out. The rules, as the iam_roster documentation states them:

- A credential never used counts from its creation (a key from its CreateDate, a console password from its
  login profile's CreateDate), so a key issued and forgotten is caught like one used long ago.
- An entry that asks for a credential (``access_key: true``, ``console: true``) keeps it: rotation applies to
  its key, and the disuse policies only warn about it. They retire every other credential of a roster user: the
  keys and console password of an entry that does not manage them, and the keys beyond the one an entry keeps.
- IAM does not record when a key was deactivated. An inactive key counts as inactive for N days when it has
  gone unused for ``deactivate_keys_unused_days`` + N days (the policy deactivated it after the first part),
  or for N days when no deactivation policy applies.
- 0 turns a policy off (an entry's own 0 overrides the roster's value); ``remediation: false`` exempts an entry.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import typing as t

from ansible.module_utils.parsing.convert_bool import boolean

POLICY_KEYS = (
    "rotate_keys_after_days",
    "deactivate_keys_unused_days",
    "delete_keys_inactive_days",
    "remove_console_unused_days",
)
REQUIRE_MFA = ("report", "deny")
# The inline policy ``require_mfa: deny`` puts on a console user without MFA, and removes once it has one.
DENY_POLICY_NAME = "techsquawks-iam-require-mfa"
# What a user may still do without MFA: see and set up its own virtual MFA device, and change its password.
# AWS's documented pattern (IAM: allows users to manage their own MFA device), its Deny statement.
DENY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DenyAllButMfaSetupWithoutMfa",
            "Effect": "Deny",
            "NotAction": [
                "iam:ChangePassword",
                "iam:CreateVirtualMFADevice",
                "iam:EnableMFADevice",
                "iam:GetAccountPasswordPolicy",
                "iam:GetUser",
                "iam:ListMFADevices",
                "iam:ListVirtualMFADevices",
                "iam:ResyncMFADevice",
                "sts:GetSessionToken",
            ],
            "Resource": "*",
            "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
        }
    ],
}
DENY_DOCUMENT = json.dumps(DENY_POLICY, separators=(",", ":"), sort_keys=True)

Key = dict[str, t.Any]


@dataclasses.dataclass(frozen=True)
class Policy:
    """A remediation policy; None (or 0) means that part is off."""

    rotate_keys_after_days: int | None = None
    deactivate_keys_unused_days: int | None = None
    delete_keys_inactive_days: int | None = None
    remove_console_unused_days: int | None = None

    @classmethod
    def from_option(cls, value: dict[str, t.Any] | None) -> Policy:
        value = value or {}
        return cls(**{key: value.get(key) or None for key in POLICY_KEYS})

    def overridden(self, entry_value: dict[str, t.Any] | bool | None) -> Policy:
        """This roster-wide policy with an entry's own ``remediation`` over it (False: exempt; 0: that part off)."""
        if entry_value is False:
            return Policy()
        if not isinstance(entry_value, dict):
            return self
        changes = {key: entry_value[key] or None for key in POLICY_KEYS if entry_value.get(key) is not None}
        return dataclasses.replace(self, **changes)

    @property
    def keys_by_use(self) -> bool:
        return bool(self.deactivate_keys_unused_days or self.delete_keys_inactive_days)

    def delete_after(self) -> int | None:
        """Days of disuse after which an inactive key is deleted (see the module docstring)."""
        if not self.delete_keys_inactive_days:
            return None
        return self.delete_keys_inactive_days + (self.deactivate_keys_unused_days or 0)


@dataclasses.dataclass(frozen=True)
class Action:
    """One credential to retire: what, how, and why (the words the summary shows)."""

    key_id: str | None
    action: str  # "deactivate", "delete" or "remove_console"
    reason: str


def policy_errors(option: str, value: t.Any, *, may_be_false: bool) -> list[str]:
    """Problems with a ``remediation`` value: a dict of day counts (an entry's may also be false)."""
    if value is None or (value is False and may_be_false):
        return []
    if not isinstance(value, dict):
        return [f"{option} must be a dict with {', '.join(POLICY_KEYS)}" + (" or false" if may_be_false else "")]
    errors = []
    unknown = sorted(str(key) for key in value if key not in POLICY_KEYS)
    if unknown:
        errors.append(f"{option}: unknown key {', '.join(unknown)} (known: {', '.join(POLICY_KEYS)})")
    for key in POLICY_KEYS:
        days = value.get(key)
        if days is not None and (not isinstance(days, int) or isinstance(days, bool) or days < 0):
            errors.append(f"{option}.{key} must be a whole number of days (0 turns it off), not {days!r}")
    return errors


def require_mfa_mode(value: t.Any) -> str | None:
    """``require_mfa``'s value as a mode: None (off), "report" or "deny"; raises ValueError otherwise."""
    if value in ("report", "deny"):
        return value
    if value is None or value == "":
        return None
    try:
        return "report" if boolean(value, strict=True) else None
    except TypeError:
        raise ValueError(f"require_mfa must be false, true or report, or deny, not {value!r}") from None


def idle_days(last_used: datetime.datetime | None, created: datetime.datetime, now: datetime.datetime) -> int:
    """Whole days since a credential was last used, or since its creation when it never was."""
    since = last_used or created
    if since.tzinfo is None:
        since = since.replace(tzinfo=datetime.UTC)
    return max((now - since).days, 0)


def keys_needing_last_use(keys: list[Key], policy: Policy) -> list[str]:
    """The keys whose last use decides something (each costs one GetAccessKeyLastUsed).

    Active keys when disuse deactivates, the key an entry keeps included (its disuse is warned about);
    inactive keys when disuse deletes.
    """
    return [
        key["AccessKeyId"]
        for key in keys
        if (policy.deactivate_keys_unused_days if key["Status"] == "Active" else policy.delete_after())
    ]


def key_actions(
    keys: list[Key],
    last_used: t.Mapping[str, datetime.datetime | None],
    kept: str | None,
    policy: Policy,
    now: datetime.datetime,
) -> tuple[list[Action], list[str]]:
    """The keys to deactivate or delete, oldest first, and warnings about the key an entry keeps."""
    actions, warnings = [], []
    deactivate, delete = policy.deactivate_keys_unused_days, policy.delete_after()
    for key in sorted(keys, key=lambda key: key["CreateDate"]):
        key_id = key["AccessKeyId"]
        if key_id not in last_used:
            continue
        idle = idle_days(last_used[key_id], key["CreateDate"], now)
        use = "never used" if last_used[key_id] is None else "unused"
        if key["Status"] == "Active" and deactivate and idle >= deactivate:
            reason = f"{use} for {idle} days (deactivate_keys_unused_days {deactivate})"
            if key_id == kept:
                warnings.append(f"access key {key_id} {reason}; the entry asks for an access key, so it is kept")
            else:
                actions.append(Action(key_id, "deactivate", reason))
        elif key["Status"] != "Active" and delete and idle >= delete:
            reason = (
                f"inactive, {use} for {idle} days (delete_keys_inactive_days {policy.delete_keys_inactive_days}"
                + (f" after deactivate_keys_unused_days {deactivate}" if deactivate else "")
                + ")"
            )
            actions.append(Action(key_id, "delete", reason))
    return actions, warnings


def console_action(
    profile_created: datetime.datetime,
    password_last_used: datetime.datetime | None,
    *,
    kept: bool,
    policy: Policy,
    now: datetime.datetime,
) -> tuple[Action | None, str | None]:
    """Whether the console password goes (unused for ``remove_console_unused_days``), or a warning if kept."""
    days = policy.remove_console_unused_days
    if not days:
        return None, None
    idle = idle_days(password_last_used, profile_created, now)
    if idle < days:
        return None, None
    use = "never used" if password_last_used is None else "unused"
    reason = f"{use} for {idle} days (remove_console_unused_days {days})"
    if kept:
        return None, f"console password {reason}; the entry asks for console access, so it is kept"
    return Action(None, "remove_console", reason), None


def mfa_verdict(mode: str | None, *, console: bool, mfa: bool) -> str | None:
    """What ``require_mfa`` asks for this user: None (nothing to do), "report" or "deny"."""
    if mode is None or not console or mfa:
        return None
    return mode


def parse_time(value: t.Any) -> datetime.datetime | None:
    """A datetime from botocore (or the ISO string the result views hold)."""
    if value is None or isinstance(value, datetime.datetime):
        return value
    return datetime.datetime.fromisoformat(str(value))
