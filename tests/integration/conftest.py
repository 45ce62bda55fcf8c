"""Integration-test rig: a moto_server on a free 127.0.0.1 port, and ansible-playbook run against it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import typing as t
from pathlib import Path

import boto3
import pytest

from tests.moto_server import MotoServer

ROOT = Path(__file__).resolve().parents[2]
TARGETS = Path(__file__).resolve().parent / "targets"
VENV_BIN = Path(sys.executable).parent
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory) -> t.Iterator[MotoServer]:
    """One moto_server per pytest worker process, on a free loopback port."""
    server = MotoServer(tmp_path_factory.mktemp("moto"))
    yield server
    server.stop()


@pytest.fixture
def moto(moto_server: MotoServer) -> MotoServer:
    """The worker's moto_server, emptied before each test."""
    moto_server.reset()
    return moto_server


def _client(moto: MotoServer, service: str, **credentials: str) -> t.Any:
    creds = credentials or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    return boto3.client(service, endpoint_url=moto.endpoint, region_name="us-east-1", **creds)


@pytest.fixture
def iam(moto: MotoServer) -> t.Any:
    """An independent boto3 IAM client on the moto server, to arrange and check state."""
    return _client(moto, "iam")


@pytest.fixture
def sts_for(moto: MotoServer) -> t.Callable[[str, str], t.Any]:
    """An STS client signing with the given access key, as `aws sts get-caller-identity` would."""

    def make(access_key_id: str, secret_access_key: str) -> t.Any:
        return _client(moto, "sts", aws_access_key_id=access_key_id, aws_secret_access_key=secret_access_key)

    return make


class PlaybookResult:
    def __init__(self, completed: subprocess.CompletedProcess, api_log: Path):
        self.rc = completed.returncode
        self.stdout = completed.stdout
        self.stderr = completed.stderr
        self.api_calls = api_log.read_text().split("\n")[:-1] if api_log.exists() else []

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def mutating_calls(self) -> list[str]:
        return [line for line in self.api_calls if not line.split()[-1].startswith(("Get", "List"))]

    def recap(self) -> dict[str, int]:
        """The PLAY RECAP counters for localhost (ok, changed, failed, ...)."""
        for line in self.stdout.splitlines():
            if line.startswith("localhost") and "ok=" in line:
                return {k: int(v) for k, v in (part.split("=") for part in line.split(":", 1)[1].split())}
        raise AssertionError(f"no PLAY RECAP in output:\n{self.output}")


@pytest.fixture
def ansible_playbook(moto: MotoServer, tmp_path: Path) -> t.Callable[..., PlaybookResult]:
    """Run ansible-playbook against the moto server; extra vars as JSON; returns rc, output, API calls."""

    def run(
        playbook: str | Path,
        *args: str,
        extra_vars: dict[str, t.Any] | None = None,
        check: bool = True,
        env_unset: tuple[str, ...] = (),
    ):
        api_log = tmp_path / f"api-{time.monotonic_ns()}.log"
        env = dict(
            os.environ,
            **FAKE_CREDENTIALS,
            AWS_ENDPOINT_URL=moto.endpoint,
            AWS_DEFAULT_REGION="us-east-1",
            ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".tmp" / "collections"),
            ANSIBLE_PYTHON_INTERPRETER=sys.executable,
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_FORCE_COLOR="0",
            ANSIBLE_LOCALHOST_WARNING="0",
            ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
            ANSIBLE_RETRY_FILES_ENABLED="0",
            TECHSQUAWKS_IAM_API_LOG=str(api_log),
        )
        for name in ("AWS_PROFILE", *env_unset):
            env.pop(name, None)
        command = [str(VENV_BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook), *args]
        if extra_vars:
            command += ["-e", json.dumps(extra_vars)]
        completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)
        result = PlaybookResult(completed, api_log)
        if check and result.rc != 0:
            raise AssertionError(f"ansible-playbook failed (rc={result.rc}):\n{result.output}")
        return result

    return run


@pytest.fixture
def target() -> t.Callable[[str, str], Path]:
    """Path of a playbook under tests/integration/targets/<module>/."""

    def locate(module: str, playbook: str) -> Path:
        return TARGETS / module / playbook

    return locate


@pytest.fixture(scope="session")
def ansible_bin() -> Path:
    assert shutil.which("ansible-playbook", path=str(VENV_BIN)), "ansible-playbook must be in the venv"
    return VENV_BIN
