"""Credential hygiene in the roster: remediation policies, require_mfa, roster drift under an owned path.

The decisions are tested pure (_hygiene); the engine is run through iam_roster's main() against moto in-process,
with the clock moved forward (keys and passwords age) instead of waiting.
"""

from __future__ import annotations

import datetime
import json
import typing as t

import boto3
import pytest

from ansible_collections.techsquawks.iam.plugins.module_utils import _access_keys, _hygiene
from ansible_collections.techsquawks.iam.plugins.modules import iam_roster

NOW = datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC)
DAY = datetime.timedelta(days=1)


def key(key_id: str, status: str = "Active", age: int = 0) -> dict[str, t.Any]:
    return {"AccessKeyId": key_id, "Status": status, "CreateDate": NOW - age * DAY, "UserName": "u"}


# -- the decisions --------------------------------------------------------------------------------


def test_never_used_credential_counts_from_its_creation():
    assert _hygiene.idle_days(None, NOW - 50 * DAY, NOW) == 50
    assert _hygiene.idle_days(NOW - 3 * DAY, NOW - 50 * DAY, NOW) == 3


def test_active_key_unused_for_the_threshold_is_deactivated_and_one_day_less_is_not():
    policy = _hygiene.Policy(deactivate_keys_unused_days=45)
    keys = [key("OLD", age=100), key("NEW", age=100)]
    used = {"OLD": NOW - 45 * DAY, "NEW": NOW - 44 * DAY}
    actions, warnings = _hygiene.key_actions(keys, used, None, policy, NOW)
    assert [(a.key_id, a.action) for a in actions] == [("OLD", "deactivate")]
    assert "unused for 45 days (deactivate_keys_unused_days 45)" in actions[0].reason
    assert warnings == []


def test_the_key_an_entry_keeps_is_warned_about_never_deactivated():
    policy = _hygiene.Policy(deactivate_keys_unused_days=45)
    actions, warnings = _hygiene.key_actions([key("KEPT", age=60)], {"KEPT": None}, "KEPT", policy, NOW)
    assert actions == []
    assert warnings == [
        "access key KEPT never used for 60 days (deactivate_keys_unused_days 45); the entry asks for an access key, "
        "so it is kept"
    ]


def test_inactive_key_is_deleted_only_after_the_deactivation_threshold_plus_the_inactive_days():
    policy = _hygiene.Policy(deactivate_keys_unused_days=45, delete_keys_inactive_days=30)
    assert policy.delete_after() == 75
    keys = [key("A", "Inactive", age=200), key("B", "Inactive", age=200)]
    used = {"A": NOW - 75 * DAY, "B": NOW - 74 * DAY}
    actions = _hygiene.key_actions(keys, used, None, policy, NOW)[0]
    assert [(a.key_id, a.action) for a in actions] == [("A", "delete")]
    # Without a deactivation policy, the inactive days count from the last use.
    assert _hygiene.Policy(delete_keys_inactive_days=30).delete_after() == 30


def test_only_keys_whose_last_use_decides_something_are_read():
    keys = [key("ACTIVE"), key("INACTIVE", "Inactive")]
    assert _hygiene.keys_needing_last_use(keys, _hygiene.Policy(deactivate_keys_unused_days=1)) == ["ACTIVE"]
    assert _hygiene.keys_needing_last_use(keys, _hygiene.Policy(delete_keys_inactive_days=1)) == ["INACTIVE"]
    assert _hygiene.keys_needing_last_use(keys, _hygiene.Policy(rotate_keys_after_days=1)) == []


def test_console_password_unused_is_removed_unless_the_entry_keeps_it():
    policy = _hygiene.Policy(remove_console_unused_days=90)
    action, warning = _hygiene.console_action(NOW - 100 * DAY, None, kept=False, policy=policy, now=NOW)
    assert action is not None
    assert action.action == "remove_console"
    assert warning is None
    assert "never used for 100 days" in action.reason
    action, warning = _hygiene.console_action(NOW - 100 * DAY, NOW - 10 * DAY, kept=False, policy=policy, now=NOW)
    assert (action, warning) == (None, None)
    action, warning = _hygiene.console_action(NOW - 100 * DAY, None, kept=True, policy=policy, now=NOW)
    assert action is None
    assert "the entry asks for console access, so it is kept" in warning


def test_an_entry_policy_overrides_the_rosters_and_false_exempts_it():
    roster = _hygiene.Policy.from_option({"deactivate_keys_unused_days": 45, "remove_console_unused_days": 90})
    assert roster.overridden(False) == _hygiene.Policy()
    assert roster.overridden(None) == roster
    mine = roster.overridden({"deactivate_keys_unused_days": 0, "delete_keys_inactive_days": 10})
    assert mine == _hygiene.Policy(remove_console_unused_days=90, delete_keys_inactive_days=10)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"deactivate_unused": 3}, "remediation: unknown key deactivate_unused"),
        ({"delete_keys_inactive_days": -1}, "remediation.delete_keys_inactive_days must be a whole number"),
        ({"remove_console_unused_days": "90"}, "remediation.remove_console_unused_days must be a whole number"),
        ("often", "remediation must be a dict with rotate_keys_after_days"),
    ],
)
def test_bad_remediation_values_are_rejected_naming_the_key(value, message):
    errors = _hygiene.policy_errors("remediation", value, may_be_false=True)
    assert any(error.startswith(message) for error in errors), errors


def test_require_mfa_values():
    assert [_hygiene.require_mfa_mode(v) for v in (None, False, True, "report", "deny")] == [
        None,
        None,
        "report",
        "report",
        "deny",
    ]
    with pytest.raises(ValueError, match="require_mfa must be false, true or report, or deny, not 'maybe'"):
        _hygiene.require_mfa_mode("maybe")
    assert _hygiene.mfa_verdict("deny", console=True, mfa=False) == "deny"
    assert _hygiene.mfa_verdict("deny", console=True, mfa=True) is None
    assert _hygiene.mfa_verdict("report", console=False, mfa=False) is None


# -- the engine, through iam_roster -----------------------------------------------------------------


@pytest.fixture
def creds(tmp_path):
    return tmp_path / "credentials"


@pytest.fixture
def roster(run_module, creds, api_calls) -> t.Callable[..., dict[str, t.Any]]:
    def run(users: list[dict[str, t.Any]], *, check_mode: bool = False, **options: t.Any) -> dict[str, t.Any]:
        api_calls.clear()
        args = {"users": users, "credentials_dir": str(creds), **options}
        return run_module(iam_roster, args, check_mode=check_mode, diff=True)

    return run


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> t.Callable[[int], None]:
    """Move the engine's clock ``days`` ahead of real time (moto dates keys and users with real time)."""

    def ahead(days: int) -> None:
        moment = datetime.datetime.now(datetime.UTC) + days * DAY
        monkeypatch.setattr(_access_keys, "utc_now", lambda: moment)

    return ahead


def by_name(result: dict[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    return {user["name"]: user for user in result["users"]}


def statuses(iam_client, user: str) -> dict[str, str]:
    return {k["AccessKeyId"]: k["Status"] for k in iam_client.list_access_keys(UserName=user)["AccessKeyMetadata"]}


def converges_then_stays(roster, users, api_calls, **options) -> dict[str, t.Any]:
    """Check mode predicts with no mutating call; the real run does it; a re-run changes nothing."""
    preview = roster(users, check_mode=True, **options)
    assert api_calls.mutating == [], api_calls
    applied = roster(users, **options)
    assert applied.get("failed") is not True, applied.get("msg")
    assert by_name(preview), "the preview lists the users"
    assert set(by_name(preview)) == set(by_name(applied))
    for name, user in by_name(preview).items():
        mine = by_name(applied)[name]
        assert (user["changed"], user["removed"]) == (mine["changed"], mine["removed"])
    again = roster(users, **options)
    assert again["changed"] is False, again["users"]
    assert api_calls.mutating == []
    return applied


def test_unused_keys_are_deactivated_then_deleted_previewed_first(aws, iam_client, roster, clock, api_calls):
    iam_client.create_user(UserName="bob")
    old = iam_client.create_access_key(UserName="bob")["AccessKey"]["AccessKeyId"]
    policy = {"deactivate_keys_unused_days": 45, "delete_keys_inactive_days": 30}
    users = [{"name": "bob"}]

    clock(44)
    assert roster(users, remediation=policy)["changed"] is False

    clock(50)
    applied = converges_then_stays(roster, users, api_calls, remediation=policy)
    bob = by_name(applied)["bob"]
    assert bob["changed"] == [f"access key {old} deactivated (never used for 50 days (deactivate_keys_unused_days 45))"]
    assert statuses(iam_client, "bob") == {old: "Inactive"}
    assert "access_keys" in json.dumps(applied["diff"])

    clock(76)
    applied = converges_then_stays(roster, users, api_calls, remediation=policy)
    assert by_name(applied)["bob"]["removed"] == [
        f"access key {old} (inactive, never used for 76 days (delete_keys_inactive_days 30 after "
        "deactivate_keys_unused_days 45))"
    ]
    assert statuses(iam_client, "bob") == {}


def test_a_key_used_recently_is_kept(aws, iam_client, roster, clock):
    iam_client.create_user(UserName="carol")
    created = iam_client.create_access_key(UserName="carol")["AccessKey"]
    sts = boto3.client(
        "sts",
        region_name="us-east-1",
        aws_access_key_id=created["AccessKeyId"],
        aws_secret_access_key=created["SecretAccessKey"],
        aws_session_token=None,
    )
    sts.get_caller_identity()  # moto records the key's last use
    clock(30)
    result = roster([{"name": "carol"}], remediation={"deactivate_keys_unused_days": 45})
    assert result["changed"] is False
    assert statuses(iam_client, "carol") == {created["AccessKeyId"]: "Active"}


def test_an_entry_that_asks_for_a_key_keeps_it_with_a_warning_and_exempt_entries_are_untouched(
    aws, iam_client, roster, clock
):
    for name in ("alice", "robot"):
        iam_client.create_user(UserName=name)
    iam_client.create_access_key(UserName="robot")
    first = roster([{"name": "alice", "access_key": True}])
    assert by_name(first)["alice"]["created"]
    clock(60)
    users = [{"name": "alice", "access_key": True}, {"name": "robot", "remediation": False}]
    result = roster(users, remediation={"deactivate_keys_unused_days": 45})
    assert result["changed"] is False
    assert any("the entry asks for an access key, so it is kept" in w for w in by_name(result)["alice"]["warnings"])
    assert any("the entry asks for an access key" in line for line in result["summary"])
    assert list(statuses(iam_client, "robot").values()) == ["Active"]


def test_roster_wide_rotation_replaces_an_old_key_after_delivering_the_new_one(aws, iam_client, roster, clock, creds):
    iam_client.create_user(UserName="dave")
    old = iam_client.create_access_key(UserName="dave")["AccessKey"]["AccessKeyId"]
    clock(100)
    result = roster([{"name": "dave", "access_key": True}], remediation={"rotate_keys_after_days": 90})
    dave = by_name(result)["dave"]
    assert dave["changed"] == [f"access key {old} deactivated"], dave
    assert (creds / "dave" / "credentials").is_file()
    assert sorted(statuses(iam_client, "dave").values()) == ["Active", "Inactive"]
    # The entry's own rotate_after_days wins over the roster's.
    result = roster(
        [{"name": "dave", "access_key": {"rotate_after_days": 365}}], remediation={"rotate_keys_after_days": 1}
    )
    assert result["changed"] is False


def test_unused_console_password_is_removed_unless_the_entry_asks_for_console(
    aws, iam_client, roster, clock, api_calls
):
    for name in ("erin", "frank"):
        iam_client.create_user(UserName=name)
        iam_client.create_login_profile(UserName=name, Password="Aa1!" + "x" * 16)
    users = [{"name": "erin"}, {"name": "frank", "console": True}]
    clock(100)
    applied = converges_then_stays(roster, users, api_calls, remediation={"remove_console_unused_days": 90})
    erin, frank = by_name(applied)["erin"], by_name(applied)["frank"]
    assert erin["removed"] == ["console password (never used for 100 days (remove_console_unused_days 90))"]
    assert frank["removed"] == []
    assert any("so it is kept" in w for w in frank["warnings"])
    with pytest.raises(iam_client.exceptions.NoSuchEntityException):
        iam_client.get_login_profile(UserName="erin")
    iam_client.get_login_profile(UserName="frank")


def test_require_mfa_reports_or_denies_console_users_without_mfa(aws, iam_client, roster, api_calls):
    iam_client.create_user(UserName="gina")
    iam_client.create_login_profile(UserName="gina", Password="Aa1!" + "x" * 16)
    iam_client.create_user(UserName="hal")  # no console: nothing to require

    reported = roster([{"name": "gina"}, {"name": "hal"}], require_mfa=True)
    assert reported["changed"] is False
    assert by_name(reported)["gina"]["warnings"] == ["console access without MFA (require_mfa: report)"]
    assert by_name(reported)["hal"]["warnings"] == []

    users = [{"name": "gina", "require_mfa": "deny"}, {"name": "hal"}]
    applied = converges_then_stays(roster, users, api_calls, require_mfa="report")
    assert by_name(applied)["gina"]["changed"] == [
        "MFA required (inline policy techsquawks-iam-require-mfa denies all but MFA set-up)"
    ]
    document = iam_client.get_user_policy(UserName="gina", PolicyName=_hygiene.DENY_POLICY_NAME)["PolicyDocument"]
    assert (json.loads(document) if isinstance(document, str) else document) == _hygiene.DENY_POLICY

    # Once the user has an MFA device, the policy goes.
    users = [{"name": "gina", "require_mfa": "deny", "mfa": True}]
    applied = roster(users)
    assert "MFA required policy removed (MFA enabled)" in by_name(applied)["gina"]["changed"]
    assert iam_client.list_user_policies(UserName="gina")["PolicyNames"] == []
    again = roster(users)
    assert again["changed"] is False
    assert api_calls.mutating == []


def test_bad_hygiene_options_are_refused_before_any_aws_call(aws, roster, api_calls):
    cases = [
        ({"offboard_unlisted": True}, "offboard_unlisted needs owned_path"),
        ({"owned_path": "/"}, "owned_path must not be '/'"),
        ({"owned_path": "people"}, "owned_path 'people' must begin and end with '/'"),
        ({"require_mfa": "maybe"}, "require_mfa must be false, true or report, or deny"),
        ({"remediation": {"deactivate_keys_unused_days": -3}}, "remediation.deactivate_keys_unused_days must be"),
    ]
    for options, message in cases:
        result = roster([{"name": "x"}], **options)
        assert result["failed"] is True, options
        assert message in result["msg"], (options, result["msg"])
    result = roster([{"name": "x", "remediation": {"rotate_keys": 3}}])
    assert "users[0] (x): remediation: unknown key rotate_keys" in result["msg"]
    assert api_calls == []


def test_drift_reports_then_offboards_only_users_under_the_owned_path(aws, iam_client, roster, api_calls, creds):
    for name, path in (
        ("ivy", "/people/"),
        ("jack", "/people/contractors/"),
        ("kim", "/people/"),
        ("outsider", "/other/"),
        ("lookalike", "/peoplex/"),
        ("rooted", "/"),
    ):
        iam_client.create_user(UserName=name, Path=path)
    iam_client.create_access_key(UserName="jack")
    users = [{"name": "kim", "path": "/people/"}]

    reported = roster(users, owned_path="/people/")
    assert reported["changed"] is False
    assert [(u["name"], u["path"], u["offboarded"]) for u in reported["unlisted"]] == [
        ("ivy", "/people/", False),
        ("jack", "/people/contractors/", False),
    ]
    assert "2 user(s) under /people/ that the roster does not name:" in reported["summary"]

    applied = converges_then_stays(roster, users, api_calls, owned_path="/people/", offboard_unlisted=True)
    assert [(u["name"], u["offboarded"]) for u in applied["unlisted"]] == [("ivy", True), ("jack", True)]
    gone = {u["name"]: u for u in applied["users"] if u["unlisted"]}
    assert set(gone) == {"ivy", "jack"}
    assert all("user" in u["removed"] for u in gone.values())
    left = {user["UserName"] for user in iam_client.list_users()["Users"]}
    assert left == {"kim", "outsider", "lookalike", "rooted"}


def test_drift_leaves_a_user_whose_directory_holds_foreign_files(aws, iam_client, roster, creds):
    iam_client.create_user(UserName="mia", Path="/people/")
    (creds / "mia").mkdir(parents=True, mode=0o700)
    (creds / "mia" / "notes.txt").write_text("mine")
    result = roster([], owned_path="/people/", offboard_unlisted=True)
    assert result["unlisted"][0]["offboarded"] is False
    assert "holds files this collection did not write" in result["unlisted"][0]["msg"]
    assert iam_client.get_user(UserName="mia")["User"]["UserName"] == "mia"
