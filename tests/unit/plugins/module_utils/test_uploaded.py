"""Pure helpers shared by the modules that manage bodies uploaded for a user (SSH keys, signing certificates)."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.techsquawks.iam.plugins.module_utils import _uploaded
from ansible_collections.techsquawks.iam.plugins.module_utils._iam import IAM
from ansible_collections.techsquawks.iam.plugins.module_utils._module import ModuleFailure


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


PROBLEMS = {"tag": "wrong tag", "length": "bad length", "truncated": "cut short"}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (bytes.fromhex("300201ff"), (b"\x01\xff", 4)),
        (bytes.fromhex("3081020102"), (b"\x01\x02", 5)),
    ],
)
def test_der_element_reads_short_and_long_form_lengths(data, expected):
    assert _uploaded.der_element(data, 0, 0x30, invalid=InvalidWidget, problems=PROBLEMS) == expected


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "wrong tag"),
        (bytes.fromhex("0200"), "wrong tag"),
        (bytes.fromhex("3080"), "bad length"),
        (bytes.fromhex("308501"), "bad length"),
        (bytes.fromhex("300301"), "cut short"),
    ],
)
def test_der_element_raises_the_callers_error_with_its_message(data, message):
    with pytest.raises(InvalidWidget, match=f"^{message}$"):
        _uploaded.der_element(data, 0, 0x30, invalid=InvalidWidget, problems=PROBLEMS)
