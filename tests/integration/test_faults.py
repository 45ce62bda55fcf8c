"""Faults injected between ansible-playbook and moto_server (tests/aws_proxy.py); end state read with boto3.

Throttling, check mode, idempotency (exact read counts), secrets at -vvvv under every stdout callback, and
bad input refused before any AWS call. The proxy counts what the playbooks send; the ``iam`` fixture reads
moto directly, uncounted.
"""

from __future__ import annotations

import collections
import configparser
import json
import stat
import time
import typing as t
import urllib.parse
from pathlib import Path

import pytest

from tests.aws_proxy import CountingProxy, IssuedSecret, is_mutating, issued_secrets
from tests.integration.conftest import PlaybookResult, PlaybookRunner

ROOT = Path(__file__).resolve().parents[2]
ONBOARD = ROOT / "playbooks" / "onboard.yml"
TARGETS = Path(__file__).resolve().parent / "targets"
ACCOUNT = "123456789012"

# -- helpers ------------------------------------------------------------------------------------------


def recaps(result: PlaybookResult) -> dict[str, dict[str, int]]:
    """Every host's PLAY RECAP counters."""
    counters = {}
    for line in result.stdout.split("PLAY RECAP")[-1].splitlines()[1:]:
        if " : " in line and "ok=" in line:
            host, values = line.split(" : ", 1)
            counters[host.strip()] = {k: int(v) for k, v in (part.split("=") for part in values.split())}
    return counters


def total(result: PlaybookResult, counter: str) -> int:
    """A PLAY RECAP counter summed over the hosts."""
    return sum(host[counter] for host in recaps(result).values())


def mode(path: Path) -> int:
    """Permission bits of ``path`` (not following a symlink)."""
    return stat.S_IMODE(path.lstat().st_mode)


def tags_of(raw: list[dict[str, str]]) -> dict[str, str]:
    """IAM's tag list as a dict."""
    return {tag["Key"]: tag["Value"] for tag in raw}


def mutating_seen(proxy: CountingProxy) -> dict[str, int]:
    """Requests of any action but Get*/List* that reached the proxy (answered or not)."""
    return {action: count for action, count in proxy.counts().items() if is_mutating(action)}


def account_state(iam: t.Any, path_prefix: str = "/") -> dict[str, dict[str, t.Any]]:
    """Per user under ``path_prefix``: path, tags, access key statuses, console password and MFA serials."""
    state = {}
    for page in iam.get_paginator("list_users").paginate(PathPrefix=path_prefix):
        for user in page["Users"]:
            name = user["UserName"]
            try:
                profile = iam.get_login_profile(UserName=name)["LoginProfile"]
                console: dict[str, t.Any] | None = {"reset_required": profile.get("PasswordResetRequired", False)}
            except iam.exceptions.NoSuchEntityException:
                console = None
            state[name] = {
                "path": user["Path"],
                "tags": tags_of(iam.list_user_tags(UserName=name)["Tags"]),
                "keys": sorted(key["Status"] for key in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]),
                "console": console,
                "mfa": len(iam.list_mfa_devices(UserName=name)["MFADevices"]),
            }
    return state


def delivered_files(root: Path) -> dict[str, int]:
    """Every file and directory under ``root``, relative, with its mode."""
    return {str(path.relative_to(root)): mode(path) for path in sorted(root.rglob("*"))}


def delivered_key(root: Path, user: str) -> tuple[str, str]:
    """The access key ID and secret in ``<root>/<user>/credentials`` (profile named after the user)."""
    parser = configparser.ConfigParser()
    parser.read_string((root / user / "credentials").read_text())
    return parser[user]["aws_access_key_id"], parser[user]["aws_secret_access_key"]


def assert_private(root: Path) -> None:
    """The credentials root and every directory under it 0700, every file 0600, no symlink."""
    assert mode(root) == 0o700, root
    for path in root.rglob("*"):
        assert not path.is_symlink(), path
        assert mode(path) == (0o700 if path.is_dir() else 0o600), f"{path}: {oct(mode(path))}"


# -- 1. throttling ------------------------------------------------------------------------------------

THROTTLED_USERS = 50


def throttling_roster() -> list[dict[str, t.Any]]:
    """50 users with a path, tags, an access key and a console password (some with settings)."""
    return [
        {
            "name": f"throttled-{number:02}",
            "path": "/faults/",
            "tags": {"team": "platform", "number": str(number)},
            "access_key": True,
            "console": {"password_reset_required": True} if number % 2 else True,
        }
        for number in range(THROTTLED_USERS)
    ]


def converged_by_roster(iam: t.Any, root: Path, proxy: CountingProxy) -> tuple[dict, dict]:
    """The account's state and the delivered files, after checking every delivered secret is AWS's."""
    state = account_state(iam, "/faults/")
    issued = {secret.ident: secret for secret in issued_secrets(proxy.exchanges()) if secret.kind == "access_key"}
    for name in state:
        key_id, secret = delivered_key(root, name)
        active = [k["AccessKeyId"] for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]]
        assert active == [key_id], name
        assert issued[key_id].value == secret, name
        password = json.loads((root / name / "console.json").read_text())["password"]
        sent = [s.value for s in issued_secrets(proxy.exchanges("CreateLoginProfile")) if s.user_name == name]
        assert sent == [password], name
    return state, delivered_files(root)


def test_throttled_onboarding_completes_with_the_fault_free_end_state(
    ansible_playbook: PlaybookRunner, aws_proxy: CountingProxy, moto: t.Any, iam: t.Any, tmp_path: Path
) -> None:
    roster = throttling_roster()
    clean_dir, throttled_dir = tmp_path / "fault-free", tmp_path / "throttled"

    started = time.monotonic()
    clean = ansible_playbook(
        ONBOARD,
        endpoint=aws_proxy.endpoint,
        extra_vars={"onboarding_users": roster, "onboarding_credentials_dir": str(clean_dir)},
    )
    clean_seconds = time.monotonic() - started
    assert aws_proxy.stats().faults == 0
    expected_state, expected_files = converged_by_roster(iam, clean_dir, aws_proxy)
    assert len(expected_state) == THROTTLED_USERS
    assert all(user["keys"] == ["Active"] and user["console"] for user in expected_state.values())

    moto.reset()
    aws_proxy.reset()
    aws_proxy.inject(throttle=0.3, seed=9)
    started = time.monotonic()
    throttled = ansible_playbook(
        ONBOARD,
        endpoint=aws_proxy.endpoint,
        extra_vars={"onboarding_users": roster, "onboarding_credentials_dir": str(throttled_dir)},
    )
    throttled_seconds = time.monotonic() - started
    stats = aws_proxy.stats()
    retries = stats.seen - len(throttled.api_calls)
    print(
        f"\nthrottling: {stats.seen} requests, {stats.throttled} answered Throttling ({stats.throttled / stats.seen:.0%}),"
        f" {stats.forwarded} forwarded, {len(throttled.api_calls)} API calls, {retries} retries; "
        f"{throttled_seconds:.1f} s throttled vs {clean_seconds:.1f} s fault-free"
    )

    assert total(throttled, "failed") == 0
    assert f"{THROTTLED_USERS} user(s): {THROTTLED_USERS} with changes, 0 unchanged." in throttled.stdout
    assert stats.throttled > 0
    assert retries > 0
    # Every throttled answer was retried, and nothing else was: no request was sent twice.
    assert retries == stats.throttled
    assert stats.forwarded == stats.seen - stats.throttled
    state, files = converged_by_roster(iam, throttled_dir, aws_proxy)
    assert state == expected_state
    assert files == expected_files
    assert_private(throttled_dir)
