# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal use only: this file is not a public API of the collection and may change at any time.

"""A user's service-specific credentials: CodeCommit Git credentials, Amazon Keyspaces passwords and Amazon
Bedrock API keys. One per service ensured (created only when the user has none that works), activated or
deactivated, reset, removed; a new secret delivered right after AWS issued it, or removed again.

Shared by iam_service_credential and the roster engine (``ensure_services``). Functions take the IAM verbs, the
desired state and check mode, never a module, and return an Outcome whose before/after lists credential IDs and
statuses, never a secret. Failures are IAMError or ModuleFailure. No boto3 here.
"""

from __future__ import annotations

import dataclasses
import re
import typing as t

from ansible_collections.techsquawks.iam.plugins.module_utils import _compare, _delivery
from ansible_collections.techsquawks.iam.plugins.module_utils._iam import IAM, IAMError, send_once
from ansible_collections.techsquawks.iam.plugins.module_utils._module import ModuleFailure
from ansible_collections.techsquawks.iam.plugins.module_utils._outcome import Outcome

BEDROCK = "bedrock.amazonaws.com"
CASSANDRA = "cassandra.amazonaws.com"
CODECOMMIT = "codecommit.amazonaws.com"
# The services IAM documents service-specific credentials for (CreateServiceSpecificCredential).
SERVICES = (BEDROCK, CASSANDRA, CODECOMMIT)
# Long-term API keys: an optional expiry (CredentialAgeDays), an alias and a secret instead of a user name and
# password, and no reset (the secret is returned only when the key is created).
API_KEY_SERVICES = frozenset({BEDROCK})
# IAM allows two credentials per service per user, whatever their status.
PER_SERVICE_LIMIT = 2
CREDENTIAL_AGE_DAYS = (1, 36600)  # botocore's CredentialAgeDays bounds
ACTIVE, INACTIVE, EXPIRED = "Active", "Inactive", "Expired"
ID_KEY = "ServiceSpecificCredentialId"
# botocore serviceSpecificCredentialId: 20 to 128 of [A-Za-z0-9_].
_ID_RE = re.compile(r"[A-Za-z0-9_]{20,128}")
# The secrets an answer may carry, and their names in payloads and results.
SECRET_FIELDS = {"ServicePassword": "service_password", "ServiceCredentialSecret": "service_credential_secret"}
# Diffs mark a secret issued by this run without showing it.
HIDDEN_NEW = "(new, not shown)"
LABEL = "service credential"
# The keys of a ``service_credentials`` roster entry given as a dict.
ENTRY_KEYS = ("service_name", "active", "credential_age_days")

# A credential as ListServiceSpecificCredentials describes it (a predicted one has no ID, date or user name).
Credential = dict[str, t.Any]
# A sink: _delivery.Destination, or anything with its interface (see the delivery design).
Sink = t.Any


@dataclasses.dataclass(frozen=True)
class ServiceSpec:
    """One entry of a roster's ``service_credentials``: a service, its status, a Bedrock key's lifetime."""

    service_name: str
    active: bool | None = None
    credential_age_days: int | None = None


# -- validation (before any AWS call) -------------------------------------------------------------


def credential_id_errors(option: str, value: str | None) -> list[str]:
    if value is None or _ID_RE.fullmatch(value):
        return []
    return [f"{option} '{value}' is not a service-specific credential ID (20 to 128 letters, digits or _)"]


def age_errors(option: str, service: str | None, days: int | None) -> list[str]:
    """``credential_age_days`` applies to API keys only, within IAM's bounds."""
    if days is None:
        return []
    if service not in API_KEY_SERVICES:
        keys = ", ".join(sorted(API_KEY_SERVICES))
        return [f"{option} applies only to long-term API keys ({keys}), not to {service or 'no service'}"]
    low, high = CREDENTIAL_AGE_DAYS
    if not low <= days <= high:
        return [f"{option} must be from {low} to {high} days, not {days}"]
    return []


def reset_errors(option: str, service: str | None) -> list[str]:
    if service in API_KEY_SERVICES:
        return [
            f"{option}: {service} API keys cannot be reset (their secret is shown only on creation); "
            "delete the key (state=absent) and create a new one"
        ]
    return []


def services_errors(option: str, value: t.Any) -> list[str]:
    """Problems with a roster's ``service_credentials`` (service names, or dicts of ENTRY_KEYS), each naming it."""
    if value is None:
        return []
    if not isinstance(value, list):
        return [f"{option} must be a list of service names or of dicts with service_name"]
    errors: list[str] = []
    seen: set[str] = set()
    for index, item in enumerate(value):
        where = f"{option}[{index}]"
        entry = {"service_name": item} if isinstance(item, str) else item
        if not isinstance(entry, dict):
            errors.append(f"{where} must be a service name or a dict with service_name")
            continue
        unknown = sorted(set(entry) - set(ENTRY_KEYS))
        if unknown:
            errors.append(f"{where} has unknown keys {', '.join(unknown)} (allowed: {', '.join(ENTRY_KEYS)})")
        service = entry.get("service_name")
        if service not in SERVICES:
            errors.append(f"{where}.service_name must be one of {', '.join(SERVICES)}, not {service!r}")
            continue
        if service in seen:
            errors.append(f"{where}.service_name {service} is listed twice")
        seen.add(service)
        if entry.get("active") not in (None, True, False):
            errors.append(f"{where}.active must be true or false")
        days = entry.get("credential_age_days")
        if days is not None and (isinstance(days, bool) or not isinstance(days, int)):
            errors.append(f"{where}.credential_age_days must be a whole number of days")
        else:
            errors += age_errors(f"{where}.credential_age_days", service, days)
    return errors


def normalize_services(value: list[t.Any] | None) -> list[ServiceSpec]:
    """The ServiceSpecs of a ``service_credentials`` value that services_errors found valid."""
    specs = []
    for item in value or []:
        entry: dict[str, t.Any] = {"service_name": item} if isinstance(item, str) else item
        specs.append(ServiceSpec(entry["service_name"], entry.get("active"), entry.get("credential_age_days")))
    return specs


# -- pure helpers ---------------------------------------------------------------------------------


def credential_result(raw: Credential | None) -> dict[str, t.Any]:
    """The snake_case ``service_credential`` return value ({} for none); never a secret."""
    if raw is None:
        return {}
    return {
        "service_specific_credential_id": raw.get(ID_KEY),
        "service_name": raw["ServiceName"],
        "service_user_name": raw.get("ServiceUserName"),
        "service_credential_alias": raw.get("ServiceCredentialAlias"),
        "status": raw["Status"],
        "create_date": _compare.iso8601(raw.get("CreateDate")),
        "expiration_date": _compare.iso8601(raw.get("ExpirationDate")),
        "user_name": raw.get("UserName"),
    }


def oldest_first(credentials: list[Credential]) -> list[Credential]:
    """By creation date (IAM's order within a second); a credential predicted in check mode (no date) is newest."""
    return sorted(credentials, key=lambda c: (c.get("CreateDate") is None, c.get("CreateDate") or 0))


def of_service(credentials: list[Credential], service: str) -> list[Credential]:
    return oldest_first([c for c in credentials if c["ServiceName"] == service])


def expired(credential: Credential) -> bool:
    # IAM turns a key past its ExpirationDate Expired; its status, not this host's clock, decides.
    return credential["Status"] == EXPIRED


def managed(credentials: list[Credential]) -> Credential | None:
    """The credential a service's settings apply to: the newest active one that has not expired, else the newest
    one that has not expired (inactive), else None."""
    usable = [c for c in oldest_first(credentials) if not expired(c)]
    active = [c for c in usable if c["Status"] == ACTIVE]
    candidates = active or usable
    return candidates[-1] if candidates else None


def view(credentials: list[Credential], issued: t.Collection[str | None] = ()) -> list[dict[str, t.Any]]:
    """What the diff shows of one service's credentials: IDs, statuses and expiry, oldest first; a credential
    whose secret this run issued (its ID in ``issued``; None for the one check mode predicts) is marked."""
    shown = []
    for credential in oldest_first(credentials):
        item = {
            "service_specific_credential_id": credential.get(ID_KEY),
            "status": credential["Status"],
            "expiration_date": _compare.iso8601(credential.get("ExpirationDate")),
        }
        if credential.get(ID_KEY) in issued:
            item["secret"] = HIDDEN_NEW
        shown.append(item)
    return shown


def split_secret(raw: Credential) -> tuple[Credential, dict[str, str]]:
    """A Create/Reset answer without its secret, and the secret by its payload name."""
    secret = {name: raw[key] for key, name in SECRET_FIELDS.items() if raw.get(key)}
    return {key: value for key, value in raw.items() if key not in SECRET_FIELDS}, secret


def payload(credential: Credential, secret: dict[str, str]) -> dict[str, str]:
    """What a sink receives: the credential's names and its secret (service_credential kind)."""
    values = {
        "user_name": credential["UserName"],
        "service_name": credential["ServiceName"],
        "service_specific_credential_id": credential[ID_KEY],
    }
    for key, name in (("ServiceUserName", "service_user_name"), ("ServiceCredentialAlias", "service_credential_alias")):
        if credential.get(key):
            values[name] = credential[key]
    if credential.get("ExpirationDate"):
        values["expiration_date"] = _compare.iso8601(credential["ExpirationDate"])
    return dict(values, **secret)


def _words(credential: Credential, what: str = "") -> str:
    ident = credential.get(ID_KEY) or "(new)"
    return f"{LABEL} {ident} ({credential['ServiceName']}{', ' + what if what else ''})"


# -- reading --------------------------------------------------------------------------------------


def read(iam: IAM, user_name: str) -> list[Credential] | None:
    """Every service-specific credential of the user, or None when the user does not exist.

    An endpoint without the API fails (IAMError NotImplemented): managing credentials one cannot list would
    create one on every run.
    """
    try:
        return iam.list_service_specific_credentials(user_name, required=True)
    except IAMError as exc:
        if exc.code == "NoSuchEntity":
            return None
        raise


def held(iam: IAM, user_name: str, service_name: str | None = None) -> list[str]:
    """IDs of the user's credentials (of one service): what a write-ahead record is compared with."""
    credentials = iam.list_service_specific_credentials(user_name, required=True)
    return [c[ID_KEY] for c in credentials if service_name in (None, c["ServiceName"])]


def retire(iam: IAM, user_name: str, credential_id: str) -> None:
    """Delete a credential whose secret is nowhere (issued by an interrupted run)."""
    iam.delete_service_specific_credential(user_name, credential_id)


# -- present --------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Run:
    """One ensure_present call: the service's credentials as they become, and what was issued or deleted."""

    iam: IAM
    check_mode: bool
    user_name: str
    service_name: str
    destination: Sink | None
    option: str
    credentials: list[Credential]
    # IDs of the credentials whose secret this run issued (None: the one check mode predicts).
    issued: set[str | None] = dataclasses.field(default_factory=set)
    deleted: list[str] = dataclasses.field(default_factory=list)
    secret: dict[str, str] = dataclasses.field(default_factory=dict)
    reference: str | None = None


def ensure_present(
    iam: IAM,
    *,
    check_mode: bool,
    user_name: str,
    service_name: str | None,
    credentials: list[Credential],
    credential_id: str | None = None,
    active: bool | None = None,
    reset: bool = False,
    credential_age_days: int | None = None,
    destination: Sink | None = None,
    destination_option: str = "secret_file",
) -> Outcome:
    """Ensure the user has a working credential for ``service_name`` (or act on ``credential_id``).

    Without an ID: a credential is created only when the service has none that has not expired (expired ones
    are deleted first to make room); ``active`` true activates the newest when none is active, false deactivates
    every active one; ``reset`` gives the newest a new password. The new secret goes to ``destination`` right
    after AWS issued it (the credential is deleted again when that fails); the result carries it only when there
    is no destination. ``credentials`` are the user's (any service).
    """
    current = None
    if credential_id is not None:
        current = _by_id(credentials, credential_id, service_name, user_name)
        service_name = current["ServiceName"]
    if service_name is None:
        raise ModuleFailure("service_name: required unless service_specific_credential_id names the credential")
    if reset:
        problems = reset_errors("reset", service_name)
        if problems:
            raise ModuleFailure(problems[0])
    mine = of_service(credentials, service_name)
    run = _Run(iam, check_mode, user_name, service_name, destination, destination_option, list(mine))
    outcome = Outcome(before={"service_credentials": view(mine)}, after=None)
    if credential_id is None:
        current = managed(mine)
    if current is None:
        current = _create(run, outcome, credential_age_days)
    elif reset:
        current = _reset(run, outcome, current)
    current = _set_status(run, outcome, current, active, single=credential_id is not None)
    outcome.after = {"service_credentials": view(run.credentials, run.issued)}
    outcome.result = {"service_credential": credential_result(current), "deleted": run.deleted}
    if run.reference is not None:
        outcome.result["secret_file"] = run.reference
        if not check_mode:
            outcome.delivered = [run.reference]
    outcome.result.update(run.secret)
    return outcome


def _by_id(credentials: list[Credential], credential_id: str, service_name: str | None, user_name: str) -> Credential:
    found = next((c for c in credentials if c[ID_KEY] == credential_id), None)
    if found is None:
        raise ModuleFailure(f"service_specific_credential_id: user {user_name} has no credential {credential_id}")
    if service_name is not None and found["ServiceName"] != service_name:
        raise ModuleFailure(
            f"service_specific_credential_id: {credential_id} is a credential for {found['ServiceName']}, "
            f"not for service_name {service_name}"
        )
    return found


def _create(run: _Run, outcome: Outcome, days: int | None) -> Credential:
    """Make room (expired credentials only), create, deliver; the new credential (predicted in check mode)."""
    excess = len(run.credentials) + 1 - PER_SERVICE_LIMIT
    # managed() found nothing usable: every credential left is expired, so any of them may go.
    doomed = run.credentials[: max(excess, 0)]
    for credential in doomed:
        if not run.check_mode:
            run.iam.delete_service_specific_credential(run.user_name, credential[ID_KEY])
        run.credentials.remove(credential)
        run.deleted.append(credential[ID_KEY])
        outcome.removed.append(_words(credential, "expired, to make room"))
    if run.check_mode:
        new: Credential = {ID_KEY: None, "ServiceName": run.service_name, "Status": ACTIVE, "UserName": run.user_name}
        if run.destination is not None:
            run.reference = run.destination.path
    else:
        new = _create_and_deliver(run, days)
    run.credentials.append(new)
    run.issued.add(new[ID_KEY])
    expiry = new.get("ExpirationDate")
    outcome.created.append(_words(new, f"expires {_compare.iso8601(expiry)}" if expiry else ""))
    return new


def _expect(run: _Run, before: list[str]) -> None:
    if run.destination is not None:
        try:
            run.destination.expect(sorted(before))
        except _delivery.DeliveryError as exc:
            raise ModuleFailure(f"{run.option}: {exc}") from None


def _create_and_deliver(run: _Run, days: int | None) -> Credential:
    iam, user, service = run.iam, run.user_name, run.service_name
    kept = {c[ID_KEY] for c in run.credentials}

    def reconcile() -> None:
        # The answer to CreateServiceSpecificCredential was lost: what AWS made then has a secret nobody will see.
        for credential in iam.list_service_specific_credentials(user, required=True):
            if credential["ServiceName"] == service and credential[ID_KEY] not in kept:
                iam.delete_service_specific_credential(user, credential[ID_KEY])

    _expect(run, list(kept))
    raw = send_once(lambda: iam.create_service_specific_credential(user, service, days), reconcile)
    created, secret = split_secret(raw)
    _deliver(run, created, secret, undo=f"The new {LABEL} {created[ID_KEY]} was deleted again")
    return created


def _reset(run: _Run, outcome: Outcome, current: Credential) -> Credential:
    """A new password for ``current``; delivered, or the credential is deleted (its password would be nowhere)."""
    if run.check_mode:
        after = dict(current)
        if run.destination is not None:
            run.reference = run.destination.path
    else:
        _expect(run, [c[ID_KEY] for c in run.credentials if c is not current])
        raw = run.iam.reset_service_specific_credential(run.user_name, current[ID_KEY])
        reset, secret = split_secret(raw)
        after = dict(current, **reset)
        _deliver(
            run,
            after,
            secret,
            undo=f"The old password of {LABEL} {current[ID_KEY]} no longer works and the new one could not be "
            "delivered, so the credential was deleted; the next run creates a new one",
        )
    run.credentials[run.credentials.index(current)] = after
    run.issued.add(after[ID_KEY])
    outcome.updated.append(_words(current, "reset"))
    return after


def _deliver(run: _Run, credential: Credential, secret: dict[str, str], *, undo: str) -> None:
    """Deliver a secret AWS just issued; on failure delete the credential again (nobody holds its secret)."""
    if run.destination is None:
        run.secret = secret
        return
    try:
        run.reference = run.destination.deliver(payload(credential, secret))
    except _delivery.DeliveryError as exc:
        # The message names the destination, never the secret.
        failure = f"{run.option}: {exc}"
        try:
            run.iam.delete_service_specific_credential(run.user_name, credential[ID_KEY])
        except IAMError as again:
            raise ModuleFailure(
                f"{failure}. Deleting {LABEL} {credential[ID_KEY]}, whose secret nobody holds, failed too: {again}",
                error_code=again.code,
            ) from exc
        raise ModuleFailure(f"{failure}. {undo}") from exc


def _set_status(
    run: _Run,
    outcome: Outcome,
    current: Credential,
    active: bool | None,
    *,
    single: bool,
) -> Credential:
    """``active`` true: ``current`` active (unless, without an ID, another of the service already is); false:
    ``current`` (with an ID) or every active one of the service (without) inactive. Returns ``current`` as it
    is then. Expired credentials stay as they are."""
    if active is None:
        return current
    if active and single and expired(current):
        raise ModuleFailure(
            f"active: {LABEL} {current[ID_KEY]} has expired and cannot be activated again; delete it "
            "(state=absent) and let a run without service_specific_credential_id create a new one"
        )
    if active:
        working = [c for c in run.credentials if c["Status"] == ACTIVE]
        targets = [] if current["Status"] == ACTIVE or (working and not single) else [current]
    else:
        targets = [c for c in ([current] if single else run.credentials) if c["Status"] == ACTIVE]
    status = ACTIVE if active else INACTIVE
    for credential in targets:
        if not run.check_mode:
            run.iam.update_service_specific_credential(run.user_name, credential[ID_KEY], status)
        changed = dict(credential, Status=status)
        run.credentials[run.credentials.index(credential)] = changed
        outcome.updated.append(_words(credential, "activated" if active else "deactivated"))
        if credential is current:
            current = changed
    return current


# -- absent ---------------------------------------------------------------------------------------


def ensure_absent(
    iam: IAM,
    *,
    check_mode: bool,
    credentials: list[Credential],
    user_name: str,
    service_name: str | None = None,
    credential_id: str | None = None,
    destination: Sink | None = None,
) -> Outcome:
    """Delete ``credential_id``, or every credential of ``service_name``; a sink's copy goes too (``remove``)."""
    if credential_id is not None:
        found = [c for c in credentials if c[ID_KEY] == credential_id]
        if found and service_name is not None and found[0]["ServiceName"] != service_name:
            _by_id(credentials, credential_id, service_name, user_name)  # raises, naming both
        scope = of_service(credentials, found[0]["ServiceName"]) if found else []
        doomed = found
    else:
        scope = doomed = of_service(credentials, service_name or "")
    outcome = Outcome(
        before={"service_credentials": view(scope)},
        after={"service_credentials": view([c for c in scope if c not in doomed])},
    )
    for credential in doomed:
        if not check_mode:
            iam.delete_service_specific_credential(user_name, credential[ID_KEY])
        outcome.removed.append(_words(credential))
    if doomed and destination is not None and destination.remove(check_mode=check_mode):
        outcome.removed.append(f"{LABEL} secret at {destination.path}")
    outcome.result = {"service_credential": {}, "deleted": [c[ID_KEY] for c in doomed]}
    return outcome


# -- the roster -----------------------------------------------------------------------------------


def ensure_services(
    iam: IAM,
    *,
    check_mode: bool,
    user_name: str,
    services: list[t.Any],
    destination_for: t.Callable[[str], Sink | None],
) -> Outcome:
    """The roster's ``service_credentials``: each listed service ensured present (ensure_present, no reset).

    ``services`` are service names or dicts of ENTRY_KEYS (validated with services_errors first);
    ``destination_for(service_name)`` gives the sink of that service's secret (None: the secret is in the
    result, under ``result["service_credentials"][service]``). Credentials of services not listed are left
    alone. Before/after are ``{service_name: [view]}``. A user that does not exist yet has none (check mode).
    """
    credentials = read(iam, user_name)
    if credentials is None:
        if not check_mode:
            raise ModuleFailure(f"user_name: IAM user {user_name} does not exist")
        credentials = []
    combined = Outcome(before={}, after={}, result={"service_credentials": {}})
    for spec in normalize_services(services):
        one = ensure_present(
            iam,
            check_mode=check_mode,
            user_name=user_name,
            service_name=spec.service_name,
            credentials=credentials,
            active=spec.active,
            credential_age_days=spec.credential_age_days,
            destination=destination_for(spec.service_name),
            destination_option="service_credentials",
        )
        combined.before[spec.service_name] = one.before["service_credentials"]
        combined.after[spec.service_name] = one.after["service_credentials"]
        combined.created += one.created
        combined.updated += one.updated
        combined.removed += one.removed
        combined.delivered += one.delivered
        combined.warnings += one.warnings
        combined.result["service_credentials"][spec.service_name] = one.result
    return combined
