#!/usr/bin/python
# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: iam_mfa_device
short_description: Enroll or remove the virtual MFA device of an AWS IAM user
version_added: 1.0.0
description:
  - Makes sure an IAM user has multi-factor authentication, without anyone typing codes.
  - With O(state=present), a user without any MFA device gets a new virtual MFA device named O(name). The module
    enables it for the user with two consecutive TOTP codes that it computes from the device's seed (the codes
    of the previous and of the current 30-second window, so enrolment needs no waiting), then hands the seed
    over once, as an C(otpauth://) URI that authenticator apps import (most accept it as a QR code), either in
    the result (RV(otpauth_uri)) or written to O(secret_file).
  - A user that already has any MFA device enabled (virtual, hardware or FIDO security key) is left alone and no
    seed is returned. IAM never reveals the seed of an existing device, so it is only available from the run
    that created the device.
  - If enabling fails, the virtual device just created is deleted again, so no unassigned device is left behind,
    and the task fails with the AWS error.
  - An unassigned virtual device named O(name), left by an interrupted earlier run, is deleted and replaced (its
    seed was never delivered, so it is useless).
  - With O(state=absent), the virtual device named O(name) is deactivated (when enabled for the user) and then
    deleted, as IAM requires. Other MFA devices of the user are not touched.
  - IAM allows up to 8 MFA devices per user; this module only ever creates one.
author:
  - techsquawks.iam contributors (@techsquawks)
options:
  issuer:
    description:
      - The issuer shown in authenticator apps next to the user's name, for example a company or account name.
      - Written into the C(otpauth://) URI as the label prefix and the C(issuer) parameter.
      - Must not contain a colon, which separates the issuer from the account name in the URI label.
    type: str
    default: AWS
  name:
    description:
      - The name of the virtual MFA device. Defaults to O(user_name).
      - Up to 226 characters of C([A-Za-z0-9_+=,.@-]); the device is created under the path V(/), so its serial
        number is C(arn:aws:iam::<account id>:mfa/<name>). Device names are unique in the account.
    type: str
  secret_format:
    description:
      - Format of O(secret_file).
      - V(json) writes an object with C(user_name), C(serial_number), C(otpauth_uri) and C(base32_seed) (the seed
        for typing into an app by hand).
      - V(text) writes the C(otpauth://) URI alone on one line, ready for a QR-code tool such as
        C(qrencode -t ansiutf8 < file).
    type: str
    choices: [json, text]
    default: json
  state:
    description:
      - V(present) makes sure the user has an MFA device, creating and enabling a virtual one when it has none.
      - V(absent) deactivates and deletes the virtual device named O(name).
    type: str
    choices: [present, absent]
    default: present
  user_name:
    description:
      - The IAM user whose MFA device is managed. The user must exist, except in check mode.
    type: str
    required: true
extends_documentation_fragment:
  - techsquawks.iam.connection
  - techsquawks.iam.connection.attributes
  - techsquawks.iam.deliver_to
  - techsquawks.iam.secret_file
notes:
  - The TOTP codes are computed from the clock of the machine that runs the module; if AWS rejects them
    (C(InvalidAuthenticationCode)), check that this clock is synchronised.
  - Returns the seed (RV(otpauth_uri)) only on the run that creates the device, and only when neither
    O(secret_file) nor O(deliver_to) is set.
seealso:
  - module: techsquawks.iam.iam_user
  - name: Google Authenticator key URI format
    description: The C(otpauth://) URI format that authenticator apps import.
    link: https://github.com/google/google-authenticator/wiki/Key-Uri-Format
  - name: RFC 6238 (TOTP)
    description: The time-based one-time password algorithm of virtual MFA devices.
    link: https://www.rfc-editor.org/rfc/rfc6238
"""

EXAMPLES = r"""
- name: Give a user a virtual MFA device and keep the seed out of the logs
  techsquawks.iam.iam_mfa_device:
    user_name: techsquawks-user
    issuer: Techsquawks
  register: mfa
  no_log: true

- name: Deliver the seed to a private file instead of the task result
  techsquawks.iam.iam_mfa_device:
    user_name: techsquawks-user
    issuer: Techsquawks
    secret_file: /srv/credentials/techsquawks-user/mfa.json
  no_log: true

- name: Write only the otpauth URI, ready for a QR code (qrencode -t ansiutf8 < mfa.uri)
  techsquawks.iam.iam_mfa_device:
    user_name: techsquawks-user
    name: techsquawks-user-phone
    secret_file: /srv/credentials/techsquawks-user/mfa.uri
    secret_format: text
  no_log: true

- name: Remove the user's virtual MFA device (deactivated first, then deleted)
  techsquawks.iam.iam_mfa_device:
    user_name: techsquawks-user
    state: absent
"""

RETURN = r"""
delivered:
  description: Where this run delivered the new secret (with O(deliver_to)); a reference, never the secret.
  returned: when this run delivered a secret to O(deliver_to)
  type: dict
  sample:
    type: secretsmanager
    name: iam/alice/mfa
    arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:iam/alice/mfa-AbCdEf"
  contains:
    type:
      description: The kind of destination, as O(deliver_to.type).
      returned: always
      type: str
      sample: secretsmanager
    path:
      description: The file written.
      returned: for the types file and age
      type: str
      sample: /srv/credentials/alice/mfa.age
    name:
      description: The name of the secret (Secrets Manager) or of the parameter (SSM).
      returned: for the types secretsmanager and ssm
      type: str
      sample: iam/alice/mfa
    arn:
      description: The ARN of the secret.
      returned: for the type secretsmanager
      type: str
      sample: "arn:aws:secretsmanager:us-east-1:123456789012:secret:iam/alice/mfa-AbCdEf"
serial_number:
  description:
    - With O(state=present), the serial number of the user's MFA device (predicted in check mode); the ARN of a
      virtual device, or the serial of a hardware or FIDO device the user already had.
    - With O(state=absent), the serial number of the device that was (or would be) removed, else null.
  returned: always
  type: str
  sample: arn:aws:iam::123456789012:mfa/techsquawks-user
mfa_device:
  description: The user's MFA device after the task; empty with O(state=absent).
  returned: always
  type: dict
  contains:
    serial_number:
      description: The device's serial number.
      type: str
      sample: arn:aws:iam::123456789012:mfa/techsquawks-user
    user_name:
      description: The user the device is enabled for.
      type: str
      sample: techsquawks-user
    enable_date:
      description: When the device was enabled for the user (ISO 8601); null in check mode before creation.
      type: str
      sample: "2026-11-28T15:11:50+00:00"
otpauth_uri:
  description:
    - The new device's seed as an C(otpauth://totp/) URI for authenticator apps. A secret.
  returned: when this run created the device and neither O(secret_file) nor O(deliver_to) is set
  type: str
  sample: otpauth://totp/Techsquawks:techsquawks-user?secret=JBSWY3DPEHPK3PXP&issuer=Techsquawks
secret_file:
  description: The file the seed was written to.
  returned: when this run created the device and O(secret_file) is set
  type: str
  sample: /srv/credentials/techsquawks-user/mfa.json
"""

import typing as t

from ansible_collections.techsquawks.iam.plugins.module_utils import _delivery, _destinations, _mfa, _outcome, _validate
from ansible_collections.techsquawks.iam.plugins.module_utils._aws import BotoCoreError, ClientError
from ansible_collections.techsquawks.iam.plugins.module_utils._module import IAMModule, ModuleFailure


def account_arn(module: IAMModule) -> str:
    """The caller's ARN from STS, for predicting a serial number in check mode when the user does not exist yet."""
    try:
        return module.client("sts").get_caller_identity()["Arn"]
    except (ClientError, BotoCoreError) as exc:
        raise ModuleFailure(f"user_name: cannot predict the MFA serial number (STS GetCallerIdentity: {exc})") from exc


def converge(module: IAMModule, destination: t.Any) -> _outcome.Outcome:
    params, iam, check_mode = module.params, module.iam, module.check_mode
    user_name, name = params["user_name"], params["name"]
    user = iam.get_user(user_name)
    present = params["state"] == "present"
    if user is None:
        if not present:
            none = _mfa.state_of([])
            return _outcome.Outcome(none, none, result={"serial_number": None, "mfa_device": {}})
        if not check_mode:
            raise ModuleFailure(f"user_name: IAM user {user_name} does not exist; create it first (iam_user)")
        # In check mode the user may be created by an earlier task of the same play.
        serial = _mfa.virtual_serial(account_arn(module), name or user_name)
        return _mfa.predict_enrollment(user_name=user_name, serial=serial, devices=[])
    devices = _mfa.read(iam, user_name)
    if present:
        return _mfa.ensure_present(
            iam,
            check_mode=check_mode,
            user_name=user_name,
            user_arn=user["Arn"],
            name=name,
            issuer=params["issuer"],
            devices=devices,
            destination=destination,
        )
    return _mfa.ensure_absent(
        iam, check_mode=check_mode, user_name=user_name, user_arn=user["Arn"], name=name, devices=devices
    )


def run_module(module: IAMModule) -> dict[str, t.Any]:
    destination = _destinations.module_sink(module, kind="mfa", user_name=module.params["user_name"])
    outcome = converge(module, destination)
    for warning in outcome.warnings:
        module.warn(warning)
    result = _outcome.module_result(outcome, with_diff=module._diff)
    return _destinations.references(result, destination, bool(outcome.delivered))


def validate(params: dict[str, t.Any]) -> list[str]:
    errors = _validate.user_name("user_name", params["user_name"])
    errors += _validate.user_name("name", params["name"], _mfa.DEVICE_NAME_MAX)
    issuer = params["issuer"]
    if not issuer:
        errors.append("issuer must not be empty")
    elif ":" in issuer:
        errors.append(f"issuer '{issuer}' must not contain ':', which separates issuer and account in the URI")
    errors += _delivery.destination_errors("secret_file", params["secret_file"])
    errors += _destinations.errors("deliver_to", params["deliver_to"], kinds=["mfa"])
    return errors


def main() -> None:
    module = IAMModule(
        argument_spec={
            "user_name": {"type": "str", "required": True},
            "name": {"type": "str"},
            "issuer": {"type": "str", "default": "AWS"},
            "secret_file": {"type": "path", "no_log": False},
            "secret_format": {"type": "str", "default": "json", "choices": ["json", "text"], "no_log": False},
            "deliver_to": _destinations.OPTION_SPEC,
            "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        },
        mutually_exclusive=[("secret_file", "deliver_to")],
        supports_check_mode=True,
    )
    module.fail_on_invalid(validate(module.params))
    module.execute(run_module)


if __name__ == "__main__":
    main()
