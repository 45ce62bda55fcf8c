"""The shipped playbook under lost answers, a SIGKILL at every mutating call, and two runs at once.

ansible-playbook talks to moto_server through the fault-injecting proxy (tests/aws_proxy.py); the end state
is read from moto directly with boto3. After every scenario each user holds exactly the credentials its entry
asks for, and every one of them has its secret in its file: none was lost, none was issued twice.
"""

from __future__ import annotations

import configparser
import json
import os
import signal
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.aws_proxy import CountingProxy, is_mutating
from tests.certificates import self_signed_certificate

ROOT = Path(__file__).resolve().parents[2]
ONBOARD = ROOT / "playbooks" / "onboard.yml"
BIN = Path(sys.executable).parent
USERS = ("alice", "bob")


def ssh_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


@pytest.fixture
def proxy(moto) -> t.Iterator[CountingProxy]:
    with CountingProxy(moto.endpoint) as running:
        yield running


def roster(tmp_path: Path, *, extras: bool = False) -> dict[str, t.Any]:
    entries = [{"name": name, "access_key": True, "console": True, "mfa": True} for name in USERS]
    if extras:
        entries[0]["ssh_public_keys"] = [ssh_key()]
        entries[0]["signing_certificates"] = [self_signed_certificate("alice")]
    return {"onboarding_users": entries, "onboarding_credentials_dir": str(tmp_path / "credentials")}


def playbook(proxy: CountingProxy, tmp_path: Path, extra: dict[str, t.Any]) -> list[str]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps(extra))
    return [str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(ONBOARD), "-e", f"@{vars_file}"]


def environment(proxy: CountingProxy) -> dict[str, str]:
    return dict(
        os.environ,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ENDPOINT_URL=proxy.endpoint,
        ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".tmp" / "collections"),
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_LOCALHOST_WARNING="0",
    )


def run(proxy: CountingProxy, tmp_path: Path, extra: dict[str, t.Any]) -> subprocess.CompletedProcess:
    command = playbook(proxy, tmp_path, extra)
    return subprocess.run(command, env=environment(proxy), capture_output=True, text=True, timeout=300, check=False)


def assert_complete_and_delivered(iam: t.Any, credentials: Path, *, extras: bool = False) -> None:
    """Each user: one key, a profile, one enabled MFA device, each with its secret in its file; nothing else."""
    for name in USERS:
        keys = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
        parser = configparser.ConfigParser()
        parser.read_string((credentials / name / "credentials").read_text())
        assert [(key["AccessKeyId"], key["Status"]) for key in keys] == [(parser[name]["aws_access_key_id"], "Active")]
        iam.get_login_profile(UserName=name)
        assert json.loads((credentials / name / "console.json").read_text())["password"]
        serial = json.loads((credentials / name / "mfa.json").read_text())["serial_number"]
        assert [device["SerialNumber"] for device in iam.list_mfa_devices(UserName=name)["MFADevices"]] == [serial]
        assert list((credentials / name).glob(".issuing-*")) == []
    # No orphaned virtual MFA device: every one is assigned to its user.
    assert iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned")["VirtualMFADevices"] == []
    if extras:
        assert len(iam.list_ssh_public_keys(UserName="alice")["SSHPublicKeys"]) == 1
        assert len(iam.list_signing_certificates(UserName="alice")["Certificates"]) == 1


@pytest.mark.parametrize(
    "action",
    [
        "CreateAccessKey",
        "CreateLoginProfile",
        "CreateVirtualMFADevice",
        "UploadSSHPublicKey",
        "UploadSigningCertificate",
    ],
)
def test_a_lost_answer_to_each_kind_of_create_still_converges_with_every_secret_delivered(proxy, iam, tmp_path, action):
    extra = roster(tmp_path, extras=True)
    proxy.drop_response(action)

    first = run(proxy, tmp_path, extra)

    assert first.returncode == 0, first.stdout + first.stderr
    assert any(exchange.took_effect for exchange in proxy.exchanges(action))
    assert_complete_and_delivered(iam, tmp_path / "credentials", extras=True)
    assert run(proxy, tmp_path, extra).returncode == 0
    assert_complete_and_delivered(iam, tmp_path / "credentials", extras=True)


_FULL_RUN: dict[str, int] = {}


def mutating_calls_of_a_full_run(proxy: CountingProxy, moto: t.Any, tmp_path: Path) -> int:
    """How many mutating calls an uninterrupted onboarding of the roster makes (measured once per worker)."""
    if "calls" not in _FULL_RUN:
        done = run(proxy, tmp_path / "probe", roster(tmp_path / "probe"))
        assert done.returncode == 0, done.stdout + done.stderr
        _FULL_RUN["calls"] = proxy.mutating()
        moto.reset()
        proxy.reset()
    return _FULL_RUN["calls"]


# At least every create of the two users' onboarding (a sweep over every mutating call of the run).
KILL_POINTS = range(1, 15)


@pytest.mark.parametrize("kill_at", KILL_POINTS)
def test_a_run_killed_after_any_mutating_call_is_completed_by_the_next_run(proxy, moto, iam, tmp_path, kill_at):
    total = mutating_calls_of_a_full_run(proxy, moto, tmp_path)
    assert total <= KILL_POINTS[-1], f"a full run makes {total} mutating calls: widen KILL_POINTS to sweep them all"
    if kill_at > total:
        pytest.skip(f"a full run makes {total} mutating calls")
    extra = roster(tmp_path)
    process = subprocess.Popen(
        playbook(proxy, tmp_path, extra),
        env=environment(proxy),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    seen: list[str] = []

    def kill(exchange: t.Any) -> None:
        # In the proxy's thread, after AWS acted and before the client hears: the run dies right there.
        if is_mutating(exchange.action) and exchange.took_effect:
            seen.append(exchange.action)
            if len(seen) == kill_at:
                os.killpg(process.pid, signal.SIGKILL)

    proxy.add_hook(kill)
    process.wait(timeout=300)
    assert process.returncode == -signal.SIGKILL
    proxy.reset()

    rerun = run(proxy, tmp_path, extra)

    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert_complete_and_delivered(iam, tmp_path / "credentials")


def test_two_runs_of_one_roster_at_once_end_with_one_key_per_user(proxy, iam, tmp_path):
    extra = roster(tmp_path)
    commands = [playbook(proxy, tmp_path / f"run{n}", extra) for n in (1, 2)]
    processes = [
        subprocess.Popen(command, env=environment(proxy), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for command in commands
    ]
    outputs = [process.communicate(timeout=300)[0] for process in processes]

    assert [process.returncode for process in processes] == [0, 0], outputs
    assert_complete_and_delivered(iam, tmp_path / "credentials")
