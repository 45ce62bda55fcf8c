"""_age: a delivered file that only its recipients can read (age and SSH identities), never plain text on disk."""

from __future__ import annotations

import base64
import configparser
import os
import shutil
import subprocess
import typing as t

import pyrage
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.techsquawks.iam.plugins.module_utils import _age, _delivery

ARMOR = b"-----BEGIN AGE ENCRYPTED FILE-----\n"
PAYLOAD = {
    "user_name": "alice",
    "access_key_id": "AKIAEXAMPLEEXAMPLE01",
    "secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
}
# What must never be on disk in plain text.
PLAIN = [PAYLOAD["access_key_id"].encode(), PAYLOAD["secret_access_key"].encode(), b"aws_secret_access_key"]


class Person(t.NamedTuple):
    """One recipient: the public key given to deliver_to.recipients, and the private key that reads the file."""

    recipient: str
    identity: t.Any  # a pyrage identity
    identity_file: bytes  # what `age -d -i` reads


def openssh_person(key: t.Any, comment: str = "") -> Person:
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    recipient = public.decode() + (f" {comment}" if comment else "")
    return Person(recipient, pyrage.ssh.Identity.from_buffer(private), private)


def age_person() -> Person:
    identity = pyrage.x25519.Identity.generate()
    return Person(str(identity.to_public()), identity, f"# an age identity\n{identity}\n".encode())


@pytest.fixture(scope="module")
def people() -> dict[str, Person]:
    return {
        "age": age_person(),
        "ssh-ed25519": openssh_person(ed25519.Ed25519PrivateKey.generate(), "alice@laptop"),
        "ssh-rsa": openssh_person(rsa.generate_private_key(public_exponent=65537, key_size=2048), "alice@desktop"),
    }


@pytest.fixture(scope="module")
def strangers() -> list[Person]:
    """Other people's keys of every kind: none of them may read alice's file."""
    return [
        age_person(),
        openssh_person(ed25519.Ed25519PrivateKey.generate()),
        openssh_person(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
    ]


def destination(path: str, recipients: list[str]) -> _delivery.Destination:
    return _delivery.Destination(path, "access_key", "credentials", encrypt=_age.encrypter(recipients), merge=False)


def credentials(text: bytes) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text.decode())
    return dict(parser["alice"])


EXPECTED = {"aws_access_key_id": PAYLOAD["access_key_id"], "aws_secret_access_key": PAYLOAD["secret_access_key"]}

KINDS = ["age", "ssh-ed25519", "ssh-rsa"]


@pytest.mark.parametrize("kind", KINDS)
def test_the_file_decrypts_with_the_recipients_private_key_only(tmp_path, people, strangers, kind):
    person = people[kind]
    path = tmp_path / "alice" / "credentials.age"

    assert destination(str(path), [person.recipient]).deliver(PAYLOAD) == str(path)

    data = path.read_bytes()
    assert data.startswith(ARMOR)
    assert not any(plain in data for plain in PLAIN)
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert credentials(pyrage.decrypt(data, [person.identity])) == EXPECTED
    others = [other.identity for name, other in people.items() if name != kind] + [s.identity for s in strangers]
    for other in others:
        with pytest.raises(pyrage.DecryptError):
            pyrage.decrypt(data, [other])


def test_every_recipient_of_several_reads_the_file(tmp_path, people, strangers):
    path = tmp_path / "credentials.age"
    destination(str(path), [person.recipient for person in people.values()]).deliver(PAYLOAD)

    data = path.read_bytes()
    for person in people.values():
        assert credentials(pyrage.decrypt(data, [person.identity])) == EXPECTED
    with pytest.raises(pyrage.DecryptError):
        pyrage.decrypt(data, [stranger.identity for stranger in strangers])


class WatchedFile:
    """A file opened by os.fdopen whose every write is flushed to disk and then looked at."""

    def __init__(self, handle: t.Any, look: t.Callable[[], None]):
        self._handle, self._look = handle, look

    def write(self, data: bytes) -> int:
        written = self._handle.write(data)
        self._handle.flush()
        self._look()
        return written

    def __getattr__(self, name: str) -> t.Any:
        return getattr(self._handle, name)

    def __enter__(self) -> WatchedFile:
        self._handle.__enter__()
        return self

    def __exit__(self, *exc: t.Any) -> None:
        self._handle.__exit__(*exc)


@pytest.fixture
def disk_watch(monkeypatch, tmp_path):
    """Every file under tmp_path, read after each write, sync and rename of the write path."""
    seen: list[tuple[str, str, bytes]] = []
    real_fsync, real_replace, real_fdopen = os.fsync, os.replace, os.fdopen

    def snapshot(moment: str) -> None:
        for root, _dirs, files in os.walk(tmp_path):
            for name in files:
                full = os.path.join(root, name)
                with open(full, "rb") as handle:
                    seen.append((moment, full, handle.read()))

    def fdopen(fd: int, *args: t.Any, **kwargs: t.Any) -> WatchedFile:
        return WatchedFile(real_fdopen(fd, *args, **kwargs), lambda: snapshot("write"))

    def fsync(fd: int) -> None:
        real_fsync(fd)
        snapshot("fsync")

    def replace(src: t.Any, dst: t.Any) -> None:
        snapshot("replace")
        real_replace(src, dst)
        snapshot("replaced")

    monkeypatch.setattr(os, "fdopen", fdopen)
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return seen


def test_plain_text_never_touches_the_disk_during_delivery(tmp_path, people, disk_watch):
    path = tmp_path / "alice" / "credentials.age"
    destination(str(path), [people["ssh-ed25519"].recipient]).deliver(PAYLOAD)

    temporary = [data for moment, name, data in disk_watch if os.path.basename(name).startswith(".tmp-secret-")]
    # The temporary file was caught before its rename, holding the ciphertext already.
    assert temporary
    assert all(data.startswith(ARMOR) for data in temporary)
    assert {moment for moment, _name, _data in disk_watch} == {"write", "fsync", "replace", "replaced"}
    leaks = [(moment, name) for moment, name, data in disk_watch if any(plain in data for plain in PLAIN)]
    assert leaks == []
    assert os.listdir(path.parent) == ["credentials.age"]


def test_a_staged_password_is_ciphertext_before_and_after_commit(tmp_path, people, disk_watch):
    path = tmp_path / "alice" / "console-password.age"
    password = "Correct-Horse-Battery-Staple-42"
    sink = _delivery.Destination(str(path), "login_profile", encrypt=_age.encrypter([people["age"].recipient]))

    staged = sink.stage({"user_name": "alice", "password": password, "sign_in_url": "https://example.invalid"})
    assert not path.exists()
    staged.commit()

    assert disk_watch
    assert not [name for _moment, name, data in disk_watch if password.encode() in data]
    assert password.encode() in pyrage.decrypt(path.read_bytes(), [people["age"].identity])


@pytest.fixture(scope="module")
def age_cli() -> str:
    """Debian's age CLI (`make age` installs it); missing, the test fails rather than skip."""
    found = shutil.which("age")
    assert found, "the age CLI is needed to decrypt as a person would: run `make age` (Debian's age package)"
    return found


@pytest.mark.parametrize("kind", KINDS)
def test_the_age_cli_decrypts_the_file_with_the_persons_identity_file(tmp_path, people, strangers, age_cli, kind):
    path = tmp_path / "credentials.age"
    destination(str(path), [people[kind].recipient]).deliver(PAYLOAD)

    def decrypt(person: Person) -> subprocess.CompletedProcess[bytes]:
        identity = tmp_path / "identity"
        identity.write_bytes(person.identity_file)
        identity.chmod(0o600)
        return subprocess.run([age_cli, "-d", "-i", str(identity), str(path)], capture_output=True, check=False)

    mine = decrypt(people[kind])
    assert mine.returncode == 0, mine.stderr.decode()
    assert credentials(mine.stdout) == EXPECTED
    theirs = decrypt(strangers[KINDS.index(kind)])
    assert theirs.returncode != 0
    assert b"no identity matched" in theirs.stderr


# -- recipients -----------------------------------------------------------------------------------

OPTION = "deliver_to.recipients"


def test_age_and_ssh_public_keys_are_recipients_with_comments_and_spacing(people):
    age_key = people["age"].recipient
    accepted = [
        age_key,
        f"  {age_key.upper()}\n",
        people["ssh-ed25519"].recipient,
        people["ssh-rsa"].recipient.replace(" ", "\t", 1) + " a comment with -----BEGIN PRIVATE KEY-----",
        " ".join(people["ssh-ed25519"].recipient.split()[:2]) + "\n",
    ]
    for recipient in accepted:
        assert _age.recipient_errors(OPTION, [recipient]) == [], recipient
    assert _age.recipient_errors(OPTION, [age_key, people["ssh-rsa"].recipient]) == []


def _private_pem(key: t.Any, private_format: serialization.PrivateFormat) -> str:
    return key.private_bytes(serialization.Encoding.PEM, private_format, serialization.NoEncryption()).decode()


GIVE_SSH = "it is a private key; give the public key (ssh-keygen -y -f <private key file> prints it)"
GIVE_AGE = "it is a private key; give the public key (age-keygen -y <identity file> prints it)"
ACCEPTED = "an age public key (age1...) or an SSH public key (ssh-ed25519 ... or ssh-rsa ...)"


def test_private_keys_are_refused_pointing_to_the_public_key(people):
    identity = str(people["age"].identity)
    edkey = ed25519.Ed25519PrivateKey.generate()
    cases = {
        identity: GIVE_AGE,
        identity.lower(): GIVE_AGE,
        f"# created: 2026-01-01T00:00:00Z\n# public key: {people['age'].recipient}\n{identity}\n": GIVE_AGE,
        _private_pem(edkey, serialization.PrivateFormat.OpenSSH): GIVE_SSH,
        _private_pem(edkey, serialization.PrivateFormat.PKCS8): GIVE_SSH,
        _private_pem(rsa.generate_private_key(65537, 2048), serialization.PrivateFormat.TraditionalOpenSSL): GIVE_SSH,
        "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\n": GIVE_SSH,
    }
    for text, message in cases.items():
        assert _age.recipient_errors(OPTION, [people["age"].recipient, text]) == [f"{OPTION}[1]: {message}"]


def test_bad_recipients_are_refused_naming_the_item_and_at_most_the_key_type(people):
    age_key, ed_key = people["age"].recipient, people["ssh-ed25519"].recipient
    ed_type, ed_data = ed_key.split()[:2]
    rsa_data = people["ssh-rsa"].recipient.split()[1]

    def public(key: t.Any) -> str:
        return (
            key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
        )

    # An ssh-ed25519 blob whose key is 10 bytes instead of 32.
    short_ed = base64.b64encode(b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x0a" + bytes(10)).decode()
    small_rsa = public(rsa.generate_private_key(65537, 1024))  # noqa: S505 - the size age refuses
    ecdsa = public(ec.generate_private_key(ec.SECP256R1()))
    cases = [
        (
            age_key[:-1] + ("q" if age_key[-1] != "q" else "p"),
            "it is not a valid age public key (age1... as age-keygen prints it, 62 characters)",
        ),
        (
            "age1yubikey1qwt50d05nh5vutpdzmlg5wn80xq5negm4uj9ghv0snvdd3yysf5yw3rhl3t",
            "it is an age plugin recipient (age1<plugin>1...); give an X25519 age public key (age1...) or an SSH key",
        ),
        (f"{age_key} alice", "an age public key is one word (age1...), without a comment"),
        (f"ssh-rsa {ed_data} alice", "its key data is not an ssh-rsa key"),
        (f"ssh-ed25519 {ed_data[:-4]}!!!!", "its ssh-ed25519 key data is not valid base64"),
        (f"ssh-ed25519 {short_ed}", "its key data is not a valid ssh-ed25519 public key"),
        (f"{ed_type}", "it has no key data; give the whole line of the ssh-ed25519 public key file"),
        (small_rsa, "its ssh-rsa key is shorter than 2048 bits, which age refuses"),
        (ecdsa, "its type is 'ecdsa-sha2-nistp256'; age encrypts only to ssh-ed25519 and ssh-rsa SSH keys"),
        (f"ssh-rsa {rsa_data}\nssh-ed25519 {ed_data}", "it spans several lines; give one key per list item"),
        (f"AAAAC3NzaC1lZDI1NTE5 {rsa_data}", f"it is neither {ACCEPTED}"),
        ("   ", f"is empty; give {ACCEPTED}"),
        (42, f"must be a string: {ACCEPTED}, not int"),
    ]
    for recipient, problem in cases:
        errors = _age.recipient_errors(OPTION, [ed_key, recipient])
        assert errors == [f"{OPTION}[1]: {problem}"], recipient
        if isinstance(recipient, str):
            data = [word for word in recipient.split() if len(word) > 20]
            assert not [word for word in data if word in errors[0]]


def test_the_list_itself_must_hold_at_least_one_recipient_each_once(people):
    need = f"{OPTION}: give a list of at least one recipient, each {ACCEPTED}"
    for value in (None, [], "age1abc", {"key": "age1abc"}):
        assert _age.recipient_errors(OPTION, value) == [need]
    ed_key, age_key = people["ssh-ed25519"].recipient, people["age"].recipient
    twice = [ed_key, age_key, " ".join(ed_key.split()[:2]) + " another comment", age_key.upper()]
    assert _age.recipient_errors(OPTION, twice) == [
        f"{OPTION}[2]: the same key as {OPTION}[0]",
        f"{OPTION}[3]: the same key as {OPTION}[1]",
    ]


@given(st.binary(min_size=1, max_size=80), st.sampled_from(["ssh-ed25519", "ssh-rsa"]))
def test_any_key_data_is_judged_without_quoting_it(blob, key_type):
    encoded = base64.b64encode(blob).decode()
    errors = _age.recipient_errors(OPTION, [f"{key_type} {encoded} me"])
    assert len(errors) == 1
    assert encoded not in errors[0] or len(encoded) < 8  # a short one may spell a word of the message


def test_the_encrypter_refuses_bad_recipients_and_a_missing_pyrage(monkeypatch, people):
    with pytest.raises(_age.AgeError) as refused:
        _age.encrypter([people["age"].recipient, str(people["age"].identity)])
    assert str(refused.value) == f"recipients[1]: {GIVE_AGE}"
    assert str(people["age"].identity) not in str(refused.value)

    monkeypatch.setattr(_age, "HAS_PYRAGE", False)
    with pytest.raises(_age.AgeError) as missing:
        _age.encrypter([people["age"].recipient])
    assert "pyrage" in str(missing.value)
    assert "for deliver_to.type=age" in str(missing.value)
    assert _age.library_error() == str(missing.value)
