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
import re
import typing as t

from ansible_collections.techsquawks.iam.plugins.module_utils import _compare, _validate
from ansible_collections.techsquawks.iam.plugins.module_utils._iam import IAM, IAMError
from ansible_collections.techsquawks.iam.plugins.module_utils._module import IAMModule, ModuleFailure

try:
    from cryptography import x509

    HAS_CRYPTOGRAPHY = True
except ImportError:
    # Optional: without it the PEM structure is still checked, and AWS validates the rest.
    HAS_CRYPTOGRAPHY = False

Certificate = dict[str, t.Any]

MAX_CERTIFICATES_PER_USER = 2
MAX_BODY_LENGTH = 16384
_CERT_ID_RE = re.compile(r"^[A-Za-z0-9_]{24,128}$")
_BODY_RE = re.compile(r"^[\t\n\r\x20-\xff]+$")
_PEM_BLOCK_RE = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.S)


class InvalidCertificate(ValueError):
    """The text is not one usable PEM certificate."""


# -- parsing (pure) -----------------------------------------------------------------------------


def _der_sequence(data: bytes, offset: int) -> int:
    """The offset just after the DER SEQUENCE that starts at ``offset``."""
    if offset + 2 > len(data) or data[offset] != 0x30:
        raise InvalidCertificate("its content is not a DER certificate (no ASN.1 SEQUENCE)")
    length, offset = data[offset + 1], offset + 2
    if length & 0x80:
        size = length & 0x7F
        if not 0 < size <= 4 or offset + size > len(data):
            raise InvalidCertificate("its content has an invalid ASN.1 length")
        length, offset = int.from_bytes(data[offset : offset + size], "big"), offset + size
    if offset + length > len(data):
        raise InvalidCertificate("its content is truncated")
    return offset + length


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
    if _der_sequence(der, 0) != len(der):
        raise InvalidCertificate("its content has trailing bytes")
    _der_sequence(der, 2 if der[1] < 0x80 else 2 + (der[1] & 0x7F))
    if HAS_CRYPTOGRAPHY:
        try:
            x509.load_der_x509_certificate(der)
        except ValueError as exc:
            raise InvalidCertificate(f"it is not a valid X.509 certificate ({exc})") from exc
    return der


def canonical_body(text: str | None) -> str | None:
    """The identity of a certificate body (base64 of its DER), or the stripped text if unparseable."""
    if text is None:
        return None
    try:
        return base64.b64encode(parse_certificate(text)).decode()
    except InvalidCertificate:
        return " ".join(text.split())


# -- state ---------------------------------------------------------------------------------------


def certificate_result(raw: dict[str, t.Any], user_name: str) -> Certificate:
    """The snake_case ``certificate`` return value from an IAM SigningCertificate structure."""
    return {
        "certificate_id": raw.get("CertificateId"),
        "status": raw.get("Status"),
        "upload_date": _compare.iso8601(raw.get("UploadDate")),
        "user_name": raw.get("UserName", user_name),
    }


def read_certificates(iam: IAM, user_name: str) -> list[Certificate] | None:
    """The user's certificates with their identity (``canonical``), or None when the user does not exist."""
    try:
        listed = iam.list_signing_certificates(user_name)
    except IAMError as exc:
        if exc.code == "NoSuchEntity":
            return None
        raise
    return [
        dict(certificate_result(item, user_name), canonical=canonical_body(item.get("CertificateBody")))
        for item in listed
    ]


def select_certificates(
    certificates: list[Certificate], *, canonical: str | None, cert_id: str | None, user_name: str
) -> list[Certificate]:
    """The certificates the task designates: by ID, by body, or by both (which must then agree)."""
    by_id = [cert for cert in certificates if cert["certificate_id"] == cert_id] if cert_id else None
    by_body = [cert for cert in certificates if cert["canonical"] == canonical] if canonical else None
    if by_id is None:
        return by_body or []
    if by_body is None:
        return by_id
    if by_id and by_id[0]["canonical"] != canonical:
        raise ModuleFailure(
            f"certificate_id: certificate {cert_id} of user {user_name} is another certificate than certificate_body"
        )
    if not by_id and by_body:
        other = by_body[0]["certificate_id"]
        raise ModuleFailure(
            f"certificate_id: certificate_body is uploaded for user {user_name} as {other}, not {cert_id}"
        )
    return by_id


def public(cert: Certificate | None) -> Certificate:
    return {name: value for name, value in (cert or {}).items() if name != "canonical"}


def ensure_uploaded(
    iam: IAM, *, check_mode: bool, certificates: list[Certificate], params: dict[str, t.Any]
) -> Certificate:
    """Upload the certificate (always a change; AWS creates it Active), after checking the per-user limit."""
    user_name = params["user_name"]
    if len(certificates) >= MAX_CERTIFICATES_PER_USER:
        listed = ", ".join(cert["certificate_id"] for cert in certificates)
        raise ModuleFailure(
            f"certificate_body: user {user_name} already has {len(certificates)} signing certificates ({listed}), "
            f"the IAM maximum of {MAX_CERTIFICATES_PER_USER}; delete one (state=absent) before uploading another"
        )
    if check_mode:
        return certificate_result({"CertificateId": None, "Status": "Active"}, user_name)
    raw = iam.upload_signing_certificate(user_name, params["certificate_body"].strip())
    return certificate_result(raw, user_name)


def ensure_status(
    iam: IAM, *, check_mode: bool, current: Certificate, params: dict[str, t.Any]
) -> tuple[bool, Certificate]:
    desired = "Active" if params["active"] else "Inactive"
    if current["status"] == desired:
        return False, current
    if not check_mode:
        iam.update_signing_certificate(params["user_name"], current["certificate_id"], desired)
    return True, dict(current, status=desired)


def ensure_absent(
    iam: IAM, *, check_mode: bool, targets: list[Certificate], params: dict[str, t.Any]
) -> tuple[bool, Certificate]:
    # AWS refuses duplicates (DuplicateCertificate); moto accepts them, and absent means none is left.
    if not check_mode:
        for cert in targets:
            iam.delete_signing_certificate(params["user_name"], cert["certificate_id"])
    return bool(targets), {}


def run_module(module: IAMModule) -> dict[str, t.Any]:
    params, iam, check_mode = module.params, module.iam, module.check_mode
    user_name, cert_id = params["user_name"], params["certificate_id"]
    canonical = canonical_body(params["certificate_body"])
    certificates = read_certificates(iam, user_name)
    if certificates is None and params["state"] == "present":
        if not check_mode:
            raise ModuleFailure(f"user_name: user {user_name} does not exist")
        module.warn(f"User {user_name} does not exist; assuming an earlier task would create it.")
    certificates = certificates or []
    targets = select_certificates(certificates, canonical=canonical, cert_id=cert_id, user_name=user_name)
    # moto accepts duplicates: prefer the copy that already has the wanted status.
    targets.sort(key=lambda cert: cert["status"] != ("Active" if params["active"] else "Inactive"))
    before = public(targets[0]) if targets else {}

    if params["state"] == "absent":
        changed, after = ensure_absent(iam, check_mode=check_mode, targets=targets, params=params)
        result: dict[str, t.Any] = {"changed": changed, "removed": [cert["certificate_id"] for cert in targets]}
    elif targets:
        changed, after = ensure_status(iam, check_mode=check_mode, current=public(targets[0]), params=params)
        result = {"changed": changed}
    elif canonical is None:
        raise ModuleFailure(
            f"certificate_id: user {user_name} has no signing certificate {cert_id}; give certificate_body"
        )
    elif cert_id:
        raise ModuleFailure(
            f"certificate_id: user {user_name} has no signing certificate {cert_id}; omit it to upload certificate_body"
        )
    else:
        after = ensure_uploaded(iam, check_mode=check_mode, certificates=certificates, params=params)
        after = ensure_status(iam, check_mode=check_mode, current=after, params=params)[1]
        result = {"changed": True}

    result.update(certificate=after, certificate_id=after.get("certificate_id"))
    if module._diff:
        result["diff"] = {"before": before, "after": after}
    return result


def validate(params: dict[str, t.Any]) -> list[str]:
    errors = _validate.user_name("user_name", params["user_name"])
    cert_id, body = params["certificate_id"], params["certificate_body"]
    if cert_id is not None and not _CERT_ID_RE.match(cert_id):
        errors.append(f"certificate_id '{cert_id[:140]}' must be 24 to 128 letters, digits or underscores")
    if body is not None:
        if len(body.strip()) > MAX_BODY_LENGTH or not _BODY_RE.match(body):
            errors.append(f"certificate_body must be 1 to {MAX_BODY_LENGTH} characters of printable Latin-1 text")
        else:
            try:
                parse_certificate(body)
            except InvalidCertificate as exc:
                errors.append(f"certificate_body is not a usable PEM certificate: {exc}")
    return errors


def main() -> None:
    module = IAMModule(
        argument_spec={
            "user_name": {"type": "str", "required": True},
            "certificate_body": {"type": "str"},
            "certificate_id": {"type": "str", "aliases": ["id"]},
            "active": {"type": "bool", "default": True},
            "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        },
        required_one_of=[["certificate_body", "certificate_id"]],
        supports_check_mode=True,
    )
    module.fail_on_invalid(validate(module.params))
    module.execute(run_module)


if __name__ == "__main__":
    main()
