"""iam_signing_certificate driven by ansible-playbook against moto_server; state read back with boto3."""

from __future__ import annotations

import base64
import json
import re

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.certificates import rewrap, self_signed_certificate

USER = "signing-cert-user"
_KEY = ec.generate_private_key(ec.SECP256R1())


def result_of(run, label: str = "RESULT") -> dict:
    match = re.search(rf"{label}=([A-Za-z0-9+/=]+)", run.stdout)
    assert match, run.output
    return json.loads(base64.b64decode(match.group(1)))


@pytest.fixture(scope="module")
def certificates() -> dict[str, str]:
    return {name: self_signed_certificate(f"{USER}-{name}") for name in ("first", "second", "third")}


def stored_certificates(iam) -> dict[str, dict]:
    """The user's certificates by ID, read back independently of the module."""
    return {cert["CertificateId"]: cert for cert in iam.list_signing_certificates(UserName=USER)["Certificates"]}


def test_converge_predicts_in_check_mode_then_uploads_once(ansible_playbook, target, iam, certificates):
    playbook = target("iam_signing_certificate", "converge.yml")
    extra = {
        "user_name": USER,
        "first_certificate": certificates["first"],
        "second_certificate": certificates["second"],
    }

    checked = ansible_playbook(playbook, "--check", "--diff", extra_vars=extra)
    assert checked.recap()["changed"] == 3
    assert checked.mutating_calls == []
    assert iam.list_users()["Users"] == []

    applied = ansible_playbook(playbook, extra_vars=extra)
    assert applied.recap()["changed"] == 3
    results = result_of(applied)
    stored = stored_certificates(iam)
    first, second = stored[results["first"]["certificate_id"]], stored[results["second"]["certificate_id"]]
    assert (first["CertificateBody"].strip(), first["Status"]) == (certificates["first"].strip(), "Active")
    assert (second["CertificateBody"].strip(), second["Status"]) == (certificates["second"].strip(), "Inactive")
    assert results["second"]["certificate"]["status"] == "Inactive"
    assert results["first"]["certificate"]["user_name"] == USER

    again = ansible_playbook(playbook, extra_vars=extra)
    assert again.recap()["changed"] == 0
    assert again.api_calls, "the API log must record the calls"
    assert again.mutating_calls == []
    assert result_of(again)["first"]["certificate"] == results["first"]["certificate"]


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
