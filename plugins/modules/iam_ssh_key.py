#!/usr/bin/python
# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: iam_ssh_key
short_description: Manage the SSH public keys of an AWS IAM user (for AWS CodeCommit)
version_added: 1.0.0
description:
  - Uploads, activates, deactivates and deletes one SSH public key of an IAM user.
  - A key is identified by its key material (the RSA modulus and exponent), so the trailing comment and
    whitespace do not matter, the same key given as C(ssh-rsa) or in PEM matches, and a second run uploads nothing.
  - The key is validated before any AWS call. AWS accepts only RSA keys (C(ssh-rsa) or PEM) of at least
    2048 bits, and IAM allows at most five SSH public keys per user; both are checked before uploading.
author:
  - techsquawks.iam contributors (@techsquawks)
options:
  active:
    description:
      - Whether the key should be V(Active) (V(true)) or V(Inactive) (V(false)).
      - Ignored with O(state=absent).
    type: bool
    default: true
  public_key:
    description:
      - The public key, one line in OpenSSH format (C(ssh-rsa AAAA... comment)), or an RSA public key in
        PEM format (C(-----BEGIN PUBLIC KEY-----) or C(-----BEGIN RSA PUBLIC KEY-----)).
      - The key must be an RSA key of at least 2048 bits, as AWS requires. Other key types, such as
        C(ssh-ed25519) and C(ecdsa-sha2-nistp256), and private keys are refused before any AWS call.
      - Required to upload a key. With O(ssh_public_key_id) as well, both must designate the same key.
    type: str
  ssh_public_key_id:
    description:
      - The ID of an uploaded key (C(APKA...)), to activate, deactivate or delete a key without its body.
      - IDs are assigned by AWS, so a key cannot be uploaded under a chosen ID.
    type: str
    aliases: [id]
  state:
    description:
      - V(present) uploads the key when missing and sets its status; V(absent) deletes it.
      - With V(absent), a key (or user) that does not exist is not an error.
    type: str
    choices: [present, absent]
    default: present
  user_name:
    description:
      - The name of the IAM user that owns the key.
    type: str
    required: true
extends_documentation_fragment:
  - techsquawks.iam.connection
  - techsquawks.iam.connection.attributes
notes:
  - One of O(public_key) and O(ssh_public_key_id) is required.
  - In check mode, when O(user_name) does not exist yet (for example because an earlier task would create
    it), the upload is predicted with a warning instead of failing.
seealso:
  - module: techsquawks.iam.iam_user
  - module: techsquawks.iam.iam_signing_certificate
"""

EXAMPLES = r"""
- name: Give a user an SSH key for CodeCommit
  techsquawks.iam.iam_ssh_key:
    user_name: techsquawks-user
    public_key: "{{ lookup('ansible.builtin.file', 'keys/techsquawks-user.pub') }}"
  register: ssh_key

- name: Show the SSH user name for ~/.ssh/config (Host git-codecommit.*.amazonaws.com)
  ansible.builtin.debug:
    msg: "User {{ ssh_key.ssh_public_key_id }}"

- name: Deactivate the key, found by its body
  techsquawks.iam.iam_ssh_key:
    user_name: techsquawks-user
    public_key: "{{ lookup('ansible.builtin.file', 'keys/techsquawks-user.pub') }}"
    active: false

- name: Delete a key by its ID
  techsquawks.iam.iam_ssh_key:
    user_name: techsquawks-user
    id: APKAEIBAERJR2EXAMPLE
    state: absent
"""

RETURN = r"""
ssh_public_key:
  description: The key after the task (predicted in check mode); empty with O(state=absent).
  returned: always
  type: dict
  contains:
    ssh_public_key_id:
      description: The key's ID; also the SSH user name for CodeCommit. Null when predicted in check mode.
      type: str
      sample: APKAEIBAERJR2EXAMPLE
    fingerprint:
      description:
        - The key's MD5 fingerprint as reported by IAM.
        - For a predicted upload in check mode, computed locally as AWS does (MD5 of the key blob).
      type: str
      sample: "6b:2f:9e:4a:1c:0d:73:55:8e:aa:11:42:c3:7e:00:9f"
    status:
      description: V(Active) or V(Inactive).
      type: str
      sample: Active
    upload_date:
      description: When the key was uploaded (ISO 8601); null when predicted in check mode.
      type: str
      sample: "2026-11-28T15:11:50+00:00"
    user_name:
      description: The user that owns the key.
      type: str
      sample: techsquawks-user
ssh_public_key_id:
  description: Same as RV(ssh_public_key.ssh_public_key_id), for convenience.
  returned: always
  type: str
  sample: APKAEIBAERJR2EXAMPLE
fingerprint:
  description: Same as RV(ssh_public_key.fingerprint), for convenience.
  returned: always
  type: str
  sample: "6b:2f:9e:4a:1c:0d:73:55:8e:aa:11:42:c3:7e:00:9f"
removed:
  description: With O(state=absent), the IDs of the keys deleted (would be, in check mode).
  returned: when O(state=absent)
  type: list
  elements: str
  sample: [APKAEIBAERJR2EXAMPLE]
"""

import base64
import binascii
import functools
import hashlib
import re
import typing as t

from ansible_collections.techsquawks.iam.plugins.module_utils import _uploaded
from ansible_collections.techsquawks.iam.plugins.module_utils._iam import IAM
from ansible_collections.techsquawks.iam.plugins.module_utils._module import IAMModule

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
    return ParsedKey("ssh-rsa", _ssh_rsa_blob(exp, mod))


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
    if "PRIVATE KEY" in text:
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


# -- state ---------------------------------------------------------------------------------------


def identity(text: str) -> str:
    """A key's identity: its type and blob, the same for one RSA key given as ssh-rsa or PEM."""
    return parse_public_key(text).canonical


def predict(body: str) -> dict[str, t.Any]:
    """What IAM would report of the key before it is uploaded: its fingerprint, computed as AWS does."""
    return {"Fingerprint": parse_public_key(body).fingerprint}


SSH_KEY = _uploaded.Uploaded(
    noun="SSH public key",
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


def main() -> None:
    module = IAMModule(**_uploaded.module_args(SSH_KEY))
    module.fail_on_invalid(_uploaded.validate(SSH_KEY, module.params))
    module.execute(functools.partial(_uploaded.run_module, SSH_KEY))


if __name__ == "__main__":
    main()
