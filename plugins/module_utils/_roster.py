# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal use only: this file is not a public API of the collection and may change at any time.

"""The roster engine: every entry of a roster converged in one process, users concurrently.

Each user's aspects (the user, access key, console password, MFA, SSH keys, signing certificates) are
converged in order by the same module_utils functions the single-resource modules use; users run side by
side on one shared botocore client (thread-safe; adaptive retries absorb throttling). One user failing does
not stop the others. Only the aspects an entry names are read, and a user created by this run is not read
again. New secrets go to ``<credentials_dir>/<user>/`` right after AWS issues them.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import shutil
import stat
import threading
import time
import typing as t

from ansible_collections.techsquawks.iam.plugins.module_utils import (
    _access_keys,
    _aws,
    _delivery,
    _login_profile,
    _mfa,
    _outcome,
    _passwords,
    _signing_certificate,
    _ssh_key,
    _summary,
    _uploaded,
    _user,
    _validate,
)
from ansible_collections.techsquawks.iam.plugins.module_utils._iam import IAM, IAMError, get_caller_identity
from ansible_collections.techsquawks.iam.plugins.module_utils._module import ModuleFailure
from ansible_collections.techsquawks.iam.plugins.module_utils._outcome import Outcome

# IAM answers a few tens of requests a second per account before it throttles; eight users at once stay
# under that most of the time, and adaptive retries slow every thread down together when it does not.
DEFAULT_CONCURRENCY = 8
MAX_CONCURRENCY = 32
# A progress line after every batch of this many users, and at least every PROGRESS_INTERVAL seconds.
DEFAULT_BATCH_SIZE = 25
PROGRESS_INTERVAL = 5.0
DEFAULT_PASSWORD_LENGTH = 20

ENTRY_KEYS = (
    "name",
    "state",
    "path",
    "tags",
    "groups",
    "managed_policies",
    "permissions_boundary",
    "access_key",
    "console",
    "mfa",
    "ssh_public_keys",
    "signing_certificates",
)
ACCESS_KEY_KEYS = ("rotate_after_days",)
CONSOLE_KEYS = ("password_length", "password_reset_required")

# The files of a user's directory, by secret kind.
FILES = {"access_key": "credentials", "login_profile": "console.json", "mfa": "mfa.json"}
VAULT_SUFFIX = ".vault"
REPORT_FILE = "onboarding-report.md"


@dataclasses.dataclass(frozen=True)
class Entry:
    """One roster entry, checked; None means the aspect is not managed."""

    name: str
    state: str = "present"
    path: str | None = None
    tags: dict[str, str] | None = None
    groups: list[str] | None = None
    managed_policies: list[str] | None = None
    permissions_boundary: str | None = None
    access_key: bool | None = None
    rotate_after_days: int | None = None
    console: bool | None = None
    password_length: int = DEFAULT_PASSWORD_LENGTH
    password_reset_required: bool | None = None
    mfa: bool | None = None
    ssh_public_keys: list[str] | None = None
    signing_certificates: list[str] | None = None

    @property
    def present(self) -> bool:
        return self.state == "present"


# -- checking the roster (before any AWS call) ------------------------------------------------------


def user_directory(root: str, name: str) -> str | None:
    """``<root>/<name>`` when that is a direct child of ``root`` (not ``.``, ``..`` or a nested path), else None."""
    root = os.path.abspath(root)
    path = os.path.abspath(os.path.join(root, name))
    if name in (".", "..") or os.sep in name or os.path.dirname(path) != root or os.path.basename(path) != name:
        return None
    return path


def _is_bool(value: t.Any) -> bool:
    return isinstance(value, bool)


def _is_int(value: t.Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _string_list(option: str, value: t.Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        return [f"{option} must be a list of strings"]
    return []


def _settings_dict(option: str, value: t.Any, known: tuple[str, ...]) -> list[str]:
    """``value`` is true, false or a dict with ``known`` keys only."""
    if value is None or _is_bool(value):
        return []
    if not isinstance(value, dict):
        return [f"{option} must be true, false or a dict with {', '.join(known)}"]
    unknown = sorted(str(key) for key in value if key not in known)
    if unknown:
        return [f"{option}: unknown key {', '.join(unknown)} (known: {', '.join(known)})"]
    return []


def _entry_errors(raw: dict[str, t.Any], root: str) -> list[str]:
    """Problems with one entry, each naming its key."""
    unknown = sorted(str(key) for key in raw if key not in ENTRY_KEYS)
    if unknown:
        return [f"unknown key {', '.join(unknown)} (known: {', '.join(ENTRY_KEYS)})"]
    name = raw.get("name")
    if not isinstance(name, str):
        return ["name is required (a string)"]
    errors = _validate.user_name("name", name)
    if not errors and user_directory(root, name) is None:
        errors.append(f"name '{name}' cannot name a directory directly under the credentials directory")
    if name.lower() == REPORT_FILE:
        errors.append(f"name '{name}' is the name of the run's report in the credentials directory")
    if raw.get("state", "present") not in ("present", "absent"):
        errors.append(f"state must be present or absent, not {raw.get('state')!r}")
    for option in ("path", "permissions_boundary"):
        if raw.get(option) is not None and not isinstance(raw[option], str):
            errors.append(f"{option} must be a string")
    if isinstance(raw.get("path"), str):
        errors += _validate.path("path", raw["path"])
    if isinstance(raw.get("permissions_boundary"), str) and raw["permissions_boundary"]:
        errors += _validate.policy_arn("permissions_boundary", raw["permissions_boundary"])
    tags = raw.get("tags")
    if tags is not None and not isinstance(tags, dict):
        errors.append("tags must be a dict")
    elif tags:
        errors += _validate.tags("tags", {str(key): value for key, value in tags.items()})
    for option in ("groups", "managed_policies", "ssh_public_keys", "signing_certificates"):
        errors += _string_list(option, raw.get(option))
    if isinstance(raw.get("groups"), list):
        for group in raw["groups"]:
            errors += _validate.group_name("groups", group) if isinstance(group, str) else []
    if isinstance(raw.get("managed_policies"), list):
        for arn in raw["managed_policies"]:
            errors += _validate.policy_arn("managed_policies", arn) if isinstance(arn, str) else []
    errors += _access_key_errors(raw.get("access_key"), name)
    errors += _console_errors(raw.get("console"))
    if raw.get("mfa") is not None and not _is_bool(raw["mfa"]):
        errors.append("mfa must be true or false")
    errors += _body_errors(raw.get("ssh_public_keys"), _ssh_key.SSH_KEY, "ssh_public_keys")
    errors += _body_errors(
        raw.get("signing_certificates"), _signing_certificate.SIGNING_CERTIFICATE, "signing_certificates"
    )
    return errors


def _access_key_errors(value: t.Any, name: str) -> list[str]:
    errors = _settings_dict("access_key", value, ACCESS_KEY_KEYS)
    if not errors and isinstance(value, dict):
        days = value.get("rotate_after_days")
        if days is not None and (not _is_int(days) or days < 0):
            errors.append("access_key.rotate_after_days must be a whole number of days, 0 or more")
    if not errors and value not in (None, False):
        errors += _delivery.profile_errors("name", name)
    return errors


def _console_errors(value: t.Any) -> list[str]:
    errors = _settings_dict("console", value, CONSOLE_KEYS)
    if errors or not isinstance(value, dict):
        return errors
    length = value.get("password_length")
    low, high = _passwords.CUSTOM_MIN_LENGTH[0], _passwords.PASSWORD_MAX
    if length is not None and (not _is_int(length) or not low <= length <= high):
        errors.append(f"console.password_length must be a whole number from {low} to {high}")
    reset = value.get("password_reset_required")
    if reset is not None and not _is_bool(reset):
        errors.append("console.password_reset_required must be true or false")
    return errors


def _body_errors(value: t.Any, kind: _uploaded.Uploaded, option: str) -> list[str]:
    if not isinstance(value, list):
        return []
    errors = []
    for index, body in enumerate(value):
        if isinstance(body, str):
            problems = _uploaded.validate(kind, {"user_name": "x", kind.id_option: None, kind.body_option: body})
            errors += [f"{option}[{index}]: {problem}" for problem in problems]
    return errors


def _entry(raw: dict[str, t.Any]) -> Entry:
    key, console = raw.get("access_key"), raw.get("console")
    console_settings = console if isinstance(console, dict) else {}
    return Entry(
        name=raw["name"],
        state=raw.get("state") or "present",
        path=raw.get("path"),
        tags={str(k): "" if v is None else str(v) for k, v in raw["tags"].items()}
        if raw.get("tags") is not None
        else None,
        groups=raw.get("groups"),
        managed_policies=raw.get("managed_policies"),
        permissions_boundary=raw.get("permissions_boundary"),
        access_key=None if key is None else key is not False,
        rotate_after_days=key.get("rotate_after_days") if isinstance(key, dict) else None,
        console=None if console is None else console is not False,
        password_length=console_settings.get("password_length") or DEFAULT_PASSWORD_LENGTH,
        password_reset_required=console_settings.get("password_reset_required"),
        mfa=raw.get("mfa"),
        ssh_public_keys=raw.get("ssh_public_keys"),
        signing_certificates=raw.get("signing_certificates"),
    )


def _secret_kinds(entry: Entry) -> list[str]:
    """The kinds of secret converging ``entry`` may deliver."""
    wanted = {"access_key": entry.access_key, "login_profile": entry.console, "mfa": entry.mfa}
    return [kind for kind, on in wanted.items() if on] if entry.present else []


def _own_file(name: str) -> bool:
    """Whether ``name`` is a file the engine writes into a user's directory."""
    ours = set(FILES.values())
    return name in ours or name.removesuffix(VAULT_SUFFIX) in ours or name.startswith(".tmp-secret-")


def destination_errors(entries: list[Entry], root: str, *, vault: bool) -> list[str]:
    """What on disk would make an entry's secrets unsafe to write or its directory unsafe to remove.

    Checked before any AWS call, so that no credential is issued that could not be delivered.
    """
    errors = []
    for entry in entries:
        directory = user_directory(root, entry.name)
        if directory is None:
            continue  # parse_entries refused it
        problems = _delivery.directory_errors(directory)
        if not problems and entry.present:
            for kind in _secret_kinds(entry):
                path = os.path.join(directory, FILES[kind] + (VAULT_SUFFIX if vault else ""))
                problems += _delivery.check_destination(path)
        elif not problems and os.path.isdir(directory):
            foreign = sorted(name for name in os.listdir(directory) if not _own_file(name))
            if foreign:
                problems.append(
                    f"'{directory}' holds files this collection did not write ({', '.join(foreign[:5])}); "
                    "offboarding removes the directory, so move them away first"
                )
        errors += [f"{entry.name}: {problem}" for problem in problems]
    return errors


def parse_entries(users: list[t.Any], root: str) -> tuple[list[Entry], list[str]]:
    """The checked entries, and every problem found, each naming the entry and its key."""
    entries, errors, seen = [], [], {}
    for index, raw in enumerate(users):
        label = f"users[{index}]"
        if not isinstance(raw, dict):
            errors.append(f"{label} must be a dict (a roster entry)")
            continue
        if isinstance(raw.get("name"), str):
            label += f" ({raw['name']})"
        problems = _entry_errors(raw, root)
        if isinstance(raw.get("name"), str):
            # IAM user names are not distinguished by case.
            lowered = raw["name"].lower()
            if lowered in seen:
                problems.append(f"name repeats users[{seen[lowered]}] (IAM user names are case-insensitive)")
            seen.setdefault(lowered, index)
        errors += [f"{label}: {problem}" for problem in problems]
        if not problems:
            entries.append(_entry(raw))
    return entries, errors


# -- results ------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Record:
    """What the run did to one user (no secret), and the before/after of what its entry manages."""

    name: str
    state: str
    account: str | None = None
    created: list[str] = dataclasses.field(default_factory=list)
    changed: list[str] = dataclasses.field(default_factory=list)
    removed: list[str] = dataclasses.field(default_factory=list)
    credentials: list[str] = dataclasses.field(default_factory=list)
    directory: str | None = None
    warnings: list[str] = dataclasses.field(default_factory=list)
    failed: bool = False
    msg: str | None = None
    error_code: str | None = None
    before: dict[str, t.Any] = dataclasses.field(default_factory=dict)
    after: dict[str, t.Any] = dataclasses.field(default_factory=dict)

    @property
    def touched(self) -> bool:
        return self.before != self.after or bool(self.created or self.changed or self.removed)

    def add(self, aspect: str, outcome: Outcome) -> None:
        """Record one aspect's outcome."""
        self.before[aspect], self.after[aspect] = outcome.before, outcome.after
        self.created += outcome.created
        self.changed += outcome.updated
        self.removed += outcome.removed
        self.credentials += outcome.delivered
        self.warnings += outcome.warnings

    def result(self) -> dict[str, t.Any]:
        return {
            "name": self.name,
            "account": self.account,
            "state": self.state,
            "created": self.created,
            # Every change has its words; a change no aspect described is still reported as one.
            "changed": self.changed
            or (["user (updated)"] if self.touched and not (self.created or self.removed) else []),
            "removed": self.removed,
            "credentials": self.credentials,
            "directory": self.directory,
            "warnings": self.warnings,
            "failed": self.failed,
            "msg": self.msg,
            "error_code": self.error_code,
        }


@dataclasses.dataclass(frozen=True)
class Progress:
    done: int
    total: int
    changed: int
    failed: int
    check_mode: bool
    final: bool = False

    def line(self, label: str = "") -> str:
        where = f" [{label}]" if label else ""
        if self.check_mode:
            return (
                f"iam_roster{where} (check mode): {self.done}/{self.total} users checked, "
                f"{self.changed} would change, {self.failed} failed"
            )
        return f"iam_roster{where}: {self.done}/{self.total} users done, {self.changed} changed, {self.failed} failed"


# -- the engine ---------------------------------------------------------------------------------------


@dataclasses.dataclass
class Settings:
    credentials_dir: str
    check_mode: bool = False
    mfa_issuer: str = "AWS"
    # Encrypts a secret file's content before it touches the disk (ansible-vault, from the action plugin).
    encrypt: _delivery.Encrypt | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    batch_size: int = DEFAULT_BATCH_SIZE
    progress_interval: float = PROGRESS_INTERVAL
    verify_timeout: int = 60


class _Once:
    """A value read from AWS at most once per run, whichever thread asks first."""

    def __init__(self, read: t.Callable[[], t.Any]):
        self._read, self._lock, self._value, self._done = read, threading.Lock(), None, False

    def __call__(self) -> t.Any:
        with self._lock:
            if not self._done:
                self._value, self._done = self._read(), True
            return self._value


class Engine:
    """Converges roster entries against one account, with clients built once from the connection options."""

    def __init__(self, connection: dict[str, t.Any], settings: Settings):
        self.settings = settings
        self.connection = connection
        session = _aws.build_session(connection)
        self._session = session
        self.client = _aws.create_client(session, "iam", connection, retry_mode="adaptive")
        self._probe = _Once(lambda: _aws.create_client(session, "iam", connection, max_attempts=1))
        self._sts = _Once(lambda: _aws.create_client(session, "sts", connection))
        # Account-wide reads, shared by every user of the run.
        reader = IAM(self.client)
        self.password_rules = _Once(lambda: _passwords.rules_from_policy(reader.get_password_policy()))
        self.caller = _Once(lambda: get_caller_identity(self._sts()))
        self._aliases = _Once(reader.list_account_aliases)

    # -- shared reads --

    def sign_in_url(self, user_arn: str | None) -> str:
        aliases = self._aliases()
        account = aliases[0] if aliases else (user_arn.split(":")[4] if user_arn else self.caller()["Account"])
        return _login_profile.sign_in_url(account, self.client.meta.partition)

    def predicted_arn(self, entry: Entry) -> str:
        """The ARN a user about to be created will have (check mode: to predict its MFA serial)."""
        caller = self.caller()["Arn"]
        partition, account = caller.split(":")[1], caller.split(":")[4]
        return f"arn:{partition}:iam::{account}:user{entry.path or '/'}{entry.name}"

    def client_with_credentials(self, service: str, access_key_id: str, secret_access_key: str) -> t.Any:
        params = dict(self.connection, access_key=access_key_id, secret_key=secret_access_key)
        params["session_token"] = params["profile"] = params["role_arn"] = None
        return _aws.create_client(_aws.build_session(params), service, params)

    # -- one user --

    def destination(self, directory: str, kind: str) -> _delivery.Destination:
        name = FILES[kind] + (VAULT_SUFFIX if self.settings.encrypt else "")
        # The user's own files: replaced whole, in a private directory of ours.
        path = os.path.join(directory, name)
        return _delivery.Destination(path, kind, encrypt=self.settings.encrypt, private_parent=True, merge=False)

    def converge_user(self, entry: Entry) -> Record:
        """Converge one entry; any AWS or delivery failure is recorded, never raised."""
        record = Record(entry.name, entry.state)
        directory = user_directory(self.settings.credentials_dir, entry.name)
        iam = IAM(self.client, check_mode=self.settings.check_mode, probe_client=self._probe)
        try:
            if directory is None:  # parse_entries refuses these; checked again before touching the disk
                raise ModuleFailure(f"name: '{entry.name}' cannot name a directory under the credentials directory")
            if entry.present:
                self._present(iam, entry, record, directory)
            else:
                self._absent(iam, entry, record, directory)
        except (IAMError, ModuleFailure, _delivery.DeliveryError) as exc:
            record.failed, record.msg = True, str(exc)
            record.error_code = getattr(exc, "code", None) or getattr(exc, "details", {}).get("error_code")
        record.warnings += iam.warnings
        if os.path.isdir(directory or ""):
            record.directory = directory
        return record

    def _present(self, iam: IAM, entry: Entry, record: Record, directory: str) -> None:
        check_mode, name = self.settings.check_mode, entry.name
        current = _user.read(iam, name, groups=entry.groups is not None, policies=entry.managed_policies is not None)
        new = current is None
        spec = _user.UserSpec(
            name=name,
            path=entry.path,
            tags=entry.tags,
            permissions_boundary=entry.permissions_boundary,
            managed_policies=entry.managed_policies,
            groups=entry.groups,
        )
        outcome = _user.ensure_present(iam, check_mode=check_mode, current=current, spec=spec)
        record.add("user", _user_view(outcome))
        user_arn = outcome.after.get("arn") or (self.predicted_arn(entry) if check_mode else None)
        record.account = user_arn.split(":")[4] if user_arn else None

        if entry.access_key is not None:
            keys = [] if new else (_access_keys.read(iam, name) or [])
            if entry.access_key:
                prove = None
                if not check_mode and entry.rotate_after_days is not None:
                    # A rotated key replaces a working one: prove the new key works before the old one is retired.
                    prove = _partial_prove(self, user_arn)
                outcome = _access_keys.ensure_one_active(
                    iam,
                    check_mode=check_mode,
                    user=name,
                    keys=keys,
                    rotate_after_days=entry.rotate_after_days,
                    prove=prove,
                    destination=self.destination(directory, "access_key"),
                )
            else:
                outcome = _access_keys.ensure_none(iam, check_mode=check_mode, user=name, keys=keys)
            record.add("access_keys", outcome)

        if entry.console is not None:
            profile = None if new else _login_profile.read(iam, name)
            if entry.console:
                reset = entry.password_reset_required
                if reset is None and new:
                    # A password created together with its user must be changed at the first sign-in.
                    reset = True
                outcome = _login_profile.ensure_present(
                    iam,
                    check_mode=check_mode,
                    user_name=name,
                    current=profile,
                    password=None,
                    password_length=entry.password_length,
                    password_reset_required=reset,
                    max_session_duration=None,
                    update_password="on_create",  # noqa: S106 - an option value, not a password
                    rules=self.password_rules,
                    sign_in_url=lambda: self.sign_in_url(user_arn),
                    destination=self.destination(directory, "login_profile"),
                )
            else:
                outcome = _login_profile.ensure_absent(iam, check_mode=check_mode, current=profile)
            record.add("console", outcome)

        if entry.mfa is not None:
            devices = [] if new else _mfa.read(iam, name)
            if entry.mfa:
                outcome = _mfa.ensure_present(
                    iam,
                    check_mode=check_mode,
                    user_name=name,
                    user_arn=user_arn,
                    name=None,
                    issuer=self.settings.mfa_issuer,
                    devices=devices,
                    destination=self.destination(directory, "mfa"),
                )
            else:
                outcome = _mfa.ensure_none(iam, check_mode=check_mode, user_name=name, devices=devices)
            record.add("mfa", outcome)

        for aspect, kind, bodies in (
            ("ssh_public_keys", _ssh_key.SSH_KEY, entry.ssh_public_keys),
            ("signing_certificates", _signing_certificate.SIGNING_CERTIFICATE, entry.signing_certificates),
        ):
            if bodies:
                outcome = _uploaded.ensure_bodies(kind, iam, check_mode=check_mode, user_name=name, bodies=bodies)
                record.add(aspect, outcome)

    def _absent(self, iam: IAM, entry: Entry, record: Record, directory: str) -> None:
        current = _user.read(iam, entry.name)
        if current is not None:
            record.account = (current.get("arn") or "::::").split(":")[4] or None
        outcome = _user.ensure_absent(iam, check_mode=self.settings.check_mode, current=current, force=True)
        record.add("user", _user_view(outcome))
        # The user's keys, password and MFA device no longer exist, so its files hold only dead secrets.
        if remove_directory(directory, check_mode=self.settings.check_mode):
            record.removed.append("credentials directory")
            record.after["credentials_directory"] = None
            record.before["credentials_directory"] = directory

    # -- the roster --

    def converge(self, entries: list[Entry], progress: t.Callable[[Progress], None] | None = None) -> list[Record]:
        """Converge every entry, ``concurrency`` users at a time; report progress per batch and every few seconds."""
        settings = self.settings
        if not settings.check_mode:
            prepare_root(settings.credentials_dir)
        records: dict[int, Record] = {}
        counts = {"changed": 0, "failed": 0}

        def report(final: bool = False) -> None:
            if progress is not None:
                progress(
                    Progress(
                        len(records), len(entries), counts["changed"], counts["failed"], settings.check_mode, final
                    )
                )

        workers = max(1, min(settings.concurrency, MAX_CONCURRENCY, len(entries) or 1))
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="iam_roster") as pool:
            pending = {pool.submit(self.converge_user, entry): index for index, entry in enumerate(entries)}
            last_line = time.monotonic()
            while pending:
                done, _still = concurrent.futures.wait(
                    pending, timeout=settings.progress_interval, return_when=concurrent.futures.FIRST_COMPLETED
                )
                batch_crossed = False
                for future in done:
                    record = future.result()
                    records[pending.pop(future)] = record
                    counts["changed"] += record.touched and not record.failed
                    counts["failed"] += record.failed
                    batch_crossed = batch_crossed or len(records) % max(settings.batch_size, 1) == 0
                now = time.monotonic()
                if pending and (batch_crossed or now - last_line >= settings.progress_interval):
                    report()
                    last_line = now
        report(final=True)
        return [records[index] for index in range(len(entries))]


def _partial_prove(engine: Engine, user_arn: str | None) -> t.Callable[[str, str], None]:
    def prove(key_id: str, secret: str) -> None:
        _access_keys.prove_key(engine.client_with_credentials, user_arn, engine.settings.verify_timeout, key_id, secret)

    return prove


_USER_FIELDS = ("user_name", "path", "tags", "permissions_boundary", "groups", "managed_policies")


def _user_view(outcome: Outcome) -> Outcome:
    """The user's outcome with before/after cut to what an entry manages (no IDs, dates or unread lists)."""

    def view(user: dict[str, t.Any]) -> dict[str, t.Any]:
        return {field: user[field] for field in _USER_FIELDS if user.get(field) is not None}

    return dataclasses.replace(outcome, before=view(outcome.before or {}), after=view(outcome.after or {}))


# -- the credentials directory ---------------------------------------------------------------------------


def prepare_root(root: str) -> None:
    """Create the credentials directory with mode 0700 (intermediate directories keep their default)."""
    try:
        if not os.path.isdir(root):
            os.makedirs(root, exist_ok=True)
            os.chmod(root, _delivery.DIR_MODE)
    except OSError as exc:
        raise ModuleFailure(f"credentials_dir: cannot create '{root}': {exc.strerror or exc}") from None


def remove_directory(directory: str, *, check_mode: bool) -> bool:
    """Remove a user's credentials directory; True if it existed.

    Only a real directory (never through a symlink) that holds nothing but the files this engine writes.
    """
    try:
        info = os.lstat(directory)
        if not stat.S_ISDIR(info.st_mode):
            raise ModuleFailure(f"credentials_dir: '{directory}' is not a directory (a symlink?); not removing it")
        foreign = sorted(name for name in os.listdir(directory) if not _own_file(name))
        if foreign:
            raise ModuleFailure(
                f"credentials_dir: '{directory}' holds files this collection did not write "
                f"({', '.join(foreign[:5])}); not removing it"
            )
        if not check_mode:
            shutil.rmtree(directory)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise ModuleFailure(f"credentials_dir: cannot remove '{directory}': {exc.strerror or exc}") from None
    return True


def preflight(root: str) -> list[str]:
    """Problems with the credentials directory, found before any AWS call."""
    root = os.path.expanduser(root)
    if not os.path.isabs(root):
        return [f"credentials_dir '{root}' must be an absolute path"]
    if os.path.lexists(root) and not os.path.isdir(root):
        return [f"credentials_dir '{root}' exists and is not a directory"]
    return []


# -- one run: options in, result out (shared by the iam_roster module and its action plugin) ---------------

# The keys of an entry, typed; parse_entries checks the rest (names, limits, the raw access_key/console values).
ENTRY_SPEC: dict[str, dict[str, t.Any]] = {
    "name": {"type": "str", "required": True},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "path": {"type": "str"},
    "tags": {"type": "dict"},
    "groups": {"type": "list", "elements": "str"},
    "managed_policies": {"type": "list", "elements": "str"},
    "permissions_boundary": {"type": "str"},
    "access_key": {"type": "raw", "no_log": False},
    "console": {"type": "raw"},
    "mfa": {"type": "bool"},
    "ssh_public_keys": {"type": "list", "elements": "str", "no_log": False},
    "signing_certificates": {"type": "list", "elements": "str"},
}

ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    "users": {"type": "list", "elements": "dict", "required": True, "options": ENTRY_SPEC},
    "credentials_dir": {"type": "path", "required": True},
    "mfa_issuer": {"type": "str", "default": "AWS"},
    "vault_password_file": {"type": "path", "no_log": False},
    "vault_id": {"type": "str", "no_log": False},
    "concurrency": {"type": "int", "default": DEFAULT_CONCURRENCY},
    "batch_size": {"type": "int", "default": DEFAULT_BATCH_SIZE},
    "progress_interval": {"type": "float", "default": PROGRESS_INTERVAL},
    "verify_timeout": {"type": "int", "default": 60},
    "report": {"type": "bool", "default": False},
    "account_label": {"type": "str"},
}


def option_errors(params: dict[str, t.Any]) -> list[str]:
    """Problems with the options other than the entries (checked before any AWS call)."""
    errors = preflight(params["credentials_dir"])
    if not 1 <= params["concurrency"] <= MAX_CONCURRENCY:
        errors.append(f"concurrency must be from 1 to {MAX_CONCURRENCY}, not {params['concurrency']}")
    if params["batch_size"] < 1:
        errors.append(f"batch_size must be 1 or more, not {params['batch_size']}")
    if params["progress_interval"] <= 0:
        errors.append(f"progress_interval must be more than 0 seconds, not {params['progress_interval']}")
    if params["verify_timeout"] < 1:
        errors.append(f"verify_timeout must be at least 1 second, not {params['verify_timeout']}")
    issuer = params["mfa_issuer"]
    if not issuer or ":" in issuer:
        errors.append("mfa_issuer must be a non-empty name without ':'")
    return errors


def settings_from(params: dict[str, t.Any], *, check_mode: bool, encrypt: _delivery.Encrypt | None = None) -> Settings:
    return Settings(
        credentials_dir=os.path.abspath(os.path.expanduser(params["credentials_dir"])),
        check_mode=check_mode,
        mfa_issuer=params["mfa_issuer"],
        encrypt=encrypt,
        concurrency=params["concurrency"],
        batch_size=params["batch_size"],
        progress_interval=params["progress_interval"],
        verify_timeout=params["verify_timeout"],
    )


def result_of(
    records: list[Record], settings: Settings, *, label: str | None, with_diff: bool, report: bool
) -> dict[str, t.Any]:
    """iam_roster's result: one record per user, totals, the summary lines and, in diff mode, a diff per user."""
    users = [dict(record.result(), label=label) for record in records]
    result: dict[str, t.Any] = {
        "changed": any(_summary.touched(user) for user in users),
        "users": users,
        "totals": _summary.totals(users),
        "summary": _summary.summary(users, settings.check_mode),
    }
    if with_diff:
        result["diff"] = [
            _outcome.diff(record.before, record.after, header=f"user {record.name}")
            for record in records
            if record.before != record.after
        ]
    failed = [user for user in users if user["failed"]]
    if failed:
        result["failed"] = True
        result["msg"] = f"{len(failed)} of {len(users)} users failed: " + "; ".join(
            f"{user['name']}: {user['error_code'] or 'error'}: {user['msg']}" for user in failed
        )
    if report and result["changed"] and not settings.check_mode:
        path = os.path.join(settings.credentials_dir, REPORT_FILE)
        try:
            text = _summary.report(users, settings.credentials_dir)
            result["report"] = _delivery.write_secret(path, lambda _existing: text, merge=False)
        except _delivery.DeliveryError as exc:
            # The users are converged: keep their records, and say why the report is missing.
            result["failed"] = True
            result["msg"] = "; ".join(filter(None, [result.get("msg"), f"report: {exc}"]))
    return result
