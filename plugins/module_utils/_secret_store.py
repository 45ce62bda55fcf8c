# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal use only: this file is not a public API of the collection and may change at any time.

"""Secrets delivered into AWS: Secrets Manager secrets and SSM Parameter Store SecureStrings.

Two sinks of the delivery layer (the interface of ``_delivery.Destination``: kind, path, expect, deliver,
stage, remove, describe) on top of thin verbs for each service. The botocore clients come from
``_aws.create_client``, whose retry configuration (standard or adaptive) is the only retrying done here.

Every failure is a ``SecretStoreError`` (a ``_delivery.DeliveryError``) whose message names the secret or the
parameter and the AWS error code, and never the value: AWS's own message is left out when the request carried
the secret and the message quotes it, or might (validation errors quote the rejected value).
"""

from __future__ import annotations

import json
import re
import time
import typing as t
import uuid

from ansible_collections.techsquawks.iam.plugins.module_utils import _compare, _delivery
from ansible_collections.techsquawks.iam.plugins.module_utils._aws import BotoCoreError, ClientError, error_code

SECRETSMANAGER_PREFIX = "iam/"
SSM_PREFIX = "/iam/"

SECRET_NAME_MAX = 512
SECRET_VALUE_MAX = 65536
# AWS counts 1011 characters for a parameter name including the ARN before it
# (arn:<partition>:ssm:<region>:<account>:parameter); 64 of them are kept for the longest such ARN.
PARAMETER_NAME_MAX = 1011 - 64
PARAMETER_LEVELS_MAX = 15
STANDARD_VALUE_MAX = 4096
ADVANCED_VALUE_MAX = 8192
RECOVERY_WINDOW_MIN = 7
RECOVERY_WINDOW_MAX = 30
DEFAULT_RECOVERY_WINDOW = 30
# The error codes of a secret (Secrets Manager) or a parameter (SSM) that does not exist.
NOT_FOUND = "ResourceNotFoundException"
PARAMETER_NOT_FOUND = "ParameterNotFound"

KIND_SLUGS = {"access_key": "access-key", "login_profile": "console-password", "mfa": "mfa"}
SERVICE_KIND = "service_credential"
KIND_LABELS = {
    "access_key": "Access key",
    "login_profile": "Console password",
    "mfa": "MFA seed",
    SERVICE_KIND: "Service-specific credential",
}
SERVICE_SUFFIX = ".amazonaws.com"

_SECRET_NAME_RE = re.compile(r"[A-Za-z0-9/_+=.@-]+")
# Secrets Manager appends "-" and six random characters to a secret's name in its ARN: a name that already
# ends so is mistaken for a partial ARN.
_ARN_SUFFIX_RE = re.compile(r"-[A-Za-z0-9]{6}")
_PARAMETER_SEGMENT_RE = re.compile(r"[A-Za-z0-9_.-]+")
_RESERVED_PARAMETER_PREFIXES = ("aws", "ssm")
_PRINCIPAL_ARN_RE = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:(root|(user|role)/[\x21-\x7e]+)")
# How AWS (and botocore's parameter validation) quote a rejected input: "Value '...' at 'value'", "value: ...".
_QUOTES_INPUT_RE = re.compile(r"value[:\s]+'|value: ", re.IGNORECASE)


class SecretStoreError(_delivery.DeliveryError):
    """An AWS call of a sink failed; ``code`` is the AWS error code (or the botocore exception's name)."""

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.code = code


# -- names and options, checked before any AWS call --------------------------------------------------


def kind_slug(kind: str, service: str | None = None) -> str:
    """The last part of a default name: access-key, console-password, mfa, service-<service>."""
    if kind == SERVICE_KIND:
        if not service:
            raise ValueError("a service credential's default name needs its service name")
        return "service-" + service.removesuffix(SERVICE_SUFFIX)
    return KIND_SLUGS[kind]


def default_name(prefix: str, user: str, kind: str, service: str | None = None) -> str:
    """``<prefix><user>/<kind-slug>``; a prefix not ending in '/' gets one ('iam' -> 'iam/alice/mfa')."""
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return f"{prefix}{user}/{kind_slug(kind, service)}"


def secret_name_errors(option: str, name: str | None) -> list[str]:
    """A Secrets Manager secret name: 1-512 ASCII letters, digits and /_+=.@-, not ending like an ARN suffix."""
    if name is None:
        return []
    if not name:
        return [f"{option} must not be empty"]
    if len(name) > SECRET_NAME_MAX:
        return [f"{option} is {len(name)} characters long; Secrets Manager allows at most {SECRET_NAME_MAX}"]
    if not _SECRET_NAME_RE.fullmatch(name):
        return [
            f"{option} '{name}' may contain only ASCII letters, digits and /_+=.@- (a secret name); "
            "set the name explicitly for a user whose name has other characters"
        ]
    if _ARN_SUFFIX_RE.fullmatch(name[-7:]):
        return [
            f"{option} '{name}' ends with a hyphen and six characters, which Secrets Manager would confuse with "
            "the random suffix of a secret's ARN; choose another name"
        ]
    return []


def parameter_name_errors(option: str, name: str | None) -> list[str]:
    """An SSM parameter name: a '/'-rooted hierarchy of at most 15 levels of [A-Za-z0-9_.-], not aws/ssm-prefixed."""
    if name is None:
        return []
    if not name.startswith("/"):
        return [f"{option} '{name}' must be a hierarchy starting with '/' (such as /iam/alice/access-key)"]
    if len(name) > PARAMETER_NAME_MAX:
        return [f"{option} is {len(name)} characters long; at most {PARAMETER_NAME_MAX} fit in a parameter's ARN"]
    segments = name[1:].split("/")
    if not all(_PARAMETER_SEGMENT_RE.fullmatch(segment) for segment in segments):
        return [
            f"{option} '{name}' may contain only ASCII letters, digits and _.- between single slashes, and must not "
            "end with '/'; set the name explicitly for a user whose name has other characters"
        ]
    if len(segments) > PARAMETER_LEVELS_MAX:
        return [f"{option} '{name}' has {len(segments)} levels; Parameter Store allows at most {PARAMETER_LEVELS_MAX}"]
    if segments[0].lower().startswith(_RESERVED_PARAMETER_PREFIXES):
        return [f"{option} '{name}' must not begin with 'aws' or 'ssm' (any case), which AWS reserves"]
    return []


def recovery_window_errors(option: str, days: int | None) -> list[str]:
    """0 (delete at once, no recovery) or 7-30 days."""
    if days is None or days == 0 or RECOVERY_WINDOW_MIN <= days <= RECOVERY_WINDOW_MAX:
        return []
    return [
        f"{option} is {days}; use 0 to delete without recovery, or {RECOVERY_WINDOW_MIN} to {RECOVERY_WINDOW_MAX} days"
    ]


def reader_errors(option: str, readers: t.Iterable[str] | None) -> list[str]:
    """Readers are IAM principal ARNs: users, roles or an account's root (what aws:PrincipalArn can be)."""
    errors = []
    for reader in readers or ():
        if not _PRINCIPAL_ARN_RE.fullmatch(reader):
            errors.append(
                f"{option} '{reader}' is not the ARN of an IAM user, role or account root "
                "(arn:aws:iam::<account>:user/<name>, :role/<name> or :root; for an assumed role give the role)"
            )
    return errors


# -- errors ------------------------------------------------------------------------------------------


def _aws_message(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Message") or ""
    return str(exc)


def _translate(exc: BaseException, what: str, carried: t.Sequence[str] = ()) -> SecretStoreError:
    """``exc`` as "Failed to <what>: <code>: <AWS message>", the message withheld when it may quote ``carried``."""
    code = error_code(exc) or type(exc).__name__
    message = _aws_message(exc)
    if carried and (_QUOTES_INPUT_RE.search(message) or any(piece in message for piece in carried)):
        message = "AWS's message is withheld, as it may quote the secret"
    return SecretStoreError(f"Failed to {what}: {code}" + (f": {message}" if message else ""), code)


def _call(
    client: t.Any,
    operation: str,
    what: str,
    carried: t.Sequence[str] = (),
    *,
    missing: str | None = None,
    **params: t.Any,
) -> t.Any:
    """``client.<operation>(**params)``; None when AWS answers the error code ``missing`` (the thing is gone)."""
    try:
        return getattr(client, operation)(**params)
    except ClientError as exc:
        if missing is not None and error_code(exc) == missing:
            return None
        raise _translate(exc, what, carried) from None
    except BotoCoreError as exc:
        # Not chained: botocore's parameter errors may hold the request (and so the secret).
        raise _translate(exc, what, carried) from None


def _secret_pieces(value: str, payload: dict[str, t.Any]) -> list[str]:
    """What an error message must not contain: the value and every longer string in it but the user's name."""
    pieces = [str(item) for key, item in payload.items() if key != "user_name" and len(str(item)) >= 8]
    return [value, *pieces]


def serialize(payload: dict[str, t.Any]) -> str:
    """The stored value: the payload as JSON with sorted keys."""
    return json.dumps(payload, sort_keys=True)


# -- thin verbs ----------------------------------------------------------------------------------------


class SecretsManager:
    """Secrets Manager verbs on a botocore client: ``describe_secret`` returns None for a missing secret."""

    def __init__(self, client: t.Any):
        self.client = client

    def describe_secret(self, name: str) -> dict[str, t.Any] | None:
        return _call(self.client, "describe_secret", f"describe secret {name}", missing=NOT_FOUND, SecretId=name)

    def create_secret(self, name: str, **params: t.Any) -> dict[str, t.Any]:
        return _call(self.client, "create_secret", f"create secret {name}", Name=name, **params)

    def put_secret_value(self, name: str, value: str, token: str, carried: t.Sequence[str]) -> dict[str, t.Any]:
        return _call(
            self.client,
            "put_secret_value",
            f"put a new value into secret {name}",
            carried,
            SecretId=name,
            SecretString=value,
            ClientRequestToken=token,
        )

    def update_secret(
        self, name: str, value: str, token: str, carried: t.Sequence[str], kms_key_id: str
    ) -> dict[str, t.Any]:
        return _call(
            self.client,
            "update_secret",
            f"update secret {name} with a new value and KMS key {kms_key_id}",
            carried,
            SecretId=name,
            SecretString=value,
            ClientRequestToken=token,
            KmsKeyId=kms_key_id,
        )

    def restore_secret(self, name: str) -> None:
        _call(self.client, "restore_secret", f"restore secret {name} (scheduled for deletion)", SecretId=name)

    def tag_secret(self, name: str, tags: dict[str, str]) -> None:
        _call(self.client, "tag_resource", f"tag secret {name}", SecretId=name, Tags=_compare.dict_to_tags(tags))

    def put_resource_policy(self, name: str, policy: dict[str, t.Any]) -> None:
        _call(
            self.client,
            "put_resource_policy",
            f"put the resource policy of secret {name}",
            SecretId=name,
            ResourcePolicy=json.dumps(policy),
            BlockPublicPolicy=True,
        )

    def delete_secret(self, name: str, recovery_window_days: int) -> bool:
        """Delete (schedule the deletion of) a secret; False when it was gone already."""
        params: dict[str, t.Any] = (
            {"ForceDeleteWithoutRecovery": True}
            if recovery_window_days == 0
            else {"RecoveryWindowInDays": recovery_window_days}
        )
        deleted = _call(
            self.client, "delete_secret", f"delete secret {name}", missing=NOT_FOUND, SecretId=name, **params
        )
        return deleted is not None


class ParameterStore:
    """SSM Parameter Store verbs on a botocore client: ``describe_parameter`` returns None for a missing one."""

    def __init__(self, client: t.Any):
        self.client = client

    def describe_parameter(self, name: str) -> dict[str, t.Any] | None:
        """The parameter's metadata (never its value), or None."""
        found = _call(
            self.client,
            "describe_parameters",
            f"describe parameter {name}",
            ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [name]}],
        )
        return next((item for item in found.get("Parameters", []) if item.get("Name") == name), None)

    def put_parameter(self, name: str, carried: t.Sequence[str], **params: t.Any) -> dict[str, t.Any]:
        return _call(self.client, "put_parameter", f"put parameter {name}", carried, Name=name, **params)

    def tag_parameter(self, name: str, tags: dict[str, str]) -> None:
        _call(
            self.client,
            "add_tags_to_resource",
            f"tag parameter {name}",
            ResourceType="Parameter",
            ResourceId=name,
            Tags=_compare.dict_to_tags(tags),
        )

    def delete_parameter(self, name: str) -> bool:
        """Delete a parameter (every version); False when it was gone already."""
        deleted = _call(
            self.client, "delete_parameter", f"delete parameter {name}", missing=PARAMETER_NOT_FOUND, Name=name
        )
        return deleted is not None


# -- the sinks -----------------------------------------------------------------------------------------


class Staged:
    """A secret for an AWS sink, held in memory: nothing is written until commit() (which delivers it)."""

    def __init__(self, sink: _Sink, payload: dict[str, t.Any]):
        self._sink, self._payload = sink, payload

    def commit(self) -> str:
        return self._sink.deliver(self._payload)

    def discard(self) -> None:
        self._payload = {}


class _Sink:
    """What both AWS sinks share: the write-ahead journal, the value and its size check, staging."""

    type = ""
    value_max = 0
    name = ""

    def __init__(self, kind: str, user_name: str, journal_dir: str | None):
        if kind not in KIND_LABELS:
            raise ValueError(f"unknown kind of secret '{kind}'")
        self.kind, self.user_name, self.journal_dir = kind, user_name, journal_dir

    @property
    def path(self) -> str:
        """The reference shown in results and check mode: the secret's or parameter's name."""
        return self.name

    def description(self) -> str:
        return f"{KIND_LABELS[self.kind]} of IAM user {self.user_name}, delivered by techsquawks.iam"

    def expect(self, before: list[str]) -> None:
        """Record, before AWS issues a credential, which ones existed (IDs only): see Destination.expect."""
        if self.journal_dir is None:
            return
        record = {
            "kind": self.kind,
            "before": sorted(before),
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        _delivery.write_secret(
            _delivery.journal_path(self.journal_dir, self.kind),
            lambda _existing: _delivery.render_json(record),
            private_parent=True,
            merge=False,
        )

    def _delivered(self) -> None:
        if self.journal_dir is not None:
            _delivery.clear_journal(self.journal_dir, self.kind)
            _delivery.fsync_directory(self.journal_dir)

    def _value(self, payload: dict[str, t.Any]) -> str:
        value = serialize(payload)
        size = len(value.encode("utf-8"))
        if size > self.value_max:
            raise SecretStoreError(
                f"the secret for {self.name} is {size} bytes long; {self.type} holds at most {self.value_max}",
                "ValueTooLarge",
            )
        return value

    def stage(self, payload: dict[str, t.Any]) -> Staged:
        """Nothing is written until commit(); a value too large to store fails here, before AWS is asked."""
        self._value(payload)
        return Staged(self, payload)

    def describe(self) -> dict[str, t.Any]:  # pragma: no cover - each sink has its own
        raise NotImplementedError

    def deliver(self, payload: dict[str, t.Any]) -> str:  # pragma: no cover - each sink has its own
        raise NotImplementedError


def read_policy(principals: t.Sequence[str]) -> dict[str, t.Any]:
    """A resource policy that lets ``principals`` (and nobody else) read the secret.

    The Allow grants them the read; the Deny stops every other principal, even one an identity policy
    elsewhere in the account allows secretsmanager:GetSecretValue on every secret.
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadByItsOwner",
                "Effect": "Allow",
                "Principal": {"AWS": list(principals)},
                "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                "Resource": "*",
            },
            {
                "Sid": "DenyReadByAnyoneElse",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:PrincipalArn": list(principals)}},
            },
        ],
    }


def _same_key(current: str | None, wanted: str) -> bool:
    """Whether the KMS key a secret reports is ``wanted`` (given as key ID, alias, or either's ARN)."""
    if not current:
        return False
    return current == wanted or current.endswith((f"/{wanted}", f":{wanted}")) or wanted.endswith(f"/{current}")


class SecretsManagerSink(_Sink):
    """One secret per user and kind (``iam/<user>/<kind-slug>``), readable only by the user and ``readers``.

    deliver: the secret is created empty (Description, KmsKeyId, Tags), locked with its resource policy,
    and only then given its value, so that the value is never readable by anyone else, not even for a
    moment; an existing secret gets the policy again and a new version (AWSCURRENT; the one before becomes
    AWSPREVIOUS); one scheduled for deletion is restored first. remove: the secret is deleted with the
    recovery window (0: at once, without recovery).
    """

    type = "secretsmanager"
    value_max = SECRET_VALUE_MAX

    def __init__(
        self,
        client: t.Any,
        *,
        kind: str,
        user_name: str,
        user_arn: str | None,
        name: str | None = None,
        prefix: str = SECRETSMANAGER_PREFIX,
        kms_key_id: str | None = None,
        tags: dict[str, str] | None = None,
        readers: t.Sequence[str] = (),
        recovery_window_days: int = DEFAULT_RECOVERY_WINDOW,
        journal_dir: str | None = None,
        service: str | None = None,
    ):
        super().__init__(kind, user_name, journal_dir)
        self.name = name or default_name(prefix, user_name, kind, service)
        problems = (
            secret_name_errors("name", self.name)
            + reader_errors("readers", readers)
            + recovery_window_errors("recovery_window_days", recovery_window_days)
        )
        if problems:
            raise ValueError("; ".join(problems))
        self.store = SecretsManager(client)
        self.kms_key_id, self.tags = kms_key_id, dict(tags or {})
        # No ARN only for a user that is not there yet (a check-mode preview, which delivers nothing).
        self.user_arn, self.readers = user_arn, tuple(readers)
        self.recovery_window_days = recovery_window_days
        self.arn: str | None = None

    def describe(self) -> dict[str, t.Any]:
        return {"type": self.type, "name": self.name, "arn": self.arn}

    def deliver(self, payload: dict[str, t.Any]) -> str:
        if self.user_arn is None:
            raise SecretStoreError(f"secret {self.name}: the user has no ARN to name in the policy that locks it")
        principals = list(dict.fromkeys([self.user_arn, *self.readers]))
        value = self._value(payload)
        carried = _secret_pieces(value, payload)
        secret = self.store.describe_secret(self.name)
        if secret is None:
            secret = self._create()
        elif secret.get("DeletedDate"):
            self.store.restore_secret(self.name)
        current_tags = _compare.tags_to_dict(secret.get("Tags"))
        if any(current_tags.get(key) != tag for key, tag in self.tags.items()):
            self.store.tag_secret(self.name, self.tags)
        # Put every time rather than compared first: re-delivery means a new credential, which is rare, and
        # one call is cheaper than a GetResourcePolicy that mostly finds the same policy.
        self.store.put_resource_policy(self.name, read_policy(principals))
        token = str(uuid.uuid4())  # the version's ID: botocore's retries of this call make one version
        if self.kms_key_id and not _same_key(secret.get("KmsKeyId"), self.kms_key_id):
            answer = self.store.update_secret(self.name, value, token, carried, self.kms_key_id)
        else:
            answer = self.store.put_secret_value(self.name, value, token, carried)
        self.arn = answer.get("ARN") or secret.get("ARN")
        self._delivered()
        return t.cast(str, self.arn)

    def _create(self) -> dict[str, t.Any]:
        """Create the secret without a value (no version yet); the value follows once the policy is on."""
        params: dict[str, t.Any] = {
            "Description": self.description(),
            # A retried create (by botocore) with the same token is the same create, not a second one.
            "ClientRequestToken": str(uuid.uuid4()),
        }
        if self.kms_key_id:
            params["KmsKeyId"] = self.kms_key_id
        if self.tags:
            params["Tags"] = _compare.dict_to_tags(self.tags)
        try:
            created = self.store.create_secret(self.name, **params)
        except SecretStoreError as exc:
            if exc.code != "ResourceExistsException":
                raise
            # Created meanwhile (another run, or a create whose answer was lost): use it as it is.
            existing = self.store.describe_secret(self.name)
            if existing is None:
                raise
            return existing
        return {"ARN": created.get("ARN"), "KmsKeyId": self.kms_key_id, "Tags": params.get("Tags")}

    def remove(self, *, check_mode: bool) -> bool:
        """Delete the secret with the recovery window; False when it is missing or already scheduled."""
        secret = self.store.describe_secret(self.name)
        if secret is None or secret.get("DeletedDate"):
            return False
        if check_mode:
            return True
        return self.store.delete_secret(self.name, self.recovery_window_days)


class SsmSink(_Sink):
    """One SecureString parameter per user and kind (``/iam/<user>/<kind-slug>``).

    The Advanced tier is used when the value exceeds 4096 bytes (a payload with a QR code), and kept for a
    parameter that is Advanced already (AWS cannot turn it back into a Standard one); it costs money.
    """

    type = "ssm"
    value_max = ADVANCED_VALUE_MAX

    def __init__(
        self,
        client: t.Any,
        *,
        kind: str,
        user_name: str,
        name: str | None = None,
        prefix: str = SSM_PREFIX,
        kms_key_id: str | None = None,
        tags: dict[str, str] | None = None,
        journal_dir: str | None = None,
        service: str | None = None,
    ):
        super().__init__(kind, user_name, journal_dir)
        self.name = name or default_name(prefix, user_name, kind, service)
        problems = parameter_name_errors("name", self.name)
        if problems:
            raise ValueError("; ".join(problems))
        self.store = ParameterStore(client)
        self.kms_key_id, self.tags = kms_key_id, dict(tags or {})

    def describe(self) -> dict[str, t.Any]:
        return {"type": self.type, "name": self.name}

    def deliver(self, payload: dict[str, t.Any]) -> str:
        value = self._value(payload)
        carried = _secret_pieces(value, payload)
        current = self.store.describe_parameter(self.name)
        params: dict[str, t.Any] = {"Value": value, "Type": "SecureString", "Description": self.description()}
        if self.kms_key_id:
            params["KeyId"] = self.kms_key_id
        if len(value.encode("utf-8")) > STANDARD_VALUE_MAX or (current or {}).get("Tier") == "Advanced":
            params["Tier"] = "Advanced"
        if current is None:
            try:
                tags = {"Tags": _compare.dict_to_tags(self.tags)} if self.tags else {}
                self.store.put_parameter(self.name, carried, **params, **tags)
            except SecretStoreError as exc:
                if exc.code != "ParameterAlreadyExists":
                    raise
                current = {}  # created meanwhile: overwritten below
        if current is not None:
            # Tags cannot go with Overwrite: they are added on their own.
            self.store.put_parameter(self.name, carried, Overwrite=True, **params)
            if self.tags:
                self.store.tag_parameter(self.name, self.tags)
        self._delivered()
        return self.name

    def remove(self, *, check_mode: bool) -> bool:
        """Delete the parameter; False when there is none."""
        if check_mode:
            return self.store.describe_parameter(self.name) is not None
        return self.store.delete_parameter(self.name)
