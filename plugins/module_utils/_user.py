# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal use only: this file is not a public API of the collection and may change at any time.

"""An IAM user: read it, converge it to a UserSpec, delete it with its dependents.

Shared by the iam_user module and the roster engine. Functions take the IAM verbs, the desired state and
check mode, never a module, and return an Outcome; they keep no module-level state, so different users
can be converged from different threads (one IAM object per user). Warnings about the endpoint (a list
call it does not implement) stay in ``iam.warnings``.
"""

from __future__ import annotations

import dataclasses
import typing as t

from ansible_collections.techsquawks.iam.plugins.module_utils import _compare
from ansible_collections.techsquawks.iam.plugins.module_utils._iam import IAM
from ansible_collections.techsquawks.iam.plugins.module_utils._module import ModuleFailure
from ansible_collections.techsquawks.iam.plugins.module_utils._outcome import Outcome

# The ``user`` return shape built by _compare.user_result; groups/managed_policies are None when not read.
User = dict[str, t.Any]

# The fields an update can change, in the order ensure_present applies them, for the "user (...)" label.
UPDATABLE_FIELDS = ("path", "user_name", "tags", "permissions_boundary", "managed_policies", "groups")

# dependents() keys in removal order, with the words a summary uses for them.
DEPENDENT_LABELS = (
    ("login_profile", "console password"),
    ("access_keys", "access key"),
    ("signing_certificates", "signing certificate"),
    ("ssh_public_keys", "SSH key"),
    ("service_specific_credentials", "service credential"),
    ("mfa_devices", "MFA device"),
    ("inline_policies", "inline policy"),
    ("managed_policies", "policy attachment"),
    ("groups", "group membership"),
)


@dataclasses.dataclass
class UserSpec:
    """The desired state of a user; None means "not managed" (never causes a change)."""

    name: str
    path: str | None = None
    new_name: str | None = None
    new_path: str | None = None
    tags: dict[str, str] | None = None
    purge_tags: bool = True
    permissions_boundary: str | None = None
    managed_policies: list[str] | None = None
    purge_policies: bool = False
    groups: list[str] | None = None
    purge_groups: bool = False


# -- reading --------------------------------------------------------------------------------------


def read(iam: IAM, name: str, *, groups: bool = True, policies: bool = True) -> User | None:
    """GetUser; ListGroupsForUser only when groups, ListAttachedUserPolicies only when policies.

    A list that was not read is None in the returned dict (the key is still there); None when the user is missing.
    """
    raw = iam.get_user(name)
    if raw is None:
        return None
    user = _compare.user_result(
        raw,
        groups=iam.list_groups_for_user(raw["UserName"]) if groups else None,
        managed_policies=iam.list_attached_policies(raw["UserName"]) if policies else None,
    )
    if not groups:
        user["groups"] = None
    if not policies:
        user["managed_policies"] = None
    return user


def find(iam: IAM, spec: UserSpec, *, groups: bool = True, policies: bool = True) -> User | None:
    """The user named ``spec.name``; after a completed rename, the one named ``spec.new_name``.

    Raises ModuleFailure naming new_name when both exist. Only for converging: to delete, pass a spec without new_name.
    """
    current = read(iam, spec.name, groups=groups, policies=policies)
    if spec.new_name and spec.new_name != spec.name:
        renamed = read(iam, spec.new_name, groups=groups, policies=policies)
        if current and renamed:
            raise ModuleFailure(f"new_name: cannot rename {spec.name} to {spec.new_name}, which already exists")
        current = current or renamed
    return current


# -- present --------------------------------------------------------------------------------------


def _require_read(current: User, field: str, why: str) -> None:
    """A list that read() skipped is needed: the caller's bug, so ValueError rather than a guess."""
    if current[field] is None:
        raise ValueError(f"user {current['user_name']}: {field} were not read, but {why} needs them")


def _create(iam: IAM, *, check_mode: bool, spec: UserSpec) -> User:
    """Create the user with its path and tags (the parts CreateUser takes); the rest follows as updates."""
    name = spec.new_name or spec.name
    path = spec.new_path or spec.path or "/"
    tags = dict(spec.tags or {})
    if check_mode:
        return _compare.user_result({"UserName": name, "Path": path}, tags=tags)
    return _compare.user_result(iam.create_user(name, path, _compare.dict_to_tags(tags)), tags=tags)


def _identity(iam: IAM, *, check_mode: bool, current: User, spec: UserSpec) -> User:
    """Rename and/or move the user in place (one UpdateUser)."""
    new_path = spec.new_path or spec.path
    rename = spec.new_name if spec.new_name and spec.new_name != current["user_name"] else None
    move = new_path if new_path and new_path != current["path"] else None
    if not rename and not move:
        return current
    if not check_mode:
        iam.update_user(current["user_name"], new_name=rename, new_path=move)
    after = dict(current, user_name=rename or current["user_name"], path=move or current["path"])
    if current.get("arn"):
        account_prefix = current["arn"].split(":user/")[0]
        after["arn"] = f"{account_prefix}:user{after['path']}{after['user_name']}"
    return after


def _tags(iam: IAM, *, check_mode: bool, current: User, spec: UserSpec) -> User:
    to_set, to_remove = _compare.tag_delta(current["tags"], spec.tags, spec.purge_tags)
    if not to_set and not to_remove:
        return current
    if not check_mode:
        if to_remove:
            iam.untag_user(current["user_name"], to_remove)
        if to_set:
            iam.tag_user(current["user_name"], _compare.dict_to_tags(to_set))
    return dict(current, tags=_compare.apply_tag_delta(current["tags"], to_set, to_remove))


def _boundary(iam: IAM, *, check_mode: bool, current: User, spec: UserSpec) -> User:
    """Set the permissions boundary; an empty string removes it."""
    desired = spec.permissions_boundary
    if desired is None or desired == (current["permissions_boundary"] or ""):
        return current
    if not check_mode:
        if desired:
            iam.put_permissions_boundary(current["user_name"], desired)
        else:
            iam.delete_permissions_boundary(current["user_name"])
    return dict(current, permissions_boundary=desired or None)


def _policies(iam: IAM, *, check_mode: bool, current: User, spec: UserSpec) -> User:
    if spec.managed_policies is None:
        return current
    attached = current["managed_policies"]
    to_add, to_remove = _compare.list_delta(attached, spec.managed_policies, spec.purge_policies)
    if not to_add and not to_remove:
        return current
    if not check_mode:
        for arn in to_remove:
            iam.detach_policy(current["user_name"], arn)
        for arn in to_add:
            iam.attach_policy(current["user_name"], arn)
    return dict(current, managed_policies=_compare.apply_list_delta(attached, to_add, to_remove))


def _groups(iam: IAM, *, check_mode: bool, current: User, spec: UserSpec) -> User:
    if spec.groups is None:
        return current
    member_of = current["groups"]
    to_add, to_remove = _compare.list_delta(member_of, spec.groups, spec.purge_groups)
    if not to_add and not to_remove:
        return current
    if not check_mode:
        for group in to_remove:
            iam.remove_user_from_group(current["user_name"], group)
        for group in to_add:
            iam.add_user_to_group(current["user_name"], group)
    return dict(current, groups=_compare.apply_list_delta(member_of, to_add, to_remove))


def ensure_present(iam: IAM, *, check_mode: bool, current: User | None, spec: UserSpec) -> Outcome:
    """Create (path, tags in CreateUser) or update identity, tags, boundary, policies and groups.

    ``after`` is the user after (predicted in check mode); ValueError when the spec manages a list not read.
    """
    if current is None:
        after = _create(iam, check_mode=check_mode, spec=spec)
    else:
        # Fail before the first write, not half way through.
        if spec.managed_policies is not None:
            _require_read(current, "managed_policies", "managing managed_policies")
        if spec.groups is not None:
            _require_read(current, "groups", "managing groups")
        after = current
    for ensure in (_identity, _tags, _boundary, _policies, _groups):
        after = ensure(iam, check_mode=check_mode, current=after, spec=spec)

    outcome = Outcome(before=current or {}, after=after, result={"user": after})
    if current is None:
        outcome.created.append("user")
    elif outcome.changed:
        fields = [field for field in UPDATABLE_FIELDS if current[field] != after[field]]
        outcome.updated.append(f"user ({', '.join(fields)})")
    return outcome


# -- absent ---------------------------------------------------------------------------------------


def dependents(iam: IAM, name: str, current: User) -> dict[str, t.Any]:
    """Everything DeleteUser requires to be gone first, read with paginated list calls.

    Policies and groups come from ``current`` (ValueError when they were not read).
    """
    _require_read(current, "managed_policies", "listing dependents")
    _require_read(current, "groups", "listing dependents")
    return {
        "login_profile": iam.get_login_profile(name) is not None,
        "access_keys": [key["AccessKeyId"] for key in iam.list_access_keys(name)],
        "signing_certificates": [cert["CertificateId"] for cert in iam.list_signing_certificates(name)],
        "ssh_public_keys": [key["SSHPublicKeyId"] for key in iam.list_ssh_public_keys(name)],
        "service_specific_credentials": [
            cred["ServiceSpecificCredentialId"] for cred in iam.list_service_specific_credentials(name)
        ],
        "mfa_devices": [device["SerialNumber"] for device in iam.list_mfa_devices(name)],
        "inline_policies": iam.list_inline_policies(name),
        "managed_policies": list(current["managed_policies"]),
        "groups": list(current["groups"]),
    }


def _remove_dependents(iam: IAM, name: str, found: dict[str, t.Any]) -> None:
    """Remove the dependents in an order IAM accepts (credentials, MFA, policies, groups)."""
    if found["login_profile"]:
        iam.delete_login_profile(name)
    for key_id in found["access_keys"]:
        iam.delete_access_key(name, key_id)
    for cert_id in found["signing_certificates"]:
        iam.delete_signing_certificate(name, cert_id)
    for key_id in found["ssh_public_keys"]:
        iam.delete_ssh_public_key(name, key_id)
    for cred_id in found["service_specific_credentials"]:
        iam.delete_service_specific_credential(name, cred_id)
    for serial in found["mfa_devices"]:
        # IAM refuses to delete a virtual MFA device that is still assigned: deactivate first.
        iam.deactivate_mfa_device(name, serial)
        # Hardware and FIDO devices only need deactivation; virtual ones are account resources.
        if ":mfa/" in serial:
            iam.delete_virtual_mfa_device(serial)
    for policy in found["inline_policies"]:
        iam.delete_inline_policy(name, policy)
    for arn in found["managed_policies"]:
        iam.detach_policy(name, arn)
    for group in found["groups"]:
        iam.remove_user_from_group(name, group)


def _removed_labels(found: dict[str, t.Any]) -> list[str]:
    """One label per kind of dependent that was there: "console password", "2 access key", ..."""
    labels = []
    for kind, noun in DEPENDENT_LABELS:
        value = found.get(kind)
        if value is True:
            labels.append(noun)
        elif value:
            labels.append(f"{len(value)} {noun}")
    return labels


def ensure_absent(iam: IAM, *, check_mode: bool, current: User | None, force: bool) -> Outcome:
    """Delete the user; with force, its dependents first. ModuleFailure naming force when they block it.

    ``result`` is {"user": {}, "removed": dependents}, or only {"user": {}} when the user was already absent.
    """
    if current is None:
        return Outcome(before={}, after={}, result={"user": {}})
    name = current["user_name"]
    found = dependents(iam, name, current)
    blockers = {kind: value for kind, value in found.items() if value}
    if blockers and not force:
        listed = ", ".join(f"{kind} ({value if value is not True else 'present'})" for kind, value in blockers.items())
        raise ModuleFailure(
            f"force: user {name} still has {listed}; set force=true to remove them with the user", blockers=blockers
        )
    if not check_mode:
        _remove_dependents(iam, name, found)
        iam.delete_user(name)
    return Outcome(
        before=current,
        after={},
        removed=["user", *_removed_labels(found)],
        result={"user": {}, "removed": found},
    )
