"""Secrets delivered where people use them, through playbooks/onboard.yml against moto_server: Secrets Manager
(readable only by the user), SSM SecureString, an age file only the person's SSH key opens; rotation, re-run,
check mode and offboarding. AWS state read back with the AWS CLI, as users would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyrage
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from tests.integration.conftest import FAKE_CREDENTIALS

ROOT = Path(__file__).resolve().parents[2]
ONBOARD = ROOT / "playbooks" / "onboard.yml"
AWS_CLI = Path(sys.executable).parent / "aws"


def aws_cli(moto, *args: str) -> dict:
    env = dict(os.environ, **FAKE_CREDENTIALS, AWS_DEFAULT_REGION="us-east-1")
    env.pop("AWS_PROFILE", None)
    out = subprocess.run(
        [str(AWS_CLI), "--endpoint-url", moto.endpoint, "--output", "json", *args],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return json.loads(out.stdout) if out.stdout.strip() else {}


@pytest.fixture
def person():
    key = ed25519.Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    return public.decode() + " carol@laptop", pyrage.ssh.Identity.from_buffer(private)


def test_each_destination_delivers_once_and_offboarding_removes_it(ansible_playbook, moto, iam, tmp_path, person):
    recipient, identity = person
    creds = tmp_path / "credentials"
    users = [
        {"name": "alice", "access_key": True, "console": True},
        {"name": "bob", "access_key": True, "mfa": True, "deliver_to": {"type": "ssm", "qr_code": True}},
        {"name": "carol", "access_key": True, "deliver_to": {"type": "age", "recipients": [recipient]}},
    ]
    extra = {
        "onboarding_users": users,
        "onboarding_credentials_dir": str(creds),
        "onboarding_deliver_to": {"type": "secretsmanager", "recovery_window_days": 7},
    }

    checked = ansible_playbook(ONBOARD, "--check", extra_vars=extra)
    assert checked.mutating_calls == []
    assert aws_cli(moto, "secretsmanager", "list-secrets")["SecretList"] == []

    first = ansible_playbook(ONBOARD, extra_vars=extra)
    alice_arn = iam.get_user(UserName="alice")["User"]["Arn"]
    value = aws_cli(moto, "secretsmanager", "get-secret-value", "--secret-id", "iam/alice/access-key")
    key = json.loads(value["SecretString"])
    assert key["user_name"] == "alice"
    assert key["secret_access_key"] not in first.stdout
    policy = json.loads(
        aws_cli(moto, "secretsmanager", "get-resource-policy", "--secret-id", "iam/alice/access-key")["ResourcePolicy"]
    )
    assert policy["Statement"][0]["Principal"]["AWS"] == [alice_arn]
    password = json.loads(
        aws_cli(moto, "secretsmanager", "get-secret-value", "--secret-id", "iam/alice/console-password")["SecretString"]
    )["password"]
    assert password not in first.stdout
    bob = aws_cli(moto, "ssm", "get-parameter", "--with-decryption", "--name", "/iam/bob/mfa")["Parameter"]
    assert bob["Type"] == "SecureString"
    assert json.loads(bob["Value"])["qr_png_base64"]
    carol = (creds / "carol" / "credentials.age").read_bytes()
    assert b"aws_secret_access_key" in pyrage.decrypt(carol, [identity])
    assert b"aws_secret_access_key" not in carol
    # Nothing in plain text on disk for the users whose secrets went to AWS.
    assert sorted(p.name for p in creds.rglob("*") if p.is_file() and not p.name.startswith(".")) == [
        "credentials.age",
        "onboarding-report.md",
    ]

    again = ansible_playbook(ONBOARD, extra_vars=extra)
    assert again.mutating_calls == []
    assert "changed=1" not in again.stdout.split("PLAY RECAP")[-1]

    gone = dict(extra, onboarding_users=[dict(user, state="absent") for user in users])
    preview = ansible_playbook(ONBOARD, "--check", extra_vars=gone)
    assert preview.mutating_calls == []
    ansible_playbook(ONBOARD, extra_vars=gone)
    described = aws_cli(moto, "secretsmanager", "describe-secret", "--secret-id", "iam/alice/access-key")
    assert "DeletedDate" in described
    missing = aws_cli(moto, "ssm", "get-parameters", "--names", "/iam/bob/mfa", "/iam/bob/access-key")
    assert sorted(missing["InvalidParameters"]) == ["/iam/bob/access-key", "/iam/bob/mfa"]
    assert not (creds / "carol").exists()
