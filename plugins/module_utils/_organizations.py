# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal use only: this file is not a public API of the collection and may change at any time.

"""The accounts of an AWS Organization as inventory hosts: option checks, the Organizations verbs, selection.

Used by the aws_accounts inventory plugin, which only adapts its options in and the hosts out. Every list call is
paginated; throttling and 5xx answers are retried by the client's botocore retry mode (see _aws.py).
"""

from __future__ import annotations

import dataclasses
import re
import typing as t

from ansible_collections.techsquawks.iam.plugins.module_utils._aws import BotoCoreError, ClientError, error_code

DEFAULT_ROLE_NAME = "OrganizationAccountAccessRole"
# Account states of the Organizations API (Account.State; the older Account.Status is retired in 2026).
ACCOUNT_STATES = ("ACTIVE", "PENDING_ACTIVATION", "SUSPENDED", "PENDING_CLOSURE", "CLOSED")
FILTER_KEYS = ("account_ids", "exclude_account_ids", "organizational_units", "status", "tags")
HOSTNAMES = ("name", "id")
# Page size of the list calls; None lets AWS choose (ListAccounts answers up to 20 a page). Tests lower it.
PAGE_SIZE: int | None = None

# Patterns of botocore's Organizations and IAM models, matched whole.
_ACCOUNT_ID_RE = re.compile(r"\d{12}")
_PARENT_ID_RE = re.compile(r"r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}")
_ROLE_NAME_RE = re.compile(r"[A-Za-z0-9_+=,.@-]{1,64}")
_SESSION_NAME_RE = re.compile(r"[A-Za-z0-9_+=,.@-]{2,64}")
_HOSTNAME_UNSAFE_RE = re.compile(r"[^a-z0-9_.-]+")


class OrganizationsError(Exception):
    """An Organizations or STS call failed; ``str()`` reads "Failed to <verb>: <AWS message> (<code>)"."""

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.code = code


# What the usual refusals mean for someone running the inventory.
_HINTS = {
    "AWSOrganizationsNotInUseException": "the account of these credentials is not a member of an organization",
    "AccessDeniedException": (
        "only the management account or a delegated administrator may list the organization's accounts "
        "(organizations:ListAccounts, ListChildren, ListAccountsForParent, ListTagsForResource, DescribeOrganization)"
    ),
    "ParentNotFoundException": "check the OU and root ids in filters.organizational_units",
}


def _translate(exc: BaseException, what: str) -> OrganizationsError:
    code = error_code(exc)
    message = exc.response.get("Error", {}).get("Message") if isinstance(exc, ClientError) else None
    text = f"Failed to {what}: {message or exc}"
    if code:
        text += f" ({code}{'; ' + _HINTS[code] if code in _HINTS else ''})"
    return OrganizationsError(text, code)


@dataclasses.dataclass(frozen=True)
class Filters:
    """Which accounts become hosts: all must hold (an empty include list means every account)."""

    organizational_units: tuple[str, ...] = ()
    tags: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    account_ids: frozenset[str] = frozenset()
    exclude_account_ids: frozenset[str] = frozenset()
    status: frozenset[str] = frozenset({"ACTIVE"})


def _id_list(option: str, value: t.Any, errors: list[str]) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, list):
        errors.append(f"{option} must be a list of 12-digit account ids")
        return frozenset()
    ids = set()
    for item in value:
        # An unquoted id is an integer in YAML (one with a leading zero may even be read as octal).
        text = str(item) if isinstance(item, int | str) and not isinstance(item, bool) else ""
        if not _ACCOUNT_ID_RE.fullmatch(text):
            errors.append(f"{option} item '{item}' is not a 12-digit account id (quote account ids in YAML)")
        ids.add(text)
    return frozenset(ids)


def _str_list(value: t.Any) -> list[t.Any] | None:
    """A list as given, a single string as a list of one, anything else None."""
    if isinstance(value, str):
        return [value]
    return value if isinstance(value, list) else None


def _parent_ids(value: t.Any, errors: list[str]) -> tuple[str, ...]:
    items = _str_list(value) if value is not None else []
    if items is None:
        errors.append("filters.organizational_units must be a list of OU ids (ou-...) or root ids (r-...)")
        return ()
    for item in items:
        if not isinstance(item, str) or not _PARENT_ID_RE.fullmatch(item):
            errors.append(
                f"filters.organizational_units item '{item}' is not an OU id (ou-<root>-<8 to 32 characters>) "
                "or a root id (r-<4 to 32 characters>)"
            )
    return tuple(dict.fromkeys(str(item) for item in items))


def _tag_filters(value: t.Any, errors: list[str]) -> dict[str, tuple[str, ...]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors.append("filters.tags must be a dictionary of tag keys to a value or a list of accepted values")
        return {}
    tags = {}
    for key, wanted in value.items():
        values = _str_list(wanted)
        if not isinstance(key, str) or not key or values is None or not all(isinstance(v, str) for v in values):
            errors.append(f"filters.tags '{key}' must map a tag key to a string or a list of strings")
            continue
        tags[key] = tuple(values)
    return tags


def _states(value: t.Any, errors: list[str]) -> frozenset[str]:
    items = _str_list(value) if value is not None else ["ACTIVE"]
    if not items or not all(isinstance(item, str) and item.upper() in ACCOUNT_STATES for item in items):
        errors.append(f"filters.status '{value}' must be one or more of {', '.join(ACCOUNT_STATES)}")
        return frozenset()
    return frozenset(item.upper() for item in items)


def parse_filters(value: t.Any) -> tuple[Filters, list[str]]:
    """The ``filters`` option checked and normalised; the messages name the key at fault."""
    errors: list[str] = []
    if value is None:
        value = {}
    if not isinstance(value, dict):
        return Filters(), [f"filters must be a dictionary with the keys {', '.join(FILTER_KEYS)}"]
    unknown = sorted(str(key) for key in value if key not in FILTER_KEYS)
    if unknown:
        errors.append(f"filters has unknown keys {', '.join(unknown)}; known keys: {', '.join(FILTER_KEYS)}")
    filters = Filters(
        organizational_units=_parent_ids(value.get("organizational_units"), errors),
        tags=_tag_filters(value.get("tags"), errors),
        account_ids=_id_list("filters.account_ids", value.get("account_ids"), errors),
        exclude_account_ids=_id_list("filters.exclude_account_ids", value.get("exclude_account_ids"), errors),
        status=_states(value.get("status"), errors),
    )
    return filters, errors


def check_names(role_name: t.Any, role_session_name: t.Any) -> list[str]:
    """role_name as IAM names roles (1-64 of [A-Za-z0-9_+=,.@-]); role_session_name as STS does (2-64)."""
    errors = []
    if not isinstance(role_name, str) or not _ROLE_NAME_RE.fullmatch(role_name):
        errors.append(
            f"role_name '{role_name}' must be 1 to 64 ASCII letters, digits or _+=,.@- (a role name, not an ARN)"
        )
    if role_session_name is not None and not _SESSION_NAME_RE.fullmatch(str(role_session_name)):
        errors.append(f"role_session_name '{role_session_name}' must be 2 to 64 ASCII letters, digits or _+=,.@-")
    return errors


def _paginate(client: t.Any, operation: str, key: str, what: str, **params: t.Any) -> list[dict[str, t.Any]]:
    config = {"PageSize": PAGE_SIZE} if PAGE_SIZE else {}
    try:
        paginator = client.get_paginator(operation)
        return [item for page in paginator.paginate(**params, PaginationConfig=config) for item in page[key]]
    except (ClientError, BotoCoreError) as exc:
        raise _translate(exc, what) from exc


class Organizations:
    """The Organizations verbs the inventory needs, paginated, with AWS errors as OrganizationsError."""

    def __init__(self, client: t.Any):
        self.client = client

    def describe_organization(self) -> dict[str, t.Any]:
        try:
            return self.client.describe_organization()["Organization"]
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, "describe the organization") from exc

    def list_accounts(self) -> list[dict[str, t.Any]]:
        return _paginate(self.client, "list_accounts", "Accounts", "list the accounts of the organization")

    def list_accounts_for_parent(self, parent_id: str) -> list[dict[str, t.Any]]:
        return _paginate(
            self.client, "list_accounts_for_parent", "Accounts", f"list the accounts of {parent_id}", ParentId=parent_id
        )

    def list_child_ous(self, parent_id: str) -> list[str]:
        children = _paginate(
            self.client,
            "list_children",
            "Children",
            f"list the organizational units under {parent_id}",
            ParentId=parent_id,
            ChildType="ORGANIZATIONAL_UNIT",
        )
        return [child["Id"] for child in children]

    def list_tags(self, account_id: str) -> dict[str, str]:
        what = f"list the tags of account {account_id}"
        tags = _paginate(self.client, "list_tags_for_resource", "Tags", what, ResourceId=account_id)
        return {tag["Key"]: tag["Value"] for tag in tags}

    def list_accounts_under(self, parent_ids: t.Iterable[str]) -> list[dict[str, t.Any]]:
        """The accounts under each parent and, recursively, under every OU below it (each account once)."""
        found: dict[str, dict[str, t.Any]] = {}
        pending, seen = list(parent_ids), set()
        while pending:
            parent = pending.pop(0)
            if parent in seen:
                continue
            seen.add(parent)
            for account in self.list_accounts_for_parent(parent):
                found.setdefault(account["Id"], account)
            pending.extend(self.list_child_ous(parent))
        return list(found.values())


def caller_account(sts_client: t.Any) -> str:
    """The account of the credentials in use (STS GetCallerIdentity)."""
    try:
        return sts_client.get_caller_identity()["Account"]
    except (ClientError, BotoCoreError) as exc:
        raise _translate(exc, "get the caller identity from STS") from exc


def account_state(account: dict[str, t.Any]) -> str:
    """Account.State, or the older Account.Status where an endpoint has no State yet."""
    return str(account.get("State") or account.get("Status") or "")


def _tags_match(tags: dict[str, str], wanted: dict[str, tuple[str, ...]]) -> bool:
    return all(tags.get(key) in values for key, values in wanted.items())


def select_accounts(org: Organizations, filters: Filters, read_tags: bool = False) -> list[dict[str, t.Any]]:
    """The accounts that pass the filters, as plain records (id, name, email, arn, state, joined, tags when read).

    Tags cost one call per account, so they are read only for a tag filter or when asked for.
    """
    units = filters.organizational_units
    raw = org.list_accounts_under(units) if units else org.list_accounts()
    selected = []
    for account in sorted(raw, key=lambda item: item["Id"]):
        if account_state(account) not in filters.status:
            continue
        if filters.account_ids and account["Id"] not in filters.account_ids:
            continue
        if account["Id"] in filters.exclude_account_ids:
            continue
        record = {
            "id": account["Id"],
            "name": account.get("Name", ""),
            "email": account.get("Email", ""),
            "arn": account.get("Arn", ""),
            "state": account_state(account),
        }
        if filters.tags or read_tags:
            record["tags"] = org.list_tags(account["Id"])
            if not _tags_match(record["tags"], filters.tags):
                continue
        selected.append(record)
    return selected


def partition_of(arn: str) -> str:
    """The partition of an ARN (aws, aws-cn, aws-us-gov, ...); aws when it cannot be read."""
    parts = arn.split(":")
    return parts[1] if len(parts) > 1 and parts[0] == "arn" and parts[1] else "aws"


def role_arn(partition: str, account_id: str, role_name: str) -> str:
    return f"arn:{partition}:iam::{account_id}:role/{role_name}"


def sanitize_hostname(name: str) -> str:
    """An account name as an inventory host name: lower case, runs of other characters than [a-z0-9_.-] as '-'."""
    return _HOSTNAME_UNSAFE_RE.sub("-", name.lower()).strip("-.")


def hostnames_for(accounts: list[dict[str, t.Any]], style: str) -> tuple[dict[str, str], list[str]]:
    """Host name per account id, and a warning per name that more than one account sanitizes to.

    Account names need not be unique in an organization: accounts sharing one get ``<name>-<id>``.
    """
    if style == "id":
        return {account["id"]: account["id"] for account in accounts}, []
    base = {account["id"]: sanitize_hostname(account["name"]) or account["id"] for account in accounts}
    counts: dict[str, int] = {}
    for name in base.values():
        counts[name] = counts.get(name, 0) + 1
    names, warnings = {}, []
    for account_id, name in base.items():
        names[account_id] = f"{name}-{account_id}" if counts[name] > 1 else name
    for name, count in sorted(counts.items()):
        if count > 1:
            warnings.append(f"{count} accounts are named '{name}'; their hosts are named '{name}-<account id>'")
    return names, warnings


@dataclasses.dataclass(frozen=True)
class HostSettings:
    """How every host reaches its account: the role in it, and the connection the plugin itself used."""

    role_name: str = DEFAULT_ROLE_NAME
    role_session_name: str | None = None
    include_management_account: bool = True
    management_account_role: bool = False
    hostnames: str = "name"
    region: str = "us-east-1"
    endpoint_url: str | None = None
    profile: str | None = None
    # The plugin's own role (role_arn): the management account host uses it when it takes no account role.
    plugin_role_arn: str | None = None


def build_hosts(
    organization: dict[str, t.Any],
    accounts: list[dict[str, t.Any]],
    settings: HostSettings,
    caller: str | None = None,
) -> tuple[dict[str, dict[str, t.Any]], list[str]]:
    """Host vars per host name (in name order), and warnings. ``caller`` is the plugin's own account (None: unchecked).

    The management account host takes no role unless ``management_account_role``: it is reached with the
    plugin's own credentials, which must then belong to the management account itself.
    """
    management_id = organization.get("MasterAccountId")
    partition = partition_of(organization.get("Arn", ""))
    if not settings.include_management_account:
        accounts = [account for account in accounts if account["id"] != management_id]
    names, warnings = hostnames_for(accounts, settings.hostnames)
    hosts = {}
    for account in accounts:
        is_management = account["id"] == management_id
        if is_management and not settings.management_account_role:
            if caller is not None and caller != management_id:
                raise OrganizationsError(
                    f"The management account {management_id} would be reached with the inventory's own "
                    f"credentials, which belong to account {caller} (a delegated administrator?): set "
                    "management_account_role=true to reach it through role_name, or "
                    "include_management_account=false to leave it out"
                )
            arn = settings.plugin_role_arn
        else:
            arn = role_arn(partition, account["id"], settings.role_name)
        hostvars: dict[str, t.Any] = {
            "aws_account_id": account["id"],
            "aws_account_name": account["name"],
            "aws_account_email": account["email"],
            "aws_region": settings.region,
        }
        if "tags" in account:
            hostvars["aws_account_tags"] = account["tags"]
        if arn:
            hostvars["aws_role_arn"] = arn
            if settings.role_session_name:
                hostvars["aws_role_session_name"] = settings.role_session_name
        if settings.endpoint_url:
            hostvars["aws_endpoint_url"] = settings.endpoint_url
        if settings.profile:
            hostvars["aws_profile"] = settings.profile
        hosts[names[account["id"]]] = hostvars
    # In name order, so that --graph, --limit ranges and AWX's slices are stable and readable.
    return dict(sorted(hosts.items())), warnings


def needs_caller_check(
    organization: dict[str, t.Any], accounts: list[dict[str, t.Any]], settings: HostSettings
) -> bool:
    """Whether a host will be reached with the plugin's own credentials (so their account must be checked)."""
    if not settings.include_management_account or settings.management_account_role:
        return False
    return any(account["id"] == organization.get("MasterAccountId") for account in accounts)
