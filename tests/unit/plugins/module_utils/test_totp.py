"""The TOTP helper against the RFC 4226 and RFC 6238 test vectors, and the otpauth:// URI format."""

from __future__ import annotations

import base64
import urllib.parse

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.techsquawks.iam.plugins.module_utils import _totp

# RFC 6238 appendix B: the SHA1 key is "12345678901234567890"; SHA256 and SHA512 repeat it to 32 and 64 bytes.
RFC6238_KEYS = {
    "sha1": b"12345678901234567890",
    "sha256": b"12345678901234567890123456789012",
    "sha512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
RFC6238_VECTORS = [
    (59, "sha1", "94287082"),
    (59, "sha256", "46119246"),
    (59, "sha512", "90693936"),
    (1111111109, "sha1", "07081804"),
    (1111111109, "sha256", "68084774"),
    (1111111109, "sha512", "25091201"),
    (1111111111, "sha1", "14050471"),
    (1111111111, "sha256", "67062674"),
    (1111111111, "sha512", "99943326"),
    (1234567890, "sha1", "89005924"),
    (1234567890, "sha256", "91819424"),
    (1234567890, "sha512", "93441116"),
    (2000000000, "sha1", "69279037"),
    (2000000000, "sha256", "90698825"),
    (2000000000, "sha512", "38618901"),
    (20000000000, "sha1", "65353130"),
    (20000000000, "sha256", "77737706"),
    (20000000000, "sha512", "47863826"),
]
# RFC 4226 appendix D: HOTP values of counters 0..9 for the same SHA1 key, 6 digits.
RFC4226_VALUES = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"]


def b32(key: bytes) -> str:
    return base64.b32encode(key).decode("ascii")


@pytest.mark.parametrize(("for_time", "digest", "expected"), RFC6238_VECTORS)
def test_code_matches_rfc6238_test_vectors(for_time: int, digest: str, expected: str) -> None:
    assert _totp.code(b32(RFC6238_KEYS[digest]), for_time, digits=8, digest=digest) == expected


@pytest.mark.parametrize(("counter", "expected"), list(enumerate(RFC4226_VALUES)))
def test_hotp_matches_rfc4226_test_vectors(counter: int, expected: str) -> None:
    assert _totp.hotp(RFC6238_KEYS["sha1"], counter) == expected


def test_six_digit_code_is_the_last_six_digits_of_the_eight_digit_code() -> None:
    seed = b32(RFC6238_KEYS["sha1"])
    assert _totp.code(seed, 1111111109) == "081804"  # keeps the leading zero


def test_code_is_constant_within_a_step_and_changes_at_the_boundary() -> None:
    seed = b32(RFC6238_KEYS["sha1"])
    assert _totp.code(seed, 30) == _totp.code(seed, 59.999) == RFC4226_VALUES[1]
    assert _totp.code(seed, 60) == RFC4226_VALUES[2]


def test_consecutive_codes_are_those_of_the_previous_and_current_steps() -> None:
    seed = b32(RFC6238_KEYS["sha1"])
    assert _totp.consecutive_codes(seed, 95.5) == (RFC4226_VALUES[2], RFC4226_VALUES[3])
    assert _totp.consecutive_codes(seed, 90) == (RFC4226_VALUES[2], RFC4226_VALUES[3])


def test_seed_decoding_tolerates_case_spaces_and_missing_padding() -> None:
    seed = b32(b"0123456789")  # 16 characters, no padding needed
    padded = b32(b"01234")  # 8 characters
    assert _totp.decode_seed(seed.lower()) == b"0123456789"
    assert _totp.decode_seed(" ".join(seed[i : i + 4] for i in range(0, len(seed), 4))) == b"0123456789"
    assert _totp.decode_seed(b32(b"abc").rstrip("=")) == b"abc"
    assert _totp.decode_seed(padded) == b"01234"


def test_invalid_seed_fails_without_repeating_the_seed() -> None:
    with pytest.raises(ValueError, match="not valid base32") as info:
        _totp.decode_seed("SECRET1SEED8")
    assert "SECRET1SEED8" not in str(info.value)
    assert info.value.__cause__ is None


def test_negative_counter_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        _totp.hotp(b"key", -1)


def test_otpauth_uri_has_the_issuer_prefixed_label_secret_and_issuer() -> None:
    uri = _totp.otpauth_uri("JBSWY3DPEHPK3PXP", "techsquawks-user", "AWS")
    assert uri == "otpauth://totp/AWS:techsquawks-user?secret=JBSWY3DPEHPK3PXP&issuer=AWS"


def test_otpauth_uri_percent_encodes_spaces_and_reserved_characters() -> None:
    uri = _totp.otpauth_uri("jbsw y3dp ehpk 3pxp", "jane+ops@example.com", "Acme Co & Sons")
    assert uri == (
        "otpauth://totp/Acme%20Co%20%26%20Sons:jane%2Bops@example.com"
        "?secret=JBSWY3DPEHPK3PXP&issuer=Acme%20Co%20%26%20Sons"
    )


@given(
    account=st.from_regex(r"[A-Za-z0-9_+=,.@-]{1,64}", fullmatch=True),
    issuer=st.text(st.characters(codec="utf-8", exclude_characters=":"), min_size=1, max_size=40),
    key=st.binary(min_size=10, max_size=40),
)
def test_otpauth_uri_round_trips_through_a_uri_parser(account: str, issuer: str, key: bytes) -> None:
    uri = _totp.otpauth_uri(b32(key), account, issuer)
    parts = urllib.parse.urlsplit(uri)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    label_issuer, label_account = urllib.parse.unquote(parts.path[1:]).split(":", 1)
    assert (label_issuer, label_account) == (issuer, account)
    query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
    assert query["issuer"] == [issuer]
    assert _totp.decode_seed(query["secret"][0]) == key
