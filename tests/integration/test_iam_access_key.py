"""iam_access_key and iam_access_key_info driven by ansible-playbook against moto_server; state read with boto3."""

from __future__ import annotations

import configparser
import re
import stat

import pytest

USER = "techsquawks-user"


def keys_of(iam, user: str = USER) -> dict[str, str]:
    return {key["AccessKeyId"]: key["Status"] for key in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]}


def credentials_in(path, profile: str = USER) -> tuple[str, str]:
    parser = configparser.ConfigParser()
    parser.read(path)
    return parser[profile]["aws_access_key_id"], parser[profile]["aws_secret_access_key"]


@pytest.fixture
def user_arn(iam) -> str:
    return iam.create_user(UserName=USER)["User"]["Arn"]


def test_seed_key_works_with_sts_stays_single_and_its_secret_never_reaches_the_output(
    ansible_playbook, target, iam, sts_for, user_arn, tmp_path
):
    secret_file = tmp_path / "delivered" / "credentials"
    extra = {"user_name": USER, "secret_file": str(secret_file)}

    first = ansible_playbook(target("iam_access_key", "present.yml"), "-vvv", extra_vars=extra)

    assert first.recap()["changed"] == 1
    key_id, secret = credentials_in(secret_file)
    assert keys_of(iam) == {key_id: "Active"}
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(secret_file.parent.stat().st_mode) == 0o700
    assert secret not in first.output
    assert key_id in first.stdout
    # The seed page's check: `aws sts get-caller-identity` with the new key names the user.
    arn = sts_for(key_id, secret).get_caller_identity()["Arn"]
    assert re.fullmatch(rf"arn:aws:iam::\d{{12}}:user/{USER}", arn)
    assert arn == user_arn

    delivered = secret_file.read_text()
    second = ansible_playbook(target("iam_access_key", "present.yml"), extra_vars=extra)

    assert second.recap()["changed"] == 0
    assert second.mutating_calls == []
    assert keys_of(iam) == {key_id: "Active"}
    assert secret_file.read_text() == delivered


def test_rotation_delivers_a_working_key_and_deactivates_the_old_one(
    ansible_playbook, target, iam, sts_for, user_arn, tmp_path
):
    old = iam.create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"]
    secret_file = tmp_path / "credentials"

    run = ansible_playbook(
        target("iam_access_key", "rotate.yml"),
        extra_vars={"user_name": USER, "secret_file": str(secret_file), "retire": "deactivate"},
    )

    new, secret = credentials_in(secret_file)
    assert new != old
    assert sts_for(new, secret).get_caller_identity()["Arn"] == user_arn
    assert keys_of(iam) == {new: "Active", old: "Inactive"}
    assert secret not in run.output
    # Check mode changed nothing; the old key was retired only after STS had accepted the new one.
    assert run.mutating_calls == ["iam CreateAccessKey", "iam UpdateAccessKey"]
    calls = [line.split()[-1] for line in run.api_calls]
    assert calls.index("CreateAccessKey") < calls.index("GetCallerIdentity") < calls.index("UpdateAccessKey")


def test_rotation_of_a_user_with_two_active_keys_fails_clearly_and_changes_nothing(
    ansible_playbook, target, iam, user_arn, tmp_path
):
    first = iam.create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"]
    second = iam.create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"]
    secret_file = tmp_path / "credentials"

    run = ansible_playbook(
        target("iam_access_key", "present.yml"),
        extra_vars={"user_name": USER, "secret_file": str(secret_file), "rotate_after_days": 0},
        check=False,
    )

    assert run.rc != 0
    assert f"rotate_after_days: user {USER} already has 2 active access keys ({first}, {second})" in run.output
    assert "Deactivate the key that is no longer in use" in run.output
    assert run.mutating_calls == []
    assert keys_of(iam) == {first: "Active", second: "Active"}
    assert not secret_file.exists()
