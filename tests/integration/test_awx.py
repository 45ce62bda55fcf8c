"""AWX / Automation Platform: the execution environment ansible-builder makes with this collection in it (its build
context, and the steps of its Containerfile that need no container run here), and the onboarding playbook run by
ansible-runner (the engine AWX runs jobs with) from a private data directory laid out as AWX lays it out."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tarfile
from pathlib import Path

import pytest
import yaml
from bindep.depends import Depends

from tests.integration.test_collection_build import VERSION, build_collection, clean_env, run
from tests.integration.test_onboarding import SANDBOX_ACCOUNT, iam_in_account, secrets_under, user_names

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEFINITION = yaml.safe_load((ROOT / "ee" / "execution-environment.yml").read_text())
# How the tarball is named in ee/requirements.yml and found in the build context (galaxy.yml's version).
TARBALL = f"techsquawks-iam-{VERSION}.tar.gz"


def requirement_lines(path: Path) -> list[str]:
    """A requirements file's entries (pip's or bindep's), without comments and blank lines."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def pins() -> dict[str, str]:
    """The exact pins of requirements-dev.txt, by package name."""
    return dict(line.split("==", 1) for line in requirement_lines(ROOT / "requirements-dev.txt") if "==" in line)


@pytest.fixture(scope="module")
def ee_context(tmp_path_factory) -> Path:
    """``ansible-builder create`` of ee/execution-environment.yml with no container engine on PATH.

    The definition sits in ee/ beside .tmp/dist/, where ``make build`` leaves the tarball, as in the repository.
    """
    work = tmp_path_factory.mktemp("ee")
    shutil.copytree(ROOT / "ee", work / "ee")
    build_collection(ROOT, work / ".tmp" / "dist")
    # PATH is the virtualenv alone: no podman or docker to be found, whatever the machine has.
    path = str(BIN)
    assert [engine for engine in ("podman", "docker") if shutil.which(engine, path=path)] == []
    definition = str(work / "ee" / "execution-environment.yml")
    command = [str(BIN / "ansible-builder"), "create", "-f", definition, "--context", str(work / "context")]
    run(*command, "--output-filename", "Containerfile", env=dict(os.environ, PATH=path))
    return work / "context"


@pytest.fixture(scope="module")
def ee_collections(ee_context, tmp_path_factory) -> Path:
    """The Containerfile's galaxy stage, run here: in _build/ (the image's /build), offline, what it installs into
    /usr/share/ansible/collections."""
    collections = tmp_path_factory.mktemp("ee-collections")
    galaxy = [str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "-r", "requirements.yml"]
    env = dict(clean_env(), ANSIBLE_GALAXY_DISABLE_GPG_VERIFY="1")
    run(*galaxy, "--collections-path", str(collections), cwd=ee_context / "_build", env=env)
    assert sorted(p.name for p in (collections / "ansible_collections").iterdir()) == ["techsquawks"]
    return collections


def test_ansible_builder_create_writes_a_build_context_holding_the_collection(ee_context):
    containerfile = (ee_context / "Containerfile").read_text()

    assert f'ARG EE_BASE_IMAGE="{DEFINITION["images"]["base_image"]["name"]}"' in containerfile
    # The EE runs the ansible-core and ansible-runner the tests run.
    versions = pins()
    refs = f"ansible-core=={versions['ansible-core']} ansible-runner=={versions['ansible-runner']}"
    assert f'ARG ANSIBLE_INSTALL_REFS="{refs}"' in containerfile
    assert 'ARG PYCMD="/usr/bin/python3.11"' in containerfile
    for step in (
        "COPY _build /build",
        'ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS -r requirements.yml --collections-path "'
        '/usr/share/ansible/collections"',
        "RUN $PYCMD /output/scripts/introspect.py introspect --write-bindep=/tmp/src/bindep.txt",
        "RUN /output/scripts/install-from-bindep",
    ):
        assert step in containerfile
    # The collection's requirements come from the installed collection, not from the EE definition.
    assert "COPY _build/requirements.txt" not in containerfile
    assert "COPY _build/bindep.txt" not in containerfile

    build = ee_context / "_build"
    assert yaml.safe_load((build / "requirements.yml").read_text()) == {
        "collections": [{"name": f"collections/{TARBALL}", "type": "file"}]
    }
    assert sorted(p.name for p in (build / "collections").iterdir()) == [TARBALL]
    with tarfile.open(build / "collections" / TARBALL) as archive:
        manifest = json.load(archive.extractfile("MANIFEST.json"))["collection_info"]
        shipped = {name: archive.extractfile(name).read() for name in ("meta/execution-environment.yml",)}
        shipped |= {name: archive.extractfile(name).read() for name in ("requirements.txt", "bindep.txt")}
    assert (manifest["namespace"], manifest["name"], manifest["version"]) == ("techsquawks", "iam", VERSION)
    assert shipped == {name: (ROOT / name).read_bytes() for name in shipped}
    assert yaml.safe_load(shipped["meta/execution-environment.yml"]) == {
        "version": 1,
        "dependencies": {"python": "requirements.txt", "system": "bindep.txt"},
    }
    for script in ("introspect.py", "assemble", "install-from-bindep", "check_ansible", "check_galaxy"):
        assert (build / "scripts" / script).is_file()


def test_the_builds_introspection_finds_the_collections_python_and_system_packages(
    ee_context, ee_collections, tmp_path
):
    # The builder stage's introspect step (the context's own script), on what the galaxy stage installed.
    script = ee_context / "_build" / "scripts" / "introspect.py"
    pip, bindep = tmp_path / "requirements.txt", tmp_path / "bindep.txt"
    command = [sys.executable, str(script), "introspect", str(ee_collections)]
    run(*command, f"--write-pip={pip}", f"--write-bindep={bindep}")

    origin = "  # from collection techsquawks.iam"
    python = requirement_lines(ROOT / "requirements.txt")
    assert {"boto3>=1.34.0", "botocore>=1.34.0", "pyrage>=1.4", "segno>=1.6"} <= set(python)
    assert pip.read_text().splitlines() == [line + origin for line in python]
    system = requirement_lines(ROOT / "bindep.txt")
    assert bindep.read_text().splitlines() == [line + origin for line in system]

    # What the assemble script's `bindep -l newline` then selects: Python 3 on RPM and Debian-like bases (the
    # default profile), the age CLI only when asked for.
    rules = Depends(bindep.read_text())
    for platform in (["platform:rpm", "platform:redhat"], ["platform:dpkg", "platform:debian"]):
        assert [rule[0] for rule in rules.active_rules(["default", *platform])] == ["python3"]
        assert [rule[0] for rule in rules.active_rules(["optional", *platform])] == ["python3", "age"]


def write_private_data_dir(private: Path, accounts: dict[str, dict], roster: list[dict], envvars: dict) -> None:
    """An AWX job's private data directory: the project checkout, the inventory, extra vars and environment."""
    shutil.copytree(ROOT / "playbooks", private / "project" / "playbooks")
    (private / "inventory").mkdir()
    inventory = {"aws_accounts": {"vars": {"ansible_connection": "local"}, "hosts": accounts}}
    (private / "inventory" / "hosts").write_text(yaml.safe_dump(inventory))
    (private / "env").mkdir()
    (private / "env" / "extravars").write_text(yaml.safe_dump({"onboarding_users": roster}))
    (private / "env" / "envvars").write_text(yaml.safe_dump(envvars))


def test_onboarding_runs_as_an_awx_job_through_ansible_runner_and_its_artifacts_hold_no_secret(
    ee_collections, moto, iam, tmp_path, monkeypatch
):
    import ansible_runner

    # ansible-runner looks ansible-playbook up on PATH, as in an EE. The job's environment is the job template's
    # alone: nothing from the test rig's AWS or collections settings.
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ['PATH']}")
    for name in [name for name in os.environ if name.startswith(("AWS_", "ANSIBLE_"))]:
        monkeypatch.delenv(name)

    credentials = tmp_path / "credentials"
    accounts = {
        "main": {"aws_region": "us-east-1", "aws_endpoint_url": moto.endpoint},
        "sandbox": {
            "aws_region": "us-east-1",
            "aws_endpoint_url": moto.endpoint,
            "aws_role_arn": f"arn:aws:iam::{SANDBOX_ACCOUNT}:role/iam-onboarding",
        },
    }
    for account, host in accounts.items():
        host["onboarding_credentials_dir"] = str(credentials / account)
    roster = [{"name": "alice", "access_key": True, "console": True, "mfa": True}, {"name": "bob", "access_key": True}]
    envvars = {
        # What AWX's "Amazon Web Services" credential injects (fake ones here).
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        # The endpoint comes from the host variables: a run that ignored them would fail here, on loopback.
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        # The EE's collections: what the galaxy stage of its Containerfile installed, and nothing else.
        "ANSIBLE_COLLECTIONS_PATH": str(ee_collections),
        "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "0",
    }
    private = tmp_path / "job"
    write_private_data_dir(private, accounts, roster, envvars)

    runner = ansible_runner.run(private_data_dir=str(private), playbook="playbooks/onboard.yml", forks=2, quiet=True)

    artifacts = Path(runner.config.artifact_dir)
    assert runner.status == "successful", (artifacts / "stdout").read_text()
    assert runner.rc == 0
    assert (artifacts / "rc").read_text() == "0"
    assert (artifacts / "status").read_text() == "successful"
    assert runner.stats["failures"] == {}
    assert set(runner.stats["changed"]) == {"main", "sandbox"}
    assert user_names(iam) == user_names(iam_in_account(moto.endpoint, SANDBOX_ACCOUNT)) == {"alice", "bob"}

    # AWX's job output is made of the job events: each account's progress up to the total, then its summary.
    output = "\n".join(event.get("stdout", "") for event in runner.events)
    for account in accounts:
        assert f"iam_roster [{account}]: 2/2 users done, 2 changed, 0 failed" in output
    assert output.count("2 user(s): 2 with changes, 0 unchanged.") == 2
    assert len(list((artifacts / "job_events").glob("*.json"))) == len(list(runner.events))

    # No secret anywhere AWX keeps: stdout, job events, command, the environment and extra vars it was given.
    secrets = secrets_under(credentials)
    # Per account: alice's key, password, MFA URI and seed, bob's key.
    assert len(secrets) == 10
    assert all(len(secret) >= 15 for secret in secrets)
    kept = {path: path.read_text(errors="replace") for path in private.rglob("*") if path.is_file()}
    assert {artifacts / "stdout", artifacts / "command", private / "env" / "envvars"} <= set(kept)
    assert any("alice" in text for path, text in kept.items() if path.parent.name == "job_events")
    assert [(path, secret) for path, text in kept.items() for secret in secrets if secret in text] == []
    # Nor the assumed role's temporary credentials (moto's session tokens start like this).
    assert [path for path, text in kept.items() if re.search(r"FQoGZXIvYXdzEBYaD", text)] == []
