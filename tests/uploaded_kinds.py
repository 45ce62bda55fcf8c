"""The two kinds of body uploaded for a user (SSH public keys, signing certificates), seen from the tests.

What the tests expect of each kind (option names, messages, limits) is written here literally, not read from
the plugins' descriptors, so a test fails when a descriptor drifts. Bodies are made here: RSA keys with
cryptography (kept in a pool, 2048-bit generation is slow), certificates with tests/certificates.py.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import typing as t

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.certificates import rewrap, self_signed_certificate

_RSA_POOL: list[rsa.RSAPrivateKey] = []
_CERTIFICATE_POOL: list[str] = []


def rsa_private_keys(count: int) -> list[rsa.RSAPrivateKey]:
    """``count`` distinct 2048-bit RSA keys, the same ones on every call in a process."""
    while len(_RSA_POOL) < count:
        _RSA_POOL.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return _RSA_POOL[:count]


def openssh(private_key: t.Any) -> str:
    """``<type> <base64 blob>``, as ssh-keygen writes a public key (without a comment)."""
    public = private_key.public_key()
    return public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def md5_fingerprint(openssh_key: str) -> str:
    """AWS's (and ``ssh-keygen -l -E md5``'s) fingerprint of an OpenSSH key line: MD5 of the decoded blob."""
    digest = hashlib.md5(base64.b64decode(openssh_key.split()[1]), usedforsecurity=False).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


@dataclasses.dataclass(frozen=True)
class Kind:
    """One kind of uploaded body: how a test makes bodies, arranges them in IAM and what it expects back."""

    name: str  # the pytest id
    module_name: str  # plugins/modules/<module_name>.py
    operation: str  # the IAM operations' suffix: Upload<operation>, Update<operation>, Delete<operation>
    body_option: str
    id_option: str
    result_key: str
    noun: str  # in "user u has no <noun> <id>"
    plural: str  # in "user u already has 5 <plural>"
    label: str  # in "Failed to upload <label> for user u"
    limit: int
    mismatch: str  # the start of the message for an ID and a body of different items, with {id} and {user}
    unknown_id: str  # a well-formed ID that IAM never assigned
    short_id: str  # an ID too short for the kind
    invalid_body_code: str  # the error code AWS answers a body it refuses
    # The reads of the items when bodies must be compared: listing, and for SSH keys one get per item.
    reads_per_item: tuple[str, ...]
    list_operation: str

    def bodies(self, count: int) -> list[str]:
        """``count`` distinct valid bodies: the first ``count`` of a pool, the same on every call in a process."""
        raise NotImplementedError

    def rewritten(self, body: str) -> list[str]:
        """The same item written otherwise (comment, whitespace, line wrapping): it must match ``body``."""
        raise NotImplementedError

    def predicted_fields(self, body: str) -> dict[str, t.Any]:
        """The result fields besides ID, status, date and user known before uploading ``body``."""
        return {}

    def stored_fields(self, stored: dict[str, t.Any]) -> dict[str, t.Any]:
        """The result fields besides ID, status, date and user, from IAM's structure of the item."""
        return {}

    def upload(self, iam_client: t.Any, user_name: str, body: str) -> str:
        raise NotImplementedError

    def set_status(self, iam_client: t.Any, user_name: str, item_id: str, status: str) -> None:
        raise NotImplementedError

    def stored(self, iam_client: t.Any, user_name: str) -> list[dict[str, t.Any]]:
        """The user's items as IAM holds them, with ``Id``, ``Body``, ``Status`` and ``UploadDate``."""
        raise NotImplementedError


class _SSHKeys(Kind):
    def bodies(self, count: int) -> list[str]:
        return [f"{openssh(key)} person{index}@laptop" for index, key in enumerate(rsa_private_keys(count))]

    def rewritten(self, body: str) -> list[str]:
        key_type, blob = body.split()[:2]
        return [f"\n  {key_type}\t{blob}   other@desktop \n", f"{key_type} {blob}"]

    def predicted_fields(self, body: str) -> dict[str, t.Any]:
        return {"fingerprint": md5_fingerprint(body)}

    def stored_fields(self, stored: dict[str, t.Any]) -> dict[str, t.Any]:
        return {"fingerprint": stored["Fingerprint"]}

    def upload(self, iam_client: t.Any, user_name: str, body: str) -> str:
        answer = iam_client.upload_ssh_public_key(UserName=user_name, SSHPublicKeyBody=body)
        return answer["SSHPublicKey"]["SSHPublicKeyId"]

    def set_status(self, iam_client: t.Any, user_name: str, item_id: str, status: str) -> None:
        iam_client.update_ssh_public_key(UserName=user_name, SSHPublicKeyId=item_id, Status=status)

    def stored(self, iam_client: t.Any, user_name: str) -> list[dict[str, t.Any]]:
        items = []
        for listed in iam_client.list_ssh_public_keys(UserName=user_name)["SSHPublicKeys"]:
            key_id = listed["SSHPublicKeyId"]
            key = iam_client.get_ssh_public_key(UserName=user_name, SSHPublicKeyId=key_id, Encoding="SSH")
            item = key["SSHPublicKey"]
            items.append(dict(item, Id=item["SSHPublicKeyId"], Body=item["SSHPublicKeyBody"]))
        return items


class _SigningCertificates(Kind):
    def bodies(self, count: int) -> list[str]:
        while len(_CERTIFICATE_POOL) < count:
            _CERTIFICATE_POOL.append(self_signed_certificate(f"person{len(_CERTIFICATE_POOL)}"))
        return _CERTIFICATE_POOL[:count]

    def rewritten(self, body: str) -> list[str]:
        # cryptography writes 64-character lines ending in "\n".
        return [rewrap(body), rewrap(body, 48, "\n"), f"\n\n  {body.strip()}  \n"]

    def upload(self, iam_client: t.Any, user_name: str, body: str) -> str:
        answer = iam_client.upload_signing_certificate(UserName=user_name, CertificateBody=body)
        return answer["Certificate"]["CertificateId"]

    def set_status(self, iam_client: t.Any, user_name: str, item_id: str, status: str) -> None:
        iam_client.update_signing_certificate(UserName=user_name, CertificateId=item_id, Status=status)

    def stored(self, iam_client: t.Any, user_name: str) -> list[dict[str, t.Any]]:
        return [
            dict(item, Id=item["CertificateId"], Body=item["CertificateBody"])
            for item in iam_client.list_signing_certificates(UserName=user_name)["Certificates"]
        ]


SSH_KEYS = _SSHKeys(
    name="ssh_key",
    module_name="iam_ssh_key",
    operation="SSHPublicKey",
    body_option="public_key",
    id_option="ssh_public_key_id",
    result_key="ssh_public_key",
    noun="SSH public key",
    plural="SSH public keys",
    label="SSH key",
    limit=5,
    mismatch="key {id} of user {user} holds another key than public_key",
    unknown_id="APKAEXAMPLEEXAMPLE00",
    short_id="APKA" + "X" * 15,
    invalid_body_code="InvalidPublicKey",
    reads_per_item=("GetSSHPublicKey",),
    list_operation="ListSSHPublicKeys",
)
SIGNING_CERTIFICATES = _SigningCertificates(
    name="signing_certificate",
    module_name="iam_signing_certificate",
    operation="SigningCertificate",
    body_option="certificate_body",
    id_option="certificate_id",
    result_key="certificate",
    noun="signing certificate",
    plural="signing certificates",
    label="signing certificate",
    limit=2,
    mismatch="certificate {id} of user {user} is another certificate than certificate_body",
    unknown_id="A" * 32,
    short_id="A" * 23,
    invalid_body_code="InvalidCertificate",
    reads_per_item=(),
    list_operation="ListSigningCertificates",
)
KINDS = (SSH_KEYS, SIGNING_CERTIFICATES)
