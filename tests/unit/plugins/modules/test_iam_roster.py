"""iam_roster: a whole roster converged by the real main() against moto in-process."""

from __future__ import annotations

import configparser
import datetime
import json
import os
import stat
import typing as t

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from ansible_collections.techsquawks.iam.plugins.module_utils import _access_keys, _delivery, _roster, _roster_input
from ansible_collections.techsquawks.iam.plugins.modules import iam_roster
from tests.certificates import self_signed_certificate

ACCOUNT = "123456789012"


def ssh_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode() + " bob@laptop"


def ed25519_key() -> str:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def creds(tmp_path):
    return tmp_path / "credentials"


@pytest.fixture
def roster(run_module, creds) -> t.Callable[..., dict[str, t.Any]]:
    """Run iam_roster on ``users`` with the credentials directory under tmp_path."""

    def run(users: list[dict[str, t.Any]], *, check_mode: bool = False, diff: bool = False, **options: t.Any):
        args = {"users": users, "credentials_dir": str(creds), **options}
        return run_module(iam_roster, args, check_mode=check_mode, diff=diff)

    return run


def by_name(result: dict[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    return {user["name"]: user for user in result["users"]}


def key_statuses(iam_client, name: str) -> dict[str, str]:
    return {k["AccessKeyId"]: k["Status"] for k in iam_client.list_access_keys(UserName=name)["AccessKeyMetadata"]}


@pytest.fixture
def mixed(iam_client) -> list[dict[str, t.Any]]:
    iam_client.create_group(GroupName="developers")
    # gina exists with a key and a password, which her entry takes away; frank is offboarded.
    iam_client.create_user(UserName="gina")
    iam_client.create_access_key(UserName="gina")
    iam_client.create_login_profile(UserName="gina", Password="Original-Passw0rd!")
    iam_client.create_user(UserName="frank")
    iam_client.create_access_key(UserName="frank")
    return [
        {
            "name": "alice",
            "path": "/staff/",
            "tags": {"team": "platform", "cost-center": "42"},
            "groups": ["developers"],
            "access_key": True,
            "console": {"password_length": 16},
            "mfa": True,
        },
        {"name": "bob", "access_key": {"rotate_after_days": 90}, "ssh_public_keys": [ssh_key()]},
        {"name": "carol", "console": True, "signing_certificates": [self_signed_certificate("carol")]},
        {"name": "dave", "path": "/contractors/"},
        {"name": "frank", "state": "absent"},
        {"name": "gina", "access_key": False, "console": False, "mfa": False},
    ]


def test_mixed_roster_converges_then_reruns_without_change_or_mutating_call(
    aws, roster, mixed, iam_client, creds, api_calls
):
    first = roster(mixed)

    assert "failed" not in first, first.get("msg")
    assert first["changed"] is True
    assert first["totals"] == {"users": 6, "changed": 6, "unchanged": 0, "failed": 0}
    users = {u["UserName"]: u for u in iam_client.list_users()["Users"]}
    assert set(users) == {"alice", "bob", "carol", "dave", "gina"}
    assert users["alice"]["Path"] == "/staff/"
    tags = iam_client.list_user_tags(UserName="alice")["Tags"]
    assert {tag["Key"]: tag["Value"] for tag in tags} == {"team": "platform", "cost-center": "42"}
    assert [g["GroupName"] for g in iam_client.list_groups_for_user(UserName="alice")["Groups"]] == ["developers"]
    assert iam_client.list_mfa_devices(UserName="alice")["MFADevices"][0]["SerialNumber"].endswith(":mfa/alice")
    assert len(iam_client.list_ssh_public_keys(UserName="bob")["SSHPublicKeys"]) == 1
    assert len(iam_client.list_signing_certificates(UserName="carol")["Certificates"]) == 1
    assert key_statuses(iam_client, "gina") == {}
    with pytest.raises(iam_client.exceptions.NoSuchEntityException):
        iam_client.get_login_profile(UserName="gina")

    # Delivered: one 0700 directory per user with a new secret, 0600 files, paths in the records, no secret.
    records = by_name(first)
    assert records["alice"]["created"][0] == "user"
    assert sorted(os.path.basename(p) for p in records["alice"]["credentials"]) == [
        "console.json",
        "credentials",
        "mfa.json",
    ]
    assert records["frank"]["removed"][:2] == ["user", "1 access key"]
    assert records["gina"]["removed"][0].startswith("access key ")
    assert mode(creds) == 0o700
    for path in creds.rglob("*"):
        assert mode(path) == (0o700 if path.is_dir() else 0o600), path
    parser = configparser.ConfigParser()
    parser.read_string((creds / "alice" / "credentials").read_text())
    secret = parser["alice"]["aws_secret_access_key"]
    password = json.loads((creds / "alice" / "console.json").read_text())["password"]
    assert secret not in json.dumps(first)
    assert password not in json.dumps(first)
    delivered = {path: path.read_bytes() for path in creds.rglob("*") if path.is_file()}

    api_calls.clear()
    second = roster(mixed)

    assert second["changed"] is False, [u for u in second["users"] if u["created"] or u["changed"] or u["removed"]]
    assert second["totals"] == {"users": 6, "changed": 0, "unchanged": 6, "failed": 0}
    assert api_calls.mutating == []
    assert {path: path.read_bytes() for path in creds.rglob("*") if path.is_file()} == delivered


def test_converged_user_costs_only_the_reads_its_entry_names(aws, roster, iam_client, api_calls):
    iam_client.create_group(GroupName="developers")
    entries = [
        {"name": "plain", "path": "/p/", "tags": {"a": "b"}},
        {"name": "keyed", "access_key": True, "console": {"password_reset_required": True}},
        {"name": "grouped", "groups": ["developers"], "mfa": True},
    ]
    roster(entries)
    api_calls.clear()

    result = roster(entries)

    assert result["changed"] is False
    assert api_calls.mutating == []
    # GetUser carries path, tags and boundary; each named aspect costs one read (see the module's docs).
    assert sorted(api_calls) == sorted(
        ["GetUser"] * 3 + ["ListAccessKeys", "GetLoginProfile", "ListGroupsForUser", "ListMFADevices"]
    )


def test_new_user_is_not_read_again_after_it_is_created(aws, roster, api_calls):
    result = roster([{"name": "alice", "path": "/p/", "tags": {"a": "b"}, "access_key": True, "console": True}])

    assert "failed" not in result, result.get("msg")
    assert "ListAccessKeys" not in api_calls
    assert "GetLoginProfile" not in api_calls
    assert api_calls.count("GetUser") == 1


@pytest.mark.parametrize("converged", [False, True])
def test_check_mode_predicts_every_user_and_makes_no_mutating_call(aws, roster, mixed, api_calls, creds, converged):
    if converged:
        roster(mixed)
    before = sorted(p.name for p in creds.rglob("*")) if creds.exists() else None
    api_calls.clear()

    result = roster(mixed, check_mode=True)

    assert api_calls.mutating == []
    assert "failed" not in result, result.get("msg")
    assert result["changed"] is (not converged)
    assert result["summary"][0].startswith("Check mode: nothing was changed")
    if converged:
        assert sorted(p.name for p in creds.rglob("*")) == before
    else:
        assert not creds.exists()
        assert by_name(result)["alice"]["created"][:2] == ["user", "access key (new)"]


def test_one_failing_user_does_not_stop_the_others_and_the_task_fails_naming_it(aws, roster, iam_client):
    result = roster([{"name": "alice", "access_key": True}, {"name": "bob", "groups": ["no-such-group"]}])

    assert result["failed"] is True
    assert "1 of 2 users failed: bob: NoSuchEntity: Failed to add user bob to group no-such-group" in result["msg"]
    assert len(key_statuses(iam_client, "alice")) == 1
    records = by_name(result)
    assert records["alice"]["failed"] is False
    assert records["bob"]["failed"] is True
    assert records["bob"]["error_code"] == "NoSuchEntity"
    assert any("FAILED (NoSuchEntity)" in line for line in result["summary"])
    assert "Failed users (the others are converged):" in result["summary"]


@pytest.mark.parametrize("name", [".", ".."])
def test_dot_names_are_refused_before_any_aws_call_or_file_operation(aws, roster, api_calls, creds, name):
    creds.mkdir()
    (creds / "keep").write_text("another user's secret")
    for state in ("present", "absent"):
        result = roster([{"name": name, "state": state, "access_key": True}])

        assert result["failed"] is True
        assert f"users[0] ({name}): name '{name}' cannot name a directory" in result["msg"]
    assert api_calls == []
    assert (creds / "keep").read_text() == "another user's secret"
    assert sorted(p.name for p in creds.parent.iterdir()) == ["credentials"]


def test_default_profile_name_is_refused_before_any_aws_call(aws, roster, api_calls):
    result = roster([{"name": "Default", "access_key": True}])

    assert result["failed"] is True
    assert "users[0] (Default): name: 'Default' cannot be a profile of an AWS credentials file" in result["msg"]
    assert api_calls == []


def test_entry_errors_name_the_entry_and_key_before_any_aws_call(aws, roster, api_calls):
    result = roster(
        [
            {"name": "alice", "console": {"password_lenght": 15}},
            {"name": "bob", "access_key": "yes"},
            {"name": "ALICE"},
            {"name": "carol", "ssh_public_keys": [ed25519_key()]},
            {"name": "dave", "tags": {"aws:reserved": "x"}},
        ]
    )

    assert result["failed"] is True
    msg = result["msg"]
    assert "users[0] (alice): console: unknown key password_lenght (known: password_length" in msg
    assert "users[1] (bob): access_key must be true, false or a dict with rotate_after_days" in msg
    assert "users[2] (ALICE): name repeats users[0]" in msg
    assert "users[3] (carol): ssh_public_keys[0]: public_key is not a usable SSH public key" in msg
    assert "users[4] (dave): tags key 'aws:reserved'" in msg
    assert api_calls == []


def test_vault_options_need_the_action_plugin(aws, roster, api_calls, tmp_path):
    result = roster([{"name": "alice", "access_key": True}], vault_id=f"ops@{tmp_path}/missing")

    assert result["failed"] is True
    assert "vault_id: ansible-vault encryption runs on the controller" in result["msg"]
    assert api_calls == []


def rotate_due(monkeypatch: pytest.MonkeyPatch) -> None:
    moment = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=100)
    monkeypatch.setattr(_access_keys, "utc_now", lambda: moment)


def test_unsafe_destination_is_refused_before_any_aws_call(aws, roster, iam_client, creds, monkeypatch, api_calls):
    roster([{"name": "alice", "access_key": True}])
    (old_key,) = key_statuses(iam_client, "alice")
    os.unlink(creds / "alice" / "credentials")
    (creds / "alice" / "credentials").mkdir()
    rotate_due(monkeypatch)
    api_calls.clear()

    result = roster([{"name": "alice", "access_key": {"rotate_after_days": 90}}])

    assert result["failed"] is True
    assert "alice: '" in result["msg"]
    assert "credentials' is a directory" in result["msg"]
    assert api_calls == []
    assert key_statuses(iam_client, "alice") == {old_key: "Active"}


def test_rotation_whose_new_secret_cannot_be_delivered_keeps_the_old_key_active(
    aws, roster, iam_client, creds, monkeypatch
):
    roster([{"name": "alice", "access_key": True}])
    (old_key,) = key_statuses(iam_client, "alice")
    delivered = (creds / "alice" / "credentials").read_bytes()
    rotate_due(monkeypatch)

    def disk_full(self, payload):
        raise _delivery.DeliveryError(f"Failed to write secret to '{self.path}': No space left on device")

    monkeypatch.setattr(_delivery.Destination, "deliver", disk_full)

    result = roster([{"name": "alice", "access_key": {"rotate_after_days": 90}}])

    assert result["failed"] is True
    assert "No space left on device" in by_name(result)["alice"]["msg"]
    # The new key was deleted again and the old one never retired: no outage, no undelivered secret.
    assert key_statuses(iam_client, "alice") == {old_key: "Active"}
    assert (creds / "alice" / "credentials").read_bytes() == delivered


def test_files_in_a_users_directory_are_replaced_whole_never_parsed(aws, roster, iam_client, creds):
    roster([{"name": "alice"}])
    (creds / "alice").mkdir(parents=True, mode=0o700)
    for name, content in (
        ("mfa.json", b"\xff\xfe not utf-8"),
        ("credentials", b"aws_secret_access_key = old-secret\n"),
    ):
        (creds / "alice" / name).write_bytes(content)
        os.chmod(creds / "alice" / name, 0o600)

    result = roster([{"name": "alice", "mfa": True, "access_key": True}])

    assert "failed" not in result, result.get("msg")
    assert json.loads((creds / "alice" / "mfa.json").read_text())["user_name"] == "alice"
    assert "old-secret" not in (creds / "alice" / "credentials").read_text()
    assert "old-secret" not in json.dumps(result)
    assert len(iam_client.list_mfa_devices(UserName="alice")["MFADevices"]) == 1


def test_offboarding_removes_only_the_users_own_directory(aws, roster, iam_client, creds):
    roster([{"name": "alice", "access_key": True}, {"name": "bob", "access_key": True}])

    result = roster([{"name": "alice", "state": "absent"}])

    assert "failed" not in result, result.get("msg")
    assert not (creds / "alice").exists()
    assert (creds / "bob" / "credentials").exists()
    assert by_name(result)["alice"]["removed"] == ["user", "1 access key", "credentials directory"]
    assert [u["UserName"] for u in iam_client.list_users()["Users"]] == ["bob"]


def test_offboarding_never_follows_a_symlinked_user_directory(aws, roster, iam_client, creds, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "precious").write_text("keep me")
    creds.mkdir(mode=0o700)
    (creds / "alice").symlink_to(elsewhere)
    iam_client.create_user(UserName="alice")

    result = roster([{"name": "alice", "state": "absent"}])

    assert result["failed"] is True
    assert (elsewhere / "precious").read_text() == "keep me"


def test_diff_mode_gives_one_diff_per_changed_user_without_secrets(aws, roster, iam_client, creds):
    roster([{"name": "alice", "tags": {"team": "platform"}}, {"name": "bob"}])

    result = roster([{"name": "alice", "tags": {"team": "sales"}, "access_key": True}, {"name": "bob"}], diff=True)

    assert [diff["before_header"] for diff in result["diff"]] == ["user alice"]
    (diff,) = result["diff"]
    assert diff["before"]["user"]["tags"] == {"team": "platform"}
    assert diff["after"]["user"]["tags"] == {"team": "sales"}
    assert diff["before"]["access_keys"] == {"access_keys": []}
    assert diff["after"]["access_keys"]["access_keys"][0]["status"] == "Active"
    parser = configparser.ConfigParser()
    parser.read_string((creds / "alice" / "credentials").read_text())
    assert parser["alice"]["aws_secret_access_key"] not in json.dumps(result)


def test_many_users_converge_concurrently_with_progress_lines(aws, iam_client, creds):
    settings = _roster.Settings(credentials_dir=str(creds), concurrency=8, batch_size=10)
    engine = _roster.Engine({"region": "us-east-1"}, settings)
    entries, errors = _roster_input.parse_entries(
        [{"name": f"user-{n:02}", "access_key": True} for n in range(30)], str(creds)
    )
    lines: list[_roster.Progress] = []

    records = engine.converge(entries, lines.append)

    assert errors == []
    assert [record.failed for record in records] == [False] * 30
    assert len(iam_client.list_users()["Users"]) == 30
    assert lines[-1].final
    assert lines[-1].done == 30
    assert lines[-1].changed == 30
    done = [line.done for line in lines]
    assert done == sorted(done)
    assert any(10 <= line.done < 30 for line in lines[:-1])
    assert lines[-1].line("main") == "iam_roster [main]: 30/30 users done, 30 changed, 0 failed"


class Killed(BaseException):
    """Stands for the process dying (SIGKILL): no except clause of the product catches it."""


@pytest.mark.parametrize("kind", ["access_key", "console", "mfa"])
def test_a_run_killed_before_delivery_is_recovered_by_the_next_run(aws, roster, iam_client, creds, monkeypatch, kind):
    iam_client.create_user(UserName="alice")
    entry = {"name": "alice", kind: True}
    deliver = _delivery.Destination.deliver

    def die(self, payload):
        raise Killed

    monkeypatch.setattr(_delivery.Destination, "deliver", die)
    settings = _roster.Settings(credentials_dir=str(creds))
    (parsed,), _errors = _roster_input.parse_entries([entry], str(creds))
    with pytest.raises(Killed):
        _roster.Engine({"region": "us-east-1"}, settings).converge([parsed])
    # AWS issued the credential; its secret is nowhere; the write-ahead record (IDs only) says so.
    journal = next((creds / "alice").glob(".issuing-*.json"))
    assert "secret" not in journal.read_text().lower()
    monkeypatch.setattr(_delivery.Destination, "deliver", deliver)

    result = roster([entry])

    assert "failed" not in result, result.get("msg")
    record = by_name(result)["alice"]
    assert any("issued by an interrupted run, never delivered" in removed for removed in record["removed"])
    assert list((creds / "alice").glob(".issuing-*")) == []
    if kind == "access_key":
        parser = configparser.ConfigParser()
        parser.read_string((creds / "alice" / "credentials").read_text())
        assert list(key_statuses(iam_client, "alice")) == [parser["alice"]["aws_access_key_id"]]
    elif kind == "console":
        assert json.loads((creds / "alice" / "console.json").read_text())["password"]
        iam_client.get_login_profile(UserName="alice")
    else:
        serial = json.loads((creds / "alice" / "mfa.json").read_text())["serial_number"]
        assert [d["SerialNumber"] for d in iam_client.list_mfa_devices(UserName="alice")["MFADevices"]] == [serial]
        assert [d["SerialNumber"] for d in iam_client.list_virtual_mfa_devices()["VirtualMFADevices"]] == [serial]
    # A credential delivered and then handed over (its file deleted) is not mistaken for a lost one.
    for path in (creds / "alice").iterdir():
        path.unlink()
    assert roster([entry])["changed"] is False
