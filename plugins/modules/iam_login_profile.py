#!/usr/bin/python
# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: iam_login_profile
short_description: Manage the console password (login profile) of an AWS IAM user
version_added: 1.0.0
description:
  - Creates, updates and deletes the login profile of an existing IAM user, which lets the user sign in to
    the AWS Management Console with a password.
  - Without O(password), a random password that satisfies the account password policy is generated with
    Python's C(secrets) module. The policy is read with C(GetAccountPasswordPolicy); when the account has no
    custom policy, AWS's default policy applies (at least 8 characters and at least three of uppercase
    letters, lowercase letters, numbers and symbols).
  - "IAM counts only these characters as symbols: ! @ # $ % ^ & * ( ) _ + - = [ ] { } | '"
  - A supplied O(password) is checked against the same policy before anything is changed; a violation fails
    the task and names the rule.
  - An existing password is never changed unless O(update_password=always), because a password cannot be
    read back; so a second run reports no change, and a user who has since changed their own password keeps it.
  - The password can be delivered to a file (mode 0600) instead of the task result, see O(secret_file).
author:
  - techsquawks.iam contributors (@techsquawks)
options:
  max_session_duration:
    description:
      - The longest AWS sign-in session of the user, in seconds, from V(3600) (one hour) to V(7776000) (90 days).
      - V(0) clears the setting, so that AWS's standard session behaviour applies.
      - Needs a botocore whose IAM model has C(MaxSigninSessionDuration); with an older botocore the task fails
        before any AWS call.
      - Changing only this setting keeps the password and O(password_reset_required).
    type: int
  password:
    description:
      - The password to set. When unset, a password of O(password_length) characters is generated.
      - 1 to 128 characters (printable characters up to U+00FF, tab, line feed, carriage return) that satisfy
        the account password policy.
      - Used when the profile is created, and on an existing profile only with O(update_password=always).
    type: str
  password_length:
    description:
      - Length of a generated password. Must be at least the minimum length of the account password policy
        (8 with AWS's default policy) and at most 128.
      - Ignored when O(password) is set.
    type: int
    default: 20
  password_reset_required:
    description:
      - Whether the user must choose a new password at the next sign-in.
      - When unset, a new profile gets AWS's default (V(false)) and an existing profile keeps its setting.
      - Changing only this setting keeps the password.
    type: bool
  secret_format:
    description:
      - Format of O(secret_file).
      - V(json) writes an object with C(user_name), C(password) and C(sign_in_url).
      - V(text) writes the password alone, followed by a newline.
    type: str
    choices: [json, text]
    default: json
  state:
    description:
      - V(present) creates or updates the login profile; V(absent) deletes it, which removes console access
        only (the user, its access keys and other credentials are kept).
    type: str
    choices: [present, absent]
    default: present
  update_password:
    description:
      - V(on_create) sets a password only when the profile is created.
      - V(always) sets O(password), or a newly generated password, on every run, so the task always reports
        a change.
    type: str
    choices: [always, on_create]
    default: on_create
  user_name:
    description:
      - Name of the IAM user. The user must exist (see M(techsquawks.iam.iam_user)).
    type: str
    required: true
extends_documentation_fragment:
  - techsquawks.iam.connection
  - techsquawks.iam.connection.attributes
  - techsquawks.iam.deliver_to
  - techsquawks.iam.secret_file
notes:
  - The password is returned only when this run generated it and neither O(secret_file) nor O(deliver_to) is set.
  - With O(secret_file), a new profile's file is written once AWS created the profile; if it cannot be written, the
    profile is deleted again. For a new password of an existing profile (O(update_password=always)), the new file
    is prepared beside the old one and renamed over it only once AWS accepted the password, so a password that AWS
    refuses (for example by the password policy) never replaces the working one.
  - AWS's default policy also forbids the account name and email address as the password; that rule cannot
    be checked here.
  - moto (the AWS emulator used for testing) wipes a login profile when C(UpdateLoginProfile) is called without
    a password; the module follows AWS and fails with a clear message if the profile disappears after
    changing only O(password_reset_required) or O(max_session_duration).
seealso:
  - module: techsquawks.iam.iam_user
  - module: techsquawks.iam.iam_password_policy
  - module: techsquawks.iam.iam_access_key
"""

EXAMPLES = r"""
- name: Console access with a generated 15-character password that must be changed at first sign-in
  techsquawks.iam.iam_login_profile:
    user_name: techsquawks-user
    password_length: 15
    password_reset_required: true
  register: login
  no_log: true

- name: Deliver the password to a file readable only by its owner, not to the task result
  techsquawks.iam.iam_login_profile:
    user_name: techsquawks-user
    password_reset_required: true
    secret_file: /home/admin/credentials/techsquawks-user-console.json
    secret_format: json

- name: Set a known password (checked against the account password policy first)
  techsquawks.iam.iam_login_profile:
    user_name: techsquawks-user
    password: "{{ vault_console_password }}"
    update_password: always
  no_log: true

- name: Require a new password at the next sign-in, keeping the current one until then
  techsquawks.iam.iam_login_profile:
    user_name: techsquawks-user
    password_reset_required: true

- name: Limit console sessions to 12 hours
  techsquawks.iam.iam_login_profile:
    user_name: techsquawks-user
    max_session_duration: 43200

- name: Remove console access (the user and its access keys stay)
  techsquawks.iam.iam_login_profile:
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
    name: iam/alice/console-password
    arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:iam/alice/console-password-AbCdEf"
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
      sample: /srv/credentials/alice/console-password.age
    name:
      description: The name of the secret (Secrets Manager) or of the parameter (SSM).
      returned: for the types secretsmanager and ssm
      type: str
      sample: iam/alice/console-password
    arn:
      description: The ARN of the secret.
      returned: for the type secretsmanager
      type: str
      sample: "arn:aws:secretsmanager:us-east-1:123456789012:secret:iam/alice/console-password-AbCdEf"
login_profile:
  description: The login profile after the task (predicted in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    user_name:
      description: The user's name.
      type: str
      sample: techsquawks-user
    create_date:
      description: When the profile was created (ISO 8601); null when predicted in check mode.
      type: str
      sample: "2026-11-28T15:11:50+00:00"
    password_reset_required:
      description: Whether the user must set a new password at the next sign-in.
      type: bool
      sample: true
    max_session_duration:
      description: The longest sign-in session in seconds, or null when not set.
      type: int
      sample: 43200
password:
  description:
    - The password this run generated. Use C(no_log) on the task.
  returned: when this run generated a password, not in check mode, and neither O(secret_file) nor O(deliver_to) is set
  type: str
  sample: "q7(Xk-Rp2!vZ{m9Lw_e3"
sign_in_url:
  description:
    - The console sign-in URL of the account, built from its first account alias, else its account ID.
  returned: when O(state=present)
  type: str
  sample: https://example-corp.signin.aws.amazon.com/console/
secret_file:
  description: The file the password was written to.
  returned: when this run wrote O(secret_file)
  type: str
  sample: /home/admin/credentials/techsquawks-user-console.json
"""

import typing as t

from ansible_collections.techsquawks.iam.plugins.module_utils import (
    _delivery,
    _destinations,
    _login_profile,
    _outcome,
    _passwords,
    _validate,
)
from ansible_collections.techsquawks.iam.plugins.module_utils._iam import get_caller_identity
from ansible_collections.techsquawks.iam.plugins.module_utils._module import IAMModule, ModuleFailure

SESSION_DURATION = (3600, 7776000)


def supports_max_session_duration(service_model: t.Any) -> bool:
    """Whether this botocore's IAM model can send MaxSigninSessionDuration on Create/UpdateLoginProfile."""
    for operation in ("CreateLoginProfile", "UpdateLoginProfile"):
        if "MaxSigninSessionDuration" not in service_model.operation_model(operation).input_shape.members:
            return False
    return True


def run_module(module: IAMModule) -> dict[str, t.Any]:
    params, iam, check_mode = module.params, module.iam, module.check_mode
    name = params["user_name"]
    current = _login_profile.read(iam, name)
    if params["state"] == "absent":
        outcome = _login_profile.ensure_absent(iam, check_mode=check_mode, current=current)
        return _outcome.module_result(outcome, with_diff=module._diff)

    user = iam.get_user(name)
    if current is None and user is None:
        if not check_mode:
            raise ModuleFailure(f"user_name: user {name} does not exist; create it first (techsquawks.iam.iam_user)")
        module.warn(f"user {name} does not exist; assuming an earlier task creates it")

    # The module returns the sign-in URL on every run with state=present, so it is read (before any write)
    # whether or not a password is set.
    url = _login_profile.account_sign_in_url(
        iam,
        partition=module.client("iam").meta.partition,
        user_arn=user["Arn"] if user else None,
        caller_account=lambda: get_caller_identity(module.client("sts"))["Account"],
    )
    destination = _destinations.module_sink(module, kind="login_profile", user_name=name)
    outcome = _login_profile.ensure_present(
        iam,
        check_mode=check_mode,
        user_name=name,
        current=current,
        password=params["password"],
        password_length=params["password_length"],
        password_reset_required=params["password_reset_required"],
        max_session_duration=params["max_session_duration"],
        update_password=params["update_password"],
        rules=lambda: _passwords.rules_from_policy(iam.get_password_policy()),
        sign_in_url=lambda: url,
        destination=destination,
    )
    result = {"sign_in_url": url, **_outcome.module_result(outcome, with_diff=module._diff)}
    return _destinations.references(result, destination, bool(outcome.delivered))


def validate(params: dict[str, t.Any]) -> list[str]:
    """Input checks that need no AWS call (the policy checks follow once the policy is read)."""
    errors = _validate.user_name("user_name", params["user_name"])
    errors += _passwords.password_input_errors("password", params["password"])
    length = params["password_length"]
    low = _passwords.CUSTOM_MIN_LENGTH[0]
    if not low <= length <= _passwords.PASSWORD_MAX:
        errors.append(
            f"password_length must be between {low} (the shortest any IAM password policy allows) and "
            f"{_passwords.PASSWORD_MAX}, got {length}"
        )
    duration = params["max_session_duration"]
    if duration is not None and duration != 0 and not SESSION_DURATION[0] <= duration <= SESSION_DURATION[1]:
        errors.append(
            f"max_session_duration must be 0 (unset) or between {SESSION_DURATION[0]} and {SESSION_DURATION[1]} "
            f"seconds, got {duration}"
        )
    errors += _delivery.destination_errors("secret_file", params["secret_file"])
    errors += _destinations.errors("deliver_to", params["deliver_to"], kinds=["login_profile"])
    return errors


def main() -> None:
    module = IAMModule(
        argument_spec={
            "user_name": {"type": "str", "required": True},
            "password": {"type": "str", "no_log": True},
            "password_length": {"type": "int", "default": 20, "no_log": False},
            "password_reset_required": {"type": "bool", "no_log": False},
            "update_password": {
                "type": "str",
                "default": "on_create",
                "choices": ["always", "on_create"],
                "no_log": False,
            },
            "max_session_duration": {"type": "int"},
            "secret_file": {"type": "path"},
            "secret_format": {"type": "str", "default": "json", "choices": ["json", "text"]},
            "deliver_to": _destinations.OPTION_SPEC,
            "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        },
        mutually_exclusive=[("secret_file", "deliver_to")],
        supports_check_mode=True,
    )
    module.fail_on_invalid(validate(module.params))
    if module.params["max_session_duration"] is not None:
        # Only the local botocore model is consulted here: no AWS call has been made yet.
        iam_client = module.client("iam")
        if not supports_max_session_duration(iam_client.meta.service_model):
            module.fail_on_invalid(
                [
                    "max_session_duration: the installed botocore does not know MaxSigninSessionDuration on "
                    "CreateLoginProfile/UpdateLoginProfile; upgrade botocore or leave the option unset"
                ]
            )
    module.execute(run_module)


if __name__ == "__main__":
    main()
