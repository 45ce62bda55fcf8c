#!/usr/bin/env python
# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Onboarding speed: the naive way (one task per aspect, looping over users) against the onboarding role.

Both onboard the same roster (every user gets a user, an access key and a console password, secrets
written to files) against one local moto_server, then run again unchanged. Prints wall time per user,
API calls (counted through TECHSQUAWKS_IAM_API_LOG) and the ratios. Needs the venv (make demo/test).

    .venv/bin/python benchmarks/onboard_bench.py [--users 10] [--forks 10]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.moto_server import MotoServer  # noqa: E402 - needs the repository on sys.path

BIN = Path(sys.executable).parent
COLLECTIONS = ROOT / ".tmp" / "collections"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}  # moto accepts any

# How users do it with amazon.aws: a task per aspect, each looping over the roster, every aspect for every
# user on every run. Here with this collection's modules, so that only the orchestration differs.
NAIVE_PLAYBOOK = """
- name: Onboard users, one task per aspect
  hosts: localhost
  connection: local
  gather_facts: false
  module_defaults:
    group/techsquawks.iam.aws:
      endpoint_url: "{{ lookup('ansible.builtin.env', 'AWS_ENDPOINT_URL') }}"
  tasks:
    - name: Create the users
      techsquawks.iam.iam_user:
        name: "{{ item.name }}"
        path: "{{ item.path }}"
      loop: "{{ onboarding_users }}"
    - name: Create their access keys
      techsquawks.iam.iam_access_key:
        user_name: "{{ item.name }}"
        secret_file: "{{ onboarding_credentials_dir }}/{{ item.name }}/credentials"
      loop: "{{ onboarding_users }}"
    - name: Give them console passwords
      techsquawks.iam.iam_login_profile:
        user_name: "{{ item.name }}"
        password_length: "{{ item.console.password_length }}"
        password_reset_required: true
        secret_file: "{{ onboarding_credentials_dir }}/{{ item.name }}/console.json"
      loop: "{{ onboarding_users }}"
"""


def run(command: list[str], env: dict[str, str], api_log: Path) -> tuple[float, float, int, int]:
    """Run ansible-playbook; return (wall seconds, CPU seconds, API calls, mutating API calls)."""
    api_log.unlink(missing_ok=True)
    # CPU time of ansible-playbook, its workers and the modules (moto_server is not waited for: excluded).
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    completed = subprocess.run(
        command, env=dict(env, TECHSQUAWKS_IAM_API_LOG=str(api_log)), capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = cpu_after.ru_utime + cpu_after.ru_stime - cpu_before.ru_utime - cpu_before.ru_stime
    if completed.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{completed.stdout}\n{completed.stderr}")
    calls = api_log.read_text().splitlines() if api_log.exists() else []
    mutating = [call for call in calls if not call.split()[-1].startswith(("Get", "List"))]
    return seconds, cpu, len(calls), len(mutating)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=10, help="users in the roster (default 10)")
    parser.add_argument("--forks", type=int, default=10, help="ansible-playbook -f for the role (default 10)")
    args = parser.parse_args()

    if not (COLLECTIONS / "ansible_collections" / "techsquawks" / "iam").exists():
        (COLLECTIONS / "ansible_collections" / "techsquawks").mkdir(parents=True, exist_ok=True)
        (COLLECTIONS / "ansible_collections" / "techsquawks" / "iam").symlink_to(ROOT, target_is_directory=True)

    work = Path(tempfile.mkdtemp(prefix="onboard-bench-"))
    moto = MotoServer(work)
    try:
        (work / "naive.yml").write_text(NAIVE_PLAYBOOK)
        env = dict(
            os.environ,
            **FAKE_CREDENTIALS,
            AWS_DEFAULT_REGION="us-east-1",
            AWS_ENDPOINT_URL=moto.endpoint,
            ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
            ANSIBLE_PYTHON_INTERPRETER=sys.executable,
            ANSIBLE_LOCALHOST_WARNING="0",
            ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
            ANSIBLE_RETRY_FILES_ENABLED="0",
        )
        env.pop("AWS_PROFILE", None)
        playbook = str(BIN / "ansible-playbook")
        ways = {
            "naive (task per aspect, loop)": [playbook, "-i", "localhost,", str(work / "naive.yml")],
            f"onboarding role (-f {args.forks})": [
                playbook,
                "-i",
                "localhost,",
                "-f",
                str(args.forks),
                str(ROOT / "playbooks" / "onboard.yml"),
            ],
        }
        commands = {}
        for number, (way, command) in enumerate(ways.items()):
            # Each way has its own users, so both share one server and their runs can alternate: a
            # machine that gets busier during the benchmark slows both alike.
            users = [
                {
                    "name": f"bench{number}-user-{n:03d}",
                    "path": "/bench/",
                    "access_key": True,
                    "console": {"password_length": 16},
                }
                for n in range(1, args.users + 1)
            ]
            roster = work / f"roster-{number}.json"
            credentials = work / f"credentials-{number}"
            roster.write_text(json.dumps({"onboarding_users": users, "onboarding_credentials_dir": str(credentials)}))
            commands[way] = [*command, "-e", f"@{roster}"]
        results: dict[str, dict[str, tuple[float, float, int, int]]] = {way: {} for way in ways}
        for phase in ("onboard", "re-run"):
            for way, command in commands.items():
                results[way][phase] = run(command, env, work / "api.log")
                print(f"  measured: {way}, {phase}", file=sys.stderr)
    finally:
        moto.stop()
        shutil.rmtree(work, ignore_errors=True)

    print(f"\n{args.users} users (user + access key + console password each), one moto_server, {os.cpu_count()} CPUs")
    print("seconds per user: wall clock (CPU time of ansible and its modules); API calls: all (mutating)\n")
    print(f"{'':32} {'onboard':>16} {'re-run':>16} {'onboard calls':>14} {'re-run calls':>13}")
    for way, result in results.items():
        (onboard, onboard_cpu, calls, mutating), (rerun, rerun_cpu, rerun_calls, rerun_mutating) = (
            result["onboard"],
            result["re-run"],
        )
        print(
            f"{way:32} {onboard / args.users:6.2f} ({onboard_cpu / args.users:5.2f} CPU) "
            f"{rerun / args.users:6.2f} ({rerun_cpu / args.users:5.2f} CPU) "
            f"{calls:6d} ({mutating:3d}) {rerun_calls:6d} ({rerun_mutating:3d})"
        )
    naive, role = results.values()
    print(
        f"\nrole / naive wall clock: onboard {role['onboard'][0] / naive['onboard'][0]:.2f}, "
        f"re-run {role['re-run'][0] / naive['re-run'][0]:.2f} (the goal: 0.5 or less)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
