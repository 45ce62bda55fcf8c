"""aws_accounts inventory plugin: the real plugin, loaded by ansible's plugin loader, against moto's Organizations."""

from __future__ import annotations

import dataclasses
import types
import typing as t

import boto3
import pytest
import yaml

from ansible_collections.techsquawks.iam.plugins.module_utils import _organizations

PLUGIN = "techsquawks.iam.aws_accounts"
MANAGEMENT = "123456789012"  # moto's default account: the organization's management account


@pytest.fixture(scope="module", autouse=True)
def controller(controller_imports: t.Callable[[], t.ContextManager[None]]) -> t.Iterator[types.SimpleNamespace]:
    """Ansible's controller side: its plugin loader and the classes the tests use, for this file's tests only.

    Importing ansible's controller code marks the whole process as the controller, after which in-process module
    runs (the other test files in this worker) would send their warnings to the display instead of their results:
    the imports happen here, not at collection time, and the mark is undone afterwards. The plugin loader finds
    the plugin through ansible's collection finder, put in charge by controller_imports.
    """
    with controller_imports():
        from ansible.errors import AnsibleError, AnsibleParserError
        from ansible.inventory.data import InventoryData
        from ansible.parsing.dataloader import DataLoader
        from ansible.plugins.loader import inventory_loader

        yield types.SimpleNamespace(
            AnsibleError=AnsibleError,
            AnsibleParserError=AnsibleParserError,
            InventoryData=InventoryData,
            DataLoader=DataLoader,
            inventory_loader=inventory_loader,
        )


@dataclasses.dataclass
class Org:
    """An organization in moto: root/prod/eu (nested OUs), root/sandbox, accounts in each."""

    client: t.Any
    root: str
    prod: str
    eu: str
    sandbox: str
    accounts: dict[str, str]  # account name -> id

    def add(self, name: str, parent: str | None = None, **tags: str) -> str:
        tag_list = [{"Key": key, "Value": value} for key, value in tags.items()]
        email = f"{name.replace(' ', '')}@example.com"
        status = self.client.create_account(AccountName=name, Email=email, Tags=tag_list)
        account_id = status["CreateAccountStatus"]["AccountId"]
        if parent:
            self.client.move_account(AccountId=account_id, SourceParentId=self.root, DestinationParentId=parent)
        self.accounts[name] = account_id
        return account_id


@pytest.fixture
def org(aws) -> Org:
    client = boto3.client("organizations", region_name="us-east-1")
    client.create_organization(FeatureSet="ALL")
    root = client.list_roots()["Roots"][0]["Id"]
    prod = client.create_organizational_unit(ParentId=root, Name="prod")["OrganizationalUnit"]["Id"]
    eu = client.create_organizational_unit(ParentId=prod, Name="eu")["OrganizationalUnit"]["Id"]
    sandbox = client.create_organizational_unit(ParentId=root, Name="sandbox")["OrganizationalUnit"]["Id"]
    organization = Org(client, root, prod, eu, sandbox, {"master": MANAGEMENT})
    organization.add("Payments Prod", prod, env="prod", team="payments")
    organization.add("Payments EU", eu, env="prod", team="payments")
    organization.add("Data Lake", prod, env="prod", team="data")
    organization.add("Sandbox", sandbox, env="dev", team="data")
    return organization


class Loaded:
    """What one parse produced: hosts with their variables, groups with their hosts."""

    def __init__(self, inventory: t.Any, plugin: t.Any):
        self.plugin = plugin
        # Without inventory_file and inventory_dir, which ansible sets on every host.
        self.hostvars = {
            name: {key: value for key, value in host.vars.items() if not key.startswith("inventory_")}
            for name, host in inventory.hosts.items()
        }
        self.groups = {name: sorted(h.name for h in group.get_hosts()) for name, group in inventory.groups.items()}

    @property
    def ids(self) -> dict[str, str]:
        return {name: hostvars["aws_account_id"] for name, hostvars in self.hostvars.items()}


@pytest.fixture
def inventory(tmp_path, controller) -> t.Callable[..., Loaded]:
    """Write a config file with the given options and parse it with the plugin, as ansible-inventory would."""

    def parse(filename: str = "org.aws_accounts.yml", use_cache: bool = False, **options: t.Any) -> Loaded:
        path = tmp_path / filename
        path.write_text(yaml.safe_dump({"plugin": PLUGIN, **options}))
        plugin = controller.inventory_loader.get(PLUGIN)
        assert plugin.verify_file(str(path))
        data = controller.InventoryData()
        plugin.parse(data, controller.DataLoader(), str(path), cache=use_cache)
        if options.get("cache"):
            plugin.update_cache_if_changed()  # what ansible's InventoryManager does after a parse
        return Loaded(data, plugin)

    return parse


def test_every_active_account_is_a_host_of_aws_accounts_reached_through_the_role(org, inventory):
    loaded = inventory()

    assert loaded.groups["aws_accounts"] == ["data-lake", "master", "payments-eu", "payments-prod", "sandbox"]
    account_id = org.accounts["Payments EU"]
    assert loaded.hostvars["payments-eu"] == {
        "aws_account_id": account_id,
        "aws_account_name": "Payments EU",
        "aws_account_email": "PaymentsEU@example.com",
        "aws_role_arn": f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole",
        "aws_region": "us-east-1",
        "ansible_connection": "local",
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
    }


def test_the_management_account_is_reached_with_the_plugins_credentials_unless_asked(org, inventory, api_calls):
    default = inventory()
    assert "aws_role_arn" not in default.hostvars["master"]
    assert default.hostvars["master"]["aws_account_id"] == MANAGEMENT
    # Its credentials were checked to belong to the management account before it was made a host.
    assert "GetCallerIdentity" in api_calls

    api_calls.clear()
    with_role = inventory(management_account_role=True, role_name="iam-admin")
    assert with_role.hostvars["master"]["aws_role_arn"] == f"arn:aws:iam::{MANAGEMENT}:role/iam-admin"
    assert "GetCallerIdentity" not in api_calls


def test_include_management_account_false_leaves_it_out(org, inventory, api_calls):
    loaded = inventory(include_management_account=False)
    assert "master" not in loaded.hostvars
    assert len(loaded.hostvars) == 4
    assert "GetCallerIdentity" not in api_calls


def test_a_delegated_administrators_credentials_never_stand_in_for_the_management_account():
    arn = f"arn:aws:organizations::{MANAGEMENT}:organization/o-abcdefghij"
    organization = {"Arn": arn, "MasterAccountId": MANAGEMENT}
    accounts = [{"id": MANAGEMENT, "name": "master", "email": "m@example.com"}]
    settings = _organizations.HostSettings()

    with pytest.raises(_organizations.OrganizationsError, match="belong to account 222222222222") as raised:
        _organizations.build_hosts(organization, accounts, settings, caller="222222222222")
    assert "management_account_role=true" in str(raised.value)

    hosts, _warnings = _organizations.build_hosts(
        organization, accounts, dataclasses.replace(settings, management_account_role=True), caller="222222222222"
    )
    assert hosts["master"]["aws_role_arn"] == f"arn:aws:iam::{MANAGEMENT}:role/OrganizationAccountAccessRole"


def test_the_role_arn_takes_the_partition_of_the_organizations_arn():
    organization = {"Arn": "arn:aws-cn:organizations::210987654321:organization/o-abcdefghij", "MasterAccountId": "x"}
    accounts = [{"id": "111122223333", "name": "cn", "email": "cn@example.com"}]
    hosts, _warnings = _organizations.build_hosts(organization, accounts, _organizations.HostSettings())
    assert hosts["cn"]["aws_role_arn"] == "arn:aws-cn:iam::111122223333:role/OrganizationAccountAccessRole"


def test_listing_is_paginated(org, inventory, api_calls, monkeypatch):
    monkeypatch.setattr(_organizations, "PAGE_SIZE", 2)
    loaded = inventory()
    assert len(loaded.hostvars) == 5
    assert api_calls.count("ListAccounts") == 3
    assert all(params.get("MaxResults") == 2 for name, params in api_calls.sent if name == "ListAccounts")


def test_an_ou_filter_takes_the_accounts_of_every_ou_below_it(org, inventory, api_calls, monkeypatch):
    monkeypatch.setattr(_organizations, "PAGE_SIZE", 1)
    loaded = inventory(filters={"organizational_units": [org.prod]})

    assert sorted(loaded.hostvars) == ["data-lake", "payments-eu", "payments-prod"]
    assert "ListAccounts" not in api_calls
    # prod holds two accounts: at one per page, two pages.
    assert [p["ParentId"] for name, p in api_calls.sent if name == "ListAccountsForParent"].count(org.prod) == 2


def test_an_ou_filter_on_the_root_takes_every_account_once(org, inventory):
    loaded = inventory(filters={"organizational_units": [org.root, org.prod]})
    assert sorted(loaded.ids.values()) == sorted(org.accounts.values())


def test_a_tag_filter_keeps_the_accounts_with_every_tag(org, inventory, api_calls):
    loaded = inventory(filters={"tags": {"env": "prod", "team": ["data", "nobody"]}})
    assert list(loaded.hostvars) == ["data-lake"]
    assert loaded.hostvars["data-lake"]["aws_account_tags"] == {"env": "prod", "team": "data"}
    assert api_calls.count("ListTagsForResource") == 5


def test_tags_are_read_only_for_a_tag_filter_or_read_tags(org, inventory, api_calls):
    loaded = inventory()
    assert "ListTagsForResource" not in api_calls
    assert len(loaded.hostvars) == 5
    assert all("aws_account_tags" not in hostvars for hostvars in loaded.hostvars.values())


def test_account_ids_and_exclude_account_ids(org, inventory):
    wanted = [org.accounts["Sandbox"], org.accounts["Data Lake"], org.accounts["Payments EU"]]
    loaded = inventory(filters={"account_ids": wanted, "exclude_account_ids": [org.accounts["Data Lake"]]})
    assert sorted(loaded.hostvars) == ["payments-eu", "sandbox"]


def test_suspended_accounts_are_left_out_unless_their_status_is_asked_for(org, inventory):
    org.client.close_account(AccountId=org.accounts["Sandbox"])
    assert "sandbox" not in inventory().hostvars
    assert list(inventory(filters={"status": "SUSPENDED"}).hostvars) == ["sandbox"]


def test_hostnames_id_names_hosts_after_the_account_id(org, inventory):
    loaded = inventory(hostnames="id")
    assert sorted(loaded.hostvars) == sorted(org.accounts.values())
    assert all(name == hostvars["aws_account_id"] for name, hostvars in loaded.hostvars.items())


def test_accounts_sharing_a_name_are_told_apart_by_their_id(org, inventory):
    twin = org.add("payments  prod!", org.prod)
    loaded = inventory()
    prod_id = org.accounts["Payments Prod"]
    assert {f"payments-prod-{prod_id}", f"payments-prod-{twin}"} <= set(loaded.hostvars)
    assert "payments-prod" not in loaded.hostvars


def test_keyed_groups_groups_and_compose_use_the_host_vars(org, inventory):
    loaded = inventory(
        read_tags=True,
        keyed_groups=[{"key": "aws_account_tags.team | default('none')", "prefix": "team"}],
        groups={"production": "aws_account_tags.env | default('') == 'prod'"},
        compose={"onboarding_credentials_dir": "'/creds/' ~ inventory_hostname"},
    )
    assert loaded.groups["team_payments"] == ["payments-eu", "payments-prod"]
    assert loaded.groups["team_data"] == ["data-lake", "sandbox"]
    assert loaded.groups["team_none"] == ["master"]
    assert loaded.groups["production"] == ["data-lake", "payments-eu", "payments-prod"]
    assert loaded.hostvars["sandbox"]["onboarding_credentials_dir"] == "/creds/sandbox"


def test_strict_fails_on_a_compose_expression_that_cannot_be_evaluated(org, inventory, controller):
    inventory(compose={"x": "aws_account_tags.env"})  # not strict: skipped
    with pytest.raises(controller.AnsibleError, match="Could not set x for host"):
        inventory(strict=True, compose={"x": "aws_account_tags.env"})


def test_connection_settings_reach_every_host(org, inventory):
    loaded = inventory(region="eu-west-1", role_session_name="audit-run")
    assert len(loaded.hostvars) == 5
    assert "master" in loaded.hostvars
    for name, hostvars in loaded.hostvars.items():
        assert hostvars["aws_region"] == "eu-west-1"
        if name != "master":
            assert hostvars["aws_role_session_name"] == "audit-run"
        assert "aws_endpoint_url" not in hostvars
        assert "aws_profile" not in hostvars


def test_only_the_interpreter_is_a_template_never_what_aws_returns(org, inventory, trusted_as_template):
    org.add("{{ lookup('env', 'HOME') }}", org.sandbox)
    loaded = inventory(hostnames="id")
    hostvars = loaded.hostvars[org.accounts["{{ lookup('env', 'HOME') }}"]]
    assert trusted_as_template(hostvars["ansible_python_interpreter"])
    assert not trusted_as_template(hostvars["aws_account_name"])


def test_the_cache_answers_a_second_parse_without_any_call(org, inventory, api_calls, tmp_path):
    options = {"cache": True, "cache_plugin": "ansible.builtin.jsonfile", "cache_connection": str(tmp_path / "cache")}
    first = inventory(use_cache=True, **options)
    api_calls.clear()
    second = inventory(use_cache=True, **options)
    assert api_calls == []
    assert second.hostvars == first.hostvars


def test_without_an_organization_the_error_names_the_aws_code(aws, inventory, controller):
    with pytest.raises(controller.AnsibleParserError, match=r"AWSOrganizationsNotInUseException; the account of these"):
        inventory()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"role_name": "Org Access"}, "role_name 'Org Access' must be 1 to 64 ASCII letters"),
        ({"role_name": "arn:aws:iam::123456789012:role/x"}, "(a role name, not an ARN)"),
        ({"role_session_name": "x"}, "role_session_name 'x' must be 2 to 64"),
        ({"filters": {"organizational_units": ["ou-prod"]}}, "filters.organizational_units item 'ou-prod' is not"),
        ({"filters": {"account_ids": [12345]}}, "filters.account_ids item '12345' is not a 12-digit account id"),
        ({"filters": {"exclude_account_ids": "123456789012"}}, "filters.exclude_account_ids must be a list"),
        ({"filters": {"status": ["GONE"]}}, "filters.status '['GONE']' must be one or more of ACTIVE"),
        ({"filters": {"tags": {"env": {"a": 1}}}}, "filters.tags 'env' must map a tag key to a string"),
        ({"filters": {"ou": ["ou-abcd-12345678"]}}, "filters has unknown keys ou; known keys: account_ids"),
    ],
)
def test_bad_options_are_rejected_before_any_call(aws, inventory, api_calls, controller, options, message):
    with pytest.raises(controller.AnsibleParserError) as raised:
        inventory(**options)
    assert message in str(raised.value)
    assert str(raised.value).startswith("Invalid options in ")
    assert api_calls == []


def test_an_unquoted_account_id_is_accepted_as_an_integer(org, inventory):
    # YAML reads an unquoted id as an integer; one with a leading zero would lose it (or be octal): rejected above.
    loaded = inventory(filters={"account_ids": [int(MANAGEMENT)]})
    assert list(loaded.hostvars) == ["master"]


@pytest.mark.parametrize(
    ("filename", "accepted"),
    [("org.aws_accounts.yml", True), ("org.aws_accounts.yaml", True), ("org.yml", False), ("aws_accounts.yml", False)],
)
def test_only_aws_accounts_config_files_are_claimed(tmp_path, controller, filename, accepted):
    path = tmp_path / filename
    path.write_text(f"plugin: {PLUGIN}\n")
    assert controller.inventory_loader.get(PLUGIN).verify_file(str(path)) is accepted
