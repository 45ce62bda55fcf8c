"""_secret_store: the Secrets Manager and SSM sinks against moto in-process (botocore's Stubber for errors)."""

from __future__ import annotations

import datetime
import json
import os
import typing as t

import boto3
import pytest
from botocore.stub import Stubber

from ansible_collections.techsquawks.iam.plugins.module_utils import _delivery, _secret_store

ACCOUNT = "123456789012"
USER_ARN = f"arn:aws:iam::{ACCOUNT}:user/alice"
ADMIN_ARN = f"arn:aws:iam::{ACCOUNT}:role/secrets-admin"
NAME = "iam/alice/access-key"
PARAMETER = "/iam/alice/access-key"


def key_payload(n: int) -> dict[str, str]:
    return {
        "user_name": "alice",
        "access_key_id": f"AKIAEXAMPLE{n:09}",
        "secret_access_key": f"wJalrXUtnFEMI/K7MDENG/{n:018}",
    }


@pytest.fixture
def sm(aws) -> t.Any:
    return boto3.client("secretsmanager", region_name="us-east-1")


@pytest.fixture
def ssm(aws) -> t.Any:
    return boto3.client("ssm", region_name="us-east-1")


@pytest.fixture
def kms_key(aws) -> str:
    return boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["KeyId"]


def secret_sink(client: t.Any, **options: t.Any) -> _secret_store.SecretsManagerSink:
    return _secret_store.SecretsManagerSink(
        client, **{"kind": "access_key", "user_name": "alice", "user_arn": USER_ARN, **options}
    )


def parameter_sink(client: t.Any, **options: t.Any) -> _secret_store.SsmSink:
    return _secret_store.SsmSink(client, **{"kind": "access_key", "user_name": "alice", **options})


def calls(sent: list[tuple[str, dict[str, t.Any]]], operation: str) -> list[dict[str, t.Any]]:
    return [params for name, params in sent if name == operation]


# -- names -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "service", "expected"),
    [
        ("access_key", None, "iam/alice/access-key"),
        ("login_profile", None, "iam/alice/console-password"),
        ("mfa", None, "iam/alice/mfa"),
        ("service_credential", "codecommit.amazonaws.com", "iam/alice/service-codecommit"),
        ("service_credential", "bedrock.amazonaws.com", "iam/alice/service-bedrock"),
    ],
)
def test_default_names_are_prefix_user_and_kind(kind, service, expected):
    assert _secret_store.default_name("iam/", "alice", kind, service) == expected
    assert _secret_store.default_name("/iam/", "alice", kind, service) == "/" + expected


def test_a_prefix_without_a_final_slash_gets_one_and_a_service_credential_needs_its_service():
    assert _secret_store.default_name("team", "alice", "mfa") == "team/alice/mfa"
    with pytest.raises(ValueError, match="needs its service name"):
        _secret_store.default_name("iam/", "alice", "service_credential")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "deliver_to.name must not be empty"),
        ("x" * 513, "deliver_to.name is 513 characters long; Secrets Manager allows at most 512"),
        (
            "iam/a,b/access-key",
            "deliver_to.name 'iam/a,b/access-key' may contain only ASCII letters, digits and /_+=.@- (a secret name); "
            "set the name explicitly for a user whose name has other characters",
        ),
        (
            "iam/alice/key-abc123",
            "deliver_to.name 'iam/alice/key-abc123' ends with a hyphen and six characters, which Secrets Manager "
            "would confuse with the random suffix of a secret's ARN; choose another name",
        ),
    ],
)
def test_secret_names_are_refused_with_the_option_named(name, message):
    assert _secret_store.secret_name_errors("deliver_to.name", name) == [message]


def test_secret_names_of_every_allowed_character_pass():
    assert _secret_store.secret_name_errors("deliver_to.name", "iam/a+b=c.d@e_f-g/x" + "y" * 490) == []
    assert _secret_store.secret_name_errors("deliver_to.name", None) == []


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("iam/alice/mfa", "n 'iam/alice/mfa' must be a hierarchy starting with '/' (such as /iam/alice/access-key)"),
        (
            "/iam/alice@example.com/mfa",
            "n '/iam/alice@example.com/mfa' may contain only ASCII letters, digits and _.- between single slashes, "
            "and must not end with '/'; set the name explicitly for a user whose name has other characters",
        ),
        (
            "/iam//mfa",
            "n '/iam//mfa' may contain only ASCII letters, digits and _.- between single slashes, "
            "and must not end with '/'; set the name explicitly for a user whose name has other characters",
        ),
        (
            "/iam/alice/",
            "n '/iam/alice/' may contain only ASCII letters, digits and _.- between single slashes, "
            "and must not end with '/'; set the name explicitly for a user whose name has other characters",
        ),
        ("/l" * 16, f"n '{'/l' * 16}' has 16 levels; Parameter Store allows at most 15"),
        ("/SSM/alice/mfa", "n '/SSM/alice/mfa' must not begin with 'aws' or 'ssm' (any case), which AWS reserves"),
        ("/awsx", "n '/awsx' must not begin with 'aws' or 'ssm' (any case), which AWS reserves"),
        ("/" + "x" * 947, "n is 948 characters long; at most 947 fit in a parameter's ARN"),
    ],
)
def test_parameter_names_are_refused_with_the_option_named(name, message):
    assert _secret_store.parameter_name_errors("n", name) == [message]


def test_parameter_names_of_fifteen_levels_pass():
    assert _secret_store.parameter_name_errors("n", "/a" * 15) == []
    assert _secret_store.parameter_name_errors("n", "/iam/alice.b_c-d/mfa") == []


def test_recovery_windows_and_readers_are_checked():
    assert _secret_store.recovery_window_errors("w", 0) == []
    assert _secret_store.recovery_window_errors("w", 7) == []
    assert _secret_store.recovery_window_errors("w", 31) == [
        "w is 31; use 0 to delete without recovery, or 7 to 30 days"
    ]
    assert _secret_store.reader_errors("r", [ADMIN_ARN, f"arn:aws:iam::{ACCOUNT}:root"]) == []
    assert _secret_store.reader_errors("r", [f"arn:aws:sts::{ACCOUNT}:assumed-role/admin/s"]) == [
        f"r 'arn:aws:sts::{ACCOUNT}:assumed-role/admin/s' is not the ARN of an IAM user, role or account root "
        "(arn:aws:iam::<account>:user/<name>, :role/<name> or :root; for an assumed role give the role)"
    ]


def test_a_sink_refuses_a_bad_name_before_any_aws_call(api_calls):
    with pytest.raises(ValueError, match="must be a hierarchy starting with '/'"):
        parameter_sink(None, name="iam/alice")
    with pytest.raises(ValueError, match=r"name 'iam/a,b/mfa' may contain only"):
        secret_sink(None, name="iam/a,b/mfa")
    with pytest.raises(ValueError, match="recovery_window_days is 3"):
        secret_sink(None, recovery_window_days=3)
    assert api_calls == []


# -- Secrets Manager -------------------------------------------------------------------------------


def test_create_delivers_the_payload_as_json_with_the_kms_key_tags_and_description(sm, kms_key, sent):
    sink = secret_sink(sm, kms_key_id=kms_key, tags={"team": "platform"})
    assert sink.describe() == {"type": "secretsmanager", "name": NAME, "arn": None}
    assert sink.path == NAME

    arn = sink.deliver(key_payload(1))

    # Locked before it holds a value: the value comes only after the resource policy.
    assert [name for name, _params in sent] == ["DescribeSecret", "CreateSecret", "PutResourcePolicy", "PutSecretValue"]
    assert arn.startswith(f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:{NAME}-")
    assert sink.describe() == {"type": "secretsmanager", "name": NAME, "arn": arn}
    value = sm.get_secret_value(SecretId=NAME)["SecretString"]
    assert value == json.dumps(key_payload(1), sort_keys=True)
    assert list(json.loads(value)) == ["access_key_id", "secret_access_key", "user_name"]
    described = sm.describe_secret(SecretId=NAME)
    assert described["KmsKeyId"] == kms_key
    assert described["Tags"] == [{"Key": "team", "Value": "platform"}]
    assert described["Description"] == "Access key of IAM user alice, delivered by techsquawks.iam"
    (create,) = calls(sent, "CreateSecret")
    assert create["KmsKeyId"] == kms_key
    assert len(create["ClientRequestToken"]) == 36
    assert "SecretString" not in create


def test_a_second_delivery_is_a_new_version_and_the_old_value_is_previous(sm, sent):
    sink = secret_sink(sm)
    sink.deliver(key_payload(1))
    sent.clear()

    sink.deliver(key_payload(2))

    assert [name for name, _params in sent] == ["DescribeSecret", "PutResourcePolicy", "PutSecretValue"]
    versions = sm.list_secret_version_ids(SecretId=NAME)["Versions"]
    assert len(versions) == 2
    assert sorted(stage for version in versions for stage in version["VersionStages"]) == ["AWSCURRENT", "AWSPREVIOUS"]
    assert json.loads(sm.get_secret_value(SecretId=NAME)["SecretString"]) == key_payload(2)
    previous = sm.get_secret_value(SecretId=NAME, VersionStage="AWSPREVIOUS")["SecretString"]
    assert json.loads(previous) == key_payload(1)


def test_the_resource_policy_lets_the_user_and_readers_read_and_denies_everyone_else(sm, sent):
    secret_sink(sm, readers=[ADMIN_ARN, USER_ARN]).deliver(key_payload(1))

    policy = json.loads(sm.get_resource_policy(SecretId=NAME)["ResourcePolicy"])
    allow, deny = policy["Statement"]
    assert allow["Effect"] == "Allow"
    assert allow["Principal"] == {"AWS": [USER_ARN, ADMIN_ARN]}
    assert allow["Action"] == ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    assert deny["Effect"] == "Deny"
    assert deny["Principal"] == "*"
    assert deny["Action"] == "secretsmanager:GetSecretValue"
    assert deny["Condition"] == {"StringNotEquals": {"aws:PrincipalArn": [USER_ARN, ADMIN_ARN]}}
    assert calls(sent, "PutResourcePolicy")[0]["BlockPublicPolicy"] is True


def test_a_user_without_an_arn_is_previewed_but_never_delivered_to(sm, api_calls):
    sink = secret_sink(sm, user_arn=None)  # a user not there yet, in check mode

    assert sink.path == NAME
    with pytest.raises(_secret_store.SecretStoreError, match=r"^secret iam/alice/access-key: the user has no ARN"):
        sink.deliver(key_payload(1))
    assert api_calls == []


def test_a_changed_kms_key_and_missing_tags_are_applied_to_an_existing_secret(sm, kms_key, sent):
    secret_sink(sm).deliver(key_payload(1))
    sent.clear()

    secret_sink(sm, kms_key_id=kms_key, tags={"team": "platform"}).deliver(key_payload(2))

    assert [name for name, _params in sent] == ["DescribeSecret", "TagResource", "PutResourcePolicy", "UpdateSecret"]
    described = sm.describe_secret(SecretId=NAME)
    assert described["KmsKeyId"] == kms_key
    assert described["Tags"] == [{"Key": "team", "Value": "platform"}]
    assert json.loads(sm.get_secret_value(SecretId=NAME)["SecretString"]) == key_payload(2)


def test_remove_schedules_the_deletion_with_the_recovery_window_and_twice_is_a_no_op(sm, sent):
    sink = secret_sink(sm, recovery_window_days=7)
    sink.deliver(key_payload(1))
    sent.clear()

    assert sink.remove(check_mode=True) is True
    assert [name for name, _params in sent] == ["DescribeSecret"]
    assert "DeletedDate" not in sm.describe_secret(SecretId=NAME)

    assert sink.remove(check_mode=False) is True
    assert calls(sent, "DeleteSecret") == [{"SecretId": NAME, "RecoveryWindowInDays": 7}]
    assert isinstance(sm.describe_secret(SecretId=NAME)["DeletedDate"], datetime.datetime)
    sent.clear()

    assert sink.remove(check_mode=False) is False
    assert sink.remove(check_mode=True) is False
    assert [name for name, _params in sent] == ["DescribeSecret", "DescribeSecret"]


def test_a_recovery_window_of_zero_deletes_at_once(sm, sent):
    sink = secret_sink(sm, recovery_window_days=0)
    sink.deliver(key_payload(1))

    assert sink.remove(check_mode=False) is True

    assert calls(sent, "DeleteSecret") == [{"SecretId": NAME, "ForceDeleteWithoutRecovery": True}]
    assert sm.list_secrets()["SecretList"] == []
    assert sink.remove(check_mode=False) is False


def test_removing_a_missing_secret_changes_nothing(sm, api_calls):
    assert secret_sink(sm).remove(check_mode=False) is False
    assert api_calls == ["DescribeSecret"]


def test_re_onboarding_restores_a_secret_scheduled_for_deletion_with_the_new_value(sm, sent):
    sink = secret_sink(sm)
    sink.deliver(key_payload(1))
    sink.remove(check_mode=False)
    sent.clear()

    secret_sink(sm).deliver(key_payload(2))

    assert [name for name, _params in sent] == [
        "DescribeSecret",
        "RestoreSecret",
        "PutResourcePolicy",
        "PutSecretValue",
    ]
    assert "DeletedDate" not in sm.describe_secret(SecretId=NAME)
    assert json.loads(sm.get_secret_value(SecretId=NAME)["SecretString"]) == key_payload(2)


def test_staged_writes_nothing_until_commit(sm, api_calls):
    sink = secret_sink(sm, kind="login_profile")
    payload = {"user_name": "alice", "password": "Correct-Horse-Battery-9", "sign_in_url": "https://x"}

    discarded = sink.stage(payload)
    discarded.discard()
    staged = sink.stage(payload)
    assert api_calls == []

    arn = staged.commit()

    assert arn == sink.arn
    assert json.loads(sm.get_secret_value(SecretId="iam/alice/console-password")["SecretString"]) == payload


def test_a_value_too_large_fails_when_staged_before_any_aws_call(sm, api_calls):
    payload = {"user_name": "alice", "qr_code_png": "A" * 70000}

    with pytest.raises(_delivery.DeliveryError) as raised:
        secret_sink(sm, kind="mfa").stage(payload)

    assert str(raised.value).startswith("the secret for iam/alice/mfa is 70")
    assert str(raised.value).endswith("bytes long; secretsmanager holds at most 65536")
    assert api_calls == []


def test_the_journal_is_written_before_issuing_and_cleared_by_delivery(sm, tmp_path):
    directory = tmp_path / "alice"
    sink = secret_sink(sm, journal_dir=str(directory))

    sink.expect(["AKIAOLD"])

    record = _delivery.read_journal(str(directory), "access_key")
    assert record is not None
    assert record["before"] == ["AKIAOLD"]
    assert record["kind"] == "access_key"
    assert oct(os.stat(_delivery.journal_path(str(directory), "access_key")).st_mode & 0o777) == "0o600"
    assert oct(directory.stat().st_mode & 0o777) == "0o700"
    sink.deliver(key_payload(1))
    assert _delivery.read_journal(str(directory), "access_key") is None


def test_without_a_journal_directory_expect_writes_nothing(sm, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    secret_sink(sm).expect(["AKIAOLD"])
    assert list(tmp_path.iterdir()) == []


def stubbed(service: str) -> tuple[t.Any, Stubber]:
    client = boto3.client(service, region_name="us-east-1")
    return client, Stubber(client)


SECRET_ARN = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:{NAME}-AbCdEf"


def test_access_denied_is_a_delivery_error_naming_the_secret_and_code_and_never_the_value():
    client, stubber = stubbed("secretsmanager")
    payload = key_payload(1)
    stubber.add_response("describe_secret", {"ARN": SECRET_ARN, "Name": NAME}, {"SecretId": NAME})
    stubber.add_response("put_resource_policy", {"ARN": SECRET_ARN, "Name": NAME})
    denied = (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/ops/ansible is not authorized to perform: "
        f"secretsmanager:PutSecretValue on resource: {NAME} because no identity-based policy allows it"
    )
    stubber.add_client_error("put_secret_value", "AccessDeniedException", denied, 400)

    with stubber, pytest.raises(_delivery.DeliveryError) as raised:
        secret_sink(client).deliver(payload)

    assert str(raised.value) == f"Failed to put a new value into secret {NAME}: AccessDeniedException: {denied}"
    assert raised.value.code == "AccessDeniedException"
    assert raised.value.__cause__ is None
    assert payload["secret_access_key"] not in str(raised.value)
    stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    "message",
    [
        "1 validation error detected: Value '{\"access_key_id\": ...' at 'secretString' failed to satisfy constraint",
        "something about wJalrXUtnFEMI/K7MDENG/000000000000000001 went wrong",
    ],
)
def test_an_aws_message_that_may_quote_the_secret_is_withheld(message):
    client, stubber = stubbed("secretsmanager")
    stubber.add_response("describe_secret", {"ARN": SECRET_ARN, "Name": NAME})
    stubber.add_response("put_resource_policy", {"ARN": SECRET_ARN, "Name": NAME})
    stubber.add_client_error("put_secret_value", "ValidationException", message, 400)

    with stubber, pytest.raises(_delivery.DeliveryError) as raised:
        secret_sink(client).deliver(key_payload(1))

    assert str(raised.value) == (
        f"Failed to put a new value into secret {NAME}: ValidationException: "
        "AWS's message is withheld, as it may quote the secret"
    )


def test_a_secret_created_meanwhile_is_used_as_it_is():
    client, stubber = stubbed("secretsmanager")
    stubber.add_client_error("describe_secret", "ResourceNotFoundException", "Secrets Manager can't find it", 400)
    stubber.add_client_error("create_secret", "ResourceExistsException", f"The secret {NAME} already exists.", 400)
    stubber.add_response("describe_secret", {"ARN": SECRET_ARN, "Name": NAME})
    stubber.add_response("put_resource_policy", {"ARN": SECRET_ARN, "Name": NAME})
    stubber.add_response("put_secret_value", {"ARN": SECRET_ARN, "Name": NAME, "VersionId": "v" * 32})

    with stubber:
        assert secret_sink(client).deliver(key_payload(1)) == SECRET_ARN
    stubber.assert_no_pending_responses()


def test_a_failed_describe_names_the_secret_and_code():
    client, stubber = stubbed("secretsmanager")
    stubber.add_client_error("describe_secret", "AccessDeniedException", "not authorized", 400)

    with stubber, pytest.raises(_delivery.DeliveryError, match=rf"^Failed to describe secret {NAME}: "):
        secret_sink(client).remove(check_mode=False)


# -- SSM Parameter Store ---------------------------------------------------------------------------


def test_a_parameter_is_a_securestring_with_the_kms_key_and_tags(ssm, kms_key, sent):
    sink = parameter_sink(ssm, kms_key_id=kms_key, tags={"team": "platform"})

    assert sink.deliver(key_payload(1)) == PARAMETER

    parameter = ssm.get_parameter(Name=PARAMETER, WithDecryption=True)["Parameter"]
    assert parameter["Type"] == "SecureString"
    assert parameter["Version"] == 1
    assert parameter["Value"] == json.dumps(key_payload(1), sort_keys=True)
    (metadata,) = ssm.describe_parameters()["Parameters"]
    assert metadata["KeyId"] == kms_key
    assert metadata["Tier"] == "Standard"
    assert metadata["Description"] == "Access key of IAM user alice, delivered by techsquawks.iam"
    tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=PARAMETER)["TagList"]
    assert tags == [{"Key": "team", "Value": "platform"}]
    (put,) = calls(sent, "PutParameter")
    assert "Overwrite" not in put
    assert sink.describe() == {"type": "ssm", "name": PARAMETER}


def test_a_second_delivery_overwrites_as_version_2_and_adds_tags_separately(ssm, sent):
    parameter_sink(ssm).deliver(key_payload(1))
    sent.clear()

    parameter_sink(ssm, tags={"team": "platform"}).deliver(key_payload(2))

    parameter = ssm.get_parameter(Name=PARAMETER, WithDecryption=True)["Parameter"]
    assert parameter["Version"] == 2
    assert json.loads(parameter["Value"]) == key_payload(2)
    (put,) = calls(sent, "PutParameter")
    assert put["Overwrite"] is True
    assert "Tags" not in put
    assert calls(sent, "AddTagsToResource") == [
        {"ResourceType": "Parameter", "ResourceId": PARAMETER, "Tags": [{"Key": "team", "Value": "platform"}]}
    ]
    tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=PARAMETER)["TagList"]
    assert tags == [{"Key": "team", "Value": "platform"}]


def test_a_value_over_4096_bytes_is_advanced_and_stays_advanced(ssm, sent):
    sink = parameter_sink(ssm, kind="mfa")
    big = {"user_name": "alice", "qr_code_png": "A" * 5000}

    sink.deliver(big)
    sink.deliver({"user_name": "alice", "otpauth_uri": "otpauth://totp/x"})

    assert [params.get("Tier") for params in calls(sent, "PutParameter")] == ["Advanced", "Advanced"]
    assert ssm.describe_parameters()["Parameters"][0]["Tier"] == "Advanced"


def test_a_small_value_is_standard_and_a_value_over_8192_bytes_is_refused(ssm, api_calls):
    sink = parameter_sink(ssm, kind="mfa")
    with pytest.raises(_delivery.DeliveryError, match=r"^the secret for /iam/alice/mfa is 9\d{3} bytes long; ssm"):
        sink.deliver({"user_name": "alice", "qr_code_png": "A" * 9000})
    assert api_calls == []


def test_removing_a_parameter_is_idempotent_and_check_mode_deletes_nothing(ssm, sent):
    sink = parameter_sink(ssm)
    sink.deliver(key_payload(1))
    sent.clear()

    assert sink.remove(check_mode=True) is True
    assert [name for name, _params in sent] == ["DescribeParameters"]
    assert sink.remove(check_mode=False) is True
    assert ssm.describe_parameters()["Parameters"] == []
    assert sink.remove(check_mode=False) is False
    assert sink.remove(check_mode=True) is False


def test_a_parameter_created_meanwhile_is_overwritten():
    client, stubber = stubbed("ssm")
    stubber.add_response("describe_parameters", {"Parameters": []})
    stubber.add_client_error("put_parameter", "ParameterAlreadyExists", "The parameter already exists.", 400)
    stubber.add_response("put_parameter", {"Version": 2, "Tier": "Standard"})

    with stubber:
        assert parameter_sink(client).deliver(key_payload(1)) == PARAMETER
    stubber.assert_no_pending_responses()


def test_a_refused_parameter_value_is_an_error_without_the_value():
    client, stubber = stubbed("ssm")
    payload = key_payload(1)
    quoted = f"1 validation error detected: Value '{json.dumps(payload)}' at 'value' failed to satisfy constraint"
    stubber.add_response("describe_parameters", {"Parameters": []})
    stubber.add_client_error("put_parameter", "ValidationException", quoted, 400)

    with stubber, pytest.raises(_delivery.DeliveryError) as raised:
        parameter_sink(client).deliver(payload)

    assert str(raised.value) == (
        f"Failed to put parameter {PARAMETER}: ValidationException: "
        "AWS's message is withheld, as it may quote the secret"
    )
    assert raised.value.code == "ValidationException"


def test_a_parameter_delete_refused_names_the_parameter_and_code():
    client, stubber = stubbed("ssm")
    stubber.add_client_error("delete_parameter", "AccessDeniedException", "not authorized to ssm:DeleteParameter", 400)

    with stubber, pytest.raises(_delivery.DeliveryError) as raised:
        parameter_sink(client).remove(check_mode=False)

    assert str(raised.value) == (
        f"Failed to delete parameter {PARAMETER}: AccessDeniedException: not authorized to ssm:DeleteParameter"
    )
