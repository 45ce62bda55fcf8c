#!/usr/bin/python
# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: iam_user_info
short_description: Read AWS IAM users, one by name, all under a path, or the members of a group
version_added: 1.0.0
description:
  - Returns IAM users with their tags, groups, managed and inline policies, whether they have a console
    password, their MFA devices, their access key IDs with status and their service-specific credentials
    (CodeCommit, Keyspaces, Bedrock; never a secret).
  - With O(name), returns that user (or an empty list when it does not exist).
  - With O(group), returns the members of the group, optionally filtered by O(path_prefix).
  - Otherwise returns every user under O(path_prefix). All list calls are paginated.
author:
  - techsquawks.iam contributors (@techsquawks)
options:
  details:
    description:
      - When V(false), skip the per-user detail calls (groups, policies, login profile, MFA devices,
        access keys, service-specific credentials) and return only the user record, tags and permissions
        boundary. Faster for large listings.
    type: bool
    default: true
  group:
    description:
      - Return the members of this IAM group.
    type: str
    aliases: [group_name]
  name:
    description:
      - Return only this user.
    type: str
    aliases: [user_name]
  path_prefix:
    description:
      - Return only users whose path starts with this prefix, for example V(/example/path/2/).
    type: str
    default: /
    aliases: [path]
extends_documentation_fragment:
  - techsquawks.iam.connection
  - techsquawks.iam.connection.info_attributes
seealso:
  - module: techsquawks.iam.iam_user
"""

EXAMPLES = r"""
- name: Read one user
  techsquawks.iam.iam_user_info:
    name: techsquawks-user
  register: one

- name: List the users under /example/path/2/ (the seed page's `aws iam list-users --path-prefix`)
  techsquawks.iam.iam_user_info:
    path_prefix: /example/path/2/
  register: path2

- name: Names of the members of a group
  techsquawks.iam.iam_user_info:
    group: developers
    details: false
  register: developers

- name: Show them
  ansible.builtin.debug:
    msg: "{{ developers.users | map(attribute='user_name') | list }}"
"""

RETURN = r"""
users:
  description: The users found, sorted by name.
  returned: always
  type: list
  elements: dict
  contains:
    user_name:
      description: The user's name.
      type: str
    user_id:
      description: The user's unique ID.
      type: str
    arn:
      description: The user's ARN.
      type: str
    path:
      description: The user's path.
      type: str
    create_date:
      description: When the user was created (ISO 8601).
      type: str
    password_last_used:
      description: When the console password was last used, if ever.
      type: str
    tags:
      description: The user's tags as a dictionary.
      type: dict
    permissions_boundary:
      description: ARN of the permissions boundary, or null.
      type: str
    groups:
      description: Names of the user's groups (empty when O(details=false)).
      type: list
      elements: str
    managed_policies:
      description: ARNs of attached managed policies (empty when O(details=false)).
      type: list
      elements: str
    inline_policies:
      description: Names of inline policies.
      type: list
      elements: str
      returned: when O(details=true)
    login_profile:
      description: Whether the user has a console password.
      type: bool
      returned: when O(details=true)
    mfa_devices:
      description: The user's MFA devices.
      type: list
      elements: dict
      returned: when O(details=true)
      contains:
        serial_number:
          description: Serial number or ARN of the device.
          type: str
        enable_date:
          description: When it was enabled.
          type: str
    access_keys:
      description: The user's access keys (never secrets).
      type: list
      elements: dict
      returned: when O(details=true)
      contains:
        access_key_id:
          description: The key ID.
          type: str
        status:
          description: V(Active) or V(Inactive).
          type: str
        create_date:
          description: When the key was created.
          type: str
    service_credentials:
      description:
        - The user's service-specific credentials, oldest first (never a password or API key secret).
        - Empty, with a warning, when the endpoint does not implement the call (moto).
      type: list
      elements: dict
      returned: when O(details=true)
      contains:
        service_specific_credential_id:
          description: The credential's ID.
          type: str
        service_name:
          description: The service it is for, for example V(codecommit.amazonaws.com).
          type: str
        service_user_name:
          description: The user name to sign in to the service with (CodeCommit, Keyspaces).
          type: str
        service_credential_alias:
          description: The public part of a Bedrock API key.
          type: str
        status:
          description: V(Active), V(Inactive) or V(Expired).
          type: str
        create_date:
          description: When it was created.
          type: str
        expiration_date:
          description: When a Bedrock API key expires; null when it never does.
          type: str
"""

import typing as t

from ansible_collections.techsquawks.iam.plugins.module_utils import _compare, _service_credential, _validate
from ansible_collections.techsquawks.iam.plugins.module_utils._iam import IAM
from ansible_collections.techsquawks.iam.plugins.module_utils._module import IAMModule


def describe(iam: IAM, raw: dict[str, t.Any], details: bool) -> dict[str, t.Any]:
    """One user in the return shape, from a GetUser record (which, unlike ListUsers, has tags and boundary)."""
    name = raw["UserName"]
    if not details:
        return _compare.user_result(raw)
    user = _compare.user_result(
        raw, groups=iam.list_groups_for_user(name), managed_policies=iam.list_attached_policies(name)
    )
    user["inline_policies"] = sorted(iam.list_inline_policies(name))
    user["login_profile"] = iam.get_login_profile(name) is not None
    user["mfa_devices"] = [
        {"serial_number": device["SerialNumber"], "enable_date": _compare.iso8601(device.get("EnableDate"))}
        for device in iam.list_mfa_devices(name)
    ]
    user["access_keys"] = [
        {
            "access_key_id": key["AccessKeyId"],
            "status": key["Status"],
            "create_date": _compare.iso8601(key.get("CreateDate")),
        }
        for key in iam.list_access_keys(name)
    ]
    user["service_credentials"] = [
        {key: value for key, value in _service_credential.credential_result(raw).items() if key != "user_name"}
        for raw in _service_credential.oldest_first(iam.list_service_specific_credentials(name))
    ]
    return user


def run_module(module: IAMModule) -> dict[str, t.Any]:
    params, iam = module.params, module.iam
    prefix = params["path_prefix"]
    if params["name"]:
        found = iam.get_user(params["name"])
        raw_users = [found] if found and found["Path"].startswith(prefix) else []
    elif params["group"]:
        raw_users = [user for user in iam.list_group_users(params["group"]) if user["Path"].startswith(prefix)]
    else:
        raw_users = iam.list_users(prefix)
    if not params["name"]:
        # ListUsers and GetGroup omit tags and the permissions boundary; GetUser returns both in one call.
        raw_users = [iam.get_user(raw["UserName"]) or raw for raw in raw_users]
    users = [describe(iam, raw, params["details"]) for raw in sorted(raw_users, key=lambda user: user["UserName"])]
    return {"changed": False, "users": users}


def main() -> None:
    module = IAMModule(
        argument_spec={
            "name": {"type": "str", "aliases": ["user_name"]},
            "group": {"type": "str", "aliases": ["group_name"]},
            "path_prefix": {"type": "str", "default": "/", "aliases": ["path"]},
            "details": {"type": "bool", "default": True},
        },
        mutually_exclusive=[["name", "group"]],
        supports_check_mode=True,
    )
    params = module.params
    errors = _validate.user_name("name", params["name"])
    if params["group"]:
        errors += _validate.group_name("group", params["group"])
    if not params["path_prefix"].startswith("/") or len(params["path_prefix"]) > _validate.PATH_MAX:
        errors.append(f"path_prefix '{params['path_prefix']}' must begin with '/' and be at most 512 characters")
    module.fail_on_invalid(errors)
    module.execute(run_module)


if __name__ == "__main__":
    main()
