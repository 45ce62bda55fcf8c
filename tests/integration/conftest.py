"""Integration-test rig: a moto_server on a free 127.0.0.1 port, a fault-injecting proxy in front of it, and
ansible-playbook run against either."""

from __future__ import annotations

import dataclasses
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

from tests.aws_proxy import CountingProxy
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


@pytest.fixture(scope="session")
def aws_proxy_server(moto_server: MotoServer) -> t.Iterator[CountingProxy]:
    """One counting, fault-injecting proxy per pytest worker, on 127.0.0.1 in front of its moto_server."""
    proxy = CountingProxy(moto_server.endpoint).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def aws_proxy(aws_proxy_server: CountingProxy, moto: MotoServer) -> t.Iterator[CountingProxy]:
    """The worker's proxy with no counts, no faults and an empty moto_server behind it.

    Point ansible-playbook at it with ``ansible_playbook(..., endpoint=aws_proxy.endpoint)``; arrange and
    check state with the ``iam`` fixture, which talks to moto directly and is never counted.
    """
    del moto  # requested for its reset
    aws_proxy_server.reset()
    yield aws_proxy_server
    aws_proxy_server.reset()


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
        return [line for line in self.api_calls if not line.split()[-1].startswith(("Get", "List", "Describe"))]

    def recap(self) -> dict[str, int]:
        """The PLAY RECAP counters for localhost (ok, changed, failed, ...)."""
        for line in self.stdout.splitlines():
            if line.startswith("localhost") and "ok=" in line:
                return {k: int(v) for k, v in (part.split("=") for part in line.split(":", 1)[1].split())}
        raise AssertionError(f"no PLAY RECAP in output:\n{self.output}")


@dataclasses.dataclass(frozen=True)
class Invocation:
    """An ansible-playbook command line, its environment and the API log its modules append to."""

    command: list[str]
    env: dict[str, str]
    api_log: Path


class PlaybookRunner:
    """Runs ansible-playbook against the moto server (or ``endpoint``); extra vars as JSON.

    ``endpoint`` replaces moto's URL in AWS_ENDPOINT_URL (the ``aws_proxy`` fixture's, for instance);
    ``env`` adds or overrides environment variables (callbacks, ANSIBLE_LOG_PATH); ``env_unset`` removes some.
    """

    def __init__(self, moto: MotoServer, workdir: Path) -> None:
        self.moto = moto
        self.workdir = workdir

    def invocation(
        self,
        playbook: str | Path,
        *args: str,
        extra_vars: dict[str, t.Any] | None = None,
        env_unset: tuple[str, ...] = (),
        endpoint: str | None = None,
        env: t.Mapping[str, str] | None = None,
    ) -> Invocation:
        """The command line and environment of one run, without running it."""
        api_log = self.workdir / f"api-{time.monotonic_ns()}.log"
        environment = dict(
            os.environ,
            **FAKE_CREDENTIALS,
            AWS_ENDPOINT_URL=endpoint or self.moto.endpoint,
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
        environment.update(env or {})
        for name in ("AWS_PROFILE", *env_unset):
            environment.pop(name, None)
        command = [str(VENV_BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook), *args]
        if extra_vars:
            command += ["-e", json.dumps(extra_vars)]
        return Invocation(command, environment, api_log)

    def __call__(
        self, playbook: str | Path, *args: str, check: bool = True, timeout: float = 600, **options: t.Any
    ) -> PlaybookResult:
        """Run to the end; with ``check``, a non-zero exit fails the test with the output."""
        run = self.invocation(playbook, *args, **options)
        completed = subprocess.run(
            run.command, env=run.env, capture_output=True, text=True, timeout=timeout, check=False
        )
        result = PlaybookResult(completed, run.api_log)
        if check and result.rc != 0:
            raise AssertionError(f"ansible-playbook failed (rc={result.rc}):\n{result.output}")
        return result

    def start(self, playbook: str | Path, *args: str, **options: t.Any) -> tuple[subprocess.Popen, Invocation]:
        """Start a run in the background (output to pipes), to interrupt it or run another beside it."""
        run = self.invocation(playbook, *args, **options)
        process = subprocess.Popen(run.command, env=run.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        return process, run


@pytest.fixture
def ansible_playbook(moto: MotoServer, tmp_path: Path) -> PlaybookRunner:
    """Run ansible-playbook against the moto server; returns rc, output, API calls (see PlaybookRunner)."""
    return PlaybookRunner(moto, tmp_path)


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
