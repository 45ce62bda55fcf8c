"""iam_signing_certificate: the real main() against moto in-process, with certificates generated in the test."""

from __future__ import annotations

import base64
import contextlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.techsquawks.iam.plugins.module_utils import _signing_certificate
from ansible_collections.techsquawks.iam.plugins.modules import iam_signing_certificate
from tests.certificates import rewrap, self_signed_certificate

USER = "techsquawks-user"


def pem_of(der: bytes, label: str = "CERTIFICATE") -> str:
    return f"-----BEGIN {label}-----\n{base64.encodebytes(der).decode()}-----END {label}-----\n"


@pytest.fixture
def cert() -> str:
    return self_signed_certificate()


@pytest.fixture
def user(iam_client, api_calls) -> str:
    iam_client.create_user(UserName=USER)
    api_calls.clear()
    return USER


def certs_of(iam_client, user_name: str = USER) -> list[dict]:
    return iam_client.list_signing_certificates(UserName=user_name)["Certificates"]


def upload(iam_client, body: str, user_name: str = USER) -> str:
    return iam_client.upload_signing_certificate(UserName=user_name, CertificateBody=body)["Certificate"][
        "CertificateId"
    ]


# -- present --------------------------------------------------------------------------------------


def test_present_uploads_certificate_once_check_mode_first_and_second_run_is_noop(
    run_module, iam_client, api_calls, user, cert
):
    args = {"user_name": user, "certificate_body": cert}

    predicted = run_module(iam_signing_certificate, args, check_mode=True)
    assert predicted["changed"] is True
    assert predicted["certificate"] == {
        "certificate_id": None,
        "status": "Active",
        "upload_date": None,
        "user_name": user,
    }
    assert api_calls.mutating == []
    assert certs_of(iam_client) == []

    created = run_module(iam_signing_certificate, args)
    assert created["changed"] is True
    assert api_calls.mutating == ["UploadSigningCertificate"]
    [stored] = certs_of(iam_client)
    assert created["certificate"] == {
        "certificate_id": stored["CertificateId"],
        "status": "Active",
        "upload_date": stored["UploadDate"].isoformat(),
        "user_name": user,
    }
    assert created["certificate_id"] == stored["CertificateId"]

    api_calls.clear()
    assert run_module(iam_signing_certificate, args, check_mode=True)["changed"] is False
    again = run_module(iam_signing_certificate, args)
    assert again["changed"] is False
    assert again["certificate"] == created["certificate"]
    assert api_calls.mutating == []


def test_present_ignores_line_wrapping_line_endings_and_whitespace(run_module, iam_client, api_calls, user, cert):
    cert_id = upload(iam_client, cert)
    api_calls.clear()
    for body in (rewrap(cert), rewrap(cert, 64, "\n"), f"\n\n  {cert.strip()}  \n"):
        result = run_module(iam_signing_certificate, {"user_name": user, "certificate_body": body})
        assert (result["changed"], result["certificate_id"]) == (False, cert_id)
    assert api_calls.mutating == []


def test_present_with_another_certificate_uploads_a_second_one(run_module, iam_client, user, cert):
    first = upload(iam_client, cert)
    result = run_module(
        iam_signing_certificate, {"user_name": user, "certificate_body": self_signed_certificate("other")}
    )
    assert result["changed"] is True
    assert result["certificate_id"] != first
    assert len(certs_of(iam_client)) == 2


def test_present_inactive_uploads_then_deactivates(run_module, iam_client, api_calls, user, cert):
    args = {"user_name": user, "certificate_body": cert, "active": False}
    predicted = run_module(iam_signing_certificate, args, check_mode=True)
    assert (predicted["changed"], predicted["certificate"]["status"]) == (True, "Inactive")
    assert api_calls.mutating == []

    result = run_module(iam_signing_certificate, args)
    assert result["certificate"]["status"] == "Inactive"
    assert api_calls.mutating == ["UploadSigningCertificate", "UpdateSigningCertificate"]
    assert [stored["Status"] for stored in certs_of(iam_client)] == ["Inactive"]

    api_calls.clear()
    assert run_module(iam_signing_certificate, args)["changed"] is False
    assert api_calls.mutating == []


def test_active_toggle_by_body_with_check_mode_and_diff(run_module, iam_client, api_calls, user, cert):
    cert_id = upload(iam_client, cert)
    api_calls.clear()
    args = {"user_name": user, "certificate_body": cert, "active": False}

    predicted = run_module(iam_signing_certificate, args, check_mode=True, diff=True)
    assert predicted["changed"] is True
    assert predicted["diff"]["before"] == dict(predicted["diff"]["after"], status="Active")
    assert predicted["diff"]["after"]["status"] == "Inactive"
    assert predicted["diff"]["after"]["certificate_id"] == cert_id
    assert api_calls.mutating == []
    assert certs_of(iam_client)[0]["Status"] == "Active"

    result = run_module(iam_signing_certificate, args, diff=True)
    assert result["changed"] is True
    assert result["diff"] == predicted["diff"]
    assert certs_of(iam_client)[0]["Status"] == "Inactive"
    assert api_calls.mutating == ["UpdateSigningCertificate"]


def test_active_toggle_by_id_reactivates_certificate(run_module, iam_client, api_calls, user, cert):
    cert_id = upload(iam_client, cert)
    iam_client.update_signing_certificate(UserName=user, CertificateId=cert_id, Status="Inactive")
    api_calls.clear()
    result = run_module(iam_signing_certificate, {"user_name": user, "id": cert_id})
    assert (result["changed"], result["certificate"]["status"]) == (True, "Active")
    assert certs_of(iam_client)[0]["Status"] == "Active"
    assert api_calls.mutating == ["UpdateSigningCertificate"]

    api_calls.clear()
    assert run_module(iam_signing_certificate, {"user_name": user, "id": cert_id})["changed"] is False
    assert api_calls.mutating == []


def test_diff_never_contains_the_certificate_body(run_module, user, cert):
    result = run_module(iam_signing_certificate, {"user_name": user, "certificate_body": cert}, diff=True)
    assert result["diff"] == {"before": {}, "after": result["certificate"]}
    assert "BEGIN CERTIFICATE" not in str(result["diff"])


def test_third_certificate_fails_naming_certificate_body_before_upload(run_module, iam_client, api_calls, user, cert):
    first, second = (
        upload(iam_client, self_signed_certificate("one")),
        upload(iam_client, self_signed_certificate("two")),
    )
    iam_client.update_signing_certificate(UserName=user, CertificateId=second, Status="Inactive")
    api_calls.clear()
    for check_mode in (True, False):
        result = run_module(
            iam_signing_certificate, {"user_name": user, "certificate_body": cert}, check_mode=check_mode
        )
        assert result["failed"] is True
        assert result["msg"].startswith(
            f"certificate_body: user {user} already has 2 signing certificates ({first}, {second}), the IAM maximum"
        )
    assert api_calls.mutating == []


def test_existing_certificate_is_found_when_user_is_at_the_limit(run_module, iam_client, api_calls, user, cert):
    cert_id = upload(iam_client, cert)
    upload(iam_client, self_signed_certificate("other"))
    api_calls.clear()
    result = run_module(iam_signing_certificate, {"user_name": user, "certificate_body": cert})
    assert (result["changed"], result["certificate_id"]) == (False, cert_id)
    assert api_calls.mutating == []


def test_duplicate_uploaded_elsewhere_is_not_uploaded_again(run_module, iam_client, api_calls, user, cert):
    # AWS refuses duplicates (DuplicateCertificate) but moto accepts them: the module must not rely on either.
    upload(iam_client, cert)
    second = upload(iam_client, rewrap(cert))
    iam_client.update_signing_certificate(UserName=user, CertificateId=second, Status="Inactive")
    api_calls.clear()
    result = run_module(iam_signing_certificate, {"user_name": user, "certificate_body": cert, "active": False})
    assert (result["changed"], result["certificate_id"]) == (False, second)
    assert api_calls.mutating == []


def test_present_with_unknown_id_fails_naming_certificate_id(run_module, api_calls, user):
    cert_id = "A" * 32
    result = run_module(iam_signing_certificate, {"user_name": user, "certificate_id": cert_id})
    assert result["failed"] is True
    assert result["msg"].startswith(f"certificate_id: user {user} has no signing certificate {cert_id}")
    assert api_calls.mutating == []


def test_id_and_body_of_different_certificates_fail_without_changes(run_module, iam_client, api_calls, user, cert):
    upload(iam_client, cert)
    other_id = upload(iam_client, self_signed_certificate("other"))
    api_calls.clear()
    for state in ("present", "absent"):
        args = {"user_name": user, "certificate_body": cert, "id": other_id, "state": state}
        result = run_module(iam_signing_certificate, args)
        assert result["failed"] is True
        assert result["msg"].startswith(f"certificate_id: certificate {other_id} of user {user} is another")
    assert api_calls.mutating == []
    assert len(certs_of(iam_client)) == 2


def test_body_uploaded_under_another_id_fails(run_module, iam_client, api_calls, user, cert):
    cert_id = upload(iam_client, cert)
    api_calls.clear()
    result = run_module(iam_signing_certificate, {"user_name": user, "certificate_body": cert, "id": "B" * 32})
    assert result["failed"] is True
    assert f"certificate_body is uploaded for user {user} as {cert_id}" in result["msg"]
    assert api_calls.mutating == []


def test_present_for_missing_user_fails_naming_user_name(run_module, aws, api_calls, cert):
    result = run_module(iam_signing_certificate, {"user_name": "nobody", "certificate_body": cert})
    assert result["failed"] is True
    assert result["msg"] == "user_name: user nobody does not exist"
    assert api_calls.mutating == []


def test_check_mode_for_missing_user_predicts_upload_with_warning(run_module, aws, api_calls, cert):
    result = run_module(iam_signing_certificate, {"user_name": "nobody", "certificate_body": cert}, check_mode=True)
    assert result["changed"] is True
    assert result["certificate"]["user_name"] == "nobody"
    assert "User nobody does not exist; assuming an earlier task would create it." in str(result["warnings"])
    assert api_calls.mutating == []


def test_aws_rejection_is_reported_with_its_error_code(run_module, api_calls, user, monkeypatch):
    # Without the cryptography package only the PEM/DER structure is checked; AWS (here moto) checks the rest.
    monkeypatch.setattr(_signing_certificate, "HAS_CRYPTOGRAPHY", False)
    structurally_valid = pem_of(bytes.fromhex("3004") + bytes.fromhex("3000") + bytes.fromhex("0500"))
    result = run_module(iam_signing_certificate, {"user_name": user, "certificate_body": structurally_valid})
    assert result["failed"] is True
    assert result["error_code"] == "MalformedCertificate"
    assert result["msg"].startswith(f"Failed to upload signing certificate for user {user}: ")


# -- absent ---------------------------------------------------------------------------------------


def test_absent_by_body_deletes_certificate_with_check_mode_first(run_module, iam_client, api_calls, user, cert):
    cert_id = upload(iam_client, cert)
    args = {"user_name": user, "certificate_body": rewrap(cert), "state": "absent"}
    api_calls.clear()

    predicted = run_module(iam_signing_certificate, args, check_mode=True, diff=True)
    assert (predicted["changed"], predicted["removed"]) == (True, [cert_id])
    assert predicted["diff"]["before"]["certificate_id"] == cert_id
    assert predicted["diff"]["after"] == {}
    assert api_calls.mutating == []
    assert len(certs_of(iam_client)) == 1

    result = run_module(iam_signing_certificate, args)
    assert (result["changed"], result["removed"], result["certificate"]) == (True, [cert_id], {})
    assert result["certificate_id"] is None
    assert certs_of(iam_client) == []

    api_calls.clear()
    again = run_module(iam_signing_certificate, args)
    assert (again["changed"], again["removed"]) == (False, [])
    assert api_calls.mutating == []


def test_absent_by_id_deletes_only_that_certificate(run_module, iam_client, user, cert):
    keep = upload(iam_client, cert)
    drop = upload(iam_client, self_signed_certificate("other"))
    result = run_module(iam_signing_certificate, {"user_name": user, "id": drop, "state": "absent"})
    assert (result["changed"], result["removed"]) == (True, [drop])
    assert [stored["CertificateId"] for stored in certs_of(iam_client)] == [keep]


def test_absent_by_body_removes_every_duplicate(run_module, iam_client, user, cert):
    upload(iam_client, cert)
    upload(iam_client, cert)
    result = run_module(iam_signing_certificate, {"user_name": user, "certificate_body": cert, "state": "absent"})
    assert result["changed"] is True
    assert len(result["removed"]) == 2
    assert certs_of(iam_client) == []


@pytest.mark.parametrize(
    "args",
    [
        pytest.param({"id": "C" * 32}, id="unknown-id"),
        pytest.param({"user_name": "nobody", "id": "C" * 32}, id="unknown-user"),
    ],
)
def test_absent_when_missing_is_unchanged(run_module, api_calls, user, args):
    result = run_module(iam_signing_certificate, {"user_name": user, "state": "absent", **args})
    assert (result["changed"], result["removed"]) == (False, [])
    assert api_calls.mutating == []


def test_absent_by_body_when_missing_is_unchanged(run_module, api_calls, user, cert):
    result = run_module(iam_signing_certificate, {"user_name": user, "certificate_body": cert, "state": "absent"})
    assert (result["changed"], result["removed"]) == (False, [])
    assert api_calls.mutating == []


# -- validation before any AWS call ------------------------------------------------------------


def _bad_bodies() -> list:
    cert = self_signed_certificate()
    key = ec.generate_private_key(ec.SECP256R1())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    der = base64.b64decode("".join(cert.strip().splitlines()[1:-1]))
    return [
        pytest.param(
            "not a certificate", "exactly one -----BEGIN CERTIFICATE----- block (found no PEM block)", id="text"
        ),
        pytest.param(cert + self_signed_certificate("other"), "(found CERTIFICATE, CERTIFICATE)", id="chain"),
        pytest.param(cert + key_pem, "contains a private key", id="with-private-key"),
        pytest.param(key_pem, "contains a private key", id="private-key"),
        pytest.param(public_pem, "(found PUBLIC KEY)", id="public-key"),
        pytest.param("Certificate:\n    Data: ...\n" + cert, "text outside the PEM block", id="openssl-text"),
        pytest.param(cert.replace("\n", "!\n", 3), "not valid base64", id="bad-base64"),
        pytest.param(pem_of(b"hello world"), "no ASN.1 SEQUENCE", id="not-der"),
        pytest.param(pem_of(der[:-10]), "truncated", id="truncated"),
        pytest.param(pem_of(der + b"\x00"), "trailing bytes", id="trailing"),
        pytest.param(pem_of(bytes.fromhex("3004300005 00".replace(" ", ""))), "not a valid X.509", id="not-x509"),
        pytest.param(cert.replace("\n", " " * 2000 + "\n"), "1 to 16384 characters", id="too-long"),
    ]


@pytest.mark.parametrize(("body", "reason"), _bad_bodies())
def test_invalid_certificate_body_fails_before_any_aws_call(run_module, aws, api_calls, body, reason):
    result = run_module(iam_signing_certificate, {"user_name": USER, "certificate_body": body})
    assert result["failed"] is True
    assert result["msg"].startswith("Invalid input: certificate_body ")
    assert reason in result["msg"]
    assert api_calls == []


def test_structural_check_works_without_cryptography(monkeypatch, cert):
    monkeypatch.setattr(_signing_certificate, "HAS_CRYPTOGRAPHY", False)
    der = _signing_certificate.parse_certificate(rewrap(cert))
    assert x509.load_der_x509_certificate(der).subject.rfc4514_string() == f"CN={USER}"
    with pytest.raises(_signing_certificate.InvalidCertificate, match=r"no ASN\.1 SEQUENCE"):
        _signing_certificate.parse_certificate(pem_of(b"hello world"))


@pytest.mark.parametrize(
    ("args", "option"),
    [
        pytest.param({"user_name": "a b", "certificate_body": "x"}, "user_name", id="user-name"),
        pytest.param({"user_name": USER, "id": "short"}, "certificate_id", id="short-id"),
        pytest.param({"user_name": USER, "id": "A-" * 16}, "certificate_id", id="id-chars"),
        pytest.param({"user_name": USER}, "certificate_body, certificate_id", id="neither"),
    ],
)
def test_invalid_options_fail_naming_the_option_before_any_aws_call(run_module, aws, api_calls, args, option):
    result = run_module(iam_signing_certificate, args)
    assert result["failed"] is True
    assert option in result["msg"]
    assert api_calls == []


@given(st.binary(max_size=400))
def test_parse_certificate_rejects_random_der_only_with_invalid_certificate(der):
    with contextlib.suppress(_signing_certificate.InvalidCertificate):
        _signing_certificate.parse_certificate(pem_of(der))


@given(st.text(max_size=300))
def test_parse_certificate_rejects_garbage_text_only_with_invalid_certificate(text):
    with contextlib.suppress(_signing_certificate.InvalidCertificate):
        _signing_certificate.parse_certificate(text)
