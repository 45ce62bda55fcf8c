# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal use only: this file is not a public API of the collection and may change at any time.

"""SSH public keys of IAM users (for AWS CodeCommit): parsing, AWS's fingerprint and the SSH_KEY descriptor.

Keys are read, sized and re-encoded by the ``cryptography`` package; without it every key is refused. No boto3 here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import typing as t

from ansible_collections.techsquawks.iam.plugins.module_utils import _uploaded
from ansible_collections.techsquawks.iam.plugins.module_utils._iam import IAM

try:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    HAS_CRYPTOGRAPHY = True
except ImportError:  # every key is then refused, naming the option (see _uploaded.validate)
    HAS_CRYPTOGRAPHY = False

MAX_KEYS_PER_USER = 5
MIN_RSA_BITS = 2048
SSH_KEY_TYPE = "ssh-rsa"
ACCEPTED_KEYS = f"AWS accepts only RSA keys ({SSH_KEY_TYPE} or PEM) of {MIN_RSA_BITS} bits or more"
# The PEM framing only: the key inside is read by cryptography.
_PEM_RE = re.compile(r"^-----BEGIN (RSA PUBLIC KEY|PUBLIC KEY)-----\s+[A-Za-z0-9+/=\s]+?\s*-----END \1-----$")


class InvalidKey(ValueError):
    """The key text is not a usable public key; the message never repeats the key."""


class ParsedKey(t.NamedTuple):
    key: rsa.RSAPublicKey  # an RSA key of MIN_RSA_BITS or more, however it was given

    @property
    def key_type(self) -> str:
        return SSH_KEY_TYPE

    @property
    def bits(self) -> int:
        return self.key.key_size

    @property
    def canonical(self) -> str:
        """The key's identity: ``ssh-rsa <base64 key blob>``, without comment or formatting."""
        return self.key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()

    @property
    def blob(self) -> bytes:
        """The SSH wire-format key blob (RFC 4253), as cryptography encodes it."""
        return base64.b64decode(self.canonical.split()[1])

    @property
    def fingerprint(self) -> str:
        """AWS's fingerprint: the MD5 of the key blob as colon-separated hex (``ssh-keygen -l -E md5``)."""
        digest = hashlib.md5(self.blob, usedforsecurity=False).hexdigest()
        return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


# -- parsing (pure) -----------------------------------------------------------------------------


def _rsa(key: object, source: str) -> ParsedKey:
    """The key when it is an RSA key AWS accepts; ``source`` names what held it ("its PEM data", ...)."""
    if not isinstance(key, rsa.RSAPublicKey):
        raise InvalidKey(f"{source} is not an RSA public key; {ACCEPTED_KEYS}")
    if key.key_size < MIN_RSA_BITS:
        raise InvalidKey(f"it is a {key.key_size}-bit RSA key; {ACCEPTED_KEYS}")
    return ParsedKey(key)


def _parse_pem(text: str) -> ParsedKey:
    # Both labels: PUBLIC KEY (SubjectPublicKeyInfo) and RSA PUBLIC KEY (PKCS#1).
    try:
        key = serialization.load_pem_public_key(text.encode("latin-1"))
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise InvalidKey("its PEM data is not a valid public key") from exc
    return _rsa(key, "its PEM data")


def _parse_openssh(text: str) -> ParsedKey:
    parts = text.split(None, 2)
    if len(parts) < 2:
        raise InvalidKey("it is not in OpenSSH format '<type> <base64 key> [comment]'")
    key_type, encoded = parts[0], parts[1]
    if key_type != SSH_KEY_TYPE:
        raise InvalidKey(f"its type is '{key_type[:40]}'; {ACCEPTED_KEYS}")
    try:
        base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidKey("its key data is not valid base64") from exc
    try:
        # The comment is left out: cryptography reads the type and the key blob.
        key = serialization.load_ssh_public_key(f"{key_type} {encoded}".encode("latin-1"))
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise InvalidKey(
            f"its key data is not a valid {SSH_KEY_TYPE} key (truncated, corrupt or of another type)"
        ) from exc
    return _rsa(key, "its key data")


def parse_public_key(text: str) -> ParsedKey:
    """Parse an OpenSSH ``ssh-rsa`` one-line key or an RSA PEM public key; raise InvalidKey explaining why not."""
    if not HAS_CRYPTOGRAPHY:
        raise InvalidKey(_uploaded.missing_library_message("cryptography", "public_key"))
    text = text.strip()
    if "-----BEGIN" in text and "PRIVATE KEY-----" in text:
        raise InvalidKey("it is a private key; give the public key (ssh-keygen -y -f <private key file>)")
    if _PEM_RE.match(text):
        return _parse_pem(text)
    if text.startswith("-----BEGIN"):
        raise InvalidKey("its PEM block is not a PUBLIC KEY or RSA PUBLIC KEY block")
    if "\n" in text or "\r" in text:
        raise InvalidKey("it spans several lines; give one key on one line")
    return _parse_openssh(text)


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
    missing_library=None if HAS_CRYPTOGRAPHY else "cryptography",
)
