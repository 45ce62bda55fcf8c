"""Helpers shared by the modules that manage bodies uploaded for a user (SSH keys, signing certificates).

The pure helpers with a toy kind; ensure_bodies (the roster's flow) with the real kinds against moto.
"""

from __future__ import annotations

import datetime
from unittest import mock

import boto3
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ansible_collections.techsquawks.iam.plugins.module_utils import _uploaded
from ansible_collections.techsquawks.iam.plugins.module_utils._iam import IAM
from ansible_collections.techsquawks.iam.plugins.module_utils._module import ModuleFailure
from ansible_collections.techsquawks.iam.plugins.module_utils._signing_certificate import SIGNING_CERTIFICATE
from ansible_collections.techsquawks.iam.plugins.module_utils._ssh_key import SSH_KEY
from tests.certificates import rewrap, self_signed_certificate


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


# -- ensure_bodies, against moto ------------------------------------------------------------------


USER = "techsquawks-user"


def rsa_public_key(comment: str = "") -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    text = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    return f"{text} {comment}".strip()


@pytest.fixture(scope="module")
def ssh_keys() -> list[str]:
    return [rsa_public_key(f"key{index}@laptop") for index in range(6)]


@pytest.fixture
def user(iam_client, api_calls) -> str:
    iam_client.create_user(UserName=USER)
    api_calls.clear()
    return USER


def ensure(kind: _uploaded.Uploaded, bodies: list[str], *, check_mode: bool = False, user_name: str = USER):
    verbs = IAM(boto3.client("iam", region_name="us-east-1"), check_mode=check_mode)
    return _uploaded.ensure_bodies(kind, verbs, check_mode=check_mode, user_name=user_name, bodies=bodies)


def ssh_key_ids(iam_client) -> list[str]:
    return [key["SSHPublicKeyId"] for key in iam_client.list_ssh_public_keys(UserName=USER)["SSHPublicKeys"]]


def test_ensure_bodies_uploads_missing_keys_check_mode_first_then_is_converged(iam_client, api_calls, user, ssh_keys):
    check = ensure(SSH_KEY, ssh_keys[:2], check_mode=True)
    assert check.changed is True
    assert check.created == ["SSH key (new)", "SSH key (new)"]
    assert (check.before, check.after) == ([], [{"ssh_public_key_id": None, "status": "Active"}] * 2)
    assert api_calls.mutating == []
    assert ssh_key_ids(iam_client) == []

    applied = ensure(SSH_KEY, ssh_keys[:2])
    ids = sorted(ssh_key_ids(iam_client))
    assert applied.changed is True
    assert api_calls.mutating == ["UploadSSHPublicKey", "UploadSSHPublicKey"]
    assert sorted(applied.created) == [f"SSH key {key_id}" for key_id in ids]
    assert applied.after == [{"ssh_public_key_id": key_id, "status": "Active"} for key_id in ids]
    assert [key["fingerprint"] for key in applied.result["ssh_public_keys"]] == [
        iam_client.get_ssh_public_key(UserName=USER, SSHPublicKeyId=key_id, Encoding="SSH")["SSHPublicKey"][
            "Fingerprint"
        ]
        for key_id in ids
    ]

    for check_mode in (True, False):
        api_calls.clear()
        again = ensure(SSH_KEY, list(reversed(ssh_keys[:2])), check_mode=check_mode)
        assert again.changed is False
        assert again.before == again.after == applied.after
        assert again.created == again.updated == []
        # The list has no bodies: one GetSSHPublicKey per listed key, and nothing more.
        assert api_calls == ["ListSSHPublicKeys", "GetSSHPublicKey", "GetSSHPublicKey"]


def test_ensure_bodies_matches_keys_whatever_their_comment_and_leaves_other_keys_alone(
    iam_client, api_calls, user, ssh_keys
):
    mine = iam_client.upload_ssh_public_key(UserName=USER, SSHPublicKeyBody=ssh_keys[0])["SSHPublicKey"]
    other = iam_client.upload_ssh_public_key(UserName=USER, SSHPublicKeyBody=ssh_keys[1])["SSHPublicKey"]
    iam_client.update_ssh_public_key(UserName=USER, SSHPublicKeyId=other["SSHPublicKeyId"], Status="Inactive")
    api_calls.clear()
    key_type, blob, _comment = ssh_keys[0].split(" ", 2)

    outcome = ensure(SSH_KEY, [f"  {key_type}\t{blob} jane@desktop\n"])

    assert outcome.changed is False
    assert outcome.after == [{"ssh_public_key_id": mine["SSHPublicKeyId"], "status": "Active"}]
    assert api_calls.mutating == []


def test_ensure_bodies_reactivates_an_inactive_match(iam_client, api_calls, user, ssh_keys):
    key_id = iam_client.upload_ssh_public_key(UserName=USER, SSHPublicKeyBody=ssh_keys[0])["SSHPublicKey"][
        "SSHPublicKeyId"
    ]
    iam_client.update_ssh_public_key(UserName=USER, SSHPublicKeyId=key_id, Status="Inactive")
    api_calls.clear()

    check = ensure(SSH_KEY, ssh_keys[:1], check_mode=True)
    assert api_calls.mutating == []
    applied = ensure(SSH_KEY, ssh_keys[:1])

    for outcome in (check, applied):
        assert outcome.changed is True
        assert outcome.before == [{"ssh_public_key_id": key_id, "status": "Inactive"}]
        assert outcome.after == [{"ssh_public_key_id": key_id, "status": "Active"}]
        assert (outcome.created, outcome.updated) == ([], [f"SSH key {key_id} Active"])
    assert api_calls.mutating == ["UpdateSSHPublicKey"]


def test_ensure_bodies_checks_the_limit_before_any_upload(iam_client, api_calls, user, ssh_keys):
    # moto has no 5-key limit: the function must refuse before asking AWS.
    for body in ssh_keys[:4]:
        iam_client.upload_ssh_public_key(UserName=USER, SSHPublicKeyBody=body)
    api_calls.clear()

    for check_mode in (True, False):
        # Two more would be six: nothing is uploaded, not even the one that would fit.
        with pytest.raises(
            ModuleFailure,
            match=r"^public_key: user techsquawks-user has 4 SSH public keys \(.*\); uploading 2 more would exceed "
            r"the IAM maximum of 5",
        ):
            ensure(SSH_KEY, ssh_keys, check_mode=check_mode)
    assert api_calls.mutating == []

    assert ensure(SSH_KEY, ssh_keys[:5]).created == [mock.ANY]  # the fifth fits
    with pytest.raises(ModuleFailure, match=r"^public_key: user techsquawks-user already has 5 SSH public keys"):
        ensure(SSH_KEY, ssh_keys)
    assert api_calls.mutating == ["UploadSSHPublicKey"]


def test_ensure_bodies_with_no_bodies_reads_no_key(api_calls, user):
    outcome = ensure(SSH_KEY, [])

    assert (outcome.changed, outcome.before, outcome.after) == (False, [], [])
    assert api_calls == ["ListSSHPublicKeys"]


def test_ensure_bodies_for_a_missing_user_predicts_in_check_mode_and_fails_otherwise(aws, api_calls, ssh_keys):
    predicted = ensure(SSH_KEY, ssh_keys[:1], check_mode=True, user_name="nobody")
    assert predicted.created == ["SSH key (new)"]
    assert predicted.result["ssh_public_keys"][0]["user_name"] == "nobody"

    with pytest.raises(ModuleFailure, match=r"^user_name: user nobody does not exist$"):
        ensure(SSH_KEY, ssh_keys[:1], user_name="nobody")
    assert api_calls.mutating == []


def test_ensure_bodies_of_certificates_reads_bodies_from_the_list_and_is_converged(iam_client, api_calls, user):
    certs = [self_signed_certificate(), self_signed_certificate()]

    check = ensure(SIGNING_CERTIFICATE, certs, check_mode=True)
    assert (check.changed, check.created) == (True, ["signing certificate (new)"] * 2)
    assert api_calls.mutating == []

    applied = ensure(SIGNING_CERTIFICATE, certs)
    listed = iam_client.list_signing_certificates(UserName=USER)["Certificates"]
    assert applied.after == sorted(
        ({"certificate_id": cert["CertificateId"], "status": "Active"} for cert in listed),
        key=lambda item: item["certificate_id"],
    )
    assert api_calls.mutating == ["UploadSigningCertificate", "UploadSigningCertificate"]

    api_calls.clear()
    again = ensure(SIGNING_CERTIFICATE, [rewrap(cert) for cert in certs])
    assert again.changed is False
    assert api_calls == ["ListSigningCertificates"]

    with pytest.raises(
        ModuleFailure, match=r"^certificate_body: user techsquawks-user already has 2 signing certificates"
    ):
        ensure(SIGNING_CERTIFICATE, [*certs, self_signed_certificate()])
    assert api_calls.mutating == []
