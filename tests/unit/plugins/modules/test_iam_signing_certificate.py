"""iam_signing_certificate: what is specific to X.509 certificates (the PEM text, parsing).

The real main() against moto in-process, with certificates generated in the test. The scenarios
iam_signing_certificate shares with iam_ssh_key (upload, status, limit, absent, option checks) are in
test_uploaded_modules.py.
"""

from __future__ import annotations

import base64

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import example, given
from hypothesis import strategies as st

from ansible_collections.techsquawks.iam.plugins.module_utils import _signing_certificate
from ansible_collections.techsquawks.iam.plugins.modules import iam_signing_certificate
from tests.certificates import rewrap, self_signed_certificate

USER = "techsquawks-user"
INVALID = "Invalid input: certificate_body is not a usable PEM certificate: "
NOT_X509 = "it is not a valid X.509 certificate ("
CERT = self_signed_certificate()
DER = base64.b64decode("".join(CERT.strip().splitlines()[1:-1]))


def pem_of(der: bytes, label: str = "CERTIFICATE") -> str:
    return f"-----BEGIN {label}-----\n{base64.encodebytes(der).decode()}-----END {label}-----\n"


# -- refused bodies ---------------------------------------------------------------------------------


def _bad_bodies() -> list:
    key = ec.generate_private_key(ec.SECP256R1())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    one_block = "it must hold exactly one -----BEGIN CERTIFICATE----- block"
    return [
        pytest.param("not a certificate", f"{one_block} (found no PEM block)", id="text"),
        pytest.param(
            CERT + self_signed_certificate("other"), f"{one_block} (found CERTIFICATE, CERTIFICATE)", id="chain"
        ),
        pytest.param(CERT + key_pem, "it contains a private key; give only the certificate", id="with-private-key"),
        pytest.param(key_pem, "it contains a private key; give only the certificate", id="private-key"),
        pytest.param(public_pem, f"{one_block} (found PUBLIC KEY)", id="public-key"),
        pytest.param("Certificate:\n    Data: ...\n" + CERT, "it has text outside the PEM block", id="openssl-text"),
        pytest.param(CERT.replace("\n", "!\n", 3), "its PEM data is not valid base64", id="bad-base64"),
        pytest.param(pem_of(b"hello world"), NOT_X509, id="not-der"),
        pytest.param(pem_of(DER[:-10]), NOT_X509, id="truncated"),
        pytest.param(pem_of(DER + b"\x00"), NOT_X509, id="trailing"),
        pytest.param(pem_of(bytes.fromhex("3004300005 00".replace(" ", ""))), NOT_X509, id="not-x509"),
    ]


@pytest.mark.parametrize(("body", "reason"), _bad_bodies())
def test_invalid_certificate_body_fails_with_its_reason_before_any_aws_call(run_module, aws, api_calls, body, reason):
    result = run_module(iam_signing_certificate, {"user_name": USER, "certificate_body": body})
    assert result["failed"] is True
    if reason == NOT_X509:
        # cryptography's reason follows in parentheses: the ASN.1 problem, never the certificate's bytes.
        assert result["msg"].startswith(INVALID + reason)
        assert result["msg"].endswith(")")
    else:
        assert result["msg"] == INVALID + reason
    assert api_calls == []


def test_too_long_a_body_fails_before_any_aws_call(run_module, aws, api_calls):
    result = run_module(
        iam_signing_certificate, {"user_name": USER, "certificate_body": CERT.replace("\n", " " * 2000 + "\n")}
    )
    assert result["failed"] is True
    assert result["msg"] == "Invalid input: certificate_body must be 1 to 16384 characters of printable Latin-1 text"
    assert api_calls == []


# -- parsing ----------------------------------------------------------------------------------------


def test_parse_certificate_returns_the_der_whatever_the_pem_wrapping():
    for text in (CERT, rewrap(CERT), rewrap(CERT, 48, "\n"), f"\n  {CERT.strip()}  \n"):
        der = _signing_certificate.parse_certificate(text)
        assert der == DER
        assert x509.load_der_x509_certificate(der).subject.rfc4514_string() == "CN=techsquawks-user"


# Every message parse_certificate refuses a body with.
REFUSALS = (
    r"^(it contains a private key; |it must hold exactly one -----BEGIN CERTIFICATE----- block \(found |"
    r"it has text outside the PEM block$|its PEM data is not valid base64$|it is not a valid X\.509 certificate \()"
)


@given(st.binary(max_size=60))
@example(b"")
@example(bytes.fromhex("3000"))
def test_parse_certificate_rejects_any_der_too_short_to_be_a_certificate(der):
    # The smallest X.509 certificate takes more than 60 bytes (two dates alone take 30).
    with pytest.raises(_signing_certificate.InvalidCertificate, match=REFUSALS):
        _signing_certificate.parse_certificate(pem_of(der))


@given(st.integers(min_value=0, max_value=len(DER) - 1))
def test_parse_certificate_rejects_every_truncation_of_a_valid_certificate(length):
    with pytest.raises(_signing_certificate.InvalidCertificate, match=REFUSALS):
        _signing_certificate.parse_certificate(pem_of(DER[:length]))


@given(st.binary(min_size=1, max_size=64))
def test_parse_certificate_rejects_a_valid_certificate_with_bytes_after_it(extra):
    with pytest.raises(_signing_certificate.InvalidCertificate, match=r"^it is not a valid X\.509 certificate \("):
        _signing_certificate.parse_certificate(pem_of(DER + extra))


@given(
    st.one_of(
        st.text(max_size=120),
        st.builds(
            lambda inner: f"-----BEGIN CERTIFICATE-----\n{inner}\n-----END CERTIFICATE-----", st.text(max_size=68)
        ),
    )
)
def test_parse_certificate_rejects_any_text_too_short_to_hold_a_certificate(text):
    # With its BEGIN and END lines, a certificate takes more than 120 characters of PEM.
    with pytest.raises(_signing_certificate.InvalidCertificate, match=REFUSALS):
        _signing_certificate.parse_certificate(text)
