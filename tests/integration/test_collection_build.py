"""The collection as users get it: built with ansible-galaxy, installed alone, documented, run."""

from __future__ import annotations

import configparser
import fnmatch
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
VERSION = yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"]
# Development and CI tooling that stays in the repository (galaxy.yml's build_ignore; galaxy.yml itself becomes
# MANIFEST.json). Everything else git keeps goes into the tarball: the benchmark code and its committed results too.
DEVELOPMENT_ONLY = (".ci/*", ".gitignore", "Makefile", "requirements-dev.txt", "demo.sh", "ee/*", "galaxy.yml")
# What a working tree accumulates besides them: virtualenvs, caches, test artifacts, `make demo`'s output, docs
# builds and benchmark runs (under .tmp/), built tarballs, ansible-builder's default context/.
ACCUMULATED = (
    ".venv/bin/python",
    "venv/lib/python3.11/site-packages/boto3/__init__.py",
    ".tmp/collections/ansible_collections/README",
    ".tmp/docs/html/index.html",
    ".tmp/bench/results/run-1.log",
    ".tmp/dist/techsquawks-iam-0.9.0.tar.gz",
    ".hypothesis/examples/0123/456",
    ".pytest_cache/v/cache/lastfailed",
    ".ruff_cache/0.17.6/123",
    ".mypy_cache/3.11/plugins/module_utils/_aws.data.json",
    "plugins/module_utils/__pycache__/_aws.cpython-311.pyc",
    "tests/unit/__pycache__/conftest.cpython-311-pytest-9.2.0.pyc",
    "plugins/modules/iam_user.pyc",
    "tests/output/junit/python3.11-units.xml",
    "demo/techsquawks-user/credentials",
    "node_modules/some-package/package.json",
    "docs/docsite/node_modules/some-package/index.js",
    "context/_build/requirements.yml",
    "techsquawks-iam-1.0.0.tar.gz",
)


def run(*command: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=300, check=True)


def clean_env() -> dict[str, str]:
    """The environment without ANSIBLE_COLLECTIONS_PATH (the test rig points it at the working tree)."""
    return {k: v for k, v in os.environ.items() if k != "ANSIBLE_COLLECTIONS_PATH"}


def build_collection(source: Path, output: Path) -> Path:
    """``ansible-galaxy collection build`` of ``source``: the tarball's path."""
    run(str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(output), str(source))
    (tarball,) = output.glob("techsquawks-iam-*.tar.gz")
    assert tarball.name == f"techsquawks-iam-{VERSION}.tar.gz"
    return tarball


def file_members(tarball: Path) -> set[str]:
    with tarfile.open(tarball) as archive:
        return {member.name for member in archive.getmembers() if member.isfile()}


def source_files() -> list[str]:
    """The files git keeps or would keep (tracked, or new and not ignored) that are in the working tree."""
    listed = run("git", "-C", str(ROOT), "ls-files", "--cached", "--others", "--exclude-standard").stdout
    return [name for name in listed.splitlines() if (ROOT / name).is_file()]


@pytest.fixture(scope="module")
def tarball(tmp_path_factory) -> Path:
    """The collection built from the working tree as it is."""
    return build_collection(ROOT, tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def installed(tarball, tmp_path_factory) -> Path:
    """The tarball installed offline into an empty collections path, with nothing beside it, as a new user would."""
    collections = tmp_path_factory.mktemp("galaxy") / "collections"
    galaxy = str(BIN / "ansible-galaxy")
    run(galaxy, "collection", "install", "--offline", "-p", str(collections), str(tarball), env=clean_env())
    assert sorted(p.name for p in (collections / "ansible_collections").iterdir()) == ["techsquawks"]
    assert sorted(p.name for p in (collections / "ansible_collections" / "techsquawks").iterdir()) == ["iam"]
    return collections


def env_for(collections: Path) -> dict[str, str]:
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_NOCOLOR="1")
    env["ANSIBLE_COLLECTIONS_SCAN_SYS_PATH"] = "0"  # only that path: no collection found through sys.path either
    return env


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


def test_build_leaves_out_development_files_and_what_a_working_tree_accumulates(tmp_path):
    # A copy of the working tree's sources, with one of each kind of clutter added: built, it holds the sources
    # less the development tooling, and nothing else.
    source = tmp_path / "source"
    sources = source_files()
    for name in (*sources, *ACCUMULATED):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
    for name in sources:
        shutil.copy2(ROOT / name, source / name)
    for name in ACCUMULATED:
        (source / name).write_text("clutter\n")

    members = file_members(build_collection(source, tmp_path / "dist"))

    shipped = {name for name in sources if not any(fnmatch.fnmatch(name, kept) for kept in DEVELOPMENT_ONLY)}
    assert members == shipped | {"MANIFEST.json", "FILES.json"}
    for name in ("plugins/modules/iam_roster.py", "roles/onboarding/tasks/main.yml", "playbooks/onboard.yml"):
        assert name in members
    for name in ("meta/execution-environment.yml", "requirements.txt", "bindep.txt", "benchmarks/bench.py"):
        assert name in members
    assert "benchmarks/results.md" in members


def test_the_working_trees_tarball_holds_no_cache_venv_or_output(tarball):
    members = file_members(tarball)
    unwanted = [
        name
        for name in members
        if name.endswith((".pyc", ".tar.gz"))
        or {"__pycache__", "node_modules", ".venv", ".tmp", ".hypothesis", ".pytest_cache", ".ruff_cache"}
        & set(name.split("/"))
        or name.startswith(("tests/output/", "demo/", "context/", ".ci/", "ee/"))
        or name in ("Makefile", "requirements-dev.txt", "demo.sh", ".gitignore")
    ]
    assert unwanted == []
    # The same files as the working tree's sources, less the development tooling (nothing generated crept in).
    assert members - {"MANIFEST.json", "FILES.json"} <= set(source_files())
    assert {"MANIFEST.json", "FILES.json", "plugins/modules/iam_user.py", "bindep.txt"} <= members


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
    # The README's first command: techsquawks.iam.onboard with the example roster, both from the installed
    # collection; the role, the iam_roster action plugin and its module_utils come from the tarball alone.
    env = aws_env_for(installed, moto)
    roster = installed / "ansible_collections" / "techsquawks" / "iam" / "playbooks" / "vars" / "roster.example.yml"
    credentials = tmp_path / "credentials"
    command = [str(BIN / "ansible-playbook"), "-i", "localhost,", "techsquawks.iam.onboard", "-e", f"@{roster}"]
    command += ["-e", f"onboarding_credentials_dir={credentials}"]

    done = run(*command, env=env)

    names = [entry["name"] for entry in yaml.safe_load(roster.read_text())["onboarding_users"]]
    assert f"{len(names)} user(s): {len(names)} with changes, 0 unchanged." in done.stdout
    assert sorted(user["UserName"] for user in iam.list_users()["Users"]) == sorted(names)
    profile = configparser.ConfigParser()
    profile.read_string((credentials / "techsquawks-user" / "credentials").read_text())
    assert profile["techsquawks-user"]["aws_access_key_id"].startswith("AKIA")
    assert (credentials / "techsquawks-user-2" / "mfa.json").is_file()

    again = run(*command, env=env)

    assert f"{len(names)} user(s): 0 with changes, {len(names)} unchanged." in again.stdout
