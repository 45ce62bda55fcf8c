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
import threading
import time
import typing as t

from ansible_collections.techsquawks.iam.plugins.module_utils import (
    _access_keys,
    _aws,
    _compare,
    _delivery,
    _destinations,
    _hygiene,
    _login_profile,
    _mfa,
    _outcome,
    _passwords,
    _service_credential,
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
from ansible_collections.techsquawks.iam.plugins.module_utils._roster_input import (
    ENTRY_SPEC,
    FILES,
    REPORT_FILE,
    SERVICE_KIND,
    Entry,
    base_file_name,
    destination_errors,
    preflight,
    prepare_root,
    remove_directory,
    user_directory,
)

# IAM answers a few tens of requests a second per account before it throttles; eight users at once stay
# under that most of the time, and adaptive retries slow every thread down together when it does not.
DEFAULT_CONCURRENCY = 8
MAX_CONCURRENCY = 32
# A progress line after every batch of this many users, and at least every PROGRESS_INTERVAL seconds.
DEFAULT_BATCH_SIZE = 25
PROGRESS_INTERVAL = 5.0
# -- results ------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Record:
    """What the run did to one user (no secret), and the before/after of what its entry manages."""

    name: str
    state: str
    unlisted: bool = False
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
        """Record one aspect's outcome; a second outcome of an aspect continues from the first's before."""
        self.before.setdefault(aspect, outcome.before)
        self.after[aspect] = outcome.after
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
            "unlisted": self.unlisted,
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
    remediation: _hygiene.Policy = dataclasses.field(default_factory=_hygiene.Policy)
    # Where new secrets go unless an entry says otherwise (normalized deliver_to); None: the user's directory.
    deliver_to: dict[str, t.Any] | None = None
    require_mfa: str | None = None
    # Users under this path that no entry names are reported, and offboarded with offboard_unlisted.
    owned_path: str | None = None
    offboard_unlisted: bool = False


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
        self._lock = threading.Lock()
        self._clients: dict[str, t.Any] = {}  # service name -> its client (aws_client)

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

    def aws_client(self, service: str) -> t.Any:
        """A client of another service (Secrets Manager, SSM) on the run's session, built once."""
        with self._lock:
            if service not in self._clients:
                self._clients[service] = _aws.create_client(self._session, service, self.connection)
            return self._clients[service]

    def deliver_to(self, entry: Entry) -> dict[str, t.Any]:
        return entry.deliver_to or self.settings.deliver_to or _destinations.normalized({"type": "file"})

    def destination(
        self, entry: Entry, directory: str, kind: str, user_arn: str | None, service: str | None = None
    ) -> t.Any:
        """Where the entry's new secret of ``kind`` goes: a file of the user's own directory (replaced whole, in
        a private directory of ours; ansible-vault or age encrypted), or Secrets Manager / SSM. The write-ahead
        record always lives in the user's directory."""
        return _destinations.sink(
            self.deliver_to(entry),
            kind=kind,
            user_name=entry.name,
            user_arn=user_arn,
            clients=self.aws_client,
            path=os.path.join(directory, base_file_name(kind, service)),
            encrypt=self.settings.encrypt,
            private_parent=True,
            merge=False,
            journal_dir=directory,
            service=service,
        )

    def recover(self, iam: IAM, record: Record, directory: str, kind: str, held: t.Callable[[], list[str]]) -> set[str]:
        """Retire what an interrupted run issued but never delivered; return the IDs retired.

        The write-ahead record lists what the user held before that run asked AWS for a credential; anything
        the user holds now (``held()``, read only when there is a record) beyond that has a secret that is
        nowhere. Without a record this costs no AWS call.
        """
        pending = _delivery.read_journal(directory, kind)
        if pending is None:
            return set()
        held_now = held()
        before = pending.get("before")
        # A record cut short by the interruption itself tells nothing apart: then nothing is removed.
        strays = [item for item in held_now if item not in before] if before is not None else []
        if self.settings.check_mode:
            if strays:
                record.warnings.append(
                    f"an interrupted run left {', '.join(strays)} undelivered; a real run retires it"
                )
            return set()
        for item in strays:
            _RETIRE[kind](iam, record.name, item)
            record.removed.append(f"{_LABELS[kind]} {item} (issued by an interrupted run, never delivered)")
        _delivery.clear_journal(directory, kind)
        return set(strays)

    def converge_user(self, entry: Entry) -> Record:
        """Converge one entry; any AWS or delivery failure is recorded, never raised."""
        record = Record(entry.name, entry.state, unlisted=entry.unlisted)
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
            if directory is not None and not self.settings.check_mode:
                self._settle(iam, record, directory)
        record.warnings += iam.warnings
        if os.path.isdir(directory or ""):
            record.directory = directory
        return record

    def _settle(self, iam: IAM, record: Record, directory: str) -> None:
        """After a failure, make sure no credential issued by this run is left without its secret delivered.

        The failing aspect has already removed its new credential; a write-ahead record left behind is checked
        against what AWS holds now, and cleared (or, if AWS cannot be asked, left for the next run).
        """
        name = record.name

        def profile() -> list[str]:
            return ["login profile"] if iam.get_login_profile(name) else []

        def devices() -> list[str]:
            return _mfa_held(iam, name, iam.list_mfa_devices(name))

        held = {
            "access_key": lambda: [key["AccessKeyId"] for key in iam.list_access_keys(name)],
            "login_profile": profile,
            "mfa": devices,
            SERVICE_KIND: lambda: _service_credential.held(iam, name),
        }
        for kind, read in held.items():
            try:
                self.recover(iam, record, directory, kind, read)
            except IAMError as exc:
                record.warnings.append(f"could not check for an undelivered {_LABELS[kind]} ({exc}); the next run will")

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
        if not user_arn:  # IAM names every user it holds by its ARN
            raise ModuleFailure(f"IAM answered without the ARN of user {name}")
        record.account = user_arn.split(":")[4]

        policy = self.settings.remediation.overridden(entry.remediation)
        now = _access_keys.utc_now()
        if entry.access_key is not None or (policy.keys_by_use and not new):
            keys = [] if new else (_access_keys.read(iam, name) or [])
            if not new and entry.access_key is not None:
                retired = self.recover(iam, record, directory, "access_key", lambda: [k["AccessKeyId"] for k in keys])
                keys = [key for key in keys if key["AccessKeyId"] not in retired]
            if keys and entry.access_key is not False and policy.keys_by_use:
                keys = self._retire_unused_keys(iam, record, entry, keys, policy, now)
            if entry.access_key:
                rotate = entry.rotate_after_days
                if rotate is None:
                    rotate = policy.rotate_keys_after_days
                prove = None
                if not check_mode and rotate is not None:
                    # A rotated key replaces a working one: prove the new key works before the old one is retired.
                    prove = _partial_prove(self, user_arn)
                outcome = _access_keys.ensure_one_active(
                    iam,
                    check_mode=check_mode,
                    user=name,
                    keys=keys,
                    rotate_after_days=rotate,
                    prove=prove,
                    destination=self.destination(entry, directory, "access_key", user_arn),
                )
                record.add("access_keys", outcome)
            elif entry.access_key is False:
                record.add("access_keys", _access_keys.ensure_none(iam, check_mode=check_mode, user=name, keys=keys))

        console: bool | None = entry.console
        if entry.console is not None or (policy.remove_console_unused_days and not new):
            profile = None if new else _login_profile.read(iam, name)
            if profile is not None and self.recover(iam, record, directory, "login_profile", lambda: ["login profile"]):
                profile = None
            if entry.console:
                if profile is not None:
                    record.warnings += self._console_disuse(current, profile, kept=True, policy=policy, now=now)[1]
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
                    destination=self.destination(entry, directory, "login_profile", user_arn),
                )
                record.add("console", outcome)
            elif entry.console is False:
                record.add("console", _login_profile.ensure_absent(iam, check_mode=check_mode, current=profile))
            else:
                # Not managed by the entry: the remediation policy removes it when unused for too long.
                action = self._console_disuse(current, profile, kept=False, policy=policy, now=now)[0]
                console = profile is not None
                if action is not None:
                    outcome = _login_profile.ensure_absent(iam, check_mode=check_mode, current=profile)
                    outcome.removed = [f"console password ({action.reason})"]
                    record.add("console", outcome)
                    console = False

        if entry.mfa is not None:
            devices = [] if new else _mfa.read(iam, name)
            if not new:
                retired = self.recover(iam, record, directory, "mfa", lambda: _mfa_held(iam, name, devices))
                devices = [device for device in devices if device["SerialNumber"] not in retired]
            if entry.mfa:
                outcome = _mfa.ensure_present(
                    iam,
                    check_mode=check_mode,
                    user_name=name,
                    user_arn=user_arn,
                    name=None,
                    issuer=self.settings.mfa_issuer,
                    devices=devices,
                    destination=self.destination(entry, directory, "mfa", user_arn),
                )
            else:
                outcome = _mfa.ensure_none(iam, check_mode=check_mode, user_name=name, devices=devices)
            record.add("mfa", outcome)

        mode = entry.require_mfa or self.settings.require_mfa
        if mode not in (None, "off"):
            self._require_mfa(iam, record, entry, mode, new=new, console=console)

        for aspect, kind, bodies in (
            ("ssh_public_keys", _ssh_key.SSH_KEY, entry.ssh_public_keys),
            ("signing_certificates", _signing_certificate.SIGNING_CERTIFICATE, entry.signing_certificates),
        ):
            if bodies:
                outcome = _uploaded.ensure_bodies(kind, iam, check_mode=check_mode, user_name=name, bodies=bodies)
                record.add(aspect, outcome)

        if entry.service_credentials:
            if not new:
                self.recover(iam, record, directory, SERVICE_KIND, lambda: _service_credential.held(iam, name))
            outcome = _service_credential.ensure_services(
                iam,
                check_mode=check_mode,
                user_name=name,
                services=entry.service_credentials,
                destination_for=lambda service: self.destination(entry, directory, SERVICE_KIND, user_arn, service),
            )
            record.add("service_credentials", outcome)

    # -- remediation --

    def _retire_unused_keys(
        self,
        iam: IAM,
        record: Record,
        entry: Entry,
        keys: list[dict[str, t.Any]],
        policy: _hygiene.Policy,
        now: t.Any,
    ) -> list[dict[str, t.Any]]:
        """Deactivate and delete the keys the policy finds unused; return the keys left (one GetAccessKeyLastUsed
        per key whose last use decides something)."""
        kept = (_access_keys.newest_active(keys) or {}).get("AccessKeyId") if entry.access_key else None
        last_used = {
            key_id: _hygiene.parse_time(iam.get_access_key_last_used(key_id).get("LastUsedDate"))
            for key_id in _hygiene.keys_needing_last_use(keys, policy)
        }
        actions, warnings = _hygiene.key_actions(keys, last_used, kept, policy, now)
        record.warnings += warnings
        if not actions:
            return keys
        outcome, left = _access_keys.retire_for_disuse(
            iam, check_mode=self.settings.check_mode, keys=keys, actions=actions
        )
        record.add("access_keys", outcome)
        return left

    @staticmethod
    def _console_disuse(
        user: dict[str, t.Any] | None,
        profile: dict[str, t.Any] | None,
        *,
        kept: bool,
        policy: _hygiene.Policy,
        now: t.Any,
    ) -> tuple[_hygiene.Action | None, list[str]]:
        created = _hygiene.parse_time(profile.get("create_date") or None) if profile is not None else None
        if user is None or created is None:
            return None, []
        action, warning = _hygiene.console_action(
            created,
            _hygiene.parse_time(user.get("password_last_used")),
            kept=kept,
            policy=policy,
            now=now,
        )
        return action, [warning] if warning else []

    def _require_mfa(
        self, iam: IAM, record: Record, entry: Entry, mode: str, *, new: bool, console: bool | None
    ) -> None:
        """``require_mfa``: report a console user without MFA, or (deny) keep the MFA-required policy on it.

        What the entry converged is taken as known; the rest is read (GetLoginProfile, ListMFADevices), and in deny
        mode ListUserPolicies. A user created by this run is not read.
        """
        name, check_mode = entry.name, self.settings.check_mode
        if console is None:
            console = not new and iam.get_login_profile(name) is not None
        mfa = entry.mfa
        if mfa is None:
            mfa = not new and bool(iam.list_mfa_devices(name))
        verdict = _hygiene.mfa_verdict(mode, console=bool(console), mfa=bool(mfa))
        if verdict is not None:
            record.warnings.append(f"console access without MFA (require_mfa: {mode})")
        if mode != "deny":
            return
        attached = not new and _hygiene.DENY_POLICY_NAME in iam.list_inline_policies(name)
        wanted = verdict == "deny"
        if attached == wanted:
            return
        if wanted:
            if not check_mode:
                iam.put_inline_policy(name, _hygiene.DENY_POLICY_NAME, _hygiene.DENY_DOCUMENT)
            words = f"MFA required (inline policy {_hygiene.DENY_POLICY_NAME} denies all but MFA set-up)"
        else:
            if not check_mode:
                iam.delete_inline_policy(name, _hygiene.DENY_POLICY_NAME)
            words = f"MFA required policy removed ({'MFA enabled' if mfa else 'no console access'})"
        record.add(
            "require_mfa",
            Outcome(before={"deny_without_mfa": attached}, after={"deny_without_mfa": wanted}, updated=[words]),
        )

    def _absent(self, iam: IAM, entry: Entry, record: Record, directory: str) -> None:
        current = _user.read(iam, entry.name)
        if current is not None:
            record.account = (current.get("arn") or "::::").split(":")[4] or None
        outcome = _user.ensure_absent(iam, check_mode=self.settings.check_mode, current=current, force=True)
        record.add("user", _user_view(outcome))
        deliver_to = self.deliver_to(entry)
        if _destinations.stored(deliver_to):
            # The secrets of credentials that no longer exist: deleted where the roster delivered them.
            services = _service_credential.normalize_services(entry.service_credentials)
            kinds = [(kind, None) for kind in FILES] + [(SERVICE_KIND, spec.service_name) for spec in services]
            for kind, service in kinds:
                sink = self.destination(entry, directory, kind, None, service)
                if sink.remove(check_mode=self.settings.check_mode):
                    record.removed.append(f"{_LABELS[kind]} secret {sink.describe().get('name')}")
        # The user's keys, password and MFA device no longer exist, so its files hold only dead secrets.
        if remove_directory(directory, check_mode=self.settings.check_mode):
            record.removed.append("credentials directory")
            record.after["credentials_directory"] = None
            record.before["credentials_directory"] = directory

    # -- the roster --

    def find_unlisted(self, entries: list[Entry]) -> list[dict[str, t.Any]]:
        """Users under ``owned_path`` that no entry names (ListUsers with the path as prefix, one call per page).

        Only users whose path lies under the owned path are ever returned, whatever ListUsers answers.
        """
        owned = self.settings.owned_path
        if not owned:
            return []
        named = {entry.name.lower() for entry in entries}
        try:
            found = IAM(self.client).list_users(path_prefix=owned)
        except IAMError as exc:
            raise ModuleFailure(f"owned_path: cannot list the users under {owned}: {exc}") from None
        return sorted(
            (
                {
                    "name": user["UserName"],
                    "arn": user.get("Arn"),
                    "path": user.get("Path", "/"),
                    "create_date": _compare.iso8601(user.get("CreateDate")),
                    "password_last_used": _compare.iso8601(user.get("PasswordLastUsed")),
                }
                for user in found
                if user.get("Path", "/").startswith(owned) and user["UserName"].lower() not in named
            ),
            key=lambda user: user["name"].lower(),
        )

    def converge(self, entries: list[Entry], progress: t.Callable[[Progress], None] | None = None) -> list[Record]:
        """Converge every entry, ``concurrency`` users at a time; report progress per batch and every few seconds.

        A real run holds the credentials directory's lock throughout: two runs of one roster at once take
        turns, so the second finds the first's keys instead of issuing more.
        """
        if self.settings.check_mode:
            return self._converge(entries, progress)
        root = self.settings.credentials_dir
        prepare_root(root)
        try:
            lock = _delivery.locked_directory(root)
            lock.__enter__()
        except OSError as exc:
            raise ModuleFailure(f"credentials_dir: cannot lock '{root}': {exc.strerror or exc}") from None
        try:
            return self._converge(entries, progress)
        finally:
            lock.__exit__(None, None, None)

    def _converge(self, entries: list[Entry], progress: t.Callable[[Progress], None] | None) -> list[Record]:
        settings = self.settings
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


def _mfa_held(iam: IAM, user: str, devices: list[dict[str, t.Any]]) -> list[str]:
    """The user's MFA devices, and an unassigned virtual one of the user's name (created, never enabled)."""
    unassigned = iam.list_virtual_mfa_devices("Unassigned")
    mine = [
        d["SerialNumber"]
        for d in unassigned
        if d["SerialNumber"].lower().endswith(f"{_mfa.VIRTUAL_MARKER}{user}".lower())
    ]
    return [device["SerialNumber"] for device in devices] + mine


def _retire_key(iam: IAM, user: str, key_id: str) -> None:
    iam.delete_access_key(user, key_id)


def _retire_profile(iam: IAM, user: str, _profile: str) -> None:
    iam.delete_login_profile(user)


def _retire_device(iam: IAM, user: str, serial: str) -> None:
    if serial in {device["SerialNumber"] for device in iam.list_mfa_devices(user)}:
        iam.deactivate_mfa_device(user, serial)
    iam.delete_virtual_mfa_device(serial)


_RETIRE: dict[str, t.Callable[[IAM, str, str], None]] = {
    "access_key": _retire_key,
    "login_profile": _retire_profile,
    "mfa": _retire_device,
    SERVICE_KIND: _service_credential.retire,
}
_LABELS = {
    "access_key": "access key",
    "login_profile": "console password",
    "mfa": "MFA device",
    SERVICE_KIND: "service credential",
}


def _partial_prove(engine: Engine, user_arn: str) -> t.Callable[[str, str], None]:
    def prove(key_id: str, secret: str) -> None:
        _access_keys.prove_key(engine.client_with_credentials, user_arn, engine.settings.verify_timeout, key_id, secret)

    return prove


_USER_FIELDS = ("user_name", "path", "tags", "permissions_boundary", "groups", "managed_policies")


def _user_view(outcome: Outcome) -> Outcome:
    """The user's outcome with before/after cut to what an entry manages (no IDs, dates or unread lists)."""

    def view(user: dict[str, t.Any]) -> dict[str, t.Any]:
        return {field: user[field] for field in _USER_FIELDS if user.get(field) is not None}

    return dataclasses.replace(outcome, before=view(outcome.before or {}), after=view(outcome.after or {}))


# -- one run: options in, result out (shared by the iam_roster module and its action plugin) ---------------

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
    "remediation": {
        "type": "dict",
        # "key" in a name is not a secret here: day counts.
        "options": {key: {"type": "int", "no_log": False} for key in _hygiene.POLICY_KEYS},
    },
    "require_mfa": {"type": "raw"},
    "owned_path": {"type": "str"},
    "offboard_unlisted": {"type": "bool", "default": False},
    "deliver_to": {"type": "dict", "options": _destinations.SPEC},
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
    errors += _hygiene.policy_errors("remediation", params.get("remediation"), may_be_false=False)
    errors += _destinations.errors(
        "deliver_to", params.get("deliver_to"), kinds=("access_key", "login_profile", "mfa"), roster=True
    )
    try:
        _hygiene.require_mfa_mode(params.get("require_mfa"))
    except ValueError as exc:
        errors.append(str(exc))
    owned = params.get("owned_path")
    if owned is not None:
        errors += _validate.path("owned_path", owned)
        if owned == "/":
            errors.append("owned_path must not be '/': the roster would own every user of the account")
    if params.get("offboard_unlisted") and not owned:
        errors.append("offboard_unlisted needs owned_path: only users under a path the roster owns are offboarded")
    return errors


def _require_mfa_or_none(value: t.Any) -> str | None:
    """The roster-wide require_mfa mode (a bad value is reported by option_errors, before any AWS call)."""
    try:
        return _hygiene.require_mfa_mode(value)
    except ValueError:
        return None


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
        remediation=_hygiene.Policy.from_option(params.get("remediation")),
        deliver_to=_destinations.normalized(params.get("deliver_to")),
        require_mfa=_require_mfa_or_none(params.get("require_mfa")),
        owned_path=params.get("owned_path"),
        offboard_unlisted=bool(params.get("offboard_unlisted")),
    )


def run(
    engine: Engine, entries: list[Entry], progress: t.Callable[[Progress], None] | None = None, *, vault: bool
) -> tuple[list[Record], list[dict[str, t.Any]]]:
    """One roster run: the entries, and the users under the owned path that no entry names.

    Those are reported; with offboard_unlisted they are offboarded like ``state: absent`` entries, each only once
    its credentials directory is found safe to remove (else it is reported with the reason and left alone).
    """
    settings = engine.settings
    unlisted = engine.find_unlisted(entries)
    extra = []
    for user in unlisted:
        user["offboarded"] = False
        if not settings.offboard_unlisted:
            continue
        entry = Entry(name=user["name"], state="absent", unlisted=True)
        if user_directory(settings.credentials_dir, entry.name) is None:
            problems = [f"'{entry.name}' cannot name a directory under the credentials directory"]
        else:
            problems = destination_errors(
                [entry], settings.credentials_dir, vault=vault, deliver_to=settings.deliver_to
            )
        if problems:
            user["msg"] = "; ".join(problems)
        else:
            extra.append(entry)
            user["offboarded"] = True
    records = engine.converge(entries + extra, progress)
    for user, record in zip((u for u in unlisted if u["offboarded"]), records[len(entries) :], strict=True):
        user["offboarded"] = not record.failed
        if record.failed:
            user["msg"] = record.msg
    return records, unlisted


def result_of(
    records: list[Record],
    settings: Settings,
    *,
    label: str | None,
    with_diff: bool,
    report: bool,
    unlisted: list[dict[str, t.Any]] | None = None,
) -> dict[str, t.Any]:
    """iam_roster's result: one record per user, totals, the summary lines and, in diff mode, a diff per user."""
    users = [dict(record.result(), label=label) for record in records]
    unlisted = unlisted or []
    result: dict[str, t.Any] = {
        "changed": any(_summary.touched(user) for user in users),
        "users": users,
        "totals": _summary.totals(users),
        "summary": _summary.summary(users, settings.check_mode)
        + _summary.unlisted(unlisted, settings.owned_path, settings.check_mode)
        + _summary.warnings(users),
        "unlisted": unlisted,
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
