"""_passwords: policy normalisation, generation and validation (pure; property-based where it pays)."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.techsquawks.iam.plugins.module_utils import _passwords
from ansible_collections.techsquawks.iam.plugins.module_utils._passwords import (
    DEFAULT_RULES,
    SYMBOLS,
    PasswordRules,
    check_password,
    generate_password,
    rules_from_policy,
)

CLASS_ALPHABETS = {
    "uppercase": string.ascii_uppercase,
    "lowercase": string.ascii_lowercase,
    "numbers": string.digits,
    "symbols": "!@#$%^&*()_+-=[]{}|'",
}

# GetAccountPasswordPolicy answers (None: the account has no custom policy, AWS's default applies).
aws_policies = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {
            "MinimumPasswordLength": st.integers(min_value=6, max_value=128),
            "RequireSymbols": st.booleans(),
            "RequireNumbers": st.booleans(),
            "RequireUppercaseCharacters": st.booleans(),
            "RequireLowercaseCharacters": st.booleans(),
        }
    ),
)


def oracle_classes(password: str) -> set[str]:
    return {name for name, chars in CLASS_ALPHABETS.items() if set(password) & set(chars)}


def test_symbols_are_exactly_the_ones_iam_counts():
    documented = "! @ # $ % ^ & * ( ) _ + - = [ ] { } | '"  # the IAM API reference, RequireSymbols
    assert set(SYMBOLS) == set(documented.replace(" ", ""))


# -- generation -------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(policy=aws_policies, data=st.data())
def test_generated_password_has_the_length_and_every_required_class(policy, data):
    rules = rules_from_policy(policy)
    length = data.draw(st.integers(min_value=rules.min_length, max_value=128), label="length")

    password = generate_password(length, rules)

    assert len(password) == length
    present = oracle_classes(password)
    for name in rules.required:
        assert name in present, f"{name} missing from a password generated for {policy}"
    assert len(present) >= rules.min_classes
    assert set(password) <= set("".join(CLASS_ALPHABETS.values()))
    assert check_password(password, rules) == []


@settings(max_examples=100, deadline=None)
@given(length=st.integers(min_value=8, max_value=128))
def test_generated_password_meets_the_aws_default_policy_three_of_four_classes(length):
    password = generate_password(length, DEFAULT_RULES)
    assert len(oracle_classes(password)) >= 3
    assert len(password) == length


def test_generated_passwords_come_from_the_secrets_module(monkeypatch):
    drawn: list[str] = []
    real_choice = _passwords.secrets.choice

    def recording_choice(seq):
        value = real_choice(seq)
        drawn.append(value)
        return value

    monkeypatch.setattr(_passwords.secrets, "choice", recording_choice)
    password = generate_password(20, DEFAULT_RULES)
    assert sorted(drawn) == sorted(password)


def test_generated_passwords_differ_between_calls():
    assert len({generate_password(20, DEFAULT_RULES) for _attempt in range(50)}) == 50


def test_generation_refuses_a_length_below_the_policy_minimum():
    with pytest.raises(ValueError, match="below the minimum length 14"):
        generate_password(10, PasswordRules(min_length=14))


# -- validation ---------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    policy=aws_policies,
    password=st.text(alphabet=string.ascii_letters + string.digits + SYMBOLS + "~ é", min_size=1, max_size=140),
)
def test_check_password_agrees_with_an_independent_reading_of_the_policy(policy, password):
    rules = rules_from_policy(policy)
    present = oracle_classes(password)
    if policy is None:
        expected_ok = 8 <= len(password) <= 128 and len(present) >= 3
    else:
        required = {
            name
            for name, field in (
                ("uppercase", "RequireUppercaseCharacters"),
                ("lowercase", "RequireLowercaseCharacters"),
                ("numbers", "RequireNumbers"),
                ("symbols", "RequireSymbols"),
            )
            if policy[field]
        }
        expected_ok = policy["MinimumPasswordLength"] <= len(password) <= 128 and required <= present
    assert (check_password(password, rules) == []) is expected_ok


def test_short_password_violation_names_the_minimum_length_rule():
    rules = rules_from_policy({"MinimumPasswordLength": 14})
    assert check_password("Short1!x", rules) == [
        "the account password policy requires at least 14 characters (the password has 8)"
    ]


@pytest.mark.parametrize(
    ("field", "password", "rule"),
    [
        ("RequireUppercaseCharacters", "lower-case-only-1", "an uppercase letter (A-Z)"),
        ("RequireLowercaseCharacters", "UPPER-CASE-ONLY-1", "a lowercase letter (a-z)"),
        ("RequireNumbers", "No-Numbers-Here", "a number (0-9)"),
        ("RequireSymbols", "NoSymbolsHere123", "a symbol (! @ # $"),
    ],
)
def test_missing_character_class_violation_names_the_class(field, password, rule):
    violations = check_password(password, rules_from_policy({"MinimumPasswordLength": 6, field: True}))
    assert len(violations) == 1
    assert rule in violations[0]


def test_a_symbol_iam_does_not_count_does_not_satisfy_require_symbols():
    violations = check_password("Tilde~Only1", rules_from_policy({"MinimumPasswordLength": 6, "RequireSymbols": True}))
    assert len(violations) == 1
    assert "symbol" in violations[0]


def test_default_policy_violation_names_three_of_four_classes():
    violations = check_password("lowercase123", DEFAULT_RULES)
    assert violations == [
        "the AWS default password policy requires at least 3 of uppercase letters, lowercase letters, numbers and "
        "symbols (! @ # $ % ^ & * ( ) _ + - = [ ] { } | '); the password has 2"
    ]


def test_default_policy_requires_eight_characters():
    assert "at least 8 characters" in check_password("Ab1!", DEFAULT_RULES)[0]


def test_violations_never_quote_the_password():
    password = "secretvalue"
    violations = check_password(password, rules_from_policy({"MinimumPasswordLength": 20, "RequireSymbols": True}))
    assert len(violations) == 2, violations  # too short, and no symbol
    for violation in violations:
        assert password not in violation


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("", "password must not be empty"),
        ("x" * 129, "password is 129 characters long; IAM allows at most 128"),
        ("Bell\x07Char1!", "password may contain only printable characters up to U+00FF"),
        ("Latin\u0101Ext1!", "password may contain only printable characters up to U+00FF"),
    ],
)
def test_password_input_errors_follow_iam_password_type(password, message):
    errors = _passwords.password_input_errors("password", password)
    assert errors
    assert errors[0].startswith(message)
    assert all(password not in error for error in errors if password)


def test_password_input_accepts_latin1_tab_and_newlines():
    assert _passwords.password_input_errors("password", "Tab\there\nCR\r é ÿ 1A!") == []
    assert _passwords.password_input_errors("password", None) == []


@pytest.mark.parametrize(
    ("length", "error"),
    [
        (13, "password_length 13 is below the minimum length 14 that the account password policy requires"),
        (129, "password_length 129 is above 128, the longest password IAM accepts"),
    ],
)
def test_length_errors_name_the_option_and_bound(length, error):
    assert _passwords.length_errors("password_length", length, PasswordRules(min_length=14)) == [error]
    assert _passwords.length_errors("password_length", 14, PasswordRules(min_length=14)) == []


# -- the account password policy --------------------------------------------------------------------


def test_no_custom_policy_means_the_aws_default_rules():
    assert rules_from_policy(None) == DEFAULT_RULES
    assert DEFAULT_RULES.min_length == 8
    assert DEFAULT_RULES.min_classes == 3
    assert _passwords.policy_from_aws(None) is None


def test_custom_policy_rules_require_only_the_classes_it_names():
    rules = rules_from_policy({"MinimumPasswordLength": 12, "RequireSymbols": True, "RequireNumbers": False})
    assert rules == PasswordRules(min_length=12, required=frozenset({"symbols"}))


def test_policy_from_aws_fills_fields_aws_omits_when_unset():
    policy = _passwords.policy_from_aws({"MinimumPasswordLength": 10, "RequireSymbols": True, "ExpirePasswords": False})
    assert policy == {
        "min_password_length": 10,
        "require_symbols": True,
        "require_numbers": False,
        "require_uppercase": False,
        "require_lowercase": False,
        "allow_users_to_change_password": False,
        "max_password_age": 0,
        "password_reuse_prevention": 0,
        "hard_expiry": False,
        "expire_passwords": False,
    }


def test_merge_policy_keeps_current_values_for_unset_options():
    current = _passwords.policy_from_aws(
        {"MinimumPasswordLength": 14, "RequireSymbols": True, "MaxPasswordAge": 90, "PasswordReusePrevention": 5}
    )
    merged = _passwords.merge_policy(current, {"min_password_length": 16, "require_symbols": None, "state": "present"})
    assert merged == dict(current, min_password_length=16)


def test_merge_policy_without_a_current_policy_starts_from_the_api_defaults():
    merged = _passwords.merge_policy(None, {"require_numbers": True})
    assert merged == dict(_passwords.API_DEFAULTS, require_numbers=True, expire_passwords=False)


def test_policy_request_sends_every_field_but_leaves_out_zero_age_and_reuse():
    policy = _passwords.merge_policy(None, {"min_password_length": 12, "hard_expiry": True})
    assert _passwords.policy_request(policy) == {
        "MinimumPasswordLength": 12,
        "RequireSymbols": False,
        "RequireNumbers": False,
        "RequireUppercaseCharacters": False,
        "RequireLowercaseCharacters": False,
        "AllowUsersToChangePassword": False,
        "HardExpiry": True,
    }
    with_age = _passwords.policy_request(dict(policy, max_password_age=90, password_reuse_prevention=24))
    assert with_age["MaxPasswordAge"] == 90
    assert with_age["PasswordReusePrevention"] == 24


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"min_password_length": 5}, "min_password_length must be between 6 and 128, got 5"),
        ({"min_password_length": 129}, "min_password_length must be between 6 and 128, got 129"),
        ({"max_password_age": -1}, "max_password_age must be between 0 and 1095, got -1"),
        ({"max_password_age": 1096}, "max_password_age must be between 0 and 1095, got 1096"),
        ({"password_reuse_prevention": 25}, "password_reuse_prevention must be between 0 and 24, got 25"),
    ],
)
def test_policy_bounds_errors_name_the_option(params, error):
    assert _passwords.policy_bounds_errors(params) == [error]


def test_policy_bounds_accept_the_limits_and_unset_options():
    params = {"min_password_length": 128, "max_password_age": 0, "password_reuse_prevention": 24, "hard_expiry": None}
    assert _passwords.policy_bounds_errors(params) == []
