"""_login_profile: the console password functions iam_login_profile and the roster engine share, against moto.

moto ignores PasswordResetRequired on CreateLoginProfile (the function sets it again) and enforces no
password policy; a refusal is answered through the ``emulator`` fixture, as Stubber would.
"""

from __future__ import annotations

import json
import os
import typing as t

import boto3
import botocore.exceptions
import pytest
from moto.iam.models import iam_backends

from ansible_collections.techsquawks.iam.plugins.module_utils import _delivery, _login_profile, _passwords
from ansible_collections.techsquawks.iam.plugins.module_utils._iam import IAM, IAMError
from ansible_collections.techsquawks.iam.plugins.module_utils._module import ModuleFailure

ACCOUNT = "123456789012"
USER = "techsquawks-user"
URL = f"https://{ACCOUNT}.signin.aws.amazon.com/console/"
WORKING = "Working-Password-1"


def iam(check_mode: bool = False) -> IAM:
    return IAM(boto3.client("iam", region_name="us-east-1"), check_mode=check_mode)


@pytest.fixture
def user(iam_client: t.Any, api_calls: t.Any) -> str:
    iam_client.create_user(UserName=USER)
    api_calls.clear()
    return USER


def stored_password(name: str = USER) -> str | None:
    return iam_backends[ACCOUNT]["global"].get_user(name).password


def never() -> t.NoReturn:
    raise AssertionError("called although no password is chosen")


def present(check_mode: bool = False, **kwargs: t.Any):
    verbs = iam(check_mode)
    args: dict[str, t.Any] = {
        "password": None,
        "password_length": 20,
        "password_reset_required": None,
        "max_session_duration": None,
        "update_password": "on_create",
        "rules": lambda: _passwords.DEFAULT_RULES,
        "sign_in_url": lambda: URL,
        "destination": None,
        **kwargs,
    }
    current = _login_profile.read(verbs, USER)
    return _login_profile.ensure_present(verbs, check_mode=check_mode, user_name=USER, current=current, **args)


def refuse_password(params: dict[str, t.Any]) -> dict[str, t.Any]:
    error = {"Error": {"Code": "PasswordPolicyViolation", "Message": "Password does not conform to the policy."}}
    raise botocore.exceptions.ClientError(error, "UpdateLoginProfile")


def saved_file(tmp_path, content: bytes = b'{"password": "Working-Password-1"}\n'):
    path = tmp_path / "console.json"
    path.write_bytes(content)
    path.chmod(0o600)
    return path


# -- creation -------------------------------------------------------------------------------------


def test_a_new_profile_gets_a_generated_password_returned_once(iam_client, api_calls, user):
    predicted = present(True)
    assert api_calls.mutating == []
    assert predicted.created == ["console password"]
    assert "password" not in predicted.result

    outcome = present()

    assert outcome.changed is True
    assert outcome.created == ["console password"]
    assert outcome.result["password"] == stored_password()
    assert outcome.result["sign_in_url"] == URL
    assert outcome.result["login_profile"]["user_name"] == USER
    assert outcome.before == {}
    assert outcome.after["password"] == _login_profile.HIDDEN_NEW
    assert outcome.result["password"] not in json.dumps([outcome.before, outcome.after])


def test_a_new_profile_that_requires_a_reset_says_so(iam_client, user):
    outcome = present(password_reset_required=True)

    assert outcome.created == ["console password (reset required)"]
    assert iam_client.get_login_profile(UserName=USER)["LoginProfile"]["PasswordResetRequired"] is True


def test_the_password_reaches_the_destination_only_once_aws_created_the_profile(iam_client, emulator, tmp_path, user):
    path = tmp_path / "console.json"
    existed_at_create: list[bool] = []

    def check(params: dict[str, t.Any], response: dict[str, t.Any]) -> dict[str, t.Any]:
        existed_at_create.append(path.exists())
        return response

    emulator.amend("CreateLoginProfile", check)

    outcome = present(destination=_delivery.Destination(str(path), "login_profile"))

    assert existed_at_create == [False]
    assert json.loads(path.read_text()) == {"user_name": USER, "password": stored_password(), "sign_in_url": URL}
    assert outcome.delivered == [str(path)]
    assert outcome.result["secret_file"] == str(path)
    assert "password" not in outcome.result


def test_a_password_that_cannot_be_delivered_removes_the_new_profile_again(iam_client, api_calls, tmp_path, user):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    path = blocker / "console.json"

    with pytest.raises(ModuleFailure) as failure:
        present(destination=_delivery.Destination(str(path), "login_profile"))

    assert str(failure.value).startswith(f"secret_file: Failed to write secret to '{path}'")
    assert str(failure.value).endswith(f"The login profile of {USER} was removed again (no console password is set)")
    assert api_calls.mutating == ["CreateLoginProfile", "DeleteLoginProfile"]
    with pytest.raises(iam_client.exceptions.NoSuchEntityException):
        iam_client.get_login_profile(UserName=USER)


def test_a_rollback_that_fails_too_says_the_password_is_held_by_nobody(iam_client, monkeypatch, tmp_path, user):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")

    def refuse(self, name):
        raise IAMError(f"Failed to delete login profile of user {name}: denied", "AccessDenied")

    monkeypatch.setattr(IAM, "delete_login_profile", refuse)

    with pytest.raises(ModuleFailure, match=r"failed too .*it has a password nobody holds"):
        present(destination=_delivery.Destination(str(blocker / "console.json"), "login_profile"))


# -- existing profiles ----------------------------------------------------------------------------


def test_an_existing_profile_needs_no_rules_and_no_url_when_no_password_is_chosen(iam_client, api_calls, user):
    iam_client.create_login_profile(UserName=USER, Password=WORKING)
    api_calls.clear()

    outcome = present(password="Other-Password-22", rules=never, sign_in_url=never)

    assert outcome.changed is False
    assert outcome.created == outcome.updated == []
    assert "sign_in_url" not in outcome.result
    assert api_calls.mutating == []
    assert stored_password() == WORKING


def test_update_password_always_replaces_the_password_and_says_so(iam_client, user):
    iam_client.create_login_profile(UserName=USER, Password=WORKING)

    outcome = present(update_password="always", password="New-Password-22")

    assert outcome.updated == ["console password (new)"]
    assert outcome.before["password"] == _login_profile.HIDDEN
    assert outcome.after["password"] == _login_profile.HIDDEN_NEW
    assert "password" not in outcome.result, "a supplied password is never returned"
    assert stored_password() == "New-Password-22"


def test_a_password_aws_refuses_leaves_the_saved_file_byte_for_byte(iam_client, emulator, tmp_path, user):
    iam_client.create_login_profile(UserName=USER, Password=WORKING)
    path = saved_file(tmp_path)
    before = path.read_bytes()
    emulator.answer("UpdateLoginProfile", refuse_password)

    with pytest.raises(IAMError) as failure:
        present(update_password="always", destination=_delivery.Destination(str(path), "login_profile"))

    assert failure.value.code == "PasswordPolicyViolation"
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["console.json"], "the staged password is discarded"
    assert stored_password() == WORKING


def test_a_password_aws_accepts_replaces_the_saved_file_only_after_the_call(iam_client, emulator, tmp_path, user):
    iam_client.create_login_profile(UserName=USER, Password=WORKING)
    path = saved_file(tmp_path)
    at_update: list[str] = []

    def check(params: dict[str, t.Any], response: dict[str, t.Any]) -> dict[str, t.Any]:
        at_update.append(json.loads(path.read_text())["password"])
        return response

    emulator.amend("UpdateLoginProfile", check)

    outcome = present(update_password="always", destination=_delivery.Destination(str(path), "login_profile"))

    assert at_update == [WORKING]
    assert json.loads(path.read_text())["password"] == stored_password() != WORKING
    assert outcome.delivered == [str(path)]
    assert outcome.result["secret_file"] == str(path)
    assert os.listdir(tmp_path) == ["console.json"]


def test_a_saved_file_that_cannot_be_replaced_fails_before_aws_is_asked(iam_client, api_calls, tmp_path, user):
    iam_client.create_login_profile(UserName=USER, Password=WORKING)
    path = saved_file(tmp_path, b"\xff\xfe not text")
    api_calls.clear()

    with pytest.raises(ModuleFailure, match=r"^secret_file: .* is not UTF-8 text"):
        present(update_password="always", destination=_delivery.Destination(str(path), "login_profile"))

    assert api_calls.mutating == []
    assert stored_password() == WORKING


def test_check_mode_replaces_nothing_on_disk(iam_client, api_calls, tmp_path, user):
    iam_client.create_login_profile(UserName=USER, Password=WORKING)
    path = saved_file(tmp_path)
    before = path.read_bytes()
    api_calls.clear()

    outcome = present(True, update_password="always", destination=_delivery.Destination(str(path), "login_profile"))

    assert outcome.changed is True
    assert outcome.updated == ["console password (new)"]
    assert outcome.delivered == []
    assert api_calls.mutating == []
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["console.json"]


def test_settings_changes_are_described(iam_client, emulator, user):
    iam_client.create_login_profile(UserName=USER, Password=WORKING)
    # moto wipes a profile on a passwordless UpdateLoginProfile; AWS changes only the fields sent.
    emulator.answer("UpdateLoginProfile", lambda params: {})

    outcome = present(password_reset_required=True, max_session_duration=3600, rules=never, sign_in_url=never)

    assert outcome.updated == ["console (password reset required: True)", "console (max session duration: 3600 s)"]
    assert outcome.after["password"] == _login_profile.HIDDEN
    assert outcome.changed is True


# -- absent, sign-in URL --------------------------------------------------------------------------


def test_ensure_absent_removes_the_console_password(iam_client, api_calls, user):
    iam_client.create_login_profile(UserName=USER, Password=WORKING)
    current = _login_profile.read(iam(), USER)
    api_calls.clear()

    predicted = _login_profile.ensure_absent(iam(True), check_mode=True, current=current)
    assert api_calls.mutating == []
    outcome = _login_profile.ensure_absent(iam(), check_mode=False, current=current)

    assert predicted == outcome
    assert outcome.removed == ["console password"]
    assert outcome.result == {"login_profile": {}}
    assert _login_profile.read(iam(), USER) is None
    assert _login_profile.ensure_absent(iam(), check_mode=False, current=None).changed is False


def test_account_sign_in_url_prefers_the_alias_then_the_arn_then_the_caller(iam_client):
    asked: list[str] = []

    def caller() -> str:
        asked.append("sts")
        return "210987654321"

    url = _login_profile.account_sign_in_url
    arn = f"arn:aws:iam::{ACCOUNT}:user/{USER}"
    assert url(iam(), partition="aws", user_arn=arn, caller_account=caller) == URL
    assert asked == []
    assert url(iam(), partition="aws-cn", user_arn=None, caller_account=caller) == (
        "https://210987654321.signin.amazonaws.cn/console/"
    )
    assert asked == ["sts"]
    iam_client.create_account_alias(AccountAlias="example-corp")
    assert url(iam(), partition="aws", user_arn=arn, caller_account=caller) == (
        "https://example-corp.signin.aws.amazon.com/console/"
    )
