#!/usr/bin/python
# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: iam_credential_report_info
short_description: Read the account's IAM credential report, typed, with CIS AWS Foundations findings
version_added: 1.0.0
description:
  - Reads the account's IAM credential report (C(GetCredentialReport)). When there is none, when it has expired
    or when it is older than O(max_report_age), asks AWS for a new one (C(GenerateCredentialReport)) and waits
    for it, at most O(wait_timeout) seconds.
  - Returns one record per report row (the C(<root_account>) row included), typed (dates as ISO 8601 strings or
    null, booleans as booleans, and C(N/A), C(not_supported) and C(no_information) as null). Columns an older
    report format lacks are null; columns this module does not know are kept as AWS wrote them.
  - Joins what the report lacks. The access key IDs come from C(ListAccessKeys), called only for users the report
    says have a key, and are matched to the report's key 1 or key 2 by creation date (the report's
    C(access_key_N_last_rotated)), to the second. C(GetAccessKeyLastUsed) fills in last use as O(last_used) says.
    Attached and inline policies come from C(GetAccountAuthorizationDetails) (one call per page, not per user),
    only when the O(controls) include V(user_attached_policies).
  - Evaluates the chosen O(controls) and returns RV(findings), each with the user, control, severity,
    one sentence of evidence with the numbers, and the identifiers it maps to in CIS AWS Foundations Benchmark
    v3.0.0 and v4.0.1, AWS Config managed rules and Security Hub controls.
  - Read-only. Asking AWS to generate a report does not change any managed state, so the module does it in
    check mode as well and never reports a change.
author:
  - techsquawks.iam contributors (@techsquawks)
options:
  controls:
    description:
      - The controls to evaluate; all of them when not set. The notes say what each maps to.
      - V(root_access_key) - the root user has an active access key (CIS 1.4).
      - V(password_policy) - the account password policy is shorter than O(thresholds.password_min_length) or
        remembers fewer than O(thresholds.password_reuse_prevention) passwords; no policy at all is a finding
        (CIS 1.8, 1.9).
      - V(console_mfa) - a user with a console password has no active MFA device (CIS 1.10).
      - V(unused_initial_access_key) - a user with a console password has an active access key that was never
        used (CIS 1.11).
      - V(unused_credentials) - a console password or active access key unused for
        O(thresholds.unused_credentials_days) days or more (CIS 1.12).
      - V(multiple_active_keys) - a user has two active access keys (CIS 1.13).
      - V(access_key_rotation) - an active access key older than O(thresholds.access_key_max_age_days) days
        (CIS 1.14).
      - V(user_attached_policies) - managed policies attached to, or inline policies in, the user rather than
        its groups (CIS 1.15).
    type: list
    elements: str
    choices:
      - root_access_key
      - password_policy
      - console_mfa
      - unused_initial_access_key
      - unused_credentials
      - multiple_active_keys
      - access_key_rotation
      - user_attached_policies
  include_root:
    description:
      - Whether the C(<root_account>) row is returned and evaluated (it is whatever O(path_prefix) says).
    type: bool
    default: true
  last_used:
    description:
      - When to ask C(GetAccessKeyLastUsed) about a key whose ID the join found.
      - V(missing) - for an active key whose report row lacks its last-used date, region or service.
      - V(always) - for every key, active or not (the report may be up to 4 hours old).
      - V(never) - use the report alone.
    type: str
    choices: [missing, always, never]
    default: missing
  max_report_age:
    description:
      - Reuse the account's report when it is younger than this many hours; otherwise generate a new one.
      - AWS makes a new report at most every 4 hours; a younger one is returned as it is even when asked for a
        new one. V(0) always asks.
    type: int
    default: 4
  path_prefix:
    description:
      - Only users whose path (from their ARN) starts with this prefix, for example V(/people/).
      - The root row is kept unless O(include_root=false).
    type: str
    default: /
    aliases: [path]
  thresholds:
    description:
      - Limits of the controls. The defaults are the benchmarks'.
    type: dict
    suboptions:
      access_key_max_age_days:
        description:
          - An active access key older than this many whole days is a V(access_key_rotation) finding
            (CIS 1.14 "rotated every 90 days or less"; AWS Config C(access-keys-rotated) C(maxAccessKeyAge) 90).
        type: int
        default: 90
      password_min_length:
        description:
          - A password policy whose minimum length is below this is a V(password_policy) finding (CIS 1.8), from
            6 to 128.
        type: int
        default: 14
      password_reuse_prevention:
        description:
          - A password policy that remembers fewer previous passwords than this is a V(password_policy) finding
            (CIS 1.9), from 1 to 24.
        type: int
        default: 24
      unused_credentials_days:
        description:
          - A console password or active access key not used for this many whole days or more is an
            V(unused_credentials) finding (CIS 1.12 "45 days or more"; the AWS Config rule
            C(iam-user-unused-credentials-check) defaults its C(maxCredentialUsageAge) to 90).
        type: int
        default: 45
  wait_timeout:
    description:
      - How many seconds to wait for a report being generated (C(GenerateCredentialReport) answering
        C(STARTED) or C(INPROGRESS), C(GetCredentialReport) answering C(ReportInProgress)). The task fails,
        naming this option, when the report is not ready in time.
    type: int
    default: 300
notes:
  - >-
    Controls and what they map to (CIS AWS Foundations Benchmark v3.0.0 and v4.0.1 use the same numbers here;
    later versions renumber). C(root_access_key) - CIS 1.4, AWS Config C(iam-root-access-key-check), Security Hub
    IAM.4. C(password_policy) - CIS 1.8 (length 14) and 1.9 (reuse 24), AWS Config C(iam-password-policy),
    Security Hub IAM.15 (length) and IAM.16 (reuse). C(console_mfa) - CIS 1.10, AWS Config
    C(mfa-enabled-for-iam-console-access), Security Hub IAM.5. C(unused_initial_access_key) - CIS 1.11.
    C(unused_credentials) - CIS 1.12 (45 days), AWS Config C(iam-user-unused-credentials-check) (whose own
    default C(maxCredentialUsageAge) is 90), Security Hub IAM.22 (45 days; IAM.8 is the same check at 90 days
    and is cited when O(thresholds.unused_credentials_days) is 90 or more). C(multiple_active_keys) - CIS 1.13.
    C(access_key_rotation) - CIS 1.14, AWS Config C(access-keys-rotated) (C(maxAccessKeyAge) 90), Security Hub
    IAM.3. C(user_attached_policies) - CIS 1.15, AWS Config C(iam-user-no-policies-check), Security Hub IAM.2.
  - >-
    Severities are Security Hub's for the mapped control (IAM.4 critical; IAM.3, IAM.5, IAM.8, IAM.15 and IAM.22
    medium; IAM.2 and IAM.16 low). CIS 1.11 and 1.13 have no Security Hub control and are rated medium, as
    prowler rates them.
  - >-
    Never-used credentials count from their creation. A console password never used (C(password_last_used) is
    C(N/A) or C(no_information)) counts from C(password_last_changed), else from C(user_creation_time); an access
    key never used counts from C(access_key_N_last_rotated), its creation date. So a key created 50 days ago and
    never used is an V(unused_credentials) finding at the default 45 days, one created 30 days ago is not. Tools
    differ here - prowler passes never-used credentials, Steampipe flags them 45 days after creation, as CIS
    v4.0.1's audit procedure for 1.12 does; this module follows the latter.
  - >-
    The root row is evaluated only by C(root_access_key) (CIS excludes C(<root_account>) from 1.12; a root key is
    already critical). Ages are whole days in UTC from the time of the run; an access key exactly 90 days old
    passes C(access_key_rotation), a credential unused exactly 45 days fails C(unused_credentials).
  - Required permissions are C(iam:GenerateCredentialReport), C(iam:GetCredentialReport), C(iam:ListAccessKeys),
    C(iam:GetAccessKeyLastUsed), C(iam:GetAccountAuthorizationDetails) and C(iam:GetAccountPasswordPolicy);
    C(sts:GetCallerIdentity) only for an account whose report has no ARN.
extends_documentation_fragment:
  - techsquawks.iam.connection
  - techsquawks.iam.connection.info_attributes
seealso:
  - module: techsquawks.iam.iam_access_key_info
  - module: techsquawks.iam.iam_user_info
  - name: Getting credential reports for your AWS account
    description: The report's columns and their values.
    link: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_getting-report.html
  - name: Security Hub controls for IAM
    description: IAM.2, IAM.3, IAM.4, IAM.5, IAM.8, IAM.15, IAM.16 and IAM.22, with their CIS requirements.
    link: https://docs.aws.amazon.com/securityhub/latest/userguide/iam-controls.html
"""

EXAMPLES = r"""
- name: Audit the account's IAM users against CIS AWS Foundations
  techsquawks.iam.iam_credential_report_info:
  register: audit

- name: Show the findings, most severe first
  ansible.builtin.debug:
    msg: "{{ item.severity }} {{ item.user or 'account' }}: {{ item.evidence }} (CIS {{ item.identifiers.cis_v4 }})"
  loop: "{{ audit.findings }}"
  loop_control:
    label: "{{ item.control }} {{ item.user }}"

- name: Only the people under /people/, stricter on key age, without the policy join
  techsquawks.iam.iam_credential_report_info:
    path_prefix: /people/
    include_root: false
    controls: [console_mfa, unused_credentials, access_key_rotation, multiple_active_keys]
    thresholds:
      access_key_max_age_days: 60
    last_used: always
  register: people

- name: Fail when anything critical or high was found
  ansible.builtin.assert:
    that:
      - audit.totals.by_severity.critical == 0
      - audit.totals.by_severity.high == 0
    fail_msg: "{{ audit.findings | selectattr('severity', 'in', ['critical', 'high']) | map(attribute='evidence') }}"
"""

RETURN = r"""
report:
  description: The report the findings come from.
  returned: always
  type: dict
  contains:
    generated_time:
      description: When AWS made the report (ISO 8601).
      type: str
      sample: "2026-11-30T09:12:44+00:00"
    generated:
      description: Whether this run asked AWS for a new report.
      type: bool
      sample: false
    age_hours:
      description: Hours between the report's generation and this run.
      type: float
      sample: 1.5
account:
  description: The account ID (from the report's ARNs, else STS C(GetCallerIdentity)).
  returned: always
  type: str
  sample: "123456789012"
users:
  description:
    - One record per report row (after O(path_prefix) and O(include_root)), in report order.
    - Every documented report column is a key; columns AWS adds later appear as strings.
  returned: always
  type: list
  elements: dict
  contains:
    user:
      description: The user name, C(<root_account>) for the root user.
      type: str
      sample: alice
    arn:
      description: The user's ARN.
      type: str
      sample: arn:aws:iam::123456789012:user/people/alice
    root:
      description: Whether this is the C(<root_account>) row.
      type: bool
      sample: false
    user_creation_time:
      description: When the user was created (ISO 8601).
      type: str
      sample: "2026-01-05T10:00:00+00:00"
    password_enabled:
      description: Whether the user has a console password (null for the root user).
      type: bool
      sample: true
    password_last_used:
      description: When the password was last used to sign in, or null.
      type: str
      sample: "2026-11-20T08:01:00+00:00"
    password_last_changed:
      description: When the password was last set, or null.
      type: str
      sample: "2026-01-05T10:00:00+00:00"
    password_next_rotation:
      description: When the password policy requires the next change, or null.
      type: str
      sample: null
    mfa_active:
      description: Whether an MFA device is enabled for the user.
      type: bool
      sample: false
    access_key_1_active:
      description: Whether the user's first access key is active (same keys for C(access_key_2_*)).
      type: bool
      sample: true
    access_key_1_last_rotated:
      description: When the first access key was created, or null.
      type: str
      sample: "2026-08-03T12:00:00+00:00"
    access_key_1_last_used_date:
      description: When the first access key last signed a request, or null (from the report or the join).
      type: str
      sample: "2026-11-29T17:45:00+00:00"
    access_key_1_last_used_region:
      description: Where the first access key was last used, or null.
      type: str
      sample: us-east-1
    access_key_1_last_used_service:
      description: The service the first access key was last used with, or null.
      type: str
      sample: sts
    access_key_1_id:
      description: The first access key's ID (from the join), or null.
      type: str
      sample: AKIAIOSFODNN7EXAMPLE
    access_key_2_active:
      description: Whether the second access key is active.
      type: bool
      sample: false
    access_key_2_last_rotated:
      description: When the second access key was created, or null.
      type: str
      sample: null
    access_key_2_last_used_date:
      description: When the second access key was last used, or null.
      type: str
      sample: null
    access_key_2_last_used_region:
      description: Where the second access key was last used, or null.
      type: str
      sample: null
    access_key_2_last_used_service:
      description: The service the second access key was last used with, or null.
      type: str
      sample: null
    access_key_2_id:
      description: The second access key's ID (from the join), or null.
      type: str
      sample: null
    cert_1_active:
      description: Whether the first signing certificate is active (same for C(cert_2_active)).
      type: bool
      sample: false
    cert_1_last_rotated:
      description: When the first signing certificate was uploaded or last changed, or null.
      type: str
      sample: null
    cert_2_active:
      description: Whether the second signing certificate is active.
      type: bool
      sample: false
    cert_2_last_rotated:
      description: When the second signing certificate was uploaded or last changed, or null.
      type: str
      sample: null
    attached_policies:
      description: ARNs of the managed policies attached to the user; null unless V(user_attached_policies) ran.
      type: list
      elements: str
      sample: [arn:aws:iam::aws:policy/ReadOnlyAccess]
    inline_policies:
      description: Names of the user's inline policies; null unless V(user_attached_policies) ran.
      type: list
      elements: str
      sample: []
    findings:
      description: How many findings name this user.
      type: int
      sample: 2
findings:
  description: What the controls found, sorted by severity (critical first), then user (account-level first).
  returned: always
  type: list
  elements: dict
  contains:
    user:
      description: The user, or null for an account-level finding (the password policy).
      type: str
      sample: alice
    arn:
      description: The user's ARN, or null.
      type: str
      sample: arn:aws:iam::123456789012:user/people/alice
    control:
      description: The control, one of the O(controls) choices.
      type: str
      sample: access_key_rotation
    title:
      description: What the control checks, as a finding.
      type: str
      sample: An active access key is older than the allowed age
    severity:
      description: V(critical), V(high), V(medium) or V(low).
      type: str
      sample: medium
    evidence:
      description: One sentence with the numbers.
      type: str
      sample: access key AKIAIOSFODNN7EXAMPLE is 120 days old (limit 90)
    access_key_id:
      description: The access key concerned, or null.
      type: str
      sample: AKIAIOSFODNN7EXAMPLE
    identifiers:
      description: What the finding maps to; each null where that catalogue has no such control.
      type: dict
      contains:
        cis_v3:
          description: CIS AWS Foundations Benchmark v3.0.0 recommendation.
          type: str
          sample: "1.14"
        cis_v4:
          description: CIS AWS Foundations Benchmark v4.0.1 recommendation.
          type: str
          sample: "1.14"
        aws_config:
          description: AWS Config managed rule.
          type: str
          sample: access-keys-rotated
        security_hub:
          description: Security Hub control.
          type: str
          sample: IAM.3
password_policy:
  description:
    - The account password policy (C(GetAccountPasswordPolicy)'s fields in snake_case), or null when there is none.
    - C(max_password_age) and C(password_reuse_prevention) are null when the policy does not set them.
  returned: always
  type: dict
  sample:
    minimum_password_length: 14
    require_symbols: true
    require_numbers: true
    require_uppercase_characters: true
    require_lowercase_characters: true
    allow_users_to_change_password: true
    expire_passwords: true
    max_password_age: 90
    password_reuse_prevention: 24
    hard_expiry: false
totals:
  description: Counts for a summary.
  returned: always
  type: dict
  contains:
    users:
      description: Records in RV(users).
      type: int
      sample: 12
    findings:
      description: Entries in RV(findings).
      type: int
      sample: 5
    by_severity:
      description: Findings per severity (every severity present, 0 when none).
      type: dict
      sample: {critical: 0, high: 0, medium: 4, low: 1}
    by_control:
      description: Findings per evaluated control (every evaluated control present).
      type: dict
      sample: {console_mfa: 1, access_key_rotation: 2}
"""

import datetime
import typing as t

from ansible_collections.techsquawks.iam.plugins.module_utils import _credential_report as report
from ansible_collections.techsquawks.iam.plugins.module_utils._iam import get_caller_identity
from ansible_collections.techsquawks.iam.plugins.module_utils._module import IAMModule

ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    "max_report_age": {"type": "int", "default": report.DEFAULT_MAX_REPORT_AGE},
    "wait_timeout": {"type": "int", "default": report.DEFAULT_WAIT_TIMEOUT},
    "last_used": {"type": "str", "default": "missing", "choices": list(report.LAST_USED_MODES)},
    "path_prefix": {"type": "str", "default": "/", "aliases": ["path"]},
    "include_root": {"type": "bool", "default": True},
    # None: every control.
    "controls": {"type": "list", "elements": "str", "choices": list(report.CONTROL_NAMES)},
    "thresholds": {
        "type": "dict",
        "apply_defaults": True,
        # Limits, not secrets ("password_min_length" only sounds like one).
        "options": {
            name: {"type": "int", "default": bounds[0], "no_log": False} for name, bounds in report.THRESHOLDS.items()
        },
    },
}


def run_module(module: IAMModule) -> dict[str, t.Any]:
    return report.audit(
        module.iam,
        report.Options.from_params(module.params),
        now=datetime.datetime.now(datetime.UTC),
        account_id=lambda: get_caller_identity(module.client("sts"))["Account"],
    )


def main() -> None:
    module = IAMModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    module.fail_on_invalid(report.option_errors(module.params))
    module.execute(run_module)


if __name__ == "__main__":
    main()
