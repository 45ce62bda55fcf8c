"""The audit report renderer: Markdown and HTML from hand-built iam_credential_report_info results."""

from __future__ import annotations

import base64
import copy
import html.parser
import os
import re
import stat

import pytest

from ansible_collections.techsquawks.iam.plugins.module_utils import _audit_report as report
from ansible_collections.techsquawks.iam.plugins.module_utils._delivery import DeliveryError
from tests.unit import audit_results as fixtures

CHART = re.compile(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"')


def audits() -> list[dict]:
    return [
        {"label": "production", "region": "eu-west-1", "result": fixtures.production()},
        {"label": "sandbox", "result": fixtures.result([fixtures.user_row("dave")], account="210987654321")},
    ]


def both(entries: list[dict], title: str = report.DEFAULT_TITLE) -> dict[str, str]:
    return report.render(report.build(entries), ["markdown", "html"], title)


def charts(page: str) -> list[str]:
    """The SVG charts inside the HTML page, decoded."""
    return [base64.b64decode(data).decode("utf-8") for data in CHART.findall(page)]


def table_rows(markdown: str, header_start: str) -> list[str]:
    """The lines of the Markdown table whose header starts with ``header_start``, header included."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return lines[start:end]


def cells(line: str) -> list[str]:
    """The cells of a Markdown table line, split on the pipes that are not escaped."""
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]


# -- Markdown ---------------------------------------------------------------------------------------


def test_markdown_has_a_heading_the_totals_and_per_account_findings_and_users():
    markdown = both(audits())["markdown"]

    assert markdown.startswith("# IAM credential audit\n\n2 accounts audited: 5 users, 2 findings (0 critical,")
    totals = [cells(line) for line in table_rows(markdown, "| Account ")]
    assert totals[0] == ["Account", "Account ID", "Status", "Users", "Findings", "Critical", "High", "Medium", "Low"]
    assert totals[2] == ["production", "123456789012", "audited", "4", "2", "0", "0", "2", "0"]
    assert totals[3] == ["sandbox", "210987654321", "audited", "1", "0", "0", "0", "0", "0"]
    assert totals[4] == ["Total", "", "", "5", "2", "0", "0", "2", "0"]

    production = markdown[markdown.index("## production (123456789012)") : markdown.index("## sandbox")]
    assert "region eu-west-1; credential report of 2026-10-01 12:00 UTC, audited 2026-10-01; 4 users, 2 findings." in (
        production
    )
    assert "Password policy: minimum length 14, reuse prevention 24." in production
    findings = [cells(line) for line in table_rows(production, "| Severity ")]
    assert findings[0] == ["Severity", "User", "Control", "Evidence", "Identifiers"]
    assert findings[2] == [
        "medium",
        "alice",
        "access_key_rotation",
        "access key AKIAIOSFODNN7EXAMPLE is 153 days old (limit 90)",
        "CIS v3/v4 1.14, AWS Config access-keys-rotated, Security Hub IAM.3",
    ]
    users = {row[0]: row for row in (cells(line) for line in table_rows(production, "| User "))}
    assert users["User"] == ["User", "Console", "MFA", "Access key 1", "Access key 2", "Findings"]
    # Ages and idle times are counted to the audit: the report's time plus its age then (12:12 UTC).
    assert users["alice"] == [
        "alice",
        "yes, last used 2026-09-20",
        "no",
        "active, 153 days old, last used 2026-09-30 (s3)",
        "-",
        "2",
    ]
    assert users["bob"][3:5] == [
        "active, 30 days old, never used",
        "inactive, 304 days old, last used 2026-01-10 (iam)",
    ]
    assert users["carol"][1:3] == ["yes, never used", "yes"]
    # The root row first, its name literal (not an HTML tag), its console not applicable.
    assert table_rows(production, "| User ")[2].startswith("| \\<root_account\\> | n/a ")
    assert "### Findings" in markdown.split("## sandbox")[1]
    assert "No findings." in markdown.split("## sandbox")[1]


def test_ages_are_counted_to_the_audit_the_report_time_plus_its_age_not_to_the_clock():
    old = fixtures.production()
    old["report"]["age_hours"] = 49.5  # a report reused two days after it was made (max_report_age 72)
    markdown = both([{"label": "production", "result": old}])["markdown"]

    assert "credential report of 2026-10-01 12:00 UTC, audited 2026-10-03;" in markdown
    assert "| active, 155 days old, last used 2026-09-30 (s3) |" in markdown
    assert "| active, 32 days old, never used " in markdown
    old["report"]["age_hours"] = None
    assert "| active, 153 days old, last used 2026-09-30 (s3) |" in both([{"label": "p", "result": old}])["markdown"]


def test_markdown_table_lines_are_padded_to_one_width():
    markdown = both(audits())["markdown"]
    for header in ("| Account ", "| Severity ", "| User "):
        assert len({len(line) for line in table_rows(markdown, header)}) == 1


def test_pipes_and_newlines_in_evidence_stay_inside_their_cell():
    result = fixtures.result(
        [fixtures.user_row("alice")],
        [fixtures.finding("alice", "console_mfa", "high", "first | second\nthird\r\nfourth")],
    )
    markdown = both([{"label": "main", "result": result}])["markdown"]

    rows = table_rows(markdown, "| Severity ")
    assert len(rows) == 3  # header, rule, one finding: the newlines did not start new lines
    assert cells(rows[2])[3] == "first \\| second<br>third<br>fourth"
    assert len(cells(rows[2])) == len(report.FINDINGS_HEADER)


def test_markdown_escapes_html_links_and_emphasis_in_names_and_evidence():
    name = "<script>alert(1)</script>"
    result = fixtures.result(
        [fixtures.user_row(name)],
        [fixtures.finding(name, "console_mfa", "high", "*bold* [link](x) `code` _under_ &amp; snake_case ~~s~~")],
    )
    markdown = both([{"label": "main", "result": result}])["markdown"]

    assert "<script>" not in markdown
    assert "\\<script\\>alert(1)\\</script\\>" in markdown
    assert "\\*bold\\* \\[link\\](x) \\`code\\` \\_under\\_ \\&amp; snake_case \\~\\~s\\~\\~" in markdown


def test_markdown_heading_and_title_are_escaped():
    markdown = both([{"label": "prod|<b>", "result": fixtures.result([])}], title="Audit *now*")["markdown"]
    assert markdown.startswith("# Audit \\*now\\*\n")
    assert "## prod\\|\\<b\\> (123456789012)" in markdown


# -- HTML -------------------------------------------------------------------------------------------


class Resources(html.parser.HTMLParser):
    """Every tag and every URL-bearing attribute of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.urls: list[str] = []
        self.csp: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        values = dict(attrs)
        self.urls += [value or "" for name, value in attrs if name in ("src", "href", "action", "srcset", "poster")]
        if tag == "meta" and values.get("http-equiv") == "Content-Security-Policy":
            self.csp.append(values.get("content") or "")


def test_html_is_one_self_contained_page():
    page = both(audits())["html"]
    parser = Resources()
    parser.feed(page)

    assert page.startswith("<!DOCTYPE html>")
    assert "script" not in parser.tags
    assert "link" not in parser.tags
    assert "iframe" not in parser.tags
    assert parser.urls, "the page links its sections and holds its charts"
    assert all(url.startswith(("data:image/svg+xml;base64,", "#account-")) for url in parser.urls)
    assert parser.csp == ["default-src 'none'; img-src data:; style-src 'unsafe-inline'"]
    assert "@import" not in page
    assert "url(" not in page


def test_html_has_a_table_per_account_and_a_chart_of_key_ages_and_last_use():
    page = both(audits())["html"]

    assert page.count('<table class="findings">') == 1  # sandbox has no findings
    assert page.count('<table class="users">') == 2
    assert '<td><span class="sev sev-medium">medium</span></td><td>alice</td>' in page
    assert "<td>active, 153 days old, last used 2026-09-30 (s3)</td>" in page
    (chart,) = charts(page)  # dave (sandbox) has no access key: no chart, a sentence
    assert "No access keys." in page
    assert chart.startswith("<?xml")
    assert "<svg" in chart
    # matplotlib writes each text it draws as a comment beside its glyphs.
    for label in ("alice key 1", "bob key 1", "bob key 2 (inactive)", "rotation limit (90 days)", "never used"):
        assert f"<!-- {label}" in chart
    assert "<!-- 153 -->" in chart
    assert "<!-- 304 -->" in chart


def test_script_in_a_user_name_or_evidence_is_escaped_in_the_page():
    name = '<script>alert("user")</script>'
    result = fixtures.result(
        [fixtures.user_row(name, key1={"active": True, "rotated": "2026-01-01T00:00:00+00:00"})],
        [fixtures.finding(name, "console_mfa", "high", '<script>alert("evidence")</script> & <img src=x onerror=1>')],
    )
    page = both([{"label": "<script>label</script>", "result": result}], title="<script>title</script>")["html"]

    assert "<script" not in page
    assert "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;user&#34;)&lt;/script&gt;" in page
    assert "&lt;script&gt;alert(&#34;evidence&#34;)&lt;/script&gt; &amp; &lt;img src=x onerror=1&gt;" in page
    assert "<title>&lt;script&gt;title&lt;/script&gt;</title>" in page
    (chart,) = charts(page)
    assert "<script" not in chart
    assert '<!-- &lt;script&gt;alert("user")&lt;/script&gt; key 1 -->' in chart


def test_a_dollar_sign_in_a_name_is_drawn_as_itself_not_as_math():
    key = {"active": True, "rotated": "2026-01-01T00:00:00+00:00"}
    result = fixtures.result([fixtures.user_row("a$b$c", key1=key)])
    (chart,) = charts(both([{"label": "main", "result": result}])["html"])
    assert "<!-- a$b$c key 1 -->" in chart


def test_the_chart_draws_the_audit_thresholds():
    entry = {"label": "main", "result": fixtures.production(), "thresholds": {"access_key_max_age_days": 30}}
    page = both([entry])["html"]
    (chart,) = charts(page)
    assert "<!-- rotation limit (30 days) -->" in chart
    assert "<!-- unused limit (45 days) -->" in chart
    assert "the dashed line is the rotation limit (30 days)" in page


def test_the_chart_shows_the_oldest_keys_and_says_so():
    users = [
        fixtures.user_row(f"user{n:02d}", key1={"active": True, "rotated": f"2026-0{1 + n % 9}-01T00:00:00+00:00"})
        for n in range(report.MAX_CHART_KEYS + 5)
    ]
    page = both([{"label": "big", "result": fixtures.result(users)}])["html"]

    assert f"The {report.MAX_CHART_KEYS} oldest of {report.MAX_CHART_KEYS + 5} keys." in page
    (chart,) = charts(page)
    assert len(re.findall(r"<!-- user\d\d key 1 -->", chart)) == report.MAX_CHART_KEYS
    assert "<!-- user09 key 1 -->" in chart  # created 2026-01-01: among the oldest
    assert "<!-- user08 key 1 -->" not in chart  # created 2026-09-01: the newest


# -- determinism, secrets, failures -----------------------------------------------------------------


def test_same_audits_give_byte_identical_documents_whatever_their_order():
    first = both(audits())
    again = both(list(reversed(copy.deepcopy(audits()))))

    assert first == again
    assert charts(first["html"]), "the page holds charts to compare"
    for chart in charts(first["html"]):
        assert "<dc:date>" not in chart
        assert "Matplotlib v" not in chart


def test_a_secret_planted_in_fields_the_shape_does_not_have_never_appears():
    result = fixtures.production()
    result.update(fixtures.SECRET_FIELDS)
    result["report"].update(fixtures.SECRET_FIELDS)
    for row in result["users"]:
        row.update(fixtures.SECRET_FIELDS)
    for item in result["findings"]:
        item.update(fixtures.SECRET_FIELDS)
        item["identifiers"]["secret_access_key"] = fixtures.PLANTED_SECRET
    result["password_policy"]["password"] = fixtures.PLANTED_PASSWORD
    entry = {"label": "production", "result": result, **fixtures.SECRET_FIELDS}
    failed = {"label": "broken", "result": {"failed": True, "msg": "AccessDenied", **fixtures.SECRET_FIELDS}}

    documents = both([entry, failed])

    texts = [documents["markdown"], documents["html"], *charts(documents["html"])]
    assert len(texts) == 3
    for text in texts:
        for secret in (fixtures.PLANTED_SECRET, fixtures.PLANTED_PASSWORD, "wJalrXUtnFEMI", "Planted-Password"):
            assert secret not in text
    assert "alice" in documents["markdown"]
    assert "AccessDenied" in documents["markdown"]


def test_a_failed_account_is_reported_as_failed_beside_the_others():
    entries = [
        *audits(),
        {"label": "broken", "result": {"failed": True, "msg": "Failed to assume role: AccessDenied", "changed": False}},
        {"label": "explicit", "account": "333333333333", "failed": True, "msg": "timed out | waiting\nfor the report"},
        {"label": "empty", "result": {"changed": False, "skipped": True}},
    ]
    accounts = report.build(entries)
    documents = report.render(accounts, ["markdown", "html"])
    markdown, page = documents["markdown"], documents["html"]

    assert report.totals(accounts) == {
        "accounts": 5,
        "failed_accounts": 3,
        "users": 5,
        "findings": 2,
        "by_severity": {"critical": 0, "high": 0, "medium": 2, "low": 0},
    }
    assert markdown.startswith("# IAM credential audit\n\n5 accounts audited (3 FAILED): 5 users, 2 findings")
    totals = {row[0]: row for row in (cells(line) for line in table_rows(markdown, "| Account "))}
    assert totals["broken"] == ["broken", "-", "FAILED", "-", "-", "-", "-", "-", "-"]
    assert totals["explicit"][:3] == ["explicit", "333333333333", "FAILED"]
    assert totals["Total"][:3] == ["Total", "", "3 failed"]
    assert "## broken\n\n**Audit failed:** Failed to assume role: AccessDenied\n" in markdown
    assert "## explicit (333333333333)\n\n**Audit failed:** timed out \\| waiting<br>for the report\n" in markdown
    assert "## empty\n\n**Audit failed:** the audit returned no credential report\n" in markdown
    assert "| alice " in markdown  # the audited accounts are all there
    assert '<p class="failed"><strong>Audit failed:</strong> Failed to assume role: AccessDenied</p>' in page
    assert page.count('class="status-failed"') == 3


# -- the files ----------------------------------------------------------------------------------------


def mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_publish_creates_the_directory_and_rewrites_only_what_differs(tmp_path):
    dest = tmp_path / "reports"
    documents = both(audits())

    first = report.publish(str(dest), documents, check_mode=False)

    assert first.changed
    assert first.before == {"markdown": None, "html": None}
    assert mode(dest) == 0o700
    assert (dest / "iam-audit.md").read_text() == documents["markdown"]
    assert (dest / "iam-audit.html").read_text() == documents["html"]
    assert mode(dest / "iam-audit.md") == mode(dest / "iam-audit.html") == 0o600
    assert sorted(os.listdir(dest)) == ["iam-audit.html", "iam-audit.md"]
    written = (dest / "iam-audit.md").stat().st_mtime_ns

    again = report.publish(str(dest), both(audits()), check_mode=False)

    assert not again.changed
    assert (dest / "iam-audit.md").stat().st_mtime_ns == written


def test_publish_in_check_mode_writes_nothing(tmp_path):
    dest = tmp_path / "reports"
    predicted = report.publish(str(dest), both(audits()), check_mode=True)
    assert predicted.changed
    assert not dest.exists()


@pytest.mark.parametrize("formats", [["markdown"], ["html"], ["markdown", "html"]])
def test_a_symlinked_report_file_is_refused(tmp_path, formats):
    dest = tmp_path / "reports"
    dest.mkdir(mode=0o700)
    target = tmp_path / "elsewhere"
    target.write_text("keep")
    name = report.FILES[formats[-1]]
    (dest / name).symlink_to(target)

    assert report.destination_problems(str(dest), formats) == [
        f"dest: '{dest / name}' is a symbolic link; refusing to follow it for a secret"
    ]
    with pytest.raises(DeliveryError, match="symbolic link"):
        report.publish(str(dest), report.render(report.build(audits()), formats), check_mode=False)
    assert target.read_text() == "keep"


def test_a_symlinked_or_relative_or_file_destination_is_refused(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    (tmp_path / "file").write_text("")

    assert report.destination_problems(str(tmp_path / "link"), ["markdown"]) == [
        f"dest: '{tmp_path / 'link'}' is a symbolic link; refusing to write secrets through it"
    ]
    assert report.destination_problems("reports", ["markdown"]) == ["dest: 'reports' must be an absolute path"]
    assert report.destination_problems(str(tmp_path / "file"), ["markdown"]) == [
        f"dest: '{tmp_path / 'file'}' exists and is not a directory"
    ]
    assert report.destination_problems(str(tmp_path / "new"), ["markdown", "html"]) == []


def test_a_report_file_readable_by_others_is_refused(tmp_path):
    (tmp_path / "iam-audit.md").write_text("old")
    (tmp_path / "iam-audit.md").chmod(0o644)
    problems = report.destination_problems(str(tmp_path), ["markdown"])
    assert problems == [
        f"dest: '{tmp_path / 'iam-audit.md'}' exists with mode 0644, readable by others; refusing to write a secret "
        "into it (chmod 0600 it or choose another path)"
    ]
