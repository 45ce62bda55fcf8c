"""The aws_accounts inventory plugin, run by ansible-inventory and ansible-playbook against moto_server."""

from __future__ import annotations

import json
import subprocess
import typing as t
from pathlib import Path

import boto3
import pytest
import yaml

from tests.integration.conftest import FAKE_CREDENTIALS, ROOT, VENV_BIN
from tests.integration.test_onboarding import iam_in_account, recaps

PLUGIN = "techsquawks.iam.aws_accounts"
MANAGEMENT = "123456789012"  # moto's default account, the organization's management account
ONBOARD = ROOT / "playbooks" / "onboard.yml"


def plain(value: t.Any) -> t.Any:
    """ansible-inventory's JSON without its trust markers: strings from AWS come as {"__ansible_unsafe": "..."}."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


@pytest.fixture
def organization(moto) -> dict[str, t.Any]:
    """An organization on moto_server, made through its endpoint: two accounts in prod/eu, one in sandbox."""
    client = boto3.client("organizations", endpoint_url=moto.endpoint, region_name="us-east-1", **_keys())
    client.create_organization(FeatureSet="ALL")
    root = client.list_roots()["Roots"][0]["Id"]
    prod = client.create_organizational_unit(ParentId=root, Name="prod")["OrganizationalUnit"]["Id"]
    eu = client.create_organizational_unit(ParentId=prod, Name="eu")["OrganizationalUnit"]["Id"]
    accounts = {"master": MANAGEMENT}
    for name, parent, env in (("Payments Prod", prod, "prod"), ("Payments EU", eu, "prod"), ("Sandbox", root, "dev")):
        status = client.create_account(
            AccountName=name, Email=f"{name.replace(' ', '')}@example.com", Tags=[{"Key": "env", "Value": env}]
        )["CreateAccountStatus"]
        if parent != root:
            client.move_account(AccountId=status["AccountId"], SourceParentId=root, DestinationParentId=parent)
        accounts[name] = status["AccountId"]
    return {"root": root, "prod": prod, "accounts": accounts}


def _keys() -> dict[str, str]:
    return {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def write_config(path: Path, **options: t.Any) -> Path:
    path.write_text(yaml.safe_dump({"plugin": PLUGIN, **options}))
    return path


def inventory_env(moto) -> dict[str, str]:
    """No ansible.cfg: the environment enables only this plugin and makes a source it cannot parse an error."""
    return {
        "PATH": f"{VENV_BIN}:/usr/bin:/bin",
        "HOME": str(Path.home()),
        **FAKE_CREDENTIALS,
        "AWS_ENDPOINT_URL": moto.endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "ANSIBLE_COLLECTIONS_PATH": str(ROOT / ".tmp" / "collections"),
        "ANSIBLE_INVENTORY_ENABLED": PLUGIN,
        "ANSIBLE_INVENTORY_UNPARSED_FAILED": "1",
        "ANSIBLE_NOCOLOR": "1",
    }


def ansible_inventory(moto, config: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(VENV_BIN / "ansible-inventory"), "-i", str(config), *args],
        env=inventory_env(moto),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_ansible_inventory_lists_every_active_account_with_its_connection(moto, organization, tmp_path):
    config = write_config(
        tmp_path / "org.aws_accounts.yml",
        read_tags=True,
        keyed_groups=[{"key": "aws_account_tags.env | default('none')", "prefix": "env"}],
    )

    done = ansible_inventory(moto, config, "--list")

    assert done.returncode == 0, done.stderr
    listed = plain(json.loads(done.stdout))
    accounts = organization["accounts"]
    assert sorted(listed["aws_accounts"]["hosts"]) == ["master", "payments-eu", "payments-prod", "sandbox"]
    assert sorted(listed["env_prod"]["hosts"]) == ["payments-eu", "payments-prod"]
    assert listed["env_none"]["hosts"] == ["master"]
    hostvars = listed["_meta"]["hostvars"]
    assert hostvars["payments-eu"] == {
        "aws_account_id": accounts["Payments EU"],
        "aws_account_name": "Payments EU",
        "aws_account_email": "PaymentsEU@example.com",
        "aws_account_tags": {"env": "prod"},
        "aws_role_arn": f"arn:aws:iam::{accounts['Payments EU']}:role/OrganizationAccountAccessRole",
        "aws_region": "us-east-1",
        "aws_endpoint_url": moto.endpoint,
        "ansible_connection": "local",
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
    }
    # The management account is reached with the inventory's own credentials, without a role.
    assert "aws_role_arn" not in hostvars["master"]
    assert hostvars["master"]["aws_account_id"] == MANAGEMENT


def test_ansible_inventory_graph_of_one_ou_and_below(moto, organization, tmp_path):
    config = write_config(
        tmp_path / "prod.aws_accounts.yaml",
        role_name="iam-onboarding",
        filters={"organizational_units": [organization["prod"]]},
    )

    done = ansible_inventory(moto, config, "--graph")

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "@all:",
        "  |--@ungrouped:",
        "  |--@aws_accounts:",
        "  |  |--payments-eu",
        "  |  |--payments-prod",
    ]


def test_ansible_inventory_fails_with_the_aws_error_code_without_an_organization(moto, tmp_path):
    done = ansible_inventory(moto, write_config(tmp_path / "org.aws_accounts.yml"), "--list")

    assert done.returncode != 0
    assert "Failed to describe the organization" in done.stderr
    assert "AWSOrganizationsNotInUseException" in done.stderr


def test_a_playbook_over_the_inventory_reaches_each_account_through_its_role(
    ansible_playbook, moto, organization, iam, target, tmp_path
):
    # One marker user per account, each made in its own account (moto keeps one IAM per account).
    for account_id in organization["accounts"].values():
        client = iam if account_id == MANAGEMENT else iam_in_account(moto.endpoint, account_id)
        client.create_user(UserName=f"marker-{account_id}")
    config = write_config(tmp_path / "org.aws_accounts.yml")
    enabled = {"ANSIBLE_INVENTORY_ENABLED": f"host_list,{PLUGIN}", "ANSIBLE_INVENTORY_UNPARSED_FAILED": "1"}

    result = ansible_playbook(
        target("aws_accounts", "users_per_account.yml"), "-i", str(config), "-f", "4", env=enabled
    )

    assert set(recaps(result)) == {"master", "payments-eu", "payments-prod", "sandbox"}
    assert all(counters["failed"] == 0 and counters["ok"] == 2 for counters in recaps(result).values())
    for name in ("Payments EU", "Payments Prod", "Sandbox"):
        account_id = organization["accounts"][name]
        assert f"reached arn:aws:iam::{account_id}:user/marker-{account_id}" in result.stdout
    assert f"reached arn:aws:iam::{MANAGEMENT}:user/marker-{MANAGEMENT}" in result.stdout


def test_the_onboarding_playbook_onboards_the_roster_into_every_account(
    ansible_playbook, moto, organization, iam, tmp_path
):
    config = write_config(
        tmp_path / "org.aws_accounts.yml",
        compose={"onboarding_credentials_dir": f"'{tmp_path}/credentials/' ~ inventory_hostname"},
    )
    roster = {"onboarding_users": [{"name": "alice", "access_key": True}]}
    enabled = {"ANSIBLE_INVENTORY_ENABLED": f"host_list,{PLUGIN}", "ANSIBLE_INVENTORY_UNPARSED_FAILED": "1"}

    result = ansible_playbook(ONBOARD, "-i", str(config), "-f", "4", extra_vars=roster, env=enabled)

    assert set(recaps(result)) == {"master", "payments-eu", "payments-prod", "sandbox"}
    assert [user["UserName"] for user in iam.list_users()["Users"]] == ["alice"]
    for name in ("Payments EU", "Payments Prod", "Sandbox"):
        member = iam_in_account(moto.endpoint, organization["accounts"][name])
        assert [user["UserName"] for user in member.list_users()["Users"]] == ["alice"]
    for host in ("master", "payments-eu", "payments-prod", "sandbox"):
        assert (tmp_path / "credentials" / host / "alice" / "credentials").exists()
