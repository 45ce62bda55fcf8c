"""The shared IAM wrapper: pagination, error translation, consistency retries, check-mode guard."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from ansible_collections.techsquawks.iam.plugins.module_utils import _iam
from ansible_collections.techsquawks.iam.plugins.module_utils._aws import MAX_ATTEMPTS, build_session, create_client
from ansible_collections.techsquawks.iam.plugins.module_utils._iam import IAM, CheckModeViolation, IAMError


@pytest.fixture
def stubbed():
    client = boto3.client("iam", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def no_sleep(monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(_iam.time, "sleep", slept.append)
    return slept


def test_list_calls_follow_markers_across_pages(stubbed):
    client, stubber = stubbed
    user = {"Path": "/", "UserName": "a", "UserId": "AIDA0000000000000000A", "Arn": "arn:aws:iam::1:user/a"}
    created = {"CreateDate": "2026-01-01T00:00:00Z"}
    stubber.add_response(
        "list_users", {"Users": [user | created], "IsTruncated": True, "Marker": "m1"}, {"PathPrefix": "/"}
    )
    second = user | created | {"UserName": "b", "Arn": "arn:aws:iam::1:user/b"}
    stubber.add_response("list_users", {"Users": [second], "IsTruncated": False}, {"PathPrefix": "/", "Marker": "m1"})
    assert [u["UserName"] for u in IAM(client).list_users()] == ["a", "b"]


def test_service_specific_credentials_follow_markers_without_a_paginator(stubbed):
    client, stubber = stubbed
    cred = {
        "UserName": "u",
        "Status": "Active",
        "ServiceUserName": "u-at-1",
        "CreateDate": "2026-01-01T00:00:00Z",
        "ServiceSpecificCredentialId": "ACCA00000000000000001",
        "ServiceName": "codecommit.amazonaws.com",
    }
    stubber.add_response(
        "list_service_specific_credentials",
        {"ServiceSpecificCredentials": [cred], "IsTruncated": True, "Marker": "m"},
        {"UserName": "u"},
    )
    second = cred | {"ServiceSpecificCredentialId": "ACCA00000000000000002"}
    stubber.add_response(
        "list_service_specific_credentials",
        {"ServiceSpecificCredentials": [second], "IsTruncated": False},
        {"UserName": "u", "Marker": "m"},
    )
    ids = [c["ServiceSpecificCredentialId"] for c in IAM(client).list_service_specific_credentials("u")]
    assert ids == ["ACCA00000000000000001", "ACCA00000000000000002"]


def test_invalid_action_on_an_optional_list_call_counts_as_none_with_a_warning(stubbed):
    client, stubber = stubbed
    stubber.add_client_error("list_service_specific_credentials", "InvalidAction", "not available", 400)
    iam = IAM(client)
    assert iam.list_service_specific_credentials("u") == []
    assert "service-specific credentials" in iam.warnings[0]


def test_errors_read_failed_to_verb_resource_name_with_the_aws_code(stubbed):
    client, stubber = stubbed
    stubber.add_client_error("create_user", "EntityAlreadyExists", "User with name u already exists.", 409)
    with pytest.raises(IAMError) as caught:
        IAM(client).create_user("u", "/", [])
    assert str(caught.value) == "Failed to create user u: User with name u already exists."
    assert caught.value.code == "EntityAlreadyExists"


def test_get_returns_none_for_a_missing_entity(stubbed):
    client, stubber = stubbed
    stubber.add_client_error("get_user", "NoSuchEntity", "The user with name u cannot be found.", 404)
    assert IAM(client).get_user("u") is None


def test_entity_temporarily_unmodifiable_is_retried(stubbed, no_sleep):
    client, stubber = stubbed
    stubber.add_client_error("delete_login_profile", "EntityTemporarilyUnmodifiable", "busy", 409)
    stubber.add_response("delete_login_profile", {}, {"UserName": "u"})
    IAM(client).delete_login_profile("u")
    assert len(no_sleep) == 1


def test_no_such_entity_for_a_user_created_in_this_run_is_retried_as_propagation_delay(stubbed, no_sleep):
    client, stubber = stubbed
    stubber.add_response("create_user", {"User": _user("fresh")}, {"UserName": "fresh", "Path": "/"})
    stubber.add_client_error("tag_user", "NoSuchEntity", "The user with name fresh cannot be found.", 404)
    stubber.add_response("tag_user", {}, {"UserName": "fresh", "Tags": [{"Key": "k", "Value": "v"}]})
    iam = IAM(client)
    iam.create_user("fresh", "/", [])
    iam.tag_user("fresh", [{"Key": "k", "Value": "v"}])
    assert len(no_sleep) == 1


def test_no_such_entity_for_a_user_not_created_in_this_run_fails_at_once(stubbed, no_sleep):
    client, stubber = stubbed
    stubber.add_client_error("tag_user", "NoSuchEntity", "The user with name old cannot be found.", 404)
    with pytest.raises(IAMError):
        IAM(client).tag_user("old", [{"Key": "k", "Value": "v"}])
    assert no_sleep == []


def test_consistency_retries_stop_at_the_deadline(stubbed, monkeypatch):
    client, stubber = stubbed
    clock = iter(range(0, 1000, 10))
    monkeypatch.setattr(_iam.time, "monotonic", lambda: float(next(clock)))
    monkeypatch.setattr(_iam.time, "sleep", lambda seconds: None)
    for _attempt in range(3):  # at t=0, 10, 20; the deadline (t=30) stops a fourth try
        stubber.add_client_error("delete_login_profile", "EntityTemporarilyUnmodifiable", "busy", 409)
    with pytest.raises(IAMError) as caught:
        IAM(client).delete_login_profile("u")
    assert caught.value.code == "EntityTemporarilyUnmodifiable"


def test_mutating_calls_are_refused_in_check_mode(stubbed):
    client, _stubber = stubbed
    with pytest.raises(CheckModeViolation):
        IAM(client, check_mode=True).delete_user("u")


def test_clients_retry_throttling_in_standard_mode():
    client = create_client(build_session({}), "iam", {"region": None, "endpoint_url": None})
    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": MAX_ATTEMPTS}
    assert client.meta.endpoint_url == "https://iam.amazonaws.com"  # the global endpoint, from the default region
    assert "techsquawks.iam/" in client.meta.config.user_agent_extra


def test_api_log_records_operation_names_only(monkeypatch, tmp_path, aws):
    log = tmp_path / "api.log"
    monkeypatch.setenv("TECHSQUAWKS_IAM_API_LOG", str(log))
    client = create_client(build_session({}), "iam", {"region": "us-east-1"})
    client.list_users()
    assert log.read_text() == "iam ListUsers\n"


def _user(name: str) -> dict:
    return {
        "Path": "/",
        "UserName": name,
        "UserId": "AIDA0000000000000000A",
        "Arn": f"arn:aws:iam::123456789012:user/{name}",
        "CreateDate": "2026-01-01T00:00:00Z",
    }


def once_iam(client) -> IAM:
    """IAM whose creates go out on ``client`` (as on the modules' single-attempt client)."""
    return IAM(client, probe_client=lambda: client)


def test_create_is_sent_again_only_after_an_answer_that_says_aws_refused_it(monkeypatch):
    monkeypatch.setattr(_iam.time, "sleep", lambda _seconds: None)
    client = boto3.client("iam", region_name="us-east-1")
    key = {"UserName": "u", "AccessKeyId": "AKIAEXAMPLE000000001", "Status": "Active", "SecretAccessKey": "x" * 40}
    with Stubber(client) as stub:
        stub.add_client_error("create_access_key", "Throttling", "Rate exceeded", http_status_code=400)
        stub.add_response("create_access_key", {"AccessKey": key}, {"UserName": "u"})
        assert once_iam(client).create_access_key("u")["AccessKeyId"] == "AKIAEXAMPLE000000001"
        stub.assert_no_pending_responses()


def test_create_without_a_clear_answer_raises_unclear_outcome_and_is_not_sent_again():
    client = boto3.client("iam", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_client_error("create_access_key", "ServiceFailure", "Internal error", http_status_code=500)
        with pytest.raises(_iam.UnclearOutcome, match="whether AWS acted is not known"):
            once_iam(client).create_access_key("u")
        stub.assert_no_pending_responses()


def test_create_refused_for_good_is_an_iam_error_not_an_unclear_outcome():
    client = boto3.client("iam", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_client_error("create_access_key", "LimitExceeded", "Cannot exceed quota", http_status_code=409)
        with pytest.raises(IAMError) as failure:
            once_iam(client).create_access_key("u")
    assert not isinstance(failure.value, _iam.UnclearOutcome)
    assert failure.value.code == "LimitExceeded"


def test_send_once_reconciles_after_an_unclear_outcome_then_adopts_or_sends_again():
    sent: list[str] = []

    def create() -> str:
        sent.append("create")
        if len(sent) == 1:
            raise _iam.UnclearOutcome("Failed to create: timeout", "UnclearOutcome")
        return "second"

    reconciled: list[str] = []
    assert _iam.send_once(create, lambda: reconciled.append("listed")) == "second"
    assert (sent, reconciled) == (["create", "create"], ["listed"])

    sent.clear()
    assert _iam.send_once(create, lambda: "adopted") == "adopted"
    assert sent == ["create"]


def test_create_is_refused_in_check_mode():
    client = boto3.client("iam", region_name="us-east-1")
    with pytest.raises(CheckModeViolation):
        IAM(client, check_mode=True).create_access_key("u")
