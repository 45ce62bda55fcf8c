"""iam_ssh_key driven by ansible-playbook against moto_server; state read back with boto3."""

from __future__ import annotations

import base64
import json
import re

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

USER = "ssh-key-user"


def result_of(run) -> dict:
    match = re.search(r"RESULT=([A-Za-z0-9+/=]+)", run.stdout)
    assert match, run.output
    return json.loads(base64.b64decode(match.group(1)))


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


def stored_keys(iam) -> dict[str, dict]:
    """The user's keys by body, read back independently of the module."""
    stored = {}
    for item in iam.list_ssh_public_keys(UserName=USER)["SSHPublicKeys"]:
        key = iam.get_ssh_public_key(UserName=USER, SSHPublicKeyId=item["SSHPublicKeyId"], Encoding="SSH")
        stored[key["SSHPublicKey"]["SSHPublicKeyBody"]] = key["SSHPublicKey"]
    return stored


def test_converge_predicts_in_check_mode_then_uploads_once(ansible_playbook, target, iam, keys):
    playbook = target("iam_ssh_key", "converge.yml")
    extra = {
        "user_name": USER,
        "rsa_public_key": keys["rsa_public_key"],
        "second_rsa_public_key": keys["second_rsa_public_key"],
    }

    checked = ansible_playbook(playbook, "--check", "--diff", extra_vars=extra)
    assert checked.recap()["changed"] == 3
    assert checked.mutating_calls == []
    assert iam.list_users()["Users"] == []
    assert f"User {USER} does not exist; assuming an earlier task would create it." in checked.output

    applied = ansible_playbook(playbook, extra_vars=extra)
    assert applied.recap()["changed"] == 3
    results = result_of(applied)
    stored = stored_keys(iam)
    assert set(stored) == {keys["rsa_public_key"], keys["second_rsa_public_key"]}
    active_key, inactive_key = stored[keys["rsa_public_key"]], stored[keys["second_rsa_public_key"]]
    assert (active_key["Status"], inactive_key["Status"]) == ("Active", "Inactive")
    assert results["active"]["ssh_public_key_id"] == active_key["SSHPublicKeyId"]
    assert results["active"]["fingerprint"] == active_key["Fingerprint"]
    assert results["inactive"]["ssh_public_key"]["ssh_public_key_id"] == inactive_key["SSHPublicKeyId"]
    assert results["inactive"]["ssh_public_key"]["status"] == "Inactive"

    again = ansible_playbook(playbook, extra_vars=extra)
    assert again.recap()["changed"] == 0
    assert again.api_calls, "the API log must record the calls"
    assert again.mutating_calls == []
    assert result_of(again) == results | {name: dict(results[name], changed=False) for name in ("active", "inactive")}


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
