"""Adversarial probes of the roster engine's rules: hostile paths, secrets never lost or shown, check mode.

Tests that pass document a rule that holds; tests marked ``xfail(strict=True, reason="DEFECT: ...")`` show a
rule that does not hold today (the suite stays green; each turns into a failure once the defect is fixed,
so the mark must then be removed).
"""

from __future__ import annotations

import configparser
import datetime
import errno
import json
import os
import shutil
import stat
import types
import typing as t

import botocore.exceptions
import pytest
from moto.core.models import botocore_stubber

from ansible_collections.techsquawks.iam.plugins.module_utils import (
    _access_keys,
    _delivery,
    _mfa,
    _roster,
    _roster_input,
)
from ansible_collections.techsquawks.iam.plugins.modules import iam_roster

ACCOUNT = "123456789012"
# The roster keys that issue a secret, and the file of the user's directory it goes to.
KINDS = {"access_key": "credentials", "console": "console.json", "mfa": "mfa.json"}


# -- helpers --------------------------------------------------------------------------------------


def mode(path: os.PathLike[str] | str) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def by_name(result: dict[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    return {user["name"]: user for user in result["users"]}


def snapshot(root: os.PathLike[str]) -> dict[str, t.Any]:
    """Every path under ``root`` with its type, mode and content (to prove nothing was written)."""
    found: dict[str, t.Any] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            info = os.lstat(path)
            content = None
            if stat.S_ISREG(info.st_mode):
                with open(path, "rb") as handle:
                    content = handle.read()
            found[os.path.relpath(path, root)] = (stat.S_IFMT(info.st_mode), stat.S_IMODE(info.st_mode), content)
    return found


def credentials_left(iam_client: t.Any, kind: str, user: str) -> list[str]:
    """The credentials of ``kind`` that AWS holds for ``user`` (keys, a login profile, MFA devices)."""
    if kind == "access_key":
        return [key["AccessKeyId"] for key in iam_client.list_access_keys(UserName=user)["AccessKeyMetadata"]]
    if kind == "console":
        try:
            iam_client.get_login_profile(UserName=user)
        except iam_client.exceptions.NoSuchEntityException:
            return []
        return ["login profile"]
    enabled = [device["SerialNumber"] for device in iam_client.list_mfa_devices(UserName=user)["MFADevices"]]
    virtual = [device["SerialNumber"] for device in iam_client.list_virtual_mfa_devices()["VirtualMFADevices"]]
    return enabled + virtual


class Issued:
    """Every secret AWS issued during the test (access key secrets, MFA seeds, console passwords)."""

    def __init__(self, emulator: t.Any):
        self.emulator = emulator
        self.keys: dict[str, tuple[str, str]] = {}
        self.seeds: dict[str, str] = {}
        emulator.amend("CreateAccessKey", self._key)
        emulator.amend("CreateVirtualMFADevice", self._seed)

    def _key(self, params: dict[str, t.Any], response: dict[str, t.Any]) -> dict[str, t.Any]:
        key = response["AccessKey"]
        self.keys[key["AccessKeyId"]] = (key["UserName"], key["SecretAccessKey"])
        return response

    def _seed(self, params: dict[str, t.Any], response: dict[str, t.Any]) -> dict[str, t.Any]:
        device = response["VirtualMFADevice"]
        self.seeds[device["SerialNumber"]] = _mfa.seed_text(device["Base32StringSeed"])
        return response

    @property
    def passwords(self) -> dict[str, str]:
        return {
            params["UserName"]: params["Password"]
            for operation, params in self.emulator.calls
            if operation in ("CreateLoginProfile", "UpdateLoginProfile") and "Password" in params
        }

    def all(self) -> list[str]:
        return (
            [secret for _user, secret in self.keys.values()] + list(self.seeds.values()) + list(self.passwords.values())
        )

    def assert_not_in(self, text: str) -> None:
        secrets = self.all()
        assert secrets, "the probe issued no secret"
        for secret in secrets:
            assert secret not in text


@pytest.fixture
def controller(controller_imports: t.Callable[[], t.ContextManager[None]]) -> t.Iterator[types.SimpleNamespace]:
    """The controller-side code (action plugin, ansible-vault), imported for one test only.

    Importing ansible's controller packages can mark the process as the controller, after which AnsibleModule.warn
    prints instead of returning warnings: the mark is put back so that the module tests that follow are unaffected.
    """
    with controller_imports():
        from ansible.parsing.dataloader import DataLoader
        from ansible.parsing.vault import VaultLib, VaultSecret

        from ansible_collections.techsquawks.iam.plugins.action import iam_roster as action

        yield types.SimpleNamespace(
            DataLoader=DataLoader,
            VaultLib=VaultLib,
            VaultSecret=VaultSecret,
            ActionModule=action.ActionModule,
            vault_encrypter=action.vault_encrypter,
        )


@pytest.fixture
def creds(tmp_path):
    return tmp_path / "credentials"


@pytest.fixture
def elsewhere(tmp_path):
    """A directory outside the credentials directory that no file operation may touch."""
    path = tmp_path / "elsewhere"
    path.mkdir()
    return path


@pytest.fixture
def roster(run_module, creds) -> t.Callable[..., dict[str, t.Any]]:
    def run(users: list[dict[str, t.Any]], *, check_mode: bool = False, diff: bool = False, **options: t.Any):
        args = {"users": users, "credentials_dir": str(options.pop("credentials_dir", creds)), **options}
        return run_module(iam_roster, args, check_mode=check_mode, diff=diff)

    return run


def private_dir(path: os.PathLike[str]) -> None:
    os.makedirs(path, mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)


def rotate_due(monkeypatch: pytest.MonkeyPatch) -> None:
    moment = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=100)
    monkeypatch.setattr(_access_keys, "utc_now", lambda: moment)


def engine(creds: os.PathLike[str], **settings: t.Any) -> _roster.Engine:
    return _roster.Engine({"region": "us-east-1"}, _roster.Settings(credentials_dir=str(creds), **settings))


def converge(eng: _roster.Engine, users: list[dict[str, t.Any]]) -> list[_roster.Record]:
    entries, errors = _roster_input.parse_entries(users, eng.settings.credentials_dir)
    assert errors == []
    return eng.converge(entries)


# Pre-existing things where a user's secret file would go (each must be refused, none may be written through).
def _symlink(creds, elsewhere, file_name):
    private_dir(creds / "alice")
    target = elsewhere / "target"
    target.write_text("not yours\n")
    os.chmod(target, 0o600)
    (creds / "alice" / file_name).symlink_to(target)


def _fifo(creds, elsewhere, file_name):
    private_dir(creds / "alice")
    os.mkfifo(creds / "alice" / file_name, 0o600)


def _world_readable(creds, elsewhere, file_name):
    private_dir(creds / "alice")
    path = creds / "alice" / file_name
    path.write_text("")
    os.chmod(path, 0o644)


def _directory(creds, elsewhere, file_name):
    private_dir(creds / "alice" / file_name)


def _user_dir_is_a_file(creds, elsewhere, file_name):
    private_dir(creds)
    (creds / "alice").write_text("")
    os.chmod(creds / "alice", 0o600)


UNSAFE = {
    "symlink": _symlink,
    "fifo": _fifo,
    "world-readable": _world_readable,
    "directory": _directory,
    "user-dir-is-a-file": _user_dir_is_a_file,
}


# -- hostile names and paths ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", [".a", "a..b", "...", "-", "@", "..a", "a.", "+=,.@_-"])
def test_names_iam_allows_that_look_like_paths_stay_direct_children_of_the_credentials_dir(
    aws, roster, creds, tmp_path, name
):
    result = roster([{"name": name, "access_key": True}])

    assert "failed" not in result, result.get("msg")
    assert (creds / name / "credentials").is_file()
    assert by_name(result)[name]["directory"] == str(creds / name)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["credentials"]
    assert sorted(p.name for p in creds.iterdir()) == [name]


@pytest.mark.parametrize(
    ("option", "value"),
    [("name", "alice\n"), ("path", "/staff/\n"), ("name", "DEFAULT\n")],
)
def test_name_or_path_with_a_trailing_newline_is_refused_before_any_aws_call(
    aws, roster, api_calls, creds, option, value
):
    entry = {"name": "alice", "access_key": True, option: value}

    result = roster([entry])

    assert result.get("failed") is True
    assert api_calls == []
    assert not creds.exists()


def test_relative_credentials_dir_is_refused_before_any_aws_call(aws, roster, api_calls, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    result = roster([{"name": "alice", "access_key": True}], credentials_dir="relative/creds")

    assert result["failed"] is True
    assert "must be an absolute path" in result["msg"]
    assert api_calls == []
    assert not (tmp_path / "relative").exists()


def test_tilde_credentials_dir_is_the_home_directory(aws, roster, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))

    result = roster([{"name": "alice", "access_key": True}], credentials_dir="~/iam-credentials")

    assert "failed" not in result, result.get("msg")
    assert (tmp_path / "home" / "iam-credentials" / "alice" / "credentials").is_file()
    assert mode(tmp_path / "home" / "iam-credentials") == 0o700


@pytest.mark.parametrize("states", [("present", "present"), ("present", "absent"), ("absent", "present")])
def test_two_entries_differing_only_in_case_are_refused_before_any_aws_call(aws, roster, api_calls, creds, states):
    result = roster([{"name": "alice", "state": states[0], "access_key": True}, {"name": "ALICE", "state": states[1]}])

    assert result["failed"] is True
    assert "users[1] (ALICE): name repeats users[0]" in result["msg"]
    assert api_calls == []
    assert not creds.exists()


def test_user_named_like_the_report_file_is_refused_before_any_aws_call(aws, roster, api_calls, creds):
    result = roster([{"name": _roster.REPORT_FILE, "access_key": True}, {"name": "bob"}], report=True)

    assert result["failed"] is True
    assert _roster.REPORT_FILE in result["msg"]
    assert api_calls.mutating == []


# -- the user's directory and the files in it ------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_user_directory_that_is_a_symlink_is_never_written_through(aws, roster, iam_client, creds, elsewhere, kind):
    private_dir(creds)
    (creds / "alice").symlink_to(elsewhere, target_is_directory=True)
    iam_client.create_user(UserName="alice")

    result = roster([{"name": "alice", kind: True}])

    assert list(elsewhere.iterdir()) == []
    assert result["failed"] is True
    assert credentials_left(iam_client, kind, "alice") == []


# The call that issues each kind's secret.
ISSUING = {"access_key": "CreateAccessKey", "console": "CreateLoginProfile", "mfa": "CreateVirtualMFADevice"}


@pytest.mark.parametrize("unsafe", sorted(UNSAFE))
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_destination_turning_unsafe_after_the_secret_is_issued_removes_the_new_credential_and_shows_no_secret(
    aws, roster, iam_client, emulator, creds, elsewhere, kind, unsafe
):
    # An unsafe destination found before any AWS call is refused then (the test below); here it turns unsafe while
    # AWS issues the secret, so the credential exists when the write is refused.
    issued = Issued(emulator)
    iam_client.create_user(UserName="alice")
    record = emulator.after.get(ISSUING[kind])
    outside: list[dict[str, t.Any]] = []

    def turn_unsafe(params: dict[str, t.Any], response: dict[str, t.Any]) -> dict[str, t.Any]:
        response = record(params, response) if record else response
        if unsafe == "user-dir-is-a-file" and (creds / "alice").is_dir():
            shutil.rmtree(creds / "alice")
        UNSAFE[unsafe](creds, elsewhere, KINDS[kind])
        outside.append(snapshot(elsewhere))
        return response

    emulator.amend(ISSUING[kind], turn_unsafe)

    result = roster([{"name": "alice", kind: True}])

    assert len(outside) == 1, f"{ISSUING[kind]} was called {len(outside)} times"
    assert result["failed"] is True
    assert [user["credentials"] for user in result.get("users", [])] in ([], [[]])
    assert credentials_left(iam_client, kind, "alice") == []
    assert snapshot(elsewhere) == outside[0]
    # The credential was issued, then removed: its secret is nowhere in the result.
    issued.assert_not_in(json.dumps(result))


@pytest.mark.parametrize(
    ("kind", "unsafe"),
    [("access_key", unsafe) for unsafe in sorted(UNSAFE)] + [("console", "symlink"), ("mfa", "fifo")],
)
def test_unsafe_existing_destination_is_refused_before_any_aws_call(
    aws, roster, iam_client, api_calls, creds, elsewhere, kind, unsafe
):
    iam_client.create_user(UserName="alice")
    UNSAFE[unsafe](creds, elsewhere, KINDS[kind])
    api_calls.clear()

    result = roster([{"name": "alice", kind: True}])

    assert result["failed"] is True
    assert api_calls.mutating == []


@pytest.mark.parametrize(
    "content",
    [
        "aws_secret_access_key = LEAKED-SECRET\n",  # no section header
        "[bob]\naws_secret_access_key = LEAKED-SECRET\n[bob]\n",  # duplicate section
        "[bob]\naws_secret_access_key = LEAKED-SECRET\naws_secret_access_key = LEAKED-SECRET\n",  # duplicate option
        "[bob]\nLEAKED-SECRET\n",  # a line that is not key = value
        "[bob\naws_secret_access_key = LEAKED-SECRET\n",  # a broken header
    ],
)
def test_unparsable_file_in_a_users_directory_is_replaced_whole_never_read_or_quoted(
    aws, roster, iam_client, creds, content
):
    # The file is the user's own, written by an earlier run: the roster replaces it whole, never parses it.
    private_dir(creds / "alice")
    existing = creds / "alice" / "credentials"
    existing.write_text(content)
    os.chmod(existing, 0o600)

    result = roster([{"name": "alice", "access_key": True}])

    assert "failed" not in result, result.get("msg")
    assert "LEAKED" not in json.dumps(result)
    assert "LEAKED" not in existing.read_text()
    parser = configparser.ConfigParser()
    parser.read_string(existing.read_text())
    assert parser.sections() == ["alice"]
    assert len(credentials_left(iam_client, "access_key", "alice")) == 1


def test_existing_user_directory_is_made_private_or_refused(aws, roster, iam_client, creds):
    private_dir(creds)
    (creds / "alice").mkdir()
    os.chmod(creds / "alice", 0o777)  # noqa: S103 - the hostile state under test

    result = roster([{"name": "alice", "access_key": True}])

    if result.get("failed"):
        assert credentials_left(iam_client, "access_key", "alice") == []
    else:
        assert mode(creds / "alice") == 0o700


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a file to another user")
def test_existing_credentials_file_owned_by_someone_else_is_not_merged(aws, roster, iam_client, creds):
    private_dir(creds / "alice")
    planted = creds / "alice" / "credentials"
    planted.write_text("[DEFAULT]\ncredential_process = /tmp/planted.sh\n")
    os.chmod(planted, 0o600)
    os.chown(planted, 65534, 65534)

    result = roster([{"name": "alice", "access_key": True}])

    assert result["failed"] is True
    assert "belongs to another user" in result["msg"]
    # Refused before any AWS call: the user was never created.
    assert iam_client.list_users()["Users"] == []
    assert "planted" in planted.read_text()


# -- secrets never lost ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_encryption_failure_removes_each_new_credential(aws, iam_client, creds, kind):
    def broken(_plaintext: str) -> bytes:
        raise RuntimeError("vault says no")

    iam_client.create_user(UserName="alice")

    (record,) = converge(engine(creds, encrypt=broken), [{"name": "alice", kind: True}])

    assert record.failed is True
    assert "cannot encrypt" in record.msg
    assert credentials_left(iam_client, kind, "alice") == []
    assert [p.name for p in creds.rglob("*") if p.is_file()] == []


def test_vault_encrypted_secrets_never_reach_the_disk_in_plain_text(aws, emulator, creds, tmp_path, controller):
    issued = Issued(emulator)
    password_file = tmp_path / "vault-pass"
    password_file.write_text("correct horse battery staple\n")
    encrypt = controller.vault_encrypter(f"ops@{password_file}", None, controller.DataLoader())

    records = converge(
        engine(creds, encrypt=encrypt), [{"name": "alice", "access_key": True, "console": True, "mfa": True}]
    )

    assert [record.failed for record in records] == [False]
    files = sorted(p.name for p in (creds / "alice").iterdir())
    assert files == ["console.json.vault", "credentials.vault", "mfa.json.vault"]
    on_disk = "".join(p.read_text() for p in creds.rglob("*") if p.is_file())
    issued.assert_not_in(on_disk)
    vault = controller.VaultLib([("ops", controller.VaultSecret(b"correct horse battery staple"))])
    plain = vault.decrypt((creds / "alice" / "credentials.vault").read_bytes()).decode()
    key_id, (_owner, secret) = next(iter(issued.keys.items()))
    assert len(issued.keys) == 1
    assert key_id in plain
    assert secret in plain


def lose_first_response(eng: _roster.Engine, operation: str) -> list[str]:
    """AWS acts on the first ``operation`` but its answer is lost (a read timeout)."""
    lost: list[str] = []

    def handler(request: t.Any, event_name: str, **kwargs: t.Any) -> t.Any:
        if lost:
            return None
        botocore_stubber(event_name=event_name, request=request, **kwargs)
        lost.append(operation)
        raise botocore.exceptions.ReadTimeoutError(endpoint_url=request.url)

    # Creates go out on the engine's single-attempt client; register on both, whichever sends it.
    for client in (eng.client, eng._probe()):
        client.meta.events.register_first(f"before-send.iam.{operation}", handler)
    return lost


@pytest.mark.parametrize(
    ("kind", "operation"),
    [("access_key", "CreateAccessKey"), ("console", "CreateLoginProfile"), ("mfa", "CreateVirtualMFADevice")],
)
def test_lost_create_response_leaves_no_credential_without_a_delivered_secret(aws, iam_client, creds, kind, operation):
    iam_client.create_user(UserName="alice")
    eng = engine(creds)
    lost = lose_first_response(eng, operation)

    converge(eng, [{"name": "alice", kind: True}])

    assert lost == [operation]
    left = credentials_left(iam_client, kind, "alice")
    # Sent once, reconciled: the run delivered a working credential, and nothing else is left.
    assert (creds / "alice" / KINDS[kind]).exists()
    delivered = creds / "alice" / KINDS[kind]
    if kind == "access_key":
        held = configparser.ConfigParser()
        held.read(delivered)
        assert left == ([held["alice"]["aws_access_key_id"]] if delivered.exists() else [])
    elif kind == "console":
        assert left == (["login profile"] if delivered.exists() else [])
    else:
        # The device whose answer was lost was deleted again; the one delivered is enabled (listed twice).
        serial = json.loads(delivered.read_text())["serial_number"]
        assert left == [serial, serial]


def test_rotation_proves_and_delivers_the_new_key_before_the_old_one_is_deactivated(
    aws, roster, iam_client, emulator, creds, monkeypatch
):
    issued = Issued(emulator)
    roster([{"name": "alice", "access_key": True}])
    old_key = next(iter(issued.keys))
    assert len(issued.keys) == 1
    at_deactivation: list[tuple[str, str]] = []

    def seen(params: dict[str, t.Any], response: dict[str, t.Any]) -> dict[str, t.Any]:
        at_deactivation.append((params["AccessKeyId"], (creds / "alice" / "credentials").read_text()))
        return response

    emulator.amend("UpdateAccessKey", seen)
    rotate_due(monkeypatch)
    emulator.calls.clear()

    result = roster([{"name": "alice", "access_key": {"rotate_after_days": 90}}])

    assert "failed" not in result, result.get("msg")
    new_key = next(key for key in issued.keys if key != old_key)
    operations = [operation for operation, _params in emulator.calls]
    assert operations.index("CreateAccessKey") < operations.index("GetCallerIdentity")
    assert operations.index("GetCallerIdentity") < operations.index("UpdateAccessKey")
    ((deactivated, file_then),) = at_deactivation
    assert deactivated == old_key
    assert new_key in file_then
    assert issued.keys[new_key][1] in file_then
    statuses = {
        k["AccessKeyId"]: k["Status"] for k in iam_client.list_access_keys(UserName="alice")["AccessKeyMetadata"]
    }
    assert statuses == {old_key: "Inactive", new_key: "Active"}


def test_rotation_whose_new_key_cannot_be_proven_keeps_the_old_key_and_its_file(
    aws, roster, iam_client, emulator, creds, monkeypatch
):
    roster([{"name": "alice", "access_key": True}])
    (old_key,) = [k["AccessKeyId"] for k in iam_client.list_access_keys(UserName="alice")["AccessKeyMetadata"]]
    held = (creds / "alice" / "credentials").read_bytes()
    emulator.answer(
        "GetCallerIdentity",
        lambda _params: {"UserId": "AIDAMALLORY", "Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/mallory"},
    )
    rotate_due(monkeypatch)

    result = roster([{"name": "alice", "access_key": {"rotate_after_days": 90}}], verify_timeout=1)

    assert result["failed"] is True
    assert "was deleted again and no active key was retired" in by_name(result)["alice"]["msg"]
    keys = iam_client.list_access_keys(UserName="alice")["AccessKeyMetadata"]
    assert [(k["AccessKeyId"], k["Status"]) for k in keys] == [(old_key, "Active")]
    assert (creds / "alice" / "credentials").read_bytes() == held


def test_many_users_at_once_each_get_exactly_their_own_secrets(aws, iam_client, emulator, creds):
    issued = Issued(emulator)
    names = [f"user-{n:02}" for n in range(20)]
    eng = engine(creds, concurrency=16, batch_size=5)

    records = converge(eng, [{"name": name, "access_key": True, "console": True, "mfa": True} for name in names])

    assert [(record.name, record.failed) for record in records] == [(name, False) for name in names]
    passwords = issued.passwords
    for name in names:
        parser = configparser.ConfigParser()
        parser.read_string((creds / name / "credentials").read_text())
        assert parser.sections() == [name]
        (key_id,) = [k["AccessKeyId"] for k in iam_client.list_access_keys(UserName=name)["AccessKeyMetadata"]]
        assert parser[name]["aws_access_key_id"] == key_id
        assert parser[name]["aws_secret_access_key"] == issued.keys[key_id][1]
        console = json.loads((creds / name / "console.json").read_text())
        assert (console["user_name"], console["password"]) == (name, passwords[name])
        mfa = json.loads((creds / name / "mfa.json").read_text())
        (serial,) = [d["SerialNumber"] for d in iam_client.list_mfa_devices(UserName=name)["MFADevices"]]
        assert (mfa["user_name"], mfa["serial_number"], mfa["base32_seed"]) == (name, serial, issued.seeds[serial])
        assert mode(creds / name) == 0o700
        assert {mode(p) for p in (creds / name).iterdir()} == {0o600}


# -- secrets never shown -------------------------------------------------------------------------------


def test_no_secret_in_result_diff_summary_warnings_report_or_api_log(
    aws, roster, iam_client, emulator, creds, capsys, tmp_path, monkeypatch
):
    issued = Issued(emulator)
    monkeypatch.setenv("TECHSQUAWKS_IAM_API_LOG", str(tmp_path / "api.log"))
    # A leftover unassigned device makes carol's warning; bob fails after his key was delivered and his new
    # password was issued (its file cannot be written, so the profile is removed again).
    iam_client.create_virtual_mfa_device(VirtualMFADeviceName="carol")
    deliver = _delivery.Destination.deliver

    def bob_console_fails(self, payload):
        if self.path.endswith(os.path.join("bob", "console.json")):
            raise _delivery.DeliveryError(f"Failed to write secret to '{self.path}': No space left on device")
        return deliver(self, payload)

    monkeypatch.setattr(_delivery.Destination, "deliver", bob_console_fails)
    users = [
        {"name": "alice", "access_key": True, "console": True, "mfa": True, "tags": {"team": "a"}},
        {"name": "bob", "access_key": True, "console": True},
        {"name": "carol", "mfa": True, "console": {"password_length": 30}},
    ]

    result = roster(users, diff=True, report=True)

    assert result["failed"] is True
    assert any("unassigned virtual MFA device" in w for w in by_name(result)["carol"]["warnings"])
    report = (creds / _roster.REPORT_FILE).read_text()
    captured = capsys.readouterr()
    api_log = (tmp_path / "api.log").read_text()
    assert "iam CreateAccessKey" in api_log
    issued.assert_not_in(json.dumps(result) + report + captured.out + captured.err + api_log)
    assert "bob" in result["msg"]
    assert len(issued.all()) == 3 + 2 + 2  # alice's key, password and seed; bob's key and password; carol's two


# -- check mode ------------------------------------------------------------------------------------------


def test_check_mode_writes_no_file_and_makes_no_mutating_call(aws, roster, iam_client, api_calls, creds, monkeypatch):
    roster([{"name": "alice", "access_key": True}, {"name": "bob", "access_key": True, "mfa": True}], report=True)
    iam_client.create_virtual_mfa_device(VirtualMFADeviceName="carol")  # a leftover check mode must not delete
    before = snapshot(creds.parent)
    rotate_due(monkeypatch)
    api_calls.clear()

    result = roster(
        [
            {"name": "alice", "access_key": {"rotate_after_days": 1}, "console": True, "mfa": True},
            {"name": "bob", "state": "absent"},
            {"name": "carol", "access_key": True, "console": True, "mfa": True, "path": "/new/"},
        ],
        check_mode=True,
        diff=True,
        report=True,
    )

    assert "failed" not in result, result.get("msg")
    assert result["changed"] is True
    assert "report" not in result
    assert api_calls.mutating == []
    assert snapshot(creds.parent) == before
    assert by_name(result)["bob"]["removed"][-1] == "credentials directory"


def test_check_mode_creates_no_credentials_directory(aws, roster, api_calls, creds):
    result = roster([{"name": "alice", "access_key": True, "console": True, "mfa": True}], check_mode=True, report=True)

    assert result["changed"] is True
    assert api_calls.mutating == []
    assert not creds.exists()


# -- failures are reported, never raised --------------------------------------------------------------------


def test_report_that_cannot_be_written_fails_the_task_but_keeps_the_records(aws, roster, creds):
    roster([{"name": "alice"}], report=True)
    os.chmod(creds / _roster.REPORT_FILE, 0o644)

    result = roster([{"name": "bob", "access_key": True}], report=True)

    assert by_name(result)["bob"]["credentials"] == [str(creds / "bob" / "credentials")]
    assert _roster.REPORT_FILE in json.dumps([result.get("msg"), result.get("warnings")])


def test_credentials_dir_that_cannot_be_created_fails_cleanly_before_any_aws_call(aws, roster, api_calls, tmp_path):
    (tmp_path / "a-file").write_text("")

    result = roster([{"name": "alice", "access_key": True}], credentials_dir=str(tmp_path / "a-file" / "creds"))

    assert result["failed"] is True
    assert "credentials_dir" in result["msg"]
    assert api_calls.mutating == []


def test_directory_that_cannot_be_removed_fails_only_that_user(aws, roster, creds, monkeypatch):
    roster([{"name": "alice", "access_key": True}])

    def busy(path: str, *args: t.Any, **kwargs: t.Any) -> None:
        raise OSError(errno.EBUSY, os.strerror(errno.EBUSY), path)

    monkeypatch.setattr(_roster_input.shutil, "rmtree", busy)

    result = roster([{"name": "alice", "state": "absent"}, {"name": "bob", "access_key": True}])

    assert result["failed"] is True
    records = by_name(result)
    assert records["alice"]["failed"] is True
    assert records["bob"]["credentials"] == [str(creds / "bob" / "credentials")]


# -- offboarding removes only what it should --------------------------------------------------------------


def test_offboarding_never_follows_a_symlink_inside_the_user_directory(aws, roster, creds, elsewhere):
    roster([{"name": "alice", "access_key": True}])
    (elsewhere / "precious").write_text("keep me")
    (creds / "alice" / "link").symlink_to(elsewhere, target_is_directory=True)

    result = roster([{"name": "alice", "state": "absent"}])

    assert (elsewhere / "precious").read_text() == "keep me"
    # Removed (the link itself, not its target), or refused as holding something the collection did not write.
    assert os.path.lexists(creds / "alice") is bool(result.get("failed"))


def test_offboarding_never_removes_files_the_collection_did_not_write(aws, roster, tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "credentials").write_text("[default]\naws_access_key_id = the operator's\n")
    (home / ".aws" / "config").write_text("[default]\nregion = us-east-1\n")
    monkeypatch.setenv("HOME", str(home))

    roster([{"name": ".aws", "state": "absent"}], credentials_dir="~")

    assert (home / ".aws" / "credentials").is_file()
    assert (home / ".aws" / "config").is_file()


# -- the action plugin (controller side) ------------------------------------------------------------------


class Shown:
    """Stands in for Display: records every line the action plugin would print, at any verbosity."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def __getattr__(self, name: str) -> t.Callable[..., None]:
        def record(*args: t.Any, **kwargs: t.Any) -> None:
            self.lines.append(" ".join(str(arg) for arg in (*args, *kwargs.values())))

        return record


def run_action(
    controller: types.SimpleNamespace, args: dict[str, t.Any], *, check_mode: bool = False, diff: bool = False
) -> tuple[dict[str, t.Any], Shown]:
    """Run the iam_roster action plugin as ansible-playbook would, recording what it prints."""
    task = types.SimpleNamespace(
        args=args, check_mode=check_mode, diff=diff, async_val=0, action="techsquawks.iam.iam_roster", environment=None
    )
    shell = types.SimpleNamespace(tmpdir="/nonexistent", env_prefix=lambda **_env: "")
    # shared_loader_obj given: optional since ansible-core 2.19, required before.
    action = controller.ActionModule(
        task, types.SimpleNamespace(_shell=shell), None, controller.DataLoader(), None, None
    )
    shown = Shown()
    action._display = shown
    return action.run(task_vars={}), shown


def test_action_plugin_encrypts_every_secret_and_prints_none(aws, iam_client, emulator, creds, tmp_path, controller):
    issued = Issued(emulator)
    password_file = tmp_path / "vault-pass"
    password_file.write_text("s3cret-vault-pass\n")
    iam_client.create_virtual_mfa_device(VirtualMFADeviceName="alice")  # a leftover: the run warns about it
    users = [{"name": "alice", "access_key": True, "console": True, "mfa": True}, {"name": "bob", "access_key": True}]

    result, shown = run_action(
        controller,
        {"users": users, "credentials_dir": str(creds), "vault_password_file": str(password_file), "report": True},
        diff=True,
    )

    assert "failed" not in result, result.get("msg")
    assert any("users done" in line for line in shown.lines)
    assert any("unassigned virtual MFA device" in line for line in shown.lines)
    on_disk = "".join(p.read_text() for p in creds.rglob("*") if p.is_file())
    issued.assert_not_in(json.dumps(result) + "\n".join(shown.lines) + on_disk)
    assert sorted(p.name for p in (creds / "alice").iterdir()) == [
        "console.json.vault",
        "credentials.vault",
        "mfa.json.vault",
    ]
    assert "s3cret-vault-pass" not in json.dumps(result) + "\n".join(shown.lines)


@pytest.mark.parametrize("vault", ["empty", "missing", "label-only"])
def test_action_plugin_refuses_an_unusable_vault_secret_before_any_aws_call(
    aws, api_calls, creds, tmp_path, controller, vault
):
    (tmp_path / "empty").write_text("\n")
    options = {
        "empty": {"vault_password_file": str(tmp_path / "empty")},
        "missing": {"vault_id": f"ops@{tmp_path / 'missing'}"},
        "label-only": {"vault_id": "ops@"},
    }[vault]

    result, _shown = run_action(
        controller, {"users": [{"name": "alice", "access_key": True}], "credentials_dir": str(creds), **options}
    )

    assert result["failed"] is True
    assert api_calls == []
    assert not creds.exists()


def test_action_plugin_check_mode_writes_nothing(aws, api_calls, creds, tmp_path, controller):
    password_file = tmp_path / "vault-pass"
    password_file.write_text("pass\n")

    result, _shown = run_action(
        controller,
        {
            "users": [{"name": "alice", "access_key": True, "console": True, "mfa": True}],
            "credentials_dir": str(creds),
            "vault_password_file": str(password_file),
            "report": True,
        },
        check_mode=True,
        diff=True,
    )

    assert "failed" not in result, result.get("msg")
    assert result["changed"] is True
    assert api_calls.mutating == []
    assert not creds.exists()
