# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal use only: this file is not a public API of the collection and may change at any time.

"""TOTP codes (RFC 6238 over RFC 4226 HOTP) and otpauth:// URIs, from the standard library only. No boto3 here.

AWS virtual MFA devices use the authenticator-app defaults: HMAC-SHA1, 6 digits, 30-second steps.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import typing as t
import urllib.parse

DEFAULT_STEP = 30
DEFAULT_DIGITS = 6
DIGESTS: dict[str, t.Callable[..., t.Any]] = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "sha512": hashlib.sha512,
}


def decode_seed(seed_base32: str) -> bytes:
    """The key bytes of a base32 seed; letter case, spaces and missing '=' padding are tolerated.

    The error never repeats the seed: it is a secret.
    """
    cleaned = "".join(seed_base32.split()).upper().rstrip("=")
    try:
        return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))
    except (binascii.Error, ValueError):
        raise ValueError("the MFA seed is not valid base32") from None


def hotp(key: bytes, counter: int, digits: int = DEFAULT_DIGITS, digest: str = "sha1") -> str:
    """RFC 4226 HOTP value of ``counter`` (dynamic truncation), zero-padded to ``digits``."""
    if counter < 0:
        raise ValueError("the HOTP counter must not be negative")
    mac = hmac.new(key, counter.to_bytes(8, "big"), DIGESTS[digest]).digest()
    offset = mac[-1] & 0x0F
    value = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def time_step(for_time: float, step: int = DEFAULT_STEP) -> int:
    """The RFC 6238 counter T = floor(unix time / step) (T0 = 0)."""
    return int(for_time // step)


def code(
    seed_base32: str, for_time: float, step: int = DEFAULT_STEP, digits: int = DEFAULT_DIGITS, digest: str = "sha1"
) -> str:
    """The TOTP code an authenticator app shows at unix time ``for_time`` for this base32 seed."""
    return hotp(decode_seed(seed_base32), time_step(for_time, step), digits, digest)


def consecutive_codes(seed_base32: str, now: float, step: int = DEFAULT_STEP) -> tuple[str, str]:
    """Two consecutive codes, of the previous and of the current time step.

    EnableMFADevice needs AuthenticationCode1 and the code that follows it; both windows are already
    open, so enrolment needs no waiting, and AWS accepts a recent previous code.
    """
    key = decode_seed(seed_base32)
    current = time_step(now, step)
    return hotp(key, current - 1), hotp(key, current)


def otpauth_uri(seed_base32: str, account: str, issuer: str) -> str:
    """``otpauth://totp/<issuer>:<account>?secret=<seed>&issuer=<issuer>`` (Google Authenticator key URI format).

    Label parts and query values are percent-encoded (spaces as %20, not '+'), which every authenticator
    app decodes; the colon between issuer and account stays literal.
    """
    label = f"{urllib.parse.quote(issuer, safe='@')}:{urllib.parse.quote(account, safe='@')}"
    seed = "".join(seed_base32.split()).upper().rstrip("=")
    query = urllib.parse.urlencode({"secret": seed, "issuer": issuer}, quote_via=urllib.parse.quote)
    return f"otpauth://totp/{label}?{query}"
