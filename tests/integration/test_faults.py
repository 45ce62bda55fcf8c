"""Faults injected between ansible-playbook and moto_server (tests/aws_proxy.py); end state read with boto3.

Throttling, check mode, idempotency (exact read counts), secrets at -vvvv under every stdout callback, and
bad input refused before any AWS call. The proxy counts what the playbooks send; the ``iam`` fixture reads
moto directly, uncounted.
"""

from __future__ import annotations

import collections
import configparser
import json
import re
import stat
import threading
import time
import typing as t
import urllib.parse
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.aws_proxy import CountingProxy, IssuedSecret, Stats, is_mutating, issued_secrets
from tests.certificates import self_signed_certificate
from tests.integration.conftest import PlaybookResult, PlaybookRunner

ROOT = Path(__file__).resolve().parents[2]
ONBOARD = ROOT / "playbooks" / "onboard.yml"
TARGETS = Path(__file__).resolve().parent / "targets"

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
    paths = list(root.rglob("*"))
    assert any(path.is_file() for path in paths), f"{root} holds no file to check"
    for path in paths:
        assert not path.is_symlink(), path
        assert mode(path) == (0o700 if path.is_dir() else 0o600), f"{path}: {oct(mode(path))}"


# -- the proxy itself ---------------------------------------------------------------------------------


def proxied_client(proxy: CountingProxy, service: str, attempts: int) -> t.Any:
    """A boto3 client through the proxy with botocore's standard retries (``attempts`` in all)."""
    return boto3.client(
        service,
        endpoint_url=proxy.endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "total_max_attempts": attempts}, read_timeout=10),
    )


def test_the_proxy_throttles_fails_drops_and_delays_as_told_and_counts_what_took_effect(
    aws_proxy: CountingProxy, iam: t.Any
) -> None:
    once = proxied_client(aws_proxy, "iam", attempts=1)
    sts = proxied_client(aws_proxy, "sts", attempts=1)

    aws_proxy.inject(throttle=1.0)
    with pytest.raises(ClientError) as throttled:
        once.get_user(UserName="nobody")
    with pytest.raises(ClientError) as sts_throttled:
        sts.get_caller_identity()
    aws_proxy.inject(unavailable=1.0)
    with pytest.raises(ClientError) as unavailable:
        once.create_user(UserName="never")

    # IAM's own answers, as botocore reads them: Throttling is a 400, ServiceUnavailable a 503.
    assert throttled.value.response["Error"] == {"Type": "Sender", "Code": "Throttling", "Message": "Rate exceeded"}
    assert throttled.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert sts_throttled.value.response["Error"]["Code"] == "Throttling"
    assert unavailable.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert aws_proxy.stats() == Stats(seen=3, forwarded=0, throttled=2, unavailable=1, dropped=0, delayed=0)
    assert iam.list_users()["Users"] == []

    # The same seed throttles the same requests.
    draws = []
    for _round in range(2):
        aws_proxy.reset()
        aws_proxy.inject(throttle=0.5, seed=4)
        outcomes = []
        for _call in range(20):
            try:
                once.list_users()
                outcomes.append("ok")
            except ClientError:
                outcomes.append("throttled")
        draws.append(outcomes)
    assert draws[0] == draws[1]
    assert {"ok", "throttled"} == set(draws[0])

    # A dropped answer: the request took effect, the client heard nothing (and botocore sent it again).
    aws_proxy.reset()
    aws_proxy.drop_response("CreateUser", nth=1)
    reached = threading.Event()
    waiter = threading.Thread(target=lambda: reached.set() if aws_proxy.wait_for_mutating(2, timeout=30) else None)
    waiter.start()
    with pytest.raises(ClientError) as again:
        proxied_client(aws_proxy, "iam", attempts=2).create_user(UserName="twice")
    waiter.join(timeout=30)
    assert again.value.response["Error"]["Code"] == "EntityAlreadyExists"
    assert [exchange.outcome for exchange in aws_proxy.exchanges("CreateUser")] == ["dropped", "forwarded"]
    assert reached.is_set()
    assert aws_proxy.mutating_counts() == {"CreateUser": 2}
    assert [user["UserName"] for user in iam.list_users()["Users"]] == ["twice"]

    # Delayed answers, the stand-in moto lacks, and the hooks.
    aws_proxy.reset()
    aws_proxy.delay(0.5)
    heard: list[str] = []
    aws_proxy.add_hook(lambda exchange: heard.append(exchange.outcome))
    started = time.monotonic()
    listed = once.list_service_specific_credentials(UserName="twice")
    assert time.monotonic() - started >= 0.5
    assert listed["ServiceSpecificCredentials"] == []
    assert heard == ["answered"]
    assert aws_proxy.stats().delayed == 1
    assert aws_proxy.forwarded_counts() == {}


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


def converged_by_roster(
    iam: t.Any, root: Path, proxy: CountingProxy
) -> tuple[dict[str, dict[str, t.Any]], dict[str, int]]:
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
    clean_changes = aws_proxy.mutating_counts()
    expected_state, expected_files = converged_by_roster(iam, clean_dir, aws_proxy)
    assert len(expected_state) == THROTTLED_USERS
    assert all(user["keys"] == ["Active"] and user["console"] for user in expected_state.values())
    assert f"{THROTTLED_USERS} user(s): {THROTTLED_USERS} with changes, 0 unchanged." in clean.stdout

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
    calls = len(throttled.api_calls)
    # botocore retries a throttled read or idempotent write inside one API call; the engine sends a
    # throttled create again itself, as a new call (botocore never retries those).
    botocore_retries, engine_resends = stats.seen - calls, calls - stats.forwarded
    print(
        f"\nthrottling, {THROTTLED_USERS} users: {stats.seen} requests, {stats.throttled} answered Throttling "
        f"({stats.throttled / stats.seen:.0%}), {stats.forwarded} forwarded; {calls} API calls; retries: "
        f"{botocore_retries} by botocore + {engine_resends} creates sent again = {stats.seen - stats.forwarded}; "
        f"{throttled_seconds:.1f} s (fault-free {clean_seconds:.1f} s)"
    )

    assert total(throttled, "failed") == 0
    assert f"{THROTTLED_USERS} user(s): {THROTTLED_USERS} with changes, 0 unchanged." in throttled.stdout
    assert stats.throttled > 0
    assert botocore_retries > 0
    assert engine_resends > 0
    # Every throttled answer was followed by the same request again, and each one reached moto once:
    # exactly the changes of the fault-free run, no create twice.
    assert stats.seen - stats.forwarded == stats.throttled
    assert aws_proxy.mutating_counts() == clean_changes
    state, files = converged_by_roster(iam, throttled_dir, aws_proxy)
    assert state == expected_state
    assert files == expected_files
    assert_private(throttled_dir)


# -- 5. check mode and 6. idempotency: a roster that mixes every aspect -----------------------------


def ssh_public_key(comment: str) -> str:
    """A new RSA public key in OpenSSH's one-line format."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode() + f" {comment}"


@pytest.fixture
def arranged(iam: t.Any) -> dict[str, str]:
    """A group and a managed policy for the roster's entries to use."""
    iam.create_group(GroupName="developers")
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    policy = iam.create_policy(PolicyName="read-reports", PolicyDocument=json.dumps(document))["Policy"]["Arn"]
    return {"policy_arn": policy}


def mixed_roster(policy_arn: str) -> tuple[list[dict[str, t.Any]], dict[str, collections.Counter[str]]]:
    """Entries that each name a different set of aspects, and the reads the module's DOCUMENTATION promises
    for each on a converged account: GetUser, plus one read per aspect named (SSH keys: one more per key)."""
    ssh = [ssh_public_key("ssh-user@one"), ssh_public_key("ssh-user@two")]
    everything_ssh = [ssh_public_key("everything@laptop")]
    entries: list[tuple[dict[str, t.Any], list[str]]] = [
        ({"name": "plain"}, []),
        ({"name": "placed", "path": "/staff/", "tags": {"team": "platform", "cost-center": "42"}}, []),
        ({"name": "grouped", "groups": ["developers"]}, ["ListGroupsForUser"]),
        ({"name": "governed", "managed_policies": [policy_arn]}, ["ListAttachedUserPolicies"]),
        ({"name": "keyed", "access_key": True}, ["ListAccessKeys"]),
        ({"name": "rotating", "access_key": {"rotate_after_days": 90}}, ["ListAccessKeys"]),
        ({"name": "console-user", "console": {"password_length": 16}}, ["GetLoginProfile"]),
        ({"name": "mfa-user", "mfa": True}, ["ListMFADevices"]),
        ({"name": "ssh-user", "ssh_public_keys": ssh}, ["ListSSHPublicKeys", "GetSSHPublicKey", "GetSSHPublicKey"]),
        (
            {"name": "cert-user", "signing_certificates": [self_signed_certificate("cert-user")]},
            ["ListSigningCertificates"],
        ),
        (
            {
                "name": "everything",
                "path": "/staff/",
                "tags": {"team": "security"},
                "groups": ["developers"],
                "managed_policies": [policy_arn],
                "access_key": True,
                "console": True,
                "mfa": True,
                "ssh_public_keys": everything_ssh,
                "signing_certificates": [self_signed_certificate("everything")],
            },
            [
                "ListGroupsForUser",
                "ListAttachedUserPolicies",
                "ListAccessKeys",
                "GetLoginProfile",
                "ListMFADevices",
                "ListSSHPublicKeys",
                "GetSSHPublicKey",
                "ListSigningCertificates",
            ],
        ),
        (
            {"name": "stripped", "access_key": False, "console": False, "mfa": False},
            ["ListAccessKeys", "GetLoginProfile", "ListMFADevices"],
        ),
        ({"name": "departed", "state": "absent"}, []),
    ]
    reads = {entry["name"]: collections.Counter(["GetUser", *extra]) for entry, extra in entries}
    return [entry for entry, _extra in entries], reads


def give_stripped_and_departed_users_credentials(iam: t.Any) -> None:
    """What the entries "stripped" and "departed" take away: keys, a console password, a user."""
    for name in ("stripped", "departed"):
        iam.create_user(UserName=name)
        iam.create_access_key(UserName=name)
        iam.create_login_profile(UserName=name, Password="Original-Passw0rd!")


def reads_by_user(proxy: CountingProxy) -> tuple[dict[str, collections.Counter[str]], list[str]]:
    """The proxy's requests per UserName parameter, and the actions of the requests that name no user."""
    per_user: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    others = []
    for exchange in proxy.exchanges():
        user = exchange.call.params.get("UserName")
        if user is None:
            others.append(exchange.action or "")
        else:
            per_user[user][exchange.action or ""] += 1
    return dict(per_user), others


def test_check_mode_makes_no_mutating_call_on_an_empty_or_a_converged_account(
    ansible_playbook: PlaybookRunner, aws_proxy: CountingProxy, iam: t.Any, arranged: dict[str, str], tmp_path: Path
) -> None:
    roster, _reads = mixed_roster(arranged["policy_arn"])
    creds = tmp_path / "credentials"
    extra = {"onboarding_users": roster, "onboarding_credentials_dir": str(creds)}

    empty = ansible_playbook(ONBOARD, "--check", endpoint=aws_proxy.endpoint, extra_vars=extra)

    assert aws_proxy.counts(), "the run must go through the proxy"
    assert mutating_seen(aws_proxy) == {}
    assert iam.list_users()["Users"] == []
    assert not creds.exists()
    assert "Check mode: nothing was changed" in empty.stdout
    assert total(empty, "changed") > 0

    ansible_playbook(ONBOARD, endpoint=aws_proxy.endpoint, extra_vars=extra)
    converged = account_state(iam)
    files = {path: path.read_bytes() for path in creds.rglob("*") if path.is_file()}
    aws_proxy.reset()

    again = ansible_playbook(ONBOARD, "--check", endpoint=aws_proxy.endpoint, extra_vars=extra)

    assert aws_proxy.counts()
    assert mutating_seen(aws_proxy) == {}
    assert total(again, "changed") == 0
    assert f"{len(roster)} user(s): 0 that would change, {len(roster)} unchanged." in again.stdout

    # A roster that would change tags, keys, a password, MFA, remove a user and add one: still nothing changes.
    drifted = [dict(entry) for entry in roster]
    drifted[1]["tags"] = {"team": "sales"}
    drifted[4]["access_key"] = False
    drifted[5]["access_key"] = {"rotate_after_days": 0}
    drifted[6]["console"] = False
    drifted[7]["mfa"] = False
    drifted[10]["state"] = "absent"
    drifted.append({"name": "newcomer", "access_key": True, "console": True, "mfa": True})
    aws_proxy.reset()

    predicted = ansible_playbook(
        ONBOARD,
        "--check",
        endpoint=aws_proxy.endpoint,
        extra_vars={"onboarding_users": drifted, "onboarding_credentials_dir": str(creds)},
    )

    assert mutating_seen(aws_proxy) == {}
    assert total(predicted, "changed") > 0
    assert f"{len(drifted)} user(s): 7 that would change, 7 unchanged." in predicted.stdout
    assert account_state(iam) == converged
    assert {path: path.read_bytes() for path in creds.rglob("*") if path.is_file()} == files


def test_converged_rerun_makes_no_mutating_call_and_exactly_the_documented_reads_per_user(
    ansible_playbook: PlaybookRunner, aws_proxy: CountingProxy, iam: t.Any, arranged: dict[str, str], tmp_path: Path
) -> None:
    roster, expected = mixed_roster(arranged["policy_arn"])
    give_stripped_and_departed_users_credentials(iam)
    extra = {"onboarding_users": roster, "onboarding_credentials_dir": str(tmp_path / "credentials")}
    ansible_playbook(ONBOARD, endpoint=aws_proxy.endpoint, extra_vars=extra)
    assert "departed" not in {user["UserName"] for user in iam.list_users()["Users"]}
    aws_proxy.reset()

    rerun = ansible_playbook(ONBOARD, endpoint=aws_proxy.endpoint, extra_vars=extra)

    per_user, others = reads_by_user(aws_proxy)
    print(f"\nre-run reads: {sum(aws_proxy.counts().values())} for {len(roster)} users: {dict(per_user)}")
    assert total(rerun, "changed") == 0
    assert mutating_seen(aws_proxy) == {}
    assert others == []
    assert per_user == expected


def test_check_mode_with_diff_predicts_a_new_user_without_any_mutating_call(
    ansible_playbook: PlaybookRunner, aws_proxy: CountingProxy, tmp_path: Path
) -> None:
    extra = {"onboarding_users": [{"name": "newcomer", "path": "/staff/"}], "onboarding_credentials_dir": str(tmp_path)}

    predicted = ansible_playbook(
        ONBOARD, "--check", "--diff", endpoint=aws_proxy.endpoint, extra_vars=extra, check=False
    )

    assert mutating_seen(aws_proxy) == {}
    assert predicted.rc == 0, predicted.output
    assert "+++ after: user newcomer" in predicted.stdout


# -- 7. secrets ---------------------------------------------------------------------------------------

DUMP_RESULT = TARGETS / "onboarding" / "dump_result.yml"
# ansible-core's own stdout callbacks (ansible.posix.json is not installed): the default one with each of
# its result formats, and the minimal and oneline ones. Every run also has the tree and junit callbacks
# write their files into the work directory.
CALLBACKS = {
    "default": {},
    "default-json": {"ANSIBLE_CALLBACK_RESULT_FORMAT": "json", "ANSIBLE_CALLBACK_FORMAT_PRETTY": "true"},
    "default-yaml": {"ANSIBLE_CALLBACK_RESULT_FORMAT": "yaml"},
    "minimal": {"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.minimal"},
    "oneline": {"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.oneline"},
}
SECRET_RUNS = [
    *(pytest.param(name, (), id=name) for name in sorted(CALLBACKS)),
    pytest.param("default", ("--diff",), id="default-diff"),
]
# The file each kind of secret is delivered to.
OWN_FILE = {"access_key": "credentials", "password": "console.json", "mfa_seed": "mfa.json"}


def forms_of(secret: IssuedSecret) -> set[str]:
    """The ways a secret could be written out: as is, JSON-escaped, URL-quoted (and the seed's encodings)."""
    forms = set(secret.forms)
    for value in secret.forms:
        forms |= {json.dumps(value)[1:-1], urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value)}
    return {form for form in forms if len(form) >= 8}


def files_holding(root: Path, secret: IssuedSecret) -> list[Path]:
    """Every file under ``root`` that holds the secret in any of its forms."""
    forms = [form.encode() for form in forms_of(secret)]
    return [path for path in sorted(root.rglob("*")) if path.is_file() and any(f in path.read_bytes() for f in forms)]


@pytest.mark.parametrize(("callback", "options"), SECRET_RUNS)
def test_no_issued_secret_leaks_at_vvvv_into_output_log_registered_var_or_other_files(
    ansible_playbook: PlaybookRunner,
    aws_proxy: CountingProxy,
    iam: t.Any,
    tmp_path: Path,
    callback: str,
    options: tuple[str, ...],
) -> None:
    work = tmp_path
    creds, log = work / "credentials", work / "ansible.log"
    # carol's key is old enough to be rotated: a new key, proven with STS, then the old one retired.
    iam.create_user(UserName="carol")
    iam.create_access_key(UserName="carol")
    roster = [
        {"name": "alice", "access_key": True, "console": True, "mfa": True},
        {"name": "bob", "access_key": True, "console": {"password_length": 24, "password_reset_required": False}},
        {"name": "carol", "access_key": {"rotate_after_days": 0}, "mfa": True},
    ]
    env = {
        **CALLBACKS[callback],
        "ANSIBLE_LOG_PATH": str(log),
        "ANSIBLE_CALLBACKS_ENABLED": "ansible.builtin.tree,ansible.builtin.junit",
        "ANSIBLE_CALLBACK_TREE_DIR": str(work / "tree"),
        "JUNIT_OUTPUT_DIR": str(work / "junit"),
        "ANSIBLE_LOCAL_TEMP": str(work / "ansible-local-tmp"),
        "ANSIBLE_REMOTE_TEMP": str(work / "ansible-remote-tmp"),
    }
    extra = {"onboarding_users": roster, "onboarding_credentials_dir": str(creds), "dump_file": str(work / "dump.json")}

    result = ansible_playbook(DUMP_RESULT, "-vvvv", *options, endpoint=aws_proxy.endpoint, env=env, extra_vars=extra)

    secrets = issued_secrets(aws_proxy.exchanges())
    kinds = collections.Counter(secret.kind for secret in secrets)
    assert kinds == {"access_key": 3, "password": 2, "mfa_seed": 2}
    assert (work / "dump.json").exists()
    assert "onboarding_result" in result.stdout
    assert log.read_text().strip()
    assert list((work / "tree").iterdir())
    assert list((work / "junit").iterdir())
    for secret in secrets:
        leaked_into = [
            name
            for name, text in (("stdout", result.stdout), ("stderr", result.stderr))
            if any(form in text for form in forms_of(secret))
        ]
        assert leaked_into == [], f"{secret.kind} of {secret.ident} in {leaked_into}"
        holders = files_holding(work, secret)
        assert len(holders) == 1, f"{secret.kind} of {secret.ident} in {[str(p.relative_to(work)) for p in holders]}"
        own = holders[0]
        assert own.name == OWN_FILE[secret.kind], own
        assert own.parent.parent == creds, own
        if secret.kind == "mfa_seed":
            serials = [d["SerialNumber"] for d in iam.list_mfa_devices(UserName=own.parent.name)["MFADevices"]]
            assert serials == [secret.ident]
        else:
            assert own.parent.name == secret.user_name
    assert_private(creds)


# -- 8. bad input -------------------------------------------------------------------------------------

SSH_KEY = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 not-really@a-key"
CERTIFICATE_GARBAGE = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"
MANY_TAGS = {f"tag{number}": "x" for number in range(51)}


class Case(t.NamedTuple):
    """One invalid input: the module and its arguments, and the fragments its failure message must hold."""

    id: str
    module: str
    args: dict[str, t.Any]
    expected: tuple[str, ...]


# Each single-resource module, with invalid names, paths, tags, lengths, policy ARNs, key bodies,
# certificates, conflicting, unknown and wrongly typed options.
MODULE_CASES = [
    Case("user-name-space", "iam_user", {"name": "bad name"}, ("name 'bad name' may contain only",)),
    Case("user-name-65", "iam_user", {"name": "u" * 65}, ("name '" + "u" * 65 + "' is 65 characters long",)),
    Case("user-path-slashes", "iam_user", {"name": "alice", "path": "staff"}, ("path 'staff' must begin and end",)),
    Case("user-path-513", "iam_user", {"name": "alice", "path": "/" + "p" * 511 + "/"}, ("path is 513 characters",)),
    Case("user-51-tags", "iam_user", {"name": "alice", "tags": MANY_TAGS}, ("tags has 51 tags",)),
    Case("user-tag-key-129", "iam_user", {"name": "alice", "tags": {"k" * 129: "v"}}, ("tags key", "1 to 128")),
    Case("user-tag-value-257", "iam_user", {"name": "alice", "tags": {"team": "v" * 257}}, ("tags value of 'team'",)),
    Case("user-tag-aws-prefix", "iam_user", {"name": "alice", "tags": {"aws:team": "x"}}, ("tags key 'aws:team'",)),
    Case(
        "user-policy-arn",
        "iam_user",
        {"name": "alice", "managed_policies": ["arn:aws:s3:::bucket"]},
        ("managed_policies 'arn:aws:s3:::bucket' is not an IAM policy ARN",),
    ),
    Case(
        "user-boundary-arn",
        "iam_user",
        {"name": "alice", "permissions_boundary": "ReadOnlyAccess"},
        ("permissions_boundary 'ReadOnlyAccess' is not an IAM policy ARN",),
    ),
    Case("user-group-name", "iam_user", {"name": "alice", "groups": ["bad group"]}, ("groups 'bad group'",)),
    Case(
        "user-rename-absent",
        "iam_user",
        {"name": "alice", "new_name": "alicia", "state": "absent"},
        ("new_name: cannot be combined with state=absent",),
    ),
    Case("user-rename-case", "iam_user", {"name": "alice", "new_name": "ALICE"}, ("new_name: 'ALICE' differs",)),
    Case("user-unknown-option", "iam_user", {"name": "alice", "colour": "red"}, ("Unsupported parameters", "colour")),
    Case("user-tags-type", "iam_user", {"name": "alice", "tags": ["team"]}, ("tags", "dict")),
    Case(
        "key-id-and-rotate",
        "iam_access_key",
        {"user_name": "alice", "id": "AKIAIOSFODNN7EXAMPLE", "rotate_after_days": 90},
        ("mutually exclusive", "id|rotate_after_days"),
    ),
    Case("key-absent-no-id", "iam_access_key", {"user_name": "alice", "state": "absent"}, ("id is required",)),
    Case("key-id-short", "iam_access_key", {"user_name": "alice", "id": "AKIA"}, ("id 'AKIA' is not an access key",)),
    Case(
        "key-rotate-negative", "iam_access_key", {"user_name": "alice", "rotate_after_days": -1}, ("rotate_after_days",)
    ),
    Case(
        "key-default-profile",
        "iam_access_key",
        {"user_name": "default", "secret_file": "/nonexistent-dir/credentials"},
        ("user_name: 'default' cannot be a profile",),
    ),
    Case(
        "key-rotate-type",
        "iam_access_key",
        {"user_name": "alice", "rotate_after_days": "often"},
        ("rotate_after_days",),
    ),
    Case(
        "profile-length-5",
        "iam_login_profile",
        {"user_name": "alice", "password_length": 5},
        ("password_length must be between 6",),
    ),
    Case(
        "profile-session-60",
        "iam_login_profile",
        {"user_name": "alice", "max_session_duration": 60},
        ("max_session_duration must be 0 (unset) or between",),
    ),
    Case(
        "profile-password-129",
        "iam_login_profile",
        {"user_name": "alice", "password": "Aa1!" * 33},
        ("password is 132 characters long",),
    ),
    Case("mfa-issuer-colon", "iam_mfa_device", {"user_name": "alice", "issuer": "Acme:Corp"}, ("issuer 'Acme:Corp'",)),
    Case("mfa-device-name", "iam_mfa_device", {"user_name": "alice", "name": "bad device"}, ("name 'bad device'",)),
    Case(
        "ssh-body",
        "iam_ssh_key",
        {"user_name": "alice", "public_key": "not a key"},
        ("public_key is not a usable SSH public key",),
    ),
    Case("ssh-neither", "iam_ssh_key", {"user_name": "alice"}, ("one of the following is required", "public_key")),
    Case("ssh-id", "iam_ssh_key", {"user_name": "alice", "ssh_public_key_id": "x!"}, ("ssh_public_key_id 'x!'",)),
    Case(
        "cert-body",
        "iam_signing_certificate",
        {"user_name": "alice", "certificate_body": CERTIFICATE_GARBAGE},
        ("certificate_body is not a usable PEM certificate",),
    ),
    Case(
        "cert-id",
        "iam_signing_certificate",
        {"user_name": "alice", "certificate_id": "bad id"},
        ("certificate_id 'bad id'",),
    ),
    Case("policy-min-5", "iam_password_policy", {"min_password_length": 5}, ("min_password_length must be between",)),
    Case("policy-age-2000", "iam_password_policy", {"max_password_age": 2000}, ("max_password_age must be between",)),
    Case(
        "policy-reuse-25",
        "iam_password_policy",
        {"password_reuse_prevention": 25},
        ("password_reuse_prevention must be between",),
    ),
    Case("policy-min-type", "iam_password_policy", {"min_password_length": "ten"}, ("min_password_length",)),
    Case(
        "info-name-and-group", "iam_user_info", {"name": "alice", "group": "devs"}, ("mutually exclusive", "name|group")
    ),
    Case("info-path-prefix", "iam_user_info", {"path_prefix": "staff"}, ("path_prefix 'staff' must begin with '/'",)),
    Case("key-info-name", "iam_access_key_info", {"user_name": "bad name"}, ("user_name 'bad name'",)),
]

VALID_ENTRY = {"name": "valid-user", "access_key": True}


def roster_case(case_id: str, entry: dict[str, t.Any], *expected: str, **options: t.Any) -> Case:
    """An iam_roster task whose second entry is ``entry`` (the first is valid and must wait too)."""
    # never_written is a play variable: a directory of the test's own that no case may create.
    args = {"users": [VALID_ENTRY, entry], "credentials_dir": f"{{{{ never_written }}}}/{case_id}", **options}
    return Case(f"roster-{case_id}", "iam_roster", args, expected)


ROSTER_CASES = [
    roster_case("name-dot", {"name": "."}, "users[1] (.): name '.' cannot name a directory"),
    roster_case("name-dotdot", {"name": "..", "access_key": True}, "users[1] (..): name '..' cannot name a directory"),
    roster_case("name-report", {"name": "onboarding-report.md"}, "users[1] (onboarding-report.md): name"),
    roster_case("name-repeat-case", {"name": "VALID-USER"}, "users[1] (VALID-USER): name repeats users[0]"),
    roster_case("name-invalid", {"name": "bob smith"}, "users[1] (bob smith): name 'bob smith' may contain only"),
    roster_case(
        "console-typo", {"name": "bob", "console": {"password_lenght": 15}}, "users[1] (bob): console: unknown key"
    ),
    roster_case(
        "console-length",
        {"name": "bob", "console": {"password_length": 3}},
        "users[1] (bob): console.password_length must be",
    ),
    roster_case("access-key-value", {"name": "bob", "access_key": "yes"}, "users[1] (bob): access_key must be"),
    roster_case(
        "access-key-rotate",
        {"name": "bob", "access_key": {"rotate_after_days": -1}},
        "users[1] (bob): access_key.rotate_after_days",
    ),
    roster_case("path", {"name": "bob", "path": "staff"}, "users[1] (bob): path 'staff' must begin"),
    roster_case("tags-aws", {"name": "bob", "tags": {"aws:x": "y"}}, "users[1] (bob): tags key 'aws:x'"),
    roster_case("tags-51", {"name": "bob", "tags": MANY_TAGS}, "users[1] (bob): tags has 51 tags"),
    roster_case(
        "policy-arn",
        {"name": "bob", "managed_policies": ["not-an-arn"]},
        "users[1] (bob): managed_policies 'not-an-arn'",
    ),
    roster_case(
        "ssh-body", {"name": "bob", "ssh_public_keys": ["not a key"]}, "users[1] (bob): ssh_public_keys[0]: public_key"
    ),
    roster_case(
        "certificate",
        {"name": "bob", "signing_certificates": [CERTIFICATE_GARBAGE]},
        "users[1] (bob): signing_certificates[0]: certificate_body",
    ),
    roster_case("default-profile", {"name": "DEFAULT", "access_key": True}, "users[1] (DEFAULT): name: 'DEFAULT'"),
    roster_case("concurrency", {"name": "bob"}, "concurrency must be from 1 to", concurrency=0),
    roster_case("mfa-issuer", {"name": "bob", "mfa": True}, "mfa_issuer must be", mfa_issuer="Acme:Corp"),
    roster_case(
        "relative-dir",
        {"name": "bob"},
        "credentials_dir 'relative/dir' must be an absolute path",
        credentials_dir="relative/dir",
    ),
    roster_case("unknown-option", {"name": "bob"}, "colour", colour="red"),
]

# Checked by ansible's argument spec of the entry (keys, types, choices) before the roster's own checks.
TYPED_ROSTER_CASES = [
    roster_case("unknown-key", {"name": "bob", "colour": "red"}, "users[1] (bob)", "colour"),
    roster_case("mfa-type", {"name": "bob", "mfa": "maybe"}, "users[1] (bob)", "mfa"),
    roster_case("state-choice", {"name": "bob", "state": "gone"}, "users[1] (bob)", "state"),
    roster_case("name-missing", {"access_key": True}, "users[1]", "name"),
]


def failure_messages(
    ansible_playbook: PlaybookRunner, proxy: CountingProxy, cases: list[Case], workdir: Path
) -> dict[str, str]:
    """Run every case as a task in one playbook, each in a block whose rescue records the failure message."""
    tasks = []
    for case in cases:
        # The case ID is a plain word; Jinja's braces are doubled in the f-strings.
        record = f"{{{{ bad_input | combine({{'{case.id}': ansible_failed_result.msg | default('no message')}}) }}}}"
        passed = f"{{{{ bad_input | combine({{'{case.id}': 'DID NOT FAIL'}}) }}}}"
        tasks.append(
            {
                "name": f"Case {case.id}",
                "block": [
                    {"name": f"{case.id}: {case.module}", f"techsquawks.iam.{case.module}": case.args},
                    {"name": f"{case.id}: not refused", "ansible.builtin.set_fact": {"bad_input": passed}},
                ],
                "rescue": [{"name": f"{case.id}: refused", "ansible.builtin.set_fact": {"bad_input": record}}],
            }
        )
    results = workdir / "bad-input.json"
    tasks.append(
        {
            "name": "Write the failure messages",
            "ansible.builtin.copy": {"content": "{{ bad_input | ansible.builtin.to_json }}", "dest": str(results)},
        }
    )
    play_vars = {"bad_input": {}, "never_written": str(workdir / "never-written")}
    play = [{"name": "Bad input", "hosts": "localhost", "gather_facts": False, "vars": play_vars, "tasks": tasks}]
    playbook = workdir / "bad-input.yml"
    playbook.write_text(json.dumps(play, indent=1))
    ansible_playbook(playbook, endpoint=proxy.endpoint)
    return json.loads(results.read_text())


def unmatched(cases: list[Case], messages: dict[str, str]) -> dict[str, str]:
    """The cases whose message lacks an expected fragment, with the message."""
    return {
        case.id: messages.get(case.id, "")
        for case in cases
        if not all(f in messages.get(case.id, "") for f in case.expected)
    }


def test_bad_input_to_every_module_and_the_roster_fails_naming_the_option_before_any_aws_call(
    ansible_playbook: PlaybookRunner, aws_proxy: CountingProxy, tmp_path: Path
) -> None:
    cases = MODULE_CASES + ROSTER_CASES
    assert len({case.id for case in cases}) == len(cases)
    assert {case.module for case in cases} >= {
        "iam_user",
        "iam_access_key",
        "iam_login_profile",
        "iam_mfa_device",
        "iam_ssh_key",
        "iam_signing_certificate",
        "iam_password_policy",
        "iam_user_info",
        "iam_access_key_info",
        "iam_roster",
    }

    messages = failure_messages(ansible_playbook, aws_proxy, cases, tmp_path)

    print(f"\n{len(cases)} invalid inputs refused; AWS requests: {sum(aws_proxy.counts().values())}")
    assert sorted(messages) == sorted(case.id for case in cases)
    assert [case.id for case in cases if messages[case.id] == "DID NOT FAIL"] == []
    assert unmatched(cases, messages) == {}
    assert aws_proxy.counts() == {}
    assert not (tmp_path / "never-written").exists()


def test_a_wrongly_typed_roster_entry_is_named_in_the_message_before_any_aws_call(
    ansible_playbook: PlaybookRunner, aws_proxy: CountingProxy, tmp_path: Path
) -> None:
    messages = failure_messages(ansible_playbook, aws_proxy, TYPED_ROSTER_CASES, tmp_path)

    assert aws_proxy.counts() == {}
    assert unmatched(TYPED_ROSTER_CASES, messages) == {}


# The role through playbooks/onboard.yml: one inventory host per case (each its own account, credentials
# directory and variables), so that one ansible-playbook run refuses them all side by side.
ROLE_CASES: dict[str, tuple[dict[str, t.Any], tuple[str, ...]]] = {
    "role-name-dot": ({"onboarding_users": [{"name": "."}]}, ("users[0] (.): name '.' cannot name a directory",)),
    "role-name-dotdot": (
        {"onboarding_users": [{"name": "alice"}, {"name": "..", "access_key": True}]},
        ("users[1] (..): name '..' cannot name a directory",),
    ),
    "role-tags-51": (
        {"onboarding_users": [{"name": "alice", "tags": MANY_TAGS}]},
        ("users[0] (alice): tags has 51 tags",),
    ),
    "role-console-typo": (
        {"onboarding_users": [{"name": "alice", "console": {"password_lenght": 15}}]},
        ("users[0] (alice): console: unknown key password_lenght",),
    ),
    "role-path": ({"onboarding_users": [{"name": "alice", "path": "staff"}]}, ("users[0] (alice): path 'staff'",)),
    "role-ssh-body": (
        {"onboarding_users": [{"name": "alice", "ssh_public_keys": ["not a key"]}]},
        ("users[0] (alice): ssh_public_keys[0]: public_key is not a usable SSH public key",),
    ),
    "role-vault-empty-source": (
        {"onboarding_users": [{"name": "alice", "access_key": True}], "onboarding_vault_id": "ops@"},
        ("vault_id:",),
    ),
    "role-concurrency-type": ({"onboarding_concurrency": "many"}, ("onboarding_concurrency",)),
    "role-concurrency-range": ({"onboarding_concurrency": 0}, ("concurrency must be from 1 to",)),
    "role-users-type": ({"onboarding_users": "alice"}, ("onboarding_users",)),
    "role-mfa-issuer": ({"onboarding_mfa_issuer": "Acme:Corp"}, ("mfa_issuer must be",)),
    "role-user-dir-symlink": (
        {"onboarding_users": [{"name": "alice", "access_key": True}]},
        ("alice: ", "is a symbolic link"),
    ),
    "role-dir-is-file": ({}, ("exists and is not a directory",)),
}
# Entries that ansible's validation of the role's argument spec refuses first.
ROLE_ENTRY_SPEC_CASES: dict[str, tuple[dict[str, t.Any], tuple[str, ...]]] = {
    "role-entry-unknown-key": (
        {"onboarding_users": [{"name": "alice"}, {"name": "bob", "colour": "red"}]},
        ("users[1] (bob)", "colour"),
    ),
    "role-entry-mfa-type": ({"onboarding_users": [{"name": "alice"}, {"name": "bob", "mfa": "maybe"}]}, ("bob", "mfa")),
    "role-entry-state": ({"onboarding_users": [{"name": "bob", "state": "gone"}]}, ("users[0] (bob)", "state")),
}
FATAL_RE = re.compile(r"^fatal: \[(?P<host>[^\]]+)\]: FAILED! => (?P<result>\{.*\})$", re.MULTILINE)


def refused_by_onboard_playbook(
    ansible_playbook: PlaybookRunner,
    proxy: CountingProxy,
    cases: dict[str, tuple[dict[str, t.Any], tuple[str, ...]]],
    workdir: Path,
) -> dict[str, str]:
    """Run playbooks/onboard.yml once over one account host per case; every host's failure message."""
    hosts = {}
    for case, (variables, _expected) in cases.items():
        root = workdir / case
        hosts[case] = {"onboarding_users": [{"name": "alice"}], "onboarding_credentials_dir": str(root), **variables}
    if "role-user-dir-symlink" in cases:
        (workdir / "role-user-dir-symlink").mkdir(mode=0o700)
        (workdir / "elsewhere").mkdir(mode=0o700)
        (workdir / "role-user-dir-symlink" / "alice").symlink_to(workdir / "elsewhere")
    if "role-dir-is-file" in cases:
        (workdir / "role-dir-is-file").write_text("not a directory\n")
    inventory = workdir / "accounts.json"
    inventory.write_text(json.dumps({"aws_accounts": {"hosts": hosts}}))
    # One line of JSON per result, so that each host's failure can be read back.
    oneline = {"ANSIBLE_CALLBACK_RESULT_FORMAT": "json", "ANSIBLE_CALLBACK_FORMAT_PRETTY": "false"}
    result = ansible_playbook(
        ONBOARD, "-i", str(inventory), "-f", "20", endpoint=proxy.endpoint, env=oneline, check=False
    )
    assert result.rc != 0
    assert {host: counters["failed"] for host, counters in recaps(result).items()} == dict.fromkeys(cases, 1)
    messages = {}
    for match in FATAL_RE.finditer(result.stdout):
        failed = json.loads(match["result"])
        messages[match["host"]] = " ".join([failed.get("msg", ""), *failed.get("argument_errors", [])])
    return messages


def test_bad_input_to_the_role_through_the_onboard_playbook_fails_before_any_aws_call(
    ansible_playbook: PlaybookRunner, aws_proxy: CountingProxy, tmp_path: Path
) -> None:
    messages = refused_by_onboard_playbook(ansible_playbook, aws_proxy, ROLE_CASES, tmp_path)

    missing = {
        case: messages.get(case, "")
        for case, (_variables, expected) in ROLE_CASES.items()
        if not all(fragment in messages.get(case, "") for fragment in expected)
    }
    assert missing == {}
    assert aws_proxy.counts() == {}
    assert list((tmp_path / "elsewhere").iterdir()) == []
    total_cases = len(MODULE_CASES) + len(ROSTER_CASES) + len(ROLE_CASES)
    print(f"\n{len(ROLE_CASES)} role inputs refused ({total_cases} invalid inputs in all); AWS requests: 0")


def test_an_entry_the_role_argument_spec_refuses_is_named_in_the_message(
    ansible_playbook: PlaybookRunner, aws_proxy: CountingProxy, tmp_path: Path
) -> None:
    messages = refused_by_onboard_playbook(ansible_playbook, aws_proxy, ROLE_ENTRY_SPEC_CASES, tmp_path)

    assert aws_proxy.counts() == {}
    missing = {
        case: messages.get(case, "")
        for case, (_variables, expected) in ROLE_ENTRY_SPEC_CASES.items()
        if not all(fragment in messages.get(case, "") for fragment in expected)
    }
    assert missing == {}
