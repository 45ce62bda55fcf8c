"""The onboarding role and playbooks, run by ansible-playbook against moto_server; state read with boto3."""

from __future__ import annotations

import configparser
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.certificates import self_signed_certificate

ROOT = Path(__file__).resolve().parents[2]
ONBOARD = ROOT / "playbooks" / "onboard.yml"
OFFBOARD = ROOT / "playbooks" / "offboard.yml"
VENV_BIN = Path(sys.executable).parent
SANDBOX_ACCOUNT = "111111111111"


def recaps(result) -> dict[str, dict[str, int]]:
    """Every host's PLAY RECAP counters (the account host, one host per user, localhost)."""
    lines = result.stdout.split("PLAY RECAP")[-1].splitlines()[1:]
    counters = {}
    for line in lines:
        if ":" in line and "ok=" in line:
            host, values = line.split(" : ", 1)
            counters[host.strip()] = {k: int(v) for k, v in (part.split("=") for part in values.split())}
    return counters


def total(result, counter: str) -> int:
    return sum(host[counter] for host in recaps(result).values())


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def ssh_public_key() -> str:
    public = rsa_key().public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return public.decode() + " bob@laptop"


def mixed_roster(policy_arn: str) -> list[dict]:
    return [
        {
            "name": "alice",
            "path": "/staff/",
            "tags": {"team": "platform"},
            "groups": ["developers"],
            "access_key": True,
            "console": {"password_length": 16},
            "mfa": True,
        },
        {"name": "bob", "access_key": {"rotate_after_days": 90}, "ssh_public_keys": [ssh_public_key()]},
        {"name": "carol", "console": True, "signing_certificates": [self_signed_certificate("carol")]},
        {"name": "dave", "path": "/contractors/"},
        {"name": "erin", "access_key": True, "managed_policies": [policy_arn]},
        {"name": "frank", "state": "absent"},
        {"name": "gina", "access_key": False, "console": False, "mfa": False},
    ]


def credentials_in(path: Path, profile: str) -> tuple[str, str]:
    parser = configparser.ConfigParser()
    parser.read_string(path.read_text())
    return parser[profile]["aws_access_key_id"], parser[profile]["aws_secret_access_key"]


def secrets_under(directory: Path) -> list[str]:
    """Every secret value in the delivered credential files (plain files: credentials, JSON)."""
    found = []
    for path in directory.rglob("*"):
        if path.name == "credentials":
            found.append(credentials_in(path, path.parent.name)[1])
        elif path.suffix == ".json":
            data = json.loads(path.read_text())
            found += [data[key] for key in ("password", "otpauth_uri", "base32_seed") if key in data]
    return found


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def user_names(iam) -> set[str]:
    return {user["UserName"] for user in iam.list_users()["Users"]}


@pytest.fixture
def roster(iam) -> list[dict]:
    iam.create_group(GroupName="developers")
    policy = iam.create_policy(
        PolicyName="read-reports",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
            }
        ),
    )
    # gina already has an access key and a console password, which her entry takes away.
    iam.create_user(UserName="gina")
    iam.create_access_key(UserName="gina")
    iam.create_login_profile(UserName="gina", Password="Original-Passw0rd!")
    return mixed_roster(policy["Policy"]["Arn"])


def test_mixed_roster_converges_delivers_private_working_credentials_and_reruns_without_change(
    ansible_playbook, iam, sts_for, roster, tmp_path
):
    creds = tmp_path / "credentials"
    extra = {"onboarding_users": roster, "onboarding_credentials_dir": str(creds)}

    first = ansible_playbook(ONBOARD, "-vvv", "-f", "6", extra_vars=extra)

    # AWS state, read independently.
    assert user_names(iam) == {"alice", "bob", "carol", "dave", "erin", "gina"}
    alice = iam.get_user(UserName="alice")["User"]
    assert alice["Path"] == "/staff/"
    assert {tag["Key"]: tag["Value"] for tag in alice["Tags"]} == {"team": "platform"}
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName="alice")["Groups"]] == ["developers"]
    assert iam.get_login_profile(UserName="alice")["LoginProfile"]["UserName"] == "alice"
    assert [d["SerialNumber"] for d in iam.list_mfa_devices(UserName="alice")["MFADevices"]] == [
        "arn:aws:iam::123456789012:mfa/alice"
    ]
    assert len(iam.list_ssh_public_keys(UserName="bob")["SSHPublicKeys"]) == 1
    assert len(iam.list_signing_certificates(UserName="carol")["Certificates"]) == 1
    assert [p["PolicyName"] for p in iam.list_attached_user_policies(UserName="erin")["AttachedPolicies"]] == [
        "read-reports"
    ]
    for name in ("alice", "bob", "erin"):
        assert len(iam.list_access_keys(UserName=name)["AccessKeyMetadata"]) == 1
    assert iam.list_access_keys(UserName="dave")["AccessKeyMetadata"] == []
    assert iam.list_access_keys(UserName="gina")["AccessKeyMetadata"] == []
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_login_profile(UserName="gina")

    # Delivered credentials: private files in private directories, one per user with a new secret.
    assert sorted(p.name for p in creds.iterdir()) == ["alice", "bob", "carol", "erin", "onboarding-report.md"]
    assert sorted(p.name for p in (creds / "alice").iterdir()) == ["console.json", "credentials", "mfa.json"]
    assert mode(creds) == 0o700
    for path in creds.rglob("*"):
        assert mode(path) == (0o700 if path.is_dir() else 0o600), path

    # The seed page's proof: `aws sts get-caller-identity` with the delivered key names the user.
    key_id, secret = credentials_in(creds / "erin" / "credentials", "erin")
    assert sts_for(key_id, secret).get_caller_identity()["Arn"] == "arn:aws:iam::123456789012:user/erin"
    assert json.loads((creds / "carol" / "console.json").read_text())["user_name"] == "carol"

    # Not one secret in the most verbose output.
    secrets = secrets_under(creds)
    assert len(secrets) == 7  # 3 access keys, 2 passwords, an MFA URI and its seed
    leaked = [secret for secret in secrets if secret in first.output]
    assert leaked == []

    # The summary, in the output and as a report.
    report = (creds / "onboarding-report.md").read_text()
    assert "| localhost | alice " in report
    assert "console password (reset required)" in report
    assert re.search(r"\| gina +\| - +\| - +\| access key \w+, console password +\| - +\|", first.stdout)
    assert "7 user(s): 6 with changes, 1 unchanged." in first.stdout

    delivered = {path: path.read_bytes() for path in creds.rglob("*") if path.is_file()}
    second = ansible_playbook(ONBOARD, "-f", "6", extra_vars=extra)

    assert total(second, "changed") == 0
    assert total(second, "failed") == 0
    assert second.mutating_calls == []
    assert {path: path.read_bytes() for path in creds.rglob("*") if path.is_file()} == delivered
    assert "7 user(s): 0 with changes, 7 unchanged." in second.stdout
    # One iam_roster task for the whole account, and the summary is the last thing printed.
    assert second.stdout.count("TASK [techsquawks.iam.onboarding : Converge every user of the roster]") == 1
    assert second.stdout.split("TASK [")[-1].startswith("techsquawks.iam.onboarding : Show what the run did]")
    # Reads are the minimum: GetUser for every user, plus one read per aspect an entry names.
    reads = sorted(line.split()[-1] for line in second.api_calls if line.startswith("iam "))
    assert reads.count("GetUser") == 7
    # alice 4 (groups, key, console, MFA), bob 3 (key, SSH list + one key), carol 2, erin 2, gina 3, dave and frank 0.
    assert len(reads) == 7 + 14, reads

    # Drift made outside Ansible is repaired: a deleted key (delivered anew), a lost password, a changed tag.
    old_key = iam.list_access_keys(UserName="erin")["AccessKeyMetadata"][0]["AccessKeyId"]
    iam.delete_access_key(UserName="erin", AccessKeyId=old_key)
    iam.delete_login_profile(UserName="alice")
    iam.tag_user(UserName="alice", Tags=[{"Key": "team", "Value": "sales"}])
    third = ansible_playbook(ONBOARD, "-f", "6", extra_vars=extra)

    new_key, new_secret = credentials_in(creds / "erin" / "credentials", "erin")
    assert new_key != old_key
    assert sts_for(new_key, new_secret).get_caller_identity()["Arn"] == "arn:aws:iam::123456789012:user/erin"
    assert iam.get_login_profile(UserName="alice")["LoginProfile"]["UserName"] == "alice"
    assert {tag["Key"]: tag["Value"] for tag in iam.list_user_tags(UserName="alice")["Tags"]} == {"team": "platform"}
    assert "7 user(s): 2 with changes, 5 unchanged." in third.stdout


def test_check_mode_changes_nothing_in_aws_or_on_disk(ansible_playbook, iam, roster, tmp_path):
    creds = tmp_path / "credentials"
    iam.create_user(UserName="frank")

    result = ansible_playbook(
        ONBOARD, "--check", extra_vars={"onboarding_users": roster, "onboarding_credentials_dir": str(creds)}
    )

    assert result.mutating_calls == []
    assert user_names(iam) == {"frank", "gina"}
    assert len(iam.list_access_keys(UserName="gina")["AccessKeyMetadata"]) == 1
    assert not creds.exists()
    assert "Check mode: nothing was changed" in result.stdout
    assert total(result, "changed") > 0


def test_absent_entry_offboards_the_user_fully_and_removes_its_credentials(ansible_playbook, iam, tmp_path):
    creds = tmp_path / "credentials"
    roster = [
        {"name": "alice", "access_key": True, "console": True, "mfa": True, "ssh_public_keys": [ssh_public_key()]},
        {"name": "bob", "access_key": True},
        {"name": "carol", "access_key": True},
    ]
    extra = {"onboarding_users": roster, "onboarding_credentials_dir": str(creds)}
    ansible_playbook(ONBOARD, extra_vars=extra)
    assert (creds / "alice" / "credentials").exists()

    roster[0]["state"] = "absent"
    checked = ansible_playbook(ONBOARD, "--check", extra_vars=extra)

    assert checked.mutating_calls == []
    assert user_names(iam) == {"alice", "bob", "carol"}
    assert (creds / "alice" / "credentials").exists()

    offboarded = ansible_playbook(ONBOARD, extra_vars=extra)

    assert user_names(iam) == {"bob", "carol"}
    assert iam.list_virtual_mfa_devices()["VirtualMFADevices"] == []
    assert not (creds / "alice").exists()
    removed = "user, console password, 1 access key, 1 SSH key, 1 MFA device, credentials directory"
    assert re.search(rf"\| alice +\| - +\| - +\| {removed} +\| - +\|", offboarded.stdout)
    assert total(ansible_playbook(ONBOARD, extra_vars=extra), "changed") == 0

    # offboard.yml takes names: no roster needed.
    ansible_playbook(OFFBOARD, extra_vars={"offboard_users": "bob", "onboarding_credentials_dir": str(creds)})

    assert user_names(iam) == {"carol"}
    assert not (creds / "bob").exists()
    assert (creds / "carol" / "credentials").exists()


def test_vault_encrypts_each_new_secret_and_only_ansible_vault_can_read_it(ansible_playbook, iam, sts_for, tmp_path):
    creds = tmp_path / "credentials"
    password_file = tmp_path / "vault-password"
    password_file.write_text("correct horse battery staple\n")
    extra = {
        "onboarding_users": [{"name": "alice", "access_key": True, "console": True, "mfa": True}],
        "onboarding_credentials_dir": str(creds),
        "onboarding_vault_id": f"onboarding@{password_file}",
    }

    first = ansible_playbook(ONBOARD, "-vvv", extra_vars=extra)

    files = sorted(p.name for p in (creds / "alice").iterdir())
    assert files == ["console.json.vault", "credentials.vault", "mfa.json.vault"]
    plain = {}
    for name in files:
        path = creds / "alice" / name
        assert mode(path) == 0o600
        assert path.read_text().startswith("$ANSIBLE_VAULT;1.2;AES256;onboarding\n")
        view = subprocess.run(
            [str(VENV_BIN / "ansible-vault"), "view", "--vault-password-file", str(password_file), str(path)],
            capture_output=True,
            text=True,
            check=True,
        )
        plain[name] = view.stdout
    assert mode(creds / "alice") == 0o700

    parser = configparser.ConfigParser()
    parser.read_string(plain["credentials.vault"])
    key_id, secret = parser["alice"]["aws_access_key_id"], parser["alice"]["aws_secret_access_key"]
    assert sts_for(key_id, secret).get_caller_identity()["Arn"] == "arn:aws:iam::123456789012:user/alice"
    password = json.loads(plain["console.json.vault"])["password"]
    mfa = json.loads(plain["mfa.json.vault"])
    otpauth, seed = mfa["otpauth_uri"], mfa["base32_seed"]
    assert otpauth.startswith("otpauth://totp/")
    assert f"secret={seed}" in otpauth
    assert [s for s in (secret, password, otpauth, seed) if s in first.output] == []

    encrypted = {name: (creds / "alice" / name).read_bytes() for name in files}
    second = ansible_playbook(ONBOARD, extra_vars=extra)

    assert total(second, "changed") == 0
    assert {name: (creds / "alice" / name).read_bytes() for name in files} == encrypted


def test_accounts_in_an_inventory_are_onboarded_side_by_side_one_through_an_assumed_role(
    ansible_playbook, moto, iam, tmp_path
):
    inventory = tmp_path / "accounts.yml"
    accounts = {
        "main": {"aws_endpoint_url": moto.endpoint, "onboarding_credentials_dir": str(tmp_path / "main")},
        "sandbox": {
            "aws_endpoint_url": moto.endpoint,
            "aws_role_arn": f"arn:aws:iam::{SANDBOX_ACCOUNT}:role/iam-onboarding",
            "onboarding_credentials_dir": str(tmp_path / "sandbox"),
        },
    }
    inventory.write_text(json.dumps({"aws_accounts": {"hosts": accounts}}))
    roster = {"onboarding_users": [{"name": "alice", "access_key": True}, {"name": "bob"}]}

    # The fixture's -i localhost, stays: the play picks the inventory's aws_accounts group.
    result = ansible_playbook(ONBOARD, "-i", str(inventory), "-vvv", extra_vars=roster)

    assert user_names(iam) == {"alice", "bob"}
    sandbox = iam_in_account(moto.endpoint, SANDBOX_ACCOUNT)
    assert user_names(sandbox) == {"alice", "bob"}
    for account in ("main", "sandbox"):
        assert (tmp_path / account / "alice" / "credentials").exists()
        assert f"| {account} " in result.stdout
    assert set(recaps(result)) == {"main", "sandbox"}
    # The role's temporary credentials never show, even at -vvv (moto's session tokens start like this).
    assert "FQoGZXIvYXdzEBYaD" not in result.output

    # Two accounts writing the same files is refused before anything changes.
    accounts["sandbox"]["onboarding_credentials_dir"] = str(tmp_path / "main")
    inventory.write_text(json.dumps({"aws_accounts": {"hosts": accounts}}))
    clash = ansible_playbook(ONBOARD, "-i", str(inventory), extra_vars=roster, check=False)

    assert clash.rc != 0
    assert "give each account host its own onboarding_credentials_dir" in clash.output
    assert clash.mutating_calls == []


def iam_in_account(endpoint: str, account: str):
    """A boto3 IAM client working in another moto account, through an assumed role."""
    kwargs = {"endpoint_url": endpoint, "region_name": "us-east-1"}
    sts = boto3.client("sts", aws_access_key_id="testing", aws_secret_access_key="testing", **kwargs)
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/test", RoleSessionName="test")["Credentials"]
    return boto3.client(
        "iam",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        **kwargs,
    )


def test_role_included_in_one_play_converges_users_one_after_another(ansible_playbook, target, iam, tmp_path):
    creds = tmp_path / "credentials"
    extra = {
        "onboarding_users": [{"name": "alice", "access_key": True}, {"name": "bob", "path": "/ops/"}],
        "onboarding_credentials_dir": str(creds),
    }

    first = ansible_playbook(target("onboarding", "role_in_one_play.yml"), extra_vars=extra)

    assert user_names(iam) == {"alice", "bob"}
    assert (creds / "alice" / "credentials").exists()
    assert "2 user(s): 2 with changes, 0 unchanged." in first.stdout
    assert ansible_playbook(target("onboarding", "role_in_one_play.yml"), extra_vars=extra).recap()["changed"] == 0


def test_a_failing_user_does_not_stop_the_others_and_is_named_in_the_summary(ansible_playbook, iam, tmp_path):
    roster = [{"name": "alice", "access_key": True}, {"name": "bob", "groups": ["no-such-group"]}]

    result = ansible_playbook(
        ONBOARD, extra_vars={"onboarding_users": roster, "onboarding_credentials_dir": str(tmp_path)}, check=False
    )

    assert result.rc != 0
    assert "Failed to add user bob to group no-such-group" in result.output
    assert len(iam.list_access_keys(UserName="alice")["AccessKeyMetadata"]) == 1
    assert "2 user(s): 1 with changes, 0 unchanged, 1 FAILED (localhost/bob)." in result.stdout
    assert re.search(r"\| localhost +\| bob +\|.*\| FAILED \(NoSuchEntity\) +\|", result.stdout)
    assert "1 of 2 users failed: bob: NoSuchEntity: Failed to add user bob to group no-such-group" in result.stdout
    # The summary still comes last, after the failed task.
    assert result.stdout.split("TASK [")[-1].startswith("techsquawks.iam.onboarding : Show what the run did]")


def test_invalid_entry_fails_before_any_aws_call(ansible_playbook, tmp_path):
    # The whole roster is checked once, before any user is converged: bob's valid entry waits too.
    result = ansible_playbook(
        ONBOARD,
        extra_vars={
            "onboarding_users": [
                {"name": "alice", "console": {"password_lenght": 15}},
                {"name": "bob", "access_key": True},
            ],
            "onboarding_credentials_dir": str(tmp_path),
        },
        check=False,
    )

    assert result.rc != 0
    assert "users[0] (alice): console: unknown key password_lenght (known: password_length" in result.output
    assert result.api_calls == []


def test_vault_mode_with_a_missing_password_file_fails_before_any_aws_call(ansible_playbook, tmp_path):
    extra = {
        "onboarding_users": [{"name": "alice", "access_key": True, "console": True, "mfa": True}],
        "onboarding_credentials_dir": str(tmp_path / "credentials"),
        "onboarding_vault_id": f"onboarding@{tmp_path}/no-such-password-file",
    }

    result = ansible_playbook(ONBOARD, extra_vars=extra, check=False)

    assert result.rc != 0
    assert "vault_id: the vault password file" in result.output
    assert result.api_calls == []
    assert not (tmp_path / "credentials").exists()


def test_empty_vault_password_source_fails_before_any_aws_call(ansible_playbook, tmp_path):
    empty = tmp_path / "empty-password"
    empty.write_text("")
    extra = {
        "onboarding_users": [{"name": "alice", "access_key": True}],
        "onboarding_credentials_dir": str(tmp_path / "credentials"),
        "onboarding_vault_password_file": str(empty),
    }

    result = ansible_playbook(ONBOARD, extra_vars=extra, check=False)

    assert result.rc != 0
    assert "vault_password_file:" in result.output
    assert result.api_calls == []


def progress_counts(text: str) -> list[tuple[int, int, int, int]]:
    """(done, total, changed, failed) of every progress line in ``text``."""
    pattern = r"iam_roster \[[^\]]*\]: (\d+)/(\d+) users done, (\d+) changed, (\d+) failed"
    return [tuple(int(n) for n in match) for match in re.findall(pattern, text)]


def large_roster(count: int) -> list[dict]:
    return [
        {"name": f"person-{n:03}", "path": "/people/", "tags": {"team": "t"}, "access_key": True} for n in range(count)
    ]


def test_a_large_roster_prints_progress_lines_that_grow_to_the_total(ansible_playbook, iam, tmp_path):
    extra = {
        "onboarding_users": large_roster(60),
        "onboarding_credentials_dir": str(tmp_path),
        "onboarding_batch_size": 20,
    }

    result = ansible_playbook(ONBOARD, extra_vars=extra)

    counts = progress_counts(result.stdout)
    assert len(counts) >= 2, result.stdout
    done = [count[0] for count in counts]
    assert done == sorted(done)
    assert counts[-1] == (60, 60, 60, 0)
    assert {count[1] for count in counts} == {60}
    assert "60 user(s): 60 with changes, 0 unchanged." in result.stdout
    assert len(iam.list_users(PathPrefix="/people/")["Users"]) == 60

    checked = ansible_playbook(ONBOARD, "--check", extra_vars=extra)
    assert re.search(
        r"iam_roster \[localhost\] \(check mode\): 60/60 users checked, 0 would change, 0 failed", checked.stdout
    )


def test_progress_lines_reach_ansible_runner_job_events(moto, iam, tmp_path, monkeypatch):
    import ansible_runner

    # ansible-runner looks ansible-playbook up on PATH, as AWX's execution environments have it.
    monkeypatch.setenv("PATH", f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}")

    private = tmp_path / "runner"
    (private / "env").mkdir(parents=True)
    envvars = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": moto.endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
        "ANSIBLE_COLLECTIONS_PATH": str(ROOT / ".tmp" / "collections"),
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
    }
    runner = ansible_runner.run(
        private_data_dir=str(private),
        playbook=str(ONBOARD),
        inventory="localhost ansible_connection=local",
        envvars=envvars,
        extravars={
            "onboarding_users": large_roster(60),
            "onboarding_credentials_dir": str(tmp_path / "credentials"),
            "onboarding_batch_size": 20,
        },
        quiet=True,
    )

    assert runner.status == "successful", runner.stdout.read()
    lines = "\n".join(event.get("stdout", "") for event in runner.events)
    counts = progress_counts(lines)
    assert len(counts) >= 2
    assert counts[-1] == (60, 60, 60, 0)
    # The artifacts AWX keeps hold no secret.
    _key_id, secret = credentials_in(tmp_path / "credentials" / "person-000" / "credentials", "person-000")
    kept = [path for path in (private / "artifacts").rglob("*") if path.is_file()]
    assert any(path.name == "stdout" for path in kept), "ansible-runner keeps the job's output among its artifacts"
    for path in kept:
        assert secret not in path.read_text(errors="replace"), path


def test_diff_shows_one_readable_before_after_per_changed_user(ansible_playbook, iam, tmp_path):
    extra = {
        "onboarding_users": [{"name": "alice", "tags": {"team": "platform"}}, {"name": "bob"}],
        "onboarding_credentials_dir": str(tmp_path),
    }
    ansible_playbook(ONBOARD, extra_vars=extra)
    extra["onboarding_users"][0] = {"name": "alice", "tags": {"team": "sales"}, "access_key": True}

    result = ansible_playbook(ONBOARD, "--diff", extra_vars=extra)

    assert "--- before: user alice" in result.stdout
    assert "+++ after: user alice" in result.stdout
    assert "user bob" not in result.stdout
    assert "-    team: platform" in result.stdout
    assert "+    team: sales" in result.stdout
    assert re.search(r"\+  - access_key_id: AKIA\w+\n\+    status: Active", result.stdout)
    secret = credentials_in(tmp_path / "alice" / "credentials", "alice")[1]
    assert secret not in result.output


def test_drift_and_require_mfa_are_previewed_then_remediated_through_the_role(ansible_playbook, iam, tmp_path):
    """Roster drift under the owned path and require_mfa: deny, through playbooks/onboard.yml: --check first."""
    creds = tmp_path / "credentials"
    for name, path in (("stale", "/people/"), ("kept", "/people/"), ("elsewhere", "/services/")):
        iam.create_user(UserName=name, Path=path)
    iam.create_login_profile(UserName="kept", Password="Aa1!" + "x" * 16)
    extra = {
        "onboarding_users": [{"name": "kept", "path": "/people/", "require_mfa": "deny"}],
        "onboarding_credentials_dir": str(creds),
        "onboarding_owned_path": "/people/",
        "onboarding_offboard_unlisted": True,
    }

    preview = ansible_playbook(ONBOARD, "--check", extra_vars=extra)
    assert preview.mutating_calls == []
    assert "- stale (/people/): would be offboarded" in preview.stdout
    assert "MFA required (inline policy techsquawks-iam-require-mfa" in preview.stdout
    assert user_names(iam) == {"stale", "kept", "elsewhere"}

    applied = ansible_playbook(ONBOARD, extra_vars=extra)
    assert "- stale (/people/): offboarded" in applied.stdout
    assert "console access without MFA (require_mfa: deny)" in applied.stdout
    assert user_names(iam) == {"kept", "elsewhere"}
    assert iam.list_user_policies(UserName="kept")["PolicyNames"] == ["techsquawks-iam-require-mfa"]

    again = ansible_playbook(ONBOARD, extra_vars=extra)
    assert again.mutating_calls == []
    assert total(again, "changed") == 0
