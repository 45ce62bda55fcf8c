"""iam_user: the real main() against moto in-process; boundaries and service-specific credentials emulated."""

from __future__ import annotations

import datetime
import json

import pytest

from ansible_collections.techsquawks.iam.plugins.modules import iam_user
from tests.certificates import self_signed_certificate
from tests.unit.emulate import PermissionsBoundaries

ACCOUNT = "123456789012"
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/boundary"


def make_policy(iam_client, name: str) -> str:
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}
    return iam_client.create_policy(PolicyName=name, PolicyDocument=json.dumps(document))["Policy"]["Arn"]


def user_tags(iam_client, name: str) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in iam_client.list_user_tags(UserName=name)["Tags"]}


def converge(run_module, api_calls, args: dict, *, diff: bool = False) -> dict:
    """Check mode, apply, check again, apply again: the contract every module honours."""
    api_calls.clear()  # forget the test's own arrangement calls
    predicted = run_module(iam_user, args, check_mode=True, diff=diff)
    assert predicted["changed"] is True
    assert api_calls.mutating == [], "check mode must not call a mutating API"
    applied = run_module(iam_user, args, diff=diff)
    assert applied["changed"] is True
    assert predicted["user"]["user_name"] == applied["user"]["user_name"]
    api_calls.clear()
    assert run_module(iam_user, args, check_mode=True)["changed"] is False
    again = run_module(iam_user, args)
    assert again["changed"] is False
    assert api_calls.mutating == [], "a second identical run must not call a mutating API"
    return applied


# -- create ---------------------------------------------------------------------------------------


def test_present_creates_user_with_path_and_tags(run_module, iam_client, api_calls):
    args = {"name": "techsquawks-user", "path": "/example/path/1/", "tags": {"team": "platform"}}

    predicted = run_module(iam_user, args, check_mode=True)
    assert iam_client.list_users()["Users"] == []
    assert predicted["user"]["path"] == "/example/path/1/"

    result = converge(run_module, api_calls, args)

    user = iam_client.get_user(UserName="techsquawks-user")["User"]
    assert user["Path"] == "/example/path/1/"
    assert user["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/example/path/1/techsquawks-user"
    assert user_tags(iam_client, "techsquawks-user") == {"team": "platform"}
    assert result["user"]["arn"] == user["Arn"]
    assert result["user"]["user_id"] == user["UserId"]
    assert result["user"]["tags"] == {"team": "platform"}


def test_present_without_path_creates_user_at_root(run_module, iam_client, api_calls):
    result = converge(run_module, api_calls, {"name": "techsquawks-user"})
    assert result["user"]["path"] == "/"
    assert iam_client.get_user(UserName="techsquawks-user")["User"]["Path"] == "/"


def test_diff_shows_before_and_after_of_create(run_module, iam_client, api_calls):
    result = run_module(iam_user, {"name": "u1", "tags": {"a": "1"}}, diff=True)
    assert result["diff"]["before"] == {}
    assert result["diff"]["after"]["user_name"] == "u1"
    assert result["diff"]["after"]["tags"] == {"a": "1"}


# -- tags -----------------------------------------------------------------------------------------


def test_present_with_new_tags_adds_changes_and_purges(run_module, iam_client, api_calls):
    iam_client.create_user(UserName="u1", Tags=[{"Key": "keep", "Value": "1"}, {"Key": "old", "Value": "x"}])
    result = converge(run_module, api_calls, {"name": "u1", "tags": {"keep": "2", "new": "y"}}, diff=True)
    assert user_tags(iam_client, "u1") == {"keep": "2", "new": "y"}
    assert result["diff"]["before"]["tags"] == {"keep": "1", "old": "x"}
    assert result["diff"]["after"]["tags"] == {"keep": "2", "new": "y"}


def test_purge_tags_false_keeps_unlisted_tags(run_module, iam_client, api_calls):
    iam_client.create_user(UserName="u1", Tags=[{"Key": "other", "Value": "1"}])
    converge(run_module, api_calls, {"name": "u1", "tags": {"new": "y"}, "purge_tags": False})
    assert user_tags(iam_client, "u1") == {"other": "1", "new": "y"}


def test_unset_tags_are_not_managed(run_module, iam_client, api_calls):
    iam_client.create_user(UserName="u1", Tags=[{"Key": "other", "Value": "1"}])
    api_calls.clear()
    result = run_module(iam_user, {"name": "u1"})
    assert result["changed"] is False
    assert api_calls.mutating == []
    assert user_tags(iam_client, "u1") == {"other": "1"}


def test_empty_tags_with_purge_removes_every_tag(run_module, iam_client, api_calls):
    iam_client.create_user(UserName="u1", Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    converge(run_module, api_calls, {"name": "u1", "tags": {}})
    assert user_tags(iam_client, "u1") == {}


# -- path, rename ---------------------------------------------------------------------------------


def test_present_with_new_path_moves_user_and_keeps_tags_groups_policies(run_module, iam_client, api_calls):
    iam_client.create_group(GroupName="devs")
    arn = make_policy(iam_client, "p1")
    iam_client.create_user(UserName="u1", Path="/old/", Tags=[{"Key": "k", "Value": "v"}])
    iam_client.add_user_to_group(UserName="u1", GroupName="devs")
    iam_client.attach_user_policy(UserName="u1", PolicyArn=arn)

    result = converge(run_module, api_calls, {"name": "u1", "new_path": "/new/"}, diff=True)

    assert iam_client.get_user(UserName="u1")["User"]["Path"] == "/new/"
    assert result["user"]["arn"] == f"arn:aws:iam::{ACCOUNT}:user/new/u1"
    assert result["user"]["groups"] == ["devs"]
    assert result["user"]["managed_policies"] == [arn]
    assert result["diff"]["before"]["path"] == "/old/"
    assert result["diff"]["after"]["path"] == "/new/"


def test_present_with_different_path_on_existing_user_moves_it(run_module, iam_client, api_calls):
    iam_client.create_user(UserName="u1", Path="/a/")
    converge(run_module, api_calls, {"name": "u1", "path": "/b/"})
    assert iam_client.get_user(UserName="u1")["User"]["Path"] == "/b/"


def test_new_name_renames_in_place_and_second_run_finds_renamed_user(run_module, iam_client, api_calls):
    iam_client.create_group(GroupName="devs")
    iam_client.create_user(UserName="jdoe", Tags=[{"Key": "k", "Value": "v"}])
    iam_client.add_user_to_group(UserName="jdoe", GroupName="devs")
    user_id = iam_client.get_user(UserName="jdoe")["User"]["UserId"]

    args = {"name": "jdoe", "new_name": "jane.doe", "new_path": "/staff/"}
    result = converge(run_module, api_calls, args)

    renamed = iam_client.get_user(UserName="jane.doe")["User"]
    assert renamed["UserId"] == user_id
    assert renamed["Path"] == "/staff/"
    # AWS keeps tags across UpdateUser; moto files them under the old ARN, so check what we report.
    assert result["user"]["tags"] == {"k": "v"}
    assert [g["GroupName"] for g in iam_client.list_groups_for_user(UserName="jane.doe")["Groups"]] == ["devs"]
    assert result["user"]["groups"] == ["devs"]
    assert result["user"]["user_name"] == "jane.doe"
    with pytest.raises(iam_client.exceptions.NoSuchEntityException):
        iam_client.get_user(UserName="jdoe")


def test_new_name_creates_user_under_new_name_when_neither_exists(run_module, iam_client, api_calls):
    converge(run_module, api_calls, {"name": "old", "new_name": "new"})
    assert iam_client.get_user(UserName="new")["User"]["UserName"] == "new"


def test_new_name_fails_when_both_names_exist(run_module, iam_client, api_calls):
    iam_client.create_user(UserName="a")
    iam_client.create_user(UserName="b")
    api_calls.clear()
    result = run_module(iam_user, {"name": "a", "new_name": "b"})
    assert result["failed"] is True
    assert result["msg"].startswith("new_name:")
    assert api_calls.mutating == []


def test_case_only_rename_fails_before_any_api_call(run_module, api_calls):
    result = run_module(iam_user, {"name": "shira", "new_name": "SHIRA"})
    assert result["failed"] is True
    assert "new_name" in result["msg"]
    assert "case-insensitive" in result["msg"]
    assert api_calls == []


# -- groups and policies --------------------------------------------------------------------------


def test_groups_are_added_and_purged_only_with_purge_groups(run_module, iam_client, api_calls):
    for group in ("a", "b", "c"):
        iam_client.create_group(GroupName=group)
    iam_client.create_user(UserName="u1")
    iam_client.add_user_to_group(UserName="u1", GroupName="c")

    converge(run_module, api_calls, {"name": "u1", "groups": ["a", "b"]})
    assert sorted(g["GroupName"] for g in iam_client.list_groups_for_user(UserName="u1")["Groups"]) == ["a", "b", "c"]

    result = converge(run_module, api_calls, {"name": "u1", "groups": ["a"], "purge_groups": True}, diff=True)
    assert [g["GroupName"] for g in iam_client.list_groups_for_user(UserName="u1")["Groups"]] == ["a"]
    assert result["diff"]["before"]["groups"] == ["a", "b", "c"]
    assert result["diff"]["after"]["groups"] == ["a"]


def test_managed_policies_are_attached_and_purged_only_with_purge_policies(run_module, iam_client, api_calls):
    p1, p2, p3 = (make_policy(iam_client, name) for name in ("p1", "p2", "p3"))
    iam_client.create_user(UserName="u1")
    iam_client.attach_user_policy(UserName="u1", PolicyArn=p3)

    converge(run_module, api_calls, {"name": "u1", "managed_policies": [p1, p2]})
    attached = iam_client.list_attached_user_policies(UserName="u1")["AttachedPolicies"]
    assert sorted(p["PolicyArn"] for p in attached) == sorted([p1, p2, p3])

    result = converge(run_module, api_calls, {"name": "u1", "managed_policies": [p1], "purge_policies": True})
    attached = iam_client.list_attached_user_policies(UserName="u1")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [p1]
    assert result["user"]["managed_policies"] == [p1]


def test_attaching_a_missing_policy_fails_with_the_action_and_aws_code(run_module, iam_client):
    iam_client.create_user(UserName="u1")
    missing = f"arn:aws:iam::{ACCOUNT}:policy/missing"
    result = run_module(iam_user, {"name": "u1", "managed_policies": [missing]})
    assert result["failed"] is True
    assert result["msg"].startswith(f"Failed to attach policy {missing} to user u1: ")
    assert result["error_code"] == "NoSuchEntity"


def test_create_with_missing_policy_fails_fast_without_consistency_retries(run_module, iam_client, monkeypatch):
    # A NoSuchEntity about the policy is not IAM propagation delay of the new user: no 30 s of retries.
    from ansible_collections.techsquawks.iam.plugins.module_utils import _iam

    monkeypatch.setattr(_iam.time, "sleep", lambda seconds: pytest.fail(f"slept {seconds}s"))
    result = run_module(iam_user, {"name": "u1", "managed_policies": [f"arn:aws:iam::{ACCOUNT}:policy/missing"]})
    assert result["error_code"] == "NoSuchEntity"


# -- permissions boundary (moto lacks the API: emulated per operation) ---------------------------


def test_permissions_boundary_is_set_and_removed(run_module, iam_client, api_calls, emulator):
    boundaries = PermissionsBoundaries(emulator)
    iam_client.create_user(UserName="u1")

    result = converge(run_module, api_calls, {"name": "u1", "permissions_boundary": BOUNDARY}, diff=True)
    assert boundaries.by_user == {"u1": BOUNDARY}
    assert result["user"]["permissions_boundary"] == BOUNDARY
    assert result["diff"]["before"]["permissions_boundary"] is None

    converge(run_module, api_calls, {"name": "u1", "permissions_boundary": ""})
    assert boundaries.by_user == {}


def test_create_with_boundary_sets_it_in_the_create_call(run_module, iam_client, api_calls, emulator):
    boundaries = PermissionsBoundaries(emulator)
    converge(run_module, api_calls, {"name": "u1", "permissions_boundary": BOUNDARY})
    assert boundaries.by_user == {"u1": BOUNDARY}


# -- validation before any AWS call ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "option"),
    [
        ({"name": "x" * 65}, "name"),
        ({"name": "a b"}, "name"),
        ({"name": "caf\u00e9"}, "name"),
        ({"name": "u1", "new_name": "bad/name"}, "new_name"),
        ({"name": "u1", "path": "/no-trailing-slash"}, "path"),
        ({"name": "u1", "path": "no-leading/"}, "path"),
        ({"name": "u1", "path": "/" + "a" * 511 + "/"}, "path"),
        ({"name": "u1", "new_path": "/has space/"}, "new_path"),
        ({"name": "u1", "tags": {f"k{i}": "v" for i in range(51)}}, "tags"),
        ({"name": "u1", "tags": {"k" * 129: "v"}}, "tags"),
        ({"name": "u1", "tags": {"k": "v" * 257}}, "tags"),
        ({"name": "u1", "tags": {"aws:reserved": "v"}}, "tags"),
        ({"name": "u1", "tags": {"bad*key": "v"}}, "tags"),
        ({"name": "u1", "managed_policies": ["ReadOnlyAccess"]}, "managed_policies"),
        ({"name": "u1", "permissions_boundary": "not-an-arn"}, "permissions_boundary"),
        ({"name": "u1", "groups": ["bad group"]}, "groups"),
    ],
)
def test_invalid_input_fails_naming_the_option_before_any_api_call(run_module, api_calls, args, option):
    result = run_module(iam_user, args)
    assert result["failed"] is True
    assert f"{option} " in result["msg"] or f"{option}:" in result["msg"]
    assert api_calls == []


def test_valid_edge_values_are_accepted(run_module, iam_client):
    args = {
        "name": "a" * 64,
        "path": "/" + "p" * 510 + "/",
        "tags": {f"k{i}": "v" * 256 for i in range(49)} | {"k:/=+-@_. \u00e9": ""},
    }
    assert run_module(iam_user, args)["changed"] is True


# -- absent ---------------------------------------------------------------------------------------


def test_absent_on_missing_user_is_not_changed(run_module, iam_client, api_calls):
    result = run_module(iam_user, {"name": "ghost", "state": "absent"})
    assert result["changed"] is False
    assert api_calls.mutating == []


@pytest.mark.parametrize(("option", "value"), [("new_name", "other"), ("new_path", "/moved/")])
def test_absent_with_new_name_or_new_path_fails_before_any_api_call(run_module, iam_client, api_calls, option, value):
    # find_user falls back to new_name, so state=absent new_name=other used to delete "other" instead.
    iam_client.create_user(UserName="other")
    api_calls.clear()
    result = run_module(iam_user, {"name": "ghost", "state": "absent", "force": True, option: value})
    assert result["failed"] is True
    assert result["msg"].startswith(f"Invalid input: {option}: cannot be combined with state=absent")
    assert api_calls == []
    assert iam_client.get_user(UserName="other")["User"]["UserName"] == "other"


def test_absent_without_dependents_deletes_user(run_module, iam_client, api_calls):
    iam_client.create_user(UserName="u1")
    result = run_module(iam_user, {"name": "u1", "state": "absent"}, diff=True)
    assert result["changed"] is True
    assert result["diff"]["before"]["user_name"] == "u1"
    assert result["diff"]["after"] == {}
    assert iam_client.list_users()["Users"] == []


def arrange_user_with_every_dependent(iam_client) -> dict:
    iam_client.create_group(GroupName="devs")
    arn = make_policy(iam_client, "p1")
    iam_client.create_user(UserName="leaver")
    iam_client.add_user_to_group(UserName="leaver", GroupName="devs")
    iam_client.attach_user_policy(UserName="leaver", PolicyArn=arn)
    iam_client.put_user_policy(
        UserName="leaver",
        PolicyName="inline",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        ),
    )
    iam_client.create_login_profile(UserName="leaver", Password="Secret-password-1")
    key_id = iam_client.create_access_key(UserName="leaver")["AccessKey"]["AccessKeyId"]
    cert_id = iam_client.upload_signing_certificate(UserName="leaver", CertificateBody=self_signed_certificate())[
        "Certificate"
    ]["CertificateId"]
    ssh_id = iam_client.upload_ssh_public_key(UserName="leaver", SSHPublicKeyBody="ssh-ed25519 AAAAC3Nza test")[
        "SSHPublicKey"
    ]["SSHPublicKeyId"]
    serial = iam_client.create_virtual_mfa_device(VirtualMFADeviceName="leaver")["VirtualMFADevice"]["SerialNumber"]
    iam_client.enable_mfa_device(
        UserName="leaver", SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321"
    )
    return {"policy": arn, "key": key_id, "cert": cert_id, "ssh": ssh_id, "mfa": serial}


def emulate_service_specific_credentials(emulator) -> list[str]:
    deleted: list[str] = []
    emulator.answer(
        "ListServiceSpecificCredentials",
        lambda params: {
            "ServiceSpecificCredentials": [
                {
                    "UserName": params["UserName"],
                    "Status": "Active",
                    "ServiceUserName": "leaver-at-123456789012",
                    "CreateDate": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
                    "ServiceSpecificCredentialId": "ACCAEXAMPLE000000001",
                    "ServiceName": "codecommit.amazonaws.com",
                }
            ],
            "IsTruncated": False,
        },
    )
    emulator.answer("DeleteServiceSpecificCredential", lambda params: deleted.append(params) or {})
    return deleted


def test_absent_without_force_fails_listing_the_blockers_and_changes_nothing(
    run_module, iam_client, api_calls, emulator
):
    ids = arrange_user_with_every_dependent(iam_client)
    emulate_service_specific_credentials(emulator)
    api_calls.clear()

    result = run_module(iam_user, {"name": "leaver", "state": "absent"})

    assert result["failed"] is True
    assert result["msg"].startswith("force: user leaver still has ")
    for blocker in ("login_profile", ids["key"], ids["cert"], ids["ssh"], ids["mfa"], "inline", ids["policy"], "devs"):
        assert blocker in result["msg"]
    assert "ACCAEXAMPLE000000001" in result["msg"]
    assert api_calls.mutating == []
    assert iam_client.get_user(UserName="leaver")


def test_absent_with_force_removes_every_dependent_then_the_user(run_module, iam_client, api_calls, emulator):
    ids = arrange_user_with_every_dependent(iam_client)
    deleted_credentials = emulate_service_specific_credentials(emulator)
    api_calls.clear()

    predicted = run_module(iam_user, {"name": "leaver", "state": "absent", "force": True}, check_mode=True)
    assert predicted["changed"] is True
    assert predicted["removed"]["access_keys"] == [ids["key"]]
    assert api_calls.mutating == []
    assert iam_client.get_user(UserName="leaver")
    assert deleted_credentials == []

    api_calls.clear()
    result = run_module(iam_user, {"name": "leaver", "state": "absent", "force": True})

    assert result["changed"] is True
    assert result["removed"] == {
        "login_profile": True,
        "access_keys": [ids["key"]],
        "signing_certificates": [ids["cert"]],
        "ssh_public_keys": [ids["ssh"]],
        "service_specific_credentials": ["ACCAEXAMPLE000000001"],
        "mfa_devices": [ids["mfa"]],
        "inline_policies": ["inline"],
        "managed_policies": [ids["policy"]],
        "groups": ["devs"],
    }
    assert [c["ServiceSpecificCredentialId"] for c in deleted_credentials] == ["ACCAEXAMPLE000000001"]
    # IAM refuses to delete a virtual MFA device that is still assigned: deactivate first.
    mutating = api_calls.mutating
    assert mutating.index("DeactivateMFADevice") < mutating.index("DeleteVirtualMFADevice")
    assert mutating[-1] == "DeleteUser"
    assert iam_client.list_users()["Users"] == []
    assert iam_client.list_virtual_mfa_devices()["VirtualMFADevices"] == []
    assert iam_client.get_group(GroupName="devs")["Users"] == []

    api_calls.clear()
    assert run_module(iam_user, {"name": "leaver", "state": "absent", "force": True})["changed"] is False
    assert api_calls.mutating == []


def test_absent_treats_unimplemented_list_call_as_none_with_a_warning(run_module, iam_client):
    # moto in-process raises NotImplementedError for ListServiceSpecificCredentials.
    iam_client.create_user(UserName="u1")
    result = run_module(iam_user, {"name": "u1", "state": "absent", "force": True})
    assert result["changed"] is True
    assert "service-specific credentials" in json.dumps(result["warnings"])
    assert iam_client.list_users()["Users"] == []
