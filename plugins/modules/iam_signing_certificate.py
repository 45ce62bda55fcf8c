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
  - The PEM text is checked before any AWS call (fully when the Python C(cryptography) package is
    installed, structurally otherwise). IAM allows at most two signing certificates per user, active or
    inactive; this is checked before uploading.
author:
  - techsquawks.iam contributors (@techsquawks)
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

import base64
import binascii
import functools
import re

from ansible_collections.techsquawks.iam.plugins.module_utils import _uploaded
from ansible_collections.techsquawks.iam.plugins.module_utils._iam import IAM
from ansible_collections.techsquawks.iam.plugins.module_utils._module import IAMModule

try:
    from cryptography import x509

    HAS_CRYPTOGRAPHY = True
except ImportError:
    # Optional: without it the PEM structure is still checked, and AWS validates the rest.
    HAS_CRYPTOGRAPHY = False

MAX_CERTIFICATES_PER_USER = 2
_PEM_BLOCK_RE = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.S)


class InvalidCertificate(ValueError):
    """The text is not one usable PEM certificate."""


# -- parsing (pure) -----------------------------------------------------------------------------


_DER_PROBLEMS = {
    "tag": "its content is not a DER certificate (no ASN.1 SEQUENCE)",
    "length": "its content has an invalid ASN.1 length",
    "truncated": "its content is truncated",
}


def _der_sequence(data: bytes, offset: int) -> tuple[bytes, int]:
    """The content of the DER SEQUENCE that starts at ``offset``, and the offset just after it."""
    return _uploaded.der_element(data, offset, 0x30, invalid=InvalidCertificate, problems=_DER_PROBLEMS)


def parse_certificate(text: str) -> bytes:
    """The DER bytes of a single PEM certificate; raise InvalidCertificate explaining why not."""
    text = text.strip()
    blocks = _PEM_BLOCK_RE.findall(text)
    labels = [block[0] for block in blocks]
    if any("PRIVATE KEY" in label for label in labels) or "PRIVATE KEY-----" in text:
        raise InvalidCertificate("it contains a private key; give only the certificate")
    if labels.count("CERTIFICATE") != 1 or len(labels) != 1:
        found = ", ".join(labels) or "no PEM block"
        raise InvalidCertificate(f"it must hold exactly one -----BEGIN CERTIFICATE----- block (found {found})")
    if _PEM_BLOCK_RE.sub("", text).strip():
        raise InvalidCertificate("it has text outside the PEM block")
    try:
        der = base64.b64decode("".join(blocks[0][1].split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidCertificate("its PEM data is not valid base64") from exc
    # Certificate ::= SEQUENCE { tbsCertificate SEQUENCE, signatureAlgorithm, signature }
    content, end = _der_sequence(der, 0)
    if end != len(der):
        raise InvalidCertificate("its content has trailing bytes")
    _der_sequence(content, 0)
    if HAS_CRYPTOGRAPHY:
        try:
            x509.load_der_x509_certificate(der)
        except ValueError as exc:
            raise InvalidCertificate(f"it is not a valid X.509 certificate ({exc})") from exc
    return der


# -- state ---------------------------------------------------------------------------------------


def identity(text: str) -> str:
    """A certificate's identity: the base64 of its DER, whatever the PEM's line endings and wrapping."""
    return base64.b64encode(parse_certificate(text)).decode()


SIGNING_CERTIFICATE = _uploaded.Uploaded(
    noun="signing certificate",
    plural="signing certificates",
    body_option="certificate_body",
    id_option="certificate_id",
    id_field="CertificateId",
    body_field="CertificateBody",
    min_id_length=24,
    limit=MAX_CERTIFICATES_PER_USER,
    usable="PEM certificate",
    mismatch="certificate {id} of user {user} is another certificate than certificate_body",
    result_key="certificate",
    returns=("certificate_id",),
    invalid=InvalidCertificate,
    identity=identity,
    # ListSigningCertificates returns the bodies: no get needed.
    list_items=IAM.list_signing_certificates,
    upload=IAM.upload_signing_certificate,
    update=IAM.update_signing_certificate,
    delete=IAM.delete_signing_certificate,
)


def main() -> None:
    module = IAMModule(**_uploaded.module_args(SIGNING_CERTIFICATE))
    module.fail_on_invalid(_uploaded.validate(SIGNING_CERTIFICATE, module.params))
    module.execute(functools.partial(_uploaded.run_module, SIGNING_CERTIFICATE))


if __name__ == "__main__":
    main()
