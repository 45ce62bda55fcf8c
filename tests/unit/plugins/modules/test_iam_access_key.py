"""iam_access_key: the real main() against moto in-process (IAM and STS)."""

from __future__ import annotations

import configparser
import datetime
import json
import os
import stat

import boto3
import pytest
from botocore.stub import Stubber

from ansible_collections.techsquawks.iam.plugins.module_utils import _access_keys, _iam, _module
from ansible_collections.techsquawks.iam.plugins.modules import iam_access_key

ACCOUNT = "123456789012"
USER = "techsquawks-user"
USER_ARN = f"arn:aws:iam::{ACCOUNT}:user/{USER}"


@pytest.fixture
def user(iam_client) -> str:
    iam_client.create_user(UserName=USER)
    return USER


def keys_of(iam_client, name: str = USER) -> dict[str, str]:
    """{access key id: status} as IAM has them."""
    return {
        key["AccessKeyId"]: key["Status"] for key in iam_client.list_access_keys(UserName=name)["AccessKeyMetadata"]
    }


def new_key(iam_client, status: str = "Active") -> str:
    key_id = iam_client.create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"]
    if status != "Active":
        iam_client.update_access_key(UserName=USER, AccessKeyId=key_id, Status=status)
    return key_id


def caller_arn(key_id: str, secret: str) -> str:
    sts = boto3.client("sts", aws_access_key_id=key_id, aws_secret_access_key=secret, aws_session_token=None)
    return sts.get_caller_identity()["Arn"]


def later(monkeypatch: pytest.MonkeyPatch, days: float) -> None:
    """Run the module as if ``days`` had passed since the keys were created."""
    moment = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=days)
    monkeypatch.setattr(_access_keys, "utc_now", lambda: moment)


def stubbed_sts(answers: int, error: str = "InvalidClientTokenId"):
    """A real STS client whose GetCallerIdentity keeps answering ``error``, as for a key IAM never propagates."""
    client = boto3.client("sts", region_name="us-east-1")
    stubber = Stubber(client)
    for _attempt in range(answers):
        stubber.add_client_error("get_caller_identity", error, "The security token included in the request is invalid.")
    stubber.activate()
    return client


# -- ensure one active key ------------------------------------------------------------------------


def test_present_without_keys_creates_one_working_key_and_returns_its_secret(run_module, iam_client, api_calls, user):
    api_calls.clear()
    predicted = run_module(iam_access_key, {"user_name": user}, check_mode=True)
    assert predicted["changed"] is True
    assert predicted["access_key"] == {
        "access_key_id": None,
        "status": "Active",
        "create_date": None,
        "user_name": user,
    }
    assert "secret_access_key" not in predicted
    assert api_calls.mutating == []
    assert keys_of(iam_client) == {}

    result = run_module(iam_access_key, {"user_name": user})

    assert result["changed"] is True
    key_id = result["access_key"]["access_key_id"]
    assert keys_of(iam_client) == {key_id: "Active"}
    assert result["access_key"]["status"] == "Active"
    assert result["access_key"]["create_date"]
    assert result["retired_keys"] == []
    # verify=true (the default) proved the key with STS before returning.
    assert api_calls.count("GetCallerIdentity") == 1
    assert caller_arn(key_id, result["secret_access_key"]) == USER_ARN
    assert "secret_file" not in result


def test_second_run_keeps_the_single_key_and_returns_no_secret(run_module, iam_client, api_calls, user):
    first = run_module(iam_access_key, {"user_name": user})
    api_calls.clear()

    assert run_module(iam_access_key, {"user_name": user}, check_mode=True)["changed"] is False
    again = run_module(iam_access_key, {"user_name": user})

    assert again["changed"] is False
    assert "secret_access_key" not in again
    assert again["access_key"] == first["access_key"]
    assert api_calls.mutating == []
    assert api_calls == ["ListAccessKeys", "ListAccessKeys"]
    assert list(keys_of(iam_client)) == [first["access_key"]["access_key_id"]]


def test_present_with_only_an_inactive_key_adds_an_active_key(run_module, iam_client, user):
    old = new_key(iam_client, "Inactive")

    result = run_module(iam_access_key, {"user_name": user})

    assert result["changed"] is True
    assert keys_of(iam_client) == {old: "Inactive", result["access_key"]["access_key_id"]: "Active"}
    assert result["retired_keys"] == []


def test_present_with_two_inactive_keys_deletes_the_oldest_to_make_room(run_module, iam_client, user):
    oldest, newer = new_key(iam_client, "Inactive"), new_key(iam_client, "Inactive")

    predicted = run_module(iam_access_key, {"user_name": user}, check_mode=True)
    result = run_module(iam_access_key, {"user_name": user})

    assert predicted["retired_keys"] == result["retired_keys"] == [{"access_key_id": oldest, "action": "deleted"}]
    assert keys_of(iam_client) == {newer: "Inactive", result["access_key"]["access_key_id"]: "Active"}


def test_present_with_verify_false_creates_the_key_without_calling_sts(run_module, iam_client, api_calls, user):
    api_calls.clear()
    result = run_module(iam_access_key, {"user_name": user, "verify": False})

    assert result["changed"] is True
    assert "GetCallerIdentity" not in api_calls
    assert "GetUser" not in api_calls
    assert keys_of(iam_client) == {result["access_key"]["access_key_id"]: "Active"}


def test_present_for_missing_user_fails_naming_user_name(run_module, iam_client, api_calls):
    result = run_module(iam_access_key, {"user_name": "nobody"})

    assert result["failed"] is True
    assert result["msg"] == "user_name: IAM user nobody does not exist"
    assert api_calls.mutating == []


def test_check_mode_for_a_user_an_earlier_task_would_create_predicts_a_key(run_module, iam_client, api_calls):
    result = run_module(iam_access_key, {"user_name": "nobody"}, check_mode=True)

    assert result["changed"] is True
    assert result["access_key"]["status"] == "Active"
    assert api_calls.mutating == []


# -- rotation -------------------------------------------------------------------------------------


def test_rotation_not_due_changes_nothing(run_module, iam_client, api_calls, monkeypatch, user):
    old = new_key(iam_client)
    later(monkeypatch, 29)
    api_calls.clear()

    result = run_module(iam_access_key, {"user_name": user, "rotate_after_days": 30})

    assert result["changed"] is False
    assert result["access_key"]["access_key_id"] == old
    assert "secret_access_key" not in result
    assert api_calls == ["ListAccessKeys"]


def test_rotation_due_creates_a_verified_key_then_deactivates_the_old_one(
    run_module, iam_client, api_calls, monkeypatch, user
):
    old = new_key(iam_client)
    later(monkeypatch, 31)
    args = {"user_name": user, "rotate_after_days": 30}
    api_calls.clear()

    predicted = run_module(iam_access_key, args, check_mode=True, diff=True)
    assert predicted["changed"] is True
    assert predicted["retired_keys"] == [{"access_key_id": old, "action": "deactivated"}]
    assert predicted["diff"]["after"] == {
        "access_keys": [{"access_key_id": old, "status": "Inactive"}, {"access_key_id": None, "status": "Active"}]
    }
    assert api_calls.mutating == []

    result = run_module(iam_access_key, args)

    new = result["access_key"]["access_key_id"]
    assert new != old
    assert keys_of(iam_client) == {old: "Inactive", new: "Active"}
    assert result["retired_keys"] == [{"access_key_id": old, "action": "deactivated"}]
    assert caller_arn(new, result["secret_access_key"]) == USER_ARN
    # The old key is retired only after STS accepted the new one.
    assert api_calls.mutating == ["CreateAccessKey", "UpdateAccessKey"]
    assert api_calls.index("GetCallerIdentity") < api_calls.index("UpdateAccessKey")

    later(monkeypatch, 29)  # the new key is now the newest active one, and not yet due
    api_calls.clear()
    again = run_module(iam_access_key, args)
    assert again["changed"] is False
    assert "secret_access_key" not in again
    assert api_calls.mutating == []


def test_rotation_with_retire_delete_deletes_the_old_key(run_module, iam_client, user):
    old = new_key(iam_client)

    result = run_module(iam_access_key, {"user_name": user, "rotate_after_days": 0, "retire": "delete"})

    assert result["retired_keys"] == [{"access_key_id": old, "action": "deleted"}]
    assert keys_of(iam_client) == {result["access_key"]["access_key_id"]: "Active"}


def test_rotate_after_days_zero_rotates_on_every_run(run_module, iam_client, user):
    args = {"user_name": user, "rotate_after_days": 0}
    first = run_module(iam_access_key, args)["access_key"]["access_key_id"]

    second = run_module(iam_access_key, args)

    assert second["changed"] is True
    assert second["retired_keys"] == [{"access_key_id": first, "action": "deactivated"}]
    assert keys_of(iam_client) == {first: "Inactive", second["access_key"]["access_key_id"]: "Active"}


def test_rotation_with_an_inactive_key_deletes_it_before_creating_the_new_one(run_module, iam_client, api_calls, user):
    inactive, active = new_key(iam_client, "Inactive"), new_key(iam_client)
    api_calls.clear()

    result = run_module(iam_access_key, {"user_name": user, "rotate_after_days": 0})

    assert api_calls.mutating == ["DeleteAccessKey", "CreateAccessKey", "UpdateAccessKey"]
    assert result["retired_keys"] == [
        {"access_key_id": inactive, "action": "deleted"},
        {"access_key_id": active, "action": "deactivated"},
    ]
    assert keys_of(iam_client) == {active: "Inactive", result["access_key"]["access_key_id"]: "Active"}


def test_rotation_with_two_active_keys_fails_before_any_change(run_module, iam_client, api_calls, user):
    first, second = new_key(iam_client), new_key(iam_client)
    api_calls.clear()

    for check_mode in (True, False):
        result = run_module(iam_access_key, {"user_name": user, "rotate_after_days": 0}, check_mode=check_mode)
        assert result["failed"] is True
        assert result["msg"].startswith(f"rotate_after_days: user {user} already has 2 active access keys")
        assert f"({first}, {second})" in result["msg"]
        assert "Deactivate the key that is no longer in use (id: <key>, active: false)" in result["msg"]

    assert api_calls.mutating == []
    assert keys_of(iam_client) == {first: "Active", second: "Active"}


def test_two_active_keys_without_rotation_due_are_left_alone(run_module, iam_client, monkeypatch, user):
    first, second = new_key(iam_client), new_key(iam_client)

    result = run_module(iam_access_key, {"user_name": user, "rotate_after_days": 30})

    assert result["changed"] is False
    assert result["access_key"]["access_key_id"] == second
    assert keys_of(iam_client) == {first: "Active", second: "Active"}


def test_rotation_whose_new_key_never_verifies_deletes_it_and_keeps_the_old_key(
    run_module, iam_client, api_calls, monkeypatch, user
):
    old = new_key(iam_client)
    monkeypatch.setattr(_module.IAMModule, "client_with_credentials", lambda self, *_: stubbed_sts(50))
    api_calls.clear()

    result = run_module(iam_access_key, {"user_name": user, "rotate_after_days": 0, "verify_timeout": 1})

    assert result["failed"] is True
    assert result["msg"].startswith("verify: Failed to verify new access key ")
    assert "still not usable after 1 s" in result["msg"]
    assert "was deleted again and no active key was retired" in result["msg"]
    assert result["error_code"] == "InvalidClientTokenId"
    assert keys_of(iam_client) == {old: "Active"}
    assert api_calls.mutating == ["CreateAccessKey", "DeleteAccessKey"]


def test_rotation_is_refused_with_id(run_module, api_calls):
    result = run_module(iam_access_key, {"user_name": USER, "id": "AKIA0000000000000001", "rotate_after_days": 1})

    assert result["failed"] is True
    assert "mutually exclusive: id|rotate_after_days" in result["msg"]
    assert api_calls == []


# -- one key by id --------------------------------------------------------------------------------


def test_id_with_active_false_deactivates_the_key_once(run_module, iam_client, api_calls, user):
    key_id = new_key(iam_client)
    args = {"user_name": user, "id": key_id, "active": False}
    api_calls.clear()

    predicted = run_module(iam_access_key, args, check_mode=True)
    assert predicted["changed"] is True
    assert predicted["access_key"]["status"] == "Inactive"
    assert api_calls.mutating == []
    assert keys_of(iam_client) == {key_id: "Active"}

    result = run_module(iam_access_key, args)
    assert result["changed"] is True
    assert result["retired_keys"] == [{"access_key_id": key_id, "action": "deactivated"}]
    assert keys_of(iam_client) == {key_id: "Inactive"}

    api_calls.clear()
    again = run_module(iam_access_key, args)
    assert again["changed"] is False
    assert again["retired_keys"] == []
    assert api_calls.mutating == []


def test_id_with_active_true_reactivates_the_key(run_module, iam_client, user):
    key_id = new_key(iam_client, "Inactive")

    result = run_module(iam_access_key, {"user_name": user, "id": key_id, "active": True})

    assert result["changed"] is True
    assert result["access_key"]["status"] == "Active"
    assert result["retired_keys"] == []
    assert keys_of(iam_client) == {key_id: "Active"}


def test_id_without_active_reports_the_key_unchanged(run_module, iam_client, api_calls, user):
    key_id = new_key(iam_client, "Inactive")
    api_calls.clear()

    result = run_module(iam_access_key, {"user_name": user, "id": key_id})

    assert result["changed"] is False
    assert result["access_key"]["access_key_id"] == key_id
    assert result["access_key"]["status"] == "Inactive"
    assert api_calls.mutating == []


def test_id_of_a_key_the_user_does_not_have_fails_naming_id(run_module, iam_client, api_calls, user):
    api_calls.clear()
    result = run_module(iam_access_key, {"user_name": user, "id": "AKIA0000000000000001", "active": False})

    assert result["failed"] is True
    assert result["msg"] == f"id: user {user} has no access key AKIA0000000000000001"
    assert api_calls.mutating == []


def test_absent_deletes_the_key_and_a_second_run_changes_nothing(run_module, iam_client, api_calls, user):
    keep, doomed = new_key(iam_client), new_key(iam_client)
    args = {"user_name": user, "id": doomed, "state": "absent"}
    api_calls.clear()

    predicted = run_module(iam_access_key, args, check_mode=True)
    assert predicted["changed"] is True
    assert api_calls.mutating == []

    result = run_module(iam_access_key, args)
    assert result["changed"] is True
    assert result["access_key"] == {}
    assert result["retired_keys"] == [{"access_key_id": doomed, "action": "deleted"}]
    assert keys_of(iam_client) == {keep: "Active"}

    api_calls.clear()
    assert run_module(iam_access_key, args)["changed"] is False
    assert api_calls.mutating == []


def test_absent_for_a_missing_user_changes_nothing(run_module, iam_client):
    result = run_module(iam_access_key, {"user_name": "nobody", "id": "AKIA0000000000000001", "state": "absent"})

    assert result["changed"] is False
    assert "failed" not in result


# -- diff -----------------------------------------------------------------------------------------


def test_diff_shows_key_ids_and_statuses_and_never_the_secret(run_module, iam_client, user):
    old = new_key(iam_client)

    result = run_module(iam_access_key, {"user_name": user, "rotate_after_days": 0}, diff=True)

    new = result["access_key"]["access_key_id"]
    assert result["diff"] == {
        "before": {"access_keys": [{"access_key_id": old, "status": "Active"}]},
        "after": {
            "access_keys": [{"access_key_id": old, "status": "Inactive"}, {"access_key_id": new, "status": "Active"}]
        },
    }
    assert result["secret_access_key"] not in json.dumps(result["diff"])


# -- secret delivery ------------------------------------------------------------------------------


def test_secret_file_receives_credentials_with_mode_0600_and_the_result_no_secret(
    run_module, iam_client, tmp_path, user
):
    path = tmp_path / "private" / "credentials"
    args = {"user_name": user, "secret_file": str(path)}

    predicted = run_module(iam_access_key, args, check_mode=True)
    assert predicted["secret_file"] == str(path)
    assert not path.exists()

    result = run_module(iam_access_key, args)

    assert "secret_access_key" not in result
    assert result["secret_file"] == str(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    profile = configparser.ConfigParser()
    profile.read(path)
    key_id = result["access_key"]["access_key_id"]
    assert profile[user]["aws_access_key_id"] == key_id
    assert caller_arn(key_id, profile[user]["aws_secret_access_key"]) == USER_ARN
    assert profile[user]["aws_secret_access_key"] not in json.dumps(result)

    written = path.read_text()
    again = run_module(iam_access_key, args)
    assert again["changed"] is False
    assert "secret_file" not in again
    assert path.read_text() == written


def test_secret_file_keeps_other_profiles(run_module, iam_client, tmp_path, user):
    path = tmp_path / "credentials"
    path.write_text("[other]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = other-value\n")
    path.chmod(0o600)

    run_module(iam_access_key, {"user_name": user, "secret_file": str(path)})

    profiles = configparser.ConfigParser()
    profiles.read(path)
    assert dict(profiles["other"]) == {"aws_access_key_id": "AKIAOTHER", "aws_secret_access_key": "other-value"}
    assert user in profiles


def test_secret_file_in_json_is_a_credential_process_document(run_module, iam_client, tmp_path, user):
    path = tmp_path / "key.json"

    result = run_module(iam_access_key, {"user_name": user, "secret_file": str(path), "secret_format": "json"})

    document = json.loads(path.read_text())
    assert set(document) == {"Version", "AccessKeyId", "SecretAccessKey"}
    assert document["Version"] == 1
    assert document["AccessKeyId"] == result["access_key"]["access_key_id"]
    assert caller_arn(document["AccessKeyId"], document["SecretAccessKey"]) == USER_ARN


def test_secret_file_readable_by_others_is_refused_before_any_api_call(run_module, tmp_path, api_calls):
    path = tmp_path / "credentials"
    path.write_text("")
    path.chmod(0o644)

    result = run_module(iam_access_key, {"user_name": USER, "secret_file": str(path)})

    assert result["failed"] is True
    assert f"secret_file: '{path}' exists with mode 0644" in result["msg"]
    assert api_calls == []


def test_secret_file_that_cannot_be_written_deletes_the_new_key_again(run_module, iam_client, tmp_path, user):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    old = new_key(iam_client)

    result = run_module(
        iam_access_key, {"user_name": user, "rotate_after_days": 0, "secret_file": str(blocker / "credentials")}
    )

    assert result["failed"] is True
    assert result["msg"].startswith("secret_file: Failed to write secret")
    assert "was deleted again and no active key was retired" in result["msg"]
    assert keys_of(iam_client) == {old: "Active"}


def test_retirement_failure_after_delivery_keeps_the_delivered_key_and_says_so(
    run_module, iam_client, tmp_path, monkeypatch, user
):
    old = new_key(iam_client)
    path = tmp_path / "credentials"

    def refuse(self, name, key_id, status):
        raise _iam.IAMError(f"Failed to set access key {key_id} of user {name} {status}: denied", "AccessDenied")

    monkeypatch.setattr(_iam.IAM, "update_access_key", refuse)

    result = run_module(iam_access_key, {"user_name": user, "rotate_after_days": 0, "secret_file": str(path)})

    assert result["failed"] is True
    assert result["error_code"] == "AccessDenied"
    assert f"its secret is in {path}, but the old key was not retired" in result["msg"]
    profile = configparser.ConfigParser()
    profile.read(path)
    new = profile[user]["aws_access_key_id"]
    assert keys_of(iam_client) == {old: "Active", new: "Active"}


# -- input validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"user_name": "a b"}, "user_name 'a b' may contain only"),
        (
            {"user_name": "x" * 65},
            "user_name 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' is 65",
        ),
        ({"user_name": USER, "id": "short"}, "id 'short' is not an access key ID"),
        ({"user_name": USER, "id": "AKIA-0000000000000001"}, "is not an access key ID"),
        ({"user_name": USER, "state": "absent"}, "id is required with state=absent"),
        ({"user_name": USER, "active": False}, "active=false requires id"),
        ({"user_name": USER, "rotate_after_days": -1}, "rotate_after_days must be 0 or more, not -1"),
        ({"user_name": USER, "verify_timeout": 0}, "verify_timeout must be at least 1 second"),
        ({"user_name": USER, "secret_file": "relative/credentials"}, "secret_file: 'relative/credentials' must be an"),
        ({"user_name": USER, "retire": "shred"}, "retire must be one of: deactivate, delete"),
    ],
)
def test_invalid_input_fails_naming_the_option_before_any_api_call(run_module, api_calls, args, message):
    result = run_module(iam_access_key, args)

    assert result["failed"] is True
    assert message in result["msg"]
    assert api_calls == []


def test_secret_file_that_is_a_symlink_is_refused(run_module, tmp_path, api_calls):
    target = tmp_path / "target"
    target.write_text("")
    target.chmod(0o600)
    link = tmp_path / "link"
    os.symlink(target, link)

    result = run_module(iam_access_key, {"user_name": USER, "secret_file": str(link)})

    assert result["failed"] is True
    assert "symbolic link" in result["msg"]
    assert api_calls == []


@pytest.mark.parametrize("name", ["DEFAULT", "default", "Default"])
def test_user_named_default_with_a_credentials_file_is_refused_before_any_api_call(
    run_module, aws, tmp_path, api_calls, name
):
    """botocore merges a credentials file's [DEFAULT] section into every profile of the file."""
    result = run_module(iam_access_key, {"user_name": name, "secret_file": str(tmp_path / "credentials")})

    assert result["failed"] is True
    assert f"user_name: '{name}' cannot be a profile of an AWS credentials file" in result["msg"]
    assert "secret_format=json" in result["msg"]
    assert api_calls == []
    assert not (tmp_path / "credentials").exists()


def test_user_named_default_may_have_its_key_delivered_as_json(run_module, iam_client, tmp_path):
    iam_client.create_user(UserName="default")
    path = tmp_path / "key.json"

    result = run_module(
        iam_access_key, {"user_name": "default", "secret_file": str(path), "secret_format": "json", "verify": False}
    )

    assert result["changed"] is True
    assert json.loads(path.read_text())["AccessKeyId"] == result["access_key"]["access_key_id"]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"aws_secret_access_key = FAKE-SECRET-0123456789\n", "is not an AWS credentials file"),
        (b"[other]\naws_secret_access_key = FAKE-SECRET-0123456789\xff\xfe\n", "is not UTF-8 text"),
        (b"[other]\naws_secret_access_key = FAKE-SECRET-0123456789\n[other]\n", "is not an AWS credentials file"),
    ],
)
def test_malformed_credentials_file_deletes_the_new_key_and_never_quotes_the_file(
    run_module, iam_client, api_calls, tmp_path, user, content, reason
):
    path = tmp_path / "credentials"
    path.write_bytes(content)
    path.chmod(0o600)
    old = new_key(iam_client)
    api_calls.clear()

    result = run_module(iam_access_key, {"user_name": user, "rotate_after_days": 0, "secret_file": str(path)})

    assert result["failed"] is True
    assert result["msg"].startswith(f"secret_file: '{path}' exists but")
    assert reason in result["msg"]
    assert "was deleted again and no active key was retired" in result["msg"]
    assert "FAKE-SECRET" not in json.dumps(result)
    assert keys_of(iam_client) == {old: "Active"}
    assert api_calls.mutating == ["CreateAccessKey", "DeleteAccessKey"]
    assert path.read_bytes() == content
