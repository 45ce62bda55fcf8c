"""iam_credential_report_info through ansible-playbook against moto_server; AWS state arranged with boto3 directly.

moto's report carries a used key's date but never its region or service (always "not_supported"): a region and
service in the result can only come from the module's own GetAccessKeyLastUsed join.
"""

from __future__ import annotations

import json
import time
import typing as t
from pathlib import Path

import pytest

from ansible_collections.techsquawks.iam.plugins.module_utils import _mfa
from ansible_collections.techsquawks.iam.plugins.module_utils._iam import IAM

MODULE = "iam_credential_report_info"


def audit(
    ansible_playbook: t.Any, target: t.Any, tmp_path: Path, **extra_vars: t.Any
) -> tuple[dict[str, t.Any], t.Any]:
    """Run audit.yml (applied, then in check mode); returns both results and the run."""
    result_file = tmp_path / f"audit-{time.monotonic_ns()}.json"
    run = ansible_playbook(
        target(MODULE, "audit.yml"), extra_vars={"audit_result_file": str(result_file), **extra_vars}
    )
    return json.loads(result_file.read_text()), run


def users_of(result: dict[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    return {record["user"]: record for record in result["users"]}


def findings_of(result: dict[str, t.Any], control: str) -> list[str | None]:
    return [finding["user"] for finding in result["findings"] if finding["control"] == control]


def test_a_key_used_with_sts_has_last_used_data_from_the_join(iam, sts_for, ansible_playbook, target, tmp_path):
    iam.create_user(UserName="ci-bot", Path="/service/")
    used = iam.create_access_key(UserName="ci-bot")["AccessKey"]
    sts_for(used["AccessKeyId"], used["SecretAccessKey"]).get_caller_identity()
    iam.create_user(UserName="idle-bot", Path="/service/")
    idle = iam.create_access_key(UserName="idle-bot")["AccessKey"]

    results, run = audit(ansible_playbook, target, tmp_path)

    users = users_of(results["audit"])
    bot = users["ci-bot"]
    assert bot["access_key_1_id"] == used["AccessKeyId"]
    assert (bot["access_key_1_last_used_service"], bot["access_key_1_last_used_region"]) == ("sts", "us-east-1")
    assert bot["access_key_1_last_used_date"] is not None
    assert users["idle-bot"]["access_key_1_id"] == idle["AccessKeyId"]
    assert users["idle-bot"]["access_key_1_last_used_date"] is None
    assert users["idle-bot"]["access_key_1_last_used_service"] is None
    # Check mode gave the same (audit.yml asserts it); neither run changed anything.
    assert results["check"]["changed"] is False
    assert results["check"]["users"] == results["audit"]["users"]
    # Per run: one ListAccessKeys per user with a key, one GetAccessKeyLastUsed per key lacking detail, one
    # GetAccountAuthorizationDetails for all users; the only call that is not a read is the report's generation.
    calls = [line for line in run.api_calls if line.split()[-1] != "GetCallerIdentity"]
    assert calls.count("iam ListAccessKeys") == 4
    assert calls.count("iam GetAccessKeyLastUsed") == 4
    assert calls.count("iam GetAccountAuthorizationDetails") == 2
    assert set(run.mutating_calls) == {"iam GenerateCredentialReport"}
    assert used["SecretAccessKey"] not in run.output

    report_only, _run = audit(ansible_playbook, target, tmp_path, audit_last_used="never")

    # The same report without the join: the date (moto has it) but no service or region.
    alone = users_of(report_only["audit"])["ci-bot"]
    assert alone["access_key_1_last_used_date"] is not None
    assert (alone["access_key_1_last_used_service"], alone["access_key_1_last_used_region"]) == (None, None)


def test_enabling_mfa_clears_the_console_mfa_finding(iam, ansible_playbook, target, tmp_path):
    iam.create_user(UserName="console-jane", Path="/people/")
    iam.create_login_profile(UserName="console-jane", Password="Correct-Horse-Battery-9!")
    iam.create_user(UserName="console-joe", Path="/people/")
    iam.create_login_profile(UserName="console-joe", Password="Correct-Horse-Battery-9!")

    before, _run = audit(ansible_playbook, target, tmp_path)

    assert findings_of(before["audit"], "console_mfa") == ["console-jane", "console-joe"]
    finding = next(item for item in before["audit"]["findings"] if item["control"] == "console_mfa")
    assert finding["identifiers"] == {
        "cis_v3": "1.10",
        "cis_v4": "1.10",
        "aws_config": "mfa-enabled-for-iam-console-access",
        "security_hub": "IAM.5",
    }

    # Enrolled as iam_mfa_device does it (two consecutive TOTP codes from the seed AWS returned).
    _mfa.enroll(IAM(iam), "console-jane", "console-jane")
    after, _run = audit(ansible_playbook, target, tmp_path)

    assert findings_of(after["audit"], "console_mfa") == ["console-joe"]
    assert users_of(after["audit"])["console-jane"]["mfa_active"] is True
    assert after["audit"]["totals"]["by_control"]["console_mfa"] == 1
    assert findings_of(after["check"], "console_mfa") == ["console-joe"]


@pytest.mark.parametrize(
    ("thresholds", "message"),
    [
        ({"access_key_max_age_days": 0}, "thresholds.access_key_max_age_days must be between 1 and 36500, not 0"),
        ({"password_reuse_prevention": 25}, "thresholds.password_reuse_prevention must be between 1 and 24, not 25"),
        ({"rotation_days": 30}, "Unsupported parameters for (techsquawks.iam.iam_credential_report_info) module: "),
    ],
)
def test_bad_thresholds_fail_naming_the_option_before_any_aws_call(
    iam, ansible_playbook, target, tmp_path, thresholds, message
):
    iam.create_user(UserName="someone")
    result_file = tmp_path / "never-written.json"

    run = ansible_playbook(
        target(MODULE, "audit.yml"),
        check=False,
        extra_vars={"audit_result_file": str(result_file), "audit_thresholds": thresholds},
    )

    assert run.rc == 2
    assert message in run.output
    assert next(iter(thresholds)) in run.output
    assert run.api_calls == []
    assert not result_file.exists()
