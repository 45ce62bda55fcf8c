"""wait_for_credentials: STS GetCallerIdentity retried until a new key is recognised, bounded by a timeout."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from ansible_collections.techsquawks.iam.plugins.module_utils import _iam
from ansible_collections.techsquawks.iam.plugins.module_utils._credentials import wait_for_credentials
from ansible_collections.techsquawks.iam.plugins.module_utils._iam import IAMError

ARN = "arn:aws:iam::123456789012:user/techsquawks-user"


@pytest.fixture
def sts():
    client = boto3.client("sts", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the backoff sleeps instead of sleeping."""
    slept: list[float] = []
    monkeypatch.setattr(_iam.time, "sleep", slept.append)
    return slept


def identity(arn: str) -> dict[str, str]:
    return {"UserId": "AIDAEXAMPLE", "Account": "123456789012", "Arn": arn}


def test_returns_once_sts_recognises_the_key_after_propagation_errors(sts, sleeps):
    client, stubber = sts
    stubber.add_client_error("get_caller_identity", "InvalidClientTokenId", "The security token is invalid.")
    stubber.add_client_error("get_caller_identity", "SignatureDoesNotMatch", "Signature mismatch.")
    stubber.add_response("get_caller_identity", identity(ARN))

    assert wait_for_credentials(client, ARN, timeout=30, what="new access key AKIANEW") == ARN

    stubber.assert_no_pending_responses()
    assert len(sleeps) == 2


def test_an_answer_naming_another_identity_is_retried(sts, sleeps):
    # moto answers an access key it does not know with a default identity.
    client, stubber = sts
    stubber.add_response("get_caller_identity", identity("arn:aws:sts::123456789012:user/moto"))
    stubber.add_response("get_caller_identity", identity(ARN))

    assert wait_for_credentials(client, ARN, timeout=30, what="new access key AKIANEW") == ARN
    assert len(sleeps) == 1


def test_times_out_with_the_last_error(sts, monkeypatch):
    client, stubber = sts
    for _attempt in range(100):
        stubber.add_client_error("get_caller_identity", "InvalidClientTokenId", "The security token is invalid.")
    clock = iter(range(0, 1000, 7))
    monkeypatch.setattr(_iam.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(_iam.time, "sleep", lambda _seconds: None)

    with pytest.raises(IAMError) as failure:
        wait_for_credentials(client, ARN, timeout=20, what="new access key AKIANEW")

    assert str(failure.value) == (
        "Failed to verify new access key AKIANEW: still not usable after 20 s (The security token is invalid.)"
    )
    assert failure.value.code == "InvalidClientTokenId"


def test_times_out_naming_the_wrong_identity(sts, monkeypatch):
    client, stubber = sts
    for _attempt in range(10):
        stubber.add_response("get_caller_identity", identity("arn:aws:iam::123456789012:user/someone-else"))
    clock = iter(range(0, 1000, 7))
    monkeypatch.setattr(_iam.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(_iam.time, "sleep", lambda _seconds: None)

    with pytest.raises(IAMError) as failure:
        wait_for_credentials(client, ARN, timeout=10, what="new access key AKIANEW")

    assert "STS identified it as arn:aws:iam::123456789012:user/someone-else, not " + ARN in str(failure.value)
    assert failure.value.code == "IdentityMismatch"


def test_an_error_that_waiting_cannot_fix_fails_at_once(sts, sleeps):
    client, stubber = sts
    stubber.add_client_error("get_caller_identity", "AccessDenied", "Denied by an SCP.")

    with pytest.raises(IAMError) as failure:
        wait_for_credentials(client, ARN, timeout=30, what="new access key AKIANEW")

    assert str(failure.value) == "Failed to verify new access key AKIANEW: Denied by an SCP."
    assert failure.value.code == "AccessDenied"
    assert sleeps == []
