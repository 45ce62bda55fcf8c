"""_service_credential: the roster helper and validation, against moto in-process with the credentials emulated."""

from __future__ import annotations

import json

import boto3
import pytest

from ansible_collections.techsquawks.iam.plugins.module_utils import _delivery, _service_credential
from ansible_collections.techsquawks.iam.plugins.module_utils._iam import IAM, CheckModeViolation
from ansible_collections.techsquawks.iam.plugins.module_utils._module import ModuleFailure
from tests.iam_service_credentials import BEDROCK, CASSANDRA, CODECOMMIT
from tests.unit.emulate import ServiceSpecificCredentials


@pytest.fixture
def store(emulator, iam_client) -> ServiceSpecificCredentials:
    iam_client.create_user(UserName="dev")
    return ServiceSpecificCredentials(emulator)


def iam(check_mode: bool = False) -> IAM:
    return IAM(boto3.client("iam", region_name="us-east-1"), check_mode=check_mode)


def test_ensure_services_delivers_each_listed_service_and_a_rerun_changes_nothing(store, tmp_path, api_calls):
    services = [CODECOMMIT, {"service_name": BEDROCK, "credential_age_days": 90}]
    files = {CODECOMMIT: tmp_path / "dev" / "codecommit.json"}

    def destination_for(service: str) -> _delivery.Destination | None:
        path = files.get(service)
        return _delivery.Destination(str(path), "service_credential") if path else None

    predicted = _service_credential.ensure_services(
        iam(check_mode=True), check_mode=True, user_name="dev", services=services, destination_for=destination_for
    )
    assert predicted.changed is True
    assert predicted.created == [
        f"service credential (new) ({CODECOMMIT})",
        f"service credential (new) ({BEDROCK})",
    ]
    assert predicted.delivered == []
    assert api_calls.mutating == []
    assert not files[CODECOMMIT].exists()

    applied = _service_credential.ensure_services(
        iam(), check_mode=False, user_name="dev", services=services, destination_for=destination_for
    )
    assert applied.changed is True
    assert applied.delivered == [str(files[CODECOMMIT])]
    git = json.loads(files[CODECOMMIT].read_text())
    assert git["service_password"] == store.secret_of(git["service_specific_credential_id"])
    bedrock = applied.result["service_credentials"][BEDROCK]
    key_id = bedrock["service_credential"]["service_specific_credential_id"]
    # No destination for this service: its secret is in the result, for the engine to decide.
    assert bedrock["service_credential_secret"] == store.secret_of(key_id)
    assert "service_password" not in applied.result["service_credentials"][CODECOMMIT]
    assert set(applied.after) == {CODECOMMIT, BEDROCK}
    assert json.dumps(applied.after).count("(new, not shown)") == 2
    assert git["service_password"] not in json.dumps([applied.before, applied.after, applied.created])

    api_calls.clear()
    again = _service_credential.ensure_services(
        iam(), check_mode=False, user_name="dev", services=services, destination_for=destination_for
    )
    assert again.changed is False
    assert again.created == again.updated == again.delivered == []
    assert api_calls == ["ListServiceSpecificCredentials"]


def test_ensure_services_sets_the_status_of_each_service(store, iam_client):
    iam_client.create_service_specific_credential(UserName="dev", ServiceName=CASSANDRA)
    outcome = _service_credential.ensure_services(
        iam(),
        check_mode=False,
        user_name="dev",
        services=[{"service_name": CASSANDRA, "active": False}],
        destination_for=lambda service: None,
    )
    assert outcome.updated[0].endswith(f"({CASSANDRA}, deactivated)")
    listed = iam_client.list_service_specific_credentials(UserName="dev")["ServiceSpecificCredentials"]
    assert [c["Status"] for c in listed] == ["Inactive"]


def test_ensure_services_predicts_for_a_user_that_does_not_exist_yet_in_check_mode(store, api_calls):
    outcome = _service_credential.ensure_services(
        iam(check_mode=True),
        check_mode=True,
        user_name="newcomer",
        services=[CODECOMMIT],
        destination_for=lambda s: None,
    )
    assert outcome.before == {CODECOMMIT: []}
    assert outcome.changed is True
    with pytest.raises(ModuleFailure, match="user_name: IAM user newcomer does not exist"):
        _service_credential.ensure_services(
            iam(), check_mode=False, user_name="newcomer", services=[CODECOMMIT], destination_for=lambda s: None
        )
    assert api_calls.mutating == []


def test_check_mode_never_reaches_a_mutating_verb(store, iam_client):
    iam_client.create_service_specific_credential(UserName="dev", ServiceName=CODECOMMIT)
    credentials = _service_credential.read(iam(), "dev")
    verbs = iam(check_mode=True)
    outcome = _service_credential.ensure_present(
        verbs, check_mode=True, user_name="dev", service_name=CODECOMMIT, credentials=credentials, reset=True
    )
    assert outcome.changed is True
    with pytest.raises(CheckModeViolation):
        verbs.reset_service_specific_credential("dev", credentials[0]["ServiceSpecificCredentialId"])


def test_active_true_without_an_id_activates_the_newest_only_when_none_is_active(store, iam_client):
    for _attempt in range(2):
        iam_client.create_service_specific_credential(UserName="dev", ServiceName=CODECOMMIT)
    older, newer = (c["ServiceSpecificCredentialId"] for c in _service_credential.read(iam(), "dev"))
    for credential_id in (older, newer):
        iam_client.update_service_specific_credential(
            UserName="dev", ServiceSpecificCredentialId=credential_id, Status="Inactive"
        )

    def ensure(active: bool):
        return _service_credential.ensure_present(
            iam(),
            check_mode=False,
            user_name="dev",
            service_name=CODECOMMIT,
            credentials=_service_credential.read(iam(), "dev"),
            active=active,
        )

    on = ensure(True)
    assert on.updated == [f"service credential {newer} ({CODECOMMIT}, activated)"]
    assert on.result["service_credential"]["service_specific_credential_id"] == newer
    assert ensure(True).changed is False
    iam_client.update_service_specific_credential(UserName="dev", ServiceSpecificCredentialId=older, Status="Active")
    off = ensure(False)
    assert sorted(off.updated) == sorted(
        f"service credential {credential_id} ({CODECOMMIT}, deactivated)" for credential_id in (older, newer)
    )


def test_an_id_of_another_service_is_refused_naming_both(store, iam_client):
    iam_client.create_service_specific_credential(UserName="dev", ServiceName=CASSANDRA)
    credentials = _service_credential.read(iam(), "dev")
    credential_id = credentials[0]["ServiceSpecificCredentialId"]
    with pytest.raises(ModuleFailure, match=f"{credential_id} is a credential for {CASSANDRA}, not for service_name"):
        _service_credential.ensure_absent(
            iam(),
            check_mode=False,
            credentials=credentials,
            user_name="dev",
            service_name=CODECOMMIT,
            credential_id=credential_id,
        )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("codecommit.amazonaws.com", "service_credentials must be a list"),
        (["s3.amazonaws.com"], "service_credentials[0].service_name must be one of"),
        (
            [CODECOMMIT, {"service_name": CODECOMMIT}],
            "service_credentials[1].service_name codecommit.amazonaws.com is listed twice",
        ),
        ([{"service_name": CODECOMMIT, "reset": True}], "service_credentials[0] has unknown keys reset"),
        ([{"service_name": CODECOMMIT, "credential_age_days": 5}], "credential_age_days applies only to long-term"),
        ([{"service_name": BEDROCK, "credential_age_days": "soon"}], "must be a whole number of days"),
        ([{"service_name": BEDROCK, "active": "yes"}], "service_credentials[0].active must be true or false"),
        ([42], "service_credentials[0] must be a service name or a dict"),
    ],
)
def test_services_errors_name_the_entry(value, message):
    errors = _service_credential.services_errors("service_credentials", value)
    assert any(message in error for error in errors), errors


def test_valid_services_normalize_to_specs():
    value = [CODECOMMIT, {"service_name": BEDROCK, "active": True, "credential_age_days": 30}]
    assert _service_credential.services_errors("service_credentials", value) == []
    assert _service_credential.normalize_services(value) == [
        _service_credential.ServiceSpec(CODECOMMIT),
        _service_credential.ServiceSpec(BEDROCK, True, 30),
    ]


def test_the_text_format_holds_only_the_secret(tmp_path):
    path = tmp_path / "key.txt"
    destination = _delivery.Destination(str(path), "service_credential", "text")
    destination.deliver({"user_name": "dev", "service_name": BEDROCK, "service_credential_secret": "ABSK-secret"})
    assert path.read_text() == "ABSK-secret\n"
