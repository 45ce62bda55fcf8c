#!/usr/bin/python
# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: iam_signing_certificate
short_description: Manage the X.509 signing certificates of an AWS IAM user
version_added: 1.0.0
description:
  - Uploads, activates, deactivates and deletes one X.509 signing certificate of an IAM user.
  - A certificate is identified by its DER content, so line endings, line wrapping and surrounding
    whitespace of the PEM text do not matter and a second run uploads nothing.
  - The PEM text is read as an X.509 certificate with the Python C(cryptography) package before any AWS
    call, and refused when it is not one. IAM allows at most two signing certificates per user, active or
    inactive; this is checked before uploading.
author:
  - techsquawks.iam contributors (@techsquawks)
requirements:
  - cryptography >= 35.0 (a dependency of ansible-core), to read the certificate
options:
  active:
    description:
      - Whether the certificate should be V(Active) (V(true)) or V(Inactive) (V(false)).
      - Ignored with O(state=absent).
    type: bool
    default: true
  certificate_body:
    description:
      - The certificate in PEM format, one C(-----BEGIN CERTIFICATE-----) block.
      - Required to upload a certificate. With O(certificate_id) as well, both must designate the same
        certificate.
    type: str
  certificate_id:
    description:
      - The ID of an uploaded certificate, to activate, deactivate or delete it without its body.
      - IDs are assigned by AWS, so a certificate cannot be uploaded under a chosen ID.
    type: str
    aliases: [id]
  state:
    description:
      - V(present) uploads the certificate when missing and sets its status; V(absent) deletes it.
      - With V(absent), a certificate (or user) that does not exist is not an error.
    type: str
    choices: [present, absent]
    default: present
  user_name:
    description:
      - The name of the IAM user that owns the certificate.
    type: str
    required: true
extends_documentation_fragment:
  - techsquawks.iam.connection
  - techsquawks.iam.connection.attributes
notes:
  - One of O(certificate_body) and O(certificate_id) is required.
  - In check mode, when O(user_name) does not exist yet (for example because an earlier task would create
    it), the upload is predicted with a warning instead of failing.
seealso:
  - module: techsquawks.iam.iam_user
  - module: techsquawks.iam.iam_ssh_key
"""

EXAMPLES = r"""
- name: Upload a signing certificate for a user
  techsquawks.iam.iam_signing_certificate:
    user_name: techsquawks-user
    certificate_body: "{{ lookup('ansible.builtin.file', 'certs/techsquawks-user.pem') }}"
  register: signing_cert

- name: Deactivate it by ID
  techsquawks.iam.iam_signing_certificate:
    user_name: techsquawks-user
    certificate_id: "{{ signing_cert.certificate_id }}"
    active: false

- name: Delete it, found by its body
  techsquawks.iam.iam_signing_certificate:
    user_name: techsquawks-user
    certificate_body: "{{ lookup('ansible.builtin.file', 'certs/techsquawks-user.pem') }}"
    state: absent
"""

RETURN = r"""
certificate:
  description: The certificate after the task (predicted in check mode); empty with O(state=absent).
  returned: always
  type: dict
  contains:
    certificate_id:
      description: The certificate's ID; null when predicted in check mode.
      type: str
      sample: TA7SMP42TDN5Z26OBPJE7EXAMPLE
    status:
      description: V(Active) or V(Inactive).
      type: str
      sample: Active
    upload_date:
      description: When the certificate was uploaded (ISO 8601); null when predicted in check mode.
      type: str
      sample: "2026-11-28T15:11:50+00:00"
    user_name:
      description: The user that owns the certificate.
      type: str
      sample: techsquawks-user
certificate_id:
  description: Same as RV(certificate.certificate_id), for convenience.
  returned: always
  type: str
  sample: TA7SMP42TDN5Z26OBPJE7EXAMPLE
removed:
  description: With O(state=absent), the IDs of the certificates deleted (would be, in check mode).
  returned: when O(state=absent)
  type: list
  elements: str
  sample: [TA7SMP42TDN5Z26OBPJE7EXAMPLE]
"""

import typing as t

from ansible_collections.techsquawks.iam.plugins.module_utils import _outcome, _uploaded
from ansible_collections.techsquawks.iam.plugins.module_utils._module import IAMModule
from ansible_collections.techsquawks.iam.plugins.module_utils._signing_certificate import SIGNING_CERTIFICATE


def run_module(module: IAMModule) -> dict[str, t.Any]:
    params = module.params
    outcome = _uploaded.ensure_item(
        SIGNING_CERTIFICATE,
        module.iam,
        check_mode=module.check_mode,
        user_name=params["user_name"],
        body=params[SIGNING_CERTIFICATE.body_option],
        item_id=params[SIGNING_CERTIFICATE.id_option],
        active=params["active"],
        state=params["state"],
    )
    for warning in outcome.warnings:
        module.warn(warning)
    return _outcome.module_result(outcome, with_diff=module._diff)


def main() -> None:
    module = IAMModule(**_uploaded.module_args(SIGNING_CERTIFICATE))
    module.fail_on_invalid(_uploaded.validate(SIGNING_CERTIFICATE, module.params))
    module.execute(run_module)


if __name__ == "__main__":
    main()
