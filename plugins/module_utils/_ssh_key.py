# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal use only: this file is not a public API of the collection and may change at any time.

"""SSH public keys of IAM users (for AWS CodeCommit): parsing, AWS's fingerprint and the SSH_KEY descriptor.

No boto3 here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import typing as t

from ansible_collections.techsquawks.iam.plugins.module_utils import _uploaded
from ansible_collections.techsquawks.iam.plugins.module_utils._iam import IAM

MAX_KEYS_PER_USER = 5
MIN_RSA_BITS = 2048
SSH_KEY_TYPE = "ssh-rsa"
ACCEPTED_KEYS = f"AWS accepts only RSA keys ({SSH_KEY_TYPE} or PEM) of {MIN_RSA_BITS} bits or more"
_PEM_RE = re.compile(r"^-----BEGIN (RSA PUBLIC KEY|PUBLIC KEY)-----\s+([A-Za-z0-9+/=\s]+?)\s*-----END \1-----$")
# DER of the rsaEncryption object identifier (1.2.840.113549.1.1.1).
_RSA_OID = bytes.fromhex("06092a864886f70d010101")


class InvalidKey(ValueError):
    """The key text is not a usable public key; the message never repeats the key."""


class ParsedKey(t.NamedTuple):
    key_type: str  # always SSH_KEY_TYPE: RSA keys given in PEM are converted
    blob: bytes  # the SSH wire-format key blob

    @property
    def canonical(self) -> str:
        """The key's identity: type and blob, without comment or formatting."""
        return f"{self.key_type} {base64.b64encode(self.blob).decode()}"

    @property
    def fingerprint(self) -> str:
        """AWS's fingerprint: the MD5 of the key blob as colon-separated hex."""
        digest = hashlib.md5(self.blob, usedforsecurity=False).hexdigest()
        return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


# -- parsing (pure) -----------------------------------------------------------------------------


def _ssh_string(blob: bytes, offset: int) -> tuple[bytes, int]:
    if offset + 4 > len(blob):
        raise InvalidKey("its key data is truncated")
    length = int.from_bytes(blob[offset : offset + 4], "big")
    end = offset + 4 + length
    if end > len(blob):
        raise InvalidKey("its key data is truncated")
    return blob[offset + 4 : end], end


def _mpint(value: int) -> bytes:
    """SSH mpint of a positive integer: big-endian, with a leading zero byte when the top bit is set."""
    data = value.to_bytes((value.bit_length() + 8) // 8, "big")
    return len(data).to_bytes(4, "big") + data


def _ssh_rsa_blob(exponent: int, modulus: int) -> bytes:
    name = SSH_KEY_TYPE.encode()
    return len(name).to_bytes(4, "big") + name + _mpint(exponent) + _mpint(modulus)


def _check_rsa(exponent: int, modulus: int) -> None:
    if modulus <= 0 or exponent <= 0:
        raise InvalidKey("its RSA numbers are not positive")
    if modulus.bit_length() < MIN_RSA_BITS:
        raise InvalidKey(f"it is a {modulus.bit_length()}-bit RSA key; {ACCEPTED_KEYS}")


def _parse_ssh_rsa(blob: bytes) -> ParsedKey:
    embedded, offset = _ssh_string(blob, 0)
    if embedded != SSH_KEY_TYPE.encode():
        raise InvalidKey(f"its key data is of type '{embedded.decode('ascii', 'replace')[:40]}', not '{SSH_KEY_TYPE}'")
    exponent, offset = _ssh_string(blob, offset)
    modulus, offset = _ssh_string(blob, offset)
    if offset != len(blob):
        raise InvalidKey("its key data has trailing bytes")
    exp, mod = int.from_bytes(exponent, "big", signed=True), int.from_bytes(modulus, "big", signed=True)
    _check_rsa(exp, mod)
    # Re-encoded, so the same RSA key given as PEM or as ssh-rsa has one identity.
    return ParsedKey(SSH_KEY_TYPE, _ssh_rsa_blob(exp, mod))


_DER_PROBLEMS = {
    "tag": "its PEM data is not an RSA public key",
    "length": "its PEM data is not an RSA public key",
    "truncated": "its PEM data is truncated",
}


def _der(data: bytes, offset: int, tag: int) -> tuple[bytes, int]:
    """Read one DER element with the expected tag: (content, offset after it)."""
    return _uploaded.der_element(data, offset, tag, invalid=InvalidKey, problems=_DER_PROBLEMS)


def _parse_pkcs1(der: bytes) -> ParsedKey:
    sequence, end = _der(der, 0, 0x30)
    if end != len(der):
        raise InvalidKey("its PEM data has trailing bytes")
    modulus, offset = _der(sequence, 0, 0x02)
    exponent, offset = _der(sequence, offset, 0x02)
    if offset != len(sequence):
        raise InvalidKey("its PEM data is not an RSA public key")
    exp, mod = int.from_bytes(exponent, "big", signed=True), int.from_bytes(modulus, "big", signed=True)
    _check_rsa(exp, mod)
    return ParsedKey(SSH_KEY_TYPE, _ssh_rsa_blob(exp, mod))


def _parse_pem(label: str, text: str) -> ParsedKey:
    try:
        der = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidKey("its PEM data is not valid base64") from exc
    if label == "RSA PUBLIC KEY":
        return _parse_pkcs1(der)
    # SubjectPublicKeyInfo: SEQUENCE { SEQUENCE { OID, params }, BIT STRING { RSAPublicKey } }
    info, end = _der(der, 0, 0x30)
    algorithm, offset = _der(info, 0, 0x30)
    if end != len(der) or not algorithm.startswith(_RSA_OID):
        raise InvalidKey(f"its PEM data is not an RSA public key; {ACCEPTED_KEYS}")
    bits, offset = _der(info, offset, 0x03)
    if offset != len(info) or bits[:1] != b"\x00":
        raise InvalidKey("its PEM data is not an RSA public key")
    return _parse_pkcs1(bits[1:])


def parse_public_key(text: str) -> ParsedKey:
    """Parse an OpenSSH ``ssh-rsa`` one-line key or an RSA PEM public key; raise InvalidKey explaining why not."""
    text = text.strip()
    if "-----BEGIN" in text and "PRIVATE KEY-----" in text:
        raise InvalidKey("it is a private key; give the public key (ssh-keygen -y -f <private key file>)")
    pem = _PEM_RE.match(text)
    if pem:
        return _parse_pem(pem.group(1), pem.group(2))
    if text.startswith("-----BEGIN"):
        raise InvalidKey("its PEM block is not a PUBLIC KEY or RSA PUBLIC KEY block")
    if "\n" in text or "\r" in text:
        raise InvalidKey("it spans several lines; give one key on one line")
    parts = text.split(None, 2)
    if len(parts) < 2:
        raise InvalidKey("it is not in OpenSSH format '<type> <base64 key> [comment]'")
    key_type, encoded = parts[0], parts[1]
    if key_type != SSH_KEY_TYPE:
        raise InvalidKey(f"its type is '{key_type[:40]}'; {ACCEPTED_KEYS}")
    try:
        blob = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidKey("its key data is not valid base64") from exc
    return _parse_ssh_rsa(blob)


# -- the descriptor ----------------------------------------------------------------------------


def identity(text: str) -> str:
    """A key's identity: its type and blob, the same for one RSA key given as ssh-rsa or PEM."""
    return parse_public_key(text).canonical


def predict(body: str) -> dict[str, t.Any]:
    """What IAM would report of the key before it is uploaded: its fingerprint, computed as AWS does."""
    return {"Fingerprint": parse_public_key(body).fingerprint}


SSH_KEY = _uploaded.Uploaded(
    noun="SSH public key",
    label="SSH key",
    plural="SSH public keys",
    body_option="public_key",
    id_option="ssh_public_key_id",
    id_field="SSHPublicKeyId",
    body_field="SSHPublicKeyBody",
    min_id_length=20,
    limit=MAX_KEYS_PER_USER,
    usable="SSH public key",
    mismatch="key {id} of user {user} holds another key than public_key",
    result_key="ssh_public_key",
    returns=("ssh_public_key_id", "fingerprint"),
    invalid=InvalidKey,
    identity=identity,
    predict=predict,
    fields={"fingerprint": "Fingerprint"},
    list_items=IAM.list_ssh_public_keys,
    upload=IAM.upload_ssh_public_key,
    update=IAM.update_ssh_public_key,
    delete=IAM.delete_ssh_public_key,
    # ListSSHPublicKeys has no bodies or fingerprints.
    get=IAM.get_ssh_public_key,
    # Ansible would take these names for secrets; a public key and its ID are not.
    not_secret=("public_key", "ssh_public_key_id"),
)
