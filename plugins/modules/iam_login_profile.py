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
  secret_file:
    description:
      - Write the password set by this run to this file instead of returning it. The file is written
        atomically with mode 0600, and its directory is created with mode 0700.
      - Must be an absolute path. An existing file that is a symbolic link or readable by group or others is
        refused before any AWS call.
      - The file is written before the password is sent to AWS, so a failed AWS call never loses a password
        that is already set; it is left alone when this run sets no password.
    type: path
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
notes:
  - The password is never shown in diffs, and is returned only when this run generated it and O(secret_file)
    is not set. Set C(no_log) on tasks that return it.
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
  returned: when this run generated a password, not in check mode, and O(secret_file) is not set
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

from ansible_collections.techsquawks.iam.plugins.module_utils import _compare, _delivery, _passwords, _validate
from ansible_collections.techsquawks.iam.plugins.module_utils._iam import IAM, get_caller_identity
from ansible_collections.techsquawks.iam.plugins.module_utils._module import IAMModule, ModuleFailure

Profile = dict[str, t.Any]

SESSION_DURATION = (3600, 7776000)
# Console sign-in domains per partition; the standard partition is the fallback.
SIGNIN_DOMAINS = {
    "aws": "signin.aws.amazon.com",
    "aws-us-gov": "signin.amazonaws-us-gov.com",
    "aws-cn": "signin.amazonaws.cn",
}
# Diffs mark the password without showing it.
HIDDEN = "(not shown)"
HIDDEN_NEW = "(new password, not shown)"


def profile_result(raw: dict[str, t.Any]) -> Profile:
    """The snake_case ``login_profile`` return value from a Get/CreateLoginProfile answer."""
    return {
        "user_name": raw["UserName"],
        "create_date": _compare.iso8601(raw.get("CreateDate")),
        "password_reset_required": bool(raw.get("PasswordResetRequired", False)),
        "max_session_duration": raw.get("MaxSigninSessionDuration"),
    }


def supports_max_session_duration(service_model: t.Any) -> bool:
    """Whether this botocore's IAM model can send MaxSigninSessionDuration on Create/UpdateLoginProfile."""
    for operation in ("CreateLoginProfile", "UpdateLoginProfile"):
        if "MaxSigninSessionDuration" not in service_model.operation_model(operation).input_shape.members:
            return False
    return True


def sign_in_url(account: str, partition: str = "aws") -> str:
    return f"https://{account}.{SIGNIN_DOMAINS.get(partition, SIGNIN_DOMAINS['aws'])}/console/"


def desired_settings(current: Profile | None, params: dict[str, t.Any]) -> dict[str, t.Any]:
    """The AWS fields (other than the password) that differ from ``current``; unset options are unmanaged."""
    changes: dict[str, t.Any] = {}
    reset = params["password_reset_required"]
    if reset is not None and (current is None or reset != current["password_reset_required"]):
        changes["PasswordResetRequired"] = reset
    duration = params["max_session_duration"]
    if duration is not None and (duration or None) != (current or {}).get("max_session_duration"):
        if duration:
            changes["MaxSigninSessionDuration"] = duration
        elif current is not None:
            changes["ResetMaxSigninSessionDuration"] = True
    return changes


def apply_settings(profile: Profile, changes: dict[str, t.Any]) -> Profile:
    """The profile that results from ``changes`` (the predicted state)."""
    after = dict(profile)
    if "PasswordResetRequired" in changes:
        after["password_reset_required"] = changes["PasswordResetRequired"]
    if "MaxSigninSessionDuration" in changes:
        after["max_session_duration"] = changes["MaxSigninSessionDuration"]
    if changes.get("ResetMaxSigninSessionDuration"):
        after["max_session_duration"] = None
    return after


def choose_password(params: dict[str, t.Any], rules: _passwords.PasswordRules) -> str:
    """The supplied password once it satisfies ``rules``, else a generated one; failures name the option."""
    if params["password"] is not None:
        violations = _passwords.check_password(params["password"], rules)
        if violations:
            raise ModuleFailure("password: does not satisfy the password policy: " + "; ".join(violations))
        return params["password"]
    errors = _passwords.length_errors("password_length", params["password_length"], rules)
    if errors:
        raise ModuleFailure(errors[0])
    return _passwords.generate_password(params["password_length"], rules)


def account_sign_in_url(module: IAMModule, user: dict[str, t.Any] | None) -> str:
    """Sign-in URL from the first account alias, else the account ID (from the user's ARN, or STS)."""
    client = module.client("iam")
    aliases = module.iam.list_account_aliases()
    if aliases:
        account = aliases[0]
    elif user is not None:
        # arn:<partition>:iam::<account>:user/...; saves building an STS client.
        account = user["Arn"].split(":")[4]
    else:
        account = get_caller_identity(module.client("sts"))["Account"]
    return sign_in_url(account, client.meta.partition)


def ensure_created(iam: IAM, *, check_mode: bool, params: dict[str, t.Any], password: str) -> tuple[bool, Profile]:
    """Create the profile with its password and settings in one call."""
    name = params["user_name"]
    changes = desired_settings(None, params)
    predicted = apply_settings(
        {"user_name": name, "create_date": None, "password_reset_required": False, "max_session_duration": None},
        changes,
    )
    if check_mode:
        return True, predicted
    iam.mark_fresh(name)  # the user may have been created by the previous task, on another IAM endpoint
    created = profile_result(iam.create_login_profile(name, Password=password, **changes))
    reset = changes.get("PasswordResetRequired")
    if reset is not None and created["password_reset_required"] != reset:
        # AWS applies the flag on creation (and echoes it); moto ignores it, so it is set again with the
        # same password. Never triggered on AWS, where re-sending a password could hit reuse prevention.
        iam.update_login_profile(name, Password=password, PasswordResetRequired=reset)
    return True, dict(predicted, create_date=created["create_date"])


def ensure_updated(
    iam: IAM, *, check_mode: bool, current: Profile, params: dict[str, t.Any], password: str | None
) -> tuple[bool, Profile]:
    """Change the settings (and the password, when one is given) of an existing profile."""
    name = current["user_name"]
    changes = desired_settings(current, params)
    if password is not None:
        # Send the reset flag with every new password, so it is explicit rather than left to the API.
        changes.setdefault("PasswordResetRequired", current["password_reset_required"])
    elif not changes:
        return False, current
    after = apply_settings(current, changes)
    if check_mode:
        return True, after
    if password is not None:
        iam.update_login_profile(name, Password=password, **changes)
        return True, after
    # AWS keeps the password when UpdateLoginProfile has none; moto 5.2 deletes the profile instead.
    iam.update_login_profile(name, **changes)
    if iam.get_login_profile(name) is None:
        option = "password_reset_required" if "PasswordResetRequired" in changes else "max_session_duration"
        raise ModuleFailure(
            f"{option}: the endpoint deleted the login profile of {name} when asked to change only "
            f"{', '.join(sorted(changes))} (AWS keeps the password; moto does not); set a new password with "
            "update_password=always"
        )
    return True, after


def ensure_absent(module: IAMModule, current: Profile | None) -> dict[str, t.Any]:
    result: dict[str, t.Any] = {"changed": current is not None, "login_profile": {}}
    if current is not None and not module.check_mode:
        module.iam.delete_login_profile(current["user_name"])
    if module._diff:
        result["diff"] = {"before": current or {}, "after": {}}
    return result


def deliver(params: dict[str, t.Any], password: str, url: str) -> str:
    """Write the password to ``secret_file`` in ``secret_format``; return the path."""
    if params["secret_format"] == "text":  # noqa: S105 - an option value, not a password
        content = password + "\n"
    else:
        content = _delivery.render_json({"user_name": params["user_name"], "password": password, "sign_in_url": url})
    try:
        return _delivery.write_secret(params["secret_file"], lambda _existing: content)
    except _delivery.DeliveryError as exc:
        raise ModuleFailure(f"secret_file: {exc}") from exc


def run_module(module: IAMModule) -> dict[str, t.Any]:
    params, iam, check_mode = module.params, module.iam, module.check_mode
    name = params["user_name"]
    raw = iam.get_login_profile(name)
    current = profile_result(raw) if raw else None
    if params["state"] == "absent":
        return ensure_absent(module, current)

    user = iam.get_user(name)
    if current is None and user is None:
        if not check_mode:
            raise ModuleFailure(f"user_name: user {name} does not exist; create it first (techsquawks.iam.iam_user)")
        module.warn(f"user {name} does not exist; assuming an earlier task creates it")

    url = account_sign_in_url(module, user)
    password = None
    if current is None or params["update_password"] == "always":  # noqa: S105 - an option value
        # Policy checks happen here, after reading the policy and before any write.
        password = choose_password(params, _passwords.rules_from_policy(iam.get_password_policy()))

    result: dict[str, t.Any] = {"sign_in_url": url}
    if password is not None and params["secret_file"] and not check_mode:
        # Written before AWS gets the password: a failed AWS call then costs nothing, a failed write
        # after a successful call would lose the only copy of a generated password.
        result["secret_file"] = deliver(params, password, url)

    if current is None:
        changed, after = ensure_created(iam, check_mode=check_mode, params=params, password=password)
    else:
        changed, after = ensure_updated(iam, check_mode=check_mode, current=current, params=params, password=password)

    result.update(changed=changed, login_profile=after)
    if password is not None and params["password"] is None and not params["secret_file"] and not check_mode:
        result["password"] = password
    if module._diff:
        before, shown_after = dict(current or {}), dict(after)
        if current is not None:
            before["password"] = HIDDEN
        shown_after["password"] = HIDDEN_NEW if password is not None else HIDDEN
        result["diff"] = {"before": before, "after": shown_after}
    return result


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
            "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        },
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
