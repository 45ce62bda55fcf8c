"""iam_mfa_device: the real main() against moto, with AWS's MFA rules that moto does not enforce added back."""

from __future__ import annotations

import json
import os
import stat
import time
import typing as t
import urllib.parse

import botocore.client
import pytest
from botocore.exceptions import ClientError

from ansible_collections.techsquawks.iam.plugins.module_utils import _totp
from ansible_collections.techsquawks.iam.plugins.modules import iam_mfa_device

ACCOUNT = "123456789012"
USER = "techsquawks-user"
SERIAL = f"arn:aws:iam::{ACCOUNT}:mfa/{USER}"
MUTATING_MFA_CALLS = {"CreateVirtualMFADevice", "EnableMFADevice", "DeactivateMFADevice", "DeleteVirtualMFADevice"}


class AwsMfaRules:
    """A spy on every botocore call that records parameters and adds what AWS enforces and moto does not.

    - EnableMFADevice: the two codes must be valid TOTP codes of the device's seed for consecutive recent
      time steps, else InvalidAuthenticationCode (moto accepts any six digits).
    - DeleteVirtualMFADevice: refused with DeleteConflict while the device is enabled for a user (moto allows it).
    Failures can also be injected per operation with ``fail``.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, t.Any]]] = []
        self.seeds: dict[str, str] = {}
        self.assigned: set[str] = set()
        self.failures: dict[str, tuple[str, str]] = {}

    def params(self, operation: str) -> list[dict[str, t.Any]]:
        return [params for name, params in self.calls if name == operation]

    def fail(self, operation: str, code: str, message: str) -> None:
        self.failures[operation] = (code, message)

    def before(self, operation: str, params: dict[str, t.Any]) -> None:
        if operation in self.failures:
            code, message = self.failures[operation]
            raise ClientError({"Error": {"Code": code, "Message": message}}, operation)
        if operation == "EnableMFADevice" and params["SerialNumber"] in self.seeds:
            seed, now_step = self.seeds[params["SerialNumber"]], _totp.time_step(time.time())
            codes = (params["AuthenticationCode1"], params["AuthenticationCode2"])
            if not any(codes == (code_at(seed, step - 1), code_at(seed, step)) for step in (now_step - 1, now_step)):
                raise ClientError(
                    {
                        "Error": {
                            "Code": "InvalidAuthenticationCode",
                            "Message": "Authentication code for device is not valid.",
                        }
                    },
                    operation,
                )
        if operation == "DeleteVirtualMFADevice" and params["SerialNumber"] in self.assigned:
            raise ClientError(
                {"Error": {"Code": "DeleteConflict", "Message": "MFA Device is in use and cannot be deleted."}},
                operation,
            )

    def after(self, operation: str, params: dict[str, t.Any], response: dict[str, t.Any]) -> None:
        if operation == "CreateVirtualMFADevice":
            device = response["VirtualMFADevice"]
            self.seeds[device["SerialNumber"]] = device["Base32StringSeed"].decode("ascii")
        elif operation == "EnableMFADevice":
            self.assigned.add(params["SerialNumber"])
        elif operation == "DeactivateMFADevice":
            self.assigned.discard(params["SerialNumber"])


def code_at(seed: str, step: int) -> str:
    return _totp.code(seed, step * _totp.DEFAULT_STEP)


@pytest.fixture(autouse=True)
def aws_rules(monkeypatch: pytest.MonkeyPatch) -> AwsMfaRules:
    """Autouse, so it wraps botocore before the `api_calls` spy does: api_calls still records refused calls."""
    rules = AwsMfaRules()
    original = botocore.client.BaseClient._make_api_call

    def call(self: t.Any, operation: str, params: dict[str, t.Any]) -> dict[str, t.Any]:
        rules.calls.append((operation, dict(params)))
        rules.before(operation, params)
        response = original(self, operation, params)
        rules.after(operation, params, response)
        return response

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", call)
    return rules


@pytest.fixture
def user(iam_client: t.Any) -> dict[str, t.Any]:
    return iam_client.create_user(UserName=USER, Path="/example/path/1/")["User"]


def run(run_module: t.Any, check_mode: bool = False, diff: bool = False, **args: t.Any) -> dict[str, t.Any]:
    return run_module(iam_mfa_device, {"user_name": USER, **args}, check_mode=check_mode, diff=diff)


def seed_of(uri: str) -> str:
    return urllib.parse.parse_qs(urllib.parse.urlsplit(uri).query)["secret"][0]


def enabled_serials(iam_client: t.Any, user_name: str = USER) -> list[str]:
    return [device["SerialNumber"] for device in iam_client.list_mfa_devices(UserName=user_name)["MFADevices"]]


def virtual_serials(iam_client: t.Any, status: str = "Any") -> list[str]:
    devices = iam_client.list_virtual_mfa_devices(AssignmentStatus=status)["VirtualMFADevices"]
    return [device["SerialNumber"] for device in devices]


def enroll_directly(iam_client: t.Any, name: str, user_name: str = USER) -> str:
    """Arrange an enabled virtual device the way a person would, with valid codes."""
    device = iam_client.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]
    code1, code2 = _totp.consecutive_codes(device["Base32StringSeed"].decode(), time.time())
    iam_client.enable_mfa_device(
        UserName=user_name, SerialNumber=device["SerialNumber"], AuthenticationCode1=code1, AuthenticationCode2=code2
    )
    return device["SerialNumber"]


# -- state=present ---------------------------------------------------------------------------------


def test_present_in_check_mode_predicts_serial_without_mutating_call(run_module, iam_client, user, api_calls):
    result = run(run_module, check_mode=True)

    assert result["changed"] is True
    assert result["serial_number"] == SERIAL
    assert result["mfa_device"] == {"serial_number": SERIAL, "user_name": USER, "enable_date": None}
    assert "otpauth_uri" not in result
    assert api_calls.mutating == []
    assert virtual_serials(iam_client) == []


def test_present_creates_device_and_enables_it_with_consecutive_totp_codes(
    run_module, iam_client, user, api_calls, aws_rules
):
    before = time.time()
    result = run(run_module)
    after = time.time()

    assert result["changed"] is True
    assert result["serial_number"] == SERIAL
    assert result["mfa_device"]["user_name"] == USER
    assert result["mfa_device"]["enable_date"]
    assert enabled_serials(iam_client) == [SERIAL]
    assert api_calls.mutating == ["CreateVirtualMFADevice", "EnableMFADevice"]
    assert aws_rules.params("CreateVirtualMFADevice") == [{"VirtualMFADeviceName": USER, "Path": "/"}]
    # The URI carries the very seed AWS generated, and the codes sent are that seed's codes for the previous
    # and the current time step of the run (checked independently of the module's own helper).
    seed = aws_rules.seeds[SERIAL]
    assert result["otpauth_uri"] == f"otpauth://totp/AWS:{USER}?secret={seed}&issuer=AWS"
    (enable,) = aws_rules.params("EnableMFADevice")
    assert enable["UserName"] == USER
    assert enable["SerialNumber"] == SERIAL
    steps = range(_totp.time_step(before), _totp.time_step(after) + 1)
    assert any(
        (enable["AuthenticationCode1"], enable["AuthenticationCode2"]) == (code_at(seed, s - 1), code_at(seed, s))
        for s in steps
    )


def test_present_again_is_unchanged_returns_no_secret_and_makes_no_mutating_call(
    run_module, iam_client, user, api_calls
):
    first = run(run_module)
    api_calls.clear()

    check = run(run_module, check_mode=True)
    again = run(run_module)

    for result in (check, again):
        assert result["changed"] is False
        assert result["serial_number"] == SERIAL
        assert "otpauth_uri" not in result
        assert "secret_file" not in result
    assert again["mfa_device"]["enable_date"] is not None
    assert api_calls.mutating == []
    assert seed_of(first["otpauth_uri"]) not in json.dumps(again)
    assert enabled_serials(iam_client) == [SERIAL]


def test_present_leaves_a_user_with_another_mfa_device_alone(run_module, iam_client, user, api_calls):
    # moto lets any serial be "enabled", which stands in for a hardware token here.
    iam_client.enable_mfa_device(
        UserName=USER, SerialNumber="GAHT12345678", AuthenticationCode1="123456", AuthenticationCode2="654321"
    )
    api_calls.clear()

    result = run(run_module)

    assert result["changed"] is False
    assert result["serial_number"] == "GAHT12345678"
    assert "otpauth_uri" not in result
    assert api_calls.mutating == []
    assert virtual_serials(iam_client) == []


def test_present_prefers_the_device_named_name_among_several(run_module, iam_client, user):
    iam_client.enable_mfa_device(
        UserName=USER, SerialNumber="GAHT12345678", AuthenticationCode1="123456", AuthenticationCode2="654321"
    )
    serial = enroll_directly(iam_client, "laptop")

    assert run(run_module, name="laptop")["serial_number"] == serial
    assert run(run_module)["serial_number"] == serial  # no device of that name: the virtual one wins


def test_present_with_name_and_issuer_uses_them_in_serial_and_uri(run_module, iam_client, user, aws_rules):
    result = run(run_module, name="jane-phone", issuer="Techsquawks Prod")

    serial = f"arn:aws:iam::{ACCOUNT}:mfa/jane-phone"
    assert result["serial_number"] == serial
    assert enabled_serials(iam_client) == [serial]
    seed = aws_rules.seeds[serial]
    assert result["otpauth_uri"] == (
        f"otpauth://totp/Techsquawks%20Prod:{USER}?secret={seed}&issuer=Techsquawks%20Prod"
    )


def test_enable_rejected_by_aws_deletes_the_new_device_and_fails_with_the_aws_error(
    run_module, iam_client, user, api_calls, monkeypatch
):
    # A clock an hour off: AWS rejects the codes (our rules shim checks them as AWS does).
    real = _totp.consecutive_codes
    monkeypatch.setattr(_totp, "consecutive_codes", lambda seed, now: real(seed, now - 3600))

    result = run(run_module)

    assert result["failed"] is True
    assert result["error_code"] == "InvalidAuthenticationCode"
    assert "Authentication code for device is not valid" in result["msg"]
    assert "clock" in result["msg"]
    assert api_calls.mutating == ["CreateVirtualMFADevice", "EnableMFADevice", "DeleteVirtualMFADevice"]
    assert virtual_serials(iam_client) == []
    assert enabled_serials(iam_client) == []


def test_enable_failure_whose_cleanup_also_fails_reports_both(run_module, iam_client, user, aws_rules):
    aws_rules.fail("EnableMFADevice", "LimitExceeded", "Too many MFA devices.")
    aws_rules.fail("DeleteVirtualMFADevice", "ServiceFailure", "Try again later.")

    result = run(run_module)

    assert result["failed"] is True
    assert result["error_code"] == "LimitExceeded"
    assert "Too many MFA devices." in result["msg"]
    assert f"the virtual MFA device {SERIAL} could not be removed afterwards" in result["msg"]
    assert "Try again later." in result["msg"]
    assert aws_rules.seeds[SERIAL] not in result["msg"]


def test_unassigned_device_from_an_earlier_run_is_deleted_and_replaced(
    run_module, iam_client, user, api_calls, aws_rules
):
    iam_client.create_virtual_mfa_device(VirtualMFADeviceName=USER)
    old_seed = aws_rules.seeds[SERIAL]
    api_calls.clear()

    check = run(run_module, check_mode=True)
    assert check["changed"] is True
    assert f"The unassigned virtual MFA device {SERIAL}" in json.dumps(check["warnings"])
    assert api_calls.mutating == []

    result = run(run_module)

    assert result["changed"] is True
    assert api_calls.mutating == ["DeleteVirtualMFADevice", "CreateVirtualMFADevice", "EnableMFADevice"]
    assert seed_of(result["otpauth_uri"]) == aws_rules.seeds[SERIAL] != old_seed
    assert enabled_serials(iam_client) == [SERIAL]


def test_device_name_assigned_to_another_user_fails_naming_the_name_option(run_module, iam_client, user):
    iam_client.create_user(UserName="other")
    enroll_directly(iam_client, USER, user_name="other")

    result = run(run_module)

    assert result["failed"] is True
    assert result["msg"].startswith(f"name: a virtual MFA device named {USER} already exists")
    assert enabled_serials(iam_client) == []
    assert enabled_serials(iam_client, "other") == [SERIAL]


def test_missing_user_fails_naming_user_name(run_module, iam_client, api_calls):
    result = run(run_module)

    assert result["failed"] is True
    assert result["msg"].startswith(f"user_name: IAM user {USER} does not exist")
    assert api_calls.mutating == []


def test_missing_user_in_check_mode_predicts_serial_from_the_account(run_module, iam_client, api_calls):
    # The user may be created by an earlier task of the same play; under --check it does not exist yet.
    result = run(run_module, check_mode=True, diff=True)

    assert result["changed"] is True
    assert result["serial_number"] == SERIAL
    assert result["diff"] == {"before": {"serial_numbers": []}, "after": {"serial_numbers": [SERIAL]}}
    assert api_calls == ["GetUser", "GetCallerIdentity"]


# -- secret delivery -------------------------------------------------------------------------------


def test_secret_file_json_gets_uri_and_seed_and_the_result_gets_neither(
    run_module, iam_client, user, tmp_path, aws_rules
):
    path = tmp_path / "credentials" / USER / "mfa.json"

    result = run(run_module, secret_file=str(path), issuer="Techsquawks")

    seed = aws_rules.seeds[SERIAL]
    assert result["changed"] is True
    assert result["secret_file"] == str(path)
    assert "otpauth_uri" not in result
    assert seed not in json.dumps(result)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert json.loads(path.read_text()) == {
        "base32_seed": seed,
        "otpauth_uri": f"otpauth://totp/Techsquawks:{USER}?secret={seed}&issuer=Techsquawks",
        "serial_number": SERIAL,
        "user_name": USER,
    }


def test_secret_file_text_holds_only_the_uri(run_module, iam_client, user, tmp_path, aws_rules):
    path = tmp_path / "mfa.uri"

    run(run_module, secret_file=str(path), secret_format="text")

    seed = aws_rules.seeds[SERIAL]
    assert path.read_text() == f"otpauth://totp/AWS:{USER}?secret={seed}&issuer=AWS\n"


def test_secret_file_is_not_rewritten_when_the_device_exists(run_module, iam_client, user, tmp_path, api_calls):
    path = tmp_path / "mfa.json"
    run(run_module, secret_file=str(path))
    content = path.read_text()
    api_calls.clear()

    result = run(run_module, secret_file=str(path))

    assert result["changed"] is False
    assert "secret_file" not in result
    assert path.read_text() == content
    assert api_calls.mutating == []


def test_secret_file_write_failure_removes_the_new_device_again(run_module, iam_client, user, tmp_path, api_calls):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")  # passes the early check, but its "parent directory" cannot be created

    result = run(run_module, secret_file=str(blocker / "mfa.json"))

    assert result["failed"] is True
    assert result["msg"].startswith("secret_file: Failed to write secret")
    assert "removed again" in result["msg"]
    assert api_calls.mutating == [
        "CreateVirtualMFADevice",
        "EnableMFADevice",
        "DeactivateMFADevice",
        "DeleteVirtualMFADevice",
    ]
    assert virtual_serials(iam_client) == []
    assert enabled_serials(iam_client) == []


# -- diff ------------------------------------------------------------------------------------------


def test_diff_lists_serial_numbers_before_and_after_and_never_the_seed(run_module, iam_client, user, aws_rules):
    created = run(run_module, diff=True)
    removed = run(run_module, diff=True, state="absent")

    assert created["diff"] == {"before": {"serial_numbers": []}, "after": {"serial_numbers": [SERIAL]}}
    assert removed["diff"] == {"before": {"serial_numbers": [SERIAL]}, "after": {"serial_numbers": []}}
    assert aws_rules.seeds[SERIAL] not in json.dumps(created["diff"])


# -- state=absent ----------------------------------------------------------------------------------


def test_absent_deactivates_the_device_before_deleting_it(run_module, iam_client, user, api_calls, aws_rules):
    enroll_directly(iam_client, USER)
    api_calls.clear()

    check = run(run_module, check_mode=True, state="absent")
    assert check["changed"] is True
    assert check["serial_number"] == SERIAL
    assert api_calls.mutating == []
    assert enabled_serials(iam_client) == [SERIAL]

    result = run(run_module, state="absent")

    assert result == {**result, "changed": True, "serial_number": SERIAL, "mfa_device": {}}
    assert api_calls.mutating == ["DeactivateMFADevice", "DeleteVirtualMFADevice"]
    assert aws_rules.params("DeactivateMFADevice") == [{"UserName": USER, "SerialNumber": SERIAL}]
    assert enabled_serials(iam_client) == []
    assert virtual_serials(iam_client) == []


def test_absent_without_the_device_is_unchanged_and_makes_no_mutating_call(run_module, iam_client, user, api_calls):
    first_check = run(run_module, check_mode=True, state="absent")
    result = run(run_module, state="absent")

    for outcome in (first_check, result):
        assert outcome["changed"] is False
        assert outcome["serial_number"] is None
    assert api_calls.mutating == []


def test_absent_deletes_an_unassigned_leftover_device(run_module, iam_client, user, api_calls):
    iam_client.create_virtual_mfa_device(VirtualMFADeviceName=USER)
    api_calls.clear()

    result = run(run_module, state="absent")

    assert result["changed"] is True
    assert api_calls.mutating == ["DeleteVirtualMFADevice"]
    assert virtual_serials(iam_client) == []


def test_absent_leaves_other_users_devices_and_other_names_alone(run_module, iam_client, user, api_calls):
    iam_client.create_user(UserName="other")
    others = enroll_directly(iam_client, USER, user_name="other")  # same device name, another user
    own_other = enroll_directly(iam_client, "laptop")
    api_calls.clear()

    result = run(run_module, state="absent")

    assert result["changed"] is False
    assert api_calls.mutating == []
    assert enabled_serials(iam_client, "other") == [others]
    assert enabled_serials(iam_client) == [own_other]


def test_absent_for_a_missing_user_is_unchanged(run_module, iam_client, api_calls):
    result = run(run_module, state="absent")

    assert result["changed"] is False
    assert api_calls == ["GetUser"]


# -- input validation ------------------------------------------------------------------------------


def test_invalid_input_fails_naming_the_option_before_any_aws_call(run_module, iam_client, api_calls, tmp_path):
    loose = tmp_path / "loose.json"
    loose.write_text("{}")
    loose.chmod(0o644)
    cases = {
        "user_name": {"user_name": "jane doe"},
        "name": {"name": "n" * 227},
        "issuer": {"issuer": "Acme:Prod"},
        "secret_file": {"secret_file": "relative/mfa.json"},
    }
    for option, args in cases.items():
        result = run(run_module, **args)
        assert result["failed"] is True, option
        assert result["invalid_options"][0].startswith(option), result["msg"]
    result = run(run_module, secret_file=str(loose))
    assert "readable by others" in result["msg"]
    assert result["msg"].startswith("Invalid input: secret_file")
    assert run(run_module, issuer="")["invalid_options"] == ["issuer must not be empty"]
    assert api_calls == []


def test_longest_device_name_is_accepted(run_module, iam_client, user):
    result = run(run_module, name="n" * 226, check_mode=True)

    assert result["changed"] is True
    assert result["serial_number"].endswith(":mfa/" + "n" * 226)
