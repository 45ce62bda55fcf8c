"""iam_password_policy: the real main() against moto in-process."""

from __future__ import annotations

import pytest

from ansible_collections.techsquawks.iam.plugins.modules import iam_password_policy

STRICT = {
    "min_password_length": 14,
    "require_symbols": True,
    "require_numbers": True,
    "require_uppercase": True,
    "require_lowercase": True,
    "allow_users_to_change_password": True,
    "max_password_age": 90,
    "password_reuse_prevention": 24,
    "hard_expiry": False,
}
STRICT_AWS = {
    "MinimumPasswordLength": 14,
    "RequireSymbols": True,
    "RequireNumbers": True,
    "RequireUppercaseCharacters": True,
    "RequireLowercaseCharacters": True,
    "AllowUsersToChangePassword": True,
    "MaxPasswordAge": 90,
    "PasswordReusePrevention": 24,
    "HardExpiry": False,
}


def account_policy(iam_client) -> dict:
    policy = iam_client.get_account_password_policy()["PasswordPolicy"]
    policy.setdefault("PasswordReusePrevention", 0)
    policy.setdefault("MaxPasswordAge", 0)
    return policy


def converge(run_module, api_calls, args: dict) -> dict:
    api_calls.clear()
    predicted = run_module(iam_password_policy, args, check_mode=True)
    assert predicted["changed"] is True
    assert api_calls.mutating == [], "check mode must not call a mutating API"
    applied = run_module(iam_password_policy, args)
    assert applied["changed"] is True
    assert predicted["policy"] == applied["policy"]
    api_calls.clear()
    assert run_module(iam_password_policy, args, check_mode=True)["changed"] is False
    again = run_module(iam_password_policy, args)
    assert again["changed"] is False
    assert again["policy"] == applied["policy"]
    assert api_calls.mutating == [], "a second identical run must not call a mutating API"
    return applied


def test_present_creates_the_policy_and_second_run_changes_nothing(run_module, iam_client, api_calls):
    result = converge(run_module, api_calls, STRICT)

    assert result["policy"] == dict(STRICT, expire_passwords=True)
    policy = account_policy(iam_client)
    assert {key: policy[key] for key in STRICT_AWS} == STRICT_AWS


def test_check_mode_never_writes_the_policy(run_module, iam_client, api_calls):
    result = run_module(iam_password_policy, STRICT, check_mode=True)

    assert result["changed"] is True
    assert api_calls.mutating == []
    with pytest.raises(iam_client.exceptions.NoSuchEntityException):
        iam_client.get_account_password_policy()


def test_unset_options_keep_current_values_because_the_full_policy_is_sent(run_module, iam_client, sent):
    iam_client.update_account_password_policy(**STRICT_AWS)
    sent.clear()

    result = run_module(iam_password_policy, {"min_password_length": 16})

    assert result["changed"] is True
    updates = [params for operation, params in sent if operation == "UpdateAccountPasswordPolicy"]
    assert updates == [dict(STRICT_AWS, MinimumPasswordLength=16)]
    assert account_policy(iam_client) == dict(STRICT_AWS, MinimumPasswordLength=16, ExpirePasswords=True)
    assert result["policy"] == dict(STRICT, min_password_length=16, expire_passwords=True)


def test_new_policy_with_few_options_takes_the_api_defaults_for_the_rest(run_module, iam_client):
    result = run_module(iam_password_policy, {"require_numbers": True})

    assert result["policy"] == {
        "min_password_length": 6,
        "require_symbols": False,
        "require_numbers": True,
        "require_uppercase": False,
        "require_lowercase": False,
        "allow_users_to_change_password": False,
        "max_password_age": 0,
        "password_reuse_prevention": 0,
        "hard_expiry": False,
        "expire_passwords": False,
    }
    assert account_policy(iam_client)["MinimumPasswordLength"] == 6


def test_zero_age_and_reuse_clear_them_by_leaving_them_out_of_the_request(run_module, iam_client, sent):
    iam_client.update_account_password_policy(**STRICT_AWS)
    sent.clear()

    result = run_module(iam_password_policy, {"max_password_age": 0, "password_reuse_prevention": 0})

    assert result["changed"] is True
    [update] = [params for operation, params in sent if operation == "UpdateAccountPasswordPolicy"]
    assert "MaxPasswordAge" not in update
    assert "PasswordReusePrevention" not in update
    policy = account_policy(iam_client)
    assert policy["MaxPasswordAge"] == 0
    assert policy["PasswordReusePrevention"] == 0
    assert policy["MinimumPasswordLength"] == 14
    assert result["policy"]["expire_passwords"] is False


def test_amazon_aws_aliases_are_accepted(run_module, iam_client):
    args = {"min_pw_length": 12, "allow_pw_change": True, "pw_max_age": 30, "pw_reuse_prevent": 3, "pw_expire": True}

    result = run_module(iam_password_policy, args)

    assert result["changed"] is True
    policy = account_policy(iam_client)
    assert (policy["MinimumPasswordLength"], policy["MaxPasswordAge"], policy["PasswordReusePrevention"]) == (12, 30, 3)
    assert policy["AllowUsersToChangePassword"] is True
    assert policy["HardExpiry"] is True


def test_diff_shows_the_policy_before_and_after(run_module, iam_client):
    iam_client.update_account_password_policy(MinimumPasswordLength=10)

    result = run_module(iam_password_policy, {"require_symbols": True}, diff=True)

    assert result["diff"]["before"]["require_symbols"] is False
    assert result["diff"]["after"]["require_symbols"] is True
    assert result["diff"]["before"]["min_password_length"] == result["diff"]["after"]["min_password_length"] == 10


def test_absent_deletes_the_policy_and_is_idempotent(run_module, iam_client, api_calls):
    iam_client.update_account_password_policy(**STRICT_AWS)
    api_calls.clear()

    predicted = run_module(iam_password_policy, {"state": "absent"}, check_mode=True, diff=True)
    assert predicted["changed"] is True
    assert predicted["diff"]["after"] == {}
    assert api_calls.mutating == []
    assert iam_client.get_account_password_policy()["PasswordPolicy"]["MinimumPasswordLength"] == 14

    result = run_module(iam_password_policy, {"state": "absent"})
    assert result["changed"] is True
    assert result["policy"] == {}
    with pytest.raises(iam_client.exceptions.NoSuchEntityException):
        iam_client.get_account_password_policy()

    api_calls.clear()
    assert run_module(iam_password_policy, {"state": "absent"})["changed"] is False
    assert api_calls.mutating == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"min_password_length": 5}, "min_password_length must be between 6 and 128, got 5"),
        ({"min_password_length": 129}, "min_password_length must be between 6 and 128, got 129"),
        ({"max_password_age": 1096}, "max_password_age must be between 0 and 1095, got 1096"),
        ({"pw_max_age": -1}, "max_password_age must be between 0 and 1095, got -1"),
        ({"password_reuse_prevention": 25}, "password_reuse_prevention must be between 0 and 24, got 25"),
    ],
)
def test_out_of_bounds_option_fails_before_any_aws_call(run_module, aws, api_calls, args, message):
    result = run_module(iam_password_policy, args)

    assert result["failed"] is True
    assert message in result["msg"]
    assert api_calls == []
