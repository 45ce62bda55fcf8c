"""The user resource functions shared by iam_user and the roster engine, against moto in-process."""

from __future__ import annotations

import concurrent.futures
import json

import boto3
import pytest

from ansible_collections.techsquawks.iam.plugins.module_utils import _user
from ansible_collections.techsquawks.iam.plugins.module_utils._iam import IAM
from ansible_collections.techsquawks.iam.plugins.module_utils._module import ModuleFailure
from tests.unit.emulate import PermissionsBoundaries

ACCOUNT = "123456789012"
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/boundary"


@pytest.fixture
def verbs(iam_client):
    """Makes the IAM verbs on a client of their own (not the arranging client), as a module would."""

    def make(check_mode: bool = False) -> IAM:
        return IAM(boto3.client("iam", region_name="us-east-1"), check_mode=check_mode)

    return make


def make_policy(iam_client, name: str) -> str:
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}
    return iam_client.create_policy(PolicyName=name, PolicyDocument=json.dumps(document))["Policy"]["Arn"]


# -- read -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("groups", "policies", "calls"),
    [
        (True, True, ["GetUser", "ListGroupsForUser", "ListAttachedUserPolicies"]),
        (False, True, ["GetUser", "ListAttachedUserPolicies"]),
        (True, False, ["GetUser", "ListGroupsForUser"]),
        (False, False, ["GetUser"]),
    ],
)
def test_read_makes_only_the_list_calls_asked_for(iam_client, verbs, api_calls, groups, policies, calls):
    iam_client.create_group(GroupName="devs")
    arn = make_policy(iam_client, "p1")
    iam_client.create_user(UserName="u1", Tags=[{"Key": "k", "Value": "v"}])
    iam_client.add_user_to_group(UserName="u1", GroupName="devs")
    iam_client.attach_user_policy(UserName="u1", PolicyArn=arn)
    api_calls.clear()

    user = _user.read(verbs(), "u1", groups=groups, policies=policies)

    assert api_calls == calls
    assert user["user_name"] == "u1"
    assert user["tags"] == {"k": "v"}
    assert user["groups"] == (["devs"] if groups else None)
    assert user["managed_policies"] == ([arn] if policies else None)


def test_read_missing_user_is_none_without_list_calls(iam_client, verbs, api_calls):
    assert _user.read(verbs(), "ghost") is None
    assert api_calls == ["GetUser"]


def test_find_after_a_completed_rename_finds_the_new_name(iam_client, verbs):
    iam_client.create_user(UserName="jane.doe")
    found = _user.find(verbs(), _user.UserSpec(name="jdoe", new_name="jane.doe"), groups=False)
    assert found["user_name"] == "jane.doe"
    assert found["groups"] is None


def test_find_refuses_a_rename_onto_an_existing_user(iam_client, verbs):
    iam_client.create_user(UserName="a")
    iam_client.create_user(UserName="b")
    with pytest.raises(ModuleFailure, match=r"^new_name: cannot rename a to b"):
        _user.find(verbs(), _user.UserSpec(name="a", new_name="b"))


# -- ensure_present -------------------------------------------------------------------------------


@pytest.mark.parametrize("check_mode", [True, False])
def test_ensure_present_on_a_missing_user_is_created(iam_client, verbs, api_calls, check_mode):
    iam_client.create_group(GroupName="devs")
    spec = _user.UserSpec(name="u1", path="/staff/", tags={"team": "platform"}, groups=["devs"])
    api_calls.clear()

    outcome = _user.ensure_present(verbs(check_mode), check_mode=check_mode, current=None, spec=spec)

    assert outcome.changed is True
    assert outcome.created == ["user"]
    assert outcome.updated == []
    assert outcome.removed == []
    assert outcome.before == {}
    assert outcome.result == {"user": outcome.after}
    assert outcome.after["path"] == "/staff/"
    assert outcome.after["tags"] == {"team": "platform"}
    assert outcome.after["groups"] == ["devs"]
    if check_mode:
        assert api_calls.mutating == []
        assert iam_client.list_users()["Users"] == []
    else:
        assert api_calls.mutating == ["CreateUser", "AddUserToGroup"]
        assert outcome.after == _user.read(verbs(), "u1")


@pytest.mark.parametrize("check_mode", [True, False])
def test_ensure_present_labels_the_changed_fields_then_nothing(iam_client, verbs, emulator, check_mode):
    PermissionsBoundaries(emulator)
    iam_client.create_group(GroupName="devs")
    arn = make_policy(iam_client, "p1")
    iam_client.create_user(UserName="u1", Tags=[{"Key": "old", "Value": "x"}])
    spec = _user.UserSpec(
        name="u1",
        path="/staff/",
        tags={"team": "platform"},
        permissions_boundary=BOUNDARY,
        managed_policies=[arn],
        groups=["devs"],
    )

    current = _user.read(verbs(), "u1")
    outcome = _user.ensure_present(verbs(check_mode), check_mode=check_mode, current=current, spec=spec)

    assert outcome.changed is True
    assert outcome.created == []
    assert outcome.updated == ["user (path, tags, permissions_boundary, managed_policies, groups)"]
    assert outcome.before == current
    if not check_mode:
        assert outcome.after == _user.read(verbs(), "u1")
        again = _user.ensure_present(verbs(), check_mode=False, current=outcome.after, spec=spec)
        assert again.changed is False
        assert again.updated == []
        assert again.after == again.before


def test_ensure_present_labels_only_what_changed(iam_client, verbs):
    iam_client.create_group(GroupName="devs")
    iam_client.create_user(UserName="u1", Tags=[{"Key": "k", "Value": "v"}])
    spec = _user.UserSpec(name="u1", tags={"k": "w"}, groups=["devs"])

    outcome = _user.ensure_present(verbs(), check_mode=False, current=_user.read(verbs(), "u1"), spec=spec)

    assert outcome.updated == ["user (tags, groups)"]


def test_ensure_present_rename_and_move_is_labelled_path_and_user_name(iam_client, verbs):
    iam_client.create_user(UserName="jdoe")
    spec = _user.UserSpec(name="jdoe", new_name="jane.doe", new_path="/staff/")

    outcome = _user.ensure_present(verbs(), check_mode=False, current=_user.find(verbs(), spec), spec=spec)

    assert outcome.updated == ["user (path, user_name)"]
    assert outcome.after["arn"] == f"arn:aws:iam::{ACCOUNT}:user/staff/jane.doe"
    again = _user.ensure_present(verbs(), check_mode=False, current=_user.find(verbs(), spec), spec=spec)
    assert again.changed is False


def test_ensure_present_with_unread_lists_it_does_not_manage_works(iam_client, verbs, api_calls):
    iam_client.create_user(UserName="u1")
    current = _user.read(verbs(), "u1", groups=False, policies=False)
    api_calls.clear()

    outcome = _user.ensure_present(
        verbs(), check_mode=False, current=current, spec=_user.UserSpec("u1", tags={"a": "1"})
    )

    assert outcome.updated == ["user (tags)"]
    assert outcome.after["groups"] is None
    assert api_calls == ["TagUser"]


@pytest.mark.parametrize(
    ("unread", "managed"),
    [("groups", {"groups": ["devs"]}), ("policies", {"managed_policies": [f"arn:aws:iam::{ACCOUNT}:policy/p"]})],
)
def test_ensure_present_managing_a_list_that_was_not_read_is_a_value_error(
    iam_client, verbs, api_calls, unread, managed
):
    iam_client.create_user(UserName="u1")
    current = _user.read(verbs(), "u1", **{unread: False})
    api_calls.clear()
    # A rename is requested too: the error must come before any write, not half way through.
    spec = _user.UserSpec("u1", new_name="u2", **managed)

    with pytest.raises(ValueError, match="were not read"):
        _user.ensure_present(verbs(), check_mode=False, current=current, spec=spec)
    assert api_calls == []


# -- ensure_absent --------------------------------------------------------------------------------


def arrange_leaver(iam_client) -> None:
    iam_client.create_user(UserName="leaver")
    iam_client.create_login_profile(UserName="leaver", Password="Secret-password-1")
    iam_client.create_access_key(UserName="leaver")
    iam_client.upload_ssh_public_key(UserName="leaver", SSHPublicKeyBody="ssh-ed25519 AAAAC3Nza test")
    serial = iam_client.create_virtual_mfa_device(VirtualMFADeviceName="leaver")["VirtualMFADevice"]["SerialNumber"]
    iam_client.enable_mfa_device(
        UserName="leaver", SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321"
    )


@pytest.mark.parametrize("check_mode", [True, False])
def test_ensure_absent_labels_what_it_removed(iam_client, verbs, api_calls, check_mode):
    arrange_leaver(iam_client)
    iam = verbs(check_mode)
    current = _user.read(iam, "leaver")
    api_calls.clear()

    outcome = _user.ensure_absent(iam, check_mode=check_mode, current=current, force=True)

    assert outcome.changed is True
    assert outcome.removed == ["user", "console password", "1 access key", "1 SSH key", "1 MFA device"]
    assert outcome.before == current
    assert outcome.after == {}
    assert outcome.result["user"] == {}
    assert outcome.result["removed"]["login_profile"] is True
    # moto in-process lacks ListServiceSpecificCredentials: the warning stays on the IAM object.
    assert "service-specific credentials" in " ".join(iam.warnings)
    if check_mode:
        assert api_calls.mutating == []
        assert iam_client.get_user(UserName="leaver")
    else:
        assert api_calls.mutating[-1] == "DeleteUser"
        assert iam_client.list_users()["Users"] == []


def test_ensure_absent_counts_each_kind_of_dependent(iam_client, verbs):
    iam_client.create_group(GroupName="a")
    iam_client.create_group(GroupName="b")
    arn = make_policy(iam_client, "p1")
    iam_client.create_user(UserName="u1")
    iam_client.create_access_key(UserName="u1")
    iam_client.create_access_key(UserName="u1")
    iam_client.add_user_to_group(UserName="u1", GroupName="a")
    iam_client.add_user_to_group(UserName="u1", GroupName="b")
    iam_client.attach_user_policy(UserName="u1", PolicyArn=arn)
    iam_client.put_user_policy(
        UserName="u1",
        PolicyName="inline",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        ),
    )

    outcome = _user.ensure_absent(verbs(), check_mode=False, current=_user.read(verbs(), "u1"), force=True)

    assert outcome.removed == ["user", "2 access key", "1 inline policy", "1 policy attachment", "2 group membership"]


def test_ensure_absent_without_dependents_removes_only_the_user(iam_client, verbs):
    iam_client.create_user(UserName="u1")
    outcome = _user.ensure_absent(verbs(), check_mode=False, current=_user.read(verbs(), "u1"), force=False)
    assert outcome.removed == ["user"]
    assert outcome.changed is True


def test_ensure_absent_on_a_missing_user_changes_nothing(verbs, api_calls):
    outcome = _user.ensure_absent(verbs(), check_mode=False, current=None, force=True)
    assert outcome.changed is False
    assert (outcome.before, outcome.after, outcome.removed) == ({}, {}, [])
    assert outcome.result == {"user": {}}
    assert api_calls == []


def test_ensure_absent_with_blockers_and_no_force_names_force(iam_client, verbs, api_calls):
    arrange_leaver(iam_client)
    current = _user.read(verbs(), "leaver")
    api_calls.clear()
    with pytest.raises(ModuleFailure, match=r"^force: user leaver still has login_profile") as failure:
        _user.ensure_absent(verbs(), check_mode=False, current=current, force=False)
    assert set(failure.value.details["blockers"]) == {"login_profile", "access_keys", "ssh_public_keys", "mfa_devices"}
    assert api_calls.mutating == []


def test_dependents_need_groups_and_policies_read(iam_client, verbs, api_calls):
    iam_client.create_user(UserName="u1")
    current = _user.read(verbs(), "u1", policies=False)
    api_calls.clear()
    with pytest.raises(ValueError, match="managed_policies were not read"):
        _user.ensure_absent(verbs(), check_mode=False, current=current, force=True)
    assert api_calls == []


# -- concurrency ----------------------------------------------------------------------------------


def test_users_converge_concurrently_with_one_iam_object_each(iam_client, verbs):
    iam_client.create_group(GroupName="devs")
    names = [f"user{index}" for index in range(8)]

    def converge(name: str) -> tuple[list[str], bool]:
        iam = verbs()
        spec = _user.UserSpec(name, tags={"owner": name}, groups=["devs"])
        first = _user.ensure_present(iam, check_mode=False, current=_user.read(iam, name), spec=spec)
        second = _user.ensure_present(iam, check_mode=False, current=_user.read(iam, name), spec=spec)
        return first.created, second.changed

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(converge, names))

    assert results == [(["user"], False)] * len(names)
    members = sorted(user["UserName"] for user in iam_client.get_group(GroupName="devs")["Users"])
    assert members == names
    assert {name: _user.read(IAM(iam_client), name)["tags"] for name in names} == {n: {"owner": n} for n in names}
