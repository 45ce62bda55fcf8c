"""playbooks/audit.yml against moto_server: two accounts (inventory hosts, the second through an assumed role), one
report for both, no secret in it, a re-run that changes nothing, and the HTML page rendered by headless Chromium."""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shutil
import stat
import struct
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.integration.test_onboarding import SANDBOX_ACCOUNT, iam_in_account, recaps

ROOT = Path(__file__).resolve().parents[2]
AUDIT = ROOT / "playbooks" / "audit.yml"
# tests/output is git-ignored; the screenshot is the test run's artifact (CI keeps the directory).
ARTIFACTS = ROOT / "tests" / "output" / "artifacts"
SCREENSHOT = ARTIFACTS / "audit-report.png"
WINDOW = (1280, 2000)
MAIN_ACCOUNT = "123456789012"
POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]}
)
CHART = re.compile(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"')


def chromium() -> str:
    """The Chromium binary (`make chromium` installs it); missing, the test fails rather than skip."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "headless Chromium is needed to render the HTML report: run `make chromium` (Debian's chromium)"
    return found


def screenshot(page: Path, png: Path) -> subprocess.CompletedProcess:
    """Render ``page`` with headless Chromium into ``png``, in a profile of its own, with no network use."""
    png.parent.mkdir(parents=True, exist_ok=True)
    png.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        return subprocess.run(
            [
                chromium(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                f"--window-size={WINDOW[0]},{WINDOW[1]}",
                f"--screenshot={png}",
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )


def png_size(png: Path) -> tuple[int, int]:
    """Width and height from the PNG header (signature, then the IHDR chunk)."""
    header = png.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    assert header[12:16] == b"IHDR"
    return struct.unpack(">II", header[16:24])


def pixels_near(png: Path, colour: str, tolerance: int = 12) -> int:
    """How many pixels of the screenshot are (nearly) ``colour`` (#rrggbb)."""
    from PIL import Image  # matplotlib's own dependency

    target = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    with Image.open(png) as image:
        counts = image.convert("RGB").getcolors(maxcolors=WINDOW[0] * WINDOW[1])
    return sum(count for count, rgb in counts if all(abs(a - b) <= tolerance for a, b in zip(rgb, target, strict=True)))


def arrange(iam, sts_for, sandbox) -> list[str]:
    """Users with keys, console passwords and an MFA device in both accounts; returns every secret AWS issued."""
    issued = []

    def key(client, user: str) -> dict:
        created = client.create_access_key(UserName=user)["AccessKey"]
        issued.append(created["SecretAccessKey"])
        return created

    def console(client, user: str) -> None:
        password = f"Pw-{secrets.token_urlsafe(18)}"
        client.create_login_profile(UserName=user, Password=password)
        issued.append(password)

    for name in ("alice", "bob", "carol"):
        iam.create_user(UserName=name)
    used = key(iam, "alice")
    # alice's key is used: the report (through GetAccessKeyLastUsed) has its last use.
    sts_for(used["AccessKeyId"], used["SecretAccessKey"]).get_caller_identity()
    console(iam, "alice")  # a console password without MFA
    key(iam, "bob")
    key(iam, "bob")  # two active keys
    policy = iam.create_policy(PolicyName="list-buckets", PolicyDocument=POLICY)["Policy"]["Arn"]
    iam.attach_user_policy(UserName="bob", PolicyArn=policy)  # a policy on the user, not through a group
    console(iam, "carol")
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="carol")["VirtualMFADevice"]
    issued.append(device["Base32StringSeed"].decode())  # boto3 returns the seed's base32 text as bytes
    iam.enable_mfa_device(
        UserName="carol",
        SerialNumber=device["SerialNumber"],
        AuthenticationCode1="123456",
        AuthenticationCode2="654321",
    )
    sandbox.create_user(UserName="dave")
    key(sandbox, "dave")
    console(sandbox, "dave")
    return issued


def inventory(tmp_path: Path, endpoint: str, **more: dict) -> Path:
    path = tmp_path / "accounts.yml"
    hosts = {
        "main": {"aws_endpoint_url": endpoint, "aws_region": "us-east-1"},
        "sandbox": {"aws_endpoint_url": endpoint, "aws_role_arn": f"arn:aws:iam::{SANDBOX_ACCOUNT}:role/audit"},
        **more,
    }
    path.write_text(json.dumps({"aws_accounts": {"hosts": hosts}}))
    return path


def audit_day(markdown: str) -> str:
    """The day the accounts were audited, as the report's first account says (ages are counted to it)."""
    return re.findall(r", audited (\d{4}-\d\d-\d\d);", markdown)[0]


def section(markdown: str, heading: str) -> str:
    start = markdown.index(heading)
    end = markdown.find("\n## ", start + 1)
    return markdown[start : end if end >= 0 else len(markdown)]


def test_audit_reports_every_account_once_without_secrets_and_a_rerun_changes_nothing(
    ansible_playbook, moto, iam, sts_for, tmp_path
):
    issued = arrange(iam, sts_for, iam_in_account(moto.endpoint, SANDBOX_ACCOUNT))
    reports = tmp_path / "reports"
    hosts = inventory(tmp_path, moto.endpoint)

    first = ansible_playbook(AUDIT, "-i", str(hosts), "-f", "5", extra_vars={"audit_report_dir": str(reports)})

    markdown_path, html_path = reports / "iam-audit.md", reports / "iam-audit.html"
    assert f"Markdown: {markdown_path}" in first.stdout
    assert f"HTML: {html_path}" in first.stdout
    headline = r'"2 accounts audited: 4 users, \d+ findings \(0 critical, 0 high, \d+ medium, \d+ low\)\."'
    assert re.search(headline, first.stdout)
    assert stat.S_IMODE(reports.stat().st_mode) == 0o700
    assert stat.S_IMODE(markdown_path.stat().st_mode) == stat.S_IMODE(html_path.stat().st_mode) == 0o600
    assert sorted(os.listdir(reports)) == ["iam-audit.html", "iam-audit.md"]
    markdown, page = markdown_path.read_text(), html_path.read_text()

    assert markdown.startswith("# IAM credential audit\n\n2 accounts audited: 4 users, ")
    main = section(markdown, f"## main ({MAIN_ACCOUNT})")
    sandbox = section(markdown, f"## sandbox ({SANDBOX_ACCOUNT})")
    assert re.search(r"\| \S+ +\| alice +\| console_mfa +\|", main)
    assert re.search(r"\| \S+ +\| bob +\| multiple_active_keys +\|", main)
    assert re.search(r"\| \S+ +\| bob +\| user_attached_policies +\|", main)
    assert not re.search(r"\| carol +\| console_mfa", main)  # carol has MFA
    assert re.search(r"\| \S+ +\| dave +\| console_mfa +\|", sandbox)
    assert re.search(
        r"\| alice +\| yes, never used +\| no +\| active, \d+ days old, last used \d{4}-\d\d-\d\d \(sts\)", main
    )
    assert re.search(r"\| carol +\| yes, never used +\| yes +\|", main)
    assert "alice" not in sandbox
    assert "dave" not in main
    assert page.count('<table class="users">') == 2
    assert len(CHART.findall(page)) == 2  # one chart of key ages and last use per account

    texts = {
        "markdown": markdown,
        "html": page,
        **{f"chart {n}": base64.b64decode(data).decode() for n, data in enumerate(CHART.findall(page))},
        "output": first.output,
    }
    # -vvv: every module's arguments and result are printed (the report task's arguments are every account's
    # whole audit), and the re-run changes nothing.
    files = (markdown_path, html_path)
    before = {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in files}
    second = ansible_playbook(AUDIT, "-i", str(hosts), "-f", "5", "-vvv", extra_vars={"audit_report_dir": str(reports)})
    if audit_day(markdown_path.read_text()) != audit_day(markdown):
        # Midnight (UTC) passed between the runs: the report rightly moved its "audited" date; the next run may not.
        before = {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in files}
        second = ansible_playbook(
            AUDIT, "-i", str(hosts), "-f", "5", "-vvv", extra_vars={"audit_report_dir": str(reports)}
        )
    texts["output at -vvv"] = second.output
    assert len(issued) == 8  # 4 secret access keys, 3 passwords, 1 MFA seed
    assert {name: [s for s in issued if s in text] for name, text in texts.items()} == {key: [] for key in texts}

    assert {host: counters["changed"] for host, counters in recaps(second).items()} == {"main": 0, "sandbox": 0}
    assert {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in before} == before

    # The run's artifacts: its output and report, for the README and for whoever reads the CI run.
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "audit-playbook.txt").write_text(first.stdout)
    for path in (markdown_path, html_path):
        shutil.copyfile(path, ARTIFACTS / path.name)

    # The page renders in a real browser: a screenshot of the right size, with the tables and the charts on it.
    rendered = screenshot(html_path, SCREENSHOT)
    assert rendered.returncode == 0, rendered.stderr[-2000:]
    assert SCREENSHOT.stat().st_size > 20_000
    assert png_size(SCREENSHOT) == WINDOW
    assert pixels_near(SCREENSHOT, "#eef2f6") > 10_000  # the tables' headers
    # Colours only the charts use (the legends' patches at least, moto's keys being minutes old): the inline SVG
    # images were decoded and drawn under the page's Content-Security-Policy.
    assert pixels_near(SCREENSHOT, "#3b6ea8") > 100
    assert pixels_near(SCREENSHOT, "#c44e52") > 100


def test_an_account_whose_audit_fails_is_in_the_report_as_failed_beside_the_others(
    ansible_playbook, iam, moto, tmp_path
):
    iam.create_user(UserName="alice")
    reports = tmp_path / "reports"
    hosts = inventory(
        tmp_path, moto.endpoint, broken={"aws_endpoint_url": moto.endpoint, "aws_profile": "no-such-profile"}
    )

    result = ansible_playbook(AUDIT, "-i", str(hosts), check=False, extra_vars={"audit_report_dir": str(reports)})

    assert result.rc == 2, result.output  # the play fails for the broken account, after the report is written
    markdown = (reports / "iam-audit.md").read_text()
    assert "3 accounts audited (1 FAILED)" in markdown
    assert re.search(r"\| broken +\| - +\| FAILED +\|", markdown)
    assert "## broken\n\n**Audit failed:** " in markdown
    assert "no-such-profile" in section(markdown, "## broken")
    assert re.search(r"\| alice +\|", section(markdown, f"## main ({MAIN_ACCOUNT})"))
    assert "FAILED" in (reports / "iam-audit.html").read_text()
    assert "The audit of broken failed: " in result.stdout
    counters = recaps(result)
    assert counters["broken"]["failed"] == 1
    assert counters["main"]["failed"] == counters["sandbox"]["failed"] == 0


@pytest.mark.parametrize("relative", ["reports", "nested/reports"])
def test_a_relative_report_dir_is_under_the_directory_ansible_playbook_runs_in(
    ansible_playbook, iam, moto, tmp_path, monkeypatch, relative
):
    iam.create_user(UserName="alice")
    workdir = tmp_path / "work"
    workdir.mkdir()
    monkeypatch.chdir(workdir)

    result = ansible_playbook(
        AUDIT, "-i", str(inventory(tmp_path, moto.endpoint)), extra_vars={"audit_report_dir": relative}
    )

    assert (workdir / relative / "iam-audit.md").is_file()
    assert f"Markdown: {workdir / relative / 'iam-audit.md'}" in result.stdout


def test_check_mode_writes_no_report_and_the_audit_variables_reach_the_audit(ansible_playbook, iam, moto, tmp_path):
    iam.create_user(UserName="alice")
    iam.create_login_profile(UserName="alice", Password=f"Pw-{secrets.token_urlsafe(18)}")
    iam.create_access_key(UserName="alice")
    reports = tmp_path / "reports"
    hosts = inventory(tmp_path, moto.endpoint)
    audit_vars = {
        "audit_report_dir": str(reports),
        "audit_controls": ["console_mfa", "multiple_active_keys"],
        "audit_thresholds": {"access_key_max_age_days": 30, "unused_credentials_days": 20},
        "audit_max_report_age": 1,
    }

    checked = ansible_playbook(AUDIT, "-i", str(hosts), "--check", "--diff", extra_vars=audit_vars)

    assert not reports.exists()
    assert "changed: [main -> localhost]" in checked.stdout
    assert "+# IAM credential audit" in checked.stdout  # the Markdown report's diff

    ansible_playbook(AUDIT, "-i", str(hosts), extra_vars=audit_vars)

    markdown = (reports / "iam-audit.md").read_text()
    findings = section(markdown, "## main").split("### Findings")[1].split("### Users")[0]
    controls = set(re.findall(r"^\| \S+ +\| \S+ +\| (\w+) +\|", findings, re.MULTILINE))
    assert controls == {"Control", "console_mfa"}  # no password_policy, no unused_initial_access_key finding
    assert (
        "the dashed line is the rotation limit (30 days), the dotted one the unused limit (20 days)"
        in (reports / "iam-audit.html").read_text()
    )
