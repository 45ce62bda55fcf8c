"""The collection on the ansible-core that runs the tests: make test-matrix runs this file on the oldest
supported version (meta/runtime.yml's requires_ansible) and on the newest, each in its own virtualenv."""

from __future__ import annotations

import configparser
import json
import re
import subprocess
import sys
from pathlib import Path

from ansible.release import __version__ as ANSIBLE_CORE

VENV_BIN = Path(sys.executable).parent


def result_of(run) -> dict:
    match = re.search(r'"msg": "RESULT=(.*)"\n', run.stdout)
    assert match, run.output
    return json.loads(match.group(1).encode().decode("unicode_escape"))


def test_the_roster_action_plugin_and_modules_converge_and_rerun_unchanged(
    ansible_playbook, target, iam, sts_for, tmp_path
):
    creds = tmp_path / "credentials"
    password_file = tmp_path / "vault-password"
    password_file.write_text("correct horse battery staple\n")
    extra = {
        "onboarding_users": [{"name": "alice", "path": "/staff/", "access_key": True, "console": True}],
        "onboarding_credentials_dir": str(creds),
        "onboarding_vault_id": f"onboarding@{password_file}",
        "module_user": "bob",
    }
    playbook = target("supported_versions", "roster_and_modules.yml")

    first = ansible_playbook(playbook, "--diff", "-vvv", extra_vars=extra)

    # The playbook ran on this virtualenv's ansible-core, the one make test-matrix installed.
    result = result_of(first)
    assert result == {"ansible_core": ANSIBLE_CORE, "created": True, "users": ["alice", "bob"]}
    assert iam.get_user(UserName="alice")["User"]["Path"] == "/staff/"
    assert iam.get_user(UserName="bob")["User"]["Path"] == "/modules/"
    # The action plugin's diff, YAML text per user (tagged strings on 2.19, plain ones before).
    assert "+++ after: user alice" in first.stdout
    assert "path: /staff/" in first.stdout

    # Each secret written through ansible-vault, readable with this version's ansible-vault only.
    files = sorted(path.name for path in (creds / "alice").iterdir())
    assert files == ["console.json.vault", "credentials.vault"]
    plain = {}
    for name in files:
        path = creds / "alice" / name
        assert path.read_text().startswith("$ANSIBLE_VAULT;1.2;AES256;onboarding\n")
        view = [str(VENV_BIN / "ansible-vault"), "view", "--vault-password-file", str(password_file), str(path)]
        plain[name] = subprocess.run(view, capture_output=True, text=True, check=True).stdout
    parser = configparser.ConfigParser()
    parser.read_string(plain["credentials.vault"])
    key_id, secret = parser["alice"]["aws_access_key_id"], parser["alice"]["aws_secret_access_key"]
    assert sts_for(key_id, secret).get_caller_identity()["Arn"] == "arn:aws:iam::123456789012:user/staff/alice"
    password = json.loads(plain["console.json.vault"])["password"]
    assert [leaked for leaked in (secret, password) if leaked in first.output] == []

    encrypted = {name: (creds / "alice" / name).read_bytes() for name in files}
    second = ansible_playbook(playbook, extra_vars=extra)

    assert second.recap()["changed"] == 0
    assert result_of(second)["created"] is False
    assert second.mutating_calls == []
    assert {name: (creds / "alice" / name).read_bytes() for name in files} == encrypted
