# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal use only: this file is not a public API of the collection and may change at any time.

"""Connection options, client creation and the retry configuration shared by every module.

Clients come from botocore itself: boto3 adds nothing an IAM client needs, and importing it (with the
s3transfer it pulls in) would cost every module invocation time.
"""

from __future__ import annotations

import os
import typing as t

from ansible.module_utils.basic import env_fallback

try:
    import botocore.session
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, EndpointConnectionError
    from botocore.parsers import ResponseParserError

    HAS_BOTO3 = True
    BOTO3_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - exercised only without boto3
    HAS_BOTO3 = False
    BOTO3_IMPORT_ERROR = exc

    # Stand-ins so that modules import cleanly and IAMModule can report the missing library.
    class BotoCoreError(Exception):  # type: ignore[no-redef]
        pass

    class ClientError(Exception):  # type: ignore[no-redef]
        pass

    class ResponseParserError(Exception):  # type: ignore[no-redef]
        pass

    class EndpointConnectionError(BotoCoreError):  # type: ignore[no-redef]
        pass

    class ConnectTimeoutError(BotoCoreError):  # type: ignore[no-redef]
        pass


# Re-exported for the rest of module_utils, which never imports botocore itself.
__all__ = ["BotoCoreError", "ClientError", "ConnectTimeoutError", "EndpointConnectionError", "ResponseParserError"]

COLLECTION_VERSION = "1.0.0"

# Same names, aliases and environment fallbacks as amazon.aws, so one module_defaults block serves both.
CONNECTION_ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    "access_key": {
        "aliases": ["aws_access_key_id", "aws_access_key", "ec2_access_key"],
        "fallback": (env_fallback, ["AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "EC2_ACCESS_KEY"]),
        "no_log": False,
        "type": "str",
    },
    "secret_key": {
        "aliases": ["aws_secret_access_key", "aws_secret_key", "ec2_secret_key"],
        "fallback": (env_fallback, ["AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY", "EC2_SECRET_KEY"]),
        "no_log": True,
        "type": "str",
    },
    "session_token": {
        "aliases": ["aws_session_token", "security_token", "aws_security_token", "access_token"],
        "fallback": (env_fallback, ["AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "EC2_SECURITY_TOKEN"]),
        "no_log": True,
        "type": "str",
    },
    "profile": {
        "aliases": ["aws_profile"],
        "fallback": (env_fallback, ["AWS_PROFILE", "AWS_DEFAULT_PROFILE"]),
        "type": "str",
    },
    "endpoint_url": {
        "aliases": ["aws_endpoint_url", "ec2_url", "s3_url"],
        # Service-specific variables (AWS_ENDPOINT_URL_IAM, AWS_ENDPOINT_URL_STS) are left to botocore, which
        # applies each to its own service; endpoint_url itself serves both the IAM and the STS clients.
        "fallback": (env_fallback, ["AWS_ENDPOINT_URL", "AWS_URL", "EC2_URL"]),
        "type": "str",
    },
    "region": {
        "aliases": ["aws_region", "ec2_region"],
        "fallback": (env_fallback, ["AWS_REGION", "AWS_DEFAULT_REGION", "EC2_REGION"]),
        "type": "str",
    },
    "validate_certs": {"default": True, "type": "bool"},
    # Work in another account through a role, with botocore's own assume-role credentials (refreshed before
    # they expire), signed with the credentials above.
    "role_arn": {"aliases": ["assume_role_arn", "aws_role_arn"], "type": "str"},
    "role_session_name": {"aliases": ["aws_role_session_name"], "type": "str", "default": "techsquawks-iam"},
}

CONNECTION_OPTIONS = tuple(CONNECTION_ARGUMENT_SPEC)

# IAM is a global service; botocore still needs a region to sign requests and build the STS endpoint.
DEFAULT_REGION = "us-east-1"

# botocore's "standard" mode retries throttling errors, 5xx responses and connection errors with
# exponential backoff and full jitter. IAM's control plane throttles hard when many forks run at once.
MAX_ATTEMPTS = 10

# Set TECHSQUAWKS_IAM_API_LOG to a file path to append one line per API call ("service operation").
# Benchmarks and integration tests use it to count calls; it never records parameters.
API_LOG_ENV = "TECHSQUAWKS_IAM_API_LOG"


class AWSConnectionError(Exception):
    """Raised when the connection options cannot produce a session (bad profile, missing boto3)."""


def _log_api_call(path: str) -> t.Callable[..., None]:
    def handler(model: t.Any, **_kwargs: t.Any) -> None:
        with open(path, "a", encoding="utf-8") as log:
            log.write(f"{model.service_model.endpoint_prefix} {model.name}\n")

    return handler


def build_session(params: dict[str, t.Any]) -> t.Any:
    """Build a botocore session from the connection options (profile or explicit keys, then role_arn if set)."""
    if not HAS_BOTO3:
        raise AWSConnectionError(f"boto3 and botocore are required: {BOTO3_IMPORT_ERROR}")
    session = botocore.session.Session(profile=params.get("profile") or None)
    try:
        # Reads the profile now, so that a missing one fails here, naming the option.
        session.get_scoped_config()
    except botocore.exceptions.ProfileNotFound as exc:
        raise AWSConnectionError(f"profile: {exc}") from exc
    access_key, secret_key = params.get("access_key"), params.get("secret_key")
    if access_key or secret_key:
        if not (access_key and secret_key):
            missing = "secret_key" if access_key else "access_key"
            raise AWSConnectionError(f"{missing}: access_key and secret_key are given together or not at all")
        session.set_credentials(access_key, secret_key, params.get("session_token"))
    if params.get("role_arn"):
        session = _assumed_role_session(session, params)
    return session


def _region(session: t.Any, params: dict[str, t.Any]) -> str:
    return params.get("region") or session.get_config_variable("region") or DEFAULT_REGION


def _assumed_role_session(source: t.Any, params: dict[str, t.Any]) -> t.Any:
    """A session whose credentials come from STS AssumeRole signed with ``source``'s, refreshed by botocore."""
    from botocore.credentials import AssumeRoleCredentialFetcher, DeferredRefreshableCredentials

    source_credentials = source.get_credentials()
    if source_credentials is None:
        raise AWSConnectionError("role_arn: no credentials found to assume the role with")
    region = _region(source, params)

    def sts_client(service: str, **credentials: t.Any) -> t.Any:
        return source.create_client(
            service,
            region_name=region,
            endpoint_url=params.get("endpoint_url") or None,
            verify=params.get("validate_certs", True),
            config=_config(MAX_ATTEMPTS, "standard"),
            **credentials,
        )

    fetcher = AssumeRoleCredentialFetcher(
        sts_client,
        source_credentials,
        params["role_arn"],
        extra_args={"RoleSessionName": params.get("role_session_name") or "techsquawks-iam"},
    )
    botocore_session = botocore.session.Session()
    # botocore's own refreshable assume-role credentials, as a profile with role_arn would give.
    # There is no public setter for a session's credentials object: the attribute is what botocore reads.
    botocore_session._credentials = DeferredRefreshableCredentials(  # type: ignore[attr-defined]
        method="assume-role", refresh_using=fetcher.fetch_credentials
    )
    botocore_session.set_config_variable("region", region)
    return botocore_session


# botocore's retry modes this collection uses ("legacy" retries too little for IAM's throttling).
RetryMode = t.Literal["standard", "adaptive"]


def _config(max_attempts: int, retry_mode: RetryMode) -> t.Any:
    return Config(
        retries={"mode": retry_mode, "total_max_attempts": max_attempts},
        user_agent_extra=f"techsquawks.iam/{COLLECTION_VERSION}",
        connect_timeout=10,
        read_timeout=30,
        # One client serves every thread of the roster engine; let each have its own connection.
        max_pool_connections=32,
    )


def create_client(
    session: t.Any,
    service: str,
    params: dict[str, t.Any],
    max_attempts: int = MAX_ATTEMPTS,
    retry_mode: RetryMode = "standard",
) -> t.Any:
    """Create a client for ``service`` with the shared retry and user-agent configuration.

    ``retry_mode="adaptive"`` adds botocore's client-side rate limiting, which learns from throttling: the
    roster engine uses it so that many users converged at once against one account back off together.
    """
    config = _config(max_attempts, retry_mode)
    client = session.create_client(
        service,
        region_name=_region(session, params),
        endpoint_url=params.get("endpoint_url") or None,
        verify=params.get("validate_certs", True),
        config=config,
    )
    log_path = os.environ.get(API_LOG_ENV)
    if log_path:
        client.meta.events.register("before-call", _log_api_call(log_path))
    return client


def error_code(exc: BaseException) -> str | None:
    """Return the AWS error code of a ClientError, else None."""
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code")
    return None
