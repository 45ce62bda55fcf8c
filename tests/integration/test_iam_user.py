"""iam_user and iam_user_info driven by ansible-playbook against moto_server; state read back with boto3."""

from __future__ import annotations

import json
import re

import pytest


def result_of(run) -> dict:
    match = re.search(r'"msg": "RESULT=(.*)"\n', run.stdout)
    assert match, run.output
    return json.loads(match.group(1).encode().decode("unicode_escape"))


def test_seed_page_users_are_created_once_and_listed_by_path(ansible_playbook, target, iam):
    first = ansible_playbook(target("iam_user", "seed.yml"))
    assert first.recap()["changed"] == 2  # two tasks (the loop counts once)

    users = {u["UserName"]: u["Path"] for u in iam.list_users()["Users"]}
    assert users == {
        "techsquawks-user": "/",
        "techsquawks-user1": "/example/path/1/",
        "techsquawks-user2": "/example/path/2/",
        "techsquawks-user2a": "/example/path/2/",
    }
    listed = [u["UserName"] for u in iam.list_users(PathPrefix="/example/path/2/")["Users"]]
    assert sorted(listed) == ["techsquawks-user2", "techsquawks-user2a"]
    arn = iam.get_user(UserName="techsquawks-user")["User"]["Arn"]
    assert arn == "arn:aws:iam::123456789012:user/techsquawks-user"

    second = ansible_playbook(target("iam_user", "seed.yml"))
    assert second.recap()["changed"] == 0
    assert second.api_calls, "the API log must record the calls"
    assert second.mutating_calls == []


@pytest.fixture
def arranged(iam) -> dict:
    iam.create_group(GroupName="developers")
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:List*", "Resource": "*"}]}
    arn = iam.create_policy(PolicyName="read", PolicyDocument=json.dumps(document))["Policy"]["Arn"]
    return {"policy_arn": arn}


def test_user_lifecycle_with_module_defaults(ansible_playbook, target, iam, moto, arranged):
    playbook = target("iam_user", "lifecycle.yml")
    extra = {"endpoint": moto.endpoint, **arranged}

    def play(step: str, *args: str):
        return ansible_playbook(playbook, *args, extra_vars={**extra, "step": step}, env_unset=("AWS_ENDPOINT_URL",))

    checked = play("create", "--check", "--diff")
    assert checked.recap()["changed"] == 1
    assert iam.list_users()["Users"] == []
    assert '"path": "/staff/"' in checked.stdout  # the diff

    created = result_of(play("create"))["user"]
    assert created["groups"] == ["developers"]
    assert created["managed_policies"] == [arranged["policy_arn"]]
    assert iam.get_user(UserName="lifecycle-user")["User"]["Path"] == "/staff/"
    assert play("create").recap()["changed"] == 0

    renamed = play("rename")
    assert renamed.recap()["changed"] == 1
    user = iam.get_user(UserName="lifecycle-renamed")["User"]
    assert user["Path"] == "/alumni/"
    assert user["UserId"] == created["user_id"]
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName="lifecycle-renamed")["Groups"]] == ["developers"]
    assert play("rename").recap()["changed"] == 0

    # Give the user the credentials an offboarding meets; moto_server lacks ListServiceSpecificCredentials.
    iam.create_login_profile(UserName="lifecycle-renamed", Password="Correct-horse-9")
    iam.create_access_key(UserName="lifecycle-renamed")
    iam.upload_ssh_public_key(UserName="lifecycle-renamed", SSHPublicKeyBody="ssh-ed25519 AAAAC3Nza test")
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="lifecycle")["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(
        UserName="lifecycle-renamed", SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="234567"
    )

    removed_run = play("remove")
    removed = result_of(removed_run)["removed"]
    assert removed["login_profile"] is True
    assert removed["mfa_devices"] == [serial]
    assert "service-specific credentials" in removed_run.output  # the warning, not a failure
    assert iam.list_users()["Users"] == []
    assert iam.list_virtual_mfa_devices()["VirtualMFADevices"] == []
    assert iam.get_group(GroupName="developers")["Users"] == []
    assert play("remove").recap()["changed"] == 0


def test_invalid_input_fails_naming_options_without_calling_aws(ansible_playbook, target):
    run = ansible_playbook(target("iam_user", "invalid.yml"), check=False)
    assert run.rc != 0
    assert "name 'bad name' may contain only" in run.stdout
    assert "path 'nope' must begin and end with '/'" in run.stdout
    assert run.api_calls == []
