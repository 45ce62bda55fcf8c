# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal use only: this file is not a public API of the collection and may change at any time.

"""One small method per IAM verb, with error translation, pagination and IAM's consistency retries.

``get_*`` return None when the entity is missing, ``list_*`` return a (fully paginated) list.
Every mutating verb refuses to run in check mode, so a module bug can never touch AWS under --check.
"""

from __future__ import annotations

import contextlib
import random
import time
import typing as t

from ansible_collections.techsquawks.iam.plugins.module_utils._aws import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ResponseParserError,
    error_code,
)

# IAM is eventually consistent: an entity created a moment ago may be reported missing by another
# endpoint, and a login profile being created answers EntityTemporarilyUnmodifiable. AWS's own tools
# budget 10-20 s for this (aws-vault rotate); Terraform waits up to 2 minutes.
CONSISTENCY_TIMEOUT = 30.0
ALWAYS_TRANSIENT = frozenset({"EntityTemporarilyUnmodifiable", "ConcurrentModification"})

# An endpoint that does not implement a list call: InvalidAction in some partitions; emulators
# (moto_server) answer HTTP 500/501 with a non-XML body, or raise NotImplementedError in-process.
UNSUPPORTED_CODES = frozenset({"InvalidAction", "NotImplemented", "501", "500"})


class IAMError(Exception):
    """An AWS call failed; ``str()`` reads "Failed to <verb> <resource> <name>: <AWS message>"."""

    def __init__(self, message: str, code: str | None = None, response: dict[str, t.Any] | None = None):
        super().__init__(message)
        self.code = code
        self.response = response or {}


class UnclearOutcome(IAMError):
    """A create was sent and no answer says whether AWS acted on it: the caller lists and reconciles."""


# Answers that prove a request was refused before AWS acted on it, so that sending it again is safe.
REFUSED_CODES = frozenset(
    {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException", "RequestThrottled"}
)
# How long a create keeps being sent again while IAM throttles it.
THROTTLE_TIMEOUT = 120.0

T = t.TypeVar("T")


def send_once(create: t.Callable[[], T], reconcile: t.Callable[[], T | None], attempts: int = 3) -> T:
    """Run a create that AWS cannot make idempotent; after an unclear outcome, reconcile before sending again.

    ``reconcile`` lists what exists now: it removes what the lost answer created and returns None (then the
    create is sent again), or returns what AWS created when it can be adopted (its secret is known).
    """
    for attempt in range(attempts):
        try:
            return create()
        except UnclearOutcome:
            adopted = reconcile()
            if adopted is not None:
                return adopted
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


class CheckModeViolation(RuntimeError):
    """A mutating call was attempted in check mode (a bug in the calling module)."""


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Message") or str(exc)
    return str(exc)


def _translate(exc: BaseException, what: str) -> IAMError:
    return IAMError(f"Failed to {what}: {_describe(exc)}", error_code(exc), getattr(exc, "response", None))


def _sleep_backoff(attempt: int, deadline: float) -> bool:
    """Sleep with capped exponential backoff and full jitter; False when the deadline has passed."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return False
    time.sleep(min(remaining, random.uniform(0, min(8.0, 0.5 * 2**attempt))))  # noqa: S311 - jitter, not crypto
    return True


class IAM:
    """A boto3 IAM client with the collection's verbs, error translation and consistency handling."""

    def __init__(self, client: t.Any, *, check_mode: bool = False, probe_client: t.Callable[[], t.Any] | None = None):
        self.client = client
        self.check_mode = check_mode
        # Makes a client without retries, for list calls that an endpoint may not implement (a 5xx
        # there would otherwise be retried ten times with backoff). Built only when such a call is made.
        self._probe_factory = probe_client or (lambda: client)
        self._fresh: set[str] = set()
        self.warnings: list[str] = []
        # List calls this endpoint does not implement (warned about once).
        self._unimplemented: set[str] = set()

    # -- plumbing -------------------------------------------------------------------------------

    def _call(self, operation: str, what: str, *, mutating: bool = False, user: str | None = None, **params: t.Any):
        if mutating and self.check_mode:
            raise CheckModeViolation(f"{operation} called in check mode")
        deadline = time.monotonic() + CONSISTENCY_TIMEOUT
        attempt = 0
        while True:
            try:
                return getattr(self.client, operation)(**params)
            except (ClientError, BotoCoreError) as exc:
                code = error_code(exc)
                transient = code in ALWAYS_TRANSIENT or self._not_yet_visible(code, user, exc)
                if transient and _sleep_backoff(attempt, deadline):
                    attempt += 1
                    continue
                raise _translate(exc, what) from exc

    def _create(self, operation: str, what: str, *, user: str | None = None, **params: t.Any) -> t.Any:
        """Send a create that AWS cannot make idempotent once: never retried by botocore.

        Sent again only after an answer proving AWS refused it (throttling, IAM's consistency errors, a
        connection that was never made). Any other failure without an answer (a dropped connection, a read
        timeout, a 5xx, a garbled body) raises UnclearOutcome: AWS may have acted.
        """
        if self.check_mode:
            raise CheckModeViolation(f"{operation} called in check mode")
        deadline = time.monotonic() + THROTTLE_TIMEOUT
        attempt = 0
        while True:
            try:
                return getattr(self._probe_factory(), operation)(**params)
            except ClientError as exc:
                code = error_code(exc)
                refused = code in REFUSED_CODES or code in ALWAYS_TRANSIENT or self._not_yet_visible(code, user, exc)
                if refused and _sleep_backoff(attempt, deadline):
                    attempt += 1
                    continue
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
                if not refused and status >= 500:
                    raise self._unclear(exc, what) from exc
                raise _translate(exc, what) from exc
            except (EndpointConnectionError, ConnectTimeoutError) as exc:
                # The request never left: safe to send again.
                if _sleep_backoff(attempt, deadline):
                    attempt += 1
                    continue
                raise _translate(exc, what) from exc
            except BotoCoreError as exc:
                raise self._unclear(exc, what) from exc

    @staticmethod
    def _unclear(exc: BaseException, what: str) -> UnclearOutcome:
        return UnclearOutcome(
            f"Failed to {what}: {_describe(exc)} (no answer; whether AWS acted is not known)",
            "UnclearOutcome",
            getattr(exc, "response", None),
        )

    def _get(self, operation: str, key: str, what: str, **params: t.Any) -> dict[str, t.Any] | None:
        try:
            return self._call(operation, what, **params)[key]
        except IAMError as exc:
            if exc.code == "NoSuchEntity":
                return None
            raise

    def _paginate(self, operation: str, key: str, what: str, **params: t.Any) -> list[t.Any]:
        items: list[t.Any] = []
        try:
            for page in self.client.get_paginator(operation).paginate(**params):
                items.extend(page.get(key, []))
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, what) from exc
        return items

    def _not_yet_visible(self, code: str | None, user: str | None, exc: BaseException) -> bool:
        """NoSuchEntity about a user this run created or renamed (not about a missing policy or group)."""
        return code == "NoSuchEntity" and user in self._fresh and f"name {user} " in _describe(exc) + " "

    def mark_fresh(self, user_name: str) -> None:
        """Treat NoSuchEntity for this user as IAM propagation delay (it was just created or renamed)."""
        self._fresh.add(user_name)

    # -- users ----------------------------------------------------------------------------------

    def get_user(self, name: str) -> dict[str, t.Any] | None:
        return self._get("get_user", "User", f"get user {name}", UserName=name)

    def list_users(self, path_prefix: str = "/") -> list[dict[str, t.Any]]:
        return self._paginate("list_users", "Users", f"list users under {path_prefix}", PathPrefix=path_prefix)

    def create_user(self, name: str, path: str, tags: list[dict[str, str]]) -> dict[str, t.Any]:
        params: dict[str, t.Any] = {"UserName": name, "Path": path}
        if tags:
            params["Tags"] = tags
        user = self._call("create_user", f"create user {name}", mutating=True, **params)["User"]
        self.mark_fresh(name)
        return user

    def update_user(self, name: str, *, new_name: str | None = None, new_path: str | None = None) -> None:
        params: dict[str, t.Any] = {"UserName": name}
        if new_name:
            params["NewUserName"] = new_name
        if new_path:
            params["NewPath"] = new_path
        self._call("update_user", f"update user {name}", mutating=True, user=name, **params)
        if new_name:
            self.mark_fresh(new_name)

    def delete_user(self, name: str) -> None:
        self._call("delete_user", f"delete user {name}", mutating=True, user=name, UserName=name)

    def list_user_tags(self, name: str) -> list[dict[str, str]]:
        return self._paginate("list_user_tags", "Tags", f"list tags of user {name}", UserName=name)

    def tag_user(self, name: str, tags: list[dict[str, str]]) -> None:
        self._call("tag_user", f"tag user {name}", mutating=True, user=name, UserName=name, Tags=tags)

    def untag_user(self, name: str, keys: list[str]) -> None:
        self._call("untag_user", f"untag user {name}", mutating=True, user=name, UserName=name, TagKeys=keys)

    def put_permissions_boundary(self, name: str, arn: str) -> None:
        self._call(
            "put_user_permissions_boundary",
            f"set permissions boundary of user {name}",
            mutating=True,
            user=name,
            UserName=name,
            PermissionsBoundary=arn,
        )

    def delete_permissions_boundary(self, name: str) -> None:
        self._call(
            "delete_user_permissions_boundary",
            f"remove permissions boundary of user {name}",
            mutating=True,
            user=name,
            UserName=name,
        )

    # -- groups ---------------------------------------------------------------------------------

    def list_groups_for_user(self, name: str) -> list[str]:
        groups = self._paginate("list_groups_for_user", "Groups", f"list groups of user {name}", UserName=name)
        return [group["GroupName"] for group in groups]

    def list_group_users(self, group: str) -> list[dict[str, t.Any]]:
        return self._paginate("get_group", "Users", f"list members of group {group}", GroupName=group)

    def add_user_to_group(self, name: str, group: str) -> None:
        self._call(
            "add_user_to_group",
            f"add user {name} to group {group}",
            mutating=True,
            user=name,
            UserName=name,
            GroupName=group,
        )

    def remove_user_from_group(self, name: str, group: str) -> None:
        self._call(
            "remove_user_from_group",
            f"remove user {name} from group {group}",
            mutating=True,
            user=name,
            UserName=name,
            GroupName=group,
        )

    # -- policies -------------------------------------------------------------------------------

    def list_attached_policies(self, name: str) -> list[str]:
        policies = self._paginate(
            "list_attached_user_policies", "AttachedPolicies", f"list policies of user {name}", UserName=name
        )
        return [policy["PolicyArn"] for policy in policies]

    def attach_policy(self, name: str, arn: str) -> None:
        self._call(
            "attach_user_policy",
            f"attach policy {arn} to user {name}",
            mutating=True,
            user=name,
            UserName=name,
            PolicyArn=arn,
        )

    def detach_policy(self, name: str, arn: str) -> None:
        self._call(
            "detach_user_policy",
            f"detach policy {arn} from user {name}",
            mutating=True,
            user=name,
            UserName=name,
            PolicyArn=arn,
        )

    def list_inline_policies(self, name: str) -> list[str]:
        what = f"list inline policies of user {name}"
        return self._paginate("list_user_policies", "PolicyNames", what, UserName=name)

    def put_inline_policy(self, name: str, policy: str, document: str) -> None:
        self._call(
            "put_user_policy",
            f"put inline policy {policy} on user {name}",
            mutating=True,
            user=name,
            UserName=name,
            PolicyName=policy,
            PolicyDocument=document,
        )

    def delete_inline_policy(self, name: str, policy: str) -> None:
        self._call(
            "delete_user_policy",
            f"delete inline policy {policy} of user {name}",
            mutating=True,
            user=name,
            UserName=name,
            PolicyName=policy,
        )

    # -- access keys ----------------------------------------------------------------------------

    def list_access_keys(self, name: str) -> list[dict[str, t.Any]]:
        what = f"list access keys of user {name}"
        return self._paginate("list_access_keys", "AccessKeyMetadata", what, UserName=name)

    def create_access_key(self, name: str) -> dict[str, t.Any]:
        return self._create("create_access_key", f"create access key for user {name}", user=name, UserName=name)[
            "AccessKey"
        ]

    def update_access_key(self, name: str, key_id: str, status: str) -> None:
        self._call(
            "update_access_key",
            f"set access key {key_id} of user {name} {status}",
            mutating=True,
            user=name,
            UserName=name,
            AccessKeyId=key_id,
            Status=status,
        )

    def delete_access_key(self, name: str, key_id: str) -> None:
        self._call(
            "delete_access_key",
            f"delete access key {key_id} of user {name}",
            mutating=True,
            user=name,
            UserName=name,
            AccessKeyId=key_id,
        )

    def get_access_key_last_used(self, key_id: str) -> dict[str, t.Any]:
        return self._call("get_access_key_last_used", f"get last use of access key {key_id}", AccessKeyId=key_id).get(
            "AccessKeyLastUsed", {}
        )

    # -- login profile and account password policy ------------------------------------------------

    def get_login_profile(self, name: str) -> dict[str, t.Any] | None:
        return self._get("get_login_profile", "LoginProfile", f"get login profile of user {name}", UserName=name)

    def create_login_profile(self, name: str, **params: t.Any) -> dict[str, t.Any]:
        return self._create(
            "create_login_profile", f"create login profile for user {name}", user=name, UserName=name, **params
        )["LoginProfile"]

    def update_login_profile(self, name: str, **params: t.Any) -> None:
        self._call(
            "update_login_profile",
            f"update login profile of user {name}",
            mutating=True,
            user=name,
            UserName=name,
            **params,
        )

    def delete_login_profile(self, name: str) -> None:
        self._call(
            "delete_login_profile", f"delete login profile of user {name}", mutating=True, user=name, UserName=name
        )

    def get_password_policy(self) -> dict[str, t.Any] | None:
        return self._get("get_account_password_policy", "PasswordPolicy", "get account password policy")

    def update_password_policy(self, **params: t.Any) -> None:
        self._call("update_account_password_policy", "update account password policy", mutating=True, **params)

    def delete_password_policy(self) -> None:
        self._call("delete_account_password_policy", "delete account password policy", mutating=True)

    def list_account_aliases(self) -> list[str]:
        return self._paginate("list_account_aliases", "AccountAliases", "list account aliases")

    # -- credential report and account authorization details --------------------------------------

    def generate_credential_report(self) -> str:
        """Ask AWS for a fresh credential report; returns its State (STARTED, INPROGRESS or COMPLETE).

        Not a change of managed state (AWS keeps one report per account and makes a new one at most every
        4 hours), so it is allowed in check mode.
        """
        return self._call("generate_credential_report", "generate the credential report")["State"]

    def get_credential_report(self) -> dict[str, t.Any]:
        """The report (Content, GeneratedTime). ReportInProgress, ReportNotPresent and ReportExpired come back
        as IAMError codes for the caller's polling, never retried here."""
        return self._call("get_credential_report", "get the credential report")

    def get_account_authorization_details(self) -> list[dict[str, t.Any]]:
        """Every user's attached and inline policies and groups (Filter=[User]): one call per page, not per user."""
        what = "get account authorization details of users"
        return self._paginate("get_account_authorization_details", "UserDetailList", what, Filter=["User"])

    # -- MFA ------------------------------------------------------------------------------------

    def list_mfa_devices(self, name: str) -> list[dict[str, t.Any]]:
        return self._paginate("list_mfa_devices", "MFADevices", f"list MFA devices of user {name}", UserName=name)

    def list_virtual_mfa_devices(self, assignment_status: str = "Any") -> list[dict[str, t.Any]]:
        return self._paginate(
            "list_virtual_mfa_devices",
            "VirtualMFADevices",
            "list virtual MFA devices",
            AssignmentStatus=assignment_status,
        )

    def create_virtual_mfa_device(self, device_name: str, path: str = "/") -> dict[str, t.Any]:
        return self._create(
            "create_virtual_mfa_device",
            f"create virtual MFA device {device_name}",
            VirtualMFADeviceName=device_name,
            Path=path,
        )["VirtualMFADevice"]

    def enable_mfa_device(self, name: str, serial: str, code1: str, code2: str) -> None:
        self._call(
            "enable_mfa_device",
            f"enable MFA device {serial} for user {name}",
            mutating=True,
            user=name,
            UserName=name,
            SerialNumber=serial,
            AuthenticationCode1=code1,
            AuthenticationCode2=code2,
        )

    def deactivate_mfa_device(self, name: str, serial: str) -> None:
        self._call(
            "deactivate_mfa_device",
            f"deactivate MFA device {serial} of user {name}",
            mutating=True,
            user=name,
            UserName=name,
            SerialNumber=serial,
        )

    def delete_virtual_mfa_device(self, serial: str) -> None:
        self._call(
            "delete_virtual_mfa_device", f"delete virtual MFA device {serial}", mutating=True, SerialNumber=serial
        )

    # -- SSH public keys ------------------------------------------------------------------------

    def list_ssh_public_keys(self, name: str) -> list[dict[str, t.Any]]:
        return self._paginate("list_ssh_public_keys", "SSHPublicKeys", f"list SSH keys of user {name}", UserName=name)

    def get_ssh_public_key(self, name: str, key_id: str, encoding: str = "SSH") -> dict[str, t.Any] | None:
        return self._get(
            "get_ssh_public_key",
            "SSHPublicKey",
            f"get SSH key {key_id} of user {name}",
            UserName=name,
            SSHPublicKeyId=key_id,
            Encoding=encoding,
        )

    def upload_ssh_public_key(self, name: str, body: str) -> dict[str, t.Any]:
        return self._create(
            "upload_ssh_public_key", f"upload SSH key for user {name}", user=name, UserName=name, SSHPublicKeyBody=body
        )["SSHPublicKey"]

    def update_ssh_public_key(self, name: str, key_id: str, status: str) -> None:
        self._call(
            "update_ssh_public_key",
            f"set SSH key {key_id} of user {name} {status}",
            mutating=True,
            user=name,
            UserName=name,
            SSHPublicKeyId=key_id,
            Status=status,
        )

    def delete_ssh_public_key(self, name: str, key_id: str) -> None:
        self._call(
            "delete_ssh_public_key",
            f"delete SSH key {key_id} of user {name}",
            mutating=True,
            user=name,
            UserName=name,
            SSHPublicKeyId=key_id,
        )

    # -- signing certificates -------------------------------------------------------------------

    def list_signing_certificates(self, name: str) -> list[dict[str, t.Any]]:
        return self._paginate(
            "list_signing_certificates", "Certificates", f"list signing certificates of user {name}", UserName=name
        )

    def upload_signing_certificate(self, name: str, body: str) -> dict[str, t.Any]:
        return self._create(
            "upload_signing_certificate",
            f"upload signing certificate for user {name}",
            user=name,
            UserName=name,
            CertificateBody=body,
        )["Certificate"]

    def update_signing_certificate(self, name: str, cert_id: str, status: str) -> None:
        self._call(
            "update_signing_certificate",
            f"set signing certificate {cert_id} of user {name} {status}",
            mutating=True,
            user=name,
            UserName=name,
            CertificateId=cert_id,
            Status=status,
        )

    def delete_signing_certificate(self, name: str, cert_id: str) -> None:
        self._call(
            "delete_signing_certificate",
            f"delete signing certificate {cert_id} of user {name}",
            mutating=True,
            user=name,
            UserName=name,
            CertificateId=cert_id,
        )

    # -- service-specific credentials -----------------------------------------------------------

    def list_service_specific_credentials(self, name: str, *, required: bool = False) -> list[dict[str, t.Any]]:
        """List them, or [] with a warning when the endpoint does not implement the call.

        ``required``: an endpoint without the call is an IAMError (code NotImplemented) instead, for a caller
        that manages these credentials and cannot treat "unknown" as "none".
        """
        what = f"list service-specific credentials of user {name}"
        credentials: list[dict[str, t.Any]] = []
        params: dict[str, t.Any] = {"UserName": name}
        operation = "list_service_specific_credentials"
        if operation in self._unimplemented and not required:
            return []  # said once already
        # No botocore paginator exists for this call, although it takes Marker/MaxItems.
        while True:
            try:
                page = getattr(self._probe_factory(), operation)(**params)
            except NotImplementedError:
                return self._unsupported(operation, what, "not implemented by this endpoint", required)
            except ClientError as exc:
                status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
                if error_code(exc) in UNSUPPORTED_CODES or status in {"500", "501"}:
                    return self._unsupported(operation, what, _describe(exc), required)
                raise _translate(exc, what) from exc
            except ResponseParserError:
                # moto_server answers unimplemented actions with an HTML "500 Internal Server Error" page.
                return self._unsupported(operation, what, "the endpoint answered with a non-AWS error page", required)
            except BotoCoreError as exc:
                raise _translate(exc, what) from exc
            credentials.extend(page.get("ServiceSpecificCredentials", []))
            if not page.get("IsTruncated"):
                return credentials
            params["Marker"] = page["Marker"]

    def delete_service_specific_credential(self, name: str, credential_id: str) -> None:
        self._call(
            "delete_service_specific_credential",
            f"delete service-specific credential {credential_id} of user {name}",
            mutating=True,
            user=name,
            UserName=name,
            ServiceSpecificCredentialId=credential_id,
        )

    def create_service_specific_credential(
        self, name: str, service: str, credential_age_days: int | None = None
    ) -> dict[str, t.Any]:
        """CreateServiceSpecificCredential: the credential with its secret (ServicePassword, or for API keys
        ServiceCredentialSecret); sent once (see _create), so wrap it in send_once with a reconcile."""
        params: dict[str, t.Any] = {"UserName": name, "ServiceName": service}
        if credential_age_days is not None:
            params["CredentialAgeDays"] = credential_age_days
        what = f"create service-specific credential for {service} for user {name}"
        with _implemented(what):
            return self._create("create_service_specific_credential", what, user=name, **params)[
                "ServiceSpecificCredential"
            ]

    def update_service_specific_credential(self, name: str, credential_id: str, status: str) -> None:
        what = f"set service-specific credential {credential_id} of user {name} {status}"
        with _implemented(what):
            self._call(
                "update_service_specific_credential",
                what,
                mutating=True,
                user=name,
                UserName=name,
                ServiceSpecificCredentialId=credential_id,
                Status=status,
            )

    def reset_service_specific_credential(self, name: str, credential_id: str) -> dict[str, t.Any]:
        """A new AWS-generated password (the old one stops working at once): the credential with ServicePassword.

        Sent through the retrying client: a reset repeated after a lost answer only issues another password,
        and the last answer heard holds the one that works.
        """
        what = f"reset service-specific credential {credential_id} of user {name}"
        with _implemented(what):
            return self._call(
                "reset_service_specific_credential",
                what,
                mutating=True,
                user=name,
                UserName=name,
                ServiceSpecificCredentialId=credential_id,
            )["ServiceSpecificCredential"]

    def _unsupported(self, operation: str, what: str, reason: str, required: bool) -> list[t.Any]:
        if required:
            raise IAMError(f"Failed to {what}: {reason}", "NotImplemented")
        # Warned once per operation: the next user's listing would only say the same again.
        self._unimplemented.add(operation)
        self.warnings.append(f"Could not {what} ({reason}); treating it as none.")
        return []


@contextlib.contextmanager
def _implemented(what: str) -> t.Iterator[None]:
    """moto in-process raises NotImplementedError for calls it lacks: an IAMError like any other failure."""
    try:
        yield
    except NotImplementedError:
        raise IAMError(f"Failed to {what}: not implemented by this endpoint", "NotImplemented") from None


def get_caller_identity(sts_client: t.Any) -> dict[str, t.Any]:
    """STS GetCallerIdentity (Account, Arn, UserId), with the same error translation as the IAM verbs."""
    try:
        return sts_client.get_caller_identity()
    except (ClientError, BotoCoreError) as exc:
        raise _translate(exc, "get caller identity from STS") from exc
