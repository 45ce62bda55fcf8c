"""_aws: sessions from the connection options (botocore only), explicit keys, profiles and an assumed role."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ansible_collections.techsquawks.iam.plugins.module_utils._aws import (
    AWSConnectionError,
    build_session,
    create_client,
)

COLLECTIONS = Path(__file__).resolve().parents[4] / ".tmp" / "collections"


def test_a_missing_profile_fails_naming_the_option():
    with pytest.raises(AWSConnectionError, match=r"^profile: .*no-such-profile"):
        build_session({"profile": "no-such-profile"})


def test_explicit_keys_win_over_the_environment():
    session = build_session({"access_key": "AKIDEXPLICIT", "secret_key": "explicit-secret"})
    assert session.get_credentials().access_key == "AKIDEXPLICIT"


@pytest.mark.parametrize(
    ("given", "missing"), [({"access_key": "AKIDEXPLICIT"}, "secret_key"), ({"secret_key": "s3cret"}, "access_key")]
)
def test_half_a_key_pair_fails_naming_the_missing_option(given, missing):
    with pytest.raises(AWSConnectionError, match=rf"^{missing}: access_key and secret_key are given together"):
        build_session(given)


def test_role_arn_signs_with_the_assumed_roles_credentials(aws):
    session = build_session({"role_arn": "arn:aws:iam::111111111111:role/iam-onboarding", "region": "us-east-1"})
    sts = create_client(session, "sts", {"region": "us-east-1"})

    identity = sts.get_caller_identity()

    assert identity["Account"] == "111111111111"
    assert ":assumed-role/iam-onboarding/techsquawks-iam" in identity["Arn"]


def test_a_module_invocation_never_imports_boto3(tmp_path):
    # boto3 (and the s3transfer it imports) would only cost every module invocation time.
    code = (
        "import sys; from ansible_collections.techsquawks.iam.plugins.module_utils import _aws, _user; "
        "_aws.create_client(_aws.build_session({}), 'iam', {}); "
        "print(sorted(m for m in sys.modules if m.startswith(('boto3', 's3transfer'))))"
    )
    env = {"PYTHONPATH": str(COLLECTIONS), "HOME": str(tmp_path), "AWS_CONFIG_FILE": str(tmp_path / "config")}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
