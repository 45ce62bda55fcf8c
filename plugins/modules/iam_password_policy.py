#!/usr/bin/python
# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: iam_password_policy
short_description: Manage the password policy of an AWS account
version_added: 1.0.0
description:
  - Sets or removes the account's custom IAM password policy, which every IAM user's console password must
    satisfy.
  - C(UpdateAccountPasswordPolicy) does not support partial updates; it resets every field it is not sent to
    that field's default. This module therefore always sends the complete policy, in which an option left unset keeps
    the policy's current value, and when the account has no custom policy yet, it takes the API's default
    (minimum length 6, no character class required, users may not change their password, passwords never
    expire, no reuse prevention, no hard expiry).
  - Without a custom policy, AWS applies its default policy (at least 8 characters and three of four
    character classes). Creating a custom policy replaces it, so set O(min_password_length) and the
    C(require_*) options explicitly when creating one.
  - Unlike C(amazon.aws.iam_password_policy), check mode never writes the policy.
author:
  - techsquawks.iam contributors (@techsquawks)
options:
  allow_users_to_change_password:
    description:
      - Whether IAM users may change their own console password.
    type: bool
    aliases: [allow_pw_change]
  hard_expiry:
    description:
      - Whether users whose password has expired are prevented from setting a new one; an administrator must
        then reset it.
    type: bool
    aliases: [pw_expire]
  max_password_age:
    description:
      - Days a password stays valid, from V(1) to V(1095); V(0) means passwords never expire.
    type: int
    aliases: [pw_max_age]
  min_password_length:
    description:
      - Minimum number of characters of a password, from V(6) to V(128).
    type: int
    aliases: [min_pw_length]
  password_reuse_prevention:
    description:
      - Number of previous passwords a user may not reuse, from V(1) to V(24); V(0) means no prevention.
    type: int
    aliases: [pw_reuse_prevent]
  require_lowercase:
    description:
      - Whether a password must contain a lowercase letter (a-z).
    type: bool
  require_numbers:
    description:
      - Whether a password must contain a number (0-9).
    type: bool
  require_symbols:
    description:
      - "Whether a password must contain one of the symbols ! @ # $ % ^ & * ( ) _ + - = [ ] { } | '"
    type: bool
  require_uppercase:
    description:
      - Whether a password must contain an uppercase letter (A-Z).
    type: bool
  state:
    description:
      - V(present) creates or updates the custom policy; V(absent) deletes it, so AWS's default policy applies.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - techsquawks.iam.connection
  - techsquawks.iam.connection.attributes
notes:
  - Complexity requirements apply to passwords set after the change; a new O(max_password_age) applies at once.
seealso:
  - module: techsquawks.iam.iam_login_profile
"""

EXAMPLES = r"""
- name: A strict policy (every field stated, so nothing depends on earlier runs)
  techsquawks.iam.iam_password_policy:
    min_password_length: 14
    require_symbols: true
    require_numbers: true
    require_uppercase: true
    require_lowercase: true
    allow_users_to_change_password: true
    max_password_age: 90
    password_reuse_prevention: 24
    hard_expiry: false

- name: Raise only the minimum length; every other field keeps its current value
  techsquawks.iam.iam_password_policy:
    min_password_length: 16

- name: Let passwords never expire again
  techsquawks.iam.iam_password_policy:
    max_password_age: 0

- name: Go back to AWS's default password policy
  techsquawks.iam.iam_password_policy:
    state: absent
"""

RETURN = r"""
policy:
  description: The account password policy after the task (predicted in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    min_password_length:
      description: Minimum password length.
      type: int
      sample: 14
    require_symbols:
      description: Whether a symbol is required.
      type: bool
      sample: true
    require_numbers:
      description: Whether a number is required.
      type: bool
      sample: true
    require_uppercase:
      description: Whether an uppercase letter is required.
      type: bool
      sample: true
    require_lowercase:
      description: Whether a lowercase letter is required.
      type: bool
      sample: true
    allow_users_to_change_password:
      description: Whether users may change their own password.
      type: bool
      sample: true
    max_password_age:
      description: Days a password stays valid; 0 when passwords never expire.
      type: int
      sample: 90
    password_reuse_prevention:
      description: Number of previous passwords that cannot be reused; 0 when reuse is allowed.
      type: int
      sample: 24
    hard_expiry:
      description: Whether users with an expired password need an administrator to reset it.
      type: bool
      sample: false
    expire_passwords:
      description: Whether passwords expire (O(max_password_age) above 0).
      type: bool
      sample: true
"""

import typing as t

from ansible_collections.techsquawks.iam.plugins.module_utils import _passwords
from ansible_collections.techsquawks.iam.plugins.module_utils._iam import IAM
from ansible_collections.techsquawks.iam.plugins.module_utils._module import IAMModule

Policy = dict[str, t.Any]


def ensure_policy(
    iam: IAM, *, check_mode: bool, current: Policy | None, params: dict[str, t.Any]
) -> tuple[bool, Policy]:
    """Send the complete merged policy when it differs from the current one (or there is none)."""
    desired = _passwords.merge_policy(current, params)
    if current is not None and all(desired[name] == current[name] for name in _passwords.POLICY_FIELDS):
        return False, current
    if not check_mode:
        iam.update_password_policy(**_passwords.policy_request(desired))
    return True, desired


def ensure_absent(iam: IAM, *, check_mode: bool, current: Policy | None) -> tuple[bool, Policy]:
    if current is None:
        return False, {}
    if not check_mode:
        iam.delete_password_policy()
    return True, {}


def run_module(module: IAMModule) -> dict[str, t.Any]:
    iam, check_mode = module.iam, module.check_mode
    current = _passwords.policy_from_aws(iam.get_password_policy())
    if module.params["state"] == "absent":
        changed, after = ensure_absent(iam, check_mode=check_mode, current=current)
    else:
        changed, after = ensure_policy(iam, check_mode=check_mode, current=current, params=module.params)
    result: dict[str, t.Any] = {"changed": changed, "policy": after}
    if module._diff:
        result["diff"] = {"before": current or {}, "after": after}
    return result


def main() -> None:
    module = IAMModule(
        argument_spec={
            "min_password_length": {"type": "int", "aliases": ["min_pw_length"], "no_log": False},
            "require_symbols": {"type": "bool"},
            "require_numbers": {"type": "bool"},
            "require_uppercase": {"type": "bool"},
            "require_lowercase": {"type": "bool"},
            "allow_users_to_change_password": {"type": "bool", "aliases": ["allow_pw_change"], "no_log": False},
            "max_password_age": {"type": "int", "aliases": ["pw_max_age"], "no_log": False},
            "password_reuse_prevention": {"type": "int", "aliases": ["pw_reuse_prevent"], "no_log": False},
            "hard_expiry": {"type": "bool", "aliases": ["pw_expire"]},
            "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        },
        supports_check_mode=True,
    )
    module.fail_on_invalid(_passwords.policy_bounds_errors(module.params))
    module.execute(run_module)


if __name__ == "__main__":
    main()
