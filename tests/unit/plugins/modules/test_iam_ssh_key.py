"""iam_ssh_key: what is specific to SSH public keys (formats, key types and sizes, fingerprints, parsing).

The real main() against moto in-process, with keys generated in the test. The scenarios iam_ssh_key shares
with iam_signing_certificate (upload, status, limit, absent, option checks) are in test_uploaded_modules.py.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from hypothesis import example, given
from hypothesis import strategies as st

from ansible_collections.techsquawks.iam.plugins.module_utils import _ssh_key
from ansible_collections.techsquawks.iam.plugins.modules import iam_ssh_key
from tests.uploaded_kinds import md5_fingerprint, openssh, rsa_private_keys

USER = "techsquawks-user"
ACCEPTED = "AWS accepts only RSA keys (ssh-rsa or PEM) of 2048 bits or more"
INVALID = "Invalid input: public_key is not a usable SSH public key: "
NOT_SSH_RSA = "its key data is not a valid ssh-rsa key (truncated, corrupt or of another type)"


def rsa_key(bits: int = 2048):
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def pem(private_key, fmt=serialization.PublicFormat.SubjectPublicKeyInfo) -> str:
    return private_key.public_key().public_bytes(serialization.Encoding.PEM, fmt).decode()


def pem_block(der: bytes, label: str = "PUBLIC KEY") -> str:
    return f"-----BEGIN {label}-----\n{base64.encodebytes(der).decode()}-----END {label}-----\n"


@pytest.fixture(scope="module")
def rsa_private():
    [key] = rsa_private_keys(1)
    return key


@pytest.fixture
def user(iam_client, api_calls) -> str:
    iam_client.create_user(UserName=USER)
    api_calls.clear()
    return USER


def key_ids(iam_client) -> list[str]:
    return [item["SSHPublicKeyId"] for item in iam_client.list_ssh_public_keys(UserName=USER)["SSHPublicKeys"]]


def upload(iam_client, body: str) -> str:
    return iam_client.upload_ssh_public_key(UserName=USER, SSHPublicKeyBody=body)["SSHPublicKey"]["SSHPublicKeyId"]


# -- formats ----------------------------------------------------------------------------------------


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
    assert key_ids(iam_client) == [result["ssh_public_key_id"]]


@pytest.mark.parametrize(
    ("make_key", "reason"),
    [
        pytest.param(
            lambda: openssh(ed25519.Ed25519PrivateKey.generate()) + " jane@laptop",
            f"its type is 'ssh-ed25519'; {ACCEPTED}",
            id="ed25519",
        ),
        pytest.param(
            lambda: openssh(ec.generate_private_key(ec.SECP256R1())) + " jane@laptop",
            f"its type is 'ecdsa-sha2-nistp256'; {ACCEPTED}",
            id="ecdsa-p256",
        ),
        pytest.param(
            lambda: openssh(ec.generate_private_key(ec.SECP384R1())),
            f"its type is 'ecdsa-sha2-nistp384'; {ACCEPTED}",
            id="ecdsa-p384",
        ),
        pytest.param(
            lambda: openssh(ec.generate_private_key(ec.SECP521R1())),
            f"its type is 'ecdsa-sha2-nistp521'; {ACCEPTED}",
            id="ecdsa-p521",
        ),
        pytest.param(
            lambda: pem(ed25519.Ed25519PrivateKey.generate()),
            f"its PEM data is not an RSA public key; {ACCEPTED}",
            id="ed25519-pem",
        ),
        pytest.param(
            lambda: pem(ec.generate_private_key(ec.SECP256R1())),
            f"its PEM data is not an RSA public key; {ACCEPTED}",
            id="ecdsa-p256-pem",
        ),
    ],
)
@pytest.mark.parametrize("check_mode", [False, True], ids=["apply", "check"])
def test_present_refuses_ed25519_and_ecdsa_keys_before_any_aws_call(
    run_module, aws, api_calls, make_key, reason, check_mode
):
    result = run_module(iam_ssh_key, {"user_name": USER, "public_key": make_key()}, check_mode=check_mode)
    assert result["failed"] is True
    assert result["msg"] == INVALID + reason
    assert api_calls == []


def test_present_with_pem_matches_same_rsa_key_uploaded_as_openssh(run_module, iam_client, api_calls, user):
    private = rsa_key()
    key_id = upload(iam_client, openssh(private))
    for fmt in (serialization.PublicFormat.SubjectPublicKeyInfo, serialization.PublicFormat.PKCS1):
        api_calls.clear()
        result = run_module(iam_ssh_key, {"user_name": user, "public_key": pem(private, fmt)})
        assert (result["changed"], result["ssh_public_key_id"]) == (False, key_id)
        assert api_calls.mutating == []


def test_present_with_openssh_matches_same_rsa_key_uploaded_as_pem(run_module, iam_client, api_calls, user):
    private = rsa_key()
    key_id = upload(iam_client, pem(private))
    api_calls.clear()
    result = run_module(iam_ssh_key, {"user_name": user, "public_key": openssh(private)})
    assert (result["changed"], result["ssh_public_key_id"]) == (False, key_id)
    assert api_calls.mutating == []


# -- fingerprints -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fmt",
    [
        pytest.param(None, id="openssh"),
        pytest.param(serialization.PublicFormat.SubjectPublicKeyInfo, id="pem-public-key"),
        pytest.param(serialization.PublicFormat.PKCS1, id="pem-rsa-public-key"),
    ],
)
def test_check_mode_fingerprint_is_md5_of_the_ssh_key_blob_in_every_format(run_module, user, rsa_private, fmt):
    # AWS reports the MD5 of the SSH wire-format key (as ssh-keygen -l -E md5), however the key was given.
    body = openssh(rsa_private) + " jane@laptop" if fmt is None else pem(rsa_private, fmt)
    result = run_module(iam_ssh_key, {"user_name": user, "public_key": body}, check_mode=True)
    assert result["fingerprint"] == md5_fingerprint(openssh(rsa_private))
    assert result["ssh_public_key"]["fingerprint"] == result["fingerprint"]


@pytest.mark.skipif(not shutil.which("ssh-keygen"), reason="OpenSSH's ssh-keygen is not installed")
def test_fingerprint_is_what_ssh_keygen_prints(rsa_private, tmp_path):
    (tmp_path / "key.pub").write_text(openssh(rsa_private) + " jane@laptop\n")
    listing = subprocess.run(
        ["ssh-keygen", "-l", "-E", "md5", "-f", str(tmp_path / "key.pub")],  # noqa: S607 - test tool
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    fingerprint = _ssh_key.parse_public_key(pem(rsa_private)).fingerprint
    assert listing.split()[:2] == ["2048", f"MD5:{fingerprint}"]


# -- refused keys -----------------------------------------------------------------------------------


def _swap_type(key: str, new_type: str) -> str:
    return f"{new_type} {key.split()[1]}"


def _bad_keys() -> list:
    small_rsa = rsa_key(1024)
    ed = openssh(ed25519.Ed25519PrivateKey.generate())
    rsa_blob = base64.b64decode(openssh(rsa_key()).split()[1])
    truncated, trailing = (base64.b64encode(blob).decode() for blob in (rsa_blob[:200], rsa_blob + b"\x00"))
    private_pem = (
        rsa_key()
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )
    ec_pem = pem(ec.generate_private_key(ec.SECP256R1()))
    return [
        pytest.param(openssh(small_rsa), f"it is a 1024-bit RSA key; {ACCEPTED}", id="rsa-1024"),
        pytest.param(pem(small_rsa), f"it is a 1024-bit RSA key; {ACCEPTED}", id="rsa-1024-pem"),
        pytest.param(
            pem(small_rsa, serialization.PublicFormat.PKCS1),
            f"it is a 1024-bit RSA key; {ACCEPTED}",
            id="rsa-1024-pkcs1",
        ),
        pytest.param("ssh-rsa AAAA!!!notbase64", "its key data is not valid base64", id="bad-base64"),
        pytest.param(_swap_type(ed, "ssh-rsa"), NOT_SSH_RSA, id="type-mismatch"),
        pytest.param(_swap_type(ed, "ssh-dss"), f"its type is 'ssh-dss'; {ACCEPTED}", id="dsa"),
        pytest.param(f"ssh-rsa {truncated}", NOT_SSH_RSA, id="truncated"),
        pytest.param(f"ssh-rsa {trailing}", NOT_SSH_RSA, id="trailing-bytes"),
        pytest.param("ssh-rsa", "it is not in OpenSSH format '<type> <base64 key> [comment]'", id="no-blob"),
        pytest.param(
            f"{openssh(small_rsa)}\n{openssh(small_rsa)}",
            "it spans several lines; give one key on one line",
            id="two-keys",
        ),
        pytest.param(
            private_pem,
            "it is a private key; give the public key (ssh-keygen -y -f <private key file>)",
            id="private-key",
        ),
        pytest.param(ec_pem, f"its PEM data is not an RSA public key; {ACCEPTED}", id="ec-pem"),
        pytest.param(pem_block(b"\x30\x03\x02\x01\x05"), "its PEM data is not a valid public key", id="pem-garbage"),
        pytest.param(
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
            "its PEM block is not a PUBLIC KEY or RSA PUBLIC KEY block",
            id="cert",
        ),
    ]


@pytest.mark.parametrize(("public_key", "reason"), _bad_keys())
def test_invalid_public_key_fails_with_its_reason_before_any_aws_call(run_module, aws, api_calls, public_key, reason):
    result = run_module(iam_ssh_key, {"user_name": USER, "public_key": public_key})
    assert result["failed"] is True
    assert result["msg"] == INVALID + reason
    assert api_calls == []


def test_too_long_a_key_fails_before_any_aws_call(run_module, aws, api_calls):
    result = run_module(iam_ssh_key, {"user_name": USER, "public_key": "ssh-rsa " + "A" * 17000})
    assert result["failed"] is True
    assert result["msg"] == "Invalid input: public_key must be 1 to 16384 characters of printable Latin-1 text"
    assert api_calls == []


def test_error_message_never_repeats_the_key_material(run_module, aws, api_calls):
    small = openssh(rsa_key(1024))
    result = run_module(iam_ssh_key, {"user_name": USER, "public_key": small})
    assert result["msg"] == INVALID + f"it is a 1024-bit RSA key; {ACCEPTED}"
    assert small.split()[1][:40] not in result["msg"]


# -- parsing ----------------------------------------------------------------------------------------

# Every message parse_public_key refuses a key with.
REFUSALS = (
    r"^(it is a private key; |its PEM block is not |it spans several lines; |it is not in OpenSSH format |"
    r"its type is '.*'; AWS accepts only RSA keys|its key data is not valid base64$|"
    r"its key data is not a valid ssh-rsa key |it is a \d+-bit RSA key; |"
    r"its PEM data is not (a valid|an RSA) public key)"
)


def _ssh_string(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


@given(st.text(max_size=300))
@example("ssh-rsa AAAA")
@example("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----")
def test_parse_public_key_rejects_any_text_too_short_to_hold_a_2048_bit_key(text):
    # A 2048-bit key takes at least 372 characters in OpenSSH format (more in PEM): none of these is one.
    with pytest.raises(_ssh_key.InvalidKey, match=REFUSALS):
        _ssh_key.parse_public_key(text)


@given(st.binary(max_size=250))
def test_parse_public_key_rejects_ssh_rsa_blobs_too_short_to_hold_a_2048_bit_key(tail):
    # An RSA modulus of 2048 bits takes 256 bytes: whatever these bytes are, the key is malformed or too small.
    blob = _ssh_string(b"ssh-rsa") + tail
    with pytest.raises(
        _ssh_key.InvalidKey, match=r"^(its key data is not a valid ssh-rsa key |it is a \d+-bit RSA key; )"
    ):
        _ssh_key.parse_public_key(f"ssh-rsa {base64.b64encode(blob).decode()}")


@given(st.binary(min_size=1, max_size=200))
def test_parse_public_key_rejects_pem_blocks_too_short_to_hold_a_2048_bit_key(der):
    # A 2048-bit RSA SubjectPublicKeyInfo takes 294 bytes of DER.
    with pytest.raises(_ssh_key.InvalidKey, match=r"^its PEM data is not (a valid|an RSA) public key|^it is a \d+-bit"):
        _ssh_key.parse_public_key(pem_block(der))


RSA_KEY = openssh(rsa_private_keys(1)[0])
RSA_BLOB = base64.b64decode(RSA_KEY.split()[1])


@given(st.integers(min_value=1, max_value=len(RSA_BLOB) - 1))
def test_parse_public_key_rejects_every_truncation_of_a_valid_key(length):
    with pytest.raises(_ssh_key.InvalidKey, match=f"^{re.escape(NOT_SSH_RSA)}$"):
        _ssh_key.parse_public_key(f"ssh-rsa {base64.b64encode(RSA_BLOB[:length]).decode()}")


@given(st.binary(min_size=1, max_size=64))
def test_parse_public_key_rejects_a_valid_key_with_bytes_after_it(extra):
    with pytest.raises(_ssh_key.InvalidKey, match=f"^{re.escape(NOT_SSH_RSA)}$"):
        _ssh_key.parse_public_key(f"ssh-rsa {base64.b64encode(RSA_BLOB + extra).decode()}")


@given(
    st.sampled_from(["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-dss"]),
    st.binary(max_size=300),
)
def test_parse_public_key_rejects_every_non_rsa_key_type(key_type, tail):
    blob = _ssh_string(key_type.encode()) + tail
    refusal = f"its type is '{key_type}'; {ACCEPTED}"
    with pytest.raises(_ssh_key.InvalidKey, match=f"^{re.escape(refusal)}$"):
        _ssh_key.parse_public_key(f"{key_type} {base64.b64encode(blob).decode()}")


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


def test_parsed_key_reports_its_size_and_the_ssh_blob(rsa_private):
    parsed = _ssh_key.parse_public_key(pem(rsa_private, serialization.PublicFormat.PKCS1))
    assert (parsed.key_type, parsed.bits) == ("ssh-rsa", 2048)
    assert parsed.blob == base64.b64decode(openssh(rsa_private).split()[1])
