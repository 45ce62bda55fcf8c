"""iam_access_key_info: the real main() against moto in-process."""

from __future__ import annotations

import datetime
import json

import boto3

from ansible_collections.techsquawks.iam.plugins.modules import iam_access_key_info

USER = "techsquawks-user"


def test_lists_keys_oldest_first_with_status_age_and_no_use_yet(run_module, iam_client, api_calls):
    iam_client.create_user(UserName=USER)
    first = iam_client.create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"]
    second = iam_client.create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"]
    iam_client.update_access_key(UserName=USER, AccessKeyId=first, Status="Inactive")
    api_calls.clear()

    result = run_module(iam_access_key_info, {"user_name": USER}, check_mode=True)

    assert result["changed"] is False
    assert [(key["access_key_id"], key["status"]) for key in result["access_keys"]] == [
        (first, "Inactive"),
        (second, "Active"),
    ]
    key = result["access_keys"][0]
    assert key["user_name"] == USER
    assert key["age_days"] == 0
    assert datetime.datetime.fromisoformat(key["create_date"]).tzinfo is not None
    # GetAccessKeyLastUsed answers "N/A" for a key never used: reported as nulls.
    assert key["last_used"] == {"date": None, "service_name": None, "region": None}
    assert api_calls.mutating == []
    assert sorted(api_calls) == ["GetAccessKeyLastUsed", "GetAccessKeyLastUsed", "ListAccessKeys"]


def test_last_used_reports_date_service_and_region_of_the_last_use(run_module, iam_client):
    iam_client.create_user(UserName=USER)
    key = iam_client.create_access_key(UserName=USER)["AccessKey"]
    boto3.client(
        "sts",
        region_name="us-east-1",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        aws_session_token=None,
    ).get_caller_identity()

    result = run_module(iam_access_key_info, {"user_name": USER})

    last_used = result["access_keys"][0]["last_used"]
    assert last_used["service_name"] == "sts"
    assert last_used["region"] == "us-east-1"
    assert datetime.datetime.fromisoformat(last_used["date"]).tzinfo is not None
    assert key["SecretAccessKey"] not in json.dumps(result)


def test_age_days_counts_whole_days_since_creation():
    created = datetime.datetime(2026, 1, 1, 12, tzinfo=datetime.UTC)
    info = iam_access_key_info.key_info(
        {"AccessKeyId": "AKIA2EXAMPLE7KEYID", "Status": "Active", "CreateDate": created, "UserName": USER}, {}
    )

    assert info["create_date"] == "2026-01-01T12:00:00+00:00"
    assert 0 < info["age_days"] == (datetime.datetime.now(datetime.UTC) - created).days


def test_user_without_keys_has_an_empty_list(run_module, iam_client):
    iam_client.create_user(UserName=USER)

    assert run_module(iam_access_key_info, {"user_name": USER})["access_keys"] == []


def test_missing_user_fails_with_the_aws_message(run_module, iam_client):
    result = run_module(iam_access_key_info, {"user_name": "nobody"})

    assert result["failed"] is True
    assert result["msg"] == "Failed to list access keys of user nobody: The user with name nobody cannot be found."
    assert result["error_code"] == "NoSuchEntity"


def test_invalid_user_name_fails_before_any_api_call(run_module, api_calls):
    result = run_module(iam_access_key_info, {"user_name": "a b"})

    assert result["failed"] is True
    assert "user_name 'a b' may contain only" in result["msg"]
    assert api_calls == []
