"""Test data shared by unit and integration tests: self-signed X.509 certificates in PEM."""

from __future__ import annotations

import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

# EC keys are fast to generate; IAM accepts any X.509 certificate for signing.
_KEY = ec.generate_private_key(ec.SECP256R1())


def self_signed_certificate(common_name: str = "techsquawks-user", days: int = 30) -> str:
    """A new self-signed certificate (a new serial each call), valid from yesterday for ``days`` days."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(_KEY.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .sign(_KEY, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def rewrap(pem: str, width: int = 76, newline: str = "\r\n") -> str:
    """The same certificate with another line width and other line endings."""
    body = "".join(pem.strip().splitlines()[1:-1])
    lines = [body[i : i + width] for i in range(0, len(body), width)]
    return newline.join(["-----BEGIN CERTIFICATE-----", *lines, "-----END CERTIFICATE-----"]) + newline
