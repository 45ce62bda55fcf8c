# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal use only: this file is not a public API of the collection and may change at any time.

"""A user's login profile (console password): created, updated, removed, its password delivered safely.

Shared by iam_login_profile and the roster engine. Functions take the IAM verbs, the desired state and
check mode, never a module, and return an Outcome; failures are IAMError or ModuleFailure. No boto3 here.
"""

from __future__ import annotations

import typing as t

from ansible_collections.techsquawks.iam.plugins.module_utils import _compare, _delivery, _passwords
from ansible_collections.techsquawks.iam.plugins.module_utils._iam import IAM, IAMError, send_once
from ansible_collections.techsquawks.iam.plugins.module_utils._module import ModuleFailure
from ansible_collections.techsquawks.iam.plugins.module_utils._outcome import Outcome

# The snake_case ``login_profile`` return value.
Profile = dict[str, t.Any]

# Console sign-in domains per partition; the standard partition is the fallback.
SIGNIN_DOMAINS = {
    "aws": "signin.aws.amazon.com",
    "aws-us-gov": "signin.amazonaws-us-gov.com",
    "aws-cn": "signin.amazonaws.cn",
}
# Diffs mark the password without showing it.
HIDDEN = "(not shown)"
HIDDEN_NEW = "(new password, not shown)"
ALWAYS = "always"


# -- pure helpers ---------------------------------------------------------------------------------


def profile_result(raw: dict[str, t.Any]) -> Profile:
    """The snake_case ``login_profile`` return value from a Get/CreateLoginProfile answer."""
    return {
        "user_name": raw["UserName"],
        "create_date": _compare.iso8601(raw.get("CreateDate")),
        "password_reset_required": bool(raw.get("PasswordResetRequired", False)),
        "max_session_duration": raw.get("MaxSigninSessionDuration"),
    }


def sign_in_url(account: str, partition: str = "aws") -> str:
    """The console sign-in URL of an account (alias or ID) in ``partition``."""
    return f"https://{account}.{SIGNIN_DOMAINS.get(partition, SIGNIN_DOMAINS['aws'])}/console/"


def desired_settings(
    current: Profile | None, *, password_reset_required: bool | None, max_session_duration: int | None
) -> dict[str, t.Any]:
    """The AWS fields (other than the password) that differ from ``current``; None leaves a field unmanaged."""
    changes: dict[str, t.Any] = {}
    reset = password_reset_required
    if reset is not None and (current is None or reset != current["password_reset_required"]):
        changes["PasswordResetRequired"] = reset
    duration = max_session_duration
    if duration is not None and (duration or None) != (current or {}).get("max_session_duration"):
        if duration:
            changes["MaxSigninSessionDuration"] = duration
        elif current is not None:
            changes["ResetMaxSigninSessionDuration"] = True
    return changes


def apply_settings(profile: Profile, changes: dict[str, t.Any]) -> Profile:
    """The profile that results from ``changes`` (the predicted state)."""
    after = dict(profile)
    if "PasswordResetRequired" in changes:
        after["password_reset_required"] = changes["PasswordResetRequired"]
    if "MaxSigninSessionDuration" in changes:
        after["max_session_duration"] = changes["MaxSigninSessionDuration"]
    if changes.get("ResetMaxSigninSessionDuration"):
        after["max_session_duration"] = None
    return after


def choose_password(password: str | None, password_length: int, rules: _passwords.PasswordRules) -> str:
    """``password`` once it satisfies ``rules``, else a generated one; failures name the option."""
    if password is not None:
        violations = _passwords.check_password(password, rules)
        if violations:
            raise ModuleFailure("password: does not satisfy the password policy: " + "; ".join(violations))
        return password
    errors = _passwords.length_errors("password_length", password_length, rules)
    if errors:
        raise ModuleFailure(errors[0])
    return _passwords.generate_password(password_length, rules)


def shown(profile: Profile | None, *, new_password: bool = False) -> dict[str, t.Any]:
    """A profile as the diff shows it: the password marked, never included ({} for no profile)."""
    if profile is None:
        return {}
    return dict(profile, password=HIDDEN_NEW if new_password else HIDDEN)


def _setting_words(current: Profile, after: Profile) -> list[str]:
    words = []
    if after["password_reset_required"] != current["password_reset_required"]:
        words.append(f"console (password reset required: {after['password_reset_required']})")
    if after["max_session_duration"] != current["max_session_duration"]:
        duration = after["max_session_duration"]
        words.append(f"console (max session duration: {f'{duration} s' if duration else 'unset'})")
    return words


# -- reading --------------------------------------------------------------------------------------


def read(iam: IAM, user_name: str) -> Profile | None:
    """The user's login profile, or None when it (or the user) does not exist."""
    raw = iam.get_login_profile(user_name)
    return profile_result(raw) if raw else None


def account_sign_in_url(iam: IAM, *, partition: str, user_arn: str | None, caller_account: t.Callable[[], str]) -> str:
    """Sign-in URL from the first account alias, else the account ID (from ``user_arn``, else the caller's)."""
    aliases = iam.list_account_aliases()
    if aliases:
        account = aliases[0]
    elif user_arn:
        # arn:<partition>:iam::<account>:user/...; saves an STS call.
        account = user_arn.split(":")[4]
    else:
        account = caller_account()
    return sign_in_url(account, partition)


# -- present --------------------------------------------------------------------------------------


def ensure_present(
    iam: IAM,
    *,
    check_mode: bool,
    user_name: str,
    current: Profile | None,
    password: str | None,
    password_length: int,
    password_reset_required: bool | None,
    max_session_duration: int | None,
    update_password: str,
    rules: t.Callable[[], _passwords.PasswordRules],
    sign_in_url: t.Callable[[], str],
    destination: _delivery.Destination | None,
) -> Outcome:
    """Create the profile, or update its settings (and its password with ``update_password=always``).

    ``rules()`` and ``sign_in_url()`` are called only when a password is set. The password reaches
    ``destination`` only once AWS holds it, and never replaces a saved one that AWS did not replace.
    """
    chosen = None
    if current is None or update_password == ALWAYS:
        # Policy checks happen here, before any write.
        chosen = choose_password(password, password_length, rules())
    outcome = Outcome(before=shown(current), after=None)
    url = sign_in_url() if chosen is not None else None
    payload = {"user_name": user_name, "password": chosen, "sign_in_url": url}
    settings = {"password_reset_required": password_reset_required, "max_session_duration": max_session_duration}
    if current is None:
        after, path = _create(iam, check_mode=check_mode, payload=payload, settings=settings, destination=destination)
        reset = " (reset required)" if after["password_reset_required"] else ""
        outcome.created = [f"console password{reset}"]
    else:
        after, path = _update(
            iam, check_mode=check_mode, current=current, payload=payload, settings=settings, destination=destination
        )
        outcome.updated = (["console password (new)"] if chosen is not None else []) + _setting_words(current, after)
    outcome.after = shown(after, new_password=chosen is not None)
    outcome.result = {"login_profile": after}
    if url is not None:
        outcome.result["sign_in_url"] = url
    if path is not None:
        outcome.result["secret_file"] = path
        outcome.delivered = [path]
    if chosen is not None and password is None and destination is None and not check_mode:
        outcome.result["password"] = chosen
    return outcome


def _create(
    iam: IAM,
    *,
    check_mode: bool,
    payload: dict[str, t.Any],
    settings: dict[str, t.Any],
    destination: _delivery.Destination | None,
) -> tuple[Profile, str | None]:
    """Create the profile with its password and settings, then deliver the password (else remove it again)."""
    name = payload["user_name"]
    changes = desired_settings(None, **settings)
    predicted = apply_settings(
        {"user_name": name, "create_date": None, "password_reset_required": False, "max_session_duration": None},
        changes,
    )
    if check_mode:
        return predicted, None
    iam.mark_fresh(name)  # the user may have been created by the previous task, on another IAM endpoint
    if destination is not None:
        try:
            destination.expect([])
        except _delivery.DeliveryError as exc:
            raise ModuleFailure(f"secret_file: {exc}") from None
    # After a lost answer, a profile that exists now was made by this request: it holds the password sent.
    created = profile_result(
        send_once(
            lambda: iam.create_login_profile(name, Password=payload["password"], **changes),
            lambda: iam.get_login_profile(name),
        )
    )
    path = None
    try:
        reset = changes.get("PasswordResetRequired")
        if reset is not None and created["password_reset_required"] != reset:
            # AWS applies the flag on creation (and echoes it); moto ignores it, so it is set again with the
            # same password. Never triggered on AWS, where re-sending a password could hit reuse prevention.
            iam.update_login_profile(name, Password=payload["password"], PasswordResetRequired=reset)
        if destination is not None:
            try:
                path = destination.deliver(payload)
            except _delivery.DeliveryError as exc:
                raise ModuleFailure(f"secret_file: {exc}") from exc
    except (IAMError, ModuleFailure) as exc:
        raise _remove_again(iam, name, exc) from exc
    return dict(predicted, create_date=created["create_date"]), path


def _remove_again(iam: IAM, name: str, exc: IAMError | ModuleFailure) -> ModuleFailure:
    """Delete a profile just created whose password nobody would hold; say what was left."""
    details = exc.details if isinstance(exc, ModuleFailure) else {"error_code": exc.code}
    try:
        iam.delete_login_profile(name)
    except IAMError as undo:
        return ModuleFailure(
            f"{exc}. Removing the new login profile of {name} again failed too ({undo}): it has a password nobody "
            "holds; remove it (state=absent) or set a new one (update_password=always)",
            **details,
        )
    return ModuleFailure(
        f"{exc}. The login profile of {name} was removed again (no console password is set)", **details
    )


def _update(
    iam: IAM,
    *,
    check_mode: bool,
    current: Profile,
    payload: dict[str, t.Any],
    settings: dict[str, t.Any],
    destination: _delivery.Destination | None,
) -> tuple[Profile, str | None]:
    """Change the settings (and the password, when one is chosen) of an existing profile."""
    name, password = current["user_name"], payload["password"]
    changes = desired_settings(current, **settings)
    if password is not None:
        # Send the reset flag with every new password, so it is explicit rather than left to the API.
        changes.setdefault("PasswordResetRequired", current["password_reset_required"])
    elif not changes:
        return current, None
    after = apply_settings(current, changes)
    if check_mode:
        return after, None
    if password is not None:
        return after, _replace_password(iam, name=name, payload=payload, changes=changes, destination=destination)
    # AWS keeps the password when UpdateLoginProfile has none; moto 5.2 deletes the profile instead.
    iam.update_login_profile(name, **changes)
    if iam.get_login_profile(name) is None:
        option = "password_reset_required" if "PasswordResetRequired" in changes else "max_session_duration"
        raise ModuleFailure(
            f"{option}: the endpoint deleted the login profile of {name} when asked to change only "
            f"{', '.join(sorted(changes))} (AWS keeps the password; moto does not); set a new password with "
            "update_password=always"
        )
    return after, None


def _replace_password(
    iam: IAM,
    *,
    name: str,
    payload: dict[str, t.Any],
    changes: dict[str, t.Any],
    destination: _delivery.Destination | None,
) -> str | None:
    """Send a new password; the file that holds the working one is replaced only once AWS accepted it."""
    if destination is None:
        iam.update_login_profile(name, Password=payload["password"], **changes)
        return None
    try:
        staged = destination.stage(payload)
    except _delivery.DeliveryError as exc:
        raise ModuleFailure(f"secret_file: {exc}") from exc
    try:
        # A refusal (PasswordPolicyViolation, reuse prevention, any AWS error) leaves the saved password as it was.
        iam.update_login_profile(name, Password=payload["password"], **changes)
        try:
            return staged.commit()
        except _delivery.DeliveryError as exc:
            raise ModuleFailure(
                f"secret_file: {exc}. AWS already has the new password of {name}, which is now lost: run again "
                "with update_password=always to set another"
            ) from exc
    finally:
        staged.discard()  # nothing left to discard once committed


# -- absent ---------------------------------------------------------------------------------------


def ensure_absent(iam: IAM, *, check_mode: bool, current: Profile | None) -> Outcome:
    """Delete the login profile (console access only; the user and its other credentials stay)."""
    outcome = Outcome(before=current or {}, after={}, result={"login_profile": {}})
    if current is not None:
        if not check_mode:
            iam.delete_login_profile(current["user_name"])
        outcome.removed = ["console password"]
    return outcome
