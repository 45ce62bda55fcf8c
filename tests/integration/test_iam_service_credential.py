"""iam_service_credential and iam_user_info driven by ansible-playbook through the proxy, whose stand-in keeps the
service-specific credentials moto lacks; state read back through IAM's API (boto3 via the proxy) and the stand-in."""

from __future__ import annotations

import datetime
import json
import stat
import typing as t
from pathlib import Path

import boto3
import pytest

from tests.aws_proxy import CountingProxy, issued_secrets
from tests.integration.conftest import PlaybookRunner

USER = "git-user"
CODECOMMIT = "codecommit.amazonaws.com"
BEDROCK = "bedrock.amazonaws.com"


@pytest.fixture
def user(iam: t.Any) -> str:
    iam.create_user(UserName=USER)
    return USER


@pytest.fixture
def proxied_iam(aws_proxy: CountingProxy) -> t.Any:
    """IAM through the proxy: the service-specific credential API that moto lacks, as a reader of its own."""
    return boto3.client(
        "iam",
        endpoint_url=aws_proxy.endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


class Converge:
    """Runs converge.yml through the proxy and returns (the run, the module's result)."""

    def __init__(self, ansible_playbook: PlaybookRunner, target: t.Any, proxy: CountingProxy, tmp_path: Path):
        self.run_playbook, self.playbook, self.proxy = (
            ansible_playbook,
            target("iam_service_credential", "converge.yml"),
            proxy,
        )
        self.result_file = tmp_path / "result.json"
        self.info = target("iam_service_credential", "info.yml")

    def __call__(self, *args: str, **extra: t.Any) -> tuple[t.Any, dict[str, t.Any]]:
        self.result_file.unlink(missing_ok=True)
        run = self.run_playbook(
            self.playbook,
            *args,
            endpoint=self.proxy.endpoint,
            extra_vars={"user_name": USER, "result_file": str(self.result_file), **extra},
        )
        return run, json.loads(self.result_file.read_text())

    def user_info(self) -> tuple[t.Any, dict[str, t.Any]]:
        self.result_file.unlink(missing_ok=True)
        run = self.run_playbook(
            self.info,
            endpoint=self.proxy.endpoint,
            extra_vars={"user_name": USER, "result_file": str(self.result_file)},
        )
        return run, json.loads(self.result_file.read_text())


@pytest.fixture
def converge(ansible_playbook, target, aws_proxy, tmp_path) -> Converge:
    return Converge(ansible_playbook, target, aws_proxy, tmp_path)


def statuses(proxied_iam: t.Any) -> dict[str, str]:
    listed = proxied_iam.list_service_specific_credentials(UserName=USER)["ServiceSpecificCredentials"]
    return {c["ServiceSpecificCredentialId"]: c["Status"] for c in listed}


def test_codecommit_credential_lifecycle_delivered_to_a_file(
    converge: Converge, aws_proxy: CountingProxy, proxied_iam: t.Any, user: str, tmp_path: Path
) -> None:
    secret_file = tmp_path / "git" / "credential.json"
    options = {"service_name": CODECOMMIT, "secret_file": str(secret_file)}

    predicted, result = converge("--check", "--diff", **options)
    assert predicted.recap()["changed"] == 1
    assert predicted.mutating_calls == []
    assert result["service_credential"]["service_specific_credential_id"] is None
    assert aws_proxy.service_credentials.ids() == []
    assert not secret_file.exists()

    created, result = converge("-v", **options)  # -v prints the result: the secret must not be in it
    assert created.recap()["changed"] == 1
    assert created.mutating_calls == ["iam CreateServiceSpecificCredential"]
    credential_id = result["service_credential"]["service_specific_credential_id"]
    delivered = json.loads(secret_file.read_text())
    password = delivered["service_password"]
    assert delivered["service_specific_credential_id"] == credential_id
    assert delivered["service_user_name"] == f"{USER}-at-123456789012"
    assert password == aws_proxy.service_credentials.secret_of(credential_id)
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert "service_password" not in result
    assert password not in created.output
    assert credential_id in created.stdout
    assert statuses(proxied_iam) == {credential_id: "Active"}

    again, result = converge(**options)
    assert again.recap()["changed"] == 0
    assert again.mutating_calls == []
    assert result["service_credential"]["service_specific_credential_id"] == credential_id
    assert json.loads(secret_file.read_text())["service_password"] == password

    preview = converge("--check", "--diff", reset=True, **options)[0]
    assert preview.recap()["changed"] == 1
    assert preview.mutating_calls == []
    assert "(new, not shown)" in preview.stdout
    assert aws_proxy.service_credentials.secret_of(credential_id) == password

    reset, result = converge("-v", "--diff", reset=True, **options)
    assert reset.recap()["changed"] == 1
    assert reset.mutating_calls == ["iam ResetServiceSpecificCredential"]
    new_password = json.loads(secret_file.read_text())["service_password"]
    assert new_password == aws_proxy.service_credentials.secret_of(credential_id) != password
    assert new_password not in reset.output
    assert [secret.value for secret in issued_secrets(aws_proxy.exchanges())] == [password, new_password]

    deactivated, result = converge(active=False, **options)
    assert deactivated.recap()["changed"] == 1
    assert deactivated.mutating_calls == ["iam UpdateServiceSpecificCredential"]
    assert result["service_credential"]["status"] == "Inactive"
    assert statuses(proxied_iam) == {credential_id: "Inactive"}
    assert converge(active=False, **options)[0].recap()["changed"] == 0

    info_run, info = converge.user_info()
    assert info["users"][0]["service_credentials"] == [
        {
            "service_specific_credential_id": credential_id,
            "service_name": CODECOMMIT,
            "service_user_name": f"{USER}-at-123456789012",
            "service_credential_alias": None,
            "status": "Inactive",
            "create_date": result["service_credential"]["create_date"],
            "expiration_date": None,
        }
    ]
    assert new_password not in info_run.output
    assert "[WARNING]" not in info_run.output  # no "not implemented by this endpoint"

    removed, result = converge(service_name=CODECOMMIT, state="absent")
    assert removed.recap()["changed"] == 1
    assert result["deleted"] == [credential_id]
    assert statuses(proxied_iam) == {}
    assert converge(service_name=CODECOMMIT, state="absent")[0].mutating_calls == []


def test_bedrock_api_key_expires_after_credential_age_days_and_its_secret_is_returned_once(
    converge: Converge, aws_proxy: CountingProxy, proxied_iam: t.Any, user: str
) -> None:
    options = {"service_name": BEDROCK, "credential_age_days": 30}

    created, result = converge("-v", **options)
    credential = result["service_credential"]
    made = datetime.datetime.fromisoformat(credential["create_date"])
    assert datetime.datetime.fromisoformat(credential["expiration_date"]) - made == datetime.timedelta(days=30)
    assert credential["service_credential_alias"].startswith("BedrockAPIKey-")
    secret = result["service_credential_secret"]
    assert secret == aws_proxy.service_credentials.secret_of(credential["service_specific_credential_id"])
    assert secret not in created.output
    [sent] = [exchange.call.params for exchange in aws_proxy.exchanges("CreateServiceSpecificCredential")]
    assert sent["CredentialAgeDays"] == "30"

    again, result = converge(**options)
    assert again.recap()["changed"] == 0
    assert again.mutating_calls == []
    assert "service_credential_secret" not in result


def test_a_lost_create_answer_leaves_exactly_the_delivered_credential(
    converge: Converge, aws_proxy: CountingProxy, proxied_iam: t.Any, user: str, tmp_path: Path
) -> None:
    secret_file = tmp_path / "credential.json"
    aws_proxy.drop_response("CreateServiceSpecificCredential", nth=1)

    run, result = converge(service_name=CODECOMMIT, secret_file=str(secret_file))

    assert [exchange.outcome for exchange in aws_proxy.exchanges("CreateServiceSpecificCredential")] == [
        "dropped",
        "forwarded",
    ]
    credential_id = result["service_credential"]["service_specific_credential_id"]
    # The credential the lost answer created was deleted again; the one left is the one delivered.
    assert statuses(proxied_iam) == {credential_id: "Active"}
    assert json.loads(secret_file.read_text())["service_password"] == aws_proxy.service_credentials.secret_of(
        credential_id
    )
    assert aws_proxy.mutating_counts()["DeleteServiceSpecificCredential"] == 1
    assert run.recap()["changed"] == 1


def test_the_stand_in_follows_the_upstream_user_and_answers_as_iam_does(
    aws_proxy: CountingProxy, proxied_iam: t.Any, iam: t.Any, user: str
) -> None:
    with pytest.raises(proxied_iam.exceptions.NoSuchEntityException):
        proxied_iam.create_service_specific_credential(UserName="ghost", ServiceName=CODECOMMIT)
    for _attempt in range(2):
        proxied_iam.create_service_specific_credential(UserName=USER, ServiceName=CODECOMMIT)
    with pytest.raises(proxied_iam.exceptions.LimitExceededException):
        proxied_iam.create_service_specific_credential(UserName=USER, ServiceName=CODECOMMIT)
    with pytest.raises(proxied_iam.exceptions.ServiceNotSupportedException):
        proxied_iam.create_service_specific_credential(UserName=USER, ServiceName="s3.amazonaws.com")
    page = proxied_iam.list_service_specific_credentials(UserName=USER, MaxItems=1)
    assert page["IsTruncated"] is True
    assert len(page["ServiceSpecificCredentials"]) == 1
    # Counted as changes the stand-in made, never as moto's; its lookups of the user are not counted at all.
    assert aws_proxy.mutating_counts() == {"CreateServiceSpecificCredential": 5}
    assert "GetUser" not in aws_proxy.counts()

    # The same name created again upstream is another user: it has no credentials.
    iam.delete_user(UserName=USER)
    iam.create_user(UserName=USER)
    assert statuses(proxied_iam) == {}
