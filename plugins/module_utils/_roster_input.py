# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal use only: this file is not a public API of the collection and may change at any time.

"""The roster's input, checked before any AWS call: its entries, and the credentials directory they write to.

Every problem names the entry and its key. A user's directory is always a direct child of the credentials
directory, and offboarding removes one only when it holds nothing but the files the engine writes.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import stat
import typing as t

from ansible_collections.techsquawks.iam.plugins.module_utils import (
    _delivery,
    _destinations,
    _hygiene,
    _passwords,
    _service_credential,
    _signing_certificate,
    _ssh_key,
    _uploaded,
    _validate,
)
from ansible_collections.techsquawks.iam.plugins.module_utils._module import ModuleFailure

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
    "remediation",
    "require_mfa",
    "deliver_to",
    "service_credentials",
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
    # The entry's own remediation policy over the roster's (False: exempt), and require_mfa ("off": off; None:
    # the roster's).
    remediation: dict[str, t.Any] | bool | None = None
    require_mfa: str | None = None
    # A user found under the roster's owned path that no entry names (offboarded with offboard_unlisted).
    unlisted: bool = False
    # Where this user's new secrets go (normalized ``deliver_to``); None: the roster's default.
    deliver_to: dict[str, t.Any] | None = None
    # Service-specific credentials (service names or dicts), checked by _service_credential.services_errors.
    service_credentials: list[t.Any] | None = None

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
    errors += _hygiene.policy_errors("remediation", raw.get("remediation"), may_be_false=True)
    errors += _destinations.errors("deliver_to", raw.get("deliver_to"), kinds=_entry_kinds(raw), roster=True)
    errors += _service_credential.services_errors("service_credentials", raw.get("service_credentials"))
    try:
        _hygiene.require_mfa_mode(raw.get("require_mfa"))
    except ValueError as exc:
        errors.append(str(exc))
    errors += _body_errors(raw.get("ssh_public_keys"), _ssh_key.SSH_KEY, "ssh_public_keys")
    errors += _body_errors(
        raw.get("signing_certificates"), _signing_certificate.SIGNING_CERTIFICATE, "signing_certificates"
    )
    return errors


def _entry_kinds(raw: dict[str, t.Any]) -> list[str]:
    """The kinds of secret an entry (not yet checked) may have delivered."""
    wanted = {"access_key": raw.get("access_key"), "login_profile": raw.get("console"), "mfa": raw.get("mfa")}
    kinds = [kind for kind, on in wanted.items() if on not in (None, False)]
    return kinds + (["service_credential"] if raw.get("service_credentials") else [])


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
        remediation=raw.get("remediation"),
        deliver_to=_destinations.normalized(raw.get("deliver_to")),
        service_credentials=raw.get("service_credentials"),
        require_mfa=None
        if raw.get("require_mfa") is None
        else (_hygiene.require_mfa_mode(raw["require_mfa"]) or "off"),
    )


def _secret_kinds(entry: Entry) -> list[tuple[str, str | None]]:
    """The kinds of secret converging ``entry`` may deliver, with the service of a service credential."""
    if not entry.present:
        return []
    wanted = {"access_key": entry.access_key, "login_profile": entry.console, "mfa": entry.mfa}
    services = [spec.service_name for spec in _service_credential.normalize_services(entry.service_credentials)]
    return [(kind, None) for kind, on in wanted.items() if on] + [(SERVICE_KIND, name) for name in services]


SERVICE_KIND = "service_credential"


def base_file_name(kind: str, service: str | None = None) -> str:
    """The file of a user's directory a secret of ``kind`` goes to, before any .vault/.age suffix."""
    if kind == SERVICE_KIND:
        return f"service-{(service or '').removesuffix('.amazonaws.com')}.json"
    return FILES[kind]


def _own_file(name: str) -> bool:
    """Whether ``name`` is a file the engine writes into a user's directory."""
    ours = set(FILES.values())
    transient = name.startswith((".tmp-secret-", _delivery.JOURNAL_PREFIX))
    plain = name.removesuffix(VAULT_SUFFIX).removesuffix(_destinations.AGE_SUFFIX)
    service = plain.startswith("service-") and plain.removeprefix("service-").removesuffix(".json") in {
        name.removesuffix(".amazonaws.com") for name in _service_credential.SERVICES
    }
    return name in ours or plain in ours or transient or (service and plain.endswith(".json"))


def secret_file_name(
    kind: str, deliver_to: dict[str, t.Any] | None, *, vault: bool, service: str | None = None
) -> str | None:
    """The file of a user's directory a secret of ``kind`` goes to (None when it goes to AWS)."""
    kind_of = (deliver_to or {}).get("type") or "file"
    if kind_of == "age":
        return base_file_name(kind, service) + _destinations.AGE_SUFFIX
    if kind_of == "file":
        return base_file_name(kind, service) + (VAULT_SUFFIX if vault else "")
    return None


def destination_errors(
    entries: list[Entry], root: str, *, vault: bool, deliver_to: dict[str, t.Any] | None = None
) -> list[str]:
    """What on disk would make an entry's secrets unsafe to write or its directory unsafe to remove.

    Checked before any AWS call, so that no credential is issued that could not be delivered.
    """
    errors = []
    for entry in entries:
        directory = user_directory(root, entry.name)
        if directory is None:
            continue  # parse_entries refused it
        problems = _delivery.directory_errors(directory)
        where = entry.deliver_to or deliver_to
        if _destinations.stored(where):
            # Names AWS would refuse (a user name with characters it does not allow) are found now.
            problems += _destinations.name_errors("deliver_to", where, where["type"], entry.name)
        if not problems and entry.present:
            for kind, service in _secret_kinds(entry):
                name = secret_file_name(kind, where, vault=vault, service=service)
                if name is None:
                    continue
                path = os.path.join(directory, name)
                # The user's directory itself is checked above, and made private when delivering.
                problems += _delivery.check_destination(path, parent=False)
        elif not problems and os.path.isdir(directory):
            foreign = sorted(name for name in os.listdir(directory) if not _own_file(name))
            if foreign:
                problems.append(
                    f"'{directory}' holds files this collection did not write ({', '.join(foreign[:5])}); "
                    "offboarding removes the directory, so move them away first"
                )
        errors += [f"{entry.name}: {problem}" for problem in problems]
    return errors


def entry_spec_errors(users: t.Any) -> list[str]:
    """ENTRY_SPEC's type, choice and unknown-key checks, entry by entry, each message naming its entry."""
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    if not isinstance(users, list):
        return []  # the argument spec reports it
    validator = ArgumentSpecValidator(ENTRY_SPEC)
    errors = []
    for index, raw in enumerate(users):
        if not isinstance(raw, dict):
            errors.append(f"users[{index}] must be a dict (a roster entry)")
            continue
        label = f"users[{index}]" + (f" ({raw['name']})" if isinstance(raw.get("name"), str) else "")
        errors += [f"{label}: {message}" for message in validator.validate(dict(raw)).error_messages]
    return errors


def parse_entries(users: list[t.Any], root: str) -> tuple[list[Entry], list[str]]:
    """The checked entries, and every problem found, each naming the entry and its key."""
    entries: list[Entry] = []
    errors: list[str] = []
    seen: dict[str, int] = {}  # lowered name -> the index of its first entry
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
    "remediation": {"type": "raw"},
    "require_mfa": {"type": "raw"},
    "deliver_to": {"type": "dict", "no_log": False},
    "service_credentials": {"type": "list", "elements": "raw", "no_log": False},
}


# -- the credentials directory ---------------------------------------------------------------------------


def prepare_root(root: str) -> None:
    """Create the credentials directory with mode 0700 (intermediate directories keep their default)."""
    try:
        if not os.path.isdir(root):
            os.makedirs(root, exist_ok=True)
            os.chmod(root, _delivery.DIR_MODE)
        elif os.stat(root).st_uid == os.geteuid() and stat.S_IMODE(os.stat(root).st_mode) & 0o077:
            # An existing credentials directory of ours that others could read or write: tightened.
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
