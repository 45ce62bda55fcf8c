# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal use only: this file is not a public API of the collection and may change at any time.

"""age encryption of a delivered secret (deliver_to.type=age), with pyrage: no hand-written crypto here.

Recipients are what age itself encrypts to: X25519 public keys (``age1...``, as ``age-keygen`` prints) and
the person's own SSH public key (``ssh-ed25519 ...`` or ``ssh-rsa ...`` of 2048 bits or more, as in
``~/.ssh/id_ed25519.pub``). The ciphertext is ASCII-armored (``-----BEGIN AGE ENCRYPTED FILE-----``): a text
file that survives being pasted into a ticket or a mail, which ``age -d`` reads like the binary format.
"""

from __future__ import annotations

import base64
import binascii
import typing as t

from ansible.module_utils.basic import missing_required_lib

try:
    import pyrage

    HAS_PYRAGE = True
    PYRAGE_IMPORT_ERROR: ImportError | None = None
except ImportError as exc:  # only deliver_to.type=age needs it
    HAS_PYRAGE = False
    PYRAGE_IMPORT_ERROR = exc

LIBRARY = "pyrage"
REASON = "for deliver_to.type=age"
EXTENSION = ".age"
# age's ASCII armor: text that `age -d` reads as it reads the binary format.
ARMORED = True

AGE_PREFIX = "age1"
# A Bech32 string is <human-readable part>1<data>; an X25519 recipient's part is "age" (plugins use age1<name>1...).
AGE_HRP = "age"
SSH_TYPES = ("ssh-ed25519", "ssh-rsa")
# Other OpenSSH key types, named back to the user: a known type is not secret, anything else might be.
OTHER_SSH_TYPES = frozenset(
    {
        "ssh-dss",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
        "ssh-ed25519-cert-v01@openssh.com",
        "ssh-rsa-cert-v01@openssh.com",
    }
)
ACCEPTED = "an age public key (age1...) or an SSH public key (ssh-ed25519 ... or ssh-rsa ...)"
GIVE_PUBLIC = "it is a private key; give the public key"


class AgeError(Exception):
    """The recipients cannot be encrypted to, or pyrage is missing; the message never quotes a key."""


def library_error() -> str | None:
    """Ansible's missing-library message naming deliver_to.type=age when pyrage is not installed, else None."""
    return None if HAS_PYRAGE else missing_required_lib(LIBRARY, reason=REASON)


def _private_key_problem(text: str) -> str | None:
    """Why ``text`` is (or holds) a private key: age, PEM/OpenSSH or PuTTY; else None. A key's comment is not one."""
    lines = [line.strip() for line in text.splitlines()]
    if any(line[:15].upper() == "AGE-SECRET-KEY-" for line in lines):
        return f"{GIVE_PUBLIC} (age-keygen -y <identity file> prints it)"
    if any(line.startswith("-----BEGIN") and line.endswith("PRIVATE KEY-----") for line in lines) or any(
        line.startswith("PuTTY-User-Key-File-") for line in lines
    ):
        return f"{GIVE_PUBLIC} (ssh-keygen -y -f <private key file> prints it)"
    return None


def _age_problem(text: str) -> str | None:
    if text[: text.rfind("1")].lower() != AGE_HRP:
        return "it is an age plugin recipient (age1<plugin>1...); give an X25519 age public key (age1...) or an SSH key"
    if HAS_PYRAGE:
        try:
            pyrage.x25519.Recipient.from_str(text)
        except pyrage.RecipientError:
            return "it is not a valid age public key (age1... as age-keygen prints it, 62 characters)"
    return None


def _ssh_problem(key_type: str, encoded: str) -> str | None:
    try:
        blob = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return f"its {key_type} key data is not valid base64"
    # The blob starts with its own type, as an SSH string: a key pasted under another type's name is refused.
    if blob[4 : 4 + int.from_bytes(blob[:4], "big")] != key_type.encode():
        return f"its key data is not an {key_type} key"
    if HAS_PYRAGE:
        try:
            pyrage.ssh.Recipient.from_str(f"{key_type} {encoded}")
        except pyrage.RecipientError as exc:
            if "RsaModulusTooSmall" in str(exc):
                return "its ssh-rsa key is shorter than 2048 bits, which age refuses"
            return f"its key data is not a valid {key_type} public key"
    return None


def _canonical(text: str) -> str:
    """One form per key (the comment dropped, age keys in lower case), to find a key given twice."""
    parts = text.split()
    return parts[0].lower() if text.lower().startswith(AGE_PREFIX) else " ".join(parts[:2])


def _problem(recipient: t.Any) -> str | None:
    if not isinstance(recipient, str):
        return f"must be a string: {ACCEPTED}, not {type(recipient).__name__}"
    text = recipient.strip()
    private = _private_key_problem(text)
    if private:
        return private
    if not text:
        return f"is empty; give {ACCEPTED}"
    if "\n" in text or "\r" in text:
        return "it spans several lines; give one key per list item"
    if text.lower().startswith(AGE_PREFIX):
        if len(text.split()) > 1:
            return "an age public key is one word (age1...), without a comment"
        return _age_problem(text)
    parts = text.split(None, 2)
    if parts[0] in SSH_TYPES:
        if len(parts) < 2:
            return f"it has no key data; give the whole line of the {parts[0]} public key file"
        return _ssh_problem(parts[0], parts[1])
    if parts[0] in OTHER_SSH_TYPES:
        return f"its type is '{parts[0]}'; age encrypts only to ssh-ed25519 and ssh-rsa SSH keys"
    return f"it is neither {ACCEPTED}"


def recipient_errors(option: str, recipients: t.Any) -> list[str]:
    """Problems with ``recipients`` (a non-empty list of age or SSH public keys), each naming ``option[i]``.

    Messages name at most the key's type, never the key; private keys are refused with a pointer to the public
    one. With pyrage installed, every key is also parsed as age will parse it.
    """
    if not isinstance(recipients, list) or not recipients:
        return [f"{option}: give a list of at least one recipient, each {ACCEPTED}"]
    errors: list[str] = []
    seen: dict[str, int] = {}
    for index, recipient in enumerate(recipients):
        problem = _problem(recipient)
        if problem:
            errors.append(f"{option}[{index}]: {problem}")
            continue
        key = _canonical(recipient.strip())
        if key in seen:
            errors.append(f"{option}[{index}]: the same key as {option}[{seen[key]}]")
        seen.setdefault(key, index)
    return errors


def _parse(recipient: str) -> t.Any:
    text = recipient.strip()
    if text.lower().startswith(AGE_PREFIX):
        return pyrage.x25519.Recipient.from_str(text)
    key_type, encoded = text.split(None, 2)[:2]
    return pyrage.ssh.Recipient.from_str(f"{key_type} {encoded}")


def encrypter(recipients: list[str]) -> t.Callable[[str], bytes]:
    """The ``_delivery.Encrypt`` for ``recipients``: plain text in, armored age ciphertext (bytes) out.

    The recipients are parsed once, here: AgeError (naming ``recipients[i]``, never a key) when one is not valid
    or when pyrage is missing. Only a holder of one recipient's private key (age identity or SSH key) can decrypt.
    """
    missing = library_error()
    if missing:
        raise AgeError(missing)
    errors = recipient_errors("recipients", recipients)
    if errors:
        raise AgeError("; ".join(errors))
    parsed = [_parse(recipient) for recipient in recipients]

    def encrypt(plaintext: str) -> bytes:
        return pyrage.encrypt(plaintext.encode("utf-8"), parsed, armored=ARMORED)

    return encrypt
