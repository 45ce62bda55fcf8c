"""_credential_report: parsing hand-built reports in AWS's documented format, each control at its threshold,
fetching against moto in-process (Stubber for the answers moto never gives) and the join's call counts."""

from __future__ import annotations

import base64
import datetime
import json
import typing as t
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from ansible_collections.techsquawks.iam.plugins.module_utils import _aws
from ansible_collections.techsquawks.iam.plugins.module_utils import _credential_report as cr
from ansible_collections.techsquawks.iam.plugins.module_utils._iam import IAM, IAMError, get_caller_identity
from ansible_collections.techsquawks.iam.plugins.module_utils._module import ModuleFailure

FIXTURES = Path(__file__).parent / "fixtures"
# The hand-built report (fixtures/credential_report.csv) is dated relative to this moment.
NOW = datetime.datetime(2026, 6, 1, 12, 0, tzinfo=datetime.UTC)
DEFAULTS = cr.resolve_thresholds(None)


def report_csv() -> str:
    return (FIXTURES / "credential_report.csv").read_text()


def rows() -> list[cr.Row]:
    return cr.parse_report(report_csv())


def row(name: str) -> cr.Row:
    return next(item for item in rows() if item["user"] == name)


def findings(
    controls: t.Iterable[str] = cr.CONTROL_NAMES,
    thresholds: dict[str, int] | None = None,
    policy: dict[str, t.Any] | None = None,
) -> list[cr.Finding]:
    return cr.evaluate(
        rows(), policy, controls=tuple(controls), thresholds=cr.resolve_thresholds(thresholds or {}), now=NOW
    )


def fired(control: str, thresholds: dict[str, int] | None = None) -> list[str | None]:
    """The users the control finds something about, in finding order."""
    return [finding.user for finding in findings([control], thresholds, policy=STRONG_POLICY)]


STRONG_POLICY = {"minimum_password_length": 14, "password_reuse_prevention": 24}


# -- parsing -------------------------------------------------------------------------------------------


def test_parse_types_dates_as_utc_booleans_as_booleans_and_markers_as_none():
    root = row("<root_account>")

    assert root["root"] is True
    assert root["arn"] == "arn:aws:iam::111122223333:root"
    # not_supported (the root user's password columns) and N/A are "no value".
    assert root["password_enabled"] is None
    assert root["password_last_changed"] is None
    assert root["access_key_2_last_rotated"] is None
    assert root["access_key_1_active"] is True
    assert root["mfa_active"] is True
    assert root["access_key_1_last_rotated"] == datetime.datetime(2021, 3, 4, 10, tzinfo=datetime.UTC)
    assert root["access_key_1_last_used_service"] == "s3"
    # no_information (a password not used since IAM began tracking) is no value too.
    never = row("neverpw")
    assert never["root"] is False
    assert never["password_last_used"] is None
    assert never["password_enabled"] is True
    assert never["password_next_rotation"] == datetime.datetime(2026, 7, 11, 12, tzinfo=datetime.UTC)


def test_records_have_exactly_the_documented_columns_plus_the_join_and_iso_dates():
    record = cr.user_record(row("twokeys"), findings=1)

    assert set(record) == {
        *cr.COLUMNS,
        "root",
        "access_key_1_id",
        "access_key_2_id",
        "attached_policies",
        "inline_policies",
        "findings",
    }
    assert record["access_key_2_last_rotated"] == "2026-05-22T12:00:05+00:00"
    assert record["access_key_2_active"] is True
    assert record["cert_1_last_rotated"] is None
    assert record["attached_policies"] is None
    assert record["findings"] == 1
    json.dumps(record)  # plain JSON types only


def test_an_older_format_without_last_used_columns_parses_with_them_as_none():
    # The column set AWS documented before it added last-used date, region and service.
    older = (
        "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
        "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_2_active,"
        "access_key_2_last_rotated,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n"
        "brandon,arn:aws:iam::111122223333:user/brandon,2014-09-01T22:28:48+00:00,TRUE,2014-11-12T23:36:49+00:00,"
        "2014-09-03T18:59:00+00:00,N/A,FALSE,TRUE,2014-09-01T22:28:48+00:00,FALSE,N/A,FALSE,N/A,FALSE,N/A\n"
    )

    [parsed] = cr.parse_report(older)

    assert parsed["password_enabled"] is True  # AWS's older examples write TRUE/FALSE
    assert parsed["access_key_1_active"] is True
    assert parsed["access_key_1_last_used_date"] is None
    assert parsed["access_key_1_last_used_service"] is None
    assert set(cr.COLUMNS) <= set(parsed)
    # A never-used key of a console user: the control works on the older format too.
    assert [f.rule.control for f in cr.check_unused_initial_access_key(parsed, DEFAULTS, NOW)] == [
        "unused_initial_access_key"
    ]


def test_unknown_extra_columns_are_kept_as_aws_wrote_them():
    text = report_csv().splitlines()
    text[0] += ",access_key_3_active,future_note"
    text[1:] = [line + ",true,N/A" for line in text[1:]]

    parsed = cr.parse_report("\n".join(text))

    assert parsed[0]["access_key_3_active"] == "true"
    assert parsed[0]["future_note"] == "N/A"
    assert cr.user_record(parsed[0], 0)["future_note"] == "N/A"


def test_a_short_row_leaves_the_missing_cells_none_and_a_long_one_drops_the_surplus():
    header, first = report_csv().splitlines()[:2]
    short = ",".join(first.split(",")[:8])
    parsed = cr.parse_report(f"{header}\n{short}\n{first},surplus\n")

    assert parsed[0]["mfa_active"] is True
    assert parsed[0]["access_key_1_active"] is None
    assert parsed[1]["access_key_1_active"] is True
    assert None not in parsed[1]


def test_a_document_that_is_not_a_credential_report_fails_clearly():
    with pytest.raises(ModuleFailure, match="not in the documented CSV format"):
        cr.parse_report("<html>Service Unavailable</html>\n")


@pytest.mark.parametrize(
    "content",
    [
        pytest.param("CSV", id="text"),
        pytest.param(b"CSV", id="bytes as botocore decodes the blob"),
        pytest.param("B64", id="base64 text"),
        pytest.param("B64-WRAPPED", id="base64 wrapped over lines"),
    ],
)
def test_report_text_takes_the_decoded_blob_or_base64(content):
    csv_text = report_csv()
    encoded = base64.b64encode(csv_text.encode()).decode()
    given = {
        "CSV": csv_text,
        b"CSV": csv_text.encode(),
        "B64": encoded,
        "B64-WRAPPED": "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76)),
    }[content]

    assert cr.report_text(given) == csv_text


@pytest.mark.parametrize(
    ("arn", "path"),
    [
        ("arn:aws:iam::111122223333:user/alice", "/"),
        ("arn:aws:iam::111122223333:user/people/alice", "/people/"),
        ("arn:aws:iam::111122223333:user/a/b/alice", "/a/b/"),
        ("arn:aws:iam::111122223333:root", None),
    ],
)
def test_arn_path(arn, path):
    assert cr.arn_path(arn) == path


def test_path_prefix_keeps_the_root_row_unless_include_root_is_false():
    people = cr.select_rows(rows(), "/people/", include_root=True)
    assert [item["user"] for item in people] == [
        "<root_account>",
        "nomfa",
        "initialkey",
        "dormant",
        "recent44",
        "neverpw",
    ]
    assert "<root_account>" not in [item["user"] for item in cr.select_rows(rows(), "/", include_root=False)]
    assert len(cr.select_rows(rows(), "/", include_root=True)) == len(rows())


def test_account_comes_from_the_root_row_else_any_user():
    assert cr.account_of(rows()) == "111122223333"
    assert cr.account_of([row("nomfa")]) == "111122223333"
    assert cr.account_of([]) is None


# -- controls ------------------------------------------------------------------------------------------


def test_default_controls_find_exactly_what_the_fixture_plants():
    found = {(finding.rule.control, finding.user) for finding in findings(policy=STRONG_POLICY)}

    assert found == {
        ("root_access_key", "<root_account>"),
        ("console_mfa", "nomfa"),
        ("access_key_rotation", "oldkey"),
        ("multiple_active_keys", "twokeys"),
        ("unused_initial_access_key", "initialkey"),
        ("unused_credentials", "dormant"),
        ("unused_credentials", "neverpw"),
        ("unused_credentials", "stalekey"),
    }


@pytest.mark.parametrize(
    ("control", "fires_on", "just_inside"),
    [
        # the root user's active key; an IAM user's key is not a root finding
        ("root_access_key", ["<root_account>"], "oldkey"),
        # console without MFA; console with MFA
        ("console_mfa", ["nomfa"], "initialkey"),
        # 120 days old > 90; exactly 90 days old is "rotated every 90 days or less"
        ("access_key_rotation", ["oldkey"], "key90"),
        # two active keys; one active and no second
        ("multiple_active_keys", ["twokeys"], "oldkey"),
        # a console user's never-used key; a never-used key without a console password
        ("unused_initial_access_key", ["initialkey"], "newneverkey"),
        # unused 50 and never used for 50 and 60 days >= 45; used 44 days 23 hours ago
        ("unused_credentials", ["dormant", "neverpw", "stalekey"], "recent44"),
    ],
)
def test_each_control_fires_on_its_fixture_and_not_on_the_one_just_inside(control, fires_on, just_inside):
    users = fired(control)

    assert users == fires_on
    assert just_inside not in users


@pytest.mark.parametrize(
    ("control", "thresholds", "expected"),
    [
        ("access_key_rotation", {"access_key_max_age_days": 89}, ["key90", "oldkey"]),
        ("access_key_rotation", {"access_key_max_age_days": 120}, []),
        ("unused_credentials", {"unused_credentials_days": 44}, ["dormant", "neverpw", "recent44", "stalekey"]),
        ("unused_credentials", {"unused_credentials_days": 50}, ["dormant", "neverpw", "stalekey"]),  # 50 days or more
        ("unused_credentials", {"unused_credentials_days": 51}, ["stalekey"]),
        ("unused_credentials", {"unused_credentials_days": 61}, []),
        (
            "unused_credentials",
            {"unused_credentials_days": 30},
            ["dormant", "neverpw", "newneverkey", "recent44", "stalekey"],
        ),
    ],
)
def test_thresholds_change_the_outcome(control, thresholds, expected):
    assert sorted(fired(control, thresholds)) == expected


def test_never_used_credentials_count_from_their_creation():
    by_user = {f.user: f.evidence for f in findings(["unused_credentials"])}

    # A password never used counts from password_last_changed, not from the (older) user creation.
    assert by_user["neverpw"] == "console password never used, set 50 days ago (limit 45)"
    # A key never used counts from access_key_N_last_rotated (its creation).
    assert by_user["stalekey"] == "access key 1 never used, created 60 days ago (limit 45)"
    assert by_user["dormant"] == "console password last used 50 days ago (limit 45)"
    assert "newneverkey" not in by_user  # never used, but created 30 days ago


def test_a_never_used_password_without_a_change_date_counts_from_user_creation():
    record = dict(row("neverpw"), password_last_changed=None)

    [finding] = cr.check_unused_credentials(record, DEFAULTS, NOW)

    assert finding.evidence == "console password never used, set 365 days ago (limit 45)"


def test_inactive_keys_are_neither_unused_nor_due_for_rotation():
    record = row("inactive")  # 400 days old, unused for 300 days, inactive

    assert cr.check_unused_credentials(record, DEFAULTS, NOW) == []
    assert cr.check_access_key_rotation(record, DEFAULTS, NOW) == []


def test_evidence_names_the_key_and_its_numbers_once_the_join_found_its_id():
    record = dict(row("oldkey"), access_key_1_id="AKIAOLDKEYEXAMPLE001")

    [finding] = cr.check_access_key_rotation(record, DEFAULTS, NOW)

    assert finding.evidence == "access key AKIAOLDKEYEXAMPLE001 is 120 days old (limit 90)"
    assert finding.access_key_id == "AKIAOLDKEYEXAMPLE001"
    assert finding.result()["identifiers"] == {
        "cis_v3": "1.14",
        "cis_v4": "1.14",
        "aws_config": "access-keys-rotated",
        "security_hub": "IAM.3",
    }


def test_unused_credentials_cite_iam_8_at_a_90_day_threshold_and_iam_22_below():
    at_45 = findings(["unused_credentials"])
    at_90 = findings(["unused_credentials"], {"unused_credentials_days": 90}, policy=STRONG_POLICY)
    rule_90 = cr.check_unused_credentials(
        row("inactive") | {"access_key_1_active": True}, {"unused_credentials_days": 90}, NOW
    )

    assert {f.result()["identifiers"]["security_hub"] for f in at_45} == {"IAM.22"}
    assert at_90 == []
    assert [f.result()["identifiers"]["security_hub"] for f in rule_90] == ["IAM.8"]
    assert at_45[0].result()["identifiers"]["aws_config"] == "iam-user-unused-credentials-check"


def test_user_attached_policies_counts_managed_and_inline_policies():
    record = dict(row("certuser"), attached_policies=["arn:aws:iam::aws:policy/ReadOnlyAccess"], inline_policies=["s3"])

    [finding] = cr.check_user_attached_policies(record, DEFAULTS, NOW)

    assert finding.evidence == (
        "1 attached policy (arn:aws:iam::aws:policy/ReadOnlyAccess) and 1 inline policy (s3) on the user, "
        "not its groups (limit 0)"
    )
    assert finding.rule.security_hub == "IAM.2"
    [two] = cr.check_user_attached_policies(dict(row("certuser"), attached_policies=["a", "b"]), DEFAULTS, NOW)
    assert two.evidence == "2 attached policies (a, b) on the user, not its groups (limit 0)"
    assert (
        cr.check_user_attached_policies(dict(row("certuser"), attached_policies=[], inline_policies=[]), DEFAULTS, NOW)
        == []
    )
    # Not joined (the control's data is absent): nothing to say.
    assert cr.check_user_attached_policies(row("certuser"), DEFAULTS, NOW) == []


@pytest.mark.parametrize(
    ("policy", "thresholds", "expected"),
    [
        (None, {}, ["IAM.15", "IAM.16"]),
        ({"minimum_password_length": 14, "password_reuse_prevention": 24}, {}, []),
        ({"minimum_password_length": 13, "password_reuse_prevention": 24}, {}, ["IAM.15"]),
        ({"minimum_password_length": 14, "password_reuse_prevention": 23}, {}, ["IAM.16"]),
        ({"minimum_password_length": 14, "password_reuse_prevention": None}, {}, ["IAM.16"]),
        ({"minimum_password_length": 14, "password_reuse_prevention": 24}, {"password_min_length": 16}, ["IAM.15"]),
        (
            {"minimum_password_length": 8, "password_reuse_prevention": 5},
            {"password_min_length": 8, "password_reuse_prevention": 5},
            [],
        ),
    ],
)
def test_password_policy_length_and_reuse(policy, thresholds, expected):
    result = cr.check_password_policy(policy, cr.resolve_thresholds(thresholds))

    assert [finding.rule.security_hub for finding in result] == expected
    assert all(finding.user is None and finding.rule.control == "password_policy" for finding in result)


def test_no_password_policy_is_a_finding_with_aws_defaults_in_the_evidence():
    length, reuse = cr.check_password_policy(None, DEFAULTS)

    assert length.evidence == "no account password policy is set: AWS's default requires 8 characters (limit 14)"
    assert reuse.evidence == "no account password policy is set: 0 previous passwords are remembered (limit 24)"
    assert (length.rule.cis, reuse.rule.cis) == ("1.8", "1.9")


def test_findings_are_sorted_by_severity_then_user_account_level_first():
    result = [f.result() for f in findings(policy=None)]

    ranks = [cr.SEVERITIES.index(item["severity"]) for item in result]
    assert ranks == sorted(ranks)
    assert result[0]["control"] == "root_access_key"
    assert result[0]["severity"] == "critical"
    mediums = [item["user"] for item in result if item["severity"] == "medium"]
    assert mediums[0] is None  # the password policy (account-level) before the users
    assert mediums[1:] == sorted(mediums[1:])


def test_totals_count_every_severity_and_every_evaluated_control():
    found = findings(["console_mfa", "multiple_active_keys", "password_policy"])
    users = [cr.user_record(item, 0) for item in rows()]

    totals = cr.totals(users, found, ["console_mfa", "multiple_active_keys", "password_policy"])

    assert totals == {
        "users": 13,
        "findings": 4,
        "by_severity": {"critical": 0, "high": 0, "medium": 3, "low": 1},
        "by_control": {"console_mfa": 1, "multiple_active_keys": 1, "password_policy": 2},
    }


# -- options -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"thresholds": {"access_key_max_age_days": 0}}, "thresholds.access_key_max_age_days must be between 1 and"),
        (
            {"thresholds": {"password_reuse_prevention": 25}},
            "thresholds.password_reuse_prevention must be between 1 and 24",
        ),
        ({"thresholds": {"password_min_length": 5}}, "thresholds.password_min_length must be between 6 and 128"),
        (
            {"thresholds": {"unused_credentials_days": "45d"}},
            "thresholds.unused_credentials_days must be a whole number",
        ),
        (
            {"thresholds": {"unused_credentials_days": True}},
            "thresholds.unused_credentials_days must be a whole number",
        ),
        ({"thresholds": {"rotation": 30}}, "thresholds.rotation is not a threshold"),
        ({"max_report_age": -1}, "max_report_age must be 0 or more"),
        ({"wait_timeout": -5}, "wait_timeout must be 0 or more"),
        ({"path_prefix": "people/"}, "path_prefix 'people/' must begin with '/'"),
        ({"controls": ["console_mfa", "cis_1_99"]}, "controls: 'cis_1_99' is not one of"),
        ({"last_used": "sometimes"}, "last_used must be one of missing, always, never"),
    ],
)
def test_option_errors_name_the_option(params, message):
    errors = cr.option_errors(params)

    assert len(errors) == 1
    assert errors[0].startswith(message)


def test_options_at_their_bounds_are_valid():
    assert (
        cr.option_errors(
            {
                "max_report_age": 0,
                "wait_timeout": 0,
                "path_prefix": "/",
                "controls": list(cr.CONTROL_NAMES),
                "thresholds": {
                    "access_key_max_age_days": 1,
                    "unused_credentials_days": None,
                    "password_min_length": 128,
                    "password_reuse_prevention": 24,
                },
            }
        )
        == []
    )


# -- key slots ------------------------------------------------------------------------------------------


def key(key_id: str, created: str, status: str = "Active") -> dict[str, t.Any]:
    return {"AccessKeyId": key_id, "Status": status, "CreateDate": datetime.datetime.fromisoformat(created)}


def test_slots_match_keys_by_creation_to_the_second_whatever_the_listing_order():
    record = row("twokeys")  # key 1 at 12:00:00, key 2 at 12:00:05
    keys = [key("AKIASECOND", "2026-05-22T12:00:05.912345+00:00"), key("AKIAFIRST", "2026-05-22T12:00:00.000001+00:00")]

    matched = cr.match_key_slots(record, keys)

    assert {slot: entry["AccessKeyId"] for slot, entry in matched.items()} == {1: "AKIAFIRST", 2: "AKIASECOND"}


def test_slots_match_across_time_zones():
    record = row("oldkey")  # 2026-02-01T12:00:00Z
    keys = [key("AKIAOLD", "2026-02-01T13:00:00+01:00")]

    assert cr.match_key_slots(record, keys)[1]["AccessKeyId"] == "AKIAOLD"


def test_two_keys_made_in_the_same_second_are_told_apart_by_status():
    record = dict(
        row("twokeys"),
        access_key_1_active=False,
        access_key_2_last_rotated=datetime.datetime(2026, 5, 22, 12, tzinfo=datetime.UTC),
    )
    keys = [key("AKIAAAAA", "2026-05-22T12:00:00.1+00:00"), key("AKIABBBB", "2026-05-22T12:00:00.2+00:00", "Inactive")]

    matched = cr.match_key_slots(record, keys)

    assert (matched[1]["AccessKeyId"], matched[2]["AccessKeyId"]) == ("AKIABBBB", "AKIAAAAA")


def test_a_key_created_after_the_report_matches_no_slot():
    keys = [key("AKIANEWER", "2026-05-31T09:00:00+00:00")]

    assert cr.match_key_slots(row("oldkey"), keys) == {}


@pytest.mark.parametrize(
    ("mode", "user", "expected"),
    [
        ("missing", "initialkey", True),  # never used: the report has no date, region or service
        ("missing", "oldkey", False),  # the report has all three
        ("missing", "inactive", False),  # not active
        ("always", "oldkey", True),
        ("always", "inactive", True),
        ("never", "initialkey", False),
    ],
)
def test_last_used_option(mode, user, expected):
    assert cr.wants_last_used(row(user), 1, mode) is expected


def test_last_used_from_the_api_fills_what_the_report_lacks():
    record = dict(row("initialkey"))
    used = datetime.datetime(2026, 5, 31, 8, tzinfo=datetime.UTC)

    cr.merge_last_used(record, 1, {"LastUsedDate": used, "ServiceName": "sts", "Region": "eu-central-1"})

    assert (record["access_key_1_last_used_date"], record["access_key_1_last_used_service"]) == (used, "sts")
    assert record["access_key_1_last_used_region"] == "eu-central-1"
    assert cr.check_unused_initial_access_key(record, DEFAULTS, NOW) == []
    # GetAccessKeyLastUsed of a key never used: "N/A", no date; the report's values stay.
    untouched = dict(row("oldkey"))
    cr.merge_last_used(untouched, 1, {"ServiceName": "N/A", "Region": "N/A"})
    assert untouched == row("oldkey")


# -- fetching ------------------------------------------------------------------------------------------


class FakeClock:
    """time.monotonic and time.sleep for the wait: sleeping advances the clock, no wall time passes."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def new_client() -> t.Any:
    """A client of the code under test's own (not the arranging one)."""
    return boto3.client("iam", region_name="us-east-1")


def fetch(iam: IAM, clock: FakeClock, *, max_age_hours: float = 4, wait_timeout: float = 300, now=None):
    return cr.fetch_report(
        iam,
        max_age_hours=max_age_hours,
        wait_timeout=wait_timeout,
        now=now or datetime.datetime.now(datetime.UTC),
        sleep=clock.sleep,
        clock=clock,
    )


def test_no_report_yet_generates_one_and_waits_for_it(aws, iam_client, api_calls):
    iam_client.create_user(UserName="alice")
    clock = FakeClock()
    api_calls.clear()

    report = fetch(IAM(iam_client), clock)

    # moto answers ReportNotPresent, then STARTED, then COMPLETE (like AWS, minus the minutes).
    assert api_calls == [
        "GetCredentialReport",
        "GenerateCredentialReport",
        "GenerateCredentialReport",
        "GetCredentialReport",
    ]
    assert clock.slept == [cr.POLL_FIRST]
    assert report.generated is True
    assert [item["user"] for item in cr.parse_report(report.text)] == ["alice"]


def test_a_report_older_than_max_report_age_is_regenerated(aws, iam_client, api_calls):
    iam_client.generate_credential_report()  # moto's report always says 2015-02-02
    clock = FakeClock()
    api_calls.clear()

    report = fetch(IAM(iam_client), clock)

    assert api_calls == ["GetCredentialReport", "GenerateCredentialReport", "GetCredentialReport"]
    assert report.generated is True
    assert clock.slept == []


def test_a_report_younger_than_max_report_age_is_reused(aws, iam_client, api_calls, emulator):
    iam_client.generate_credential_report()
    now = datetime.datetime.now(datetime.UTC)

    def made_an_hour_ago(params: dict[str, t.Any], response: dict[str, t.Any]) -> dict[str, t.Any]:
        return dict(response, GeneratedTime=now - datetime.timedelta(hours=1))

    emulator.amend("GetCredentialReport", made_an_hour_ago)
    api_calls.clear()

    reused = fetch(IAM(iam_client), FakeClock(), now=now)
    regenerated = fetch(IAM(iam_client), FakeClock(), max_age_hours=0.5, now=now)

    assert reused.generated is False
    assert cr.report_age_hours(reused.generated_time, now) == 1.0
    assert regenerated.generated is True
    assert api_calls == [
        "GetCredentialReport",
        "GetCredentialReport",
        "GenerateCredentialReport",
        "GetCredentialReport",
    ]


def modeled_status(client: t.Any, operation: str, code: str) -> int:
    """The HTTP status the IAM model gives ``code`` for ``operation`` (fails if the model has no such error)."""
    shapes = client.meta.service_model.operation_model(operation).error_shapes
    statuses = {shape.metadata["error"]["code"]: shape.metadata["error"]["httpStatusCode"] for shape in shapes}
    assert code in statuses, f"{operation} has no modeled error {code}: {sorted(statuses)}"
    return statuses[code]


def stub_error(stubber: Stubber, client: t.Any, operation: str, code: str) -> None:
    method = {"GetCredentialReport": "get_credential_report"}[operation]
    stubber.add_client_error(method, service_error_code=code, http_status_code=modeled_status(client, operation, code))


REPORT_ANSWER = {
    "Content": b"user,arn\nalice,arn:aws:iam::111122223333:user/alice\n",
    "ReportFormat": "text/csv",
    "GeneratedTime": datetime.datetime(2026, 6, 1, 11, 59, tzinfo=datetime.UTC),
}


def test_report_in_progress_is_polled_not_retried_blindly():
    client = new_client()
    stubber = Stubber(client)
    # Another run is generating: GetCredentialReport answers ReportInProgress (404), Generate INPROGRESS, then
    # COMPLETE; a GetCredentialReport racing the completion still answers ReportInProgress once.
    stub_error(stubber, client, "GetCredentialReport", "ReportInProgress")
    stubber.add_response("generate_credential_report", {"State": "INPROGRESS"})
    stubber.add_response("generate_credential_report", {"State": "COMPLETE"})
    stub_error(stubber, client, "GetCredentialReport", "ReportInProgress")
    stubber.add_response("generate_credential_report", {"State": "COMPLETE"})
    stubber.add_response("get_credential_report", REPORT_ANSWER)
    clock = FakeClock()

    with stubber:
        report = fetch(IAM(client), clock)
        stubber.assert_no_pending_responses()

    assert report.generated is True
    assert report.text.startswith("user,arn\nalice,")
    assert clock.slept == [1.0, 2.0]


def test_an_expired_report_is_regenerated():
    client = new_client()
    stubber = Stubber(client)
    stub_error(stubber, client, "GetCredentialReport", "ReportExpired")
    stubber.add_response("generate_credential_report", {"State": "COMPLETE"})
    stubber.add_response("get_credential_report", REPORT_ANSWER)

    with stubber:
        report = fetch(IAM(client), FakeClock())
        stubber.assert_no_pending_responses()

    assert report.generated is True
    assert report.generated_time == REPORT_ANSWER["GeneratedTime"]


def test_the_wait_is_bounded_by_wait_timeout_and_names_it():
    client = new_client()
    stubber = Stubber(client)
    stub_error(stubber, client, "GetCredentialReport", "ReportNotPresent")
    for answer in [{"State": "INPROGRESS"}] * 5:
        stubber.add_response("generate_credential_report", answer)
    clock = FakeClock()

    with stubber, pytest.raises(ModuleFailure) as failure:
        fetch(IAM(client), clock, wait_timeout=10)
    stubber.assert_no_pending_responses()

    assert str(failure.value) == (
        "The credential report was not ready within wait_timeout (10 seconds): "
        "GenerateCredentialReport answered INPROGRESS"
    )
    assert failure.value.details == {"error_code": "ReportInProgress"}
    # Backoff 1, 2, 4, then only what was left of the 10 seconds.
    assert clock.slept == [1.0, 2.0, 4.0, 3.0]
    assert sum(clock.slept) == 10


def test_wait_timeout_zero_asks_once_and_does_not_sleep():
    client = new_client()
    stubber = Stubber(client)
    stub_error(stubber, client, "GetCredentialReport", "ReportNotPresent")
    stubber.add_response("generate_credential_report", {"State": "STARTED", "Description": "No report exists."})
    clock = FakeClock()

    with (
        stubber,
        pytest.raises(ModuleFailure, match=r"wait_timeout \(0 seconds\): GenerateCredentialReport answered STARTED"),
    ):
        fetch(IAM(client), clock, wait_timeout=0)

    assert clock.slept == []


def test_other_errors_are_not_polling_conditions():
    client = new_client()
    stubber = Stubber(client)
    stubber.add_client_error("get_credential_report", service_error_code="AccessDenied", http_status_code=403)

    with stubber, pytest.raises(IAMError) as failure:
        fetch(IAM(client), FakeClock())

    assert failure.value.code == "AccessDenied"
    assert str(failure.value).startswith("Failed to get the credential report:")


# -- the join and the whole audit against moto ----------------------------------------------------------


@pytest.fixture
def account(aws, iam_client):
    """alice: console and a key; bob: two keys, the second inactive; carol: a managed policy; dave: an inline one."""
    for name in ("alice", "bob", "carol", "dave"):
        iam_client.create_user(UserName=name, Path="/people/" if name in ("alice", "dave") else "/")
    iam_client.create_login_profile(UserName="alice", Password="Correct-Horse-9!")
    alice_key = iam_client.create_access_key(UserName="alice")["AccessKey"]
    bob_keys = [iam_client.create_access_key(UserName="bob")["AccessKey"]["AccessKeyId"], None]
    bob_keys[1] = iam_client.create_access_key(UserName="bob")["AccessKey"]["AccessKeyId"]
    iam_client.update_access_key(UserName="bob", AccessKeyId=bob_keys[1], Status="Inactive")
    document = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:List*", "Resource": "*"}]}
    )
    policy_arn = iam_client.create_policy(PolicyName="list-buckets", PolicyDocument=document)["Policy"]["Arn"]
    iam_client.attach_user_policy(UserName="carol", PolicyArn=policy_arn)
    iam_client.put_user_policy(UserName="dave", PolicyName="inline-s3", PolicyDocument=document)
    iam_client.generate_credential_report()
    return {"alice_key": alice_key, "bob_keys": bob_keys, "policy_arn": policy_arn}


def run_audit(options: cr.Options | None = None, now: datetime.datetime | None = None) -> dict[str, t.Any]:
    return cr.audit(
        IAM(new_client()),
        options or cr.Options(),
        now=now or datetime.datetime.now(datetime.UTC),
        account_id=lambda: pytest.fail("the report has ARNs: no STS call"),
        sleep=FakeClock().sleep,
    )


def by_user(result: dict[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    return {record["user"]: record for record in result["users"]}


def test_the_join_lists_keys_only_for_users_with_keys_and_reads_policies_in_one_call(account, api_calls):
    api_calls.clear()

    result = run_audit()

    counts = {name: api_calls.count(name) for name in set(api_calls)}
    assert counts == {
        "GetCredentialReport": 2,
        "GenerateCredentialReport": 1,
        "ListAccessKeys": 2,  # alice and bob; carol and dave have no key
        "GetAccessKeyLastUsed": 2,  # the two active keys, never used; not bob's inactive one
        "GetAccountAuthorizationDetails": 1,  # for every user at once
        "GetAccountPasswordPolicy": 1,
    }
    assert [params for name, params in api_calls.sent if name == "GetAccountAuthorizationDetails"] == [
        {"Filter": ["User"]}
    ]
    users = by_user(result)
    assert users["alice"]["access_key_1_id"] == account["alice_key"]["AccessKeyId"]
    assert (users["bob"]["access_key_1_id"], users["bob"]["access_key_2_id"]) == tuple(account["bob_keys"])
    assert users["bob"]["access_key_2_active"] is False
    assert users["carol"]["attached_policies"] == [account["policy_arn"]]
    assert users["dave"]["inline_policies"] == ["inline-s3"]
    assert users["alice"]["attached_policies"] == []
    assert result["account"] == "123456789012"
    assert result["changed"] is False
    assert result["password_policy"] is None


@pytest.mark.parametrize(("mode", "calls"), [("always", 3), ("never", 0), ("missing", 2)])
def test_last_used_decides_the_get_access_key_last_used_calls(account, api_calls, mode, calls):
    api_calls.clear()

    run_audit(cr.Options(last_used=mode))

    assert api_calls.count("GetAccessKeyLastUsed") == calls
    assert api_calls.count("ListAccessKeys") == 2


def test_without_the_policy_control_there_is_no_authorization_details_call(account, api_calls):
    api_calls.clear()

    result = run_audit(cr.Options(controls=("console_mfa", "access_key_rotation")))

    assert "GetAccountAuthorizationDetails" not in api_calls
    assert sorted(record["user"] for record in result["users"]) == ["alice", "bob", "carol", "dave"]
    assert all(record["attached_policies"] is None for record in result["users"])
    assert set(result["totals"]["by_control"]) == {"console_mfa", "access_key_rotation"}


def test_the_audit_finds_what_the_account_holds(account):
    result = run_audit()

    found = {(item["control"], item["user"]) for item in result["findings"]}
    assert found == {
        ("password_policy", None),
        ("console_mfa", "alice"),
        ("unused_initial_access_key", "alice"),
        ("user_attached_policies", "carol"),
        ("user_attached_policies", "dave"),
    }
    users = by_user(result)
    assert users["alice"]["findings"] == 2
    assert users["bob"]["findings"] == 0
    assert result["totals"]["findings"] == 6  # the password policy's length and reuse findings
    assert result["report"]["generated"] is True


def test_a_key_used_since_has_last_used_data_from_the_join(account, api_calls):
    key = account["alice_key"]
    # Signed with alice's key, through the collection's own client factory.
    params = {"access_key": key["AccessKeyId"], "secret_key": key["SecretAccessKey"], "region": "eu-west-1"}
    get_caller_identity(_aws.create_client(_aws.build_session(params), "sts", params))

    joined = by_user(run_audit())["alice"]
    report_only = by_user(run_audit(cr.Options(last_used="never")))["alice"]

    # moto's report has the date but never the region or service: those come from GetAccessKeyLastUsed.
    assert (joined["access_key_1_last_used_service"], joined["access_key_1_last_used_region"]) == ("sts", "eu-west-1")
    assert (report_only["access_key_1_last_used_service"], report_only["access_key_1_last_used_region"]) == (None, None)
    assert datetime.datetime.fromisoformat(joined["access_key_1_last_used_date"]).tzinfo is not None


def test_path_prefix_limits_the_join_to_the_selected_users(account, api_calls):
    api_calls.clear()

    result = run_audit(cr.Options(path_prefix="/people/"))

    assert [record["user"] for record in result["users"]] == ["alice", "dave"]
    assert [params for name, params in api_calls.sent if name == "ListAccessKeys"] == [{"UserName": "alice"}]


def test_authorization_details_are_read_one_call_per_page(account, api_calls, emulator):
    pages = {
        None: {
            "UserDetailList": [
                {"UserName": "carol", "AttachedManagedPolicies": [{"PolicyArn": account["policy_arn"]}]}
            ],
            "IsTruncated": True,
            "Marker": "page-2",
        },
        "page-2": {
            "UserDetailList": [{"UserName": "dave", "UserPolicyList": [{"PolicyName": "inline-s3"}]}],
            "IsTruncated": False,
        },
    }
    emulator.answer("GetAccountAuthorizationDetails", lambda params: pages[params.get("Marker")])
    api_calls.clear()

    users = by_user(run_audit())

    assert [params.get("Marker") for name, params in emulator.calls if name == "GetAccountAuthorizationDetails"] == [
        None,
        "page-2",
    ]
    assert users["carol"]["attached_policies"] == [account["policy_arn"]]
    assert users["dave"]["inline_policies"] == ["inline-s3"]


def test_a_user_deleted_after_the_report_is_skipped_by_the_join(account, iam_client):
    report = cr.parse_report(cr.report_text(iam_client.get_credential_report()["Content"]))
    alice = next(item for item in report if item["user"] == "alice")
    gone = dict(alice, user="gone", arn="arn:aws:iam::123456789012:user/gone")

    cr.join_access_keys(IAM(new_client()), [gone], "missing")

    assert gone["access_key_1_id"] is None


def test_an_empty_account_without_arns_asks_sts_for_the_account(aws):
    result = cr.audit(
        IAM(new_client()),
        cr.Options(),
        now=datetime.datetime.now(datetime.UTC),
        account_id=lambda: "210987654321",
        sleep=FakeClock().sleep,
    )

    assert result["account"] == "210987654321"
    assert result["users"] == []


def test_the_root_row_is_never_joined():
    client = new_client()
    stubber = Stubber(client)  # no answers queued: any call would fail the test
    root = row("<root_account>")

    with stubber:
        cr.join_access_keys(IAM(client), [root], "always")

    assert root["access_key_1_id"] is None


def test_many_users_are_joined_concurrently_each_with_its_own_keys(aws, iam_client, api_calls):
    expected = {}
    for index in range(20):
        name = f"user{index:02d}"
        iam_client.create_user(UserName=name)
        expected[name] = iam_client.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
    iam_client.generate_credential_report()
    joined = cr.parse_report(cr.report_text(iam_client.get_credential_report()["Content"]))
    api_calls.clear()

    cr.join_access_keys(IAM(new_client()), joined, "never", workers=4)

    assert {item["user"]: item["access_key_1_id"] for item in joined} == expected
    assert sorted(params["UserName"] for name, params in api_calls.sent if name == "ListAccessKeys") == sorted(expected)
