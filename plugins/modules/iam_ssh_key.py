#!/usr/bin/python
# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: iam_ssh_key
short_description: Manage the SSH public keys of an AWS IAM user (for AWS CodeCommit)
version_added: 1.0.0
description:
  - Uploads, activates, deactivates and deletes one SSH public key of an IAM user.
  - A key is identified by its key material (the RSA modulus and exponent), so the trailing comment and
    whitespace do not matter, the same key given as C(ssh-rsa) or in PEM matches, and a second run uploads nothing.
  - The key is read with the Python C(cryptography) package and validated before any AWS call. AWS accepts
    only RSA keys (C(ssh-rsa) or PEM) of at least 2048 bits, and IAM allows at most five SSH public keys per
    user; both are checked before uploading.
author:
  - techsquawks.iam contributors (@techsquawks)
requirements:
  - cryptography >= 35.0 (a dependency of ansible-core), to read the key
options:
  active:
    description:
      - Whether the key should be V(Active) (V(true)) or V(Inactive) (V(false)).
      - Ignored with O(state=absent).
    type: bool
    default: true
  public_key:
    description:
      - The public key, one line in OpenSSH format (C(ssh-rsa AAAA... comment)), or an RSA public key in
        PEM format (C(-----BEGIN PUBLIC KEY-----) or C(-----BEGIN RSA PUBLIC KEY-----)).
      - The key must be an RSA key of at least 2048 bits, as AWS requires. Other key types, such as
        C(ssh-ed25519) and C(ecdsa-sha2-nistp256), and private keys are refused before any AWS call.
      - Required to upload a key. With O(ssh_public_key_id) as well, both must designate the same key.
    type: str
  ssh_public_key_id:
    description:
      - The ID of an uploaded key (C(APKA...)), to activate, deactivate or delete a key without its body.
      - IDs are assigned by AWS, so a key cannot be uploaded under a chosen ID.
    type: str
    aliases: [id]
  state:
    description:
      - V(present) uploads the key when missing and sets its status; V(absent) deletes it.
      - With V(absent), a key (or user) that does not exist is not an error.
    type: str
    choices: [present, absent]
    default: present
  user_name:
    description:
      - The name of the IAM user that owns the key.
    type: str
    required: true
extends_documentation_fragment:
  - techsquawks.iam.connection
  - techsquawks.iam.connection.attributes
notes:
  - One of O(public_key) and O(ssh_public_key_id) is required.
  - In check mode, when O(user_name) does not exist yet (for example because an earlier task would create
    it), the upload is predicted with a warning instead of failing.
seealso:
  - module: techsquawks.iam.iam_user
  - module: techsquawks.iam.iam_signing_certificate
"""

EXAMPLES = r"""
- name: Give a user an SSH key for CodeCommit
  techsquawks.iam.iam_ssh_key:
    user_name: techsquawks-user
    public_key: "{{ lookup('ansible.builtin.file', 'keys/techsquawks-user.pub') }}"
  register: ssh_key

- name: Show the SSH user name for ~/.ssh/config (Host git-codecommit.*.amazonaws.com)
  ansible.builtin.debug:
    msg: "User {{ ssh_key.ssh_public_key_id }}"

- name: Deactivate the key, found by its body
  techsquawks.iam.iam_ssh_key:
    user_name: techsquawks-user
    public_key: "{{ lookup('ansible.builtin.file', 'keys/techsquawks-user.pub') }}"
    active: false

- name: Delete a key by its ID
  techsquawks.iam.iam_ssh_key:
    user_name: techsquawks-user
    id: APKAEIBAERJR2EXAMPLE
    state: absent
"""

RETURN = r"""
ssh_public_key:
  description: The key after the task (predicted in check mode); empty with O(state=absent).
  returned: always
  type: dict
  contains:
    ssh_public_key_id:
      description: The key's ID; also the SSH user name for CodeCommit. Null when predicted in check mode.
      type: str
      sample: APKAEIBAERJR2EXAMPLE
    fingerprint:
      description:
        - The key's MD5 fingerprint as reported by IAM.
        - For a predicted upload in check mode, computed locally as AWS does (MD5 of the key blob).
      type: str
      sample: "6b:2f:9e:4a:1c:0d:73:55:8e:aa:11:42:c3:7e:00:9f"
    status:
      description: V(Active) or V(Inactive).
      type: str
      sample: Active
    upload_date:
      description: When the key was uploaded (ISO 8601); null when predicted in check mode.
      type: str
      sample: "2026-11-28T15:11:50+00:00"
    user_name:
      description: The user that owns the key.
      type: str
      sample: techsquawks-user
ssh_public_key_id:
  description: Same as RV(ssh_public_key.ssh_public_key_id), for convenience.
  returned: always
  type: str
  sample: APKAEIBAERJR2EXAMPLE
fingerprint:
  description: Same as RV(ssh_public_key.fingerprint), for convenience.
  returned: always
  type: str
  sample: "6b:2f:9e:4a:1c:0d:73:55:8e:aa:11:42:c3:7e:00:9f"
removed:
  description: With O(state=absent), the IDs of the keys deleted (would be, in check mode).
  returned: when O(state=absent)
  type: list
  elements: str
  sample: [APKAEIBAERJR2EXAMPLE]
"""

import typing as t

from ansible_collections.techsquawks.iam.plugins.module_utils import _outcome, _uploaded
from ansible_collections.techsquawks.iam.plugins.module_utils._module import IAMModule
from ansible_collections.techsquawks.iam.plugins.module_utils._ssh_key import SSH_KEY


def run_module(module: IAMModule) -> dict[str, t.Any]:
    params = module.params
    outcome = _uploaded.ensure_item(
        SSH_KEY,
        module.iam,
        check_mode=module.check_mode,
        user_name=params["user_name"],
        body=params[SSH_KEY.body_option],
        item_id=params[SSH_KEY.id_option],
        active=params["active"],
        state=params["state"],
    )
    for warning in outcome.warnings:
        module.warn(warning)
    return _outcome.module_result(outcome, with_diff=module._diff)


def main() -> None:
    module = IAMModule(**_uploaded.module_args(SSH_KEY))
    module.fail_on_invalid(_uploaded.validate(SSH_KEY, module.params))
    module.execute(run_module)


if __name__ == "__main__":
    main()
