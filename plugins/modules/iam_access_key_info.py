#!/usr/bin/python
# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: iam_access_key_info
short_description: List the access keys of an IAM user, with their age and when they were last used
version_added: 1.0.0
description:
  - Returns every access key of one user, oldest first, with its status, creation date, age in days and
    when, where and for which service it was last used (C(GetAccessKeyLastUsed)).
  - Never returns secrets; AWS does not keep them readable.
author:
  - techsquawks.iam contributors (@techsquawks)
options:
  user_name:
    description:
      - The name of the IAM user whose keys to list. The task fails when the user does not exist.
    type: str
    required: true
    aliases: [user, username]
extends_documentation_fragment:
  - techsquawks.iam.connection
  - techsquawks.iam.connection.info_attributes
seealso:
  - module: techsquawks.iam.iam_access_key
"""

EXAMPLES = r"""
- name: List a user's keys
  techsquawks.iam.iam_access_key_info:
    user_name: techsquawks-user
  register: keys

- name: Report active keys older than 90 days, with their last use
  ansible.builtin.debug:
    msg: "{{ item.access_key_id }} is {{ item.age_days }} days old, last used {{ item.last_used.date }}"
  loop: "{{ keys.access_keys | selectattr('status', 'eq', 'Active') }}"
  when: item.age_days >= 90
"""

RETURN = r"""
access_keys:
  description: The user's access keys, oldest first.
  returned: always
  type: list
  elements: dict
  contains:
    access_key_id:
      description: The key's ID.
      type: str
      sample: AKIA2EXAMPLE7KEYID
    status:
      description: V(Active) or V(Inactive).
      type: str
      sample: Active
    create_date:
      description: When the key was created (ISO 8601).
      type: str
      sample: "2026-11-28T15:11:50+00:00"
    age_days:
      description: Whole days since the key was created.
      type: int
      sample: 42
    user_name:
      description: The user who owns the key.
      type: str
      sample: techsquawks-user
    last_used:
      description: The key's last use; every field is null when it has never been used.
      type: dict
      contains:
        date:
          description: When the key was last used (ISO 8601).
          type: str
          sample: "2026-11-28T15:20:03+00:00"
        service_name:
          description: The AWS service it was last used with.
          type: str
          sample: sts
        region:
          description: The region it was last used in.
          type: str
          sample: us-east-1
"""

import typing as t

from ansible_collections.techsquawks.iam.plugins.module_utils import _compare, _validate
from ansible_collections.techsquawks.iam.plugins.module_utils._module import IAMModule

# GetAccessKeyLastUsed answers "N/A" for the service and region of a key that was never used.
NOT_USED = "N/A"


def last_used_result(last_used: dict[str, t.Any]) -> dict[str, t.Any]:
    def known(value: t.Any) -> t.Any:
        return None if value in (None, NOT_USED) else value

    return {
        "date": _compare.iso8601(last_used.get("LastUsedDate")),
        "service_name": known(last_used.get("ServiceName")),
        "region": known(last_used.get("Region")),
    }


def key_info(key: dict[str, t.Any], last_used: dict[str, t.Any]) -> dict[str, t.Any]:
    return {
        "access_key_id": key["AccessKeyId"],
        "status": key["Status"],
        "create_date": _compare.iso8601(key["CreateDate"]),
        "age_days": _compare.age_in_days(key["CreateDate"]),
        "user_name": key["UserName"],
        "last_used": last_used_result(last_used),
    }


def run_module(module: IAMModule) -> dict[str, t.Any]:
    iam = module.iam
    keys = sorted(iam.list_access_keys(module.params["user_name"]), key=lambda key: key["CreateDate"])
    return {
        "changed": False,
        "access_keys": [key_info(key, iam.get_access_key_last_used(key["AccessKeyId"])) for key in keys],
    }


def main() -> None:
    module = IAMModule(
        argument_spec={"user_name": {"type": "str", "required": True, "aliases": ["user", "username"]}},
        supports_check_mode=True,
    )
    module.fail_on_invalid(_validate.user_name("user_name", module.params["user_name"]))
    module.execute(run_module)


if __name__ == "__main__":
    main()
