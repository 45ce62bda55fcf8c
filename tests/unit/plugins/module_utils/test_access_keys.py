"""_access_keys: the access key functions iam_access_key and the roster engine share, against moto in-process."""

from __future__ import annotations

import concurrent.futures
import configparser
import datetime
import json
import typing as t

import boto3
import pytest

from ansible_collections.techsquawks.iam.plugins.module_utils import _access_keys, _delivery
from ansible_collections.techsquawks.iam.plugins.module_utils._iam import IAM, CheckModeViolation, IAMError
from ansible_collections.techsquawks.iam.plugins.module_utils._module import ModuleFailure

USER = "techsquawks-user"
FAKE_SECRET = "FAKE-SECRET-wJalrXUtnFEMI-not-a-real-one"


def iam(check_mode: bool = False, client: t.Any = None) -> IAM:
    """The IAM verbs on a client of their own (not the arranging client), as a module would have."""
    return IAM(client or boto3.client("iam", region_name="us-east-1"), check_mode=check_mode)


@pytest.fixture
def user(iam_client: t.Any, api_calls: t.Any) -> str:
    iam_client.create_user(UserName=USER)
    api_calls.clear()
    return USER


def keys_of(iam_client: t.Any, name: str = USER) -> dict[str, str]:
    return {k["AccessKeyId"]: k["Status"] for k in iam_client.list_access_keys(UserName=name)["AccessKeyMetadata"]}


def new_key(iam_client: t.Any, status: str = "Active", name: str = USER) -> str:
    key_id = iam_client.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
    if status != "Active":
        iam_client.update_access_key(UserName=name, AccessKeyId=key_id, Status=status)
    return key_id


def one_active(check_mode: bool = False, *, user: str = USER, **kwargs: t.Any):
    verbs = iam(check_mode)
    args: dict[str, t.Any] = {"rotate_after_days": None, **kwargs}
    return _access_keys.ensure_one_active(
        verbs, check_mode=check_mode, user=user, keys=_access_keys.read(verbs, user), **args
    )


def soon() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=31)


# -- read -----------------------------------------------------------------------------------------


def test_read_is_none_for_a_missing_user_and_empty_for_a_user_without_keys(user):
    assert _access_keys.read(iam(), "nobody") is None
    assert _access_keys.read(iam(), user) == []


# -- ensure_one_active ----------------------------------------------------------------------------


def test_first_key_is_created_and_its_secret_returned_when_there_is_no_destination(iam_client, api_calls, user):
    outcome = one_active()

    [key_id] = keys_of(iam_client)
    assert outcome.changed is True
    assert outcome.created == [f"access key {key_id}"]
    assert outcome.updated == outcome.removed == outcome.delivered == []
    assert outcome.before == {"access_keys": []}
    assert outcome.after == {"access_keys": [{"access_key_id": key_id, "status": "Active"}]}
    assert outcome.result["access_key"]["access_key_id"] == key_id
    assert outcome.result["retired_keys"] == []
    assert outcome.result["secret_access_key"]
    assert "secret_file" not in outcome.result
    assert outcome.result["secret_access_key"] not in json.dumps([outcome.before, outcome.after])


def test_an_active_key_not_due_is_left_alone_without_a_write(iam_client, api_calls, user):
    key_id = new_key(iam_client)
    api_calls.clear()

    outcome = one_active(rotate_after_days=30)

    assert outcome.changed is False
    assert outcome.created == outcome.updated == []
    assert outcome.result == {"access_key": outcome.result["access_key"], "retired_keys": []}
    assert outcome.result["access_key"]["access_key_id"] == key_id
    assert api_calls == ["ListAccessKeys"]


def test_now_decides_whether_rotation_is_due(iam_client, user):
    old = new_key(iam_client)

    outcome = one_active(rotate_after_days=30, now=soon())

    new = outcome.result["access_key"]["access_key_id"]
    assert keys_of(iam_client) == {old: "Inactive", new: "Active"}
    assert outcome.created == [f"access key {new}"]
    assert outcome.updated == [f"access key {old} deactivated"]
    assert outcome.result["retired_keys"] == [{"access_key_id": old, "action": "deactivated"}]


def test_check_mode_predicts_the_rotation_and_the_file_without_a_write(iam_client, api_calls, tmp_path, user):
    inactive, active = new_key(iam_client, "Inactive"), new_key(iam_client)
    path = tmp_path / "credentials"
    api_calls.clear()

    outcome = one_active(
        True, rotate_after_days=0, retire="delete", destination=_delivery.Destination(str(path), "access_key")
    )

    assert outcome.changed is True
    assert outcome.created == ["access key (new)"]
    assert outcome.updated == [f"access key {inactive} deleted", f"access key {active} deleted"]
    assert outcome.after == {"access_keys": [{"access_key_id": None, "status": "Active"}]}
    assert outcome.result["secret_file"] == str(path)
    assert outcome.delivered == [], "nothing is delivered in check mode"
    assert "secret_access_key" not in outcome.result
    assert api_calls.mutating == []
    assert not path.exists()
    assert keys_of(iam_client) == {inactive: "Inactive", active: "Active"}


def test_new_secret_is_delivered_after_proof_and_before_the_old_key_is_retired(
    iam_client, api_calls, tmp_path, monkeypatch, user
):
    old = new_key(iam_client)
    path = tmp_path / "credentials"
    events: list[str] = []
    retire = IAM.update_access_key

    def recording_retire(self, name, key_id, status):
        events.append(f"retire (file exists: {path.exists()})")
        retire(self, name, key_id, status)

    monkeypatch.setattr(IAM, "update_access_key", recording_retire)

    def prove(key_id: str, secret: str) -> None:
        events.append(f"prove (file exists: {path.exists()})")

    outcome = one_active(rotate_after_days=0, prove=prove, destination=_delivery.Destination(str(path), "access_key"))

    assert events == ["prove (file exists: False)", "retire (file exists: True)"]
    new = outcome.result["access_key"]["access_key_id"]
    assert outcome.delivered == [str(path)]
    assert outcome.result["secret_file"] == str(path)
    assert "secret_access_key" not in outcome.result
    profile = configparser.ConfigParser()
    profile.read(path)
    assert profile[USER]["aws_access_key_id"] == new
    assert profile[USER]["aws_secret_access_key"] not in json.dumps(outcome.result)
    assert keys_of(iam_client) == {old: "Inactive", new: "Active"}


def test_a_key_that_cannot_be_proven_is_deleted_again_and_the_old_key_kept(iam_client, api_calls, tmp_path, user):
    old = new_key(iam_client)
    path = tmp_path / "credentials"
    api_calls.clear()

    def refuse(key_id: str, secret: str) -> None:
        raise ModuleFailure(f"verify: Failed to verify new access key {key_id}: no", error_code="InvalidClientTokenId")

    with pytest.raises(ModuleFailure) as failure:
        one_active(rotate_after_days=0, prove=refuse, destination=_delivery.Destination(str(path), "access_key"))

    assert "was deleted again and no active key was retired" in str(failure.value)
    assert failure.value.details == {"error_code": "InvalidClientTokenId"}
    assert keys_of(iam_client) == {old: "Active"}
    assert api_calls.mutating == ["CreateAccessKey", "DeleteAccessKey"]
    assert not path.exists(), "an unproven key's secret is never delivered"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (f"aws_secret_access_key = {FAKE_SECRET}\n".encode(), "it is not an AWS credentials file"),
        (f"[other]\naws_secret_access_key = {FAKE_SECRET}\n".encode() + b"\xff\n", "is not UTF-8 text"),
    ],
)
def test_a_malformed_credentials_file_deletes_the_new_key_and_is_never_quoted(
    iam_client, api_calls, tmp_path, user, content, reason
):
    old = new_key(iam_client)
    path = tmp_path / "credentials"
    path.write_bytes(content)
    path.chmod(0o600)
    api_calls.clear()

    with pytest.raises(ModuleFailure) as failure:
        one_active(rotate_after_days=0, destination=_delivery.Destination(str(path), "access_key"))

    message = str(failure.value)
    assert message.startswith(f"secret_file: '{path}' exists but ")
    assert reason in message
    assert "was deleted again and no active key was retired" in message
    assert FAKE_SECRET not in message
    assert FAKE_SECRET not in json.dumps(failure.value.details)
    assert keys_of(iam_client) == {old: "Active"}
    assert api_calls.mutating == ["CreateAccessKey", "DeleteAccessKey"]
    assert path.read_bytes() == content


def test_a_default_profile_is_never_written_and_the_key_is_deleted_again(iam_client, tmp_path):
    """The module refuses such a user in validate(); a direct caller is still protected by _delivery."""
    iam_client.create_user(UserName="Default")
    path = tmp_path / "credentials"

    with pytest.raises(ModuleFailure, match=r"^secret_file: .*was deleted again"):
        one_active(user="Default", destination=_delivery.Destination(str(path), "access_key"))

    assert keys_of(iam_client, "Default") == {}
    assert not path.exists()


def test_retirement_that_fails_without_a_destination_deletes_the_new_key(iam_client, monkeypatch, user):
    """Its secret would only have been in the result of a failed run, so nobody would hold it."""
    old = new_key(iam_client)

    def refuse(self, name, key_id, status):
        raise IAMError(f"Failed to set access key {key_id} of user {name} {status}: denied", "AccessDenied")

    monkeypatch.setattr(IAM, "update_access_key", refuse)

    with pytest.raises(ModuleFailure, match="was deleted again") as failure:
        one_active(rotate_after_days=0)

    assert failure.value.details == {"error_code": "AccessDenied"}
    assert keys_of(iam_client) == {old: "Active"}


def test_two_active_keys_are_refused_before_any_change(iam_client, api_calls, user):
    first, second = new_key(iam_client), new_key(iam_client)
    api_calls.clear()

    for check_mode in (True, False):
        with pytest.raises(ModuleFailure, match="already has 2 active access keys") as failure:
            one_active(check_mode, rotate_after_days=0)
        assert failure.value.details == {"access_keys": [first, second]}

    assert api_calls.mutating == []


def test_check_mode_never_reaches_a_mutating_verb(user):
    """The IAM verbs refuse writes in check mode, so a prediction can never touch AWS by mistake."""
    with pytest.raises(CheckModeViolation):
        iam(True).create_access_key(USER)
    assert one_active(True).created == ["access key (new)"]


# -- keys by id -----------------------------------------------------------------------------------


def test_ensure_status_words_and_views(iam_client, user):
    key_id = new_key(iam_client)
    keys = _access_keys.read(iam(), USER)

    off = _access_keys.ensure_status(iam(), check_mode=False, keys=keys, current=keys[0], active=False)
    assert off.updated == [f"access key {key_id} deactivated"]
    assert off.result["retired_keys"] == [{"access_key_id": key_id, "action": "deactivated"}]
    assert keys_of(iam_client) == {key_id: "Inactive"}

    keys = _access_keys.read(iam(), USER)
    on = _access_keys.ensure_status(iam(), check_mode=False, keys=keys, current=keys[0], active=True)
    assert on.updated == [f"access key {key_id} activated"]
    assert on.result["retired_keys"] == []
    assert on.after == {"access_keys": [{"access_key_id": key_id, "status": "Active"}]}

    keys = _access_keys.read(iam(), USER)
    same = _access_keys.ensure_status(iam(), check_mode=False, keys=keys, current=keys[0], active=True)
    unmanaged = _access_keys.ensure_status(iam(), check_mode=False, keys=keys, current=keys[0], active=None)
    assert same.changed is unmanaged.changed is False
    assert same.updated == unmanaged.updated == []


def test_ensure_absent_deletes_one_key(iam_client, api_calls, user):
    keep, doomed = new_key(iam_client), new_key(iam_client)
    keys = _access_keys.read(iam(), USER)
    current = next(key for key in keys if key["AccessKeyId"] == doomed)
    api_calls.clear()

    predicted = _access_keys.ensure_absent(iam(True), check_mode=True, keys=keys, current=current)
    assert api_calls.mutating == []
    outcome = _access_keys.ensure_absent(iam(), check_mode=False, keys=keys, current=current)

    assert predicted == outcome
    assert outcome.removed == [f"access key {doomed}"]
    assert outcome.result == {"access_key": {}, "retired_keys": [{"access_key_id": doomed, "action": "deleted"}]}
    assert keys_of(iam_client) == {keep: "Active"}
    gone = _access_keys.ensure_absent(iam(), check_mode=False, keys=_access_keys.read(iam(), USER), current=None)
    assert gone.changed is False
    assert gone.removed == []


def test_ensure_none_deletes_every_key_and_predicts_it_in_check_mode(iam_client, api_calls, user):
    first, second = new_key(iam_client, "Inactive"), new_key(iam_client)
    api_calls.clear()

    predicted = _access_keys.ensure_none(iam(True), check_mode=True, user=USER, keys=_access_keys.read(iam(), USER))
    assert api_calls.mutating == []
    assert keys_of(iam_client) == {first: "Inactive", second: "Active"}

    outcome = _access_keys.ensure_none(iam(), check_mode=False, user=USER, keys=_access_keys.read(iam(), USER))

    assert predicted == outcome
    assert outcome.changed is True
    assert outcome.removed == [f"access key {first}", f"access key {second}"]
    assert outcome.after == {"access_keys": []}
    assert keys_of(iam_client) == {}
    again = _access_keys.ensure_none(iam(), check_mode=False, user=USER, keys=_access_keys.read(iam(), USER))
    assert again.changed is False
    assert again.removed == []


# -- many users, one client -----------------------------------------------------------------------


def test_users_converge_concurrently_through_one_shared_client(iam_client, tmp_path):
    names = [f"user{index}" for index in range(8)]
    for name in names:
        iam_client.create_user(UserName=name)
    shared = boto3.client("iam", region_name="us-east-1")

    def converge(name: str) -> tuple[list[str], bool, list[str]]:
        verbs = iam(client=shared)
        destination = _delivery.Destination(str(tmp_path / name / "credentials"), "access_key")
        first = _access_keys.ensure_one_active(
            verbs,
            check_mode=False,
            user=name,
            keys=_access_keys.read(verbs, name),
            rotate_after_days=None,
            destination=destination,
        )
        second = _access_keys.ensure_one_active(
            verbs,
            check_mode=False,
            user=name,
            keys=_access_keys.read(verbs, name),
            rotate_after_days=None,
            destination=destination,
        )
        return first.created, second.changed, second.delivered

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(zip(names, pool.map(converge, names), strict=True))

    for name in names:
        [key_id] = keys_of(iam_client, name)
        assert results[name] == ([f"access key {key_id}"], False, [])
        profile = configparser.ConfigParser()
        profile.read(tmp_path / name / "credentials")
        assert profile[name]["aws_access_key_id"] == key_id
