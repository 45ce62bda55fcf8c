"""iam_signing_certificate driven by ansible-playbook against moto_server; state read back with boto3.

The converge run it shares with iam_ssh_key is in test_uploaded_modules.py.
"""

from __future__ import annotations

import re

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.certificates import rewrap, self_signed_certificate

USER = "signing-cert-user"
_KEY = ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def certificates() -> dict[str, str]:
    return {name: self_signed_certificate(f"{USER}-{name}") for name in ("first", "second", "third")}


def stored_certificates(iam) -> dict[str, dict]:
    """The user's certificates by ID, read back independently of the module."""
    return {cert["CertificateId"]: cert for cert in iam.list_signing_certificates(UserName=USER)["Certificates"]}


def test_lifecycle_matches_deactivates_enforces_limit_and_deletes(ansible_playbook, target, iam, certificates):
    iam.create_user(UserName=USER)
    ids = {
        name: iam.upload_signing_certificate(UserName=USER, CertificateBody=certificates[name])["Certificate"][
            "CertificateId"
        ]
        for name in ("first", "second")
    }
    public_key_pem = _KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    run = ansible_playbook(
        target("iam_signing_certificate", "lifecycle.yml"),
        extra_vars={
            "user_name": USER,
            "first_id": ids["first"],
            "second_id": ids["second"],
            "first_certificate": certificates["first"],
            "first_certificate_rewrapped": rewrap(certificates["first"]),
            "third_certificate": certificates["third"],
            "public_key_pem": public_key_pem.decode(),
        },
    )
    assert run.recap()["failed"] == 0, run.output
    # Check mode, repeated runs and both refusals make no mutating call.
    assert run.mutating_calls == [
        "iam UpdateSigningCertificate",
        "iam DeleteSigningCertificate",
        "iam DeleteSigningCertificate",
        "iam UploadSigningCertificate",
    ]
    third_id = re.search(r"THIRD=(\w+)", run.stdout).group(1)
    [remaining] = stored_certificates(iam).values()
    assert (remaining["CertificateId"], remaining["Status"]) == (third_id, "Active")
    assert remaining["CertificateBody"].strip() == certificates["third"].strip()
