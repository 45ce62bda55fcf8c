"""_mfa: the MFA device functions the module and the roster engine share, against moto in-process."""

from __future__ import annotations

import json
import typing as t
import urllib.parse

import boto3
import pytest

from ansible_collections.techsquawks.iam.plugins.module_utils import _delivery, _mfa
from ansible_collections.techsquawks.iam.plugins.module_utils._iam import IAM
from ansible_collections.techsquawks.iam.plugins.module_utils._module import ModuleFailure

USER = "techsquawks-user"
SERIAL = f"arn:aws:iam::123456789012:mfa/{USER}"
HARDWARE = "GAHT12345678"


def iam(check_mode: bool = False) -> IAM:
    return IAM(boto3.client("iam", region_name="us-east-1"), check_mode=check_mode)


@pytest.fixture
def user_arn(iam_client: t.Any, api_calls: t.Any) -> str:
    arn = iam_client.create_user(UserName=USER)["User"]["Arn"]
    api_calls.clear()
    return arn


def present(check_mode: bool, user_arn: str, **kwargs: t.Any):
    args: dict[str, t.Any] = {"name": None, "issuer": "AWS", "destination": None, **kwargs}
    verbs = iam(check_mode)
    devices = _mfa.read(verbs, USER)
    return _mfa.ensure_present(verbs, check_mode=check_mode, user_name=USER, user_arn=user_arn, devices=devices, **args)


def absent(check_mode: bool, user_arn: str, name: str | None = None):
    verbs = iam(check_mode)
    devices = _mfa.read(verbs, USER)
    return _mfa.ensure_absent(
        verbs, check_mode=check_mode, user_name=USER, user_arn=user_arn, name=name, devices=devices
    )


def none(check_mode: bool):
    verbs = iam(check_mode)
    return _mfa.ensure_none(verbs, check_mode=check_mode, user_name=USER, devices=_mfa.read(verbs, USER))


def enabled_serials(iam_client: t.Any) -> list[str]:
    return [device["SerialNumber"] for device in iam_client.list_mfa_devices(UserName=USER)["MFADevices"]]


def virtual_serials(iam_client: t.Any) -> list[str]:
    devices = iam_client.list_virtual_mfa_devices(AssignmentStatus="Any")["VirtualMFADevices"]
    return [device["SerialNumber"] for device in devices]


def enable_hardware(iam_client: t.Any) -> None:
    # moto lets any serial be "enabled", which stands in for a hardware token.
    iam_client.enable_mfa_device(
        UserName=USER, SerialNumber=HARDWARE, AuthenticationCode1="123456", AuthenticationCode2="654321"
    )


# -- ensure_present --------------------------------------------------------------------------------


def test_read_of_a_missing_user_is_empty(aws):
    assert _mfa.read(iam(), "nobody") == []


def test_present_in_check_mode_predicts_the_device_without_mutating_call(iam_client, user_arn, api_calls):
    outcome = present(True, user_arn)

    assert outcome.changed is True
    assert (outcome.before, outcome.after) == ({"serial_numbers": []}, {"serial_numbers": [SERIAL]})
    assert outcome.created == ["MFA device"]
    assert outcome.result == {
        "serial_number": SERIAL,
        "mfa_device": {"serial_number": SERIAL, "user_name": USER, "enable_date": None},
    }
    assert api_calls.mutating == []
    assert virtual_serials(iam_client) == []


def test_present_enrolls_then_second_call_is_converged_without_mutating_call(iam_client, user_arn, api_calls):
    first = present(False, user_arn, issuer="Techsquawks")

    assert first.changed is True
    assert first.created == ["MFA device"]
    assert first.delivered == []
    assert first.result["serial_number"] == SERIAL
    assert first.result["mfa_device"]["enable_date"]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(first.result["otpauth_uri"]).query)
    assert query["issuer"] == ["Techsquawks"]
    assert api_calls.mutating == ["CreateVirtualMFADevice", "EnableMFADevice"]
    assert enabled_serials(iam_client) == [SERIAL]

    api_calls.clear()
    for check_mode in (True, False):
        again = present(check_mode, user_arn, issuer="Techsquawks")
        assert again.changed is False
        assert again.created == again.warnings == []
        assert set(again.result) == {"serial_number", "mfa_device"}
    assert api_calls.mutating == []


def test_present_leaves_a_user_with_another_device_alone(iam_client, user_arn, api_calls):
    enable_hardware(iam_client)
    api_calls.clear()

    outcome = present(False, user_arn)

    assert outcome.changed is False
    assert outcome.result["serial_number"] == HARDWARE
    assert api_calls.mutating == []


def test_present_delivers_the_seed_to_the_destination_and_not_the_result(iam_client, user_arn, tmp_path):
    path = tmp_path / "mfa.json"

    outcome = present(False, user_arn, destination=_delivery.Destination(str(path), "mfa", "json"))

    written = json.loads(path.read_text())
    assert outcome.result["secret_file"] == str(path)
    assert outcome.delivered == [str(path)]
    assert "otpauth_uri" not in outcome.result
    assert written["base32_seed"] not in json.dumps(outcome.result)
    assert set(written) == {"base32_seed", "otpauth_uri", "serial_number", "user_name"}
    assert (written["serial_number"], written["user_name"]) == (SERIAL, USER)


def test_present_whose_delivery_fails_removes_the_device_again(iam_client, user_arn, tmp_path, api_calls):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")  # the file's "parent directory" cannot be created

    with pytest.raises(ModuleFailure, match=r"^secret_file: Failed to write secret .*removed again"):
        present(False, user_arn, destination=_delivery.Destination(str(blocker / "mfa.json"), "mfa"))

    assert api_calls.mutating == [
        "CreateVirtualMFADevice",
        "EnableMFADevice",
        "DeactivateMFADevice",
        "DeleteVirtualMFADevice",
    ]
    assert enabled_serials(iam_client) == []
    assert virtual_serials(iam_client) == []


def test_present_replaces_an_unassigned_leftover_with_a_warning(iam_client, user_arn, api_calls):
    iam_client.create_virtual_mfa_device(VirtualMFADeviceName=USER)
    api_calls.clear()

    check = present(True, user_arn)
    assert check.changed is True
    assert check.warnings[0].startswith(f"The unassigned virtual MFA device {SERIAL}")
    assert api_calls.mutating == []

    applied = present(False, user_arn)
    assert applied.warnings == check.warnings
    assert api_calls.mutating == ["DeleteVirtualMFADevice", "CreateVirtualMFADevice", "EnableMFADevice"]
    assert enabled_serials(iam_client) == [SERIAL]


# -- ensure_absent ---------------------------------------------------------------------------------


def test_absent_deactivates_then_deletes_and_second_call_is_converged(iam_client, user_arn, api_calls):
    present(False, user_arn)
    api_calls.clear()

    check = absent(True, user_arn)
    assert (check.changed, check.removed, check.result["serial_number"]) == (True, ["MFA device"], SERIAL)
    assert api_calls.mutating == []

    applied = absent(False, user_arn)
    assert (applied.before, applied.after) == ({"serial_numbers": [SERIAL]}, {"serial_numbers": []})
    assert applied.result == {"serial_number": SERIAL, "mfa_device": {}}
    assert api_calls.mutating == ["DeactivateMFADevice", "DeleteVirtualMFADevice"]
    assert virtual_serials(iam_client) == []

    api_calls.clear()
    again = absent(False, user_arn)
    assert (again.changed, again.removed, again.result["serial_number"]) == (False, [], None)
    assert api_calls.mutating == []


def test_absent_deletes_an_unassigned_leftover_and_reports_a_change(iam_client, user_arn, api_calls):
    iam_client.create_virtual_mfa_device(VirtualMFADeviceName=USER)
    api_calls.clear()

    outcome = absent(False, user_arn)

    assert outcome.changed is True
    assert outcome.before == {"serial_numbers": [], "unassigned_serial_numbers": [SERIAL]}
    assert outcome.after == {"serial_numbers": [], "unassigned_serial_numbers": []}
    assert api_calls.mutating == ["DeleteVirtualMFADevice"]


def test_absent_leaves_other_devices_alone(iam_client, user_arn, api_calls):
    enable_hardware(iam_client)
    api_calls.clear()

    outcome = absent(False, user_arn)

    assert outcome.changed is False
    assert api_calls.mutating == []
    assert enabled_serials(iam_client) == [HARDWARE]


# -- ensure_none -----------------------------------------------------------------------------------


def test_none_deactivates_every_device_and_deletes_the_virtual_ones(iam_client, user_arn, api_calls):
    present(False, user_arn)
    enable_hardware(iam_client)
    api_calls.clear()
    api_calls.sent.clear()

    check = none(True)
    assert check.changed is True
    assert check.removed == ["2 MFA devices"]
    assert api_calls.mutating == []

    applied = none(False)
    assert (applied.before, applied.after) == ({"serial_numbers": [HARDWARE, SERIAL]}, {"serial_numbers": []})
    assert sorted(api_calls.mutating) == ["DeactivateMFADevice", "DeactivateMFADevice", "DeleteVirtualMFADevice"]
    # IAM refuses to delete a virtual device that is still assigned: it is deactivated first.
    about_virtual = [name for name, params in api_calls.sent if params.get("SerialNumber") == SERIAL]
    assert about_virtual == ["DeactivateMFADevice", "DeleteVirtualMFADevice"]
    assert enabled_serials(iam_client) == []
    assert virtual_serials(iam_client) == []

    api_calls.clear()
    again = none(False)
    assert (again.changed, again.removed) == (False, [])
    assert api_calls.mutating == []


def test_none_of_a_single_device_names_it_in_the_singular(iam_client, user_arn):
    enable_hardware(iam_client)

    assert none(False).removed == ["MFA device"]
