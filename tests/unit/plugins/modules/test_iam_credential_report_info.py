"""iam_credential_report_info: the real main() against moto in-process (input checks, check mode, the result)."""

from __future__ import annotations

import pytest

from ansible_collections.techsquawks.iam.plugins.modules import iam_credential_report_info

MODULE = iam_credential_report_info


@pytest.mark.parametrize(
    ("args", "message"),
    [
        # our own range checks
        ({"thresholds": {"access_key_max_age_days": 0}}, "thresholds.access_key_max_age_days must be between 1 and"),
        ({"thresholds": {"password_reuse_prevention": 30}}, "thresholds.password_reuse_prevention must be between"),
        ({"wait_timeout": -1}, "wait_timeout must be 0 or more"),
        ({"path_prefix": "people"}, "path_prefix 'people' must begin with '/'"),
        # the argument spec's names, types and choices
        ({"thresholds": {"rotation_days": 30}}, "thresholds.rotation_days"),
        ({"thresholds": {"unused_credentials_days": "soon"}}, "unused_credentials_days"),
        ({"controls": ["console_mfa", "cis_1_99"]}, "cis_1_99"),
        ({"last_used": "sometimes"}, "last_used"),
    ],
)
def test_bad_input_fails_naming_the_option_before_any_aws_call(run_module, aws, api_calls, args, message):
    result = run_module(MODULE, args)

    assert result["failed"] is True
    assert message in result["msg"]
    assert api_calls == []


def test_check_mode_reads_and_generates_the_report_and_returns_the_same(run_module, iam_client, api_calls):
    iam_client.create_user(UserName="alice")
    iam_client.create_login_profile(UserName="alice", Password="Correct-Horse-9!")
    api_calls.clear()

    checked = run_module(MODULE, {"thresholds": {"unused_credentials_days": 30}}, check_mode=True)
    applied = run_module(MODULE, {"thresholds": {"unused_credentials_days": 30}})

    assert checked["changed"] is False
    assert "failed" not in checked
    # Asking AWS for a report changes no managed state: it is the only call that is not a read.
    assert set(api_calls.mutating) == {"GenerateCredentialReport"}
    assert checked["findings"] == applied["findings"]
    assert [user["user"] for user in checked["users"]] == ["alice"]
    assert {(item["control"], item["user"]) for item in checked["findings"]} == {
        ("password_policy", None),
        ("console_mfa", "alice"),
    }
    assert checked["totals"]["by_severity"] == {"critical": 0, "high": 0, "medium": 2, "low": 1}
