# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal use only: this file is not a public API of the collection and may change at any time.

"""X.509 signing certificates of IAM users: PEM parsing and the SIGNING_CERTIFICATE descriptor.

Certificates are read by the ``cryptography`` package; without it every certificate is refused. No boto3 here.
"""

from __future__ import annotations

import base64
import binascii
import re

from ansible_collections.techsquawks.iam.plugins.module_utils import _uploaded
from ansible_collections.techsquawks.iam.plugins.module_utils._iam import IAM

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    HAS_CRYPTOGRAPHY = True
except ImportError:  # every certificate is then refused, naming the option (see _uploaded.validate)
    HAS_CRYPTOGRAPHY = False

MAX_CERTIFICATES_PER_USER = 2
# The PEM framing only: what a block holds is read by cryptography.
_PEM_BLOCK_RE = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.S)


class InvalidCertificate(ValueError):
    """The text is not one usable PEM certificate."""


# -- parsing (pure) -----------------------------------------------------------------------------


def parse_certificate(text: str) -> bytes:
    """The DER bytes of a single PEM X.509 certificate; raise InvalidCertificate explaining why not."""
    if not HAS_CRYPTOGRAPHY:
        raise InvalidCertificate(_uploaded.missing_library_message("cryptography", "certificate_body"))
    text = text.strip()
    blocks = _PEM_BLOCK_RE.findall(text)
    labels = [block[0] for block in blocks]
    if any("PRIVATE KEY" in label for label in labels) or "PRIVATE KEY-----" in text:
        raise InvalidCertificate("it contains a private key; give only the certificate")
    if labels != ["CERTIFICATE"]:
        found = ", ".join(labels) or "no PEM block"
        raise InvalidCertificate(f"it must hold exactly one -----BEGIN CERTIFICATE----- block (found {found})")
    if _PEM_BLOCK_RE.sub("", text).strip():
        raise InvalidCertificate("it has text outside the PEM block")
    try:
        der = base64.b64decode("".join(blocks[0][1].split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidCertificate("its PEM data is not valid base64") from exc
    try:
        certificate = x509.load_der_x509_certificate(der)
    except ValueError as exc:
        # cryptography's reason names the ASN.1 problem and where, never the certificate's content.
        raise InvalidCertificate(f"it is not a valid X.509 certificate ({exc})") from exc
    return certificate.public_bytes(serialization.Encoding.DER)


# -- the descriptor ----------------------------------------------------------------------------


def identity(text: str) -> str:
    """A certificate's identity: the base64 of its DER, whatever the PEM's line endings and wrapping."""
    return base64.b64encode(parse_certificate(text)).decode()


SIGNING_CERTIFICATE = _uploaded.Uploaded(
    noun="signing certificate",
    label="signing certificate",
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
    missing_library=None if HAS_CRYPTOGRAPHY else "cryptography",
)
