"""The integration proxy's stand-in for service-specific credentials: its XML is IAM's, read back by botocore."""

from __future__ import annotations

import datetime

import botocore.session
import pytest
from botocore.parsers import QueryParser
from botocore.validate import validate_parameters

from tests.aws_proxy import iam_error, iam_reply, query_xml
from tests.iam_service_credentials import ApiError, ServiceCredentialStore, User

MODEL = botocore.session.get_session().get_service_model("iam")
DEV = User("dev", "AIDAEXAMPLEDEV000001", "123456789012")


def as_iam_answers(operation: str, answer: dict) -> dict:
    """What botocore makes of the proxy's XML answer to ``operation`` (validated against the output shape)."""
    result = "".join(query_xml(name, value) for name, value in answer.items())
    reply = iam_reply(operation, result if answer else None)
    shape = MODEL.operation_model(operation).output_shape
    parsed = QueryParser().parse({"body": reply.body, "headers": {}, "status_code": reply.status}, shape)
    parsed.pop("ResponseMetadata", None)
    if shape is not None:
        validate_parameters(parsed, shape)
    return parsed


@pytest.fixture
def store() -> ServiceCredentialStore:
    clock = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.UTC)
    return ServiceCredentialStore(lambda name: DEV if name == "dev" else None, now=lambda: clock)


def test_every_answer_parses_back_to_what_the_store_answered(store):
    created = store.answer(
        "CreateServiceSpecificCredential", {"UserName": "dev", "ServiceName": "codecommit.amazonaws.com"}
    )
    assert as_iam_answers("CreateServiceSpecificCredential", created) == created
    assert created["ServiceSpecificCredential"]["ServiceUserName"] == "dev-at-123456789012"

    key = store.answer(
        "CreateServiceSpecificCredential",
        {"UserName": "dev", "ServiceName": "bedrock.amazonaws.com", "CredentialAgeDays": "30"},
    )
    parsed_key = as_iam_answers("CreateServiceSpecificCredential", key)["ServiceSpecificCredential"]
    assert parsed_key["ExpirationDate"] == datetime.datetime(2026, 3, 31, 12, 0, tzinfo=datetime.UTC)
    assert parsed_key["ServiceCredentialSecret"] == store.secret_of(parsed_key["ServiceSpecificCredentialId"])
    assert "ServicePassword" not in parsed_key

    listed = store.answer("ListServiceSpecificCredentials", {"UserName": "dev"})
    assert as_iam_answers("ListServiceSpecificCredentials", listed) == listed
    assert [c["ServiceName"] for c in listed["ServiceSpecificCredentials"]] == [
        "codecommit.amazonaws.com",
        "bedrock.amazonaws.com",
    ]
    assert "ServicePassword" not in str(listed)

    credential_id = created["ServiceSpecificCredential"]["ServiceSpecificCredentialId"]
    reset = store.answer(
        "ResetServiceSpecificCredential", {"UserName": "dev", "ServiceSpecificCredentialId": credential_id}
    )
    assert as_iam_answers("ResetServiceSpecificCredential", reset) == reset
    assert (
        reset["ServiceSpecificCredential"]["ServicePassword"] != created["ServiceSpecificCredential"]["ServicePassword"]
    )

    update = {"UserName": "dev", "ServiceSpecificCredentialId": credential_id, "Status": "Inactive"}
    assert (
        as_iam_answers("UpdateServiceSpecificCredential", store.answer("UpdateServiceSpecificCredential", update)) == {}
    )
    delete = {"UserName": "dev", "ServiceSpecificCredentialId": credential_id}
    assert (
        as_iam_answers("DeleteServiceSpecificCredential", store.answer("DeleteServiceSpecificCredential", delete)) == {}
    )
    assert store.ids() == [key["ServiceSpecificCredential"]["ServiceSpecificCredentialId"]]


def test_an_empty_list_and_a_truncated_page_parse_back(store):
    empty = store.answer("ListServiceSpecificCredentials", {"UserName": "dev"})
    assert as_iam_answers("ListServiceSpecificCredentials", empty) == {
        "ServiceSpecificCredentials": [],
        "IsTruncated": False,
    }
    for service in ("codecommit.amazonaws.com", "cassandra.amazonaws.com"):
        store.answer("CreateServiceSpecificCredential", {"UserName": "dev", "ServiceName": service})
    page = store.answer("ListServiceSpecificCredentials", {"UserName": "dev", "MaxItems": "1"})
    assert as_iam_answers("ListServiceSpecificCredentials", page) == page
    assert page["IsTruncated"] is True
    rest = store.answer("ListServiceSpecificCredentials", {"UserName": "dev", "Marker": page["Marker"]})
    assert [c["ServiceName"] for c in rest["ServiceSpecificCredentials"]] == ["cassandra.amazonaws.com"]


@pytest.mark.parametrize(
    ("operation", "params", "code"),
    [
        (
            "CreateServiceSpecificCredential",
            {"UserName": "ghost", "ServiceName": "codecommit.amazonaws.com"},
            "NoSuchEntity",
        ),
        (
            "CreateServiceSpecificCredential",
            {"UserName": "dev", "ServiceName": "s3.amazonaws.com"},
            "NotSupportedService",
        ),
        (
            "CreateServiceSpecificCredential",
            {"UserName": "dev", "ServiceName": "codecommit.amazonaws.com", "CredentialAgeDays": "3"},
            "InvalidInput",
        ),
        (
            "DeleteServiceSpecificCredential",
            {"UserName": "dev", "ServiceSpecificCredentialId": "ACCA0000000000000000X"},
            "NoSuchEntity",
        ),
        ("ListServiceSpecificCredentials", {"UserName": "ghost"}, "NoSuchEntity"),
    ],
)
def test_refusals_are_iam_errors_botocore_reads(store, operation, params, code):
    with pytest.raises(ApiError) as refused:
        store.answer(operation, params)
    reply = iam_error(refused.value.code, refused.value.message, refused.value.status)
    shape = MODEL.operation_model(operation).output_shape
    parsed = QueryParser().parse({"body": reply.body, "headers": {}, "status_code": reply.status}, shape)
    assert parsed["Error"]["Code"] == code
    assert parsed["ResponseMetadata"]["HTTPStatusCode"] == refused.value.status


def test_a_third_credential_for_a_service_exceeds_the_limit(store):
    params = {"UserName": "dev", "ServiceName": "codecommit.amazonaws.com"}
    first = store.answer("CreateServiceSpecificCredential", params)["ServiceSpecificCredential"]
    second = store.answer("CreateServiceSpecificCredential", params)["ServiceSpecificCredential"]
    assert first["ServiceUserName"] != second["ServiceUserName"]
    with pytest.raises(ApiError, match="ServiceSpecificCredentialsPerUserPerService: 2") as refused:
        store.answer("CreateServiceSpecificCredential", params)
    assert refused.value.code == "LimitExceeded"


def test_a_user_created_again_starts_without_credentials():
    users = {"dev": DEV}
    store = ServiceCredentialStore(users.get)
    store.answer("CreateServiceSpecificCredential", {"UserName": "dev", "ServiceName": "codecommit.amazonaws.com"})
    users["dev"] = User("dev", "AIDAEXAMPLEDEV000002", "123456789012")
    assert store.answer("ListServiceSpecificCredentials", {"UserName": "dev"})["ServiceSpecificCredentials"] == []
