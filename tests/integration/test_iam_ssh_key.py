"""iam_ssh_key driven by ansible-playbook against moto_server; state read back with boto3.

The converge run it shares with iam_signing_certificate is in test_uploaded_modules.py.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

USER = "ssh-key-user"


def public(private_key, encoding=serialization.Encoding.OpenSSH, fmt=serialization.PublicFormat.OpenSSH) -> str:
    return private_key.public_key().public_bytes(encoding, fmt).decode()


@pytest.fixture(scope="module")
def keys() -> dict[str, str]:
    rsa_private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    second_rsa = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    short_rsa = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - must be refused
    return {
        "rsa_public_key": public(rsa_private) + " jane@laptop",
        "rsa_public_pem": public(
            rsa_private, serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "second_rsa_public_key": public(second_rsa) + " jane@desktop",
        "short_rsa_public_key": public(short_rsa),
        "ed25519_public_key": public(ed25519.Ed25519PrivateKey.generate()) + " jane@phone",
    }


def test_lifecycle_matches_pem_deactivates_and_deletes_by_body_and_id(ansible_playbook, target, iam, keys):
    iam.create_user(UserName=USER)
    rsa_id = iam.upload_ssh_public_key(UserName=USER, SSHPublicKeyBody=keys["rsa_public_key"])["SSHPublicKey"][
        "SSHPublicKeyId"
    ]
    second_id = iam.upload_ssh_public_key(UserName=USER, SSHPublicKeyBody=keys["second_rsa_public_key"])[
        "SSHPublicKey"
    ]["SSHPublicKeyId"]

    run = ansible_playbook(
        target("iam_ssh_key", "lifecycle.yml"),
        extra_vars={"user_name": USER, "rsa_id": rsa_id, "second_rsa_id": second_id, **keys},
    )
    assert run.recap()["failed"] == 0, run.output
    # Check mode, repeated runs and the refused keys make no mutating call.
    assert run.mutating_calls == ["iam UpdateSSHPublicKey", "iam DeleteSSHPublicKey", "iam DeleteSSHPublicKey"]
    assert iam.list_ssh_public_keys(UserName=USER)["SSHPublicKeys"] == []
    assert iam.get_user(UserName=USER)["User"]["UserName"] == USER
