"""iam_ssh_key and iam_signing_certificate driven by ansible-playbook against moto_server: the converge run they
share, written once and run for each (targets/<module>/converge.yml); state read back with boto3.

Each module's own lifecycle (formats, refusals, deletion) is in test_iam_ssh_key.py and
test_iam_signing_certificate.py.
"""

from __future__ import annotations

import base64
import json
import re

import pytest

from tests.uploaded_kinds import KINDS, Kind

USER = "uploaded-body-user"


def result_of(run) -> dict:
    match = re.search(r"RESULT=([A-Za-z0-9+/=]+)", run.stdout)
    assert match, run.output
    return json.loads(base64.b64decode(match.group(1)))


@pytest.mark.parametrize("kind", KINDS, ids=[kind.name for kind in KINDS])
def test_converge_predicts_in_check_mode_then_uploads_once(ansible_playbook, target, iam, kind: Kind):
    playbook = target(kind.module_name, "converge.yml")
    active_body, inactive_body = kind.bodies(2)
    extra = {"user_name": USER, "active_body": active_body, "inactive_body": inactive_body}

    checked = ansible_playbook(playbook, "--check", "--diff", extra_vars=extra)
    assert checked.recap()["changed"] == 3
    assert checked.mutating_calls == []
    assert iam.list_users()["Users"] == []
    assert f"User {USER} does not exist; assuming an earlier task would create it." in checked.output

    applied = ansible_playbook(playbook, extra_vars=extra)
    assert applied.recap()["changed"] == 3
    assert applied.mutating_calls == [
        "iam CreateUser",
        f"iam Upload{kind.operation}",
        f"iam Upload{kind.operation}",
        f"iam Update{kind.operation}",
    ]
    results = result_of(applied)
    stored = {item["Body"].strip(): item for item in kind.stored(iam, USER)}
    assert set(stored) == {active_body.strip(), inactive_body.strip()}
    for name, body, status in (("active", active_body, "Active"), ("inactive", inactive_body, "Inactive")):
        item, result = stored[body.strip()], results[name]
        assert item["Status"] == status
        assert result[kind.result_key] == {
            kind.id_option: item["Id"],
            **kind.stored_fields(item),
            "status": status,
            "upload_date": item["UploadDate"].isoformat(),
            "user_name": USER,
        }
        assert result[kind.id_option] == item["Id"]

    again = ansible_playbook(playbook, extra_vars=extra)
    assert again.recap()["changed"] == 0
    assert again.api_calls, "the API log must record the calls"
    assert again.mutating_calls == []
    assert result_of(again) == {name: dict(results[name], changed=False) for name in ("active", "inactive")}
