# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal use only: this file is not a public API of the collection and may change at any time.

"""The audit report: iam_credential_report_info results of many accounts as one Markdown and one HTML page.

Every value that reaches a page is picked by name from the result shape into the records below (``build``);
the renderers only see those records, so a field they do not know (a secret, whatever its name) never shows.
Output depends on the input only (ages are counted to each account's audit time, which the result holds, never to
the clock), so the same audits give byte-identical files. No boto3 here.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import io
import os
import re
import typing as t

from ansible_collections.techsquawks.iam.plugins.module_utils._delivery import (
    DeliveryError,
    check_destination,
    directory_errors,
    write_secret,
)

try:
    import jinja2

    HAS_JINJA2 = True
    JINJA2_IMPORT_ERROR: ImportError | None = None
except ImportError as exc:  # the HTML page needs it; the Markdown report does not
    HAS_JINJA2 = False
    JINJA2_IMPORT_ERROR = exc

try:
    import matplotlib
    import matplotlib.style
    from matplotlib.figure import Figure

    HAS_MATPLOTLIB = True
    MATPLOTLIB_IMPORT_ERROR: ImportError | None = None
except ImportError as exc:  # the HTML page's chart needs it; the Markdown report does not
    HAS_MATPLOTLIB = False
    MATPLOTLIB_IMPORT_ERROR = exc

if t.TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.container import BarContainer
    from matplotlib.typing import RcKeyType

MARKDOWN_FILE = "iam-audit.md"
HTML_FILE = "iam-audit.html"
FILES = {"markdown": MARKDOWN_FILE, "html": HTML_FILE}
DEFAULT_TITLE = "IAM credential audit"

SEVERITIES = ("critical", "high", "medium", "low")
# The thresholds the chart draws (iam_credential_report_info's defaults, from CIS 1.12 and 1.14).
DEFAULT_THRESHOLDS = {"unused_credentials_days": 45, "access_key_max_age_days": 90}
IDENTIFIERS = (
    ("cis_v3/v4", "CIS v3/v4"),
    ("cis_v3", "CIS v3"),
    ("cis_v4", "CIS v4"),
    ("aws_config", "AWS Config"),
    ("security_hub", "Security Hub"),
)
KEY_SLOTS = (1, 2)
ROOT_USER = "<root_account>"
# The chart of an account shows its oldest keys; the users table lists every key.
MAX_CHART_KEYS = 40
DAY = 86400


# -- the records the renderers see ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Key:
    slot: int
    active: bool
    age_days: int | None  # since created or last rotated
    last_used: str | None  # a date
    idle_days: int | None  # since last use; since creation when never used (the rule CIS 1.12 counts by)
    service: str | None


@dataclasses.dataclass(frozen=True)
class User:
    name: str
    root: bool
    console: bool | None  # None: not applicable (the root row's password is "not_supported")
    console_last_used: str | None
    mfa: bool
    keys: tuple[Key, ...]
    findings: int


@dataclasses.dataclass(frozen=True)
class Finding:
    severity: str
    user: str | None  # None: an account-level finding (the password policy)
    control: str
    title: str
    evidence: str
    identifiers: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Account:
    label: str
    account_id: str | None
    region: str | None
    failed: bool
    msg: str | None
    generated_time: str | None
    audited: str | None = None  # the day the ages are counted to
    users: tuple[User, ...] = ()
    findings: tuple[Finding, ...] = ()
    password_policy: str | None = None
    thresholds: tuple[tuple[str, int], ...] = ()

    def by_severity(self) -> dict[str, int]:
        counts = dict.fromkeys(SEVERITIES, 0)
        for finding in self.findings:
            if finding.severity in counts:
                counts[finding.severity] += 1
        return counts

    def threshold(self, name: str) -> int:
        return dict(self.thresholds).get(name, DEFAULT_THRESHOLDS[name])


# -- from the results to the records -----------------------------------------------------------------


def _text(value: t.Any) -> str | None:
    return None if value is None else str(value)


def _when(value: t.Any) -> datetime.datetime | None:
    """An ISO 8601 date of the result as an aware datetime (None when null or not a date)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=datetime.UTC)


def _day(when: datetime.datetime | None) -> str | None:
    return when.astimezone(datetime.UTC).strftime("%Y-%m-%d") if when else None


def _days(since: datetime.datetime | None, as_of: datetime.datetime | None) -> int | None:
    if since is None or as_of is None:
        return None
    # A last use recorded after the report was generated (GetAccessKeyLastUsed is live) counts as none ago.
    return max(0, int((as_of - since).total_seconds() // DAY))


def _key(row: dict[str, t.Any], slot: int, as_of: datetime.datetime | None) -> Key | None:
    prefix = f"access_key_{slot}_"
    active = row.get(f"{prefix}active") is True
    rotated = _when(row.get(f"{prefix}last_rotated"))
    if not active and rotated is None:
        return None  # no key in this slot (an inactive key still has its creation date)
    used = _when(row.get(f"{prefix}last_used_date"))
    age = _days(rotated, as_of)
    return Key(
        slot=slot,
        active=active,
        age_days=age,
        last_used=_day(used),
        idle_days=_days(used, as_of) if used else age,
        service=_text(row.get(f"{prefix}last_used_service")),
    )


def _user(row: dict[str, t.Any], as_of: datetime.datetime | None, findings: t.Sequence[Finding]) -> User:
    name = _text(row.get("user")) or "?"
    password = row.get("password_enabled")
    return User(
        name=name,
        root=row.get("root") is True or name == ROOT_USER,
        console=password if isinstance(password, bool) else None,
        console_last_used=_day(_when(row.get("password_last_used"))),
        mfa=row.get("mfa_active") is True,
        keys=tuple(key for key in (_key(row, slot, as_of) for slot in KEY_SLOTS) if key),
        findings=sum(1 for finding in findings if finding.user == name),
    )


def _identifiers(value: t.Any) -> tuple[str, ...]:
    ids = {name: _text(item) for name, item in value.items()} if isinstance(value, dict) else {}
    if ids.get("cis_v3") and ids.get("cis_v3") == ids.get("cis_v4"):
        # The recommendation kept its number from v3.0.0 to v4.0.1 (all of them, so far): said once.
        ids["cis_v3/v4"] = ids.pop("cis_v3")
        del ids["cis_v4"]
    return tuple(f"{label} {ids[name]}" for name, label in IDENTIFIERS if ids.get(name))


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)


def _finding(raw: dict[str, t.Any]) -> Finding:
    return Finding(
        severity=(_text(raw.get("severity")) or "low").lower(),
        user=_text(raw.get("user")),
        control=_text(raw.get("control")) or "?",
        title=_text(raw.get("title")) or "",
        evidence=_text(raw.get("evidence")) or "",
        identifiers=_identifiers(raw.get("identifiers")),
    )


def _password_policy(policy: t.Any) -> str:
    if not isinstance(policy, dict):
        return "none (AWS's defaults apply: 8 characters, no reuse prevention)"
    length = policy.get("minimum_password_length")
    reuse = policy.get("password_reuse_prevention")
    return f"minimum length {length if length is not None else 'not set'}, reuse prevention {reuse or 'off'}"


def _thresholds(value: t.Any) -> tuple[tuple[str, int], ...]:
    given = value if isinstance(value, dict) else {}
    chosen = {}
    for name, default in DEFAULT_THRESHOLDS.items():
        try:
            chosen[name] = int(given.get(name, default))
        except (TypeError, ValueError):
            chosen[name] = default
    return tuple(sorted(chosen.items()))


def _audit_time(generated: datetime.datetime | None, age_hours: t.Any) -> datetime.datetime | None:
    """When the account was audited: its report's time plus the report's age then (both in the result).

    The ``now`` that iam_credential_report_info counted its findings' ages to, so the tables agree with the
    evidence, taken from the input rather than the clock, so the same results always give the same files.
    """
    if generated is None:
        return None
    if isinstance(age_hours, (int, float)) and not isinstance(age_hours, bool) and age_hours > 0:
        return generated + datetime.timedelta(hours=age_hours)
    return generated


def _failure(audit: dict[str, t.Any], result: t.Any) -> str | None:
    """Why this account has no audit to show (None when it has one)."""
    if audit.get("failed") or (isinstance(result, dict) and result.get("failed")):
        msg = audit.get("msg") or (result.get("msg") if isinstance(result, dict) else None)
        return _text(msg) or "the audit failed"
    if not isinstance(result, dict) or not isinstance(result.get("users"), list):
        return "the audit returned no credential report"
    return None


def account(audit: dict[str, t.Any]) -> Account:
    """One account's record, from ``{label, account, region, result, failed, msg, thresholds}``."""
    result = audit.get("result")
    label = _text(audit.get("label")) or _text(audit.get("account")) or "?"
    account_id = _text(audit.get("account")) or (_text(result.get("account")) if isinstance(result, dict) else None)
    region = _text(audit.get("region"))
    failure = _failure(audit, result)
    if failure is not None or not isinstance(result, dict):  # result is a dict whenever there is no failure
        return Account(label, account_id, region, failed=True, msg=failure or "the audit failed", generated_time=None)
    raw_report = result.get("report")
    report = raw_report if isinstance(raw_report, dict) else {}
    generated = _when(report.get("generated_time"))
    as_of = _audit_time(generated, report.get("age_hours"))
    findings = sorted(
        (_finding(raw) for raw in result.get("findings") or [] if isinstance(raw, dict)),
        key=lambda f: (severity_rank(f.severity), f.user or "", f.control, f.evidence),
    )
    users = sorted(
        (_user(row, as_of, findings) for row in result["users"] if isinstance(row, dict)),
        key=lambda user: (not user.root, user.name),
    )
    return Account(
        label=label,
        account_id=account_id,
        region=region,
        failed=False,
        msg=None,
        generated_time=generated.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC") if generated else None,
        audited=_day(as_of),
        users=tuple(users),
        findings=tuple(findings),
        password_policy=_password_policy(result.get("password_policy")),
        thresholds=_thresholds(audit.get("thresholds")),
    )


def build(audits: t.Iterable[dict[str, t.Any]]) -> list[Account]:
    """The accounts' records, in a stable order (by label, then account ID)."""
    return sorted((account(audit) for audit in audits), key=lambda acc: (acc.label, acc.account_id or ""))


def totals(accounts: t.Sequence[Account]) -> dict[str, t.Any]:
    by_severity = dict.fromkeys(SEVERITIES, 0)
    for acc in accounts:
        for severity, count in acc.by_severity().items():
            by_severity[severity] += count
    return {
        "accounts": len(accounts),
        "failed_accounts": sum(1 for acc in accounts if acc.failed),
        "users": sum(len(acc.users) for acc in accounts),
        "findings": sum(len(acc.findings) for acc in accounts),
        "by_severity": by_severity,
    }


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _severities(counts: dict[str, int]) -> str:
    return ", ".join(f"{counts[severity]} {severity}" for severity in SEVERITIES)


def headline(accounts: t.Sequence[Account]) -> str:
    """One sentence: how many accounts, users and findings, by severity."""
    counts = totals(accounts)
    failed = f" ({counts['failed_accounts']} FAILED)" if counts["failed_accounts"] else ""
    return (
        f"{_plural(counts['accounts'], 'account')} audited{failed}: {_plural(counts['users'], 'user')}, "
        f"{_plural(counts['findings'], 'finding')} ({_severities(counts['by_severity'])})."
    )


# -- the words both pages use -----------------------------------------------------------------------


def user_text(name: str | None) -> str:
    return "(account)" if name is None else name


def console_text(user: User) -> str:
    if user.console is None:
        return "n/a"
    if not user.console:
        return "no"
    return f"yes, last used {user.console_last_used}" if user.console_last_used else "yes, never used"


def key_text(key: Key | None) -> str:
    if key is None:
        return "-"
    age = f"{key.age_days} days old" if key.age_days is not None else "age unknown"
    if key.last_used:
        used = f"last used {key.last_used}" + (f" ({key.service})" if key.service else "")
    else:
        used = "never used"
    return f"{'active' if key.active else 'inactive'}, {age}, {used}"


def slot(user: User, number: int) -> Key | None:
    return next((key for key in user.keys if key.slot == number), None)


def account_line(acc: Account) -> str:
    """Region, report time, users and findings of one audited account."""
    parts = [f"region {acc.region}"] if acc.region else []
    parts.append(f"credential report of {acc.generated_time or 'unknown time'}, audited {acc.audited or '?'}")
    parts.append(f"{_plural(len(acc.users), 'user')}, {_plural(len(acc.findings), 'finding')}")
    return "; ".join(parts) + "."


def account_name(acc: Account) -> str:
    return f"{acc.label} ({acc.account_id})" if acc.account_id and acc.account_id != acc.label else acc.label


TOTALS_HEADER = ("Account", "Account ID", "Status", "Users", "Findings", *(s.capitalize() for s in SEVERITIES))
FINDINGS_HEADER = ("Severity", "User", "Control", "Evidence", "Identifiers")
USERS_HEADER = ("User", "Console", "MFA", "Access key 1", "Access key 2", "Findings")


def totals_rows(accounts: t.Sequence[Account]) -> list[list[str]]:
    rows = []
    for acc in accounts:
        counts = acc.by_severity()
        if acc.failed:
            rows.append([acc.label, acc.account_id or "-", "FAILED", *(["-"] * (len(TOTALS_HEADER) - 3))])
            continue
        rows.append(
            [
                acc.label,
                acc.account_id or "-",
                "audited",
                str(len(acc.users)),
                str(len(acc.findings)),
                *(str(counts[severity]) for severity in SEVERITIES),
            ]
        )
    overall = totals(accounts)
    rows.append(
        [
            "Total",
            "",
            f"{overall['failed_accounts']} failed" if overall["failed_accounts"] else "",
            str(overall["users"]),
            str(overall["findings"]),
            *(str(overall["by_severity"][severity]) for severity in SEVERITIES),
        ]
    )
    return rows


def finding_row(finding: Finding) -> list[str]:
    return [
        finding.severity,
        user_text(finding.user),
        finding.control,
        finding.evidence,
        ", ".join(finding.identifiers) or "-",
    ]


def user_row(user: User) -> list[str]:
    return [
        user.name,
        console_text(user),
        "yes" if user.mfa else "no",
        key_text(slot(user, 1)),
        key_text(slot(user, 2)),
        str(user.findings),
    ]


# -- Markdown ------------------------------------------------------------------------------------------

# Backslash-escaped ASCII punctuation is literal in CommonMark: these would otherwise make emphasis, links,
# code, raw HTML, entities or (|) table cells. An underscore inside a word makes no emphasis and stays as is.
_MD_SPECIAL = re.compile(r"[\\`*\[\]<>|&~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_NEWLINES = re.compile(r"\r\n|\r|\n")


def md_escape(text: str) -> str:
    """``text`` as literal Markdown inside one table cell or heading line: newlines become <br>."""
    return _NEWLINES.sub("<br>", _MD_SPECIAL.sub(lambda match: "\\" + match.group(0), text))


def md_table(header: t.Sequence[str], rows: t.Iterable[t.Sequence[str]]) -> list[str]:
    """A Markdown table, cells escaped and padded so that it also reads in a terminal."""
    cells = [[md_escape(cell) for cell in header], *([md_escape(cell) for cell in row] for row in rows)]
    widths = [max(3, *(len(row[column]) for row in cells)) for column in range(len(header))]

    def line(row: t.Sequence[str]) -> str:
        return "| " + " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) + " |"

    return [line(cells[0]), line(["-" * width for width in widths]), *(line(row) for row in cells[1:])]


def markdown(accounts: t.Sequence[Account], title: str = DEFAULT_TITLE) -> str:
    """The whole report as Markdown: a heading, the totals table, then each account's findings and users."""
    lines = [f"# {md_escape(title)}", "", md_escape(headline(accounts)), ""]
    lines += md_table(TOTALS_HEADER, totals_rows(accounts))
    for acc in accounts:
        lines += ["", f"## {md_escape(account_name(acc))}", ""]
        if acc.failed:
            lines.append(f"**Audit failed:** {md_escape(acc.msg or '')}")
            continue
        lines += [md_escape(account_line(acc)), "", f"Password policy: {md_escape(acc.password_policy or '')}."]
        lines += ["", "### Findings", ""]
        if acc.findings:
            lines += md_table(FINDINGS_HEADER, (finding_row(finding) for finding in acc.findings))
        else:
            lines.append("No findings.")
        lines += ["", "### Users", ""]
        if acc.users:
            lines += md_table(USERS_HEADER, (user_row(user) for user in acc.users))
        else:
            lines.append("No users.")
    return "\n".join(lines) + "\n"


# -- the chart (matplotlib) ----------------------------------------------------------------------------

# matplotlib's own defaults (a user's matplotlibrc or style must not change the page), glyphs drawn as paths
# (the chart looks the same without the font), and a fixed salt for the SVG's element IDs: same data, same bytes.
CHART_RC: dict[RcKeyType, t.Any] = {
    "svg.hashsalt": "techsquawks.iam audit report",
    "svg.fonttype": "path",
    "font.size": 9,
}
# No creation date (it would change every run) and no producer line.
SVG_METADATA = {"Date": None, "Creator": None}
AGE_COLOR, USED_COLOR, NEVER_COLOR, LIMIT_COLOR = "#3b6ea8", "#e39b2d", "#c44e52", "#555555"


def _chart_label(text: str) -> str:
    return text.replace("$", r"\$")  # matplotlib would read $...$ as math


def chart_keys(acc: Account) -> list[tuple[str, Key]]:
    """The keys the chart shows: the oldest first, at most MAX_CHART_KEYS."""
    keys = [(user.name, key) for user in acc.users for key in user.keys if key.age_days is not None]
    return sorted(keys, key=lambda item: (-(item[1].age_days or 0), item[0], item[1].slot))[:MAX_CHART_KEYS]


def key_chart(acc: Account) -> str | None:
    """An SVG chart of the account's access keys: age and days since last use, with the two limits.

    None when the account has no access key. Needs matplotlib (HAS_MATPLOTLIB).
    """
    keys = chart_keys(acc)
    if not keys:
        return None
    max_age = acc.threshold("access_key_max_age_days")
    unused = acc.threshold("unused_credentials_days")
    labels = [_chart_label(f"{name} key {key.slot}" + ("" if key.active else " (inactive)")) for name, key in keys]
    ages = [key.age_days or 0 for _name, key in keys]
    idle = [key.idle_days or 0 for _name, key in keys]
    used = [key.last_used is not None for _name, key in keys]
    rows = range(len(keys))
    with matplotlib.style.context("default"), matplotlib.rc_context(CHART_RC):
        figure = Figure(figsize=(9, 1.6 + 0.42 * len(keys)), layout="constrained")
        axes = figure.add_subplot()
        bars = axes.barh([row - 0.2 for row in rows], ages, height=0.38, color=AGE_COLOR, label="age (days)")
        axes.bar_label(bars, fmt="%d", padding=2, fontsize=8)
        handles: list[Artist | BarContainer] = [bars]
        for is_used, color, legend in (
            (True, USED_COLOR, "days since last use"),
            (False, NEVER_COLOR, "never used: days since created"),
        ):
            picked = [row for row in rows if used[row] is is_used]
            if picked:
                idle_bars = axes.barh(
                    [row + 0.2 for row in picked], [idle[row] for row in picked], height=0.38, color=color, label=legend
                )
                axes.bar_label(idle_bars, fmt="%d", padding=2, fontsize=8)
                handles.append(idle_bars)
        for limit, style, legend in ((max_age, "--", "rotation limit"), (unused, ":", "unused limit")):
            handles.append(
                axes.axvline(limit, color=LIMIT_COLOR, linestyle=style, linewidth=1, label=f"{legend} ({limit} days)")
            )
        axes.set_yticks(list(rows), labels=labels)
        axes.invert_yaxis()
        axes.set_xlim(0, max([*ages, *idle, max_age, unused]) * 1.12 + 1)
        axes.set_xlabel(f"days, as of the audit ({acc.audited})")
        axes.grid(axis="x", alpha=0.3)
        axes.set_title(_chart_label(f"Access keys of {account_name(acc)}"), loc="left")
        figure.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=8, frameon=False)
        out = io.StringIO()
        figure.savefig(out, format="svg", metadata=SVG_METADATA)
    return out.getvalue()


def data_uri(svg: str) -> str:
    """The SVG as a data: URI for an <img>: inline, and (in an image) never able to run or fetch anything."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


# -- HTML (Jinja2) ---------------------------------------------------------------------------------------

# One self-contained page: styles inline, the charts as data: URIs, and a Content-Security-Policy that lets the
# page load nothing (no script, no style sheet, no image from anywhere else).
HTML_TEMPLATE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; font-size: 14px; color: #1d2530;
       margin: 24px auto; max-width: 1200px; padding: 0 16px; }
h1 { font-size: 24px; margin-bottom: 4px; }
h2 { font-size: 19px; margin-top: 36px; border-bottom: 2px solid #d5dbe3; padding-bottom: 4px; }
h2 .id { color: #5b6573; font-weight: normal; font-size: 15px; }
h3 { font-size: 15px; margin: 20px 0 6px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0; }
th, td { border: 1px solid #d5dbe3; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #eef2f6; }
td.num { text-align: right; }
tr.total td { font-weight: bold; background: #f6f8fa; }
.meta, .summary { color: #3d4754; }
.failed { background: #fdecec; border: 1px solid #e0a3a3; padding: 8px 12px; }
.sev { font-weight: bold; border-radius: 3px; padding: 1px 6px; color: #fff; }
.sev-critical { background: #8e1b1b; } .sev-high { background: #c44e52; }
.sev-medium { background: #d88a1d; } .sev-low { background: #5b7fa6; } .sev-other { background: #777; }
.status-failed { color: #8e1b1b; font-weight: bold; }
figure { margin: 8px 0; } figure img { max-width: 100%; height: auto; }
figcaption, footer { color: #5b6573; font-size: 12px; }
code { font-size: 12px; }
</style>
</head>
<body>
<h1>{{ title }}</h1>
<p class="summary">{{ headline }}</p>
<table class="totals">
<tr>{% for cell in totals_header %}<th>{{ cell }}</th>{% endfor %}</tr>
{% for anchor, row in totals_rows %}
<tr{% if not anchor %} class="total"{% endif %}><td>{% if anchor %}<a href="#{{ anchor }}">{{ row[0] }}</a>\
{% else %}{{ row[0] }}{% endif %}</td><td>{{ row[1] }}</td>\
<td{% if row[2] == "FAILED" %} class="status-failed"{% endif %}>{{ row[2] }}</td>\
{% for cell in row[3:] %}<td class="num">{{ cell }}</td>{% endfor %}</tr>
{% endfor %}
</table>
{% for account in accounts %}
<section id="account-{{ loop.index }}">
<h2>{{ account.label }}{% if account.account_id and account.account_id != account.label %} \
<span class="id">{{ account.account_id }}</span>{% endif %}</h2>
{% if account.failed %}
<p class="failed"><strong>Audit failed:</strong> {{ account.msg }}</p>
{% else %}
<p class="meta">{{ account_line(account) }} Password policy: {{ account.password_policy }}.</p>
<h3>Findings</h3>
{% if account.findings %}
<table class="findings">
<tr>{% for cell in findings_header %}<th>{{ cell }}</th>{% endfor %}</tr>
{% for finding in account.findings %}
<tr><td><span class="sev sev-{{ finding.severity if finding.severity in severities else 'other' }}">\
{{ finding.severity }}</span></td><td>{{ user_text(finding.user) }}</td><td><code>{{ finding.control }}</code></td>\
<td>{{ finding.evidence }}</td><td>{{ finding.identifiers | join(", ") or "-" }}</td></tr>
{% endfor %}
</table>
{% else %}
<p>No findings.</p>
{% endif %}
<h3>Access keys: age and last use</h3>
{% set chart = charts[loop.index0] %}
{% if chart %}
<figure><img src="{{ chart }}" alt="Access keys of {{ account.label }}: age and days since last use">
<figcaption>Each access key's age (days since it was created or rotated) and the days since it was last used \
(since it was created, when never used), as of the audit; the dashed line is the rotation limit \
({{ account.threshold("access_key_max_age_days") }} days), the dotted one the unused limit \
({{ account.threshold("unused_credentials_days") }} days).\
{% if chart_counts[loop.index0] < key_counts[loop.index0] %} The {{ chart_counts[loop.index0] }} oldest of \
{{ key_counts[loop.index0] }} keys.{% endif %}</figcaption></figure>
{% else %}
<p>No access keys.</p>
{% endif %}
<h3>Users</h3>
{% if account.users %}
<table class="users">
<tr>{% for cell in users_header %}<th>{{ cell }}</th>{% endfor %}</tr>
{% for user in account.users %}
<tr>{% for cell in user_row(user) %}<td{% if loop.last %} class="num"{% endif %}>{{ cell }}</td>{% endfor %}</tr>
{% endfor %}
</table>
{% else %}
<p>No users.</p>
{% endif %}
{% endif %}
</section>
{% endfor %}
<footer><p>Written by techsquawks.iam.iam_audit_report from each account's IAM credential report \
(iam_credential_report_info). Ages are counted to the time of each account's audit.</p></footer>
</body>
</html>
"""


def html(accounts: t.Sequence[Account], title: str = DEFAULT_TITLE) -> str:
    """The whole report as one self-contained HTML page. Needs Jinja2 and matplotlib (HAS_JINJA2, HAS_MATPLOTLIB)."""
    environment = jinja2.Environment(
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    charts = [None if acc.failed else key_chart(acc) for acc in accounts]
    # Each account's row of the totals table links to its section; the Total row (last) to nothing.
    anchors = [f"account-{index}" for index in range(1, len(accounts) + 1)] + [""]
    return environment.from_string(HTML_TEMPLATE).render(
        title=title,
        headline=headline(accounts),
        accounts=list(accounts),
        severities=SEVERITIES,
        totals_header=TOTALS_HEADER,
        totals_rows=list(zip(anchors, totals_rows(accounts), strict=True)),
        findings_header=FINDINGS_HEADER,
        users_header=USERS_HEADER,
        charts=[data_uri(chart) if chart else None for chart in charts],
        chart_counts=[len(chart_keys(acc)) for acc in accounts],
        key_counts=[sum(len(user.keys) for user in acc.users) for acc in accounts],
        account_line=account_line,
        user_text=user_text,
        user_row=user_row,
    )


def render(accounts: t.Sequence[Account], formats: t.Iterable[str], title: str = DEFAULT_TITLE) -> dict[str, str]:
    """format name (markdown, html) -> the document, for the formats asked for."""
    renderers = {"markdown": markdown, "html": html}
    return {name: renderers[name](accounts, title) for name in FILES if name in formats}


# -- the files ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Publication:
    changed: bool
    paths: dict[str, str]  # format -> path of its file
    before: dict[str, str | None]  # format -> what the file held (None: it did not exist)


def destination_problems(dest: str, formats: t.Iterable[str]) -> list[str]:
    """Why the report cannot go into the directory ``dest`` (each message names the option), before rendering.

    The files are the fixed names directly inside it, treated like secrets (the findings say who is exposed):
    never written through a symbolic link, into another user's or a world-writable directory, nor over a file
    that is a link, not a regular file, another user's, or readable by others.
    """
    if not os.path.isabs(dest):
        return [f"dest: '{dest}' must be an absolute path"]
    problems = directory_errors(dest)
    for name in FILES:
        if name in formats and not problems:
            problems = check_destination(os.path.join(dest, FILES[name]))
    return [f"dest: {problem}" for problem in problems]


def _current(path: str) -> str | None:
    """What ``path`` holds now, exactly (None when it does not exist); never through a symbolic link."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise DeliveryError(f"cannot read '{path}': {exc.strerror or type(exc).__name__}") from None
    try:
        with open(fd, encoding="utf-8", newline="") as handle:
            return handle.read()
    except UnicodeDecodeError:
        raise DeliveryError(f"'{path}' exists but is not UTF-8 text; refusing to overwrite it") from None


def _replacing_with(content: str) -> t.Callable[[str | None], str]:
    """A render for write_secret that ignores what the file held."""
    return lambda _existing: content


def publish(dest: str, documents: dict[str, str], *, check_mode: bool) -> Publication:
    """Write each document whose file differs (atomically, mode 0600; ``dest`` created 0700 when missing).

    A file that already holds the document is left alone (changed=False); in check mode nothing is written.
    Raises DeliveryError naming the path.
    """
    paths = {name: os.path.join(dest, FILES[name]) for name in documents}
    before = {name: _current(path) for name, path in paths.items()}
    stale = [name for name, content in documents.items() if before[name] != content]
    if not check_mode:
        for name in stale:
            write_secret(paths[name], _replacing_with(documents[name]), merge=False)
    return Publication(changed=bool(stale), paths=paths, before=before)
