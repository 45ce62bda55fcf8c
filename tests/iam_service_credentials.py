# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A stateful stand-in for IAM's service-specific credentials, which moto does not implement.

One model behind both test doubles: the unit tests' emulator (tests/unit/emulate.py, answers in botocore's
parsed shape) and the integration tests' proxy (tests/aws_proxy.py, the same answers as IAM's XML). The five
operations follow IAM's documented rules: at most two credentials per service per user (LimitExceeded), the
services IAM takes (NotSupportedService), CredentialAgeDays for long-term API keys only, a key past its
ExpirationDate listed as Expired, NoSuchEntity for an unknown user or credential. Credentials belong to a user
by its UserId, so that a user deleted and created again (or an upstream reset) starts with none.

Where IAM's behaviour is not documented, the choice is marked "assumed": resetting an API key and changing the
status of an expired one are refused with InvalidInput.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import secrets
import string
import threading
import typing as t

CODECOMMIT = "codecommit.amazonaws.com"
CASSANDRA = "cassandra.amazonaws.com"
BEDROCK = "bedrock.amazonaws.com"
SERVICES = frozenset({CODECOMMIT, CASSANDRA, BEDROCK})
API_KEY_SERVICES = frozenset({BEDROCK})
PER_SERVICE_LIMIT = 2
DEFAULT_MAX_ITEMS = 100
OPERATIONS = (
    "CreateServiceSpecificCredential",
    "ListServiceSpecificCredentials",
    "UpdateServiceSpecificCredential",
    "ResetServiceSpecificCredential",
    "DeleteServiceSpecificCredential",
)
_ID_ALPHABET = string.ascii_uppercase + string.digits


class ApiError(Exception):
    """An IAM error answer: its code, message and HTTP status (as botocore's service model gives them)."""

    def __init__(self, code: str, message: str, status: int):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclasses.dataclass(frozen=True)
class User:
    """What the store needs to know of an IAM user (from GetUser)."""

    name: str
    user_id: str
    account: str


@dataclasses.dataclass
class _Credential:
    user: User
    service: str
    credential_id: str
    created: datetime.datetime
    expires: datetime.datetime | None
    service_user_name: str | None
    alias: str | None
    secret: str
    status: str = "Active"


Lookup = t.Callable[[str], User | None]


def utc_now() -> datetime.datetime:
    # IAM's timestamps have whole seconds.
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0)


def no_such_user(name: str) -> ApiError:
    return ApiError("NoSuchEntity", f"The user with name {name} cannot be found.", 404)


class ServiceCredentialStore:
    """The credentials of one account's users; thread-safe. ``answer(operation, params)`` is the API."""

    def __init__(
        self,
        lookup_user: Lookup,
        now: t.Callable[[], datetime.datetime] = utc_now,
    ) -> None:
        self._lookup_user = lookup_user
        self.now = now
        self._lock = threading.Lock()
        self._credentials: dict[str, _Credential] = {}

    # -- for tests: an independent reader ---------------------------------------------------------

    def secret_of(self, credential_id: str) -> str | None:
        """The current password (or API key secret) of a credential, to compare with what was delivered."""
        with self._lock:
            found = self._credentials.get(credential_id)
            return found.secret if found else None

    def ids(self, user_name: str | None = None) -> list[str]:
        """IDs of the stored credentials (of one user name), oldest first."""
        with self._lock:
            held = sorted(self._credentials.values(), key=lambda c: c.created)
            return [c.credential_id for c in held if user_name in (None, c.user.name)]

    # -- the API -----------------------------------------------------------------------------------

    def answer(
        self, operation: str, params: t.Mapping[str, t.Any], *, lookup_user: Lookup | None = None
    ) -> dict[str, t.Any]:
        """The answer to one of OPERATIONS in botocore's parsed shape (datetimes); raises ApiError.

        ``lookup_user`` finds the request's user instead of the store's own lookup (the proxy asks upstream
        with the request's own credentials, so that each account sees its own users).
        """
        handler = {
            "CreateServiceSpecificCredential": self.create,
            "ListServiceSpecificCredentials": self.list,
            "UpdateServiceSpecificCredential": self.update,
            "ResetServiceSpecificCredential": self.reset,
            "DeleteServiceSpecificCredential": self.delete,
        }[operation]
        return handler(params, lookup_user or self._lookup_user)

    def create(self, params: t.Mapping[str, t.Any], lookup: Lookup) -> dict[str, t.Any]:
        user = self._user(lookup, params.get("UserName"))
        service = params.get("ServiceName") or ""
        if service not in SERVICES:
            raise ApiError("NotSupportedService", f"The specified service {service} is not supported.", 404)
        days = params.get("CredentialAgeDays")
        if days is not None and service not in API_KEY_SERVICES:
            raise ApiError("InvalidInput", f"CredentialAgeDays is not supported for {service}.", 400)
        now = self.now()
        with self._lock:
            same = [c for c in self._credentials.values() if c.user == user and c.service == service]
            if len(same) >= PER_SERVICE_LIMIT:
                raise ApiError(
                    "LimitExceeded",
                    f"Cannot exceed quota for ServiceSpecificCredentialsPerUserPerService: {PER_SERVICE_LIMIT}",
                    409,
                )
            credential_id = "ACCA" + "".join(secrets.choice(_ID_ALPHABET) for _position in range(17))
            suffix = f"-{len(same)}" if same else ""
            api_key = service in API_KEY_SERVICES
            credential = _Credential(
                user=user,
                service=service,
                credential_id=credential_id,
                created=now,
                expires=now + datetime.timedelta(days=int(days)) if days is not None else None,
                service_user_name=None if api_key else f"{user.name}-at-{user.account}{suffix}",
                alias=f"BedrockAPIKey-{secrets.token_hex(2)}-at-{user.account}" if api_key else None,
                secret=_new_secret(api_key),
            )
            self._credentials[credential_id] = credential
            return {"ServiceSpecificCredential": self._describe(credential, with_secret=True)}

    def list(self, params: t.Mapping[str, t.Any], lookup: Lookup) -> dict[str, t.Any]:
        if params.get("AllUsers") in (True, "true"):
            user = None
        else:
            if not params.get("UserName"):
                raise ApiError("InvalidInput", "UserName is required by this stand-in.", 400)
            user = self._user(lookup, params["UserName"])
        service = params.get("ServiceName")
        with self._lock:
            held = sorted(self._credentials.values(), key=lambda c: c.created)
            items = [
                self._describe(c) for c in held if (user is None or c.user == user) and service in (None, c.service)
            ]
        start = int(params.get("Marker") or 0)
        size = int(params.get("MaxItems") or DEFAULT_MAX_ITEMS)
        page: dict[str, t.Any] = {"ServiceSpecificCredentials": items[start : start + size]}
        page["IsTruncated"] = start + size < len(items)
        if page["IsTruncated"]:
            page["Marker"] = str(start + size)
        return page

    def update(self, params: t.Mapping[str, t.Any], lookup: Lookup) -> dict[str, t.Any]:
        status = params.get("Status")
        if status not in ("Active", "Inactive"):
            raise ApiError("InvalidInput", f"Status must be Active or Inactive, not {status}.", 400)
        user = self._user(lookup, params.get("UserName"))
        with self._lock:
            credential = self._find(user, params)
            if self._expired(credential):  # assumed
                raise ApiError("InvalidInput", f"Credential {credential.credential_id} has expired.", 400)
            credential.status = status
        return {}

    def reset(self, params: t.Mapping[str, t.Any], lookup: Lookup) -> dict[str, t.Any]:
        user = self._user(lookup, params.get("UserName"))
        with self._lock:
            credential = self._find(user, params)
            if credential.service in API_KEY_SERVICES:  # assumed
                raise ApiError("InvalidInput", f"Credentials for {credential.service} cannot be reset.", 400)
            credential.secret = _new_secret(api_key=False)
            return {"ServiceSpecificCredential": self._describe(credential, with_secret=True)}

    def delete(self, params: t.Mapping[str, t.Any], lookup: Lookup) -> dict[str, t.Any]:
        user = self._user(lookup, params.get("UserName"))
        with self._lock:
            credential = self._find(user, params)
            del self._credentials[credential.credential_id]
        return {}

    # -- helpers -----------------------------------------------------------------------------------

    @staticmethod
    def _user(lookup: Lookup, name: str | None) -> User:
        found = lookup(name) if name else None
        if found is None:
            raise no_such_user(name or "")
        return found

    def _find(self, user: User, params: t.Mapping[str, t.Any]) -> _Credential:
        """The credential ``params`` names, of ``user`` (the caller holds the lock)."""
        credential_id = params.get("ServiceSpecificCredentialId") or ""
        found = self._credentials.get(credential_id)
        if found is None or found.user != user:
            raise ApiError("NoSuchEntity", f"No such credential {credential_id} for user {user.name}.", 404)
        return found

    def _expired(self, credential: _Credential) -> bool:
        return credential.expires is not None and credential.expires <= self.now()

    def _describe(self, credential: _Credential, *, with_secret: bool = False) -> dict[str, t.Any]:
        described: dict[str, t.Any] = {
            "CreateDate": credential.created,
            "ServiceName": credential.service,
            "ServiceSpecificCredentialId": credential.credential_id,
            "UserName": credential.user.name,
            "Status": "Expired" if self._expired(credential) else credential.status,
        }
        if credential.expires is not None:
            described["ExpirationDate"] = credential.expires
        if credential.service_user_name is not None:
            described["ServiceUserName"] = credential.service_user_name
        if credential.alias is not None:
            described["ServiceCredentialAlias"] = credential.alias
        if with_secret:
            field = "ServiceCredentialSecret" if credential.alias is not None else "ServicePassword"
            described[field] = credential.secret
        return described


def _new_secret(api_key: bool) -> str:
    if api_key:
        return "ABSK" + base64.b64encode(secrets.token_bytes(96)).decode("ascii")
    # CodeCommit and Keyspaces passwords are 44 base64 characters.
    return base64.b64encode(secrets.token_bytes(33)).decode("ascii")
