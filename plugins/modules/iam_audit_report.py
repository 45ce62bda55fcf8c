#!/usr/bin/python
# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: iam_audit_report
short_description: Write the credential audit of many AWS accounts as one Markdown report and one HTML page
version_added: 1.0.0
description:
  - Renders the results of M(techsquawks.iam.iam_credential_report_info), one per account, into C(iam-audit.md)
    and C(iam-audit.html) directly inside O(dest).
  - "The Markdown report has a totals table over all accounts, then per account a findings table (severity, user,
    control, evidence, the benchmark identifiers) and a users table (console access, MFA, each access key's age and
    last use)."
  - The HTML page is self-contained (styles inline, no script, nothing loaded from anywhere else; its
    Content-Security-Policy forbids it) with a table per account and a chart of each account's access keys, their
    age and the days since their last use, drawn with matplotlib.
  - Only the fields the report shows are taken from the results, by name; nothing else in them (whatever it holds)
    reaches a file.
  - Ages are counted to the time of each account's audit, which the result holds (its report's C(generated_time)
    plus C(age_hours)), not to the clock, so the same results give the same files, byte for byte, and a run that
    finds both files holding what it would write reports C(changed=false) and leaves them alone.
  - The files are treated like secrets (the findings say which users are exposed). They are written atomically with
    mode 0600; O(dest) is created with mode 0700 when missing. A file that is a symbolic link, not a regular file,
    another user's or readable by others is refused, and so is a O(dest) that is a symbolic link, another user's, or
    writable by others.
  - Runs where the module runs (the controller, with C(delegate_to=localhost)); makes no AWS call.
author:
  - techsquawks.iam contributors (@techsquawks)
requirements:
  - Jinja2 and matplotlib, for O(formats=html) (the Markdown report needs neither)
options:
  audits:
    description:
      - One entry per account. A failed audit (a registered failed result, or O(audits[].failed)) is reported as
        failed with its message, and the other accounts as usual.
    type: list
    elements: dict
    required: true
    suboptions:
      account:
        description:
          - The AWS account ID. Defaults to the account in O(audits[].result).
        type: str
      failed:
        description:
          - The account's audit failed (then O(audits[].msg) says why).
        type: bool
        default: false
      label:
        description:
          - The account's name in the report, for example its inventory host.
        type: str
        required: true
      msg:
        description:
          - Why the audit failed. Defaults to the message of a failed O(audits[].result).
        type: str
      region:
        description:
          - The account's region, shown in the report.
        type: str
      result:
        description:
          - What M(techsquawks.iam.iam_credential_report_info) returned for the account (registered as it is).
        type: dict
      thresholds:
        description:
          - The thresholds the audit used (as in M(techsquawks.iam.iam_credential_report_info)); the chart draws
            C(access_key_max_age_days) and C(unused_credentials_days) (default 90 and 45).
        type: dict
  dest:
    description:
      - The directory (an absolute path) the files go into.
    type: path
    required: true
  formats:
    description:
      - Which files to write, C(iam-audit.md) and C(iam-audit.html).
    type: list
    elements: str
    choices: [markdown, html]
    default: [markdown, html]
  title:
    description:
      - The heading of both documents.
    type: str
    default: IAM credential audit
attributes:
  check_mode:
    support: full
    description: Writes nothing and reports whether the files would change.
  diff_mode:
    support: full
    description: Returns the Markdown report's before and after.
  platform:
    support: full
    platforms: posix
    description:
      - Runs where the task runs, normally the controller (C(delegate_to=localhost)), and writes the files there with
        POSIX modes and ownership checks; makes no AWS call.
seealso:
  - module: techsquawks.iam.iam_credential_report_info
"""

EXAMPLES = r"""
- name: Audit the account
  techsquawks.iam.iam_credential_report_info:
  register: audit

- name: Write the report
  techsquawks.iam.iam_audit_report:
    audits:
      - label: "{{ inventory_hostname }}"
        result: "{{ audit }}"
    dest: "{{ playbook_dir }}/iam-audit"
  delegate_to: localhost

# Every account of a play at once: the collection's playbook techsquawks.iam.audit does this.
- name: Write one report for every account of the play
  techsquawks.iam.iam_audit_report:
    audits: "{{ ansible_play_hosts_all | map('extract', hostvars, '_audit_entry') | list }}"
    dest: /srv/reports/iam
    formats: [markdown]
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
paths:
  description: The files of the report (null for a format not asked for).
  returned: always
  type: dict
  contains:
    markdown:
      description: Path of C(iam-audit.md).
      type: str
      sample: /srv/reports/iam/iam-audit.md
    html:
      description: Path of C(iam-audit.html).
      type: str
      sample: /srv/reports/iam/iam-audit.html
totals:
  description: Counts over all accounts.
  returned: always
  type: dict
  contains:
    accounts:
      description: Accounts in the report.
      type: int
    failed_accounts:
      description: Accounts whose audit failed.
      type: int
    users:
      description: Users (credential report rows) of the audited accounts.
      type: int
    findings:
      description: Findings of the audited accounts.
      type: int
    by_severity:
      description: Findings by severity (C(critical), C(high), C(medium), C(low)).
      type: dict
  sample:
    accounts: 2
    failed_accounts: 0
    users: 7
    findings: 5
    by_severity: {critical: 0, high: 2, medium: 3, low: 0}
summary:
  description: The totals in one sentence, as the report's first line.
  returned: always
  type: str
  sample: "2 accounts audited: 7 users, 5 findings (0 critical, 2 high, 3 medium, 0 low)."
"""

import typing as t

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.techsquawks.iam.plugins.module_utils import _audit_report
from ansible_collections.techsquawks.iam.plugins.module_utils._delivery import DeliveryError


def run_module(params: dict[str, t.Any], check_mode: bool, diff: bool) -> dict[str, t.Any]:
    """Render the documents, write the files that differ, and report what was (or would be) written."""
    accounts = _audit_report.build(params["audits"])
    documents = _audit_report.render(accounts, params["formats"], params["title"])
    publication = _audit_report.publish(params["dest"], documents, check_mode=check_mode)
    result: dict[str, t.Any] = {
        "changed": publication.changed,
        "paths": {name: publication.paths.get(name) for name in _audit_report.FILES},
        "totals": _audit_report.totals(accounts),
        "summary": _audit_report.headline(accounts),
    }
    if diff and "markdown" in documents:
        path = publication.paths["markdown"]
        result["diff"] = {
            "before_header": path,
            "after_header": path,
            "before": publication.before["markdown"] or "",
            "after": documents["markdown"],
        }
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "audits": {
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": {
                    "account": {"type": "str"},
                    "failed": {"type": "bool", "default": False},
                    "label": {"type": "str", "required": True},
                    "msg": {"type": "str"},
                    "region": {"type": "str"},
                    "result": {"type": "dict"},
                    "thresholds": {"type": "dict"},
                },
            },
            "dest": {"type": "path", "required": True},
            "formats": {
                "type": "list",
                "elements": "str",
                "choices": ["markdown", "html"],
                "default": ["markdown", "html"],
            },
            "title": {"type": "str", "default": _audit_report.DEFAULT_TITLE},
        },
        supports_check_mode=True,
    )
    params = module.params
    if "html" in params["formats"]:
        for present, library, error in (
            (_audit_report.HAS_JINJA2, "Jinja2", _audit_report.JINJA2_IMPORT_ERROR),
            (_audit_report.HAS_MATPLOTLIB, "matplotlib", _audit_report.MATPLOTLIB_IMPORT_ERROR),
        ):
            if not present:
                module.fail_json(msg=missing_required_lib(library, reason="for formats=html"), exception=str(error))
    errors = _audit_report.destination_problems(params["dest"], params["formats"])
    if not params["formats"]:
        errors.append("formats: name at least one of markdown, html")
    if errors:
        module.fail_json(msg="Invalid input: " + "; ".join(errors), invalid_options=errors)
    try:
        result = run_module(params, module.check_mode, module._diff)
    except DeliveryError as exc:
        module.fail_json(msg=f"dest: {exc}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
