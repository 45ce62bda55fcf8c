"""deliver_to wired into the modules and the roster: files, age, Secrets Manager, SSM; moto in-process.

Each destination: create delivers, a re-run delivers nothing and changes nothing, rotation replaces (a new
Secrets Manager version), offboarding removes, check mode touches neither IAM nor the destination, and a
destination that fails rolls the new credential back.
"""

from __future__ import annotations

import base64
import configparser
import datetime
import json
import os
import typing as t

import boto3
import botocore.client
import botocore.exceptions
import pyrage
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from ansible_collections.techsquawks.iam.plugins.module_utils import _access_keys
from ansible_collections.techsquawks.iam.plugins.modules import iam_access_key, iam_mfa_device, iam_roster

SECRET_CALLS = {
    "CreateSecret",
    "PutSecretValue",
    "PutResourcePolicy",
    "DeleteSecret",
    "PutParameter",
    "DeleteParameter",
}


@pytest.fixture
def creds(tmp_path):
    return tmp_path / "credentials"


@pytest.fixture
def roster(run_module, creds, api_calls) -> t.Callable[..., dict[str, t.Any]]:
    def run(users: list[dict[str, t.Any]], *, check_mode: bool = False, **options: t.Any) -> dict[str, t.Any]:
        api_calls.clear()
        return run_module(iam_roster, {"users": users, "credentials_dir": str(creds), **options}, check_mode=check_mode)

    return run


@pytest.fixture
def sm(aws):
    return boto3.client("secretsmanager", region_name="us-east-1")


@pytest.fixture
def ssm(aws):
    return boto3.client("ssm", region_name="us-east-1")


@pytest.fixture
def person() -> tuple[str, t.Any]:
    """An SSH ed25519 public key (the recipient) and the pyrage identity that reads what is encrypted to it."""
    key = ed25519.Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    return public.decode() + " alice@laptop", pyrage.ssh.Identity.from_buffer(private)


def secret_value(sm, name: str) -> dict[str, t.Any]:
    return json.loads(sm.get_secret_value(SecretId=name)["SecretString"])


def fail_call(monkeypatch: pytest.MonkeyPatch, operation: str) -> None:
    """AWS refuses ``operation`` with AccessDenied (every other call reaches moto)."""
    original = botocore.client.BaseClient._make_api_call

    def refuse(self, name, params):
        if name == operation:
            raise botocore.exceptions.ClientError(
                {"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}, name
            )
        return original(self, name, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", refuse)


# -- the modules ------------------------------------------------------------------------------------------


def test_access_key_to_secrets_manager_delivers_once_and_returns_only_a_reference(
    aws, iam_client, sm, run_module, api_calls
):
    user = iam_client.create_user(UserName="alice", Path="/people/")["User"]
    args = {"user_name": "alice", "deliver_to": {"type": "secretsmanager", "readers": [_admin()]}}
    api_calls.clear()

    preview = run_module(iam_access_key, args, check_mode=True)
    assert preview["changed"] is True
    assert api_calls.mutating == []

    first = run_module(iam_access_key, args)
    key_id = first["access_key"]["access_key_id"]
    assert first["delivered"]["type"] == "secretsmanager"
    assert first["delivered"]["name"] == "iam/alice/access-key"
    assert "secret_access_key" not in first
    assert "secret_file" not in first
    value = secret_value(sm, "iam/alice/access-key")
    assert value["access_key_id"] == key_id
    assert value["secret_access_key"] not in json.dumps(first)
    policy = json.loads(sm.get_resource_policy(SecretId="iam/alice/access-key")["ResourcePolicy"])
    assert policy["Statement"][0]["Principal"]["AWS"] == [user["Arn"], _admin()]

    api_calls.clear()
    again = run_module(iam_access_key, args)
    assert again["changed"] is False
    assert "delivered" not in again
    assert api_calls.mutating == []


def _admin() -> str:
    return "arn:aws:iam::123456789012:role/secrets-admin"


def test_access_key_to_an_age_file_is_readable_only_with_the_recipients_key(
    aws, iam_client, run_module, tmp_path, person
):
    iam_client.create_user(UserName="bob")
    recipient, identity = person
    path = tmp_path / "bob.credentials.age"
    args = {"user_name": "bob", "deliver_to": {"type": "age", "path": str(path), "recipients": [recipient]}}
    result = run_module(iam_access_key, args)
    assert result["delivered"] == {"type": "age", "path": str(path)}
    assert result["secret_file"] == str(path)
    text = path.read_bytes()
    assert text.startswith(b"-----BEGIN AGE ENCRYPTED FILE-----")
    parser = configparser.ConfigParser()
    parser.read_string(pyrage.decrypt(text, [identity]).decode())
    assert parser["bob"]["aws_access_key_id"] == result["access_key"]["access_key_id"]
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_mfa_seed_with_its_qr_code_to_ssm(aws, iam_client, ssm, run_module):
    iam_client.create_user(UserName="carol")
    args = {"user_name": "carol", "deliver_to": {"type": "ssm", "qr_code": True}}
    result = run_module(iam_mfa_device, args)
    assert result["delivered"] == {"type": "ssm", "name": "/iam/carol/mfa"}
    parameter = ssm.get_parameter(Name="/iam/carol/mfa", WithDecryption=True)["Parameter"]
    assert parameter["Type"] == "SecureString"
    value = json.loads(parameter["Value"])
    assert value["otpauth_uri"].startswith("otpauth://totp/")
    assert base64.b64decode(value["qr_png_base64"]).startswith(b"\x89PNG\r\n\x1a\n")


def test_a_destination_that_fails_removes_the_new_key_again(aws, iam_client, run_module, monkeypatch):
    iam_client.create_user(UserName="dave")
    fail_call(monkeypatch, "PutSecretValue")
    result = run_module(iam_access_key, {"user_name": "dave", "deliver_to": {"type": "secretsmanager"}})
    assert result["failed"] is True
    assert "iam/dave/access-key" in result["msg"]
    assert "AccessDeniedException" in result["msg"]
    assert iam_client.list_access_keys(UserName="dave")["AccessKeyMetadata"] == []


@pytest.mark.parametrize(
    ("deliver_to", "message"),
    [
        ({"type": "age", "path": "/tmp/x.age"}, "deliver_to.recipients"),
        ({"type": "file"}, "deliver_to.path is required with type file"),
        ({"type": "ssm", "name": "no-slash"}, "deliver_to.name"),
        ({"type": "secretsmanager", "recovery_window_days": 3}, "deliver_to.recovery_window_days"),
        ({"type": "ssm", "recipients": ["age1x"]}, "deliver_to.recipients does not apply to type ssm"),
        ({"type": "secretsmanager", "qr_code": True}, "deliver_to.qr_code applies to an MFA seed only"),
    ],
)
def test_bad_deliver_to_is_refused_before_any_aws_call(aws, iam_client, run_module, api_calls, deliver_to, message):
    api_calls.clear()
    result = run_module(iam_access_key, {"user_name": "erin", "deliver_to": deliver_to})
    assert result["failed"] is True
    assert message in result["msg"]
    assert api_calls == []


# -- the roster -------------------------------------------------------------------------------------------


def test_roster_secrets_in_secrets_manager_and_ssm_rotate_and_are_removed_on_offboarding(
    aws, iam_client, sm, ssm, roster, api_calls, monkeypatch, creds
):
    users = [
        {"name": "alice", "access_key": True, "console": True},
        {"name": "bob", "access_key": True, "deliver_to": {"type": "ssm"}},
    ]
    options = {"deliver_to": {"type": "secretsmanager", "recovery_window_days": 7}}

    preview = roster(users, check_mode=True, **options)
    assert api_calls.mutating == []
    assert not creds.exists()

    first = roster(users, **options)
    assert first.get("failed") is not True, first.get("msg")
    alice = {u["name"]: u for u in first["users"]}["alice"]
    assert len(alice["credentials"]) == 2
    assert all(ref.startswith("arn:aws:secretsmanager:") for ref in alice["credentials"])
    key = secret_value(sm, "iam/alice/access-key")
    assert secret_value(sm, "iam/alice/console-password")["password"]
    bob = json.loads(ssm.get_parameter(Name="/iam/bob/access-key", WithDecryption=True)["Parameter"]["Value"])
    assert bob["access_key_id"].startswith("AKIA")
    # No secret touched the disk: the user directories hold no credential file.
    assert [f for _d, _s, files in os.walk(creds) for f in files if not f.startswith(".")] == []
    assert preview["users"][0]["created"][:1] == first["users"][0]["created"][:1]

    again = roster(users, **options)
    assert again["changed"] is False
    assert not SECRET_CALLS & set(api_calls)

    # Rotation: the new key becomes a new version of the same secret.
    moment = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=100)
    monkeypatch.setattr(_access_keys, "utc_now", lambda: moment)
    rotated = roster(users, **options, remediation={"rotate_keys_after_days": 90})
    assert rotated.get("failed") is not True, rotated.get("msg")
    assert secret_value(sm, "iam/alice/access-key")["access_key_id"] != key["access_key_id"]
    versions = sm.list_secret_version_ids(SecretId="iam/alice/access-key")["Versions"]
    assert len(versions) == 2

    gone = [dict(user, state="absent") for user in users]
    checked = roster(gone, check_mode=True, **options)
    assert api_calls.mutating == []
    assert "access key secret iam/alice/access-key" in checked["users"][0]["removed"]
    offboarded = roster(gone, **options)
    assert "access key secret iam/alice/access-key" in offboarded["users"][0]["removed"]
    assert "DeletedDate" in sm.describe_secret(SecretId="iam/alice/access-key")
    assert ssm.get_parameters(Names=["/iam/bob/access-key"])["InvalidParameters"] == ["/iam/bob/access-key"]
    assert roster(gone, **options)["changed"] is False


def test_roster_entry_secrets_age_encrypted_to_the_persons_key(aws, iam_client, roster, creds, person):
    recipient, identity = person
    users = [
        {
            "name": "gina",
            "access_key": True,
            "mfa": True,
            "deliver_to": {"type": "age", "recipients": [recipient], "qr_code": True},
        }
    ]
    result = roster(users)
    assert result.get("failed") is not True, result.get("msg")
    files = sorted(os.listdir(creds / "gina"))
    assert files == ["credentials.age", "mfa.json.age"]
    mfa = json.loads(pyrage.decrypt((creds / "gina" / "mfa.json.age").read_bytes(), [identity]))
    assert "qr_png_base64" in mfa
    assert roster(users)["changed"] is False


def test_roster_refuses_deliver_to_keys_it_does_not_take_and_names_aws_would_refuse(aws, roster, api_calls):
    result = roster([{"name": "hal", "access_key": True, "deliver_to": {"type": "file", "path": "/tmp/x"}}])
    assert result["failed"] is True
    assert "deliver_to.path does not apply to type file in a roster" in result["msg"]
    result = roster([{"name": "a,b", "access_key": True}], deliver_to={"type": "ssm"})
    assert result["failed"] is True
    assert "a,b" in result["msg"]
    assert api_calls == []


def test_roster_service_credentials_delivered_to_the_users_directory_and_secrets_manager(
    aws, iam_client, sm, emulator, roster, api_calls, creds
):
    from tests.unit.emulate import ServiceSpecificCredentials

    ServiceSpecificCredentials(emulator)
    users = [
        {"name": "ivy", "service_credentials": ["codecommit.amazonaws.com"]},
        {
            "name": "jon",
            "service_credentials": [{"service_name": "bedrock.amazonaws.com", "credential_age_days": 30}],
            "deliver_to": {"type": "secretsmanager"},
        },
    ]
    preview = roster(users, check_mode=True)
    assert api_calls.mutating == []
    first = roster(users)
    assert first.get("failed") is not True, first.get("msg")
    ivy = json.loads((creds / "ivy" / "service-codecommit.json").read_text())
    assert ivy["service_password"]
    assert ivy["service_password"] not in json.dumps(first)
    jon = secret_value(sm, "iam/jon/service-bedrock")
    assert jon["service_credential_secret"]
    assert [len(u["created"]) for u in preview["users"]] == [len(u["created"]) for u in first["users"]]
    again = roster(users)
    assert again["changed"] is False
    assert api_calls.mutating == []
    gone = roster([dict(user, state="absent") for user in users])
    assert "service credential secret iam/jon/service-bedrock" in gone["users"][1]["removed"]
    assert not (creds / "ivy").exists()


def test_service_credential_module_delivers_to_ssm(aws, iam_client, ssm, emulator, run_module, api_calls):
    from ansible_collections.techsquawks.iam.plugins.modules import iam_service_credential
    from tests.unit.emulate import ServiceSpecificCredentials

    ServiceSpecificCredentials(emulator)
    iam_client.create_user(UserName="kai")
    args = {"user_name": "kai", "service_name": "codecommit.amazonaws.com", "deliver_to": {"type": "ssm"}}
    result = run_module(iam_service_credential, args)
    assert result["delivered"] == {"type": "ssm", "name": "/iam/kai/service-codecommit"}
    assert "service_password" not in result
    value = json.loads(ssm.get_parameter(Name="/iam/kai/service-codecommit", WithDecryption=True)["Parameter"]["Value"])
    assert value["service_password"]
    api_calls.clear()
    assert run_module(iam_service_credential, args)["changed"] is False
    assert api_calls.mutating == []
