# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal use only: this file is not a public API of the collection and may change at any time.

"""IAM password rules: the account password policy normalised, checked and satisfied. No boto3 here.

AWS applies a fixed *default* policy when the account has no custom one (min 8 characters, at least
three of four character classes), while UpdateAccountPasswordPolicy fills every field it is not given
with a *parameter* default (min 6, nothing required). Both live here, so the two modules agree.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
import string
import typing as t

# The only characters IAM counts as symbols (UpdateAccountPasswordPolicy RequireSymbols documentation).
SYMBOLS = "!@#$%^&*()_+-=[]{}|'"
PASSWORD_MAX = 128
# botocore passwordType: tab, LF, CR and U+0020..U+00FF.
_PASSWORD_CHARSET_RE = re.compile(r"^[\t\n\r\x20-\xff]+$")

# AWS's default policy when the account has none (IAM User Guide, "Default password policy").
DEFAULT_MIN_LENGTH = 8
DEFAULT_MIN_CLASSES = 3
# Bounds of a custom policy (botocore minimumPasswordLengthType, maxPasswordAgeType, passwordReusePreventionType).
CUSTOM_MIN_LENGTH = (6, 128)
MAX_AGE = (0, 1095)
REUSE_PREVENTION = (0, 24)

# Character classes in the order messages list them: name -> (alphabet, human description).
CLASSES: dict[str, tuple[str, str]] = {
    "uppercase": (string.ascii_uppercase, "an uppercase letter (A-Z)"),
    "lowercase": (string.ascii_lowercase, "a lowercase letter (a-z)"),
    "numbers": (string.digits, "a number (0-9)"),
    "symbols": (SYMBOLS, f"a symbol ({' '.join(SYMBOLS)})"),
}

# iam_password_policy option name -> AWS field; the values UpdateAccountPasswordPolicy uses for any
# field it is not sent (it does not support partial updates).
POLICY_FIELDS: dict[str, str] = {
    "min_password_length": "MinimumPasswordLength",
    "require_symbols": "RequireSymbols",
    "require_numbers": "RequireNumbers",
    "require_uppercase": "RequireUppercaseCharacters",
    "require_lowercase": "RequireLowercaseCharacters",
    "allow_users_to_change_password": "AllowUsersToChangePassword",
    "max_password_age": "MaxPasswordAge",
    "password_reuse_prevention": "PasswordReusePrevention",
    "hard_expiry": "HardExpiry",
}
API_DEFAULTS: dict[str, t.Any] = {
    "min_password_length": 6,
    "require_symbols": False,
    "require_numbers": False,
    "require_uppercase": False,
    "require_lowercase": False,
    "allow_users_to_change_password": False,
    "max_password_age": 0,
    "password_reuse_prevention": 0,
    "hard_expiry": False,
}
_CLASS_FIELDS = {
    "uppercase": "require_uppercase",
    "lowercase": "require_lowercase",
    "numbers": "require_numbers",
    "symbols": "require_symbols",
}


@dataclasses.dataclass(frozen=True)
class PasswordRules:
    """What a password must satisfy: a minimum length, classes each required, a minimum count of classes."""

    min_length: int
    required: frozenset[str] = frozenset()
    min_classes: int = 0
    source: str = "the account password policy"

    @property
    def max_length(self) -> int:
        return PASSWORD_MAX


DEFAULT_RULES = PasswordRules(
    min_length=DEFAULT_MIN_LENGTH, min_classes=DEFAULT_MIN_CLASSES, source="the AWS default password policy"
)


# -- the account password policy (iam_password_policy) ---------------------------------------------


def policy_from_aws(raw: dict[str, t.Any] | None) -> dict[str, t.Any] | None:
    """GetAccountPasswordPolicy's PasswordPolicy as snake_case, with the API defaults for omitted fields.

    AWS omits MaxPasswordAge and PasswordReusePrevention when they are unset (0 here); None stays None
    (no custom policy).
    """
    if raw is None:
        return None
    policy = {name: raw.get(field, API_DEFAULTS[name]) for name, field in POLICY_FIELDS.items()}
    for name in ("max_password_age", "password_reuse_prevention"):
        policy[name] = int(policy[name] or 0)
    policy["min_password_length"] = int(policy["min_password_length"])
    for name in ("require_symbols", "require_numbers", "require_uppercase", "require_lowercase"):
        policy[name] = bool(policy[name])
    policy["allow_users_to_change_password"] = bool(policy["allow_users_to_change_password"])
    policy["hard_expiry"] = bool(policy["hard_expiry"])
    policy["expire_passwords"] = policy["max_password_age"] > 0
    return policy


def merge_policy(current: dict[str, t.Any] | None, requested: dict[str, t.Any]) -> dict[str, t.Any]:
    """The full policy to send: requested values, else the current ones, else the API defaults."""
    base = dict(API_DEFAULTS)
    if current:
        base.update({name: current[name] for name in POLICY_FIELDS})
    base.update({name: value for name, value in requested.items() if name in POLICY_FIELDS and value is not None})
    base["expire_passwords"] = base["max_password_age"] > 0
    return base


def policy_request(policy: dict[str, t.Any]) -> dict[str, t.Any]:
    """UpdateAccountPasswordPolicy parameters for a full policy.

    MaxPasswordAge and PasswordReusePrevention accept only 1 and up: 0 ("never"/"none") is requested by
    leaving them out, which the API then resets to 0.
    """
    params = {field: policy[name] for name, field in POLICY_FIELDS.items()}
    for name in ("max_password_age", "password_reuse_prevention"):
        if not policy[name]:
            del params[POLICY_FIELDS[name]]
    return params


def policy_bounds_errors(params: dict[str, t.Any]) -> list[str]:
    """Bounds of a custom policy, checked before any AWS call (moto checks only the upper ones)."""
    errors = []
    for name, (low, high) in (
        ("min_password_length", CUSTOM_MIN_LENGTH),
        ("max_password_age", MAX_AGE),
        ("password_reuse_prevention", REUSE_PREVENTION),
    ):
        value = params.get(name)
        if value is not None and not low <= value <= high:
            errors.append(f"{name} must be between {low} and {high}, got {value}")
    return errors


# -- rules a password must satisfy (iam_login_profile) -----------------------------------------------


def rules_from_policy(raw: dict[str, t.Any] | None) -> PasswordRules:
    """The rules of GetAccountPasswordPolicy's PasswordPolicy, or AWS's default policy when there is none."""
    policy = policy_from_aws(raw)
    if policy is None:
        return DEFAULT_RULES
    required = frozenset(name for name, field in _CLASS_FIELDS.items() if policy[field])
    return PasswordRules(min_length=policy["min_password_length"], required=required)


def classes_in(password: str) -> set[str]:
    """Names of the character classes that occur in ``password`` (IAM's symbol list only)."""
    return {name for name, (alphabet, _text) in CLASSES.items() if any(char in alphabet for char in password)}


def check_password(password: str, rules: PasswordRules) -> list[str]:
    """The rules ``password`` violates, each described as "<source> requires ..."; empty when it complies."""
    violations = []
    if len(password) < rules.min_length:
        violations.append(
            f"{rules.source} requires at least {rules.min_length} characters (the password has {len(password)})"
        )
    if len(password) > rules.max_length:
        violations.append(f"IAM allows at most {rules.max_length} characters (the password has {len(password)})")
    present = classes_in(password)
    for name in CLASSES:
        if name in rules.required and name not in present:
            violations.append(f"{rules.source} requires {CLASSES[name][1]}")
    if len(present) < rules.min_classes:
        violations.append(
            f"{rules.source} requires at least {rules.min_classes} of uppercase letters, lowercase letters, "
            f"numbers and symbols ({' '.join(SYMBOLS)}); the password has {len(present)}"
        )
    return violations


def length_errors(option: str, length: int, rules: PasswordRules) -> list[str]:
    """Whether a password of ``length`` characters can satisfy ``rules``."""
    if length < rules.min_length:
        return [f"{option} {length} is below the minimum length {rules.min_length} that {rules.source} requires"]
    if length > PASSWORD_MAX:
        return [f"{option} {length} is above {PASSWORD_MAX}, the longest password IAM accepts"]
    return []


def generate_password(length: int, rules: PasswordRules) -> str:
    """A random password of ``length`` that satisfies ``rules``, from the ``secrets`` CSPRNG.

    Every class appears at least once (at least one of each required class, and all four when the
    length allows, which also meets the default policy's three of four); the rest is uniform over
    letters, digits and IAM's symbols, and the result is shuffled.
    """
    if length_errors("length", length, rules):
        raise ValueError(length_errors("length", length, rules)[0])
    required = [name for name in CLASSES if name in rules.required]
    optional = [name for name in CLASSES if name not in rules.required]
    mandatory = (required + optional)[: min(length, len(CLASSES))]
    if len(mandatory) < max(len(required), rules.min_classes):
        raise ValueError(f"length {length} is too short for {rules.source}")
    alphabet = "".join(chars for chars, _text in CLASSES.values())
    chars = [secrets.choice(CLASSES[name][0]) for name in mandatory]
    chars += [secrets.choice(alphabet) for _position in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def password_input_errors(option: str, password: str | None) -> list[str]:
    """IAM's own limits on any password (1-128 characters of tab, LF, CR, U+0020-U+00FF)."""
    if password is None:
        return []
    if not password:
        return [f"{option} must not be empty"]
    errors = []
    if len(password) > PASSWORD_MAX:
        errors.append(f"{option} is {len(password)} characters long; IAM allows at most {PASSWORD_MAX}")
    if not _PASSWORD_CHARSET_RE.match(password):
        errors.append(
            f"{option} may contain only printable characters up to U+00FF, tab, line feed and carriage return"
        )
    return errors
