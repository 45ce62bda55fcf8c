"""iam_mfa_device through ansible-playbook against moto_server; AWS state checked with boto3 directly."""

from __future__ import annotations

import json
import os
import stat
import time
import typing as t
import urllib.parse

from ansible_collections.techsquawks.iam.plugins.module_utils import _totp

MODULE = "iam_mfa_device"


def mfa_serials(iam: t.Any, user_name: str) -> list[str]:
    return [device["SerialNumber"] for device in iam.list_mfa_devices(UserName=user_name)["MFADevices"]]


def test_enrolment_delivers_the_seed_privately_and_a_rerun_changes_nothing(iam, ansible_playbook, target, tmp_path):
    iam.create_user(UserName="mfa-jane", Path="/example/path/1/")
    iam.create_user(UserName="mfa-joe")
    secret_file = tmp_path / "credentials" / "mfa-jane" / "mfa.json"

    result = ansible_playbook(
        target(MODULE, "present.yml"),
        "-vvv",
        extra_vars={"mfa_user": "mfa-jane", "mfa_user_returned": "mfa-joe", "mfa_secret_file": str(secret_file)},
    )

    assert result.recap()["changed"] == 3  # check-mode prediction, two enrolments; the re-run is ok
    assert result.recap()["failed"] == 0
    assert result.mutating_calls == [
        "iam CreateVirtualMFADevice",
        "iam EnableMFADevice",
        "iam CreateVirtualMFADevice",
        "iam EnableMFADevice",
    ]
    # State as AWS (moto) sees it, read independently of the module.
    jane_serial, joe_serial = mfa_serials(iam, "mfa-jane"), mfa_serials(iam, "mfa-joe")
    assert len(jane_serial) == 1
    assert jane_serial[0].endswith(":mfa/mfa-jane")
    assert len(joe_serial) == 1
    assert joe_serial[0].endswith(":mfa/mfa-joe-phone")
    # The delivered file: private, and holding the seed AWS generated for jane's device.
    assert stat.S_IMODE(os.stat(secret_file).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(secret_file.parent).st_mode) == 0o700
    delivered = json.loads(secret_file.read_text())
    assert delivered["serial_number"] == jane_serial[0]
    uri = urllib.parse.urlsplit(delivered["otpauth_uri"])
    assert uri.path == "/Techsquawks:mfa-jane"
    assert urllib.parse.parse_qs(uri.query)["secret"] == [delivered["base32_seed"]]
    # moto's ListVirtualMFADevices exposes every seed: none of them may appear in the -vvv output.
    seeds = {
        device["Base32StringSeed"].decode()
        for device in iam.list_virtual_mfa_devices(AssignmentStatus="Any")["VirtualMFADevices"]
    }
    assert delivered["base32_seed"] in seeds
    assert len(seeds) == 2
    for seed in seeds:
        assert seed not in result.output


def test_removal_deactivates_then_deletes_and_a_rerun_changes_nothing(iam, ansible_playbook, target):
    iam.create_user(UserName="mfa-leaver")
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="mfa-leaver")["VirtualMFADevice"]
    code1, code2 = _totp.consecutive_codes(device["Base32StringSeed"].decode(), time.time())
    iam.enable_mfa_device(
        UserName="mfa-leaver",
        SerialNumber=device["SerialNumber"],
        AuthenticationCode1=code1,
        AuthenticationCode2=code2,
    )

    result = ansible_playbook(target(MODULE, "absent.yml"), extra_vars={"mfa_user": "mfa-leaver"})

    assert result.recap()["changed"] == 2
    # AWS refuses to delete a device that is still assigned: deactivation must come first.
    assert result.mutating_calls == ["iam DeactivateMFADevice", "iam DeleteVirtualMFADevice"]
    assert mfa_serials(iam, "mfa-leaver") == []
    assert iam.list_virtual_mfa_devices(AssignmentStatus="Any")["VirtualMFADevices"] == []
