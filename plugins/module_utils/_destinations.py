# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal use only: this file is not a public API of the collection and may change at any time.

"""``deliver_to``: where a new secret goes (a file, an age-encrypted file, Secrets Manager, SSM Parameter Store).

One option shape for every module that issues a secret and for the roster (per entry, with a roster-wide
default). ``errors`` checks a value before any AWS call; ``sink`` builds the destination the resource functions
deliver to (every sink has the interface of ``_delivery.Destination``: path, expect, deliver, stage, plus
remove and describe). Results carry ``describe()``: references only, never a secret.
"""

from __future__ import annotations

import typing as t

from ansible_collections.techsquawks.iam.plugins.module_utils import _delivery

TYPES = ("file", "age", "secretsmanager", "ssm")
# The keys each type takes (besides ``type``); any other key given is refused, naming it.
TYPE_KEYS = {
    "file": ("path", "format"),
    "age": ("path", "format", "recipients"),
    "secretsmanager": ("name", "prefix", "kms_key_id", "tags", "readers", "recovery_window_days"),
    "ssm": ("name", "prefix", "kms_key_id", "tags"),
}
COMMON_KEYS = ("qr_code",)
AGE_SUFFIX = ".age"
VAULT_SUFFIX = ".vault"
RECOVERY_WINDOW = (7, 30)

# The argument spec of ``deliver_to`` (a module option, the roster option and each entry's key).
SPEC: dict[str, dict[str, t.Any]] = {
    "type": {"type": "str", "choices": list(TYPES), "default": "file"},
    "path": {"type": "path"},
    "format": {"type": "str"},
    "recipients": {"type": "list", "elements": "str", "no_log": False},
    "name": {"type": "str"},
    "prefix": {"type": "str"},
    "kms_key_id": {"type": "str", "no_log": False},
    "tags": {"type": "dict"},
    "readers": {"type": "list", "elements": "str"},
    "recovery_window_days": {"type": "int", "default": 30},
    "qr_code": {"type": "bool", "default": False},
}
DEFAULTS = {key: spec.get("default") for key, spec in SPEC.items()}


@t.overload
def normalized(value: dict[str, t.Any]) -> dict[str, t.Any]: ...


@t.overload
def normalized(value: dict[str, t.Any] | None) -> dict[str, t.Any] | None: ...


def normalized(value: dict[str, t.Any] | None) -> dict[str, t.Any] | None:
    """A ``deliver_to`` value with every key present (the spec's defaults for those not given)."""
    if value is None:
        return None
    return {key: value.get(key, DEFAULTS[key]) if value.get(key) is not None else DEFAULTS[key] for key in SPEC}


def stored(value: dict[str, t.Any] | None) -> t.TypeGuard[dict[str, t.Any]]:
    """Whether the secret goes to AWS (Secrets Manager or SSM) rather than to a file."""
    return bool(value and value["type"] in ("secretsmanager", "ssm"))


def errors(option: str, value: t.Any, *, kinds: t.Iterable[str], roster: bool = False) -> list[str]:
    """Problems with a ``deliver_to`` value, each naming ``option.<key>``; checked before any AWS call.

    ``kinds`` are the secret kinds it will receive (their formats are checked). In the roster, files go to the
    user's directory, so ``path`` is not taken there.
    """
    if value is None:
        return []
    if not isinstance(value, dict):
        return [f"{option} must be a dict with type ({', '.join(TYPES)}) and that type's keys"]
    kind_of = value.get("type") or "file"
    if kind_of not in TYPES:
        return [f"{option}.type must be one of {', '.join(TYPES)}, not {kind_of!r}"]
    allowed = set(TYPE_KEYS[kind_of]) | set(COMMON_KEYS) | {"type"}
    if roster:
        allowed.discard("path")
        allowed.discard("name")
    given = {key for key, item in value.items() if item is not None and item != DEFAULTS.get(key)}
    problems = [
        f"{option}.{key} does not apply to type {kind_of}" + (" in a roster" if roster and key in SPEC else "")
        for key in sorted(given - allowed)
    ]
    fmt = value.get("format")
    if fmt is not None:
        for kind in kinds:
            formats = _delivery.FORMATS[kind][1]
            if fmt not in formats:
                problems.append(f"{option}.format must be one of {', '.join(formats)} for this secret, not {fmt!r}")
    if kind_of in ("file", "age") and not roster:
        if not value.get("path"):
            problems.append(f"{option}.path is required with type {kind_of}")
        else:
            problems += _delivery.destination_errors(f"{option}.path", value["path"])
    if kind_of == "age":
        from ansible_collections.techsquawks.iam.plugins.module_utils import _age

        missing = _age.library_error()
        problems += [f"{option}.type: {missing}"] if missing else []
        problems += _age.recipient_errors(f"{option}.recipients", value.get("recipients"))
    if kind_of in ("secretsmanager", "ssm"):
        from ansible_collections.techsquawks.iam.plugins.module_utils import _secret_store

        problems += name_errors(option, value, kind_of)
        if kind_of == "secretsmanager":
            problems += _secret_store.recovery_window_errors(
                f"{option}.recovery_window_days", value.get("recovery_window_days")
            )
            problems += _secret_store.reader_errors(f"{option}.readers", value.get("readers"))
        tags = value.get("tags")
        if tags is not None and not isinstance(tags, dict):
            problems.append(f"{option}.tags must be a dict")
    if value.get("qr_code"):
        from ansible_collections.techsquawks.iam.plugins.module_utils import _qr

        if "mfa" not in kinds and not roster:
            problems.append(f"{option}.qr_code applies to an MFA seed only")
        if fmt == "text":
            problems.append(f"{option}.qr_code needs the json format (the text format holds the URI only)")
        missing = _qr.library_error()
        problems += [f"{option}.qr_code: {missing}"] if missing else []
    return problems


def name_errors(option: str, value: dict[str, t.Any], kind_of: str, user_name: str = "user") -> list[str]:
    """The secret's or parameter's name (given, or made of the prefix and ``user_name``) is one AWS allows."""
    from ansible_collections.techsquawks.iam.plugins.module_utils import _secret_store

    check = _secret_store.secret_name_errors if kind_of == "secretsmanager" else _secret_store.parameter_name_errors
    if value.get("name"):
        return check(f"{option}.name", value["name"])
    default = _secret_store.SECRETSMANAGER_PREFIX if kind_of == "secretsmanager" else _secret_store.SSM_PREFIX
    name = _secret_store.default_name(value.get("prefix") or default, user_name, "access_key")
    where = f"{option}.prefix" if user_name == "user" else f"the name {name} (from {option}.prefix and the user's name)"
    return [problem.replace(f"{option}.name", where, 1) for problem in check(f"{option}.name", name)]


class Clients(t.Protocol):
    def __call__(self, service: str) -> t.Any: ...


class FileSink(_delivery.Destination):
    """A 0600 file (plain, ansible-vault or age-encrypted): ``_delivery.Destination`` with a reference."""

    def __init__(self, path: str, kind: str, file_format: str | None, encrypt: t.Any, *, label: str, **options: t.Any):
        super().__init__(path, kind, file_format, encrypt, **options)
        self.label = label

    def describe(self) -> dict[str, t.Any]:
        return {"type": self.label, "path": self.path}

    def remove(self, *, check_mode: bool) -> bool:
        """Files are removed with their user's directory (the roster) or left to their owner (a module)."""
        del check_mode
        return False


class WithQrCode:
    """A sink whose MFA payload also carries the otpauth URI as a PNG QR code (base64), inside its encryption."""

    def __init__(self, inner: t.Any):
        self._inner = inner

    def __getattr__(self, name: str) -> t.Any:
        return getattr(self._inner, name)

    @staticmethod
    def _payload(payload: dict[str, str]) -> dict[str, str]:
        from ansible_collections.techsquawks.iam.plugins.module_utils import _qr

        uri = payload.get("otpauth_uri")
        return {**payload, _qr.PAYLOAD_KEY: _qr.png_base64(uri)} if uri else payload

    def deliver(self, payload: dict[str, str]) -> str:
        return self._inner.deliver(self._payload(payload))

    def stage(self, payload: dict[str, str]) -> t.Any:
        return self._inner.stage(self._payload(payload))


def sink(
    value: dict[str, t.Any],
    *,
    kind: str,
    user_name: str,
    user_arn: str | None,
    clients: Clients,
    path: str | None = None,
    encrypt: _delivery.Encrypt | None = None,
    private_parent: bool = False,
    merge: bool = True,
    journal_dir: str | None = None,
    service: str | None = None,
) -> t.Any:
    """The destination of one secret of ``kind`` for ``user_name``, from a normalized ``deliver_to`` value.

    ``path`` is the file of a roster user (its directory's file for the kind, without suffix); a module takes
    ``value['path']``. ``encrypt`` (ansible-vault, in the roster) applies to plain files and adds ``.vault``;
    an age file is encrypted to its recipients instead and ends in ``.age``.
    """
    built = _sink(
        value,
        kind=kind,
        user_name=user_name,
        user_arn=user_arn,
        clients=clients,
        path=path,
        encrypt=encrypt,
        private_parent=private_parent,
        merge=merge,
        journal_dir=journal_dir,
        service=service,
    )
    return WithQrCode(built) if value.get("qr_code") and kind == "mfa" else built


def _sink(
    value: dict[str, t.Any],
    *,
    kind: str,
    user_name: str,
    user_arn: str | None,
    clients: Clients,
    path: str | None,
    encrypt: _delivery.Encrypt | None,
    private_parent: bool,
    merge: bool,
    journal_dir: str | None,
    service: str | None,
) -> t.Any:
    kind_of = value["type"]
    if kind_of in ("file", "age"):
        target = path or value["path"]
        if kind_of == "age":
            from ansible_collections.techsquawks.iam.plugins.module_utils import _age

            encrypt = _age.encrypter(value["recipients"])
            target += AGE_SUFFIX if path is not None else ""
        elif path is not None and encrypt is not None:
            target += VAULT_SUFFIX
        return FileSink(
            target,
            kind,
            value.get("format"),
            encrypt,
            label=kind_of,
            private_parent=private_parent,
            merge=merge and encrypt is None,
            journal=journal_dir is not None,
        )
    from ansible_collections.techsquawks.iam.plugins.module_utils import _secret_store

    common: dict[str, t.Any] = {
        "kind": kind,
        "user_name": user_name,
        "name": value.get("name"),
        "kms_key_id": value.get("kms_key_id"),
        "tags": value.get("tags"),
        "journal_dir": journal_dir,
        "service": service,
    }
    if kind_of == "secretsmanager":
        return _secret_store.SecretsManagerSink(
            clients("secretsmanager"),
            user_arn=user_arn,
            prefix=value.get("prefix") or _secret_store.SECRETSMANAGER_PREFIX,
            readers=tuple(value.get("readers") or ()),
            recovery_window_days=value["recovery_window_days"],
            **common,
        )
    return _secret_store.SsmSink(clients("ssm"), prefix=value.get("prefix") or _secret_store.SSM_PREFIX, **common)


# -- modules ------------------------------------------------------------------------------------------------

OPTION_SPEC: dict[str, t.Any] = {"type": "dict", "options": SPEC}


def module_sink(module: t.Any, *, kind: str, user_name: str, service: str | None = None) -> t.Any:
    """The destination a module's ``deliver_to`` (or its older ``secret_file``/``secret_format``) names, or None.

    The user's ARN (for a Secrets Manager resource policy) is read only when a secret is delivered there.
    """
    params = module.params
    value = normalized(params.get("deliver_to"))
    if value is None:
        if not params.get("secret_file"):
            return None
        return FileSink(params["secret_file"], kind, params.get("secret_format"), None, label="file")

    user_arn = None
    if value["type"] == "secretsmanager":
        # The resource policy names the user: one GetUser (a user not there yet is predicted in check mode).
        found = module.iam.get_user(user_name)
        user_arn = found["Arn"] if found else None
    return sink(value, kind=kind, user_name=user_name, user_arn=user_arn, clients=module.client, service=service)


def references(result: dict[str, t.Any], destination: t.Any, delivered: bool) -> dict[str, t.Any]:
    """A module result with the destination's reference (``delivered``); ``secret_file`` only for a file."""
    if destination is None:
        return result
    if delivered:
        result["delivered"] = destination.describe()
    if destination.describe().get("type") not in ("file", "age"):
        result.pop("secret_file", None)
    return result
