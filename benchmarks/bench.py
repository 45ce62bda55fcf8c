# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Onboarding speed: the amazon.aws idiom against techsquawks.iam's onboard/offboard playbooks.

Both contenders run with the same Python, ansible.cfg and moto_server, through a counting proxy
(tests/aws_proxy.py, which injects no fault here), alternating, over three phases: onboard (empty
account), re-run (nothing changes) and offboard. Figures: wall time (median of the runs) and the
ratio, API calls per user by action, mutating calls in the re-run, task results per user by action
(callback_plugins/); then the cost of one no-change iam_user invocation in each collection. Prints a
table and writes benchmarks/results.md. Run through the bench virtualenv (`make bench`):

    BENCH_USERS=20 BENCH_RUNS=3 BENCH_FORKS=20 .tmp/bench-venv/bin/python benchmarks/bench.py
    BENCH_USERS=100 BENCH_RUNS=1 BENCH_RESULTS=benchmarks/results-100.md make bench
"""

from __future__ import annotations

import dataclasses
import datetime
import importlib.metadata
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.aws_proxy import CountingProxy  # noqa: E402 - needs the repository on sys.path
from tests.moto_server import MotoServer  # noqa: E402

WORK = ROOT / ".tmp" / "bench"
COLLECTIONS = ROOT / ".tmp" / "collections"
# BENCH_RESULTS names another report file (e.g. benchmarks/results-100.md for a 100-user run).
RESULTS = ROOT / os.environ.get("BENCH_RESULTS", "benchmarks/results.md")
BIN = Path(sys.executable).parent
# Why a single no-change invocation stays close to amazon.aws's (measured with -X importtime and per-process
# timings of both AnsiballZ payloads against the same moto_server).
NOCHANGE_NOTE = (
    "Why the no-change target is not met: most of a no-change invocation is what both modules pay alike: Ansible's "
    "task machinery on the controller, the interpreter start, importing ansible.module_utils.basic (about 0.14 s "
    "here) and botocore's import and IAM client creation (about 0.17 s). techsquawks.iam.iam_user saves what it "
    "can: no boto3 or s3transfer import (its clients come from botocore alone; about 0.03 to 0.05 s) and one of "
    "amazon.aws's four API calls. Going further would mean skipping reads the module returns (groups, policies) "
    "or caching botocore's models outside the process. The roster module is where invocations go away."
)
# The targets are set for this roster size; BENCH_USERS above it also measures techsquawks.iam at it.
BASE_USERS = 20
PHASES = ("onboard", "re-run", "offboard")
AMAZON, OURS = "amazon.aws", "techsquawks.iam"
NOCHANGE_TASKS = 10
NOCHANGE_USER = "bench-nochange"
TAGS = {"team": "platform", "cost-center": "42"}
# moto accepts any credentials; these keep botocore away from real ones.
FAKE_AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
READ_PREFIXES = ("Get", "List", "Describe")

# Contender A: what a playbook written for amazon.aws does, one looped task per step.
AMAZON_ONBOARD = """\
- name: Onboard the roster, the amazon.aws way
  hosts: aws_accounts
  gather_facts: false
  module_defaults:
    group/amazon.aws.aws:
      endpoint_url: "{{ aws_endpoint_url }}"
      region: "{{ aws_region }}"
  tasks:
    - name: Create the users, with a console password
      amazon.aws.iam_user:
        name: "{{ item.name }}"
        path: "{{ item.path }}"
        tags: "{{ item.tags }}"
        password: >-
          {{ lookup('ansible.builtin.password', '/dev/null', length=20,
                    chars=['ascii_letters', 'digits', 'punctuation']) }}
        update_password: on_create
        password_reset_required: "{{ item.console.password_reset_required }}"
        state: present
      loop: "{{ onboarding_users }}"
      loop_control:
        label: "{{ item.name }}"
      no_log: true

    - name: Read their access keys
      amazon.aws.iam_access_key_info:
        user_name: "{{ item.name }}"
      loop: "{{ onboarding_users }}"
      loop_control:
        label: "{{ item.name }}"
      register: _bench_keys

    - name: Create an access key for each user without one
      amazon.aws.iam_access_key:
        user_name: "{{ item.item.name }}"
        state: present
      loop: "{{ _bench_keys.results }}"
      loop_control:
        label: "{{ item.item.name }}"
      when: item.item.access_key and item.access_keys | length == 0
      no_log: true
"""

# amazon.aws.iam_user state=absent removes every dependent itself (login profile, keys, SSH keys,
# service-specific credentials, certificates, MFA devices, policies, groups) before DeleteUser.
AMAZON_OFFBOARD = """\
- name: Offboard the roster, the amazon.aws way
  hosts: aws_accounts
  gather_facts: false
  module_defaults:
    group/amazon.aws.aws:
      endpoint_url: "{{ aws_endpoint_url }}"
      region: "{{ aws_region }}"
  tasks:
    - name: Delete the users with every dependent
      amazon.aws.iam_user:
        name: "{{ item.name }}"
        state: absent
      loop: "{{ onboarding_users }}"
      loop_control:
        label: "{{ item.name }}"
"""

NOCHANGE_PLAY = """\
- name: {count} no-change invocations of {collection}.iam_user
  hosts: aws_accounts
  gather_facts: false
  module_defaults:
    group/{collection}.aws:
      endpoint_url: "{{{{ aws_endpoint_url }}}}"
      region: "{{{{ aws_region }}}}"
  tasks:
{tasks}"""

NOCHANGE_TASK = """\
    - name: Converged user, invocation {number}
      {collection}.iam_user:
        name: {user}
        path: /bench/
        tags: {tags}
        state: present
"""


class BenchError(Exception):
    """A contender failed, or the environment is not the bench virtualenv."""


@dataclasses.dataclass
class Measurement:
    """One timed playbook run: wall seconds, API calls and task results by action, task durations."""

    seconds: float
    calls: dict[str, int]
    invocations: dict[str, int]
    changed: int
    tasks: list[dict[str, Any]]


@dataclasses.dataclass(frozen=True)
class Contender:
    """One way of onboarding a roster of ``users`` users: a command per phase."""

    name: str
    users: int
    commands: Mapping[str, Sequence[str]]

    @property
    def key(self) -> str:
        """The contender and its roster size, e.g. "amazon.aws@20"."""
        return f"{self.name}@{self.users}"


def is_mutating(action: str) -> bool:
    """Whether an API action can change state (everything but Get*, List*, Describe*)."""
    return not action.startswith(READ_PREFIXES)


def env_int(name: str, default: int) -> int:
    """A positive integer from the environment."""
    raw = os.environ.get(name, "") or str(default)
    if not raw.isdigit() or int(raw) < 1:
        raise BenchError(f"{name} must be a positive integer, not {raw!r}")
    return int(raw)


def median(values: Iterable[float]) -> float:
    """The median (of one or more values)."""
    return statistics.median(list(values))


def median_counts(counts: Sequence[Mapping[str, int]]) -> dict[str, float]:
    """Per key, the median over the runs (a key missing from a run counts 0 there)."""
    keys = sorted({key for count in counts for key in count})
    return {key: median(count.get(key, 0) for count in counts) for key in keys}


def roster(users: int) -> dict[str, Any]:
    """The benchmark's roster: users with a path, two tags, a console password and an access key."""
    return {
        "onboarding_users": [
            {
                "name": f"bench-user-{number}",
                "path": "/bench/",
                "tags": TAGS,
                "console": {"password_reset_required": True},
                "access_key": True,
            }
            for number in range(1, users + 1)
        ]
    }


def nochange_playbook(collection: str) -> str:
    """A play of NOCHANGE_TASKS iam_user tasks of ``collection`` that find the user converged."""
    tasks = "\n".join(
        NOCHANGE_TASK.format(number=number, collection=collection, user=NOCHANGE_USER, tags=json.dumps(TAGS))
        for number in range(1, NOCHANGE_TASKS + 1)
    )
    return NOCHANGE_PLAY.format(count=NOCHANGE_TASKS, collection=collection, tasks=tasks)


def versions() -> dict[str, str]:
    """Versions of what both contenders run on."""
    found = {
        name: importlib.metadata.version(name) for name in ("ansible", "ansible-core", "boto3", "botocore", "moto")
    }
    manifest = Path(sysconfig.get_paths()["purelib"]) / "ansible_collections" / "amazon" / "aws" / "MANIFEST.json"
    found["amazon.aws"] = json.loads(manifest.read_text())["collection_info"]["version"]
    return found


def git_revision() -> str:
    """The commit of the working tree, marked when it has changes."""
    git = shutil.which("git")
    if git is None:
        return "unknown (no git)"
    head = subprocess.run(
        [git, "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    )
    if head.returncode != 0:
        return "unknown (not a git work tree)"
    dirty = subprocess.run([git, "-C", str(ROOT), "status", "--porcelain"], capture_output=True, text=True, check=False)
    return head.stdout.strip() + (" + uncommitted changes" if dirty.stdout.strip() else "")


class Bench:
    """The shared rig: work dir, moto_server, the counting proxy, ansible.cfg, inventory and environment."""

    def __init__(self, work: Path, moto: MotoServer, proxy: CountingProxy, forks: int) -> None:
        self.work = work
        self.moto = moto
        self.proxy = proxy
        self.credentials = work / "credentials"
        self.invocations_file = work / "invocations.json"
        self.logs = work / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.config = work / "ansible.cfg"
        self.config.write_text(
            "[defaults]\n"
            f"forks = {forks}\n"
            "retry_files_enabled = false\n"
            "host_key_checking = false\n"
            f"interpreter_python = {sys.executable}\n"
            f"callback_plugins = {ROOT / 'benchmarks' / 'callback_plugins'}\n"
            "callbacks_enabled = invocation_counts\n"
            "localhost_warning = false\n"
            "nocolor = true\n"
            "\n[callback_invocation_counts]\n"
            f"output = {self.invocations_file}\n"
        )
        self.inventory = work / "inventory.yml"
        host = {
            "ansible_connection": "local",
            "aws_endpoint_url": proxy.endpoint,
            "aws_region": FAKE_AWS["AWS_DEFAULT_REGION"],
            "onboarding_credentials_dir": str(self.credentials),
        }
        self.inventory.write_text(json.dumps({"aws_accounts": {"hosts": {"bench": host}}}, indent=1))
        aws_config = work / "aws-config"
        aws_config.write_text("")
        self.env = {
            **{name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "ANSIBLE_"))},
            **FAKE_AWS,
            "AWS_ENDPOINT_URL": proxy.endpoint,
            "AWS_CONFIG_FILE": str(aws_config),
            "AWS_SHARED_CREDENTIALS_FILE": str(aws_config),
            "AWS_EC2_METADATA_DISABLED": "true",
            "ANSIBLE_CONFIG": str(self.config),
            # The working tree's collection first; the ansible package's collections (amazon.aws) after it.
            "ANSIBLE_COLLECTIONS_PATH": f"{COLLECTIONS}:{sysconfig.get_paths()['purelib']}",
            "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
        }
        self.iam = moto_iam_client(moto.endpoint)

    def write(self, name: str, text: str) -> Path:
        """A file of the work dir."""
        path = self.work / name
        path.write_text(text)
        return path

    def fresh_account(self) -> None:
        """An empty account and no delivered credentials: the state every run starts from."""
        self.moto.reset()
        shutil.rmtree(self.credentials, ignore_errors=True)

    def playbook(self, argv: Sequence[str], log_name: str) -> Measurement:
        """Run ansible-playbook once, timed; fail on a non-zero exit."""
        self.invocations_file.unlink(missing_ok=True)
        self.proxy.reset()
        log = self.logs / f"{log_name}.log"
        with log.open("wb") as output:
            started = time.perf_counter()
            completed = subprocess.run(
                [str(BIN / "ansible-playbook"), *argv],
                env=self.env,
                cwd=self.work,
                stdout=output,
                stderr=output,
                check=False,
            )
            seconds = time.perf_counter() - started
        calls = self.proxy.counts()
        if completed.returncode != 0:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
            raise BenchError(f"ansible-playbook {' '.join(argv)} exited {completed.returncode} (log: {log}):\n{tail}")
        recorded = json.loads(self.invocations_file.read_text())
        return Measurement(seconds, calls, recorded["invocations"], recorded["changed"], recorded["tasks"])

    def check(self, users: int, present: bool) -> list[str]:
        """Problems with the account's state after a phase, read from moto directly (not counted)."""
        expected = {f"bench-user-{number}" for number in range(1, users + 1)} if present else set()
        pages = self.iam.get_paginator("list_users").paginate(PathPrefix="/bench/")
        found = {user["UserName"] for page in pages for user in page["Users"]}
        problems = [f"users missing: {sorted(expected - found)}"] if expected - found else []
        problems += [f"users left: {sorted(found - expected)}"] if found - expected else []
        for name in sorted(expected & found):
            if len(self.iam.list_access_keys(UserName=name)["AccessKeyMetadata"]) != 1:
                problems.append(f"{name}: not exactly one access key")
            try:
                self.iam.get_login_profile(UserName=name)
            except self.iam.exceptions.NoSuchEntityException:
                problems.append(f"{name}: no console password")
            tags = {tag["Key"]: tag["Value"] for tag in self.iam.list_user_tags(UserName=name)["Tags"]}
            if tags != TAGS:
                problems.append(f"{name}: tags {tags}")
        return problems


def moto_iam_client(endpoint: str) -> Any:
    """A boto3 IAM client straight to moto: arranges and checks state without being counted."""
    return boto3.client(
        "iam",
        endpoint_url=endpoint,
        region_name=FAKE_AWS["AWS_DEFAULT_REGION"],
        aws_access_key_id=FAKE_AWS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_AWS["AWS_SECRET_ACCESS_KEY"],
    )


def contenders(bench: Bench, users: int) -> list[Contender]:
    """The two ways at ``users`` users, plus techsquawks.iam at BASE_USERS for the scale check."""
    amazon_onboard = bench.write("amazon_onboard.yml", AMAZON_ONBOARD)
    amazon_offboard = bench.write("amazon_offboard.yml", AMAZON_OFFBOARD)
    playbooks = ROOT / "playbooks"
    sizes = [users, BASE_USERS] if users > BASE_USERS else [users]
    for size in sizes:
        bench.write(f"roster-{size}.json", json.dumps(roster(size), indent=1))

    def commands(onboard: Path, offboard: Path, size: int) -> dict[str, list[str]]:
        common = ["-i", str(bench.inventory)]
        extra = ["-e", f"@{bench.work / f'roster-{size}.json'}"]
        return {
            "onboard": [*common, str(onboard), *extra],
            "re-run": [*common, str(onboard), *extra],
            "offboard": [*common, str(offboard), *extra],
        }

    found = [
        Contender(AMAZON, users, commands(amazon_onboard, amazon_offboard, users)),
        Contender(OURS, users, commands(playbooks / "onboard.yml", playbooks / "offboard.yml", users)),
    ]
    if users > BASE_USERS:
        found.append(
            Contender(OURS, BASE_USERS, commands(playbooks / "onboard.yml", playbooks / "offboard.yml", BASE_USERS))
        )
    return found


def alternate(items: Sequence[Any], run: int) -> list[Any]:
    """The run's order: forwards on even runs, backwards on odd ones, so neither goes first every time."""
    return list(items) if run % 2 == 0 else list(reversed(items))


def measure_phases(
    bench: Bench, ways: Sequence[Contender], runs: int, progress: Callable[[str], None]
) -> tuple[dict[str, dict[str, list[Measurement]]], list[str]]:
    """Every contender's phases, ``runs`` times, alternating; each run starts from an empty account."""
    results: dict[str, dict[str, list[Measurement]]] = {way.key: {phase: [] for phase in PHASES} for way in ways}
    problems: list[str] = []
    for run in range(runs):
        for way in alternate(ways, run):
            bench.fresh_account()
            for phase in PHASES:
                measurement = bench.playbook(way.commands[phase], f"{way.name}-{way.users}-{phase}-{run + 1}")
                results[way.key][phase].append(measurement)
                found = bench.check(way.users, present=phase != "offboard")
                problems += [f"{way.key} {phase} run {run + 1}: {problem}" for problem in found]
                progress(f"run {run + 1}/{runs} {way.key:22} {phase:8} {measurement.seconds:7.1f} s")
    return results, problems


def measure_nochange(bench: Bench, runs: int, progress: Callable[[str], None]) -> dict[str, list[Measurement]]:
    """NOCHANGE_TASKS iam_user tasks on a converged user, per collection: one warm-up, then ``runs`` alternating."""
    bench.fresh_account()
    bench.iam.create_user(
        UserName=NOCHANGE_USER, Path="/bench/", Tags=[{"Key": key, "Value": value} for key, value in TAGS.items()]
    )
    playbooks = {name: bench.write(f"nochange-{name}.yml", nochange_playbook(name)) for name in (AMAZON, OURS)}
    results: dict[str, list[Measurement]] = {name: [] for name in playbooks}
    for run in range(runs + 1):
        for name in alternate(list(playbooks), run):
            measurement = bench.playbook(["-i", str(bench.inventory), str(playbooks[name])], f"nochange-{name}-{run}")
            if measurement.changed:
                raise BenchError(f"{name}.iam_user changed a converged user (log: {bench.logs})")
            if run:  # run 0 warms both up (module caches, page cache) and is not counted
                results[name].append(measurement)
                progress(f"no-change run {run}/{runs} {name:16} {measurement.seconds:7.1f} s")
    return results


def per_invocation(measurement: Measurement) -> float:
    """Mean seconds of the run's iam_user tasks (each from its start to the next task's)."""
    durations = [task["seconds"] for task in measurement.tasks if task["action"].endswith(".iam_user")]
    return sum(durations) / len(durations)


@dataclasses.dataclass
class PhaseSummary:
    """A contender's figures for one phase, over the runs."""

    seconds: float
    runs: list[float]
    users: int
    calls: dict[str, float]
    invocations: dict[str, float]
    changed: float

    @property
    def per_user(self) -> float:
        """Median wall seconds per user."""
        return self.seconds / self.users

    def calls_per_user(self) -> float:
        """API calls per user, every action."""
        return sum(self.calls.values()) / self.users

    def mutating(self) -> float:
        """Mutating API calls, all users together."""
        return sum(count for action, count in self.calls.items() if is_mutating(action))

    def invocations_per_user(self) -> float:
        """Task results (not skipped) per user, every action."""
        return sum(self.invocations.values()) / self.users


def summarise(measurements: Sequence[Measurement], users: int) -> PhaseSummary:
    """Medians over the runs."""
    return PhaseSummary(
        seconds=median(m.seconds for m in measurements),
        runs=[m.seconds for m in measurements],
        users=users,
        calls=median_counts([m.calls for m in measurements]),
        invocations=median_counts([m.invocations for m in measurements]),
        changed=median(m.changed for m in measurements),
    )


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """A Markdown table (also readable as plain text)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for column in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def per_user(count: float, users: int) -> str:
    """A count per user for the by-action tables ("-" for none)."""
    return f"{count / users:.2f}" if count else "-"


def verdict(met: bool | None) -> str:
    """A target's verdict (None: not measured in this run)."""
    return "not measured" if met is None else ("met" if met else "NOT met")


def phase_section(summary: Mapping[str, Mapping[str, PhaseSummary]], users: int) -> list[str]:
    """The per-phase table, the scale contender's figures and every run's wall time."""
    a, b = summary[f"{AMAZON}@{users}"], summary[f"{OURS}@{users}"]
    header = [
        "phase",
        f"{AMAZON} s",
        f"{OURS} s",
        "ratio B/A",
        "s/user A / B",
        "API calls/user A / B",
        "mutating calls (all users) A / B",
        "task results/user A / B",
        "changed results (all users) A / B",
    ]
    rows = [
        [
            phase,
            f"{a[phase].seconds:.1f}",
            f"{b[phase].seconds:.1f}",
            f"{b[phase].seconds / a[phase].seconds:.3f}x",
            f"{a[phase].per_user:.2f} / {b[phase].per_user:.2f}",
            f"{a[phase].calls_per_user():.1f} / {b[phase].calls_per_user():.1f}",
            f"{a[phase].mutating():g} / {b[phase].mutating():g}",
            f"{a[phase].invocations_per_user():.2f} / {b[phase].invocations_per_user():.2f}",
            f"{a[phase].changed:g} / {b[phase].changed:g}",
        ]
        for phase in PHASES
    ]
    lines = ["## Per phase", "", *table(header, rows)]
    base = summary.get(f"{OURS}@{BASE_USERS}") if users > BASE_USERS else None
    if base is not None:
        per_phase = ", ".join(f"{phase} {base[phase].per_user:.2f}" for phase in PHASES)
        lines += ["", f"{OURS} at {BASE_USERS} users (the scale check), s/user: {per_phase}."]
    lines += ["", "Wall seconds of each run:", ""]
    lines += [
        f"- {key} {phase}: " + ", ".join(f"{seconds:.1f}" for seconds in summary[key][phase].runs)
        for key in summary
        for phase in PHASES
    ]
    return lines


def action_section(a: Mapping[str, PhaseSummary], b: Mapping[str, PhaseSummary], users: int) -> list[str]:
    """Per phase, API calls and task results per user, by action."""
    lines: list[str] = []
    for phase in PHASES:
        pa, pb = a[phase], b[phase]
        calls = [
            [
                f"{action} (mutating)" if is_mutating(action) else action,
                *(per_user(p.calls.get(action, 0), users) for p in (pa, pb)),
            ]
            for action in sorted(set(pa.calls) | set(pb.calls))
        ]
        lines += ["", f"### {phase}: API calls per user, by action", ""]
        lines += table(
            ["action", AMAZON, OURS], [*calls, ["total", f"{pa.calls_per_user():.2f}", f"{pb.calls_per_user():.2f}"]]
        )
        results = [
            [name, *(per_user(p.invocations.get(name, 0), users) for p in (pa, pb))]
            for name in sorted(set(pa.invocations) | set(pb.invocations))
        ]
        lines += ["", f"### {phase}: task results (not skipped, loop items one by one) per user, by action", ""]
        lines += table(
            ["action", AMAZON, OURS],
            [*results, ["total", f"{pa.invocations_per_user():.2f}", f"{pb.invocations_per_user():.2f}"]],
        )
    return lines


def nochange_section(nochange: Mapping[str, list[Measurement]], runs: int) -> tuple[list[str], float]:
    """The no-change iam_user table, and the ratio of seconds per invocation (ours / amazon.aws's)."""
    per_call = {name: median(per_invocation(m) for m in found) for name, found in nochange.items()}
    walls = {name: median(m.seconds for m in found) for name, found in nochange.items()}
    calls = {name: median_counts([m.calls for m in found]) for name, found in nochange.items()}
    ratio = per_call[OURS] / per_call[AMAZON]
    lines = [
        "",
        f"## One no-change iam_user invocation ({NOCHANGE_TASKS} tasks on a converged user, median of {runs})",
        "",
        "Seconds per invocation: a task's time from its start to the next task's start (callback plugin).",
        "",
    ]
    lines += table(
        ["collection", "s per invocation", "playbook wall s", "API calls per invocation"],
        [
            [
                f"{name}.iam_user",
                f"{per_call[name]:.3f}",
                f"{walls[name]:.1f}",
                ", ".join(f"{action} {count / NOCHANGE_TASKS:g}" for action, count in calls[name].items()),
            ]
            for name in (AMAZON, OURS)
        ],
    )
    return [*lines, "", f"Ratio techsquawks.iam / amazon.aws: {ratio:.3f}x."], ratio


def targets_section(summary: Mapping[str, Mapping[str, PhaseSummary]], users: int, nochange_ratio: float) -> list[str]:
    """The targets, this run's figure for each and whether it is met."""
    a, b = summary[f"{AMAZON}@{users}"], summary[f"{OURS}@{users}"]
    ratio = {phase: b[phase].seconds / a[phase].seconds for phase in PHASES}
    size_note = "" if users == BASE_USERS else f" (measured at {users} users)"
    base = summary.get(f"{OURS}@{BASE_USERS}") if users > BASE_USERS else None
    scale: bool | None = None
    scale_note = f"run with BENCH_USERS=100: this run had {users}"
    if base is not None:
        scale = all(b[phase].per_user <= base[phase].per_user for phase in PHASES)
        scale_note = "; ".join(f"{phase} {b[phase].per_user:.2f} vs {base[phase].per_user:.2f}" for phase in PHASES)
    calls_note = "; ".join(
        f"{phase} {b[phase].calls_per_user():.1f} vs {a[phase].calls_per_user():.1f}" for phase in PHASES
    )
    targets = [
        (
            f"onboard, {BASE_USERS} users: <= 0.15x amazon.aws's wall time{size_note}",
            ratio["onboard"] <= 0.15,
            f"{ratio['onboard']:.3f}x",
        ),
        (f"re-run, {BASE_USERS} users: <= 0.15x{size_note}", ratio["re-run"] <= 0.15, f"{ratio['re-run']:.3f}x"),
        (f"offboard, {BASE_USERS} users: <= 0.3x{size_note}", ratio["offboard"] <= 0.3, f"{ratio['offboard']:.3f}x"),
        (f"{users if base else 100} users: s/user no worse than at {BASE_USERS}, every phase", scale, scale_note),
        (
            "API calls per user <= amazon.aws's, every phase",
            all(b[phase].calls_per_user() <= a[phase].calls_per_user() for phase in PHASES),
            calls_note,
        ),
        ("re-run: zero mutating calls", b["re-run"].mutating() == 0, f"{b['re-run'].mutating():g}"),
        ("no-change iam_user invocation <= 0.8x amazon.aws's", nochange_ratio <= 0.8, f"{nochange_ratio:.3f}x"),
    ]
    lines = ["", "## Targets (techsquawks.iam)", ""]
    lines += table(["target", "this run", "verdict"], [[name, figure, verdict(met)] for name, met, figure in targets])
    if nochange_ratio > 0.8:
        lines += ["", NOCHANGE_NOTE]
    return lines


def report(
    users: int,
    runs: int,
    forks: int,
    summary: Mapping[str, Mapping[str, PhaseSummary]],
    nochange: Mapping[str, list[Measurement]],
    problems: Sequence[str],
) -> str:
    """The Markdown report: figures, ratios, targets and whether this run meets them."""
    lines = [
        "# Onboarding benchmark: amazon.aws idiom vs techsquawks.iam",
        "",
        f"Generated by `make bench` (benchmarks/bench.py) on {datetime.date.today().isoformat()}, "
        f"{os.cpu_count()} CPUs; {users} users, median of {runs} run(s) per phase, contenders alternating, "
        f"forks {forks}; working tree {git_revision()}.",
        "Versions: " + ", ".join(f"{name} {version}" for name, version in versions().items()) + ".",
        "Only the ratios of one run count: the machine is shared and noisy.",
        "",
        "Each user: path, 2 tags, a console password (reset required) and one access key. amazon.aws: one looped "
        "task per step (iam_user with a generated password, iam_access_key_info, iam_access_key when the user has "
        "no key; offboard: iam_user state=absent); secrets are not delivered anywhere. techsquawks.iam: "
        "playbooks/onboard.yml and offboard.yml with the roster, secrets written to files. Every run starts "
        "from an empty account: onboard, re-run on what it left, offboard.",
        "",
    ]
    lines += phase_section(summary, users)
    lines += action_section(summary[f"{AMAZON}@{users}"], summary[f"{OURS}@{users}"], users)
    nochange_lines, nochange_ratio = nochange_section(nochange, runs)
    lines += nochange_lines
    lines += targets_section(summary, users, nochange_ratio)
    lines += ["", "## State checks", ""]
    lines += [f"- {problem}" for problem in problems] or ["Every phase left the account as expected (checked in moto)."]
    return "\n".join(lines) + "\n"


def main() -> int:
    """Measure, print the report, write benchmarks/results.md."""
    users, runs, forks = env_int("BENCH_USERS", BASE_USERS), env_int("BENCH_RUNS", 3), env_int("BENCH_FORKS", 20)
    if not (Path(sysconfig.get_paths()["purelib"]) / "ansible_collections" / "amazon" / "aws").is_dir():
        raise BenchError("run with the bench virtualenv's Python (make bench): it has the ansible package")
    link = COLLECTIONS / "ansible_collections" / "techsquawks" / "iam"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(ROOT, target_is_directory=True)
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    moto = MotoServer(WORK)
    try:
        with CountingProxy(moto.endpoint) as proxy:
            bench = Bench(WORK, moto, proxy, forks)
            ways = contenders(bench, users)
            results, problems = measure_phases(bench, ways, runs, progress)
            nochange = measure_nochange(bench, runs, progress)
    finally:
        moto.stop()
    summary = {way.key: {phase: summarise(results[way.key][phase], way.users) for phase in PHASES} for way in ways}
    text = report(users, runs, forks, summary, nochange, problems)
    (WORK / "results.json").write_text(
        json.dumps({key: {p: [dataclasses.asdict(m) for m in ms] for p, ms in r.items()} for key, r in results.items()})
    )
    RESULTS.write_text(text)
    print(text)
    shown = RESULTS.relative_to(ROOT) if RESULTS.is_relative_to(ROOT) else RESULTS
    print(f"written: {shown} (logs and raw figures in {WORK.relative_to(ROOT)})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        sys.exit(f"bench: {error}")
