"""Hand-built iam_credential_report_info results (the documented shape) for the audit report's tests."""

from __future__ import annotations

import typing as t

ACCOUNT = "123456789012"
GENERATED = "2026-10-01T12:00:00+00:00"
# Values no report may ever show: planted in fields the result shape does not have.
PLANTED_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYPLANTEDKEY"
PLANTED_PASSWORD = "Planted-Password-9f3c!"
SECRET_FIELDS = {
    "secret_access_key": PLANTED_SECRET,
    "password": PLANTED_PASSWORD,
    "SecretAccessKey": PLANTED_SECRET,
    "credentials": {"aws_secret_access_key": PLANTED_SECRET},
}
CIS_MFA = {
    "cis_v3": "1.10",
    "cis_v4": "1.10",
    "aws_config": "mfa-enabled-for-iam-console-access",
    "security_hub": "IAM.5",
}
CIS_ROTATION = {"cis_v3": "1.14", "cis_v4": "1.14", "aws_config": "access-keys-rotated", "security_hub": "IAM.3"}


def key_columns(
    slot: int,
    *,
    active: bool = False,
    rotated: str | None = None,
    used: str | None = None,
    service: str | None = None,
    key_id: str | None = None,
) -> dict[str, t.Any]:
    prefix = f"access_key_{slot}_"
    return {
        f"{prefix}active": active,
        f"{prefix}last_rotated": rotated,
        f"{prefix}last_used_date": used,
        f"{prefix}last_used_region": "us-east-1" if used else None,
        f"{prefix}last_used_service": service,
        f"{prefix}id": key_id,
    }


def user_row(
    user: str,
    *,
    console: bool | None = False,
    mfa: bool = False,
    console_used: str | None = None,
    key1: dict[str, t.Any] | None = None,
    key2: dict[str, t.Any] | None = None,
    findings: int = 0,
    **extra: t.Any,
) -> dict[str, t.Any]:
    """One record of ``users``: exactly the report's columns plus the join's, and ``extra`` (unknown fields)."""
    root = user == "<root_account>"
    row = {
        "user": user,
        "arn": f"arn:aws:iam::{ACCOUNT}:root" if root else f"arn:aws:iam::{ACCOUNT}:user/{user}",
        "user_creation_time": "2025-01-01T00:00:00+00:00",
        "password_enabled": console,
        "password_last_used": console_used,
        "password_last_changed": None,
        "password_next_rotation": None,
        "mfa_active": mfa,
        "cert_1_active": False,
        "cert_1_last_rotated": None,
        "cert_2_active": False,
        "cert_2_last_rotated": None,
        "root": root,
        "attached_policies": None,
        "inline_policies": None,
        "findings": findings,
        **key_columns(1, **(key1 or {})),
        **key_columns(2, **(key2 or {})),
    }
    row.update(extra)
    return row


def finding(
    user: str | None,
    control: str,
    severity: str,
    evidence: str,
    identifiers: dict[str, str | None] | None = None,
    **extra: t.Any,
) -> dict[str, t.Any]:
    return {
        "user": user,
        "arn": f"arn:aws:iam::{ACCOUNT}:user/{user}" if user else None,
        "control": control,
        "title": control.replace("_", " "),
        "severity": severity,
        "evidence": evidence,
        "access_key_id": None,
        "identifiers": identifiers or {"cis_v3": None, "cis_v4": None, "aws_config": None, "security_hub": None},
        **extra,
    }


def result(
    users: list[dict[str, t.Any]],
    findings: list[dict[str, t.Any]] | None = None,
    *,
    account: str = ACCOUNT,
    generated: str = GENERATED,
    password_policy: dict[str, t.Any] | None = None,
    **extra: t.Any,
) -> dict[str, t.Any]:
    """A whole result as registered (changed, report, account, users, findings, password_policy, totals)."""
    findings = findings or []
    by_severity = {severity: 0 for severity in ("critical", "high", "medium", "low")}
    for item in findings:
        by_severity[item["severity"]] += 1
    return {
        "changed": False,
        "report": {"generated_time": generated, "generated": True, "age_hours": 0.2},
        "account": account,
        "users": users,
        "findings": findings,
        "password_policy": password_policy,
        "totals": {"users": len(users), "findings": len(findings), "by_severity": by_severity, "by_control": {}},
        **extra,
    }


def production() -> dict[str, t.Any]:
    """An account with a root row, a console user without MFA and an old key, a key never used, an inactive key."""
    return result(
        [
            user_row("<root_account>", console=None, mfa=True),
            user_row(
                "alice",
                console=True,
                console_used="2026-09-20T10:00:00+00:00",
                key1={
                    "active": True,
                    "rotated": "2026-05-01T00:00:00+00:00",
                    "used": "2026-09-30T08:00:00+00:00",
                    "service": "s3",
                },
                findings=2,
            ),
            user_row(
                "bob",
                key1={"active": True, "rotated": "2026-09-01T00:00:00+00:00"},
                key2={"rotated": "2025-12-01T00:00:00+00:00", "used": "2026-01-10T00:00:00+00:00", "service": "iam"},
            ),
            user_row("carol", console=True, mfa=True),
        ],
        [
            finding("alice", "console_mfa", "medium", "alice has a console password and no MFA device", CIS_MFA),
            finding(
                "alice",
                "access_key_rotation",
                "medium",
                "access key AKIAIOSFODNN7EXAMPLE is 153 days old (limit 90)",
                CIS_ROTATION,
            ),
        ],
        password_policy={"minimum_password_length": 14, "password_reuse_prevention": 24},
    )
