"""iam_login_profile and iam_password_policy driven by ansible-playbook against moto_server; state read with boto3."""

from __future__ import annotations

import json
import stat

import pytest

USER = "techsquawks-user"


@pytest.fixture
def user(iam) -> str:
    iam.create_user(UserName=USER)
    return USER


def test_seed_profile_is_delivered_to_a_0600_file_and_never_printed(ansible_playbook, target, iam, tmp_path, user):
    secret_dir = tmp_path / "secrets"
    playbook = target("iam_login_profile", "converge.yml")

    first = ansible_playbook(playbook, "-vvv", extra_vars={"secret_dir": str(secret_dir)})

    assert first.recap()["changed"] == 2
    path = secret_dir / f"{user}.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(secret_dir.stat().st_mode) == 0o700
    delivered = json.loads(path.read_text())
    assert delivered["user_name"] == user
    assert delivered["sign_in_url"] == "https://123456789012.signin.aws.amazon.com/console/"
    password = delivered["password"]
    assert len(password) == 15
    assert any(c.isupper() for c in password)
    assert any(c.islower() for c in password)
    assert any(c.isdigit() for c in password)
    assert any(c in "!@#$%^&*()_+-=[]{}|'" for c in password)
    assert password not in first.output, "the password must never reach ansible-playbook's output"
    # moto ignores PasswordResetRequired on CreateLoginProfile; the module sets it again with the same password.
    assert iam.get_login_profile(UserName=user)["LoginProfile"]["PasswordResetRequired"] is True
    assert iam.get_account_password_policy()["PasswordPolicy"]["MinimumPasswordLength"] == 14

    second = ansible_playbook(playbook, extra_vars={"secret_dir": str(secret_dir)})

    assert second.recap()["changed"] == 0
    assert second.api_calls, "the API log must record the calls"
    assert second.mutating_calls == []
    assert json.loads(path.read_text())["password"] == password


def test_console_access_lifecycle_keeps_the_user_and_its_keys(ansible_playbook, target, iam):
    iam.create_user(UserName="console-user")
    key_id = iam.create_access_key(UserName="console-user")["AccessKey"]["AccessKeyId"]

    run = ansible_playbook(target("iam_login_profile", "lifecycle.yml"))

    assert run.recap()["failed"] == 0
    mutating = [line.split()[-1] for line in run.mutating_calls]
    assert mutating.count("CreateLoginProfile") == 1
    assert mutating.count("UpdateLoginProfile") == 1  # the rotation; both refused requests wrote nothing
    assert mutating.count("UpdateAccountPasswordPolicy") == 1
    assert mutating.count("DeleteLoginProfile") == 1
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_login_profile(UserName="console-user")
    assert iam.get_user(UserName="console-user")["User"]["UserName"] == "console-user"
    assert [k["AccessKeyId"] for k in iam.list_access_keys(UserName="console-user")["AccessKeyMetadata"]] == [key_id]
    policy = iam.get_account_password_policy()["PasswordPolicy"]
    assert (policy["MinimumPasswordLength"], policy["RequireSymbols"]) == (14, True)
