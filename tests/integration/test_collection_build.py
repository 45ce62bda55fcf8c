"""The collection as users get it: built with ansible-galaxy, installed alone, documented, run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def run(*command: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=300, check=True)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """Build the collection and install it into an empty collections path, with nothing beside it."""
    work = tmp_path_factory.mktemp("galaxy")
    run(str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(work / "dist"), str(ROOT))
    (tarball,) = (work / "dist").glob("techsquawks-iam-*.tar.gz")
    # Without ANSIBLE_COLLECTIONS_PATH (the test rig points it at the working tree), as a new user installs.
    clean_env = {k: v for k, v in os.environ.items() if k != "ANSIBLE_COLLECTIONS_PATH"}
    galaxy = str(BIN / "ansible-galaxy")
    run(galaxy, "collection", "install", "--force", "-p", str(work / "collections"), str(tarball), env=clean_env)
    assert sorted(p.name for p in (work / "collections" / "ansible_collections").iterdir()) == ["techsquawks"]
    return work / "collections"


def env_for(collections: Path) -> dict[str, str]:
    return dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_NOCOLOR="1")


def aws_env_for(collections: Path, moto) -> dict[str, str]:
    """env_for, pointed at the test's moto_server with fake credentials."""
    env = env_for(collections)
    env.update(
        AWS_ENDPOINT_URL=moto.endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
    )
    return env


def test_build_leaves_development_files_out(installed):
    root = installed / "ansible_collections" / "techsquawks" / "iam"
    assert (root / "plugins" / "modules" / "iam_user.py").is_file()
    assert not (root / ".venv").exists()
    assert not (root / ".tmp").exists()


def test_every_module_in_the_action_group_is_documented(installed):
    runtime = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())
    modules = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("iam_*.py"))
    # The group is every module that takes the AWS connection options (iam_audit_report, on the controller, does not).
    aws = [
        name
        for name in modules
        if "- techsquawks.iam.connection\n" in (ROOT / "plugins" / "modules" / f"{name}.py").read_text()
    ]
    assert sorted(runtime["action_groups"]["aws"]) == aws
    assert "iam_audit_report" not in aws
    listed = run(str(BIN / "ansible-doc"), "-l", "techsquawks.iam", env=env_for(installed)).stdout
    for module in modules:
        assert f"techsquawks.iam.{module}" in listed


def test_ansible_doc_renders_iam_user(installed):
    doc = run(str(BIN / "ansible-doc"), "techsquawks.iam.iam_user", env=env_for(installed)).stdout
    for option in ("name", "path", "permissions_boundary", "purge_groups", "new_name", "force", "endpoint_url"):
        assert option in doc
    assert "RETURN VALUES" in doc


def test_installed_collection_runs_a_playbook(installed, ansible_playbook, target, iam, moto):
    env = aws_env_for(installed, moto)
    playbook = target("iam_user", "seed.yml")
    run(str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook), env=env)
    assert len(iam.list_users()["Users"]) == 4


def test_installed_collection_runs_its_onboarding_playbook_by_name(installed, iam, moto, tmp_path):
    # techsquawks.iam.onboard: the role, the iam_roster action plugin and its module_utils, from the tarball alone.
    env = aws_env_for(installed, moto)
    roster = tmp_path / "roster.yml"
    roster.write_text(yaml.safe_dump({"onboarding_users": [{"name": "alice", "access_key": True}]}))
    extra = f"onboarding_credentials_dir={tmp_path / 'credentials'}"
    command = [str(BIN / "ansible-playbook"), "-i", "localhost,", "techsquawks.iam.onboard", "-e", f"@{roster}"]

    done = run(*command, "-e", extra, env=env)

    assert "1 user(s): 1 with changes, 0 unchanged." in done.stdout
    assert [user["UserName"] for user in iam.list_users()["Users"]] == ["alice"]
    assert (tmp_path / "credentials" / "alice" / "credentials").is_file()
