"""iam_audit_report's real main(): files, check mode, diff, re-runs, refusals, the missing-library message."""

from __future__ import annotations

import os

import pytest

from ansible_collections.techsquawks.iam.plugins.module_utils import _audit_report
from ansible_collections.techsquawks.iam.plugins.modules import iam_audit_report
from tests.unit import audit_results as fixtures


def audits() -> list[dict]:
    return [
        {"label": "production", "region": "eu-west-1", "result": fixtures.production()},
        {"label": "sandbox", "result": {"failed": True, "msg": "Failed to assume role: AccessDenied"}},
    ]


def test_check_mode_writes_nothing_then_apply_writes_then_a_rerun_changes_nothing(run_module, tmp_path):
    dest = tmp_path / "iam-audit"
    args = {"audits": audits(), "dest": str(dest)}

    predicted = run_module(iam_audit_report, args, check_mode=True, diff=True)

    assert predicted["changed"] is True
    assert not dest.exists()
    assert predicted["diff"]["before"] == ""
    assert predicted["diff"]["after"].startswith("# IAM credential audit\n")

    applied = run_module(iam_audit_report, args)

    assert applied["changed"] is True
    assert applied["paths"] == {"markdown": str(dest / "iam-audit.md"), "html": str(dest / "iam-audit.html")}
    assert applied["totals"] == {
        "accounts": 2,
        "failed_accounts": 1,
        "users": 4,
        "findings": 2,
        "by_severity": {"critical": 0, "high": 0, "medium": 2, "low": 0},
    }
    assert (
        applied["summary"]
        == "2 accounts audited (1 FAILED): 4 users, 2 findings (0 critical, 0 high, 2 medium, 0 low)."
    )
    assert (dest / "iam-audit.md").read_text() == predicted["diff"]["after"]
    assert "<!DOCTYPE html>" in (dest / "iam-audit.html").read_text()

    assert run_module(iam_audit_report, args, check_mode=True)["changed"] is False
    assert run_module(iam_audit_report, args)["changed"] is False


def test_diff_shows_the_markdown_before_and_after(run_module, tmp_path):
    args = {"audits": audits(), "dest": str(tmp_path), "formats": ["markdown"]}
    run_module(iam_audit_report, args)
    before = (tmp_path / "iam-audit.md").read_text()

    changed = run_module(iam_audit_report, dict(args, title="Quarterly IAM audit"), diff=True)

    assert changed["changed"] is True
    assert changed["diff"]["before"] == before
    assert changed["diff"]["after"].startswith("# Quarterly IAM audit\n")
    assert changed["diff"]["before_header"] == str(tmp_path / "iam-audit.md")
    assert changed["paths"] == {"markdown": str(tmp_path / "iam-audit.md"), "html": None}
    assert not (tmp_path / "iam-audit.html").exists()


def test_a_symlinked_report_file_is_refused_before_anything_is_written(run_module, tmp_path):
    target = tmp_path / "target"
    target.write_text("keep")
    dest = tmp_path / "reports"
    dest.mkdir(mode=0o700)
    (dest / "iam-audit.html").symlink_to(target)

    failed = run_module(iam_audit_report, {"audits": audits(), "dest": str(dest)})

    assert failed["failed"] is True
    assert failed["msg"] == (
        f"Invalid input: dest: '{dest / 'iam-audit.html'}' is a symbolic link; refusing to follow it for a secret"
    )
    assert target.read_text() == "keep"
    assert sorted(os.listdir(dest)) == ["iam-audit.html"]


def test_a_relative_destination_is_refused(run_module):
    failed = run_module(iam_audit_report, {"audits": audits(), "dest": "reports"})
    assert failed["msg"] == "Invalid input: dest: 'reports' must be an absolute path"


def test_an_audit_without_a_label_is_refused(run_module, tmp_path):
    failed = run_module(iam_audit_report, {"audits": [{"result": fixtures.production()}], "dest": str(tmp_path)})
    assert failed["failed"] is True
    assert "missing required arguments: label found in audits" in failed["msg"]


def test_an_unknown_format_is_refused(run_module, tmp_path):
    failed = run_module(iam_audit_report, {"audits": audits(), "dest": str(tmp_path), "formats": ["pdf"]})
    assert failed["failed"] is True
    assert "value of formats must be one or more of: markdown, html. Got no match for: pdf" in failed["msg"]


def test_without_matplotlib_the_html_page_fails_naming_the_library_and_markdown_still_works(
    run_module, tmp_path, monkeypatch
):
    monkeypatch.setattr(_audit_report, "HAS_MATPLOTLIB", False)
    monkeypatch.setattr(_audit_report, "MATPLOTLIB_IMPORT_ERROR", ImportError("No module named 'matplotlib'"))

    failed = run_module(iam_audit_report, {"audits": audits(), "dest": str(tmp_path)})

    assert failed["failed"] is True
    assert failed["msg"].startswith("Failed to import the required Python library (matplotlib) on ")
    assert "for formats=html" in failed["msg"]
    assert os.listdir(tmp_path) == []
    markdown = run_module(iam_audit_report, {"audits": audits(), "dest": str(tmp_path), "formats": ["markdown"]})
    assert markdown["changed"] is True
    assert os.listdir(tmp_path) == ["iam-audit.md"]


@pytest.mark.parametrize("field", sorted(fixtures.SECRET_FIELDS))
def test_no_planted_secret_reaches_the_files_or_the_result(run_module, tmp_path, field):
    result = fixtures.production()
    result["users"][1][field] = fixtures.SECRET_FIELDS[field]
    result["findings"][0][field] = fixtures.SECRET_FIELDS[field]
    result[field] = fixtures.SECRET_FIELDS[field]

    returned = run_module(iam_audit_report, {"audits": [{"label": "p", "result": result}], "dest": str(tmp_path)})

    # The module got the planted value (every module echoes its arguments under invocation, shown at -vvv).
    planted = fixtures.PLANTED_PASSWORD if field == "password" else fixtures.PLANTED_SECRET
    assert planted in repr(returned.pop("invocation"))
    for text in (
        repr(returned),
        (tmp_path / "iam-audit.md").read_text(),
        (tmp_path / "iam-audit.html").read_text(),
    ):
        assert fixtures.PLANTED_SECRET not in text
        assert fixtures.PLANTED_PASSWORD not in text
