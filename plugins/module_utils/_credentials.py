# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal use only: this file is not a public API of the collection and may change at any time.

"""Prove that new credentials work: STS GetCallerIdentity signed with them, through IAM's eventual consistency."""

from __future__ import annotations

import time
import typing as t

from ansible_collections.techsquawks.iam.plugins.module_utils._aws import BotoCoreError, ClientError, error_code
from ansible_collections.techsquawks.iam.plugins.module_utils._iam import (
    IAMError,
    _describe,
    _sleep_backoff,
    _translate,
)

# What STS answers while a new access key has not yet reached every endpoint. Any other error (a
# network failure, a malformed request) will not go away by waiting, so it fails at once.
NOT_YET_VALID_CODES = frozenset(
    {"InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException", "AuthFailure"}
)


def wait_for_credentials(sts_client: t.Any, expected_arn: str, *, timeout: float, what: str) -> str:
    """Call GetCallerIdentity with ``sts_client`` until it answers ``expected_arn``; return that ARN.

    Retries with capped exponential backoff and jitter for up to ``timeout`` seconds. An answer naming
    another identity is retried too: emulators answer unknown keys with a default identity.
    Raises IAMError("Failed to verify <what>: ...") with the last AWS error code when time runs out.
    """
    deadline = time.monotonic() + timeout
    attempt = 0
    code: str | None  # the AWS error code of the last answer (None for an error without one)
    while True:
        try:
            arn = sts_client.get_caller_identity().get("Arn")
            if arn == expected_arn:
                return arn
            code, problem = "IdentityMismatch", f"STS identified it as {arn}, not {expected_arn}"
        except (ClientError, BotoCoreError) as exc:
            code, problem = error_code(exc), _describe(exc)
            if code not in NOT_YET_VALID_CODES:
                raise _translate(exc, f"verify {what}") from exc
        if not _sleep_backoff(attempt, deadline):
            raise IAMError(f"Failed to verify {what}: still not usable after {timeout:g} s ({problem})", code)
        attempt += 1
