"""iam_service_credential: the real main() against moto in-process, the credentials emulated (moto lacks them)."""

from __future__ import annotations

import datetime
import json
import os
import stat

import pytest
from botocore.exceptions import ClientError

from ansible_collections.techsquawks.iam.plugins.modules import iam_service_credential, iam_user_info
from tests.iam_service_credentials import BEDROCK, CASSANDRA, CODECOMMIT
from tests.unit.emulate import ServiceSpecificCredentials


@pytest.fixture
def store(emulator, iam_client) -> ServiceSpecificCredentials:
    iam_client.create_user(UserName="dev")
    return ServiceSpecificCredentials(emulator)


def listed(iam_client, service: str | None = None) -> list[dict]:
    """The user's credentials as IAM lists them (the emulated API, read by an independent client)."""
    params = {"UserName": "dev", **({"ServiceName": service} if service else {})}
    return iam_client.list_service_specific_credentials(**params)["ServiceSpecificCredentials"]


def sent_of(sent, operation: str) -> list[dict]:
    return [params for name, params in sent if name == operation]


def test_present_creates_one_credential_and_a_rerun_changes_nothing(run_module, store, iam_client, api_calls):
    args = {"user_name": "dev", "service_name": CODECOMMIT}
    api_calls.clear()

    predicted = run_module(iam_service_credential, args, check_mode=True, diff=True)
    assert predicted["changed"] is True
    assert predicted["service_credential"]["service_specific_credential_id"] is None
    assert predicted["diff"]["after"] == {
        "service_credentials": [
            {
                "service_specific_credential_id": None,
                "status": "Active",
                "expiration_date": None,
                "secret": "(new, not shown)",
            }
        ]
    }
    assert "service_password" not in predicted
    assert api_calls.mutating == []
    assert listed(iam_client) == []

    created = run_module(iam_service_credential, args, diff=True)
    assert created["changed"] is True
    credential = created["service_credential"]
    [stored] = listed(iam_client)
    assert credential["service_specific_credential_id"] == stored["ServiceSpecificCredentialId"]
    assert credential["service_user_name"] == "dev-at-123456789012"
    assert credential["status"] == "Active"
    assert credential["expiration_date"] is None
    assert created["service_password"] == store.secret_of(stored["ServiceSpecificCredentialId"])
    assert created["service_password"] not in json.dumps(created["diff"])
    assert api_calls.mutating.count("CreateServiceSpecificCredential") == 1

    api_calls.clear()
    again = run_module(iam_service_credential, args, diff=True)
    assert again["changed"] is False
    assert api_calls.mutating == []
    assert "service_password" not in again
    assert again["service_credential"]["service_specific_credential_id"] == stored["ServiceSpecificCredentialId"]
    assert len(listed(iam_client)) == 1


def test_an_existing_credential_of_the_service_is_kept_and_other_services_do_not_count(
    run_module, store, iam_client, api_calls
):
    kept = iam_client.create_service_specific_credential(UserName="dev", ServiceName=CODECOMMIT)
    kept_id = kept["ServiceSpecificCredential"]["ServiceSpecificCredentialId"]
    api_calls.clear()

    same = run_module(iam_service_credential, {"user_name": "dev", "service_name": CODECOMMIT})
    assert same["changed"] is False
    assert same["service_credential"]["service_specific_credential_id"] == kept_id
    assert api_calls.mutating == []

    other = run_module(iam_service_credential, {"user_name": "dev", "service_name": CASSANDRA})
    assert other["changed"] is True
    assert other["service_password"]
    assert [c["ServiceName"] for c in listed(iam_client)] == [CODECOMMIT, CASSANDRA]


def test_active_false_then_true_updates_the_status_once_each(run_module, store, iam_client, api_calls, sent):
    args = {"user_name": "dev", "service_name": CODECOMMIT}
    credential_id = run_module(iam_service_credential, args)["service_credential"]["service_specific_credential_id"]
    api_calls.clear()

    predicted = run_module(iam_service_credential, dict(args, active=False), check_mode=True)
    assert predicted["changed"] is True
    assert predicted["service_credential"]["status"] == "Inactive"
    assert api_calls.mutating == []

    off = run_module(iam_service_credential, dict(args, active=False), diff=True)
    assert off["changed"] is True
    assert off["diff"]["before"]["service_credentials"][0]["status"] == "Active"
    assert off["diff"]["after"]["service_credentials"][0]["status"] == "Inactive"
    assert [c["Status"] for c in listed(iam_client)] == ["Inactive"]
    assert sent_of(sent, "UpdateServiceSpecificCredential") == [
        {"UserName": "dev", "ServiceSpecificCredentialId": credential_id, "Status": "Inactive"}
    ]
    assert "service_password" not in off

    api_calls.clear()
    assert run_module(iam_service_credential, dict(args, active=False))["changed"] is False
    assert api_calls.mutating == []

    on = run_module(iam_service_credential, dict(args, service_specific_credential_id=credential_id, active=True))
    assert on["changed"] is True
    assert on["service_credential"]["status"] == "Active"
    assert [c["Status"] for c in listed(iam_client)] == ["Active"]
    assert api_calls.mutating == ["UpdateServiceSpecificCredential"]


def test_reset_delivers_a_new_password_to_the_secret_file(run_module, store, iam_client, api_calls, tmp_path):
    secret_file = tmp_path / "git" / "dev.json"
    args = {"user_name": "dev", "service_name": CODECOMMIT, "secret_file": str(secret_file)}
    created = run_module(iam_service_credential, args)
    assert created["secret_file"] == str(secret_file)
    assert "service_password" not in created
    first = json.loads(secret_file.read_text())
    credential_id = created["service_credential"]["service_specific_credential_id"]
    assert first == {
        "service_name": CODECOMMIT,
        "service_password": store.secret_of(credential_id),
        "service_specific_credential_id": credential_id,
        "service_user_name": "dev-at-123456789012",
        "user_name": "dev",
    }
    assert stat.S_IMODE(os.stat(secret_file).st_mode) == 0o600
    api_calls.clear()

    predicted = run_module(iam_service_credential, dict(args, reset=True), check_mode=True)
    assert predicted["changed"] is True
    assert api_calls.mutating == []
    assert json.loads(secret_file.read_text()) == first

    reset = run_module(iam_service_credential, dict(args, reset=True), diff=True)
    assert reset["changed"] is True
    assert reset["diff"]["after"]["service_credentials"][0]["secret"] == "(new, not shown)"
    assert "secret" not in reset["diff"]["before"]["service_credentials"][0]
    second = json.loads(secret_file.read_text())
    assert second["service_password"] == store.secret_of(credential_id) != first["service_password"]
    assert second["service_specific_credential_id"] == credential_id
    assert "service_password" not in reset
    assert first["service_password"] not in json.dumps(reset)
    assert second["service_password"] not in json.dumps(reset)
    assert api_calls.mutating == ["ResetServiceSpecificCredential"]


def test_reset_without_secret_file_returns_the_new_password_once(run_module, store, iam_client):
    args = {"user_name": "dev", "service_name": CASSANDRA}
    old = run_module(iam_service_credential, args)["service_password"]
    reset = run_module(iam_service_credential, dict(args, reset=True))
    [credential] = listed(iam_client)
    assert reset["service_password"] == store.secret_of(credential["ServiceSpecificCredentialId"]) != old
    assert "service_password" not in run_module(iam_service_credential, args)


def test_absent_deletes_every_credential_of_the_service_or_one_by_id(run_module, store, iam_client, api_calls):
    for service in (CODECOMMIT, CODECOMMIT, CASSANDRA):
        iam_client.create_service_specific_credential(UserName="dev", ServiceName=service)
    first, second, keyspaces = (c["ServiceSpecificCredentialId"] for c in listed(iam_client))
    api_calls.clear()

    args = {"user_name": "dev", "service_name": CODECOMMIT, "state": "absent"}
    predicted = run_module(iam_service_credential, args, check_mode=True)
    assert predicted["changed"] is True
    assert sorted(predicted["deleted"]) == sorted([first, second])
    assert api_calls.mutating == []

    removed = run_module(iam_service_credential, args, diff=True)
    assert removed["changed"] is True
    assert removed["service_credential"] == {}
    assert removed["diff"]["after"] == {"service_credentials": []}
    assert [c["ServiceSpecificCredentialId"] for c in listed(iam_client)] == [keyspaces]

    api_calls.clear()
    assert run_module(iam_service_credential, args)["changed"] is False
    assert api_calls.mutating == []

    by_id = {"user_name": "dev", "service_specific_credential_id": keyspaces, "state": "absent"}
    assert run_module(iam_service_credential, by_id)["deleted"] == [keyspaces]
    assert listed(iam_client) == []
    assert run_module(iam_service_credential, by_id)["changed"] is False


def test_bedrock_key_gets_credential_age_days_and_returns_its_expiry_and_secret(run_module, store, iam_client, sent):
    args = {"user_name": "dev", "service_name": BEDROCK, "credential_age_days": 30}
    created = run_module(iam_service_credential, args)

    assert sent_of(sent, "CreateServiceSpecificCredential") == [
        {"UserName": "dev", "ServiceName": BEDROCK, "CredentialAgeDays": 30}
    ]
    credential = created["service_credential"]
    made = datetime.datetime.fromisoformat(credential["create_date"])
    assert datetime.datetime.fromisoformat(credential["expiration_date"]) - made == datetime.timedelta(days=30)
    assert credential["service_credential_alias"].startswith("BedrockAPIKey-")
    assert credential["service_user_name"] is None
    assert created["service_credential_secret"] == store.secret_of(credential["service_specific_credential_id"])
    assert "service_password" not in created
    assert run_module(iam_service_credential, args)["changed"] is False


def test_an_expired_bedrock_key_is_replaced_and_deleted_when_the_user_has_no_room(
    run_module, emulator, iam_client, api_calls
):
    iam_client.create_user(UserName="dev")
    clock = [datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)]
    store = ServiceSpecificCredentials(emulator, now=lambda: clock[0])
    for _attempt in range(2):
        iam_client.create_service_specific_credential(UserName="dev", ServiceName=BEDROCK, CredentialAgeDays=1)
    oldest = listed(iam_client)[0]["ServiceSpecificCredentialId"]
    args = {"user_name": "dev", "service_name": BEDROCK, "credential_age_days": 7}
    assert run_module(iam_service_credential, args)["changed"] is False

    clock[0] += datetime.timedelta(days=2)
    assert [c["Status"] for c in listed(iam_client)] == ["Expired", "Expired"]
    api_calls.clear()
    replaced = run_module(iam_service_credential, args)

    assert replaced["changed"] is True
    assert replaced["deleted"] == [oldest]
    assert api_calls.mutating == ["DeleteServiceSpecificCredential", "CreateServiceSpecificCredential"]
    assert [c["Status"] for c in listed(iam_client)] == ["Expired", "Active"]
    assert replaced["service_credential_secret"] == store.secret_of(
        listed(iam_client)[1]["ServiceSpecificCredentialId"]
    )


def test_a_secret_that_cannot_be_delivered_deletes_the_new_credential(run_module, store, iam_client, tmp_path, sent):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the secret's directory would be\n")
    secret_file = blocker / "dev.json"
    result = run_module(
        iam_service_credential, {"user_name": "dev", "service_name": CODECOMMIT, "secret_file": str(secret_file)}
    )

    assert result["failed"] is True
    assert result["msg"].startswith(f"secret_file: Failed to write secret to '{secret_file}'")
    assert "was deleted again" in result["msg"]
    assert len(sent_of(sent, "CreateServiceSpecificCredential")) == 1
    [deleted] = sent_of(sent, "DeleteServiceSpecificCredential")
    assert deleted["UserName"] == "dev"
    assert listed(iam_client) == []
    assert not secret_file.exists()
    assert store.ids() == []


def test_a_lost_create_answer_is_reconciled_and_only_one_credential_remains(run_module, store, emulator, iam_client):
    answer = emulator.handlers["CreateServiceSpecificCredential"]
    lost: list[str] = []

    def create_then_lose_the_answer(params):
        made = answer(params)
        if not lost:
            lost.append(made["ServiceSpecificCredential"]["ServiceSpecificCredentialId"])
            error = {"Error": {"Code": "InternalFailure", "Message": "no answer"}}
            raise ClientError(error | {"ResponseMetadata": {"HTTPStatusCode": 500}}, "CreateServiceSpecificCredential")
        return made

    emulator.answer("CreateServiceSpecificCredential", create_then_lose_the_answer)
    result = run_module(iam_service_credential, {"user_name": "dev", "service_name": CODECOMMIT})

    [kept] = listed(iam_client)
    assert result["changed"] is True
    assert len(lost) == 1
    assert kept["ServiceSpecificCredentialId"] != lost[0]
    assert result["service_credential"]["service_specific_credential_id"] == kept["ServiceSpecificCredentialId"]
    assert result["service_password"] == store.secret_of(kept["ServiceSpecificCredentialId"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"service_name": BEDROCK, "reset": True}, "reset: bedrock.amazonaws.com API keys cannot be reset"),
        ({"service_name": CODECOMMIT, "credential_age_days": 30}, "credential_age_days applies only to long-term"),
        ({"service_name": BEDROCK, "credential_age_days": 0}, "credential_age_days must be from 1 to 36600 days"),
        ({}, "service_name is required unless service_specific_credential_id"),
        ({"service_specific_credential_id": "short"}, "service_specific_credential_id 'short' is not a"),
        ({"service_name": CODECOMMIT, "state": "absent", "active": False}, "active applies to state=present only"),
        ({"service_name": CODECOMMIT, "secret_file": "relative.json"}, "secret_file: 'relative.json' must be an"),
        ({"service_name": CODECOMMIT, "user_name": "bad name"}, "user_name 'bad name' may contain only"),
    ],
)
def test_bad_input_fails_naming_the_option_before_any_aws_call(run_module, api_calls, args, message):
    result = run_module(iam_service_credential, {"user_name": "dev", **args})
    assert result["failed"] is True
    assert message in result["msg"]
    assert api_calls == []


def test_a_missing_user_fails_naming_user_name(run_module, store):
    result = run_module(iam_service_credential, {"user_name": "ghost", "service_name": CODECOMMIT})
    assert result["failed"] is True
    assert result["msg"] == "user_name: IAM user ghost does not exist"


def test_an_endpoint_without_the_api_fails_instead_of_creating_blindly(run_module, iam_client, api_calls):
    # moto in-process, not emulated: ListServiceSpecificCredentials raises NotImplementedError.
    iam_client.create_user(UserName="dev")
    api_calls.clear()
    result = run_module(iam_service_credential, {"user_name": "dev", "service_name": CODECOMMIT})
    assert result["failed"] is True
    assert result["error_code"] == "NotImplemented"
    assert "list service-specific credentials of user dev" in result["msg"]
    assert api_calls.mutating == []


def test_iam_user_info_lists_the_users_service_credentials_without_secrets(run_module, store, iam_client):
    git = run_module(iam_service_credential, {"user_name": "dev", "service_name": CODECOMMIT})
    key = run_module(iam_service_credential, {"user_name": "dev", "service_name": BEDROCK, "credential_age_days": 2})

    [user] = run_module(iam_user_info, {"name": "dev"})["users"]

    assert user["service_credentials"] == [
        {k: v for k, v in git["service_credential"].items() if k != "user_name"},
        {k: v for k, v in key["service_credential"].items() if k != "user_name"},
    ]
    assert git["service_password"] not in json.dumps(user)
    assert key["service_credential_secret"] not in json.dumps(user)


def test_iam_user_info_warns_once_when_the_endpoint_lacks_the_api(run_module, iam_client):
    for name in ("a", "b", "c"):
        iam_client.create_user(UserName=name)
    result = run_module(iam_user_info, {})
    assert [user["service_credentials"] for user in result["users"]] == [[], [], []]
    assert len([w for w in result["warnings"] if "service-specific credentials" in json.dumps(w)]) == 1


def test_an_expired_key_named_by_id_is_not_activated(run_module, emulator, iam_client, api_calls):
    iam_client.create_user(UserName="dev")
    clock = [datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)]
    ServiceSpecificCredentials(emulator, now=lambda: clock[0])
    made = iam_client.create_service_specific_credential(UserName="dev", ServiceName=BEDROCK, CredentialAgeDays=1)
    credential_id = made["ServiceSpecificCredential"]["ServiceSpecificCredentialId"]
    clock[0] += datetime.timedelta(days=1)
    api_calls.clear()

    result = run_module(
        iam_service_credential, {"user_name": "dev", "service_specific_credential_id": credential_id, "active": True}
    )

    assert result["failed"] is True
    assert result["msg"].startswith(f"active: service credential {credential_id} has expired")
    assert api_calls.mutating == []
