# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal use only: this file is not a public API of the collection and may change at any time.

"""Deliver secrets to files (mode 0600, parent 0700) instead of task results. No boto3 here."""

from __future__ import annotations

import configparser
import contextlib
import fcntl
import io
import json
import os
import stat
import tempfile
import time
import typing as t

FILE_MODE = 0o600
DIR_MODE = 0o700


class DeliveryError(Exception):
    """The secret cannot be written safely; the message names the path and the reason."""


def check_destination(path: str, *, parent: bool = True) -> list[str]:
    """Problems that make ``path`` unsafe to write, found before any AWS call (empty list: fine).

    ``parent=False`` leaves the directory to the caller (a private directory of ours, made safe on delivery).
    """
    if not os.path.isabs(os.path.expanduser(path)):
        return [f"'{path}' must be an absolute path"]
    path = os.path.expanduser(path)
    if os.path.isdir(path):
        return [f"'{path}' is a directory"]
    problems = parent_errors(os.path.dirname(path) or ".") if parent else []
    if problems:
        return problems
    if os.path.lexists(path):
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            return [f"'{path}' is a symbolic link; refusing to follow it for a secret"]
        if not stat.S_ISREG(info.st_mode):
            return [f"'{path}' is not a regular file (a FIFO or device?); refusing to write a secret into it"]
        if stat.S_IMODE(info.st_mode) & 0o077:
            return [
                f"'{path}' exists with mode {stat.S_IMODE(info.st_mode):04o}, readable by others; "
                f"refusing to write a secret into it (chmod 0600 it or choose another path)"
            ]
        if info.st_uid != os.geteuid():
            return [f"'{path}' belongs to another user (uid {info.st_uid}); refusing to write a secret into it"]
        if info.st_nlink > 1:
            return [f"'{path}' has other hard links; refusing to write a secret into it"]
    return []


def directory_errors(path: str) -> list[str]:
    """Problems that make ``path`` unsafe as a private directory for secrets (none when it does not exist yet)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return []
    except OSError as exc:
        return [f"cannot inspect '{path}': {exc.strerror or type(exc).__name__}"]
    if stat.S_ISLNK(info.st_mode):
        return [f"'{path}' is a symbolic link; refusing to write secrets through it"]
    if not stat.S_ISDIR(info.st_mode):
        return [f"'{path}' exists and is not a directory"]
    if info.st_uid != os.geteuid():
        return [f"'{path}' belongs to another user (uid {info.st_uid}); refusing to write secrets into it"]
    return []


def private_directory(path: str) -> None:
    """Make ``path`` a private directory of ours: created 0700 when missing, tightened to 0700 when looser.

    Refuses (DeliveryError) a symlink, a non-directory or a directory of another user: a secret written
    there could be read, or swapped, by someone else.
    """
    problems = directory_errors(path)
    if problems:
        raise DeliveryError(problems[0])
    try:
        try:
            os.mkdir(path, DIR_MODE)
        except FileExistsError:
            if stat.S_IMODE(os.lstat(path).st_mode) != DIR_MODE:
                os.chmod(path, DIR_MODE)
        # Checked again after the fact: the path may have been swapped for a symlink in the meantime.
        problems = directory_errors(path)
    except OSError as exc:
        raise DeliveryError(f"cannot create '{path}': {exc.strerror or type(exc).__name__}") from None
    if problems:
        raise DeliveryError(problems[0])


def parent_errors(directory: str) -> list[str]:
    """Problems with the existing directory a secret file would go into: one others could swap the file in.

    Refused: a symbolic link, a non-directory, or a directory that another user owns and that others may write
    into without the sticky bit (as /tmp has). A missing directory is fine: it is created with mode 0700.
    """
    try:
        info = os.lstat(directory)
    except FileNotFoundError:
        return []
    except OSError as exc:
        return [f"cannot inspect '{directory}': {exc.strerror or type(exc).__name__}"]
    if stat.S_ISLNK(info.st_mode):
        return [f"the directory '{directory}' is a symbolic link; refusing to write a secret through it"]
    if not stat.S_ISDIR(info.st_mode):
        return []  # writing fails then, naming the path
    shared = stat.S_IMODE(info.st_mode) & 0o022 and not info.st_mode & stat.S_ISVTX
    if info.st_uid not in (os.geteuid(), 0) or (shared and info.st_uid != os.geteuid()):
        return [
            f"the directory '{directory}' belongs to another user (uid {info.st_uid}); refusing to write a secret there"
        ]
    if shared:
        return [
            f"the directory '{directory}' is writable by others (mode {stat.S_IMODE(info.st_mode):04o}); "
            "refusing to write a secret there (chmod go-w it or choose another path)"
        ]
    return []


def destination_errors(option: str, path: str | None) -> list[str]:
    """check_destination's problems as validation messages that name ``option`` (none when unset)."""
    return [f"{option}: {problem}" for problem in check_destination(path)] if path else []


# botocore merges a shared-credentials file's [DEFAULT] section into every profile (configparser does too).
RESERVED_PROFILE = "default"


def profile_errors(option: str, profile: str | None) -> list[str]:
    """A credentials-file profile name that would be the [DEFAULT] section of the file (any case) is refused."""
    if profile is not None and profile.lower() == RESERVED_PROFILE:
        return [
            f"{option}: '{profile}' cannot be a profile of an AWS credentials file: its [DEFAULT] section is merged "
            "into every other profile (deliver this user's key with secret_format=json)"
        ]
    return []


def render_credentials(profile: str, values: dict[str, str], existing: str | None = None) -> str:
    """An AWS shared-credentials file with ``profile`` set to ``values``; other profiles are kept.

    Raises ValueError (never quoting the file) when ``existing`` is not a credentials file.
    """
    if profile_errors("profile", profile):
        raise ValueError(f"'{profile}' cannot be a profile name of a credentials file")
    parser = configparser.ConfigParser(interpolation=None, default_section="\x00none")
    if existing:
        try:
            parser.read_string(existing)
        except configparser.Error as exc:
            # configparser's messages quote the offending line, which may be another profile's secret.
            raise ValueError(f"it is not an AWS credentials file ({type(exc).__name__})") from None
    if not existing:
        parser[profile] = values
        out = io.StringIO()
        parser.write(out)
        return out.getvalue()
    return _splice_profile(existing, profile, values)


def _is_header(line: str) -> bool:
    stripped = line.strip()
    return stripped.startswith("[") and stripped.endswith("]")


def _splice_profile(existing: str, profile: str, values: dict[str, str]) -> str:
    """``existing`` (a valid credentials file) with the section ``profile`` replaced by ``values``.

    Edited as text so that everything else (other profiles, comments, blank lines) stays as it was; the
    comments inside the replaced section are kept too.
    """
    lines = existing.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    body = [f"{key} = {value}\n" for key, value in values.items()]
    start = next((i for i, line in enumerate(lines) if line.strip() == f"[{profile}]"), None)
    if start is None:
        gap = ["\n"] if lines and lines[-1].strip() else []
        return "".join([*lines, *gap, f"[{profile}]\n", *body])
    end = next((i for i in range(start + 1, len(lines)) if _is_header(lines[i])), len(lines))
    comments = [line for line in lines[start + 1 : end] if line.lstrip().startswith(("#", ";"))]
    tail = ["\n"] if end < len(lines) else []
    return "".join([*lines[: start + 1], *comments, *body, *tail, *lines[end:]])


def render_json(values: dict[str, t.Any]) -> str:
    return json.dumps(values, indent=2, sort_keys=True) + "\n"


Encrypt = t.Callable[[str], bytes]

JOURNAL_PREFIX = ".issuing-"


def journal_path(directory: str, kind: str) -> str:
    """Where the write-ahead record of a ``kind`` of secret being issued lives, in the secret's directory."""
    return os.path.join(directory, f"{JOURNAL_PREFIX}{kind}.json")


def read_journal(directory: str, kind: str) -> dict[str, t.Any] | None:
    """The write-ahead record an interrupted run left for ``kind`` (None when there is none or it is unreadable)."""
    try:
        with open(journal_path(directory, kind), encoding="utf-8") as handle:
            record = json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        # A record cut short by the interruption itself: the create may have been sent, so recover as if all
        # credentials are new, which the caller bounds by what it may remove.
        return {"kind": kind, "before": None}
    return record if isinstance(record, dict) else {"kind": kind, "before": None}


def clear_journal(directory: str, kind: str) -> None:
    """Remove the write-ahead record; none to remove when the directory is gone or no longer a directory."""
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        os.unlink(journal_path(directory, kind))


@contextlib.contextmanager
def locked_directory(directory: str) -> t.Iterator[None]:
    """An exclusive advisory lock (flock) on ``directory`` for as long as the block runs; no lock file is left."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def fsync_directory(directory: str) -> None:
    """Make a rename or unlink in ``directory`` durable (best effort where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _read_existing(path: str) -> str | None:
    """The current content of ``path`` (None when absent); DeliveryError naming the path, never the content."""
    if not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except UnicodeDecodeError:
        raise DeliveryError(f"'{path}' exists but is not UTF-8 text; refusing to overwrite it") from None
    except OSError as exc:
        raise DeliveryError(f"cannot read '{path}': {exc.strerror or type(exc).__name__}") from None


def _write_atomically(path: str, data: bytes) -> None:
    """Write ``data`` to a 0600 temporary file next to ``path``, fsync it, then rename it over ``path``."""
    parent = os.path.dirname(path) or "."
    # mkstemp creates the file 0600 before anything is written into it.
    fd, tmp = tempfile.mkstemp(dir=parent, prefix=".tmp-secret-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
        fsync_directory(parent)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _rendered(path: str, render: t.Callable[[str | None], str], existing: str | None) -> str:
    try:
        return render(existing)
    except ValueError as exc:
        if existing is None:
            raise DeliveryError(f"cannot write '{path}': {exc}") from None
        raise DeliveryError(f"'{path}' exists but cannot be updated: {exc}; refusing to overwrite it") from None


def _encoded(path: str, content: str, encrypt: Encrypt | None) -> bytes:
    """The bytes to write: the content, encrypted first when ``encrypt`` is set."""
    if encrypt is None:
        return content.encode("utf-8")
    try:
        return encrypt(content)
    except Exception as exc:  # noqa: BLE001 - any failure of the encrypter must become a delivery failure (rollback)
        raise DeliveryError(f"cannot encrypt the secret for '{path}' ({type(exc).__name__})") from None


def _prepare_parent(path: str, private: bool) -> str:
    parent = os.path.dirname(path) or "."
    if private:
        private_directory(parent)
    else:
        os.makedirs(parent, mode=DIR_MODE, exist_ok=True)
    return parent


def write_secret(
    path: str,
    render: t.Callable[[str | None], str],
    encrypt: Encrypt | None = None,
    *,
    private_parent: bool = False,
    merge: bool = True,
) -> str:
    """Atomically write ``render(existing content or None)`` to ``path`` with mode 0600; return the path.

    The parent directory is created with mode 0700 (with ``private_parent``, an existing one must be a real
    directory of ours and is tightened to 0700). A file that is readable by group or others is never
    overwritten: whoever made it so may already have leaked its contents. With ``encrypt`` the content is
    encrypted before it reaches the disk; the existing file is read only with ``merge`` and without
    ``encrypt``. Every failure is a DeliveryError whose message names the path and never the file's content.
    """
    path = os.path.expanduser(path)
    problems = check_destination(path, parent=not private_parent)
    if problems:
        raise DeliveryError(problems[0])
    try:
        parent = _prepare_parent(path, private_parent)
        reads = merge and not encrypt
        # A read-modify-write (other profiles kept) holds the directory's lock, so that concurrent writers of one
        # credentials file each keep the others' profiles.
        with locked_directory(parent) if reads else contextlib.nullcontext():
            existing = _read_existing(path) if reads else None
            _write_atomically(path, _encoded(path, _rendered(path, render, existing), encrypt))
    except OSError as exc:
        raise DeliveryError(f"Failed to write secret to '{path}': {exc.strerror or type(exc).__name__}") from None
    return path


class StagedSecret:
    """A secret written to a 0600 temporary file next to its destination, renamed into place by commit().

    For a secret that replaces one already delivered (a new password for an existing login profile):
    stage it before AWS is asked, commit once AWS accepted it, discard it when AWS refused it, so the
    working secret on disk is never overwritten by one AWS did not take.
    """

    def __init__(self, path: str, data: bytes, *, private_parent: bool = False):
        self.path = os.path.expanduser(path)
        problems = check_destination(self.path, parent=not private_parent)
        if problems:
            raise DeliveryError(problems[0])
        try:
            parent = _prepare_parent(self.path, private_parent)
            fd, self._tmp = tempfile.mkstemp(dir=parent, prefix=".tmp-secret-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(self._tmp, FILE_MODE)
        except OSError as exc:
            self.discard()
            raise DeliveryError(
                f"Failed to write secret to '{self.path}': {exc.strerror or type(exc).__name__}"
            ) from None

    def commit(self) -> str:
        try:
            os.replace(self._tmp, self.path)
            fsync_directory(os.path.dirname(self.path) or ".")
        except OSError as exc:
            self.discard()
            raise DeliveryError(
                f"Failed to write secret to '{self.path}': {exc.strerror or type(exc).__name__}"
            ) from None
        return self.path

    def discard(self) -> None:
        tmp = getattr(self, "_tmp", None)
        if tmp and os.path.exists(tmp):
            os.unlink(tmp)


# -- the file formats of every secret, in one place ------------------------------------------------


def _access_key_content(payload: dict[str, str], file_format: str, existing: str | None) -> str:
    if file_format == "json":
        return render_json(
            {"Version": 1, "AccessKeyId": payload["access_key_id"], "SecretAccessKey": payload["secret_access_key"]}
        )
    values = {"aws_access_key_id": payload["access_key_id"], "aws_secret_access_key": payload["secret_access_key"]}
    return render_credentials(payload["user_name"], values, existing)


def _password_content(payload: dict[str, str], file_format: str, _existing: str | None) -> str:
    if file_format == "text":
        return payload["password"] + "\n"
    return render_json(
        {"user_name": payload["user_name"], "password": payload["password"], "sign_in_url": payload.get("sign_in_url")}
    )


def _mfa_content(payload: dict[str, str], file_format: str, _existing: str | None) -> str:
    if file_format == "text":
        return payload["otpauth_uri"] + "\n"
    fields = ("base32_seed", "otpauth_uri", "serial_number", "user_name")
    values = {name: payload[name] for name in fields}
    if "qr_png_base64" in payload:  # qr_code=true: the URI's QR code, a base64 PNG (see _qr); JSON format only
        values["qr_png_base64"] = payload["qr_png_base64"]
    return render_json(values)


def _service_credential_content(payload: dict[str, str], file_format: str, _existing: str | None) -> str:
    # A password (CodeCommit, Keyspaces) or an API key's secret (Bedrock): the one secret a payload holds.
    secret = payload.get("service_password") or payload.get("service_credential_secret") or ""
    if file_format == "text":
        return secret + "\n"
    return render_json({name: value for name, value in payload.items() if value is not None})


# kind -> (render, formats): the first format is the default.
FORMATS: dict[str, tuple[t.Callable[[dict[str, str], str, str | None], str], tuple[str, ...]]] = {
    "access_key": (_access_key_content, ("credentials", "json")),
    "login_profile": (_password_content, ("json", "text")),
    "mfa": (_mfa_content, ("json", "text")),
    "service_credential": (_service_credential_content, ("json", "text")),
}


class Destination:
    """Where one kind of secret goes: a 0600 file in a file format, encrypted first when ``encrypt`` is set.

    ``deliver`` writes at once (right after AWS issued the secret); ``stage`` writes beside the file and
    renames into place on ``commit`` (for a secret that replaces a working one, see StagedSecret).
    """

    def __init__(
        self,
        path: str,
        kind: str,
        file_format: str | None = None,
        encrypt: Encrypt | None = None,
        *,
        private_parent: bool = False,
        merge: bool = True,
        journal: bool = False,
    ):
        self.path = os.path.expanduser(path)
        self.kind = kind
        self._render, formats = FORMATS[kind]
        self.file_format = file_format or formats[0]
        self._encrypt = encrypt
        # A file of one's own (a roster user's) is replaced whole and lives in a private directory; a shared
        # credentials file keeps its other profiles.
        self._private_parent, self._merge = private_parent, merge
        # A write-ahead record next to the file while a credential is being issued (see expect()).
        self.journal = journal_path(os.path.dirname(self.path), kind) if journal else None

    def _content(self, payload: dict[str, str], existing: str | None) -> str:
        return self._render(payload, self.file_format, existing)

    def expect(self, before: list[str]) -> None:
        """Record, before AWS is asked, that a credential is being issued and which ones existed before it.

        If the run dies before the secret is delivered, the next run finds the record, retires what AWS issued
        since (its secret is nowhere) and issues again. The record holds IDs only, never a secret.
        """
        if self.journal is None:
            return
        record = {
            "kind": self.kind,
            "before": sorted(before),
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        write_secret(
            self.journal, lambda _existing: render_json(record), private_parent=self._private_parent, merge=False
        )

    def deliver(self, payload: dict[str, str]) -> str:
        path = write_secret(
            self.path,
            lambda existing: self._content(payload, existing),
            self._encrypt,
            private_parent=self._private_parent,
            merge=self._merge,
        )
        if self.journal is not None:
            # Delivered: nothing left to recover. (Dying right here only costs the next run a re-issue.)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.journal)
            fsync_directory(os.path.dirname(self.path))
        return path

    def stage(self, payload: dict[str, str]) -> StagedSecret:
        try:
            existing = _read_existing(self.path) if self._merge and not self._encrypt else None
        except OSError as exc:
            raise DeliveryError(f"cannot read '{self.path}': {exc.strerror or type(exc).__name__}") from None
        content = _rendered(self.path, lambda current: self._content(payload, current), existing)
        data = _encoded(self.path, content, self._encrypt)
        return StagedSecret(self.path, data, private_parent=self._private_parent)
