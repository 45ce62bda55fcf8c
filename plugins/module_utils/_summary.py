# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal use only: this file is not a public API of the collection and may change at any time.

"""What a roster run did, for people: totals, a padded Markdown table, the failures, the report file.

Works on the user records of iam_roster's result (plain dicts), so a role or playbook can render several
accounts' results together. No boto3 here.
"""

from __future__ import annotations

import datetime
import os
import typing as t

HEADER = ("Account", "User", "Created", "Changed", "Removed", "Credentials", "Result")

FILES_HELP = """Every credentials file is readable only by its owner (mode 0600, directories 0700):

- `credentials`: the access key, in the AWS shared-credentials format (profile named after the user);
- `console.json`: the console password (and sign-in URL), which the user must change at first sign-in
  when the summary says "reset required";
- `mfa.json`: the virtual MFA device's seed as an `otpauth://` URI and as base32, for an authenticator app
  (`qrencode -t ansiutf8` turns the URI into a QR code).

Files ending in `.vault` are encrypted with ansible-vault: read them with `ansible-vault view FILE`.
Hand each file to its user over a secure channel, then delete your copy.
"""


def touched(user: dict[str, t.Any]) -> bool:
    """Whether the run created, changed or removed something of this user (would have, in check mode)."""
    return bool(user["created"] or user["changed"] or user["removed"])


def totals(users: list[dict[str, t.Any]]) -> dict[str, int]:
    failed = sum(1 for user in users if user["failed"])
    changed = sum(1 for user in users if touched(user) and not user["failed"])
    return {"users": len(users), "changed": changed, "unchanged": len(users) - changed - failed, "failed": failed}


def headline(users: list[dict[str, t.Any]], check_mode: bool) -> str:
    counts = totals(users)
    with_changes = "that would change" if check_mode else "with changes"
    line = f"{counts['users']} user(s): {counts['changed']} {with_changes}, {counts['unchanged']} unchanged"
    if counts["failed"]:
        names = ", ".join(_who(user) for user in users if user["failed"])
        line += f", {counts['failed']} FAILED ({names})"
    return line + "."


def _who(user: dict[str, t.Any]) -> str:
    return f"{user['label']}/{user['name']}" if user.get("label") else user["name"]


def _result(user: dict[str, t.Any], check_mode: bool) -> str:
    if user["failed"]:
        return f"FAILED ({user.get('error_code') or 'error'})"
    if touched(user):
        return "would change" if check_mode else "changed"
    return "ok"


def _credentials(user: dict[str, t.Any]) -> str:
    where = f"{user['directory']}/" if user.get("directory") else "-"
    if user.get("credentials"):
        where += " (new: " + ", ".join(os.path.basename(path) for path in user["credentials"]) + ")"
    return where


def table(users: list[dict[str, t.Any]], check_mode: bool) -> list[str]:
    """A Markdown table, one row per user, padded so that it also reads in a terminal."""
    rows = [list(HEADER)]
    for user in sorted(users, key=lambda user: (user.get("label") or user.get("account") or "", user["name"])):
        rows.append(
            [
                user.get("label") or user.get("account") or "-",
                user["name"],
                ", ".join(user["created"]) or "-",
                ", ".join(user["changed"]) or "-",
                ", ".join(user["removed"]) or "-",
                _credentials(user),
                _result(user, check_mode),
            ]
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(HEADER))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)) + " |"

    return [line(rows[0]), line(["-" * width for width in widths]), *(line(row) for row in rows[1:])]


def failures(users: list[dict[str, t.Any]]) -> list[str]:
    """One line per failed user: who, the AWS error code and the message."""
    return [
        f"- {_who(user)}: {user.get('error_code') or 'error'}: {user.get('msg')}" for user in users if user["failed"]
    ]


def summary(users: list[dict[str, t.Any]], check_mode: bool) -> list[str]:
    """The lines a person reads at the end of a run."""
    lines = []
    if check_mode:
        lines.append("Check mode: nothing was changed; this is what a real run would do.")
    lines += [headline(users, check_mode), "", *table(users, check_mode)]
    failed = failures(users)
    if failed:
        lines += ["", "Failed users (the others are converged):", *failed]
    return lines


def unlisted(found: list[dict[str, t.Any]], owned_path: str | None, check_mode: bool) -> list[str]:
    """Lines about the users under the owned path that no entry names (roster drift)."""
    if not found:
        return []
    gone = [user for user in found if user.get("offboarded")]
    lines = ["", f"{len(found)} user(s) under {owned_path} that the roster does not name:"]
    for user in found:
        if user.get("offboarded"):
            what = "would be offboarded" if check_mode else "offboarded"
        elif user.get("msg"):
            what = f"left alone: {user['msg']}"
        else:
            what = "reported (offboard_unlisted offboards it)"
        lines.append(f"- {user['name']} ({user.get('path')}): {what}")
    if not gone and not any(user.get("msg") for user in found):
        lines.append("Add them to the roster, or set offboard_unlisted to offboard them (try it with --check).")
    return lines


def warnings(users: list[dict[str, t.Any]]) -> list[str]:
    """One line per warning a user's convergence raised (remediation kept or reported something, for example)."""
    lines = [f"- {_who(user)}: {warning}" for user in users for warning in user.get("warnings") or []]
    return ["", "Warnings:", *lines] if lines else []


def report(users: list[dict[str, t.Any]], credentials_dir: str, now: datetime.datetime | None = None) -> str:
    """The Markdown report written next to the credentials."""
    now = now or datetime.datetime.now(datetime.UTC)
    return "\n".join(
        [
            "# IAM onboarding report",
            "",
            f"Written by techsquawks.iam.iam_roster on {now.strftime('%Y-%m-%d %H:%M:%S UTC')} for the users whose",
            f"credentials are under `{credentials_dir}`. A run that changes nothing does not rewrite it.",
            "",
            *summary(users, check_mode=False),
            *warnings(users),
            "",
            FILES_HELP,
        ]
    )
