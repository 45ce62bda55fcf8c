"""Helpers shared by the modules that manage bodies uploaded for a user (SSH keys, signing certificates).

The pure helpers with a toy kind; ensure_bodies (the roster's flow) with the real kinds against moto.
"""

from __future__ import annotations

import dataclasses
import datetime
from unittest import mock

import boto3
import pytest

from ansible_collections.techsquawks.iam.plugins.module_utils import _uploaded
from ansible_collections.techsquawks.iam.plugins.module_utils._iam import IAM
from ansible_collections.techsquawks.iam.plugins.module_utils._module import ModuleFailure
from ansible_collections.techsquawks.iam.plugins.module_utils._signing_certificate import SIGNING_CERTIFICATE
from ansible_collections.techsquawks.iam.plugins.module_utils._ssh_key import SSH_KEY
from tests.uploaded_kinds import KINDS, SIGNING_CERTIFICATES, SSH_KEYS, Kind


class InvalidWidget(ValueError):
    """A widget body that cannot be parsed."""


def widget_identity(text: str) -> str:
    """A toy body format: 'widget:<word>', identified by the lower-cased word."""
    text = text.strip()
    if not text.startswith("widget:"):
        raise InvalidWidget("it does not start with 'widget:'")
    return text[len("widget:") :].lower()


WIDGET = _uploaded.Uploaded(
    noun="widget",
    label="widget",
    plural="widgets",
    body_option="widget_body",
    id_option="widget_id",
    id_field="WidgetId",
    body_field="WidgetBody",
    min_id_length=20,
    limit=2,
    usable="widget",
    mismatch="widget {id} of user {user} is another widget than widget_body",
    result_key="widget",
    returns=("widget_id",),
    invalid=InvalidWidget,
    identity=widget_identity,
    # Never called by these pure tests: any IAM verbs of the right shape do.
    list_items=IAM.list_signing_certificates,
    upload=IAM.upload_signing_certificate,
    update=IAM.update_signing_certificate,
    delete=IAM.delete_signing_certificate,
    fields={"colour": "Colour"},
    not_secret=("widget_id",),
)
ID_A, ID_B = "A" * 20, "B" * 20


def item(item_id: str, canonical: str | None, status: str = "Active") -> dict[str, object]:
    return {"widget_id": item_id, "status": status, "canonical": canonical}


def test_canonical_is_the_identity_of_a_valid_body_and_the_collapsed_text_otherwise():
    assert WIDGET.canonical(" widget:ABC\n") == "abc"
    assert WIDGET.canonical("not  a\n widget") == "not a widget"
    assert WIDGET.canonical(None) is None


def test_result_puts_id_then_extra_fields_then_status_date_and_user():
    raw = {
        "WidgetId": ID_A,
        "Colour": "blue",
        "Status": "Inactive",
        "UploadDate": datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
    }
    result = WIDGET.result(raw, "alice")
    assert list(result) == ["widget_id", "colour", "status", "upload_date", "user_name"]
    assert result["upload_date"] == "2026-01-02T03:04:05+00:00"
    assert result["user_name"] == "alice"
    assert WIDGET.result(dict(raw, UserName="bob"), "alice")["user_name"] == "bob"


def test_select_finds_by_id_by_body_or_by_both_when_they_agree():
    items = [item(ID_A, "abc"), item(ID_B, "xyz")]
    assert _uploaded.select(WIDGET, items, canonical="xyz", item_id=None, user_name="u") == [items[1]]
    assert _uploaded.select(WIDGET, items, canonical=None, item_id=ID_A, user_name="u") == [items[0]]
    assert _uploaded.select(WIDGET, items, canonical="abc", item_id=ID_A, user_name="u") == [items[0]]
    assert _uploaded.select(WIDGET, items, canonical="new", item_id=None, user_name="u") == []


def test_select_refuses_an_id_and_a_body_that_designate_different_items():
    items = [item(ID_A, "abc"), item(ID_B, "xyz")]
    with pytest.raises(ModuleFailure, match=f"^widget_id: widget {ID_A} of user u is another widget than widget_body$"):
        _uploaded.select(WIDGET, items, canonical="xyz", item_id=ID_A, user_name="u")
    with pytest.raises(
        ModuleFailure, match=f"^widget_id: widget_body is uploaded for user u as {ID_B}, not {'C' * 20}$"
    ):
        _uploaded.select(WIDGET, items, canonical="xyz", item_id="C" * 20, user_name="u")


def test_public_drops_the_identity_only():
    assert _uploaded.public(item(ID_A, "abc")) == {"widget_id": ID_A, "status": "Active"}
    assert _uploaded.public(None) == {}


def test_validate_names_the_option_of_each_problem():
    params = {"user_name": "alice", "widget_id": "short", "widget_body": "gadget:x"}
    assert _uploaded.validate(WIDGET, params) == [
        "widget_id 'short' must be 20 to 128 letters, digits or underscores",
        "widget_body is not a usable widget: it does not start with 'widget:'",
    ]
    params = {"user_name": "alice", "widget_id": ID_A, "widget_body": "widget:\x00"}
    assert _uploaded.validate(WIDGET, params) == ["widget_body must be 1 to 16384 characters of printable Latin-1 text"]
    assert _uploaded.validate(WIDGET, {"user_name": "alice", "widget_id": None, "widget_body": "widget:x"}) == []


def test_module_args_mark_only_the_listed_options_not_secret():
    args = _uploaded.module_args(WIDGET)
    spec = args["argument_spec"]
    assert spec["widget_id"] == {"type": "str", "aliases": ["id"], "no_log": False}
    assert spec["widget_body"] == {"type": "str"}
    assert args["required_one_of"] == [["widget_body", "widget_id"]]
    assert args["supports_check_mode"] is True


def test_validate_refuses_every_body_when_the_parsing_library_is_missing():
    missing = dataclasses.replace(WIDGET, missing_library="widgetlib")
    errors = _uploaded.validate(missing, {"user_name": "alice", "widget_id": None, "widget_body": "widget:x"})
    assert len(errors) == 1
    assert errors[0].startswith("widget_body: Failed to import the required Python library (widgetlib) on ")
    assert "This is required to check widget_body." in errors[0]
    # Without a body there is nothing to parse: an ID alone still works.
    assert _uploaded.validate(missing, {"user_name": "alice", "widget_id": ID_A, "widget_body": None}) == []


# -- ensure_bodies, against moto: the same scenarios for each real kind ---------------------------


USER = "techsquawks-user"
PLUGIN = {SSH_KEYS.name: SSH_KEY, SIGNING_CERTIFICATES.name: SIGNING_CERTIFICATE}


@pytest.fixture(params=KINDS, ids=[kind.name for kind in KINDS])
def kind(request) -> Kind:
    return request.param


@pytest.fixture
def user(iam_client, api_calls) -> str:
    iam_client.create_user(UserName=USER)
    api_calls.clear()
    return USER


def ensure(kind: Kind, bodies: list[str], *, check_mode: bool = False, user_name: str = USER):
    verbs = IAM(boto3.client("iam", region_name="us-east-1"), check_mode=check_mode)
    return _uploaded.ensure_bodies(PLUGIN[kind.name], verbs, check_mode=check_mode, user_name=user_name, bodies=bodies)


def test_ensure_bodies_uploads_the_missing_ones_check_mode_first_then_is_converged(iam_client, api_calls, user, kind):
    bodies = kind.bodies(2)
    check = ensure(kind, bodies, check_mode=True)
    assert check.changed is True
    assert check.created == [f"{kind.label} (new)"] * 2
    assert (check.before, check.after) == ([], [{kind.id_option: None, "status": "Active"}] * 2)
    assert [item[kind.id_option] for item in check.result[f"{kind.result_key}s"]] == [None, None]
    assert api_calls.mutating == []
    assert kind.stored(iam_client, USER) == []

    applied = ensure(kind, bodies)
    stored = sorted(kind.stored(iam_client, USER), key=lambda item: item["Id"])
    ids = [item["Id"] for item in stored]
    assert len(ids) == 2
    assert applied.changed is True
    assert api_calls.mutating == [f"Upload{kind.operation}"] * 2
    assert sorted(applied.created) == [f"{kind.label} {item_id}" for item_id in ids]
    assert applied.after == [{kind.id_option: item_id, "status": "Active"} for item_id in ids]
    assert [
        {name: item[name] for name in (kind.id_option, *kind.stored_fields(stored[0]))}
        for item in applied.result[f"{kind.result_key}s"]
    ] == [{kind.id_option: item["Id"], **kind.stored_fields(item)} for item in stored]

    for check_mode in (True, False):
        api_calls.clear()
        again = ensure(kind, [kind.rewritten(body)[0] for body in reversed(bodies)], check_mode=check_mode)
        assert again.changed is False
        assert again.before == again.after == applied.after
        assert again.created == again.updated == []
        # SSH keys are listed without bodies: one get per listed key, and nothing more.
        assert api_calls == [kind.list_operation, *kind.reads_per_item * 2]


def test_ensure_bodies_matches_whatever_the_spelling_and_leaves_other_items_alone(iam_client, api_calls, user, kind):
    mine, other = kind.bodies(2)
    mine_id = kind.upload(iam_client, USER, mine)
    other_id = kind.upload(iam_client, USER, other)
    kind.set_status(iam_client, USER, other_id, "Inactive")
    api_calls.clear()

    outcome = ensure(kind, [kind.rewritten(mine)[0]])

    assert outcome.changed is False
    assert outcome.after == [{kind.id_option: mine_id, "status": "Active"}]
    assert api_calls.mutating == []
    assert {item["Id"]: item["Status"] for item in kind.stored(iam_client, USER)} == {
        mine_id: "Active",
        other_id: "Inactive",
    }


def test_ensure_bodies_reactivates_an_inactive_match(iam_client, api_calls, user, kind):
    [body] = kind.bodies(1)
    item_id = kind.upload(iam_client, USER, body)
    kind.set_status(iam_client, USER, item_id, "Inactive")
    api_calls.clear()

    check = ensure(kind, [body], check_mode=True)
    assert api_calls.mutating == []
    applied = ensure(kind, [body])

    for outcome in (check, applied):
        assert outcome.changed is True
        assert outcome.before == [{kind.id_option: item_id, "status": "Inactive"}]
        assert outcome.after == [{kind.id_option: item_id, "status": "Active"}]
        assert (outcome.created, outcome.updated) == ([], [f"{kind.label} {item_id} Active"])
    assert api_calls.mutating == [f"Update{kind.operation}"]
    assert [item["Status"] for item in kind.stored(iam_client, USER)] == ["Active"]


def test_ensure_bodies_checks_the_limit_before_any_upload(iam_client, api_calls, user, kind):
    # moto has no 5-key limit for SSH keys: the function must refuse before asking AWS.
    bodies = kind.bodies(kind.limit + 1)
    present = [kind.upload(iam_client, USER, body) for body in bodies[: kind.limit - 1]]
    api_calls.clear()

    for check_mode in (True, False):
        # Two more would be one too many: nothing is uploaded, not even the one that would fit.
        with pytest.raises(ModuleFailure) as refused:
            ensure(kind, bodies, check_mode=check_mode)
        assert str(refused.value) == (
            f"{kind.body_option}: user {USER} has {kind.limit - 1} {kind.plural} ({', '.join(present)}); "
            f"uploading 2 more would exceed the IAM maximum of {kind.limit}; delete some before uploading others"
        )
    assert api_calls.mutating == []

    assert ensure(kind, bodies[: kind.limit]).created == [mock.ANY]  # the last one that fits
    with pytest.raises(
        ModuleFailure, match=rf"^{kind.body_option}: user {USER} already has {kind.limit} {kind.plural}"
    ):
        ensure(kind, bodies)
    assert api_calls.mutating == [f"Upload{kind.operation}"]
    assert len(kind.stored(iam_client, USER)) == kind.limit


def test_ensure_bodies_with_no_bodies_reads_no_body(api_calls, user, kind):
    outcome = ensure(kind, [])

    assert (outcome.changed, outcome.before, outcome.after) == (False, [], [])
    assert api_calls == [kind.list_operation]


def test_ensure_bodies_for_a_missing_user_predicts_in_check_mode_and_fails_otherwise(aws, api_calls, kind):
    [body] = kind.bodies(1)
    predicted = ensure(kind, [body], check_mode=True, user_name="nobody")
    assert predicted.created == [f"{kind.label} (new)"]
    assert predicted.result[f"{kind.result_key}s"][0]["user_name"] == "nobody"

    with pytest.raises(ModuleFailure, match=r"^user_name: user nobody does not exist$"):
        ensure(kind, [body], user_name="nobody")
    assert api_calls.mutating == []
