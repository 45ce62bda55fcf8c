#!/usr/bin/python
# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: iam_user
short_description: Manage an AWS IAM user, its path, tags, groups, managed policies and permissions boundary
version_added: 1.0.0
description:
  - Creates, updates, renames, moves and deletes an IAM user.
  - Every aspect is optional; an option left unset is not managed and never causes a change.
  - With O(state=absent) and O(force=true), every dependent that C(DeleteUser) requires is removed first
    (login profile, access keys, signing certificates, SSH keys, service-specific credentials, MFA
    devices, inline and attached policies, group memberships).
author:
  - techsquawks.iam contributors (@techsquawks)
options:
  force:
    description:
      - With O(state=absent), remove every dependent of the user before deleting it.
      - With V(false), the module fails and lists the dependents that block the deletion.
    type: bool
    default: false
  groups:
    description:
      - Names of the IAM groups the user should belong to.
      - The user is added to missing groups; other memberships are kept unless O(purge_groups=true).
    type: list
    elements: str
  managed_policies:
    description:
      - ARNs of managed policies to attach to the user.
      - Other attached policies are kept unless O(purge_policies=true).
    type: list
    elements: str
    aliases: [managed_policy]
  name:
    description:
      - The user's name. Case-insensitive in IAM; 1 to 64 characters of C([A-Za-z0-9_+=,.@-]).
    type: str
    required: true
    aliases: [user_name]
  new_name:
    description:
      - Rename the user found as O(name) to this name. Tags, groups, policies and credentials survive.
      - Idempotent, when O(name) no longer exists but O(new_name) does, the rename is already done.
      - A rename that changes only letter case is refused, because IAM names are case-insensitive.
      - Cannot be combined with O(state=absent); to delete a renamed user, set O(name) to its current name.
    type: str
  new_path:
    description:
      - Move the user found as O(name) to this path. Same effect as O(path) on an existing user.
      - Cannot be combined with O(state=absent).
    type: str
  path:
    description:
      - The user's path, V(/) or a string that begins and ends with V(/), such as V(/example/path/1/).
      - Used when the user is created (default V(/)); on an existing user a different path moves it.
    type: str
  permissions_boundary:
    description:
      - ARN of a managed policy to set as the user's permissions boundary.
      - Set to an empty string to remove the boundary.
    type: str
    aliases: [boundary]
  purge_groups:
    description:
      - Remove the user from groups not listed in O(groups). Ignored when O(groups) is not set.
    type: bool
    default: false
  purge_policies:
    description:
      - Detach managed policies not listed in O(managed_policies). Ignored when it is not set.
    type: bool
    default: false
    aliases: [purge_policy]
  purge_tags:
    description:
      - Remove tags not listed in O(tags). Ignored when O(tags) is not set. Tags with the C(aws:)
        prefix are never removed.
    type: bool
    default: true
  state:
    description:
      - V(present) creates or updates the user; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  tags:
    description:
      - Tags as a dictionary. At most 50; keys up to 128 and values up to 256 characters.
    type: dict
    aliases: [resource_tags]
extends_documentation_fragment:
  - techsquawks.iam.connection
  - techsquawks.iam.connection.attributes
seealso:
  - module: techsquawks.iam.iam_user_info
  - module: techsquawks.iam.iam_access_key
  - module: techsquawks.iam.iam_login_profile
"""

EXAMPLES = r"""
- name: Create the user from the seed page
  techsquawks.iam.iam_user:
    name: techsquawks-user

- name: A user under a path, with tags, groups and a managed policy
  techsquawks.iam.iam_user:
    name: techsquawks-user-2
    path: /example/path/2/
    tags:
      team: platform
      cost-center: "1234"
    groups: [developers]
    managed_policies:
      - arn:aws:iam::aws:policy/ReadOnlyAccess
    permissions_boundary: arn:aws:iam::123456789012:policy/developer-boundary

- name: Make group membership exact (remove the user from any other group)
  techsquawks.iam.iam_user:
    name: techsquawks-user-2
    groups: [developers, on-call]
    purge_groups: true

- name: Rename and move a user in place (a second run reports no change)
  techsquawks.iam.iam_user:
    name: jdoe
    new_name: jane.doe
    new_path: /staff/

- name: Offboard a user and everything that depends on it
  techsquawks.iam.iam_user:
    name: jane.doe
    state: absent
    force: true

- name: Set the connection once for every module of the collection
  module_defaults:
    group/techsquawks.iam.aws:
      endpoint_url: http://127.0.0.1:5000
      region: us-east-1
  block:
    - name: Create a user against a local moto server
      techsquawks.iam.iam_user:
        name: test-user
"""

RETURN = r"""
user:
  description: The user after the task (predicted in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    user_name:
      description: The user's name.
      type: str
      sample: techsquawks-user
    user_id:
      description: The stable, unique ID of the user.
      type: str
      sample: AIDAEXAMPLEUSERID0001
    arn:
      description: The user's ARN.
      type: str
      sample: arn:aws:iam::123456789012:user/example/path/2/techsquawks-user-2
    path:
      description: The user's path.
      type: str
      sample: /example/path/2/
    create_date:
      description: When the user was created (ISO 8601).
      type: str
      sample: "2026-11-28T15:11:50+00:00"
    password_last_used:
      description: When the user's password was last used to sign in, if ever.
      type: str
    tags:
      description: The user's tags.
      type: dict
      sample: {"team": "platform"}
    permissions_boundary:
      description: ARN of the permissions boundary policy, or null.
      type: str
    groups:
      description: Names of the groups the user belongs to, sorted.
      type: list
      elements: str
    managed_policies:
      description: ARNs of the managed policies attached to the user, sorted.
      type: list
      elements: str
removed:
  description:
    - With O(state=absent), the dependents removed before deleting the user (would be, in check mode).
  returned: when a user was deleted
  type: dict
  sample:
    access_keys: [AKIA2EXAMPLE7KEYID]
    groups: [developers]
    inline_policies: []
    login_profile: true
    managed_policies: []
    mfa_devices: ["arn:aws:iam::123456789012:mfa/jane"]
    service_specific_credentials: []
    signing_certificates: []
    ssh_public_keys: []
"""

import typing as t

from ansible_collections.techsquawks.iam.plugins.module_utils import _outcome, _user, _validate
from ansible_collections.techsquawks.iam.plugins.module_utils._module import IAMModule


def run_module(module: IAMModule) -> dict[str, t.Any]:
    """Adapt the options to a UserSpec and the Outcome to the module's result."""
    params, iam, check_mode = module.params, module.iam, module.check_mode
    spec = _user.UserSpec(
        name=params["name"],
        path=params["path"],
        new_name=params["new_name"],
        new_path=params["new_path"],
        tags=params["tags"],
        purge_tags=params["purge_tags"],
        permissions_boundary=params["permissions_boundary"],
        managed_policies=params["managed_policies"],
        purge_policies=params["purge_policies"],
        groups=params["groups"],
        purge_groups=params["purge_groups"],
    )
    current = _user.find(iam, spec)
    if params["state"] == "absent":
        outcome = _user.ensure_absent(iam, check_mode=check_mode, current=current, force=params["force"])
    else:
        outcome = _user.ensure_present(iam, check_mode=check_mode, current=current, spec=spec)
    for warning in outcome.warnings:
        module.warn(warning)
    # A user that is absent and stays absent has never had a diff in the result.
    return _outcome.module_result(outcome, with_diff=module._diff and bool(outcome.before or outcome.after))


def validate(params: dict[str, t.Any]) -> list[str]:
    errors = _validate.user_name("name", params["name"]) + _validate.user_name("new_name", params["new_name"])
    if params["state"] == "absent":
        # Finding the user falls back to new_name (a completed rename), so absent would delete that user.
        errors += [
            f"{option}: cannot be combined with state=absent; set name to the user to delete"
            for option in ("new_name", "new_path")
            if params[option]
        ]
    new_name = params["new_name"]
    if new_name and new_name != params["name"] and new_name.lower() == params["name"].lower():
        errors.append(
            f"new_name: '{new_name}' differs from '{params['name']}' only in letter case; IAM user names are "
            "case-insensitive, so AWS refuses this rename (rename to a temporary name first)"
        )
    errors += _validate.path("path", params["path"]) + _validate.path("new_path", params["new_path"])
    errors += _validate.tags("tags", params["tags"])
    if params["permissions_boundary"]:
        errors += _validate.policy_arn("permissions_boundary", params["permissions_boundary"])
    for arn in params["managed_policies"] or []:
        errors += _validate.policy_arn("managed_policies", arn)
    for group in params["groups"] or []:
        errors += _validate.group_name("groups", group)
    return errors


def main() -> None:
    module = IAMModule(
        argument_spec={
            "name": {"type": "str", "required": True, "aliases": ["user_name"]},
            "path": {"type": "str"},
            "new_name": {"type": "str"},
            "new_path": {"type": "str"},
            "tags": {"type": "dict", "aliases": ["resource_tags"]},
            "purge_tags": {"type": "bool", "default": True},
            "permissions_boundary": {"type": "str", "aliases": ["boundary"]},
            "managed_policies": {"type": "list", "elements": "str", "aliases": ["managed_policy"]},
            "purge_policies": {"type": "bool", "default": False, "aliases": ["purge_policy"]},
            "groups": {"type": "list", "elements": "str"},
            "purge_groups": {"type": "bool", "default": False},
            "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
            "force": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    module.fail_on_invalid(validate(module.params))
    module.execute(run_module)


if __name__ == "__main__":
    main()
