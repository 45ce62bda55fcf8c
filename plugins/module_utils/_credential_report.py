# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal use only: this file is not a public API of the collection and may change at any time.

"""The IAM credential report: fetched (generated when missing or too old), parsed, joined and audited against CIS.

Parsing, slot matching and every control are pure functions of their inputs and of ``now``; only
``fetch_report``, the ``join_*`` functions and ``audit`` call IAM, through ``_iam.IAM``.
"""

from __future__ import annotations

import base64
import binascii
import collections
import concurrent.futures
import csv
import dataclasses
import datetime
import functools
import io
import re
import time
import typing as t

from ansible_collections.techsquawks.iam.plugins.module_utils import _passwords
from ansible_collections.techsquawks.iam.plugins.module_utils._iam import IAM, IAMError
from ansible_collections.techsquawks.iam.plugins.module_utils._module import ModuleFailure

Row = dict[str, t.Any]

ROOT_USER = "<root_account>"

# The columns AWS documents, in report order (id_credentials_getting-report.html).
COLUMNS: tuple[str, ...] = (
    "user",
    "arn",
    "user_creation_time",
    "password_enabled",
    "password_last_used",
    "password_last_changed",
    "password_next_rotation",
    "mfa_active",
    "access_key_1_active",
    "access_key_1_last_rotated",
    "access_key_1_last_used_date",
    "access_key_1_last_used_region",
    "access_key_1_last_used_service",
    "access_key_2_active",
    "access_key_2_last_rotated",
    "access_key_2_last_used_date",
    "access_key_2_last_used_region",
    "access_key_2_last_used_service",
    "cert_1_active",
    "cert_1_last_rotated",
    "cert_2_active",
    "cert_2_last_rotated",
)
DATE_COLUMNS = frozenset(
    {
        "user_creation_time",
        "password_last_used",
        "password_last_changed",
        "password_next_rotation",
        "access_key_1_last_rotated",
        "access_key_1_last_used_date",
        "access_key_2_last_rotated",
        "access_key_2_last_used_date",
        "cert_1_last_rotated",
        "cert_2_last_rotated",
    }
)
BOOL_COLUMNS = frozenset(
    {"password_enabled", "mfa_active", "access_key_1_active", "access_key_2_active", "cert_1_active", "cert_2_active"}
)
# "N/A" (not applicable), "not_supported" (the root user's password columns; region and service before AWS
# tracked them) and "no_information" (a password never used since IAM began tracking) all mean "no value".
NO_VALUE = frozenset({"", "N/A", "not_supported", "no_information"})
KEY_SLOTS = (1, 2)

# -- options ----------------------------------------------------------------------------------------

LAST_USED_MODES = ("missing", "always", "never")
# name: (default as the benchmarks set it, lowest accepted, highest accepted)
THRESHOLDS: dict[str, tuple[int, int, int]] = {
    "unused_credentials_days": (45, 1, 36500),  # CIS 1.12; AWS Config's own default is 90
    "access_key_max_age_days": (90, 1, 36500),  # CIS 1.14, access-keys-rotated maxAccessKeyAge
    "password_min_length": (14, _passwords.CUSTOM_MIN_LENGTH[0], _passwords.CUSTOM_MIN_LENGTH[1]),  # CIS 1.8
    "password_reuse_prevention": (24, 1, _passwords.REUSE_PREVENTION[1]),  # CIS 1.9
}
DEFAULT_MAX_REPORT_AGE = 4  # hours: AWS makes a new report at most every 4 hours anyway
DEFAULT_WAIT_TIMEOUT = 300
PATH_PREFIX_MAX = 512
# Users whose keys are listed at once (botocore clients are thread-safe; _aws keeps 32 connections per client).
JOIN_WORKERS = 8

# -- controls ---------------------------------------------------------------------------------------

SEVERITIES = ("critical", "high", "medium", "low")


@dataclasses.dataclass(frozen=True)
class Rule:
    """What a finding maps to: its control, severity (Security Hub's where it has the control) and identifiers."""

    control: str
    title: str
    severity: str
    cis: str  # the same recommendation number in CIS AWS Foundations v3.0.0 and v4.0.1
    aws_config: str | None = None
    security_hub: str | None = None

    def identifiers(self) -> dict[str, str | None]:
        return {
            "cis_v3": self.cis,
            "cis_v4": self.cis,
            "aws_config": self.aws_config,
            "security_hub": self.security_hub,
        }


ROOT_ACCESS_KEY = Rule(
    "root_access_key", "The root user has an active access key", "critical", "1.4", "iam-root-access-key-check", "IAM.4"
)
PASSWORD_LENGTH = Rule(
    "password_policy",
    "The account password policy allows passwords shorter than required",
    "medium",
    "1.8",
    "iam-password-policy",
    "IAM.15",
)
PASSWORD_REUSE = Rule(
    "password_policy",
    "The account password policy does not prevent enough password reuse",
    "low",
    "1.9",
    "iam-password-policy",
    "IAM.16",
)
CONSOLE_MFA = Rule(
    "console_mfa",
    "A user with a console password has no active MFA device",
    "medium",
    "1.10",
    "mfa-enabled-for-iam-console-access",
    "IAM.5",
)
# No Security Hub control: rated as prowler rates its checks for these two recommendations.
UNUSED_INITIAL_ACCESS_KEY = Rule(
    "unused_initial_access_key", "A user with a console password has an active access key never used", "medium", "1.11"
)
MULTIPLE_ACTIVE_KEYS = Rule("multiple_active_keys", "A user has more than one active access key", "medium", "1.13")
# Security Hub IAM.22 is the 45-day control, IAM.8 the same check at 90 days.
UNUSED_CREDENTIALS = Rule(
    "unused_credentials",
    "A credential has not been used in the allowed number of days",
    "medium",
    "1.12",
    "iam-user-unused-credentials-check",
    "IAM.22",
)
UNUSED_CREDENTIALS_90 = dataclasses.replace(UNUSED_CREDENTIALS, security_hub="IAM.8")
ACCESS_KEY_ROTATION = Rule(
    "access_key_rotation",
    "An active access key is older than the allowed age",
    "medium",
    "1.14",
    "access-keys-rotated",
    "IAM.3",
)
USER_ATTACHED_POLICIES = Rule(
    "user_attached_policies",
    "Policies are attached to the user instead of coming through groups",
    "low",
    "1.15",
    "iam-user-no-policies-check",
    "IAM.2",
)

# In CIS order (1.4, 1.8/1.9, 1.10, 1.11, 1.12, 1.13, 1.14, 1.15).
CONTROL_NAMES: tuple[str, ...] = (
    "root_access_key",
    "password_policy",
    "console_mfa",
    "unused_initial_access_key",
    "unused_credentials",
    "multiple_active_keys",
    "access_key_rotation",
    "user_attached_policies",
)


@dataclasses.dataclass(frozen=True)
class Finding:
    rule: Rule
    evidence: str
    user: str | None = None
    arn: str | None = None
    access_key_id: str | None = None

    def result(self) -> dict[str, t.Any]:
        return {
            "user": self.user,
            "arn": self.arn,
            "control": self.rule.control,
            "title": self.rule.title,
            "severity": self.rule.severity,
            "evidence": self.evidence,
            "access_key_id": self.access_key_id,
            "identifiers": self.rule.identifiers(),
        }

    def sort_key(self) -> tuple[t.Any, ...]:
        """Severity, then user (account-level findings first), then control in CIS order."""
        return (
            SEVERITIES.index(self.rule.severity),
            self.user or "",
            CONTROL_NAMES.index(self.rule.control),
            self.access_key_id or "",
            self.evidence,
        )


@dataclasses.dataclass(frozen=True)
class Options:
    max_report_age: int = DEFAULT_MAX_REPORT_AGE
    wait_timeout: int = DEFAULT_WAIT_TIMEOUT
    last_used: str = "missing"
    path_prefix: str = "/"
    include_root: bool = True
    controls: tuple[str, ...] = CONTROL_NAMES
    thresholds: dict[str, int] = dataclasses.field(default_factory=lambda: resolve_thresholds(None))

    @classmethod
    def from_params(cls, params: dict[str, t.Any]) -> Options:
        controls = params.get("controls")
        return cls(
            max_report_age=params.get("max_report_age", DEFAULT_MAX_REPORT_AGE),
            wait_timeout=params.get("wait_timeout", DEFAULT_WAIT_TIMEOUT),
            last_used=params.get("last_used") or "missing",
            path_prefix=params.get("path_prefix") or "/",
            include_root=params.get("include_root", True),
            controls=CONTROL_NAMES if controls is None else tuple(dict.fromkeys(controls)),
            thresholds=resolve_thresholds(params.get("thresholds")),
        )


def resolve_thresholds(given: dict[str, t.Any] | None) -> dict[str, int]:
    """The thresholds in force: the given ones, else the benchmarks' defaults."""
    given = given or {}
    return {name: given[name] if given.get(name) is not None else bounds[0] for name, bounds in THRESHOLDS.items()}


def option_errors(params: dict[str, t.Any]) -> list[str]:
    """Messages naming each bad option (checked before any AWS call); empty when the input is valid."""
    errors = []
    for name in ("max_report_age", "wait_timeout"):
        value = params.get(name)
        if value is not None and value < 0:
            errors.append(f"{name} must be 0 or more, not {value}")
    if params.get("last_used") not in (None, *LAST_USED_MODES):
        errors.append(f"last_used must be one of {', '.join(LAST_USED_MODES)}, not {params['last_used']}")
    prefix = params.get("path_prefix")
    if prefix is not None and (not prefix.startswith("/") or len(prefix) > PATH_PREFIX_MAX):
        errors.append(f"path_prefix '{prefix}' must begin with '/' and be at most {PATH_PREFIX_MAX} characters")
    for control in params.get("controls") or ():
        if control not in CONTROL_NAMES:
            errors.append(f"controls: '{control}' is not one of {', '.join(CONTROL_NAMES)}")
    for name, value in (params.get("thresholds") or {}).items():
        if name not in THRESHOLDS:
            errors.append(f"thresholds.{name} is not a threshold; known: {', '.join(THRESHOLDS)}")
        elif value is None:
            continue
        elif isinstance(value, bool) or not isinstance(value, int):
            errors.append(f"thresholds.{name} must be a whole number, not {value!r}")
        else:
            low, high = THRESHOLDS[name][1:]
            if not low <= value <= high:
                errors.append(f"thresholds.{name} must be between {low} and {high}, not {value}")
    return errors


# -- dates ------------------------------------------------------------------------------------------


def as_utc(value: datetime.datetime | str) -> datetime.datetime:
    """A timezone-aware UTC datetime from botocore's datetimes (local tz) or an ISO 8601 string (UTC if naive)."""
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return value.astimezone(datetime.UTC)


def days_since(since: datetime.datetime, now: datetime.datetime) -> int:
    """Whole days from ``since`` to ``now`` (89 days and 23 hours is 89)."""
    return (now - since).days


def _to_second(value: datetime.datetime) -> datetime.datetime:
    return value.replace(microsecond=0)


def _day(value: datetime.datetime | None) -> str:
    return value.date().isoformat() if value else "an unknown date"


# -- fetching ---------------------------------------------------------------------------------------

MUST_GENERATE = frozenset({"ReportNotPresent", "ReportExpired"})
IN_PROGRESS = "ReportInProgress"
COMPLETE = "COMPLETE"
POLL_FIRST, POLL_MAX = 1.0, 10.0


@dataclasses.dataclass(frozen=True)
class FetchedReport:
    text: str
    generated_time: datetime.datetime
    generated: bool  # this run asked AWS for a new report


def report_text(content: bytes | str) -> str:
    """The CSV text of GetCredentialReport's Content.

    AWS sends base64; botocore decodes a blob into bytes already, but a str (another client, a recorded
    answer) may still be base64.
    """
    text = content.decode("utf-8-sig") if isinstance(content, bytes) else content
    if text.startswith("user,") or not text.strip():
        return text
    try:
        return base64.b64decode("".join(text.split()), validate=True).decode("utf-8-sig")
    except (binascii.Error, UnicodeDecodeError):
        return text


def report_age_hours(generated_time: datetime.datetime, now: datetime.datetime) -> float:
    """Hours since the report was made (0 for a report made after ``now``, while this run waited for it)."""
    return max(0.0, round((now - generated_time).total_seconds() / 3600, 2))


def _fetched(answer: dict[str, t.Any], generated: bool) -> FetchedReport:
    return FetchedReport(report_text(answer.get("Content") or b""), as_utc(answer["GeneratedTime"]), generated)


def fetch_report(
    iam: IAM,
    *,
    max_age_hours: float,
    wait_timeout: float,
    now: datetime.datetime,
    sleep: t.Callable[[float], None] = time.sleep,
    clock: t.Callable[[], float] = time.monotonic,
) -> FetchedReport:
    """The account's report when it is younger than ``max_age_hours``, else a new one, waited for.

    ReportNotPresent and ReportExpired mean "generate"; ReportInProgress means someone is generating: the
    wait below joins it (GenerateCredentialReport then answers INPROGRESS).
    """
    try:
        answer = iam.get_credential_report()
    except IAMError as exc:
        if exc.code not in MUST_GENERATE and exc.code != IN_PROGRESS:
            raise
    else:
        report = _fetched(answer, generated=False)
        if report_age_hours(report.generated_time, now) < max_age_hours:
            return report
    return generate_and_wait(iam, wait_timeout=wait_timeout, sleep=sleep, clock=clock)


def generate_and_wait(
    iam: IAM,
    *,
    wait_timeout: float,
    sleep: t.Callable[[float], None] = time.sleep,
    clock: t.Callable[[], float] = time.monotonic,
) -> FetchedReport:
    """GenerateCredentialReport until it answers COMPLETE, then GetCredentialReport; at most ``wait_timeout`` s.

    Polling GenerateCredentialReport (not GetCredentialReport) is what tells a new report from the old one:
    its State describes the generation itself. A GetCredentialReport that still answers ReportInProgress
    (or NotPresent/Expired) after COMPLETE is polled the same way; nothing here is a blind retry.
    """
    deadline = clock() + wait_timeout
    delay = POLL_FIRST
    while True:
        state = iam.generate_credential_report()
        waiting_for = f"GenerateCredentialReport answered {state}"
        if state == COMPLETE:
            try:
                return _fetched(iam.get_credential_report(), generated=True)
            except IAMError as exc:
                if exc.code not in MUST_GENERATE and exc.code != IN_PROGRESS:
                    raise
                waiting_for = f"GetCredentialReport answered {exc.code}"
        remaining = deadline - clock()
        if remaining <= 0:
            raise ModuleFailure(
                f"The credential report was not ready within wait_timeout ({wait_timeout} seconds): {waiting_for}",
                error_code=IN_PROGRESS,
            )
        sleep(min(delay, remaining))
        delay = min(delay * 2, POLL_MAX)


# -- parsing ----------------------------------------------------------------------------------------


def parse_date(raw: str) -> datetime.datetime | None:
    if raw in NO_VALUE:
        return None
    try:
        return as_utc(raw)
    except ValueError:
        return None


def parse_bool(raw: str) -> bool | None:
    return {"true": True, "false": False}.get(raw.lower())


def parse_value(column: str, raw: str | None) -> t.Any:
    """One cell: dates as UTC datetimes, booleans as booleans, no-value markers as None; unknown columns as is."""
    if column not in COLUMNS:
        return raw
    raw = (raw or "").strip()
    if column in DATE_COLUMNS:
        return parse_date(raw)
    if column in BOOL_COLUMNS:
        return parse_bool(raw)
    return None if raw in NO_VALUE else raw


def parse_report(text: str) -> list[Row]:
    """Rows of the CSV report, typed; every documented column present (None when an older format lacks it)."""
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    if "user" not in header or "arn" not in header:
        raise ModuleFailure(
            f"The credential report is not in the documented CSV format (header: {','.join(header)[:200]})",
            error_code="InvalidCredentialReport",
        )
    rows = []
    for raw in reader:
        row: Row = dict.fromkeys(COLUMNS)
        for column, value in raw.items():
            if column is not None:  # None holds the surplus cells of a row longer than the header
                row[column] = parse_value(column, value)
        row["root"] = row["user"] == ROOT_USER
        row.update(access_key_1_id=None, access_key_2_id=None, attached_policies=None, inline_policies=None)
        rows.append(row)
    return rows


def arn_path(arn: str | None) -> str | None:
    """The IAM path in a user ARN (arn:aws:iam::123456789012:user/people/alice -> /people/); None for others."""
    resource = (arn or "").split(":", 5)[-1]
    parts = resource.split("/")
    if len(parts) < 2 or parts[0] != "user":
        return None
    return "/" + "".join(f"{part}/" for part in parts[1:-1])


def select_rows(rows: list[Row], path_prefix: str, include_root: bool) -> list[Row]:
    """The root row (unless ``include_root`` is false) and the users whose path starts with ``path_prefix``."""
    return [
        row for row in rows if (include_root if row["root"] else (arn_path(row["arn"]) or "/").startswith(path_prefix))
    ]


def account_of(rows: list[Row]) -> str | None:
    """The account ID in the root row's ARN (arn:aws:iam::<account>:root), else in any user's ARN."""
    for row in sorted(rows, key=lambda row: not row["root"]):
        fields = (row["arn"] or "").split(":")
        if len(fields) > 4 and fields[4]:
            return fields[4]
    return None


# -- the join -----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class KeySlot:
    slot: int
    active: bool
    last_rotated: datetime.datetime | None
    last_used: datetime.datetime | None
    key_id: str | None

    def name(self) -> str:
        return f"access key {self.key_id}" if self.key_id else f"access key {self.slot}"


def key_slots(row: Row) -> list[KeySlot]:
    """The report's access key slots that hold a key (active, or with a creation date)."""
    slots = []
    for n in KEY_SLOTS:
        active, rotated = row.get(f"access_key_{n}_active"), row.get(f"access_key_{n}_last_rotated")
        if active or rotated is not None:
            slots.append(
                KeySlot(
                    n, bool(active), rotated, row.get(f"access_key_{n}_last_used_date"), row.get(f"access_key_{n}_id")
                )
            )
    return slots


def match_key_slots(row: Row, keys: list[dict[str, t.Any]]) -> dict[int, dict[str, t.Any]]:
    """Pair report slots with ListAccessKeys entries: CreateDate equals the slot's last_rotated to the second.

    A key cannot be rotated in place, so last_rotated is its creation date. Two keys made in the same second
    are told apart by status, then by creation order (slot 1 first).
    """
    remaining = sorted(keys, key=lambda key: (as_utc(key["CreateDate"]), key["AccessKeyId"]))
    matched: dict[int, dict[str, t.Any]] = {}
    for slot in key_slots(row):
        if slot.last_rotated is None:
            continue
        second = _to_second(slot.last_rotated)
        candidates = [key for key in remaining if _to_second(as_utc(key["CreateDate"])) == second]
        if not candidates:
            continue
        same_status = [key for key in candidates if (key.get("Status") == "Active") == slot.active]
        chosen = (same_status or candidates)[0]
        matched[slot.slot] = chosen
        remaining.remove(chosen)
    return matched


def wants_last_used(row: Row, slot: int, mode: str) -> bool:
    """Whether GetAccessKeyLastUsed is asked about this slot's key under the ``last_used`` option."""
    if mode == "never":
        return False
    if mode == "always":
        return True
    details = [row.get(f"access_key_{slot}_last_used_{field}") for field in ("date", "region", "service")]
    return bool(row.get(f"access_key_{slot}_active")) and any(value is None for value in details)


def merge_last_used(row: Row, slot: int, last_used: dict[str, t.Any]) -> None:
    """Fill the slot's last-used columns from GetAccessKeyLastUsed (live, where the report may be 4 hours old)."""
    if last_used.get("LastUsedDate") is not None:
        row[f"access_key_{slot}_last_used_date"] = as_utc(last_used["LastUsedDate"])
    for field, source in (("region", "Region"), ("service", "ServiceName")):
        value = last_used.get(source)
        if value and value not in NO_VALUE:
            row[f"access_key_{slot}_last_used_{field}"] = value


def _absent_is_empty(call: t.Callable[[], t.Any], empty: t.Any) -> t.Any:
    """A user or key deleted since the report was made answers NoSuchEntity: nothing to join."""
    try:
        return call()
    except IAMError as exc:
        if exc.code == "NoSuchEntity":
            return empty
        raise


def _join_user(iam: IAM, row: Row, last_used: str) -> None:
    keys = _absent_is_empty(lambda: iam.list_access_keys(row["user"]), [])
    for slot, key in sorted(match_key_slots(row, keys).items()):
        row[f"access_key_{slot}_id"] = key["AccessKeyId"]
        if wants_last_used(row, slot, last_used):
            used = _absent_is_empty(functools.partial(iam.get_access_key_last_used, key["AccessKeyId"]), {})
            merge_last_used(row, slot, used)


def join_access_keys(iam: IAM, rows: list[Row], last_used: str, workers: int = JOIN_WORKERS) -> None:
    """Key IDs (ListAccessKeys, only for users the report says have a key) and last use, into the rows.

    Users are joined ``workers`` at a time (each row is written by one thread only); botocore's retries absorb
    the throttling of a large account.
    """
    # The root user's keys are listed only to the root user itself.
    with_keys = [row for row in rows if not row["root"] and key_slots(row)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(workers, len(with_keys) or 1))) as pool:
        for done in [pool.submit(_join_user, iam, row, last_used) for row in with_keys]:
            done.result()


def join_policies(iam: IAM, rows: list[Row]) -> None:
    """Attached policy ARNs and inline policy names, from GetAccountAuthorizationDetails (one call per page)."""
    details = {user["UserName"]: user for user in iam.get_account_authorization_details()}
    for row in rows:
        user = {} if row["root"] else details.get(row["user"], {})
        row["attached_policies"] = sorted(policy["PolicyArn"] for policy in user.get("AttachedManagedPolicies", []))
        row["inline_policies"] = sorted(policy["PolicyName"] for policy in user.get("UserPolicyList", []))


# -- controls: one function each ------------------------------------------------------------------------


def _finding(rule: Rule, row: Row, evidence: str, key_id: str | None = None) -> Finding:
    return Finding(rule, evidence, user=row["user"], arn=row["arn"], access_key_id=key_id)


def check_root_access_key(row: Row, thresholds: dict[str, int], now: datetime.datetime) -> list[Finding]:
    """CIS 1.4: the root user has no active access key."""
    if not row["root"]:
        return []
    return [
        _finding(
            ROOT_ACCESS_KEY,
            row,
            f"the root user has active {slot.name()}, created {_day(slot.last_rotated)} (CIS allows none)",
        )
        for slot in key_slots(row)
        if slot.active
    ]


def check_console_mfa(row: Row, thresholds: dict[str, int], now: datetime.datetime) -> list[Finding]:
    """CIS 1.10: every user with a console password has MFA."""
    if row["root"] or not row["password_enabled"] or row["mfa_active"]:
        return []
    used = row["password_last_used"]
    last = f"last used {_day(used)}" if used else "never used"
    return [
        _finding(CONSOLE_MFA, row, f"console password enabled ({last}) and 0 active MFA devices (at least 1 required)")
    ]


def check_unused_initial_access_key(row: Row, thresholds: dict[str, int], now: datetime.datetime) -> list[Finding]:
    """CIS 1.11: a console user's active access key that was never used (made "just in case" at setup)."""
    if row["root"] or not row["password_enabled"]:
        return []
    return [
        _finding(
            UNUSED_INITIAL_ACCESS_KEY,
            row,
            f"{slot.name()} was created {_day(slot.last_rotated)} and never used, on a user with a console password",
            slot.key_id,
        )
        for slot in key_slots(row)
        if slot.active and slot.last_used is None
    ]


def _unused(since: datetime.datetime | None, now: datetime.datetime, limit: int) -> int | None:
    if since is None:
        return None
    days = days_since(since, now)
    return days if days >= limit else None


def check_unused_credentials(row: Row, thresholds: dict[str, int], now: datetime.datetime) -> list[Finding]:
    """CIS 1.12: no password or active key unused for ``unused_credentials_days`` or more.

    A credential never used counts from its creation: a password from password_last_changed (else the
    user's creation), a key from access_key_N_last_rotated.
    """
    if row["root"]:
        return []  # CIS excludes <root_account>: it should go unused
    limit = thresholds["unused_credentials_days"]
    rule = UNUSED_CREDENTIALS_90 if limit >= 90 else UNUSED_CREDENTIALS
    findings = []
    if row["password_enabled"]:
        used = row["password_last_used"]
        since = used or row["password_last_changed"] or row["user_creation_time"]
        days = _unused(since, now, limit)
        if days is not None:
            what = f"last used {days} days ago" if used else f"never used, set {days} days ago"
            findings.append(_finding(rule, row, f"console password {what} (limit {limit})"))
    for slot in key_slots(row):
        if not slot.active:
            continue
        days = _unused(slot.last_used or slot.last_rotated, now, limit)
        if days is not None:
            what = f"last used {days} days ago" if slot.last_used else f"never used, created {days} days ago"
            findings.append(_finding(rule, row, f"{slot.name()} {what} (limit {limit})", slot.key_id))
    return findings


def check_multiple_active_keys(row: Row, thresholds: dict[str, int], now: datetime.datetime) -> list[Finding]:
    """CIS 1.13: at most one active access key per user."""
    active = [slot for slot in key_slots(row) if slot.active]
    if row["root"] or len(active) < 2:
        return []
    names = ", ".join(slot.key_id or f"key {slot.slot}" for slot in active)
    return [_finding(MULTIPLE_ACTIVE_KEYS, row, f"{len(active)} active access keys ({names}) (limit 1)")]


def check_access_key_rotation(row: Row, thresholds: dict[str, int], now: datetime.datetime) -> list[Finding]:
    """CIS 1.14: active access keys rotated every ``access_key_max_age_days`` days or less."""
    if row["root"]:
        return []  # any root key is already a critical finding (1.4)
    limit = thresholds["access_key_max_age_days"]
    findings = []
    for slot in key_slots(row):
        if slot.active and slot.last_rotated is not None:
            age = days_since(slot.last_rotated, now)
            if age > limit:
                findings.append(
                    _finding(ACCESS_KEY_ROTATION, row, f"{slot.name()} is {age} days old (limit {limit})", slot.key_id)
                )
    return findings


def check_user_attached_policies(row: Row, thresholds: dict[str, int], now: datetime.datetime) -> list[Finding]:
    """CIS 1.15: permissions only through groups (no managed policy attached to, no inline policy in, the user)."""
    attached, inline = row.get("attached_policies") or [], row.get("inline_policies") or []
    if row["root"] or not (attached or inline):
        return []
    parts = [
        f"{len(names)} {kind} {'policy' if len(names) == 1 else 'policies'} ({', '.join(names)})"
        for kind, names in (("attached", attached), ("inline", inline))
        if names
    ]
    return [_finding(USER_ATTACHED_POLICIES, row, f"{' and '.join(parts)} on the user, not its groups (limit 0)")]


# GetAccountPasswordPolicy's fields, every one present in the result (AWS omits an unset MaxPasswordAge and
# PasswordReusePrevention; they are None there).
POLICY_FIELDS = (
    "MinimumPasswordLength",
    "RequireSymbols",
    "RequireNumbers",
    "RequireUppercaseCharacters",
    "RequireLowercaseCharacters",
    "AllowUsersToChangePassword",
    "ExpirePasswords",
    "MaxPasswordAge",
    "PasswordReusePrevention",
    "HardExpiry",
)


def snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def password_policy_result(raw: dict[str, t.Any] | None) -> dict[str, t.Any] | None:
    """The account password policy in snake_case (minimum_password_length, ...); None when there is none."""
    if raw is None:
        return None
    policy = {snake_case(field): raw.get(field) for field in POLICY_FIELDS}
    policy.update({snake_case(field): value for field, value in raw.items() if field not in POLICY_FIELDS})
    return policy


def check_password_policy(policy: dict[str, t.Any] | None, thresholds: dict[str, int]) -> list[Finding]:
    """CIS 1.8 (minimum length) and 1.9 (reuse prevention) on the account password policy (None: no policy)."""
    length_limit, reuse_limit = thresholds["password_min_length"], thresholds["password_reuse_prevention"]
    if policy is None:
        return [
            Finding(
                PASSWORD_LENGTH,
                f"no account password policy is set: AWS's default requires {_passwords.DEFAULT_MIN_LENGTH} characters "
                f"(limit {length_limit})",
            ),
            Finding(
                PASSWORD_REUSE,
                f"no account password policy is set: 0 previous passwords are remembered (limit {reuse_limit})",
            ),
        ]
    findings = []
    length = policy.get("minimum_password_length") or _passwords.CUSTOM_MIN_LENGTH[0]
    reuse = policy.get("password_reuse_prevention") or 0
    if length < length_limit:
        findings.append(Finding(PASSWORD_LENGTH, f"minimum password length is {length} (limit {length_limit})"))
    if reuse < reuse_limit:
        findings.append(Finding(PASSWORD_REUSE, f"{reuse} previous passwords are remembered (limit {reuse_limit})"))
    return findings


UserCheck = t.Callable[[Row, dict[str, int], datetime.datetime], list[Finding]]
USER_CHECKS: dict[str, UserCheck] = {
    "root_access_key": check_root_access_key,
    "console_mfa": check_console_mfa,
    "unused_initial_access_key": check_unused_initial_access_key,
    "unused_credentials": check_unused_credentials,
    "multiple_active_keys": check_multiple_active_keys,
    "access_key_rotation": check_access_key_rotation,
    "user_attached_policies": check_user_attached_policies,
}


def evaluate(
    rows: list[Row],
    policy: dict[str, t.Any] | None,
    *,
    controls: t.Iterable[str],
    thresholds: dict[str, int],
    now: datetime.datetime,
) -> list[Finding]:
    """Every finding of the chosen controls, sorted by severity then user."""
    findings: list[Finding] = []
    for control in controls:
        if control == "password_policy":
            findings.extend(check_password_policy(policy, thresholds))
        else:
            for row in rows:
                findings.extend(USER_CHECKS[control](row, thresholds, now))
    return sorted(findings, key=Finding.sort_key)


# -- the result -----------------------------------------------------------------------------------------


def _render(value: t.Any) -> t.Any:
    return value.isoformat() if isinstance(value, datetime.datetime) else value


def user_record(row: Row, findings: int) -> dict[str, t.Any]:
    """A row in the return shape: dates as ISO 8601 strings, plus its number of findings."""
    record = {column: _render(value) for column, value in row.items()}
    record["findings"] = findings
    return record


def totals(users: list[dict[str, t.Any]], findings: list[Finding], controls: t.Iterable[str]) -> dict[str, t.Any]:
    by_severity = collections.Counter(finding.rule.severity for finding in findings)
    by_control = collections.Counter(finding.rule.control for finding in findings)
    return {
        "users": len(users),
        "findings": len(findings),
        "by_severity": {severity: by_severity[severity] for severity in SEVERITIES},
        "by_control": {control: by_control[control] for control in controls},
    }


def audit(
    iam: IAM,
    options: Options,
    *,
    now: datetime.datetime,
    account_id: t.Callable[[], str],
    sleep: t.Callable[[float], None] = time.sleep,
    clock: t.Callable[[], float] = time.monotonic,
) -> dict[str, t.Any]:
    """The module's whole result: fetch, parse, select, join, evaluate. ``account_id`` is asked only when the
    report holds no ARN (an account without users, on an endpoint that omits the root row)."""
    report = fetch_report(
        iam, max_age_hours=options.max_report_age, wait_timeout=options.wait_timeout, now=now, sleep=sleep, clock=clock
    )
    parsed = parse_report(report.text)
    rows = select_rows(parsed, options.path_prefix, options.include_root)
    join_access_keys(iam, rows, options.last_used)
    if "user_attached_policies" in options.controls:
        join_policies(iam, rows)
    policy = password_policy_result(iam.get_password_policy())
    findings = evaluate(rows, policy, controls=options.controls, thresholds=options.thresholds, now=now)
    per_user = collections.Counter(finding.user for finding in findings if finding.user is not None)
    users = [user_record(row, per_user[row["user"]]) for row in rows]
    return {
        "changed": False,
        "report": {
            "generated_time": report.generated_time.isoformat(),
            "generated": report.generated,
            "age_hours": report_age_hours(report.generated_time, now),
        },
        "account": account_of(parsed) or account_id(),
        "users": users,
        "findings": [finding.result() for finding in findings],
        "password_policy": policy,
        "totals": totals(users, findings, options.controls),
    }
