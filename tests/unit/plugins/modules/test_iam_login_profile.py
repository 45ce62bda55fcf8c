"""iam_login_profile: the real main() against moto in-process.

moto 5.2 keeps a login profile as the user's password only: CreateLoginProfile ignores
PasswordResetRequired, neither call stores MaxSigninSessionDuration, UpdateLoginProfile without a
Password deletes the profile, and no password policy is enforced. Tests that need AWS's documented
behaviour use the ``aws_login_profiles`` fixture, which makes moto's three login-profile calls follow
the IAM API reference; the password policy checks under test are our own.
"""

from __future__ import annotations

import json
import os
import stat

import botocore.client
import botocore.exceptions
import pytest
from moto.core.responses import ActionResult, EmptyResult
from moto.iam.models import iam_backends
from moto.iam.responses import IamResponse

from ansible_collections.techsquawks.iam.plugins.module_utils import _login_profile, _passwords
from ansible_collections.techsquawks.iam.plugins.modules import iam_login_profile

ACCOUNT = "123456789012"
USER = "techsquawks-user"
SIGN_IN_URL = f"https://{ACCOUNT}.signin.aws.amazon.com/console/"
STRICT_POLICY = {
    "MinimumPasswordLength": 24,
    "RequireSymbols": True,
    "RequireNumbers": True,
    "RequireUppercaseCharacters": True,
    "RequireLowercaseCharacters": True,
}


# -- fixtures -----------------------------------------------------------------------------------------


@pytest.fixture
def user(iam_client) -> str:
    iam_client.create_user(UserName=USER)
    return USER


def _profile(user) -> dict:
    profile = {"UserName": user.name, "CreateDate": user.create_date}
    profile["PasswordResetRequired"] = bool(user.password_reset_required)
    duration = getattr(user, "max_signin_session_duration", None)
    if duration:
        profile["MaxSigninSessionDuration"] = duration
    return profile


@pytest.fixture
def aws_login_profiles(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make moto's login-profile calls behave as the IAM API reference documents.

    CreateLoginProfile honours PasswordResetRequired and MaxSigninSessionDuration; UpdateLoginProfile
    changes only the fields it is sent ("If you update only the sign-in session duration, the user's
    password and PasswordResetRequired setting do not change"); GetLoginProfile returns both fields.
    """

    def create(self):
        user = self.backend.create_login_profile(self._get_param("UserName"), self._get_param("Password"))
        user.password_reset_required = self._get_bool_param("PasswordResetRequired", False)
        user.max_signin_session_duration = self._get_int_param("MaxSigninSessionDuration")
        return ActionResult({"LoginProfile": _profile(user)})

    def get(self):
        return ActionResult({"LoginProfile": _profile(self.backend.get_login_profile(self._get_param("UserName")))})

    def update(self):
        user = self.backend.get_login_profile(self._get_param("UserName"))
        if self._get_param("Password") is not None:
            user.password = self._get_param("Password")
        if self._get_param("PasswordResetRequired") is not None:
            user.password_reset_required = self._get_bool_param("PasswordResetRequired")
        if self._get_param("MaxSigninSessionDuration") is not None:
            user.max_signin_session_duration = self._get_int_param("MaxSigninSessionDuration")
        if self._get_bool_param("ResetMaxSigninSessionDuration", False):
            user.max_signin_session_duration = None
        return EmptyResult()

    monkeypatch.setattr(IamResponse, "create_login_profile", create)
    monkeypatch.setattr(IamResponse, "get_login_profile", get)
    monkeypatch.setattr(IamResponse, "update_login_profile", update)


def stored_password(name: str = USER) -> str | None:
    """The password moto holds for the user (AWS never reveals it; this is the independent check)."""
    return iam_backends[ACCOUNT]["global"].get_user(name).password


def updates(sent) -> list[dict]:
    return [params for operation, params in sent if operation == "UpdateLoginProfile"]


def converge_new_profile(run_module, api_calls, args: dict) -> dict:
    """Check mode, apply, check again, apply again."""
    api_calls.clear()
    predicted = run_module(iam_login_profile, args, check_mode=True)
    assert predicted["changed"] is True
    assert "password" not in predicted
    assert api_calls.mutating == [], "check mode must not call a mutating API"
    applied = run_module(iam_login_profile, args)
    assert applied["changed"] is True
    assert {k: v for k, v in applied["login_profile"].items() if k != "create_date"} == {
        k: v for k, v in predicted["login_profile"].items() if k != "create_date"
    }
    api_calls.clear()
    checked = run_module(iam_login_profile, args, check_mode=True)
    assert checked["changed"] is False
    again = run_module(iam_login_profile, args)
    assert again["changed"] is False
    assert "password" not in again, "a password is returned only by the run that set it"
    assert again["login_profile"] == applied["login_profile"]
    assert api_calls.mutating == [], "a second identical run must not call a mutating API"
    return applied


# -- creation -----------------------------------------------------------------------------------------


def test_present_generates_a_password_meeting_the_default_policy_and_returns_it_once(
    run_module, iam_client, api_calls, user
):
    result = converge_new_profile(run_module, api_calls, {"user_name": user})

    password = result["password"]
    assert len(password) == 20
    assert _passwords.check_password(password, _passwords.DEFAULT_RULES) == []
    assert stored_password() == password
    assert result["login_profile"]["user_name"] == user
    assert result["login_profile"]["password_reset_required"] is False
    assert result["login_profile"]["create_date"]
    assert result["sign_in_url"] == SIGN_IN_URL
    assert iam_client.get_login_profile(UserName=user)["LoginProfile"]["UserName"] == user


def test_seed_profile_length_15_with_reset_required_survives_moto_ignoring_the_flag(
    run_module, iam_client, api_calls, sent, user
):
    """moto drops PasswordResetRequired on create; the module re-applies it with the same password."""
    args = {"user_name": user, "password_length": 15, "password_reset_required": True}

    result = converge_new_profile(run_module, api_calls, args)

    assert len(result["password"]) == 15
    assert iam_client.get_login_profile(UserName=user)["LoginProfile"]["PasswordResetRequired"] is True
    assert stored_password() == result["password"]
    assert result["login_profile"]["password_reset_required"] is True
    assert [(p["PasswordResetRequired"], p["Password"] == result["password"]) for p in updates(sent)] == [(True, True)]


def test_reset_flag_honoured_on_create_needs_no_second_call(run_module, iam_client, aws_login_profiles, sent, user):
    sent.clear()
    result = run_module(iam_login_profile, {"user_name": user, "password_reset_required": True})

    assert result["changed"] is True
    assert [operation for operation, _params in sent if operation.endswith("LoginProfile")] == [
        "GetLoginProfile",
        "CreateLoginProfile",
    ]
    assert iam_client.get_login_profile(UserName=user)["LoginProfile"]["PasswordResetRequired"] is True


def test_generated_password_follows_a_strict_account_policy(run_module, iam_client, user):
    iam_client.update_account_password_policy(**STRICT_POLICY)

    result = run_module(iam_login_profile, {"user_name": user, "password_length": 30})

    password = result["password"]
    assert len(password) == 30
    assert {"uppercase", "lowercase", "numbers", "symbols"} <= _passwords.classes_in(password)
    assert stored_password() == password


def test_password_length_below_the_account_minimum_fails_before_any_write(run_module, iam_client, api_calls, user):
    iam_client.update_account_password_policy(**STRICT_POLICY)
    api_calls.clear()

    result = run_module(iam_login_profile, {"user_name": user})

    assert result["failed"] is True
    assert result["msg"] == (
        "password_length 20 is below the minimum length 24 that the account password policy requires"
    )
    assert api_calls.mutating == []
    assert "GetAccountPasswordPolicy" in api_calls
    assert stored_password() is None


def test_supplied_password_violating_the_account_policy_fails_naming_the_rule(run_module, iam_client, api_calls, user):
    iam_client.update_account_password_policy(MinimumPasswordLength=12, RequireSymbols=True)
    api_calls.clear()

    result = run_module(iam_login_profile, {"user_name": user, "password": "LongEnoughButPlain1"})

    assert result["failed"] is True
    assert result["msg"].startswith("password: does not satisfy the password policy: ")
    assert "the account password policy requires a symbol" in result["msg"]
    assert "LongEnoughButPlain1" not in json.dumps(result)
    assert api_calls.mutating == []
    assert stored_password() is None


def test_supplied_password_violating_the_default_policy_fails_naming_three_of_four(run_module, api_calls, user):
    api_calls.clear()

    result = run_module(iam_login_profile, {"user_name": user, "password": "onlylower123"})

    assert result["failed"] is True
    assert "the AWS default password policy requires at least 3 of uppercase letters" in result["msg"]
    assert api_calls.mutating == []


def test_supplied_password_is_set_but_not_returned(run_module, api_calls, user):
    args = {"user_name": user, "password": "Correct-Horse-Battery-1"}

    result = converge_new_profile(run_module, api_calls, args)

    assert stored_password() == "Correct-Horse-Battery-1"
    assert "password" not in result
    assert "Correct-Horse-Battery-1" not in json.dumps(result)


# -- existing profiles --------------------------------------------------------------------------------


def test_existing_profile_with_on_create_keeps_the_password_even_when_one_is_given(
    run_module, iam_client, api_calls, user
):
    iam_client.create_login_profile(UserName=user, Password="Users-Own-Choice-9")
    api_calls.clear()

    result = run_module(iam_login_profile, {"user_name": user, "password": "Another-Password-1"})

    assert result["changed"] is False
    assert "password" not in result
    assert api_calls.mutating == []
    assert stored_password() == "Users-Own-Choice-9"


def test_update_password_always_sets_the_supplied_password_on_every_run(run_module, iam_client, sent, user):
    iam_client.create_login_profile(UserName=user, Password="Old-Password-1")
    args = {"user_name": user, "password": "New-Password-22", "update_password": "always"}

    predicted = run_module(iam_login_profile, args, check_mode=True)
    assert predicted["changed"] is True
    assert stored_password() == "Old-Password-1"

    for _run in range(2):
        sent.clear()
        result = run_module(iam_login_profile, args)
        assert result["changed"] is True
        assert stored_password() == "New-Password-22"
        assert [p["Password"] for p in updates(sent)] == ["New-Password-22"]


def test_update_password_always_without_password_rotates_to_a_new_generated_one(run_module, iam_client, user):
    iam_client.create_login_profile(UserName=user, Password="Old-Password-1")

    first = run_module(iam_login_profile, {"user_name": user, "update_password": "always"})
    second = run_module(iam_login_profile, {"user_name": user, "update_password": "always"})

    assert first["changed"] is second["changed"] is True
    assert first["password"] != second["password"]
    assert stored_password() == second["password"]


def test_update_password_always_keeps_the_reset_flag_explicit(run_module, iam_client, aws_login_profiles, sent, user):
    iam_client.create_login_profile(UserName=user, Password="Old-Password-1", PasswordResetRequired=True)

    run_module(iam_login_profile, {"user_name": user, "update_password": "always"})

    [update] = updates(sent)
    assert update["PasswordResetRequired"] is True
    assert iam_client.get_login_profile(UserName=user)["LoginProfile"]["PasswordResetRequired"] is True


def test_changing_only_reset_required_keeps_the_password(run_module, iam_client, aws_login_profiles, sent, user):
    iam_client.create_login_profile(UserName=user, Password="Users-Own-Choice-9")
    args = {"user_name": user, "password_reset_required": True}
    sent.clear()

    predicted = run_module(iam_login_profile, args, check_mode=True, diff=True)
    assert predicted["changed"] is True
    assert predicted["diff"]["after"]["password_reset_required"] is True
    assert [op for op, _params in sent if not op.startswith(("Get", "List"))] == []

    sent.clear()
    result = run_module(iam_login_profile, args)

    assert result["changed"] is True
    assert "password" not in result
    assert updates(sent) == [{"UserName": user, "PasswordResetRequired": True}]
    assert stored_password() == "Users-Own-Choice-9"
    assert iam_client.get_login_profile(UserName=user)["LoginProfile"]["PasswordResetRequired"] is True

    sent.clear()
    assert run_module(iam_login_profile, args)["changed"] is False
    assert updates(sent) == []


def test_endpoint_that_deletes_the_profile_on_a_passwordless_update_fails_clearly(run_module, iam_client, user):
    """Plain moto 5.2 deletes the profile on UpdateLoginProfile without Password; AWS does not."""
    iam_client.create_login_profile(UserName=user, Password="Users-Own-Choice-9")

    result = run_module(iam_login_profile, {"user_name": user, "password_reset_required": True})

    assert result["failed"] is True
    assert "the endpoint deleted the login profile of techsquawks-user" in result["msg"]
    assert "update_password=always" in result["msg"]


def test_max_session_duration_is_set_and_cleared_without_touching_the_password(
    run_module, iam_client, aws_login_profiles, api_calls, sent, user
):
    iam_client.create_login_profile(UserName=user, Password="Users-Own-Choice-9")
    args = {"user_name": user, "max_session_duration": 43200}

    result = run_module(iam_login_profile, args)
    assert result["changed"] is True
    assert result["login_profile"]["max_session_duration"] == 43200
    assert updates(sent) == [{"UserName": user, "MaxSigninSessionDuration": 43200}]
    assert iam_client.get_login_profile(UserName=user)["LoginProfile"]["MaxSigninSessionDuration"] == 43200
    assert stored_password() == "Users-Own-Choice-9"

    api_calls.clear()
    assert run_module(iam_login_profile, args)["changed"] is False
    assert api_calls.mutating == []

    sent.clear()
    cleared = run_module(iam_login_profile, {"user_name": user, "max_session_duration": 0})
    assert cleared["changed"] is True
    assert cleared["login_profile"]["max_session_duration"] is None
    assert updates(sent) == [{"UserName": user, "ResetMaxSigninSessionDuration": True}]
    assert "MaxSigninSessionDuration" not in iam_client.get_login_profile(UserName=user)["LoginProfile"]


def test_max_session_duration_is_sent_on_creation(run_module, iam_client, aws_login_profiles, sent, user):
    result = run_module(iam_login_profile, {"user_name": user, "max_session_duration": 3600})

    [create] = [params for operation, params in sent if operation == "CreateLoginProfile"]
    assert create["MaxSigninSessionDuration"] == 3600
    assert result["login_profile"]["max_session_duration"] == 3600
    assert iam_client.get_login_profile(UserName=user)["LoginProfile"]["MaxSigninSessionDuration"] == 3600


def test_max_session_duration_without_botocore_support_fails_before_any_aws_call(
    run_module, aws, api_calls, monkeypatch
):
    monkeypatch.setattr(iam_login_profile, "supports_max_session_duration", lambda _model: False)

    result = run_module(iam_login_profile, {"user_name": USER, "max_session_duration": 3600})

    assert result["failed"] is True
    assert "max_session_duration: the installed botocore does not know MaxSigninSessionDuration" in result["msg"]
    assert api_calls == []


def test_installed_botocore_supports_max_session_duration(iam_client):
    assert iam_login_profile.supports_max_session_duration(iam_client.meta.service_model) is True


# -- absent -------------------------------------------------------------------------------------------


def test_absent_removes_only_the_login_profile(run_module, iam_client, api_calls, user):
    iam_client.create_login_profile(UserName=user, Password="Users-Own-Choice-9")
    key_id = iam_client.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    api_calls.clear()

    predicted = run_module(iam_login_profile, {"user_name": user, "state": "absent"}, check_mode=True, diff=True)
    assert predicted["changed"] is True
    assert predicted["diff"]["after"] == {}
    assert api_calls.mutating == []
    assert stored_password() == "Users-Own-Choice-9"

    result = run_module(iam_login_profile, {"user_name": user, "state": "absent"})
    assert result["changed"] is True
    assert result["login_profile"] == {}
    with pytest.raises(iam_client.exceptions.NoSuchEntityException):
        iam_client.get_login_profile(UserName=user)
    assert iam_client.get_user(UserName=user)["User"]["UserName"] == user
    assert [key["AccessKeyId"] for key in iam_client.list_access_keys(UserName=user)["AccessKeyMetadata"]] == [key_id]

    api_calls.clear()
    assert run_module(iam_login_profile, {"user_name": user, "state": "absent"})["changed"] is False
    assert api_calls.mutating == []


# -- users, sign-in URL, diff ---------------------------------------------------------------------------


def test_missing_user_fails_naming_user_name(run_module, aws, api_calls):
    result = run_module(iam_login_profile, {"user_name": "nobody"})

    assert result["failed"] is True
    assert result["msg"].startswith("user_name: user nobody does not exist")
    assert api_calls.mutating == []


def test_missing_user_in_check_mode_predicts_creation_with_a_warning(run_module, aws, api_calls):
    result = run_module(iam_login_profile, {"user_name": "created-by-an-earlier-task"}, check_mode=True)

    assert result["changed"] is True
    assert result["login_profile"]["user_name"] == "created-by-an-earlier-task"
    assert "user created-by-an-earlier-task does not exist" in json.dumps(result["warnings"])
    assert api_calls.mutating == []


def test_sign_in_url_uses_the_account_alias_when_there_is_one(run_module, iam_client, user):
    iam_client.create_account_alias(AccountAlias="example-corp")

    result = run_module(iam_login_profile, {"user_name": user})

    assert result["sign_in_url"] == "https://example-corp.signin.aws.amazon.com/console/"


@pytest.mark.parametrize(
    ("partition", "url"),
    [
        ("aws", "https://123456789012.signin.aws.amazon.com/console/"),
        ("aws-us-gov", "https://123456789012.signin.amazonaws-us-gov.com/console/"),
        ("aws-cn", "https://123456789012.signin.amazonaws.cn/console/"),
    ],
)
def test_sign_in_url_follows_the_partition(partition, url):
    assert _login_profile.sign_in_url(ACCOUNT, partition) == url


def test_diff_marks_a_new_password_without_showing_it(run_module, user):
    result = run_module(iam_login_profile, {"user_name": user, "password_reset_required": True}, diff=True)

    assert result["diff"]["before"] == {}
    assert result["diff"]["after"]["password"] == "(new password, not shown)"
    assert result["diff"]["after"]["password_reset_required"] is True
    assert result["password"] not in json.dumps(result["diff"])

    rotated = run_module(iam_login_profile, {"user_name": user, "update_password": "always"}, diff=True)
    assert rotated["diff"]["before"]["password"] == "(not shown)"
    assert rotated["diff"]["after"]["password"] == "(new password, not shown)"
    assert rotated["password"] not in json.dumps(rotated["diff"])


# -- secret file delivery -------------------------------------------------------------------------------


def test_secret_file_receives_json_with_mode_0600_and_result_has_no_password(run_module, tmp_path, user):
    path = tmp_path / "creds" / "console.json"
    args = {"user_name": user, "secret_file": str(path)}

    predicted = run_module(iam_login_profile, args, check_mode=True)
    assert not path.exists()
    assert "secret_file" not in predicted

    result = run_module(iam_login_profile, args)

    assert "password" not in result
    assert result["secret_file"] == str(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    content = json.loads(path.read_text())
    assert content == {"user_name": user, "password": stored_password(), "sign_in_url": SIGN_IN_URL}
    assert content["password"] not in json.dumps(result)

    before = path.read_text()
    again = run_module(iam_login_profile, args)
    assert again["changed"] is False
    assert "secret_file" not in again
    assert path.read_text() == before


def test_secret_file_text_format_holds_the_password_alone(run_module, tmp_path, user):
    path = tmp_path / "console.txt"

    result = run_module(iam_login_profile, {"user_name": user, "secret_file": str(path), "secret_format": "text"})

    assert result["changed"] is True
    assert path.read_text() == stored_password() + "\n"


def test_secret_file_of_a_new_profile_is_written_once_aws_created_it(
    run_module, iam_client, tmp_path, monkeypatch, user
):
    """A profile AWS refuses leaves no file with a password nobody can use."""
    path = tmp_path / "console.json"

    seen_at_create: list[bool] = []
    original = IamResponse.create_login_profile

    def create_after_checking(self):
        seen_at_create.append(path.exists())
        return original(self)

    monkeypatch.setattr(IamResponse, "create_login_profile", create_after_checking)

    result = run_module(iam_login_profile, {"user_name": user, "secret_file": str(path)})

    assert result["changed"] is True
    assert seen_at_create == [False]
    assert json.loads(path.read_text())["password"] == stored_password()


def test_secret_file_that_cannot_be_written_removes_the_new_profile_again(
    run_module, iam_client, api_calls, tmp_path, user
):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    path = blocker / "console.json"
    api_calls.clear()

    result = run_module(iam_login_profile, {"user_name": user, "secret_file": str(path)})

    assert result["failed"] is True
    assert result["msg"].startswith(f"secret_file: Failed to write secret to '{path}'")
    assert f"The login profile of {user} was removed again" in result["msg"]
    assert api_calls.mutating == ["CreateLoginProfile", "DeleteLoginProfile"]
    with pytest.raises(iam_client.exceptions.NoSuchEntityException):
        iam_client.get_login_profile(UserName=user)


def refuse_password(params: dict) -> dict:
    error = {"Error": {"Code": "PasswordPolicyViolation", "Message": "Password does not conform to the policy."}}
    raise botocore.exceptions.ClientError(error, "UpdateLoginProfile")


@pytest.mark.parametrize("secret_format", ["json", "text"])
def test_password_aws_refuses_leaves_the_saved_working_password_byte_for_byte(
    run_module, iam_client, emulator, tmp_path, user, secret_format
):
    iam_client.create_login_profile(UserName=user, Password="Working-Password-1")
    path = tmp_path / "console"
    saved = b'{"password": "Working-Password-1", "note": "\xc3\xa9"}\n'
    path.write_bytes(saved)
    path.chmod(0o600)
    emulator.answer("UpdateLoginProfile", refuse_password)
    args = {"user_name": user, "update_password": "always", "secret_file": str(path), "secret_format": secret_format}

    result = run_module(iam_login_profile, args)

    assert result["failed"] is True
    assert result["error_code"] == "PasswordPolicyViolation"
    assert result["msg"].startswith(f"Failed to update login profile of user {user}: ")
    assert [operation for operation, _params in emulator.calls if operation == "UpdateLoginProfile"] == [
        "UpdateLoginProfile"
    ]
    assert path.read_bytes() == saved
    assert sorted(os.listdir(tmp_path)) == ["console"], "the staged password must be discarded"
    assert stored_password() == "Working-Password-1"


def test_password_aws_accepts_replaces_the_saved_one(run_module, iam_client, emulator, tmp_path, user):
    iam_client.create_login_profile(UserName=user, Password="Working-Password-1")
    path = tmp_path / "console.json"
    path.write_text('{"password": "Working-Password-1"}\n')
    path.chmod(0o600)
    on_disk_at_update: list[str] = []

    def check_file_then_update(params: dict, response: dict) -> dict:
        on_disk_at_update.append(json.loads(path.read_text())["password"])
        return response

    emulator.amend("UpdateLoginProfile", check_file_then_update)

    result = run_module(iam_login_profile, {"user_name": user, "update_password": "always", "secret_file": str(path)})

    assert result["changed"] is True
    assert result["secret_file"] == str(path)
    assert on_disk_at_update == ["Working-Password-1"], "the new password reaches the file only once AWS took it"
    assert json.loads(path.read_text())["password"] == stored_password() != "Working-Password-1"
    assert sorted(os.listdir(tmp_path)) == ["console.json"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


# -- input validation before any AWS call ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"user_name": "bad name"}, "user_name 'bad name' may contain only ASCII letters"),
        ({"user_name": "u" * 65}, "user_name '" + "u" * 65 + "' is 65 characters long"),
        ({"user_name": USER, "password": "x" * 129}, "password is 129 characters long; IAM allows at most 128"),
        ({"user_name": USER, "password": "Macron\u0101-1A"}, "password may contain only printable characters"),
        ({"user_name": USER, "password_length": 5}, "password_length must be between 6"),
        ({"user_name": USER, "password_length": 129}, "password_length must be between 6"),
        ({"user_name": USER, "max_session_duration": 3599}, "max_session_duration must be 0 (unset) or between 3600"),
        ({"user_name": USER, "max_session_duration": 7776001}, "max_session_duration must be 0 (unset) or between"),
        ({"user_name": USER, "secret_file": "relative/console.json"}, "secret_file: 'relative/console.json' must be"),
    ],
)
def test_invalid_input_fails_naming_the_option_before_any_aws_call(run_module, aws, api_calls, args, message):
    result = run_module(iam_login_profile, args)

    assert result["failed"] is True
    assert message in result["msg"]
    assert api_calls == []
    if "password" in args:
        assert args["password"] not in result["msg"]


def test_world_readable_secret_file_is_refused_before_any_aws_call(run_module, aws, api_calls, tmp_path):
    path = tmp_path / "console.json"
    path.write_text("{}")
    path.chmod(0o644)

    result = run_module(iam_login_profile, {"user_name": USER, "secret_file": str(path)})

    assert result["failed"] is True
    assert "secret_file:" in result["msg"]
    assert "readable by others" in result["msg"]
    assert api_calls == []


# -- IAM consistency ----------------------------------------------------------------------------------


def test_entity_temporarily_unmodifiable_right_after_creation_is_retried(run_module, iam_client, monkeypatch, user):
    """AWS answers EntityTemporarilyUnmodifiable while a login profile is being created."""
    iam_client.create_login_profile(UserName=user, Password="Old-Password-1")
    inner = botocore.client.BaseClient._make_api_call
    refused: list[str] = []

    def busy_once(self, operation_name, api_params):
        if operation_name == "UpdateLoginProfile" and not refused:
            refused.append(operation_name)
            error = {"Error": {"Code": "EntityTemporarilyUnmodifiable", "Message": "Login Profile is being created"}}
            raise botocore.exceptions.ClientError(error, operation_name)
        return inner(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", busy_once)

    result = run_module(iam_login_profile, {"user_name": user, "update_password": "always"})

    assert result["changed"] is True
    assert refused == ["UpdateLoginProfile"]
    assert stored_password() == result["password"]
