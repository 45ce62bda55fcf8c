"""iam_ssh_key: the real main() against moto in-process, with keys generated in the test."""

from __future__ import annotations

import base64
import contextlib
import shutil
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from hypothesis import example, given
from hypothesis import strategies as st

from ansible_collections.techsquawks.iam.plugins.module_utils import _ssh_key
from ansible_collections.techsquawks.iam.plugins.modules import iam_ssh_key

USER = "techsquawks-user"


def openssh(private_key) -> str:
    public = private_key.public_key()
    return public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def rsa_key(bits: int = 2048):
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def pem(private_key, fmt=serialization.PublicFormat.SubjectPublicKeyInfo) -> str:
    return private_key.public_key().public_bytes(serialization.Encoding.PEM, fmt).decode()


@pytest.fixture(scope="module")
def rsa_private():
    return rsa_key()


@pytest.fixture(scope="module")
def key(rsa_private) -> str:
    return openssh(rsa_private) + " jane@laptop"


@pytest.fixture(scope="module")
def other_keys() -> list[str]:
    """Five more RSA keys (AWS's maximum per user), distinct from ``key``."""
    return [openssh(rsa_key()) + f" other{index}@laptop" for index in range(5)]


@pytest.fixture
def user(iam_client, api_calls) -> str:
    iam_client.create_user(UserName=USER)
    api_calls.clear()
    return USER


def keys_of(iam_client, user_name: str = USER) -> list[dict]:
    listed = iam_client.list_ssh_public_keys(UserName=user_name)["SSHPublicKeys"]
    return [
        iam_client.get_ssh_public_key(UserName=user_name, SSHPublicKeyId=item["SSHPublicKeyId"], Encoding="SSH")[
            "SSHPublicKey"
        ]
        for item in listed
    ]


def upload(iam_client, body: str, user_name: str = USER) -> str:
    return iam_client.upload_ssh_public_key(UserName=user_name, SSHPublicKeyBody=body)["SSHPublicKey"]["SSHPublicKeyId"]


# -- present --------------------------------------------------------------------------------------


def test_present_uploads_key_once_check_mode_first_and_second_run_is_noop(run_module, iam_client, api_calls, user, key):
    args = {"user_name": user, "public_key": key}

    predicted = run_module(iam_ssh_key, args, check_mode=True)
    assert predicted["changed"] is True
    assert api_calls.mutating == []
    assert keys_of(iam_client) == []
    assert predicted["ssh_public_key"]["status"] == "Active"
    assert predicted["ssh_public_key_id"] is None

    api_calls.clear()
    created = run_module(iam_ssh_key, args)
    assert created["changed"] is True
    assert api_calls.mutating == ["UploadSSHPublicKey"]
    [stored] = keys_of(iam_client)
    assert created["ssh_public_key"] == {
        "ssh_public_key_id": stored["SSHPublicKeyId"],
        "fingerprint": stored["Fingerprint"],
        "status": "Active",
        "upload_date": stored["UploadDate"].isoformat(),
        "user_name": user,
    }
    assert created["ssh_public_key_id"] == stored["SSHPublicKeyId"]
    assert created["fingerprint"] == stored["Fingerprint"]
    assert stored["SSHPublicKeyBody"] == key

    api_calls.clear()
    assert run_module(iam_ssh_key, args, check_mode=True)["changed"] is False
    again = run_module(iam_ssh_key, args)
    assert again["changed"] is False
    assert again["ssh_public_key"] == created["ssh_public_key"]
    assert api_calls.mutating == []


@pytest.mark.parametrize(
    "make_key",
    [
        pytest.param(lambda: openssh(rsa_key(3072)), id="ssh-rsa-3072"),
        pytest.param(lambda: openssh(rsa_key(4096)), id="ssh-rsa-4096"),
        pytest.param(lambda: pem(rsa_key()), id="pem-public-key"),
        pytest.param(lambda: pem(rsa_key(), serialization.PublicFormat.PKCS1), id="pem-rsa-public-key"),
    ],
)
def test_present_accepts_rsa_keys_in_each_format_idempotently(run_module, iam_client, api_calls, user, make_key):
    args = {"user_name": user, "public_key": make_key()}
    result = run_module(iam_ssh_key, args)
    assert result["changed"] is True
    assert api_calls.mutating == ["UploadSSHPublicKey"]
    api_calls.clear()
    assert run_module(iam_ssh_key, args)["changed"] is False
    assert api_calls.mutating == []
    assert [stored["SSHPublicKeyId"] for stored in keys_of(iam_client)] == [result["ssh_public_key_id"]]


@pytest.mark.parametrize(
    "make_key",
    [
        pytest.param(lambda: openssh(ed25519.Ed25519PrivateKey.generate()) + " jane@laptop", id="ed25519"),
        pytest.param(lambda: openssh(ec.generate_private_key(ec.SECP256R1())) + " jane@laptop", id="ecdsa-p256"),
        pytest.param(lambda: openssh(ec.generate_private_key(ec.SECP384R1())), id="ecdsa-p384"),
        pytest.param(lambda: openssh(ec.generate_private_key(ec.SECP521R1())), id="ecdsa-p521"),
        pytest.param(lambda: pem(ed25519.Ed25519PrivateKey.generate()), id="ed25519-pem"),
        pytest.param(lambda: pem(ec.generate_private_key(ec.SECP256R1())), id="ecdsa-p256-pem"),
    ],
)
@pytest.mark.parametrize("check_mode", [False, True], ids=["apply", "check"])
def test_present_refuses_ed25519_and_ecdsa_keys_before_any_aws_call(run_module, aws, api_calls, make_key, check_mode):
    result = run_module(iam_ssh_key, {"user_name": USER, "public_key": make_key()}, check_mode=check_mode)
    assert result["failed"] is True
    assert result["msg"].startswith("Invalid input: public_key is not a usable SSH public key: ")
    assert result["msg"].endswith("AWS accepts only RSA keys (ssh-rsa or PEM) of 2048 bits or more")
    assert api_calls == []


def test_present_ignores_comment_and_whitespace_when_matching(run_module, iam_client, api_calls, user, key):
    upload(iam_client, key)
    api_calls.clear()
    key_type, blob, _comment = key.split(" ", 2)
    result = run_module(iam_ssh_key, {"user_name": user, "public_key": f"\n  {key_type}\t{blob}   other@desktop \n"})
    assert result["changed"] is False
    assert api_calls.mutating == []


def test_present_with_pem_matches_same_rsa_key_uploaded_as_openssh(run_module, iam_client, api_calls, user):
    private = rsa_key()
    key_id = upload(iam_client, openssh(private))
    for fmt in (serialization.PublicFormat.SubjectPublicKeyInfo, serialization.PublicFormat.PKCS1):
        api_calls.clear()
        result = run_module(iam_ssh_key, {"user_name": user, "public_key": pem(private, fmt)})
        assert result["changed"] is False
        assert result["ssh_public_key_id"] == key_id
    assert api_calls.mutating == []


def test_present_with_openssh_matches_same_rsa_key_uploaded_as_pem(run_module, iam_client, api_calls, user):
    private = rsa_key()
    key_id = upload(iam_client, pem(private))
    api_calls.clear()
    result = run_module(iam_ssh_key, {"user_name": user, "public_key": openssh(private)})
    assert (result["changed"], result["ssh_public_key_id"]) == (False, key_id)
    assert api_calls.mutating == []


def test_present_with_another_key_uploads_a_second_key(run_module, iam_client, user, key, other_keys):
    first = upload(iam_client, key)
    result = run_module(iam_ssh_key, {"user_name": user, "public_key": other_keys[0]})
    assert result["changed"] is True
    assert result["ssh_public_key_id"] != first
    assert len(keys_of(iam_client)) == 2


def test_present_inactive_uploads_then_deactivates(run_module, iam_client, api_calls, user, key):
    args = {"user_name": user, "public_key": key, "active": False}
    predicted = run_module(iam_ssh_key, args, check_mode=True)
    assert (predicted["changed"], predicted["ssh_public_key"]["status"]) == (True, "Inactive")
    assert api_calls.mutating == []

    result = run_module(iam_ssh_key, args)
    assert result["ssh_public_key"]["status"] == "Inactive"
    assert api_calls.mutating == ["UploadSSHPublicKey", "UpdateSSHPublicKey"]
    assert [stored["Status"] for stored in keys_of(iam_client)] == ["Inactive"]

    api_calls.clear()
    assert run_module(iam_ssh_key, args)["changed"] is False
    assert api_calls.mutating == []


def test_active_toggle_by_body_with_check_mode_and_diff(run_module, iam_client, api_calls, user, key):
    key_id = upload(iam_client, key)
    api_calls.clear()
    args = {"user_name": user, "public_key": key, "active": False}

    predicted = run_module(iam_ssh_key, args, check_mode=True, diff=True)
    assert predicted["changed"] is True
    assert predicted["diff"]["before"]["status"] == "Active"
    assert predicted["diff"]["after"]["status"] == "Inactive"
    assert predicted["diff"]["after"]["ssh_public_key_id"] == key_id
    assert api_calls.mutating == []
    assert keys_of(iam_client)[0]["Status"] == "Active"

    result = run_module(iam_ssh_key, args, diff=True)
    assert result["changed"] is True
    assert result["diff"] == predicted["diff"]
    assert keys_of(iam_client)[0]["Status"] == "Inactive"
    assert api_calls.mutating == ["UpdateSSHPublicKey"]


def test_active_toggle_by_id_reactivates_key(run_module, iam_client, api_calls, user, key):
    key_id = upload(iam_client, key)
    iam_client.update_ssh_public_key(UserName=user, SSHPublicKeyId=key_id, Status="Inactive")
    api_calls.clear()
    result = run_module(iam_ssh_key, {"user_name": user, "id": key_id})
    assert result["changed"] is True
    assert result["ssh_public_key"]["status"] == "Active"
    assert result["fingerprint"] == keys_of(iam_client)[0]["Fingerprint"]
    assert keys_of(iam_client)[0]["Status"] == "Active"
    assert api_calls.mutating == ["UpdateSSHPublicKey"]


def test_diff_never_contains_the_key_body(run_module, user, key):
    result = run_module(iam_ssh_key, {"user_name": user, "public_key": key}, diff=True)
    assert result["diff"]["before"] == {}
    assert result["diff"]["after"] == result["ssh_public_key"]
    assert key.split()[1] not in str(result["diff"])


def test_check_mode_fingerprint_is_md5_of_key_blob_as_aws_computes_it(run_module, user, key, tmp_path):
    result = run_module(iam_ssh_key, {"user_name": user, "public_key": key}, check_mode=True)
    fingerprint = result["fingerprint"]
    assert len(fingerprint.split(":")) == 16
    if shutil.which("ssh-keygen"):
        (tmp_path / "key.pub").write_text(key + "\n")
        listing = subprocess.run(
            ["ssh-keygen", "-l", "-E", "md5", "-f", str(tmp_path / "key.pub")],  # noqa: S607 - test tool
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert f"MD5:{fingerprint}" in listing


def test_sixth_key_fails_naming_public_key_before_upload(run_module, iam_client, api_calls, user, key, other_keys):
    # moto has no 5-key limit; the module must refuse before asking AWS.
    for other in other_keys:
        upload(iam_client, other)
    api_calls.clear()
    for check_mode in (True, False):
        result = run_module(iam_ssh_key, {"user_name": user, "public_key": key}, check_mode=check_mode)
        assert result["failed"] is True
        assert result["msg"].startswith("public_key: user techsquawks-user already has 5 SSH public keys")
    assert api_calls.mutating == []
    assert len(keys_of(iam_client)) == 5


def test_fifth_key_uploads_and_existing_key_is_found_when_at_the_limit(
    run_module, iam_client, api_calls, user, key, other_keys
):
    for other in other_keys[:4]:
        upload(iam_client, other)
    assert run_module(iam_ssh_key, {"user_name": user, "public_key": key})["changed"] is True
    api_calls.clear()
    assert run_module(iam_ssh_key, {"user_name": user, "public_key": key})["changed"] is False
    assert api_calls.mutating == []


def test_duplicate_uploaded_elsewhere_is_not_uploaded_again(run_module, iam_client, api_calls, user, key):
    # AWS refuses duplicates (DuplicateSSHPublicKey) but moto accepts them: the module must not rely on either.
    upload(iam_client, key)
    second = upload(iam_client, key)
    iam_client.update_ssh_public_key(UserName=user, SSHPublicKeyId=second, Status="Inactive")
    api_calls.clear()
    result = run_module(iam_ssh_key, {"user_name": user, "public_key": key, "active": False})
    assert (result["changed"], result["ssh_public_key_id"]) == (False, second)
    assert api_calls.mutating == []


def test_present_with_unknown_id_fails_naming_ssh_public_key_id(run_module, api_calls, user):
    result = run_module(iam_ssh_key, {"user_name": user, "ssh_public_key_id": "APKAEXAMPLEEXAMPLE00"})
    assert result["failed"] is True
    assert result["msg"].startswith(f"ssh_public_key_id: user {user} has no SSH public key APKAEXAMPLEEXAMPLE00")
    assert api_calls.mutating == []


def test_id_and_body_of_different_keys_fail_without_changes(run_module, iam_client, api_calls, user, key, other_keys):
    upload(iam_client, key)
    other_id = upload(iam_client, other_keys[0])
    api_calls.clear()
    for state in ("present", "absent"):
        result = run_module(iam_ssh_key, {"user_name": user, "public_key": key, "id": other_id, "state": state})
        assert result["failed"] is True
        assert result["msg"].startswith(f"ssh_public_key_id: key {other_id} of user {user} holds another key")
    assert api_calls.mutating == []
    assert len(keys_of(iam_client)) == 2


def test_body_uploaded_under_another_id_fails(run_module, iam_client, api_calls, user, key):
    key_id = upload(iam_client, key)
    api_calls.clear()
    result = run_module(iam_ssh_key, {"user_name": user, "public_key": key, "id": "APKAEXAMPLEEXAMPLE00"})
    assert result["failed"] is True
    assert f"public_key is uploaded for user {user} as {key_id}" in result["msg"]
    assert api_calls.mutating == []


def test_present_for_missing_user_fails_naming_user_name(run_module, aws, api_calls, key):
    result = run_module(iam_ssh_key, {"user_name": "nobody", "public_key": key})
    assert result["failed"] is True
    assert result["msg"] == "user_name: user nobody does not exist"
    assert api_calls.mutating == []


def test_check_mode_for_missing_user_predicts_upload_with_warning(run_module, aws, api_calls, key):
    result = run_module(iam_ssh_key, {"user_name": "nobody", "public_key": key}, check_mode=True)
    assert result["changed"] is True
    assert result["ssh_public_key"]["user_name"] == "nobody"
    assert "User nobody does not exist; assuming an earlier task would create it." in str(result["warnings"])
    assert api_calls.mutating == []


# -- absent ---------------------------------------------------------------------------------------


def test_absent_by_body_deletes_key_with_check_mode_first(run_module, iam_client, api_calls, user, key):
    key_id = upload(iam_client, key)
    args = {"user_name": user, "public_key": key, "state": "absent"}
    api_calls.clear()

    predicted = run_module(iam_ssh_key, args, check_mode=True, diff=True)
    assert (predicted["changed"], predicted["removed"]) == (True, [key_id])
    assert predicted["diff"]["before"]["ssh_public_key_id"] == key_id
    assert predicted["diff"]["after"] == {}
    assert api_calls.mutating == []
    assert len(keys_of(iam_client)) == 1

    result = run_module(iam_ssh_key, args)
    assert (result["changed"], result["removed"], result["ssh_public_key"]) == (True, [key_id], {})
    assert keys_of(iam_client) == []

    api_calls.clear()
    again = run_module(iam_ssh_key, args)
    assert (again["changed"], again["removed"]) == (False, [])
    assert api_calls.mutating == []


def test_absent_by_id_deletes_only_that_key(run_module, iam_client, user, key, other_keys):
    keep = upload(iam_client, key)
    drop = upload(iam_client, other_keys[0])
    result = run_module(iam_ssh_key, {"user_name": user, "id": drop, "state": "absent"})
    assert (result["changed"], result["removed"]) == (True, [drop])
    assert [stored["SSHPublicKeyId"] for stored in keys_of(iam_client)] == [keep]


def test_absent_by_body_removes_every_duplicate(run_module, iam_client, user, key):
    upload(iam_client, key)
    upload(iam_client, key)
    result = run_module(iam_ssh_key, {"user_name": user, "public_key": key, "state": "absent"})
    assert result["changed"] is True
    assert len(result["removed"]) == 2
    assert keys_of(iam_client) == []


@pytest.mark.parametrize(
    "args",
    [
        pytest.param({"id": "APKAEXAMPLEEXAMPLE00"}, id="unknown-id"),
        pytest.param({"user_name": "nobody", "id": "APKAEXAMPLEEXAMPLE00"}, id="unknown-user"),
    ],
)
def test_absent_when_missing_is_unchanged(run_module, api_calls, user, args):
    result = run_module(iam_ssh_key, {"user_name": user, "state": "absent", **args})
    assert (result["changed"], result["removed"]) == (False, [])
    assert api_calls.mutating == []


def test_absent_by_body_when_missing_is_unchanged(run_module, api_calls, user, key):
    result = run_module(iam_ssh_key, {"user_name": user, "public_key": key, "state": "absent"})
    assert (result["changed"], result["removed"]) == (False, [])
    assert api_calls.mutating == []


# -- validation before any AWS call ------------------------------------------------------------


def _swap_type(key: str, new_type: str) -> str:
    blob = key.split()[1]
    return f"{new_type} {blob}"


def _bad_keys() -> list:
    small_rsa = rsa_key(1024)
    ed = openssh(ed25519.Ed25519PrivateKey.generate())
    rsa_blob = base64.b64decode(openssh(rsa_key()).split()[1])
    truncated_blob = base64.b64encode(rsa_blob[:200]).decode()
    trailing_blob = base64.b64encode(rsa_blob + b"\x00").decode()
    private_pem = (
        rsa_key()
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )
    ec_pem = pem(ec.generate_private_key(ec.SECP256R1()))
    return [
        pytest.param(openssh(small_rsa), f"1024-bit RSA key; {ACCEPTED}", id="rsa-1024"),
        pytest.param(pem(small_rsa), f"1024-bit RSA key; {ACCEPTED}", id="rsa-1024-pem"),
        pytest.param(pem(small_rsa, serialization.PublicFormat.PKCS1), "1024-bit RSA key", id="rsa-1024-pkcs1"),
        pytest.param("ssh-rsa AAAA!!!notbase64", "not valid base64", id="bad-base64"),
        pytest.param(_swap_type(ed, "ssh-rsa"), "of type 'ssh-ed25519', not 'ssh-rsa'", id="type-mismatch"),
        pytest.param(_swap_type(ed, "ssh-dss"), f"its type is 'ssh-dss'; {ACCEPTED}", id="dsa"),
        pytest.param(f"ssh-rsa {truncated_blob}", "truncated", id="truncated"),
        pytest.param(f"ssh-rsa {trailing_blob}", "trailing bytes", id="trailing-bytes"),
        pytest.param("ssh-rsa", "not in OpenSSH format", id="no-blob"),
        pytest.param(f"{openssh(small_rsa)}\n{openssh(small_rsa)}", "spans several lines", id="two-keys"),
        pytest.param(private_pem, "it is a private key", id="private-key"),
        pytest.param(ec_pem, f"not an RSA public key; {ACCEPTED}", id="ec-pem"),
        pytest.param("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----", "not a PUBLIC KEY", id="cert"),
        pytest.param("ssh-rsa " + "A" * 17000, "1 to 16384 characters", id="too-long"),
    ]


ACCEPTED = "AWS accepts only RSA keys (ssh-rsa or PEM) of 2048 bits or more"


@pytest.mark.parametrize(("public_key", "reason"), _bad_keys())
def test_invalid_public_key_fails_before_any_aws_call(run_module, aws, api_calls, public_key, reason):
    result = run_module(iam_ssh_key, {"user_name": USER, "public_key": public_key})
    assert result["failed"] is True
    assert result["msg"].startswith("Invalid input: public_key ")
    assert reason in result["msg"]
    assert api_calls == []


def test_error_message_never_repeats_the_key_material(run_module, aws, api_calls):
    small = openssh(rsa_key(1024))
    result = run_module(iam_ssh_key, {"user_name": USER, "public_key": small})
    assert small.split()[1][:40] not in result["msg"]


@pytest.mark.parametrize(
    ("args", "option"),
    [
        pytest.param({"user_name": "a b", "public_key": "x"}, "user_name", id="user-name"),
        pytest.param({"user_name": USER, "id": "short"}, "ssh_public_key_id", id="short-id"),
        pytest.param({"user_name": USER, "id": "APKA-EXAMPLE-EXAMPLE-00"}, "ssh_public_key_id", id="id-chars"),
        pytest.param({"user_name": USER}, "public_key, ssh_public_key_id", id="neither"),
    ],
)
def test_invalid_options_fail_naming_the_option_before_any_aws_call(run_module, aws, api_calls, args, option):
    result = run_module(iam_ssh_key, args)
    assert result["failed"] is True
    assert option in result["msg"]
    assert api_calls == []


# -- parsing ----------------------------------------------------------------------------------------


@given(st.text(max_size=300))
def test_parse_public_key_rejects_garbage_only_with_invalid_key(text):
    with contextlib.suppress(_ssh_key.InvalidKey):
        _ssh_key.parse_public_key(text)


@given(st.binary(max_size=300))
def test_parse_public_key_rejects_malformed_blobs_only_with_invalid_key(tail):
    blob = len(b"ssh-rsa").to_bytes(4, "big") + b"ssh-rsa" + tail
    with contextlib.suppress(_ssh_key.InvalidKey):
        _ssh_key.parse_public_key(f"ssh-rsa {base64.b64encode(blob).decode()}")


@given(
    st.sampled_from(["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-dss"]),
    st.binary(max_size=300),
)
def test_parse_public_key_refuses_every_non_rsa_key_type(key_type, tail):
    blob = len(key_type).to_bytes(4, "big") + key_type.encode() + tail
    with pytest.raises(_ssh_key.InvalidKey, match=r"AWS accepts only RSA keys \(ssh-rsa or PEM\) of 2048 bits"):
        _ssh_key.parse_public_key(f"{key_type} {base64.b64encode(blob).decode()}")


RSA_KEY = openssh(rsa_key())


@given(
    st.text(st.characters(codec="latin-1", exclude_categories=("Cc", "Zl", "Zp")), max_size=40),
    st.sampled_from([" ", "\t", "  "]),
    st.sampled_from(["", " ", "\n", " \r\n"]),
)
# A public key whose comment happens to say "PRIVATE KEY" is still a public key (found by hypothesis).
@example(comment="PRIVATE KEY", separator=" ", padding="")
def test_canonical_form_ignores_comment_and_surrounding_whitespace(comment, separator, padding):
    key_type, blob = RSA_KEY.split()
    text = f"{padding}{key_type}{separator}{blob} {comment}{padding}"
    assert _ssh_key.parse_public_key(text).canonical == RSA_KEY


def test_canonical_form_is_identical_for_openssh_and_both_pem_formats(rsa_private):
    forms = {
        _ssh_key.parse_public_key(text).canonical
        for text in (
            openssh(rsa_private) + " comment",
            pem(rsa_private),
            pem(rsa_private, serialization.PublicFormat.PKCS1),
        )
    }
    assert forms == {openssh(rsa_private)}
