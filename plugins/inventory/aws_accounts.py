# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: aws_accounts
short_description: The accounts of an AWS Organization as hosts, each reached through a role in it
version_added: 1.0.0
description:
  - Lists the accounts of the AWS Organization of its credentials (Organizations C(ListAccounts), paginated) or,
    with O(filters.organizational_units), the accounts under those OUs and every OU below them
    (C(ListChildren) and C(ListAccountsForParent), paginated), and makes each account a host of the group
    C(aws_accounts).
  - Each host carries the connection to its account (C(aws_role_arn), C(aws_region), C(aws_profile),
    C(aws_endpoint_url)), the host variables that the C(techsquawks.iam.onboard) and C(techsquawks.iam.audit)
    playbooks pass to every module, so they run across every account side by side (C(--forks)), and
    AWX job slicing splits the accounts across slices.
  - Needs the credentials of the management account or of a delegated administrator of Organizations, allowed
    C(organizations:ListAccounts), C(organizations:DescribeOrganization), and with the filters that need them
    C(organizations:ListChildren), C(organizations:ListAccountsForParent), C(organizations:ListTagsForResource);
    plus C(sts:GetCallerIdentity) when the management account is a host without a role.
  - The configuration file must be named C(*.aws_accounts.yml) or C(*.aws_accounts.yaml) and set O(plugin) to
    V(techsquawks.iam.aws_accounts).
author:
  - techsquawks.iam contributors (@techsquawks)
options:
  plugin:
    description: The name of this plugin; marks the file as its configuration.
    required: true
    type: str
    choices: [techsquawks.iam.aws_accounts]
  access_key:
    description:
      - AWS access key ID of the credentials the plugin lists the organization with.
      - Used by the plugin only; hosts get O(profile) (when set) and otherwise the usual AWS environment.
      - If not set, the default botocore credential chain is used (environment, shared files, instance profile).
    type: str
    aliases: [aws_access_key_id, aws_access_key, ec2_access_key]
    env:
      - name: AWS_ACCESS_KEY_ID
      - name: AWS_ACCESS_KEY
      - name: EC2_ACCESS_KEY
  endpoint_url:
    description:
      - URL of the endpoint to use instead of AWS's default for Organizations and STS, for example a moto server.
      - Also given to every host as C(aws_endpoint_url).
    type: str
    aliases: [aws_endpoint_url, ec2_url]
    env:
      - name: AWS_ENDPOINT_URL
      - name: AWS_URL
      - name: EC2_URL
  filters:
    description:
      - Which accounts become hosts. Every filter given must hold.
    type: dict
    default: {}
    suboptions:
      account_ids:
        description:
          - Only these accounts (12-digit ids; quote them in YAML).
        type: list
        elements: str
      exclude_account_ids:
        description:
          - Never these accounts (12-digit ids; quote them in YAML).
        type: list
        elements: str
      organizational_units:
        description:
          - Only the accounts under these OUs (C(ou-...)) or roots (C(r-...)), including every OU below them.
        type: list
        elements: str
      status:
        description:
          - Only the accounts in these states (the account's C(State) in the Organizations API).
          - One or more of V(ACTIVE), V(PENDING_ACTIVATION), V(SUSPENDED), V(PENDING_CLOSURE), V(CLOSED).
        type: list
        elements: str
        default: [ACTIVE]
      tags:
        description:
          - Only the accounts with every one of these tags, each with the value given (or one of the list of
            values given). Reads the tags of each account (one C(ListTagsForResource) call each).
        type: dict
  hostnames:
    description:
      - How hosts are named. V(name) is the account name in lower case with every run of characters other than
        letters, digits, C(_), C(.) and C(-) replaced by C(-) (accounts sharing a name get C(-<account id>)
        appended); V(id) is the account id.
    type: str
    choices: [name, id]
    default: name
  include_management_account:
    description:
      - Whether the organization's management account is a host too (when the filters select it).
    type: bool
    default: true
  management_account_role:
    description:
      - When V(false), the management account host takes no role; modules reach it with the plugin's own
        credentials (and O(role_arn) when set), which must belong to the management account (checked with STS
        C(GetCallerIdentity), so that a delegated administrator's credentials never stand in for it).
      - When V(true), it is reached through O(role_name) like every other account (the role must exist there;
        AWS creates C(OrganizationAccountAccessRole) only in the member accounts it creates).
    type: bool
    default: false
  profile:
    description:
      - A named profile from the AWS shared configuration files, for the plugin and (as C(aws_profile)) for
        every host, whose modules assume each account's role with it.
    type: str
    aliases: [aws_profile]
    env:
      - name: AWS_PROFILE
      - name: AWS_DEFAULT_PROFILE
  read_tags:
    description:
      - Read every selected account's tags into C(aws_account_tags) (for O(keyed_groups) on tags) even without
        a tag filter. One C(ListTagsForResource) call per account.
    type: bool
    default: false
  region:
    description:
      - The AWS region used to sign requests (Organizations is served from one region per partition), and the
        C(aws_region) of every host. Defaults to the profile's region, else C(us-east-1).
    type: str
    aliases: [aws_region, ec2_region]
    env:
      - name: AWS_REGION
      - name: AWS_DEFAULT_REGION
      - name: EC2_REGION
  role_arn:
    description:
      - ARN of a role the plugin assumes first to list the organization, for example a read-only role in the
        management account. Hosts do not chain through it; each account's role must trust the base credentials.
    type: str
    aliases: [assume_role_arn]
  role_name:
    description:
      - The name of the role that every host assumes in its account, so C(aws_role_arn) is
        C(arn:<partition>:iam::<account id>:role/<role_name>), the partition taken from the organization's ARN.
    type: str
    default: OrganizationAccountAccessRole
  role_session_name:
    description:
      - The session name of the assumed roles (shown in CloudTrail), given to hosts as C(aws_role_session_name).
        When not set, modules use their own default (C(techsquawks-iam)).
      - Also the session name of O(role_arn), whose default is C(techsquawks-iam-inventory).
    type: str
  secret_key:
    description:
      - AWS secret access key, with O(access_key). Prefer the environment or a profile to a key in a file.
    type: str
    aliases: [aws_secret_access_key, aws_secret_key, ec2_secret_key]
    env:
      - name: AWS_SECRET_ACCESS_KEY
      - name: AWS_SECRET_KEY
      - name: EC2_SECRET_KEY
  session_token:
    description:
      - AWS STS session token, for temporary credentials.
    type: str
    aliases: [aws_session_token, security_token, aws_security_token]
    env:
      - name: AWS_SESSION_TOKEN
      - name: AWS_SECURITY_TOKEN
      - name: EC2_SECURITY_TOKEN
  validate_certs:
    description:
      - When V(false), TLS certificates of the endpoint are not verified. Only for private test endpoints.
    type: bool
    default: true
extends_documentation_fragment:
  - constructed
  - inventory_cache
requirements:
  - python >= 3.11
  - botocore >= 1.34.0
notes:
  - Every host is in the group C(aws_accounts) and has the variables C(aws_account_id), C(aws_account_name),
    C(aws_account_email), C(aws_role_arn) (except the management account without O(management_account_role)),
    C(aws_region), C(aws_endpoint_url) and C(aws_profile) (when set), C(aws_role_session_name) (with
    O(role_session_name)), C(aws_account_tags) (when read), C(ansible_connection=local) and
    C(ansible_python_interpreter={{ ansible_playbook_python }}).
  - Account names, emails and tags come from AWS and are never templated.
  - Throttling, 5xx answers and connection errors are retried with exponential backoff and jitter.
seealso:
  - name: AWS Organizations ListAccounts
    description: The API call behind the default listing.
    link: https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListAccounts.html
  - name: Accessing member accounts
    description: How OrganizationAccountAccessRole is created and assumed.
    link: https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_access.html
"""

EXAMPLES = r"""
# org.aws_accounts.yml: every active account, reached through OrganizationAccountAccessRole, named after
# the account (for example "security-tooling"), with the management account reached by the credentials itself.
plugin: techsquawks.iam.aws_accounts

# ---
# prod.aws_accounts.yml: the accounts under two OUs (and every OU below them) tagged team=platform, through a
# role of your own, one group per environment tag (env_prod, env_dev), the management account left out.
plugin: techsquawks.iam.aws_accounts
profile: org-admin
role_name: iam-onboarding
role_session_name: iam-onboarding-ci
include_management_account: false
filters:
  organizational_units: [ou-ab12-11111111, ou-ab12-22222222]
  tags:
    team: platform
  exclude_account_ids: ["210987654321"]
keyed_groups:
  - key: aws_account_tags.env | default('none')
    prefix: env
compose:
  onboarding_credentials_dir: "'~/iam-credentials/' ~ inventory_hostname"
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/ansible-aws-accounts
cache_timeout: 3600

# ---
# Run the onboarding playbook across every account, 20 at a time (each host passes its aws_role_arn,
# aws_region, aws_profile and aws_endpoint_url to every module through module_defaults):
#   ansible-inventory -i org.aws_accounts.yml --graph
#   ansible-playbook -i org.aws_accounts.yml -f 20 techsquawks.iam.onboard -e @roster.yml
#   ansible-playbook -i org.aws_accounts.yml -f 20 techsquawks.iam.audit
# Without the auto inventory plugin (for example with a fixed enable_plugins list), enable this one:
#   ANSIBLE_INVENTORY_ENABLED=techsquawks.iam.aws_accounts ansible-inventory -i org.aws_accounts.yml --list
#
# AWX / Ansible Automation Platform: add an inventory source of type "Sourced from a Project" pointing at
# org.aws_accounts.yml, with a credential that exports AWS credentials; each account is a host, so a job
# template with "Job Slicing" set to 4 runs four jobs, each over a quarter of the accounts.
"""

import dataclasses
import typing as t

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core < 2.19 templates every inventory string that is not wrapped as unsafe
    from ansible.utils.unsafe_proxy import wrap_var as untrusted

    def trust_as_template(value: str) -> str:
        return value

else:  # ansible-core 2.19 templates only strings trusted as templates: data from AWS never is

    def untrusted(value: t.Any) -> t.Any:
        return value


from ansible_collections.techsquawks.iam.plugins.module_utils import _organizations
from ansible_collections.techsquawks.iam.plugins.module_utils._aws import (
    DEFAULT_REGION,
    HAS_BOTO3,
    AWSConnectionError,
    build_session,
    create_client,
)

GROUP = "aws_accounts"
# Connection options of the plugin itself, named as _aws.build_session and create_client read them.
CONNECTION_OPTIONS = (
    "access_key",
    "secret_key",
    "session_token",
    "profile",
    "endpoint_url",
    "region",
    "validate_certs",
    "role_arn",
)
PLUGIN_SESSION_NAME = "techsquawks-iam-inventory"


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "techsquawks.iam.aws_accounts"

    def verify_file(self, path: str) -> bool:
        return super().verify_file(path) and path.endswith((".aws_accounts.yml", ".aws_accounts.yaml"))

    def parse(self, inventory: t.Any, loader: t.Any, path: str, cache: bool = True) -> None:
        super().parse(inventory, loader, path, cache=cache)
        self._read_config_data(path)
        if not HAS_BOTO3:
            raise AnsibleParserError(f"{self.NAME} requires botocore (pip install botocore)")
        filters, settings = self._checked_options(path)

        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        data = None
        if use_cache:
            data = self._cache.get(cache_key)
        if data is None:
            data = self._read_organization(filters, settings)
            if self.get_option("cache"):
                self._cache[cache_key] = data
        self._populate(data, settings)

    def _checked_options(self, path: str) -> tuple[_organizations.Filters, _organizations.HostSettings]:
        """Every option checked before any AWS call; one error naming each bad option."""
        filters, errors = _organizations.parse_filters(self.get_option("filters"))
        errors += _organizations.check_names(self.get_option("role_name"), self.get_option("role_session_name"))
        if errors:
            raise AnsibleParserError(f"Invalid options in {path}: " + "; ".join(errors))
        settings = _organizations.HostSettings(
            role_name=self.get_option("role_name"),
            role_session_name=self.get_option("role_session_name"),
            include_management_account=self.get_option("include_management_account"),
            management_account_role=self.get_option("management_account_role"),
            hostnames=self.get_option("hostnames"),
            endpoint_url=self.get_option("endpoint_url") or None,
            profile=self.get_option("profile") or None,
            plugin_role_arn=self.get_option("role_arn") or None,
        )
        return filters, settings

    def _connection_params(self) -> dict[str, t.Any]:
        params = {name: self.get_option(name) for name in CONNECTION_OPTIONS}
        params["role_session_name"] = self.get_option("role_session_name") or PLUGIN_SESSION_NAME
        return params

    def _read_organization(
        self, filters: _organizations.Filters, settings: _organizations.HostSettings
    ) -> dict[str, t.Any]:
        """What the hosts are built from (plain data, so that the inventory cache can keep it)."""
        params = self._connection_params()
        try:
            session = build_session(params)
            client = create_client(session, "organizations", params)
            org = _organizations.Organizations(client)
            organization = org.describe_organization()
            accounts = _organizations.select_accounts(org, filters, read_tags=self.get_option("read_tags"))
            caller = None
            if _organizations.needs_caller_check(organization, accounts, settings):
                caller = _organizations.caller_account(create_client(session, "sts", params))
        except (AWSConnectionError, _organizations.OrganizationsError) as exc:
            raise AnsibleParserError(str(exc)) from None
        return {
            "organization": {key: organization.get(key) for key in ("Id", "Arn", "MasterAccountId")},
            "accounts": accounts,
            "caller_account": caller,
            # Not the client's region: botocore serves Organizations from a global pseudo-region (aws-global).
            "region": params["region"] or session.get_config_variable("region") or DEFAULT_REGION,
        }

    def _populate(self, data: dict[str, t.Any], settings: _organizations.HostSettings) -> None:
        settings = dataclasses.replace(settings, region=data["region"])
        try:
            hosts, warnings = _organizations.build_hosts(
                data["organization"], data["accounts"], settings, caller=data["caller_account"]
            )
        except _organizations.OrganizationsError as exc:
            raise AnsibleParserError(str(exc)) from None
        for warning in warnings:
            self.display.warning(warning)
        strict = self.get_option("strict")
        self.inventory.add_group(GROUP)
        for host, hostvars in hosts.items():
            self.inventory.add_host(host, group=GROUP)
            hostvars = dict(
                {name: untrusted(value) for name, value in hostvars.items()},
                ansible_connection="local",
                # Our own constant, the one value here meant to be templated; AWS's data never is.
                ansible_python_interpreter=trust_as_template("{{ ansible_playbook_python }}"),
            )
            for name, value in hostvars.items():
                self.inventory.set_variable(host, name, value)
            variables = self.inventory.get_host(host).get_vars()
            self._set_composite_vars(self.get_option("compose"), variables, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), variables, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), variables, host, strict=strict)
