# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal use only: this file is not a public API of the collection and may change at any time.

"""Bodies uploaded for an IAM user: SSH public keys and signing certificates.

Both are a text body uploaded for a user, identified by an ID that AWS assigns, with an Active/Inactive
status and a per-user limit, and matched by a normalised body. Each kind is an ``Uploaded`` descriptor
(_ssh_key.SSH_KEY, _signing_certificate.SIGNING_CERTIFICATE) holding what is specific to it: parsing and
normalising the body and the shape of its result. ``ensure_item`` is the single-item flow of the modules,
``ensure_bodies`` the set-of-bodies flow of the roster. No boto3 here.
"""

from __future__ import annotations

import dataclasses
import re
import typing as t

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.techsquawks.iam.plugins.module_utils import _compare, _validate
from ansible_collections.techsquawks.iam.plugins.module_utils._iam import IAM, IAMError, send_once
from ansible_collections.techsquawks.iam.plugins.module_utils._module import ModuleFailure
from ansible_collections.techsquawks.iam.plugins.module_utils._outcome import Outcome

Item = dict[str, t.Any]
Raw = dict[str, t.Any]

MAX_BODY_LENGTH = 16384
_BODY_RE = re.compile(r"^[\t\n\r\x20-\xff]+$")


@dataclasses.dataclass(frozen=True)
class Uploaded:
    """What differs between two kinds of uploaded bodies; every message is built from these fields."""

    noun: str  # "SSH public key": "user u has no <noun> <id>"
    label: str  # "SSH key": "<label> <id>" in an outcome's created/updated/removed
    plural: str  # "SSH public keys": "user u already has 5 <plural>"
    body_option: str  # option holding the body, e.g. "public_key"
    id_option: str  # option holding the ID; also the ID's name in the result and at the top level
    id_field: str  # the ID in IAM structures, e.g. "SSHPublicKeyId"
    body_field: str  # the body in IAM structures, e.g. "SSHPublicKeyBody"
    min_id_length: int  # IDs are min_id_length to 128 letters, digits or underscores
    limit: int  # the most a user may have, active or inactive
    usable: str  # "SSH public key": "<body_option> is not a usable <usable>: <why>"
    mismatch: str  # template with {id} and {user}: the ID's item holds another body than the one given
    result_key: str  # the result key of the item, e.g. "ssh_public_key"
    returns: tuple[str, ...]  # item fields also returned at the top level, for convenience
    invalid: type[ValueError]  # what ``identity`` raises; its message never repeats the body
    identity: t.Callable[[str], str]  # a valid body's identity, the same however it is formatted
    list_items: t.Callable[[IAM, str], list[Raw]]
    upload: t.Callable[[IAM, str, str], Raw]
    update: t.Callable[[IAM, str, str, str], None]
    delete: t.Callable[[IAM, str, str], None]
    # Result fields between the ID and the status: result name -> IAM name.
    fields: dict[str, str] = dataclasses.field(default_factory=dict)
    # Set when listing returns no bodies: (iam, user_name, id) -> the item with its body, None if gone.
    get: t.Callable[[IAM, str, str], Raw | None] | None = None
    # body -> IAM fields known before uploading besides ID and status (returned in check mode).
    predict: t.Callable[[str], Raw] | None = None
    # Options whose names look secret to Ansible but are not: they get an explicit no_log=False.
    not_secret: tuple[str, ...] = ()
    # The Python library that ``identity`` needs, when it cannot be imported: every body is then refused.
    missing_library: str | None = None

    @t.overload
    def canonical(self, text: str) -> str: ...

    @t.overload
    def canonical(self, text: None) -> None: ...

    def canonical(self, text: str | None) -> str | None:
        """The identity of a body (None for None); for a body IAM holds but we cannot parse, its text."""
        if text is None:
            return None
        try:
            return self.identity(text)
        except self.invalid:
            return " ".join(text.split())

    def result(self, raw: Raw, user_name: str) -> Item:
        """The snake_case item returned from an IAM structure."""
        item = {self.id_option: raw.get(self.id_field)}
        item.update((name, raw.get(field)) for name, field in self.fields.items())
        item.update(
            status=raw.get("Status"),
            upload_date=_compare.iso8601(raw.get("UploadDate")),
            user_name=raw.get("UserName", user_name),
        )
        return item


# -- pure helpers --------------------------------------------------------------------------------


def missing_library_message(library: str, option: str) -> str:
    """Ansible's missing-library message for a library needed to check ``option``."""
    return str(missing_required_lib(library, reason=f"to check {option}"))


def desired_status(active: bool) -> str:
    return "Active" if active else "Inactive"


def public(item: Item | None) -> Item:
    """The item as returned: without its identity (``canonical``)."""
    return {name: value for name, value in (item or {}).items() if name != "canonical"}


def select(
    kind: Uploaded, items: list[Item], *, canonical: str | None, item_id: str | None, user_name: str
) -> list[Item]:
    """The items the task designates: by ID, by body, or by both (which must then agree)."""
    by_id = [item for item in items if item[kind.id_option] == item_id] if item_id else None
    by_body = [item for item in items if item["canonical"] == canonical] if canonical else None
    if by_id is None:
        return by_body or []
    if by_body is None:
        return by_id
    if by_id and by_id[0]["canonical"] != canonical:
        raise ModuleFailure(f"{kind.id_option}: {kind.mismatch.format(id=item_id, user=user_name)}")
    if not by_id and by_body:
        other = by_body[0][kind.id_option]
        raise ModuleFailure(
            f"{kind.id_option}: {kind.body_option} is uploaded for user {user_name} as {other}, not {item_id}"
        )
    return by_id


def validate(kind: Uploaded, params: dict[str, t.Any]) -> list[str]:
    """Problems with the user name, ID and body, each naming its option; checked before any AWS call."""
    errors = _validate.user_name("user_name", params["user_name"])
    item_id, body = params[kind.id_option], params[kind.body_option]
    if item_id is not None and not re.fullmatch(rf"[A-Za-z0-9_]{{{kind.min_id_length},128}}", item_id):
        errors.append(
            f"{kind.id_option} '{item_id[:140]}' must be {kind.min_id_length} to 128 letters, digits or underscores"
        )
    if body is not None and kind.missing_library:
        errors.append(f"{kind.body_option}: {missing_library_message(kind.missing_library, kind.body_option)}")
    elif body is not None:
        if len(body.strip()) > MAX_BODY_LENGTH or not _BODY_RE.match(body):
            errors.append(f"{kind.body_option} must be 1 to {MAX_BODY_LENGTH} characters of printable Latin-1 text")
        else:
            try:
                kind.identity(body)
            except kind.invalid as exc:
                errors.append(f"{kind.body_option} is not a usable {kind.usable}: {exc}")
    return errors


def module_args(kind: Uploaded) -> dict[str, t.Any]:
    """Keyword arguments of IAMModule: the argspec and its constraints."""
    body_spec: dict[str, t.Any] = {"type": "str"}
    id_spec: dict[str, t.Any] = {"type": "str", "aliases": ["id"]}
    for name, spec in ((kind.body_option, body_spec), (kind.id_option, id_spec)):
        if name in kind.not_secret:
            spec["no_log"] = False
    return {
        "argument_spec": {
            "user_name": {"type": "str", "required": True},
            kind.body_option: body_spec,
            kind.id_option: id_spec,
            "active": {"type": "bool", "default": True},
            "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        },
        "required_one_of": [[kind.body_option, kind.id_option]],
        "supports_check_mode": True,
    }


# -- state ---------------------------------------------------------------------------------------


def read(kind: Uploaded, iam: IAM, user_name: str, *, bodies_of: t.Callable[[str], bool]) -> list[Item] | None:
    """The user's items with their identity (``canonical``), or None when the user does not exist.

    When listing returns no bodies, a body is fetched only for the IDs where ``bodies_of(id)``; the
    others get ``canonical=None``.
    """
    try:
        listed = kind.list_items(iam, user_name)
    except IAMError as exc:
        if exc.code == "NoSuchEntity":
            return None
        raise
    if kind.get is None:
        return [dict(kind.result(raw, user_name), canonical=kind.canonical(raw.get(kind.body_field))) for raw in listed]
    items = []
    for raw in listed:
        item_id = raw[kind.id_field]
        if not bodies_of(item_id):
            items.append(dict(kind.result(raw, user_name), canonical=None))
            continue
        # The item may vanish between the two calls.
        full = kind.get(iam, user_name, item_id)
        if full is not None:
            items.append(dict(kind.result(full, user_name), canonical=kind.canonical(full.get(kind.body_field))))
    return items


def check_limit(kind: Uploaded, items: list[Item], *, user_name: str, adding: int = 1) -> None:
    """Refuse (before any upload) when ``adding`` more items would exceed the per-user limit."""
    if len(items) + adding <= kind.limit:
        return
    listed = ", ".join(item[kind.id_option] for item in items)
    if adding == 1:
        raise ModuleFailure(
            f"{kind.body_option}: user {user_name} already has {len(items)} {kind.plural} ({listed}), "
            f"the IAM maximum of {kind.limit}; delete one (state=absent) before uploading another"
        )
    raise ModuleFailure(
        f"{kind.body_option}: user {user_name} has {len(items)} {kind.plural} ({listed}); uploading {adding} more "
        f"would exceed the IAM maximum of {kind.limit}; delete some before uploading others"
    )


def upload(kind: Uploaded, iam: IAM, *, check_mode: bool, user_name: str, body: str) -> Item:
    """Upload the body (AWS creates it Active); in check mode, the item predicted with a null ID."""
    if check_mode:
        predicted = kind.predict(body) if kind.predict else {}
        return kind.result({kind.id_field: None, **predicted, "Status": "Active"}, user_name)
    body = body.strip()
    canonical = kind.canonical(body)

    def adopt() -> Raw | None:
        # The answer was lost: a body IAM now holds was uploaded by this request (it has no secret).
        for item in read(kind, iam, user_name, bodies_of=lambda _found: True) or []:
            if item["canonical"] == canonical:
                fields = {field: item[name] for name, field in kind.fields.items()}
                return {kind.id_field: item[kind.id_option], **fields, "Status": item["status"]}
        return None

    return kind.result(send_once(lambda: kind.upload(iam, user_name, body), adopt), user_name)


def set_status(kind: Uploaded, iam: IAM, *, check_mode: bool, user_name: str, current: Item, status: str) -> Item:
    """The item with ``status``, updated in IAM unless it already has it (or in check mode)."""
    if current["status"] == status:
        return current
    if not check_mode:
        kind.update(iam, user_name, current[kind.id_option], status)
    return dict(current, status=status)


def ensure_item(
    kind: Uploaded,
    iam: IAM,
    *,
    check_mode: bool,
    user_name: str,
    body: str | None,
    item_id: str | None,
    active: bool,
    state: str,
) -> Outcome:
    """One item, designated by ID, body or both, uploaded with a status or deleted: the modules' flow.

    before/after are the item as returned ({} when there is none); ``result`` is the module's result.
    """
    canonical = kind.canonical(body)
    status = desired_status(active)
    # Bodies are needed to match by body; by ID alone, only that item's.
    items = read(kind, iam, user_name, bodies_of=lambda found: canonical is not None or found == item_id)
    warnings: list[str] = []
    if items is None and state == "present":
        if not check_mode:
            raise ModuleFailure(f"user_name: user {user_name} does not exist")
        warnings.append(f"User {user_name} does not exist; assuming an earlier task would create it.")
    items = items or []
    targets = select(kind, items, canonical=canonical, item_id=item_id, user_name=user_name)
    # moto accepts duplicates: prefer the copy that already has the wanted status.
    targets.sort(key=lambda item: item["status"] != status)
    before = public(targets[0]) if targets else {}
    outcome = Outcome(before=before, after={}, warnings=warnings)

    if state == "absent":
        # Against AWS there is at most one target (it refuses duplicates); moto accepts them, and absent
        # means none is left.
        removed = [item[kind.id_option] for item in targets]
        if not check_mode:
            for removed_id in removed:
                kind.delete(iam, user_name, removed_id)
        outcome.removed = [f"{kind.label} {removed_id}" for removed_id in removed]
        outcome.result["removed"] = removed
    elif targets:
        outcome.after = set_status(kind, iam, check_mode=check_mode, user_name=user_name, current=before, status=status)
        if outcome.changed:
            outcome.updated.append(f"{kind.label} {before[kind.id_option]} {status}")
    elif body is None:
        raise ModuleFailure(f"{kind.id_option}: user {user_name} has no {kind.noun} {item_id}; give {kind.body_option}")
    elif item_id:
        raise ModuleFailure(
            f"{kind.id_option}: user {user_name} has no {kind.noun} {item_id}; omit it to upload {kind.body_option}"
        )
    else:
        check_limit(kind, items, user_name=user_name)
        uploaded = upload(kind, iam, check_mode=check_mode, user_name=user_name, body=body)
        outcome.created.append(f"{kind.label} {uploaded[kind.id_option] or '(new)'}")
        outcome.after = set_status(
            kind, iam, check_mode=check_mode, user_name=user_name, current=uploaded, status=status
        )

    outcome.result[kind.result_key] = outcome.after
    outcome.result.update((name, outcome.after.get(name)) for name in kind.returns)
    return outcome


def _summary(kind: Uploaded, item: Item) -> Item:
    return {kind.id_option: item[kind.id_option], "status": item["status"]}


def _sorted(kind: Uploaded, items: list[Item]) -> list[Item]:
    # Predicted uploads have no ID yet (check mode): they sort last.
    return sorted(items, key=lambda item: (item[kind.id_option] is None, item[kind.id_option] or ""))


def ensure_bodies(kind: Uploaded, iam: IAM, *, check_mode: bool, user_name: str, bodies: list[str]) -> Outcome:
    """Every body in ``bodies`` uploaded and Active for the user; the user's other items are left alone.

    before/after list {ID, status} of the designated items; the per-user limit is checked before any upload.
    """
    wanted: dict[str, str] = {}
    for body in bodies:
        wanted.setdefault(kind.canonical(body), body)
    # When the list has no bodies (SSH keys), one get per listed item is the least that tells them apart.
    items = read(kind, iam, user_name, bodies_of=lambda _found: bool(wanted))
    if items is None:
        # The roster creates a user before its bodies, so only check mode may find it missing: predict quietly.
        if wanted and not check_mode:
            raise ModuleFailure(f"user_name: user {user_name} does not exist")
        items = []
    matched: list[Item] = []
    missing: list[str] = []
    for canonical, body in wanted.items():
        # moto accepts duplicates: prefer a copy that is already Active.
        copies = [item for item in items if item["canonical"] == canonical]
        copies.sort(key=lambda item: item["status"] != "Active")
        if copies:
            matched.append(public(copies[0]))
        else:
            missing.append(body)
    check_limit(kind, items, user_name=user_name, adding=len(missing))

    created: list[str] = []
    updated: list[str] = []
    after: list[Item] = []
    for item in matched:
        if item["status"] != "Active":
            updated.append(f"{kind.label} {item[kind.id_option]} Active")
        after.append(set_status(kind, iam, check_mode=check_mode, user_name=user_name, current=item, status="Active"))
    for body in missing:
        uploaded = upload(kind, iam, check_mode=check_mode, user_name=user_name, body=body)
        created.append(f"{kind.label} {uploaded[kind.id_option] or '(new)'}")
        after.append(uploaded)
    after = _sorted(kind, after)
    return Outcome(
        before=[_summary(kind, item) for item in _sorted(kind, matched)],
        after=[_summary(kind, item) for item in after],
        created=created,
        updated=updated,
        result={f"{kind.result_key}s": after},
    )
