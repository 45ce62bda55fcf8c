# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal use only: this file is not a public API of the collection and may change at any time.

"""The MFA devices of an IAM user: enrolling a virtual device with computed codes, handing its seed over once.

Shared by iam_mfa_device and the roster engine; every function returns an Outcome whose before/after is
``{"serial_numbers": [...]}`` (never a seed). No boto3 here.
"""

from __future__ import annotations

import datetime
import time
import typing as t

from ansible_collections.techsquawks.iam.plugins.module_utils import _compare, _delivery, _totp
from ansible_collections.techsquawks.iam.plugins.module_utils._iam import IAM, IAMError, send_once
from ansible_collections.techsquawks.iam.plugins.module_utils._module import ModuleFailure
from ansible_collections.techsquawks.iam.plugins.module_utils._outcome import Outcome

Device = dict[str, t.Any]

DEVICE_NAME_MAX = 226  # a serial number (arn:aws:iam::<12 digits>:mfa/<name>) is at most 256 characters
VIRTUAL_MARKER = ":mfa/"
LABEL = "MFA device"


# -- pure helpers --------------------------------------------------------------------------------


def device_result(raw: dict[str, t.Any]) -> Device:
    """The snake_case ``mfa_device`` return value from a ListMFADevices item."""
    return {
        "serial_number": raw["SerialNumber"],
        "user_name": raw.get("UserName"),
        "enable_date": _compare.iso8601(raw.get("EnableDate")),
    }


def virtual_serial(arn: str, name: str) -> str:
    """The serial number of the virtual device ``name`` under path /, from any IAM or STS ARN of the account."""
    partition, account = arn.split(":")[1], arn.split(":")[4]
    return f"arn:{partition}:iam::{account}{VIRTUAL_MARKER}{name}"


def same_serial(left: str, right: str) -> bool:
    # IAM names, device names included, are not distinguished by case.
    return left.lower() == right.lower()


def is_virtual(device: dict[str, t.Any]) -> bool:
    return VIRTUAL_MARKER in device["SerialNumber"]


def pick_device(devices: list[dict[str, t.Any]], serial: str) -> dict[str, t.Any] | None:
    """The device named by ``serial`` if the user has it, else the user's first virtual device, else any."""
    for device in devices:
        if same_serial(device["SerialNumber"], serial):
            return device
    virtual = [device for device in devices if is_virtual(device)]
    candidates = virtual or devices
    return candidates[0] if candidates else None


def state_of(devices: list[dict[str, t.Any]]) -> dict[str, list[str]]:
    """The managed view (before/after) of the devices enabled for a user."""
    return {"serial_numbers": sorted(device["SerialNumber"] for device in devices)}


def seed_text(raw: t.Any) -> str:
    # boto3 returns the blob as bytes holding the base32 text.
    return raw.decode("ascii") if isinstance(raw, bytes | bytearray) else str(raw)


def predict_enrollment(*, user_name: str, serial: str, devices: list[dict[str, t.Any]]) -> Outcome:
    """What enrolling the device ``serial`` would look like (check mode): no enable date, no secret."""
    predicted = {"SerialNumber": serial, "UserName": user_name}
    return Outcome(
        before=state_of(devices),
        after=state_of([*devices, predicted]),
        created=[LABEL],
        result={"serial_number": serial, "mfa_device": device_result(predicted)},
    )


# -- state ---------------------------------------------------------------------------------------


def read(iam: IAM, user_name: str) -> list[dict[str, t.Any]]:
    """The MFA devices enabled for the user (ListMFADevices); [] when the user does not exist."""
    try:
        return iam.list_mfa_devices(user_name)
    except IAMError as exc:
        if exc.code == "NoSuchEntity":
            return []
        raise


def has_unassigned(iam: IAM, serial: str) -> bool:
    """Whether an unassigned virtual device with this serial exists (an earlier run died before enabling it)."""
    return any(same_serial(device["SerialNumber"], serial) for device in iam.list_virtual_mfa_devices("Unassigned"))


def discard(iam: IAM, serial: str, cause: Exception, *, deactivate_for: str | None = None) -> None:
    """Remove a device this run created and could not hand over; a failure to do so is added to ``cause``."""
    try:
        if deactivate_for:
            iam.deactivate_mfa_device(deactivate_for, serial)
        iam.delete_virtual_mfa_device(serial)
    except IAMError as cleanup:
        raise IAMError(
            f"{cause}; the virtual MFA device {serial} could not be removed afterwards: {cleanup}",
            getattr(cause, "code", None) or cleanup.code,
            getattr(cause, "response", None) or cleanup.response,
        ) from cleanup


def enroll(iam: IAM, user_name: str, name: str) -> tuple[dict[str, t.Any], str]:
    """Create the virtual device and enable it for the user with two consecutive codes; return (device, seed)."""

    def reconcile() -> None:
        # The answer was lost: a device AWS made then has a seed nobody will ever see.
        for device in iam.list_virtual_mfa_devices("Unassigned"):
            if device["SerialNumber"].lower().endswith(f"{VIRTUAL_MARKER}{name}".lower()):
                iam.delete_virtual_mfa_device(device["SerialNumber"])

    try:
        created = send_once(lambda: iam.create_virtual_mfa_device(name), reconcile)
    except IAMError as exc:
        if exc.code == "EntityAlreadyExists":
            raise ModuleFailure(
                f"name: a virtual MFA device named {name} already exists and is assigned to another user; "
                "choose another device name"
            ) from exc
        raise
    serial = created["SerialNumber"]
    seed = seed_text(created["Base32StringSeed"])
    code1, code2 = _totp.consecutive_codes(seed, time.time())
    try:
        iam.enable_mfa_device(user_name, serial, code1, code2)
    except IAMError as exc:
        failure = exc
        if exc.code == "InvalidAuthenticationCode":
            failure = IAMError(
                f"{exc} (the codes were computed from this machine's clock: check that it is synchronised)",
                exc.code,
                exc.response,
            )
        discard(iam, serial, failure)
        raise failure from None
    enabled = {"SerialNumber": serial, "UserName": user_name, "EnableDate": datetime.datetime.now(datetime.UTC)}
    return enabled, seed


def deliver(
    destination: _delivery.Destination | None, *, user_name: str, issuer: str, serial: str, seed: str
) -> dict[str, str]:
    """The secret part of the result: the otpauth URI, or the file it was written to (DeliveryError if not)."""
    uri = _totp.otpauth_uri(seed, user_name, issuer)
    if destination is None:
        return {"otpauth_uri": uri}
    payload = {"user_name": user_name, "serial_number": serial, "otpauth_uri": uri, "base32_seed": seed}
    return {"secret_file": destination.deliver(payload)}


def ensure_present(
    iam: IAM,
    *,
    check_mode: bool,
    user_name: str,
    user_arn: str,
    name: str | None,
    issuer: str,
    devices: list[dict[str, t.Any]],
    destination: _delivery.Destination | None,
) -> Outcome:
    """Enroll the virtual device ``name`` (default: the user name) unless the user has any MFA device.

    The seed goes to ``destination`` right after enabling (else into the result); if that fails the device is removed.
    """
    serial = virtual_serial(user_arn, name or user_name)
    existing = pick_device(devices, serial)
    if existing is not None:
        state = state_of(devices)
        mfa_device = device_result(existing)
        return Outcome(state, state, result={"serial_number": mfa_device["serial_number"], "mfa_device": mfa_device})
    warnings: list[str] = []
    if has_unassigned(iam, serial):
        warnings.append(
            f"The unassigned virtual MFA device {serial}, left by an earlier run that did not enable it, is "
            "deleted and replaced (its seed was never delivered)."
        )
        if not check_mode:
            iam.delete_virtual_mfa_device(serial)
    if check_mode:
        outcome = predict_enrollment(user_name=user_name, serial=serial, devices=devices)
        outcome.warnings = warnings
        return outcome
    if destination is not None:
        try:
            destination.expect([device["SerialNumber"] for device in devices])
        except _delivery.DeliveryError as exc:
            raise ModuleFailure(f"secret_file: {exc}") from None
    device, seed = enroll(iam, user_name, name or user_name)
    try:
        secret = deliver(destination, user_name=user_name, issuer=issuer, serial=device["SerialNumber"], seed=seed)
    except _delivery.DeliveryError as exc:
        failure = ModuleFailure(
            f"secret_file: {exc}; the new MFA device was removed again so that its seed is not lost"
        )
        discard(iam, device["SerialNumber"], failure, deactivate_for=user_name)
        raise failure from None
    mfa_device = device_result(device)
    return Outcome(
        before=state_of(devices),
        after=state_of([*devices, device]),
        created=[LABEL],
        delivered=[secret["secret_file"]] if "secret_file" in secret else [],
        warnings=warnings,
        result={"serial_number": mfa_device["serial_number"], "mfa_device": mfa_device, **secret},
    )


def ensure_absent(
    iam: IAM,
    *,
    check_mode: bool,
    user_name: str,
    user_arn: str,
    name: str | None,
    devices: list[dict[str, t.Any]],
) -> Outcome:
    """Deactivate (if enabled for the user) and delete the virtual device ``name``; other devices are left alone.

    An unassigned device of that name (left by an interrupted enrolment) is deleted too.
    """
    serial = virtual_serial(user_arn, name or user_name)
    before = state_of(devices)
    result: dict[str, t.Any] = {"serial_number": None, "mfa_device": {}}
    enabled = next((device for device in devices if same_serial(device["SerialNumber"], serial)), None)
    if enabled is not None:
        serial = enabled["SerialNumber"]
        if not check_mode:
            # DeleteVirtualMFADevice refuses (DeleteConflict) while the device is still assigned to a user.
            iam.deactivate_mfa_device(user_name, serial)
            iam.delete_virtual_mfa_device(serial)
        after = state_of([device for device in devices if not same_serial(device["SerialNumber"], serial)])
        return Outcome(before, after, removed=[LABEL], result=dict(result, serial_number=serial))
    if has_unassigned(iam, serial):
        if not check_mode:
            iam.delete_virtual_mfa_device(serial)
        # Not the user's (it is enabled for nobody), but its removal is a change: the diff shows it apart.
        before = dict(before, unassigned_serial_numbers=[serial])
        after = dict(before, unassigned_serial_numbers=[])
        return Outcome(before, after, removed=[LABEL], result=dict(result, serial_number=serial))
    # A device of that name assigned to another user is not this user's to remove.
    return Outcome(before, before, result=result)


def ensure_none(iam: IAM, *, check_mode: bool, user_name: str, devices: list[dict[str, t.Any]]) -> Outcome:
    """No MFA device enabled for the user: each is deactivated, and a virtual one deleted as well.

    Hardware and FIDO devices are only deactivated (they are not IAM's to delete).
    """
    if not check_mode:
        for device in devices:
            iam.deactivate_mfa_device(user_name, device["SerialNumber"])
            if is_virtual(device):
                iam.delete_virtual_mfa_device(device["SerialNumber"])
    before = state_of(devices)
    removed = [] if not devices else [LABEL if len(devices) == 1 else f"{len(devices)} {LABEL}s"]
    return Outcome(before, state_of([]), removed=removed, result={"removed": before["serial_numbers"]})
