# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal use only: this file is not a public API of the collection and may change at any time.

"""A user's access keys: one active key ensured, rotated safely, its secret delivered; keys by ID.

Shared by iam_access_key and the roster engine. Functions take the IAM verbs, the desired state and
check mode, never a module, and return an Outcome; failures are IAMError or ModuleFailure. No boto3 here.
"""

from __future__ import annotations

import dataclasses
import datetime
import typing as t

from ansible_collections.techsquawks.iam.plugins.module_utils import _compare, _delivery
from ansible_collections.techsquawks.iam.plugins.module_utils._credentials import wait_for_credentials
from ansible_collections.techsquawks.iam.plugins.module_utils._iam import IAM, IAMError, send_once
from ansible_collections.techsquawks.iam.plugins.module_utils._module import ModuleFailure
from ansible_collections.techsquawks.iam.plugins.module_utils._outcome import Outcome

# IAM allows two access keys per user, active or inactive.
KEY_LIMIT = 2
ACTIVE = "Active"
INACTIVE = "Inactive"
RETIRED = {"deactivate": "deactivated", "delete": "deleted"}

# A key as ListAccessKeys describes it; a key predicted in check mode has AccessKeyId None.
Key = dict[str, t.Any]
# prove(access_key_id, secret_access_key) raises IAMError or ModuleFailure unless the new key works.
Prove = t.Callable[[str, str], None]


@dataclasses.dataclass
class Plan:
    """A new key to create: inactive keys deleted first to make room, active keys retired once it works."""

    make_room: list[Key]
    retire: list[Key]
    # The keys the user keeps while the new one is created (the rest of its keys, before the create).
    kept: list[Key] = dataclasses.field(default_factory=list)


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


# -- pure helpers ---------------------------------------------------------------------------------


def key_result(key: Key | None) -> dict[str, t.Any]:
    """The snake_case ``access_key`` return value ({} for no key)."""
    if key is None:
        return {}
    return {
        "access_key_id": key["AccessKeyId"],
        "status": key["Status"],
        "create_date": _compare.iso8601(key.get("CreateDate")),
        "user_name": key["UserName"],
    }


def oldest_first(keys: list[Key]) -> list[Key]:
    """Keys by creation date; a key predicted in check mode (no date yet) is the newest."""
    return sorted(keys, key=lambda key: (key.get("CreateDate") is None, key.get("CreateDate") or 0))


def key_view(keys: list[Key]) -> dict[str, t.Any]:
    """What the diff shows: key IDs and statuses, oldest first, never secrets."""
    return {"access_keys": [{"access_key_id": k["AccessKeyId"], "status": k["Status"]} for k in oldest_first(keys)]}


def newest_active(keys: list[Key]) -> Key | None:
    active = [key for key in oldest_first(keys) if key["Status"] == ACTIVE]
    return active[-1] if active else None


def rotation_due(key: Key, days: int, when: datetime.datetime) -> bool:
    return when - key["CreateDate"] >= datetime.timedelta(days=days)


def plan_new_key(keys: list[Key], rotate_after_days: int | None, when: datetime.datetime) -> Plan | None:
    """Whether a key must be created (none active, or rotation due), and which keys that affects.

    Raises ModuleFailure, before any change, when making room would mean deleting an active key.
    """
    current = newest_active(keys)
    if current is not None and (rotate_after_days is None or not rotation_due(current, rotate_after_days, when)):
        return None
    active = [key for key in oldest_first(keys) if key["Status"] == ACTIVE]
    inactive = [key for key in oldest_first(keys) if key["Status"] != ACTIVE]
    excess = len(keys) + 1 - KEY_LIMIT
    if excess > len(inactive):
        user = keys[0]["UserName"]
        ids = ", ".join(key["AccessKeyId"] for key in active)
        raise ModuleFailure(
            f"rotate_after_days: user {user} already has {len(active)} active access keys ({ids}), the most IAM "
            "allows; a new key would need room that only deleting an active key could make, which this module "
            "never does. Deactivate the key that is no longer in use (id: <key>, active: false) and run again",
            access_keys=[key["AccessKeyId"] for key in keys],
        )
    make_room = inactive[: max(excess, 0)]
    return Plan(make_room=make_room, retire=active, kept=[key for key in keys if key not in make_room])


def _retired(plan: Plan, action: str) -> list[dict[str, str]]:
    """The ``retired_keys`` entries of ``plan``: room-making deletions first, then the retired active keys."""
    retired = [{"access_key_id": key["AccessKeyId"], "action": "deleted"} for key in plan.make_room]
    return retired + [{"access_key_id": key["AccessKeyId"], "action": RETIRED[action]} for key in plan.retire]


def _keys_after(keys: list[Key], plan: Plan, action: str, new: Key) -> list[Key]:
    """The keys once ``plan`` is carried out with ``new`` as the new key."""
    gone = plan.make_room + (plan.retire if action == "delete" else [])
    kept = [dict(key, Status=INACTIVE) if key in plan.retire else key for key in keys if key not in gone]
    return [*kept, new]


def _unchanged(keys: list[Key], key: Key | None) -> Outcome:
    view = key_view(keys)
    return Outcome(before=view, after=view, result={"access_key": key_result(key), "retired_keys": []})


# -- reading --------------------------------------------------------------------------------------


def read(iam: IAM, user: str) -> list[Key] | None:
    """The user's keys, or None when the user does not exist."""
    try:
        return iam.list_access_keys(user)
    except IAMError as exc:
        if exc.code == "NoSuchEntity":
            return None
        raise


def prove_key(
    client_with_credentials: t.Callable[..., t.Any], arn: str, timeout: int, key_id: str, secret: str
) -> None:
    """Fail unless STS, asked with the new key, answers the user's ARN within ``timeout`` seconds."""
    sts = client_with_credentials("sts", key_id, secret)
    try:
        wait_for_credentials(sts, arn, timeout=timeout, what=f"new access key {key_id}")
    except IAMError as exc:
        raise ModuleFailure(f"verify: {exc}", error_code=exc.code) from exc


# -- one active key -------------------------------------------------------------------------------


def _retire_key(iam: IAM, key: Key, action: str) -> None:
    if action == "delete":
        iam.delete_access_key(key["UserName"], key["AccessKeyId"])
    else:
        iam.update_access_key(key["UserName"], key["AccessKeyId"], INACTIVE)


def _details(exc: IAMError | ModuleFailure) -> dict[str, t.Any]:
    return exc.details if isinstance(exc, ModuleFailure) else {"error_code": exc.code}


def _abandon(iam: IAM, new: Key, exc: IAMError | ModuleFailure) -> ModuleFailure:
    """Delete a new key whose secret nobody holds (unproven, undelivered or never returned); say so."""
    key_id = new["AccessKeyId"]
    try:
        iam.delete_access_key(new["UserName"], key_id)
    except IAMError as undo:
        return ModuleFailure(
            f"{exc}. Deleting the unusable new access key {key_id} failed too: {undo}", **_details(exc)
        )
    return ModuleFailure(
        f"{exc}. The new access key {key_id} was deleted again and no active key was retired", **_details(exc)
    )


def _payload(user: str, key_id: str, secret: str) -> dict[str, str]:
    return {"user_name": user, "access_key_id": key_id, "secret_access_key": secret}


def ensure_one_active(
    iam: IAM,
    *,
    check_mode: bool,
    user: str,
    keys: list[Key],
    rotate_after_days: int | None,
    retire: str = "deactivate",
    prove: Prove | None = None,
    destination: _delivery.Destination | None = None,
    now: datetime.datetime | None = None,
) -> Outcome:
    """Ensure ``user`` has an active key, creating one when none is active or rotation is due.

    Order: make room, create, prove, deliver, retire. A key that cannot be proven or delivered is deleted
    again before any old key is retired. Raises ModuleFailure (two active keys; failures, said so) or IAMError.
    """
    plan = plan_new_key(keys, rotate_after_days, now or utc_now())
    if plan is None:
        return _unchanged(keys, newest_active(keys))
    retired = _retired(plan, retire)
    outcome = Outcome(
        before=key_view(keys),
        after=None,
        updated=[f"access key {entry['access_key_id']} {entry['action']}" for entry in retired],
        result={"retired_keys": retired},
    )
    if check_mode:
        new: Key = {"AccessKeyId": None, "Status": ACTIVE, "CreateDate": None, "UserName": user}
        outcome.created = ["access key (new)"]
        if destination is not None:
            # Where the secret would go; nothing is delivered in check mode.
            outcome.result["secret_file"] = destination.path
    else:
        new, secret, path = _create_and_deliver(iam, user=user, plan=plan, prove=prove, destination=destination)
        outcome.created = [f"access key {new['AccessKeyId']}"]
        if path is None:
            outcome.result["secret_access_key"] = secret
        else:
            outcome.result["secret_file"] = path
            outcome.delivered = [path]
        _retire_all(iam, plan, retire, new, path)
    outcome.after = key_view(_keys_after(keys, plan, retire, new))
    outcome.result["access_key"] = key_result(new)
    return outcome


def _create_and_deliver(
    iam: IAM, *, user: str, plan: Plan, prove: Prove | None, destination: _delivery.Destination | None
) -> tuple[Key, str, str | None]:
    """Make room, create the key, prove it, deliver its secret; return the key, its secret and the file."""
    for key in plan.make_room:
        iam.delete_access_key(user, key["AccessKeyId"])
    kept = {key["AccessKeyId"] for key in plan.kept}

    def reconcile() -> None:
        # The answer to CreateAccessKey was lost: a key AWS made then has a secret nobody will ever see.
        for key in iam.list_access_keys(user):
            if key["AccessKeyId"] not in kept:
                iam.delete_access_key(user, key["AccessKeyId"])

    if destination is not None:
        try:
            destination.expect(sorted(kept))
        except _delivery.DeliveryError as exc:
            raise ModuleFailure(f"secret_file: {exc}") from None
    created = send_once(lambda: iam.create_access_key(user), reconcile)
    secret = created.pop("SecretAccessKey")
    path = None
    try:
        if prove is not None:
            prove(created["AccessKeyId"], secret)
        if destination is not None:
            try:
                path = destination.deliver(_payload(user, created["AccessKeyId"], secret))
            except _delivery.DeliveryError as exc:
                # The message names the path, never the file's content (which may hold other secrets).
                raise ModuleFailure(f"secret_file: {exc}") from exc
    except (IAMError, ModuleFailure) as exc:
        raise _abandon(iam, created, exc) from exc
    return created, secret, path


def _retire_all(iam: IAM, plan: Plan, action: str, new: Key, path: str | None) -> None:
    """Retire the old active keys once the new one works and its secret is held."""
    try:
        for key in plan.retire:
            _retire_key(iam, key, action)
    except IAMError as exc:
        if path is None:
            # The secret would only have been in the result of this failed run: nobody would hold it.
            raise _abandon(iam, new, exc) from exc
        raise ModuleFailure(
            f"{exc}. The new access key {new['AccessKeyId']} works and its secret is in {path}, but the old key "
            "was not retired: fix the cause, then deactivate the old key (id, active: false)",
            **_details(exc),
        ) from exc


# -- keys by ID -----------------------------------------------------------------------------------


def ensure_status(iam: IAM, *, check_mode: bool, keys: list[Key], current: Key, active: bool | None) -> Outcome:
    """Activate or deactivate the key ``current`` (one of ``keys``); None leaves its status unmanaged."""
    desired = None if active is None else ACTIVE if active else INACTIVE
    if desired is None or current["Status"] == desired:
        return _unchanged(keys, current)
    if not check_mode:
        iam.update_access_key(current["UserName"], current["AccessKeyId"], desired)
    after = dict(current, Status=desired)
    retired = [] if active else [{"access_key_id": current["AccessKeyId"], "action": "deactivated"}]
    return Outcome(
        before=key_view(keys),
        after=key_view([after if key is current else key for key in keys]),
        updated=[f"access key {current['AccessKeyId']} {'activated' if active else 'deactivated'}"],
        result={"access_key": key_result(after), "retired_keys": retired},
    )


def ensure_absent(iam: IAM, *, check_mode: bool, keys: list[Key], current: Key | None) -> Outcome:
    """Delete the key ``current`` (one of ``keys``); None means it is already gone."""
    if current is None:
        return _unchanged(keys, None)
    if not check_mode:
        iam.delete_access_key(current["UserName"], current["AccessKeyId"])
    return Outcome(
        before=key_view(keys),
        after=key_view([key for key in keys if key is not current]),
        removed=[f"access key {current['AccessKeyId']}"],
        result={"access_key": {}, "retired_keys": [{"access_key_id": current["AccessKeyId"], "action": "deleted"}]},
    )


def retire_for_disuse(
    iam: IAM, *, check_mode: bool, keys: list[Key], actions: list[t.Any]
) -> tuple[Outcome, list[Key]]:
    """Carry out a remediation policy's ``actions`` (_hygiene.Action: deactivate or delete a key, and why).

    Returns the outcome and the keys left, as they are afterwards.
    """
    left = list(keys)
    outcome = Outcome(before=key_view(keys), after=None)
    for action in actions:
        key = next(key for key in left if key["AccessKeyId"] == action.key_id)
        if action.action == "delete":
            if not check_mode:
                iam.delete_access_key(key["UserName"], key["AccessKeyId"])
            left.remove(key)
            outcome.removed.append(f"access key {key['AccessKeyId']} ({action.reason})")
        else:
            if not check_mode:
                iam.update_access_key(key["UserName"], key["AccessKeyId"], INACTIVE)
            left[left.index(key)] = dict(key, Status=INACTIVE)
            outcome.updated.append(f"access key {key['AccessKeyId']} deactivated ({action.reason})")
    outcome.after = key_view(left)
    return outcome, left


def ensure_none(iam: IAM, *, check_mode: bool, user: str, keys: list[Key]) -> Outcome:
    """Delete every key of ``user`` (offboarding, or before DeleteUser), oldest first."""
    doomed = oldest_first(keys)
    if not check_mode:
        for key in doomed:
            iam.delete_access_key(user, key["AccessKeyId"])
    return Outcome(
        before=key_view(keys),
        after=key_view([]),
        removed=[f"access key {key['AccessKeyId']}" for key in doomed],
        result={
            "access_key": {},
            "retired_keys": [{"access_key_id": key["AccessKeyId"], "action": "deleted"} for key in doomed],
        },
    )
