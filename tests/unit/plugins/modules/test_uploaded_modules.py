"""iam_ssh_key and iam_signing_certificate: the scenarios they share, written once and run for each module.

The real main() against moto in-process. What is specific to a format (key types and sizes, PEM forms,
fingerprints, certificate parsing) is in test_iam_ssh_key.py and test_iam_signing_certificate.py.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import subprocess
import sys
import typing as t

import botocore.exceptions
import pytest

from ansible_collections.techsquawks.iam.plugins.module_utils import _signing_certificate, _ssh_key
from tests.uploaded_kinds import KINDS, SIGNING_CERTIFICATES, SSH_KEYS, Kind

USER = "techsquawks-user"
# The plugin side of each kind: its module_utils file and the descriptor's name there (and in the module).
PLUGIN = {
    SSH_KEYS.name: (_ssh_key, "SSH_KEY"),
    SIGNING_CERTIFICATES.name: (_signing_certificate, "SIGNING_CERTIFICATE"),
}


@pytest.fixture(params=KINDS, ids=[kind.name for kind in KINDS])
def kind(request) -> Kind:
    return request.param


@pytest.fixture
def module(kind: Kind) -> t.Any:
    return importlib.import_module(f"ansible_collections.techsquawks.iam.plugins.modules.{kind.module_name}")


@pytest.fixture
def user(iam_client, api_calls) -> str:
    iam_client.create_user(UserName=USER)
    api_calls.clear()
    return USER


def op(verb: str, kind: Kind) -> str:
    """The IAM operation name, e.g. op("Upload", SSH_KEYS) == "UploadSSHPublicKey"."""
    return f"{verb}{kind.operation}"


def item_of(kind: Kind, stored: dict[str, t.Any], user_name: str = USER) -> dict[str, t.Any]:
    """The result item the module must return for an item IAM holds."""
    return {
        kind.id_option: stored["Id"],
        **kind.stored_fields(stored),
        "status": stored["Status"],
        "upload_date": stored["UploadDate"].isoformat(),
        "user_name": user_name,
    }


# -- present --------------------------------------------------------------------------------------


def test_present_uploads_once_check_mode_first_and_second_run_is_noop(
    run_module, module, kind, iam_client, api_calls, user
):
    [body] = kind.bodies(1)
    args = {"user_name": user, kind.body_option: body}

    predicted = run_module(module, args, check_mode=True)
    assert predicted["changed"] is True
    assert predicted[kind.result_key] == {
        kind.id_option: None,
        **kind.predicted_fields(body),
        "status": "Active",
        "upload_date": None,
        "user_name": user,
    }
    assert predicted[kind.id_option] is None
    assert api_calls.mutating == []
    assert kind.stored(iam_client, user) == []

    api_calls.clear()
    created = run_module(module, args)
    assert created["changed"] is True
    assert api_calls.mutating == [op("Upload", kind)]
    [stored] = kind.stored(iam_client, user)
    assert stored["Body"].strip() == body.strip()
    assert created[kind.result_key] == item_of(kind, stored)
    assert created[kind.id_option] == stored["Id"]
    for name, value in kind.stored_fields(stored).items():
        assert created[name] == value, f"{name} is also returned at the top level"

    api_calls.clear()
    assert run_module(module, args, check_mode=True)["changed"] is False
    again = run_module(module, args)
    assert again["changed"] is False
    assert again[kind.result_key] == created[kind.result_key]
    assert api_calls.mutating == []


def test_present_matches_the_same_item_written_otherwise(run_module, module, kind, iam_client, api_calls, user):
    [body] = kind.bodies(1)
    item_id = kind.upload(iam_client, user, body)
    api_calls.clear()
    rewritten = kind.rewritten(body)
    assert rewritten, "the kind must give other spellings to match"
    for text in rewritten:
        assert text != body
        result = run_module(module, {"user_name": user, kind.body_option: text})
        assert (result["changed"], result[kind.id_option]) == (False, item_id)
    assert api_calls.mutating == []


def test_present_with_another_body_uploads_a_second_item(run_module, module, kind, iam_client, user):
    body, other = kind.bodies(2)
    first = kind.upload(iam_client, user, body)
    result = run_module(module, {"user_name": user, kind.body_option: other})
    assert result["changed"] is True
    assert result[kind.id_option] not in (None, first)
    assert sorted(stored["Id"] for stored in kind.stored(iam_client, user)) == sorted([first, result[kind.id_option]])


def test_present_inactive_uploads_then_deactivates(run_module, module, kind, iam_client, api_calls, user):
    [body] = kind.bodies(1)
    args = {"user_name": user, kind.body_option: body, "active": False}
    predicted = run_module(module, args, check_mode=True)
    assert (predicted["changed"], predicted[kind.result_key]["status"]) == (True, "Inactive")
    assert api_calls.mutating == []

    result = run_module(module, args)
    assert result[kind.result_key]["status"] == "Inactive"
    assert api_calls.mutating == [op("Upload", kind), op("Update", kind)]
    assert [stored["Status"] for stored in kind.stored(iam_client, user)] == ["Inactive"]

    api_calls.clear()
    assert run_module(module, args)["changed"] is False
    assert api_calls.mutating == []


def test_active_toggle_by_body_with_check_mode_and_diff(run_module, module, kind, iam_client, api_calls, user):
    [body] = kind.bodies(1)
    item_id = kind.upload(iam_client, user, body)
    [stored] = kind.stored(iam_client, user)
    api_calls.clear()
    args = {"user_name": user, kind.body_option: body, "active": False}

    predicted = run_module(module, args, check_mode=True, diff=True)
    assert predicted["changed"] is True
    assert predicted["diff"] == {
        "before": item_of(kind, stored),
        "after": dict(item_of(kind, stored), status="Inactive"),
    }
    assert predicted["diff"]["after"][kind.id_option] == item_id
    assert api_calls.mutating == []
    assert [stored["Status"] for stored in kind.stored(iam_client, user)] == ["Active"]

    result = run_module(module, args, diff=True)
    assert result["changed"] is True
    assert result["diff"] == predicted["diff"]
    assert [stored["Status"] for stored in kind.stored(iam_client, user)] == ["Inactive"]
    assert api_calls.mutating == [op("Update", kind)]


def test_active_toggle_by_id_reactivates_the_item(run_module, module, kind, iam_client, api_calls, user):
    [body] = kind.bodies(1)
    item_id = kind.upload(iam_client, user, body)
    kind.set_status(iam_client, user, item_id, "Inactive")
    api_calls.clear()

    result = run_module(module, {"user_name": user, "id": item_id})
    assert (result["changed"], result[kind.result_key]["status"]) == (True, "Active")
    [stored] = kind.stored(iam_client, user)
    assert result[kind.result_key] == item_of(kind, stored)
    assert stored["Status"] == "Active"
    assert api_calls.mutating == [op("Update", kind)]

    api_calls.clear()
    assert run_module(module, {"user_name": user, "id": item_id})["changed"] is False
    assert api_calls.mutating == []


def test_diff_never_contains_the_body(run_module, module, kind, user):
    [body] = kind.bodies(1)
    result = run_module(module, {"user_name": user, kind.body_option: body}, diff=True)
    assert result["diff"] == {"before": {}, "after": result[kind.result_key]}
    # The base64 of the key or certificate: its longest line.
    material = max(body.split(), key=len)
    assert len(material) > 40
    # Ansible's own record of the arguments holds it (a public key or certificate is no secret); no returned value does.
    returned = {name: value for name, value in result.items() if name != "invocation"}
    assert material not in json.dumps(returned)
    assert material in json.dumps(result["invocation"]), "the check must look where the body could be"


def test_one_more_than_the_limit_fails_naming_the_body_option_before_upload(
    run_module, module, kind, iam_client, api_calls, user
):
    # moto has no 5-key limit for SSH keys: the module must refuse before asking AWS, whatever AWS would do.
    *present, extra = kind.bodies(kind.limit + 1)
    ids = [kind.upload(iam_client, user, body) for body in present]
    kind.set_status(iam_client, user, ids[-1], "Inactive")  # inactive items count too
    api_calls.clear()
    for check_mode in (True, False):
        result = run_module(module, {"user_name": user, kind.body_option: extra}, check_mode=check_mode)
        assert result["failed"] is True
        assert result["msg"] == (
            f"{kind.body_option}: user {user} already has {kind.limit} {kind.plural} ({', '.join(ids)}), "
            f"the IAM maximum of {kind.limit}; delete one (state=absent) before uploading another"
        )
    assert api_calls.mutating == []
    assert len(kind.stored(iam_client, user)) == kind.limit


def test_the_last_item_under_the_limit_uploads_and_is_then_found_at_the_limit(
    run_module, module, kind, iam_client, api_calls, user
):
    *present, last = kind.bodies(kind.limit)
    for body in present:
        kind.upload(iam_client, user, body)
    assert run_module(module, {"user_name": user, kind.body_option: last})["changed"] is True
    assert len(kind.stored(iam_client, user)) == kind.limit
    api_calls.clear()
    again = run_module(module, {"user_name": user, kind.body_option: last})
    assert again["changed"] is False
    assert api_calls.mutating == []


def test_duplicate_uploaded_elsewhere_is_not_uploaded_again(run_module, module, kind, iam_client, api_calls, user):
    # AWS refuses duplicates but moto accepts them: the module must rely on neither.
    [body] = kind.bodies(1)
    kind.upload(iam_client, user, body)
    second = kind.upload(iam_client, user, kind.rewritten(body)[0])
    kind.set_status(iam_client, user, second, "Inactive")
    api_calls.clear()
    result = run_module(module, {"user_name": user, kind.body_option: body, "active": False})
    assert (result["changed"], result[kind.id_option]) == (False, second)
    assert api_calls.mutating == []


@pytest.mark.parametrize(
    ("with_body", "advice"), [(False, "give {body}"), (True, "omit it to upload {body}")], ids=["id-only", "with-body"]
)
def test_present_with_unknown_id_fails_naming_the_id_option(
    run_module, module, kind, api_calls, user, with_body, advice
):
    args = {"user_name": user, kind.id_option: kind.unknown_id}
    if with_body:
        args[kind.body_option] = kind.bodies(1)[0]
    result = run_module(module, args)
    assert result["failed"] is True
    assert result["msg"] == (
        f"{kind.id_option}: user {user} has no {kind.noun} {kind.unknown_id}; {advice.format(body=kind.body_option)}"
    )
    assert api_calls.mutating == []


def test_id_and_body_of_different_items_fail_without_changes(run_module, module, kind, iam_client, api_calls, user):
    body, other = kind.bodies(2)
    kind.upload(iam_client, user, body)
    other_id = kind.upload(iam_client, user, other)
    api_calls.clear()
    for state in ("present", "absent"):
        result = run_module(module, {"user_name": user, kind.body_option: body, "id": other_id, "state": state})
        assert result["failed"] is True
        assert result["msg"] == f"{kind.id_option}: {kind.mismatch.format(id=other_id, user=user)}"
    assert api_calls.mutating == []
    assert len(kind.stored(iam_client, user)) == 2


def test_body_uploaded_under_another_id_fails(run_module, module, kind, iam_client, api_calls, user):
    [body] = kind.bodies(1)
    item_id = kind.upload(iam_client, user, body)
    api_calls.clear()
    result = run_module(module, {"user_name": user, kind.body_option: body, "id": kind.unknown_id})
    assert result["failed"] is True
    assert result["msg"] == (
        f"{kind.id_option}: {kind.body_option} is uploaded for user {user} as {item_id}, not {kind.unknown_id}"
    )
    assert api_calls.mutating == []


def test_present_for_missing_user_fails_naming_user_name(run_module, module, kind, aws, api_calls):
    [body] = kind.bodies(1)
    result = run_module(module, {"user_name": "nobody", kind.body_option: body})
    assert result["failed"] is True
    assert result["msg"] == "user_name: user nobody does not exist"
    assert api_calls.mutating == []


def test_check_mode_for_missing_user_predicts_upload_with_warning(run_module, module, kind, aws, api_calls):
    [body] = kind.bodies(1)
    result = run_module(module, {"user_name": "nobody", kind.body_option: body}, check_mode=True)
    assert result["changed"] is True
    assert result[kind.result_key]["user_name"] == "nobody"
    # ansible-core 2.19 returns each warning as a structure holding its message.
    warnings = [json.dumps(warning) for warning in result["warnings"]]
    assert len(warnings) == 1
    assert "User nobody does not exist; assuming an earlier task would create it." in warnings[0]
    assert api_calls.mutating == []


def test_aws_refusing_the_body_is_reported_with_its_error_code(run_module, module, kind, emulator, iam_client, user):
    # A body IAM refuses although it parses (AWS has rules of its own), answered as AWS would.
    def refuse(params: dict[str, t.Any]) -> dict[str, t.Any]:
        error = {"Error": {"Code": kind.invalid_body_code, "Message": "The body is refused."}}
        raise botocore.exceptions.ClientError(error, op("Upload", kind))

    emulator.answer(op("Upload", kind), refuse)
    [body] = kind.bodies(1)
    result = run_module(module, {"user_name": user, kind.body_option: body})
    assert result["failed"] is True
    assert result["error_code"] == kind.invalid_body_code
    assert result["msg"].startswith(f"Failed to upload {kind.label} for user {user}: ")
    assert [operation for operation, _params in emulator.calls if operation == op("Upload", kind)] == [
        op("Upload", kind)
    ]
    assert kind.stored(iam_client, user) == []


# -- absent ---------------------------------------------------------------------------------------


def test_absent_by_body_deletes_with_check_mode_first(run_module, module, kind, iam_client, api_calls, user):
    [body] = kind.bodies(1)
    item_id = kind.upload(iam_client, user, body)
    args = {"user_name": user, kind.body_option: kind.rewritten(body)[0], "state": "absent"}
    api_calls.clear()

    predicted = run_module(module, args, check_mode=True, diff=True)
    assert (predicted["changed"], predicted["removed"]) == (True, [item_id])
    assert predicted["diff"]["before"][kind.id_option] == item_id
    assert predicted["diff"]["after"] == {}
    assert api_calls.mutating == []
    assert len(kind.stored(iam_client, user)) == 1

    result = run_module(module, args)
    assert (result["changed"], result["removed"], result[kind.result_key]) == (True, [item_id], {})
    assert result[kind.id_option] is None
    assert api_calls.mutating == [op("Delete", kind)]
    assert kind.stored(iam_client, user) == []

    api_calls.clear()
    again = run_module(module, args)
    assert (again["changed"], again["removed"]) == (False, [])
    assert api_calls.mutating == []


def test_absent_by_id_deletes_only_that_item(run_module, module, kind, iam_client, user):
    body, other = kind.bodies(2)
    keep = kind.upload(iam_client, user, body)
    drop = kind.upload(iam_client, user, other)
    result = run_module(module, {"user_name": user, "id": drop, "state": "absent"})
    assert (result["changed"], result["removed"]) == (True, [drop])
    assert [stored["Id"] for stored in kind.stored(iam_client, user)] == [keep]


def test_absent_by_body_removes_every_duplicate(run_module, module, kind, iam_client, user):
    [body] = kind.bodies(1)
    ids = sorted(kind.upload(iam_client, user, body) for _copy in range(2))
    result = run_module(module, {"user_name": user, kind.body_option: body, "state": "absent"})
    assert result["changed"] is True
    assert sorted(result["removed"]) == ids
    assert kind.stored(iam_client, user) == []


@pytest.mark.parametrize("owner", ["techsquawks-user", "nobody"], ids=["unknown-id", "unknown-user"])
def test_absent_by_id_when_missing_is_unchanged(run_module, module, kind, api_calls, user, owner):
    result = run_module(module, {"user_name": owner, "state": "absent", "id": kind.unknown_id})
    assert (result["changed"], result["removed"]) == (False, [])
    assert api_calls.mutating == []


def test_absent_by_body_when_missing_is_unchanged(run_module, module, kind, api_calls, user):
    [body] = kind.bodies(1)
    result = run_module(module, {"user_name": user, kind.body_option: body, "state": "absent"})
    assert (result["changed"], result["removed"]) == (False, [])
    assert api_calls.mutating == []


# -- validation before any AWS call ------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            {"user_name": "a b", "{body}": "x"},
            "user_name 'a b' may contain only ASCII letters, digits and _+=,.@-",
            id="user-name",
        ),
        pytest.param({"user_name": USER, "id": "{short_id}"}, "{id_option} '{short_id}' must be", id="short-id"),
        pytest.param({"user_name": USER, "id": "{unknown_id}-"}, "{id_option} '{unknown_id}-' must be", id="id-chars"),
        pytest.param({"user_name": USER}, "one of the following is required: {body}, {id_option}", id="neither"),
    ],
)
def test_invalid_options_fail_naming_the_option_before_any_aws_call(
    run_module, module, kind, aws, api_calls, args, message
):
    words = {
        "body": kind.body_option,
        "id_option": kind.id_option,
        "short_id": kind.short_id,
        "unknown_id": kind.unknown_id,
    }
    args = {name.format(**words): value.format(**words) for name, value in args.items()}
    result = run_module(module, args)
    assert result["failed"] is True
    assert message.format(**words) in result["msg"]
    assert api_calls == []


def test_without_cryptography_every_body_is_refused_naming_the_option(
    run_module, module, kind, aws, api_calls, monkeypatch
):
    # Strictness does not depend on the library: without it no body is taken (the descriptor as imported without
    # cryptography, see test_without_cryptography_the_descriptors_refuse_every_body).
    utils, name = PLUGIN[kind.name]
    monkeypatch.setattr(utils, "HAS_CRYPTOGRAPHY", False)
    monkeypatch.setattr(module, name, dataclasses.replace(getattr(utils, name), missing_library="cryptography"))
    [body] = kind.bodies(1)
    result = run_module(module, {"user_name": USER, kind.body_option: body})
    assert result["failed"] is True
    assert result["msg"].startswith(
        f"Invalid input: {kind.body_option}: Failed to import the required Python library (cryptography)"
    )
    assert f"This is required to check {kind.body_option}." in result["msg"]
    assert api_calls == []


def test_without_cryptography_the_descriptors_refuse_every_body(kind):
    # A fresh interpreter where cryptography cannot be imported: the plugins still import, and refuse.
    utils, name = PLUGIN[kind.name]
    [body] = kind.bodies(1)
    script = f"""
import json, sys
sys.modules["cryptography"] = None  # import cryptography raises ImportError
from {utils.__name__} import {name} as kind, HAS_CRYPTOGRAPHY
from ansible_collections.techsquawks.iam.plugins.module_utils import _uploaded
body = sys.stdin.read()
try:
    kind.identity(body)
    refused = None
except kind.invalid as exc:
    refused = str(exc)
params = {{"user_name": "u", kind.id_option: None, kind.body_option: body}}
print(json.dumps([HAS_CRYPTOGRAPHY, kind.missing_library, refused, _uploaded.validate(kind, params)]))
"""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    answer = subprocess.run(
        [sys.executable, "-c", script], input=body, capture_output=True, text=True, check=True, env=env
    )
    has_library, missing, refused, errors = json.loads(answer.stdout)
    assert (has_library, missing) == (False, "cryptography")
    assert refused.startswith("Failed to import the required Python library (cryptography)")
    assert len(errors) == 1
    assert errors[0].startswith(f"{kind.body_option}: Failed to import the required Python library (cryptography)")
