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
    type: str
  new_path:
    description:
      - Move the user found as O(name) to this path. Same effect as O(path) on an existing user.
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

from ansible_collections.techsquawks.iam.plugins.module_utils import _compare, _validate
from ansible_collections.techsquawks.iam.plugins.module_utils._iam import IAM
from ansible_collections.techsquawks.iam.plugins.module_utils._module import IAMModule, ModuleFailure

User = dict[str, t.Any]


def read_user(iam: IAM, name: str) -> User | None:
    """The managed state of a user (the ``user`` return shape), or None when it does not exist."""
    raw = iam.get_user(name)
    if raw is None:
        return None
    return _compare.user_result(
        raw,
        groups=iam.list_groups_for_user(raw["UserName"]),
        managed_policies=iam.list_attached_policies(raw["UserName"]),
    )


def find_user(iam: IAM, params: dict[str, t.Any]) -> User | None:
    """Find the user by ``name``; after a completed rename, find it by ``new_name`` instead."""
    current = read_user(iam, params["name"])
    new_name = params.get("new_name")
    if new_name and new_name != params["name"]:
        renamed = read_user(iam, new_name)
        if current and renamed:
            raise ModuleFailure(f"new_name: cannot rename {params['name']} to {new_name}, which already exists")
        current = current or renamed
    return current


def ensure_exists(iam: IAM, *, check_mode: bool, params: dict[str, t.Any]) -> tuple[bool, User]:
    """Create the user (with path, tags and boundary in the one call AWS allows)."""
    name = params.get("new_name") or params["name"]
    path = params.get("new_path") or params.get("path") or "/"
    tags = params.get("tags") or {}
    if check_mode:
        return True, _compare.user_result({"UserName": name, "Path": path}, tags=dict(tags))
    created = iam.create_user(name, path, _compare.dict_to_tags(tags))
    return True, _compare.user_result(created, tags=dict(tags))


def ensure_identity(iam: IAM, *, check_mode: bool, current: User, params: dict[str, t.Any]) -> tuple[bool, User]:
    """Rename and/or move the user in place."""
    new_name = params.get("new_name")
    new_path = params.get("new_path") or params.get("path")
    rename = new_name if new_name and new_name != current["user_name"] else None
    move = new_path if new_path and new_path != current["path"] else None
    if not rename and not move:
        return False, current
    if not check_mode:
        iam.update_user(current["user_name"], new_name=rename, new_path=move)
    after = dict(current, user_name=rename or current["user_name"], path=move or current["path"])
    if current.get("arn"):
        account_prefix = current["arn"].split(":user/")[0]
        after["arn"] = f"{account_prefix}:user{after['path']}{after['user_name']}"
    return True, after


def ensure_tags(iam: IAM, *, check_mode: bool, current: User, params: dict[str, t.Any]) -> tuple[bool, User]:
    to_set, to_remove = _compare.tag_delta(current["tags"], params.get("tags"), params["purge_tags"])
    if not to_set and not to_remove:
        return False, current
    if not check_mode:
        if to_remove:
            iam.untag_user(current["user_name"], to_remove)
        if to_set:
            iam.tag_user(current["user_name"], _compare.dict_to_tags(to_set))
    return True, dict(current, tags=_compare.apply_tag_delta(current["tags"], to_set, to_remove))


def ensure_boundary(iam: IAM, *, check_mode: bool, current: User, params: dict[str, t.Any]) -> tuple[bool, User]:
    desired = params.get("permissions_boundary")
    if desired is None or desired == (current["permissions_boundary"] or ""):
        return False, current
    if not check_mode:
        if desired:
            iam.put_permissions_boundary(current["user_name"], desired)
        else:
            iam.delete_permissions_boundary(current["user_name"])
    return True, dict(current, permissions_boundary=desired or None)


def ensure_policies(iam: IAM, *, check_mode: bool, current: User, params: dict[str, t.Any]) -> tuple[bool, User]:
    to_add, to_remove = _compare.list_delta(
        current["managed_policies"], params.get("managed_policies"), params["purge_policies"]
    )
    if not to_add and not to_remove:
        return False, current
    if not check_mode:
        for arn in to_remove:
            iam.detach_policy(current["user_name"], arn)
        for arn in to_add:
            iam.attach_policy(current["user_name"], arn)
    return True, dict(
        current, managed_policies=_compare.apply_list_delta(current["managed_policies"], to_add, to_remove)
    )


def ensure_groups(iam: IAM, *, check_mode: bool, current: User, params: dict[str, t.Any]) -> tuple[bool, User]:
    to_add, to_remove = _compare.list_delta(current["groups"], params.get("groups"), params["purge_groups"])
    if not to_add and not to_remove:
        return False, current
    if not check_mode:
        for group in to_remove:
            iam.remove_user_from_group(current["user_name"], group)
        for group in to_add:
            iam.add_user_to_group(current["user_name"], group)
    return True, dict(current, groups=_compare.apply_list_delta(current["groups"], to_add, to_remove))


def list_dependents(iam: IAM, name: str, current: User) -> dict[str, t.Any]:
    """Everything DeleteUser requires to be gone first, read with paginated list calls."""
    return {
        "login_profile": iam.get_login_profile(name) is not None,
        "access_keys": [key["AccessKeyId"] for key in iam.list_access_keys(name)],
        "signing_certificates": [cert["CertificateId"] for cert in iam.list_signing_certificates(name)],
        "ssh_public_keys": [key["SSHPublicKeyId"] for key in iam.list_ssh_public_keys(name)],
        "service_specific_credentials": [
            cred["ServiceSpecificCredentialId"] for cred in iam.list_service_specific_credentials(name)
        ],
        "mfa_devices": [device["SerialNumber"] for device in iam.list_mfa_devices(name)],
        "inline_policies": iam.list_inline_policies(name),
        "managed_policies": list(current["managed_policies"]),
        "groups": list(current["groups"]),
    }


def remove_dependents(iam: IAM, name: str, dependents: dict[str, t.Any]) -> None:
    """Remove the dependents in an order IAM accepts (credentials, MFA, policies, groups)."""
    if dependents["login_profile"]:
        iam.delete_login_profile(name)
    for key_id in dependents["access_keys"]:
        iam.delete_access_key(name, key_id)
    for cert_id in dependents["signing_certificates"]:
        iam.delete_signing_certificate(name, cert_id)
    for key_id in dependents["ssh_public_keys"]:
        iam.delete_ssh_public_key(name, key_id)
    for cred_id in dependents["service_specific_credentials"]:
        iam.delete_service_specific_credential(name, cred_id)
    for serial in dependents["mfa_devices"]:
        iam.deactivate_mfa_device(name, serial)
        # Hardware and FIDO devices only need deactivation; virtual ones are account resources.
        if ":mfa/" in serial:
            iam.delete_virtual_mfa_device(serial)
    for policy in dependents["inline_policies"]:
        iam.delete_inline_policy(name, policy)
    for arn in dependents["managed_policies"]:
        iam.detach_policy(name, arn)
    for group in dependents["groups"]:
        iam.remove_user_from_group(name, group)


def ensure_absent(module: IAMModule, current: User | None) -> dict[str, t.Any]:
    if current is None:
        return {"changed": False, "user": {}}
    iam, name = module.iam, current["user_name"]
    dependents = list_dependents(iam, name, current)
    blockers = {kind: value for kind, value in dependents.items() if value}
    if blockers and not module.params["force"]:
        listed = ", ".join(f"{kind} ({value if value is not True else 'present'})" for kind, value in blockers.items())
        raise ModuleFailure(
            f"force: user {name} still has {listed}; set force=true to remove them with the user", blockers=blockers
        )
    if not module.check_mode:
        remove_dependents(iam, name, dependents)
        iam.delete_user(name)
    result: dict[str, t.Any] = {"changed": True, "user": {}, "removed": dependents}
    if module._diff:
        result["diff"] = {"before": current, "after": {}}
    return result


def run_module(module: IAMModule) -> dict[str, t.Any]:
    params, iam, check_mode = module.params, module.iam, module.check_mode
    current = find_user(iam, params)
    if params["state"] == "absent":
        return ensure_absent(module, current)

    changed = False
    before = current or {}
    if current is None:
        changed, current = ensure_exists(iam, check_mode=check_mode, params=params)
        # CreateUser already applied path and tags; the boundary, policies and groups follow.
    for ensure in (ensure_identity, ensure_tags, ensure_boundary, ensure_policies, ensure_groups):
        aspect_changed, current = ensure(iam, check_mode=check_mode, current=current, params=params)
        changed = changed or aspect_changed

    result: dict[str, t.Any] = {"changed": changed, "user": current}
    if module._diff:
        result["diff"] = {"before": before, "after": current}
    return result


def validate(params: dict[str, t.Any]) -> list[str]:
    errors = _validate.user_name("name", params["name"]) + _validate.user_name("new_name", params["new_name"])
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
