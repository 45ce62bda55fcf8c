#!/usr/bin/python
# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: iam_roster
short_description: Converge a whole roster of IAM users in one run, users in parallel
version_added: 1.0.0
description:
  - Converges every entry of O(users) against one AWS account, that is the user (path, tags, groups, managed policies,
    permissions boundary), its access key, console password, virtual MFA device, SSH public keys and signing
    certificates, or, with C(state=absent), offboards it with every dependent and removes its credentials directory.
  - The same logic as M(techsquawks.iam.iam_user), M(techsquawks.iam.iam_access_key),
    M(techsquawks.iam.iam_login_profile), M(techsquawks.iam.iam_mfa_device), M(techsquawks.iam.iam_ssh_key) and
    M(techsquawks.iam.iam_signing_certificate), run for many users at once in one process, O(concurrency) users
    side by side on one shared client, each user's aspects in order. botocore's adaptive retry mode slows every
    user down together when IAM throttles.
  - One user failing does not stop the others; the task fails at the end and its message names each failed user
    with the AWS error code and message. Users that converged stay converged.
  - Every entry is checked before any AWS call; a problem names the entry and its key.
  - New secrets go to C(<credentials_dir>/<user>/) right after AWS issues them and before anything else happens to
    that user (C(credentials), C(console.json), C(mfa.json), mode 0600 in a 0700 directory). When a secret cannot be
    delivered, its credential is removed again (the new key deleted, the MFA device deactivated and deleted, a new
    console password's profile removed), and a rotated user's old key is never retired first. No secret is returned.
  - With O(vault_password_file) or O(vault_id), every secret is encrypted with ansible-core's own vault library on
    the controller before it touches the disk (files end in C(.vault)); the vault secret is loaded and checked
    before any AWS call.
  - "Reads are the minimum: a converged user costs C(GetUser) (path, tags and boundary come with it), plus one read
    per aspect its entry names: C(ListGroupsForUser) for O(users[].groups), C(ListAttachedUserPolicies) for
    O(users[].managed_policies), C(ListAccessKeys) for O(users[].access_key), C(GetLoginProfile) for
    O(users[].console), C(ListMFADevices) for O(users[].mfa), C(ListSigningCertificates) for
    O(users[].signing_certificates), and C(ListSSHPublicKeys) plus one C(GetSSHPublicKey) per key the user holds for
    O(users[].ssh_public_keys). A user this run creates is not read again. The account password policy and account
    aliases are read at most once per run, only when a password is created."
  - While it runs, the action plugin prints a progress line after every O(batch_size) users and at least every
    O(progress_interval) seconds (users done of the total, changed, failed), in ansible-playbook's output and in
    AWX's job output. With C(--diff), one before/after per changed user (never a secret).
  - Runs on the controller (the action plugin), where the credentials directory and the vault secret are.
author:
  - techsquawks.iam contributors (@techsquawks)
options:
  account_label:
    description:
      - The account's name in the summary and the report (for example the inventory host). Defaults to the AWS
        account ID.
    type: str
  batch_size:
    description:
      - A progress line is printed after every O(batch_size) users.
    type: int
    default: 25
  concurrency:
    description:
      - How many users are converged at once (1 to 32). The default stays under the request rate IAM allows an
        account most of the time; adaptive retries absorb the throttling beyond it.
    type: int
    default: 8
  credentials_dir:
    description:
      - Where new secrets are written, one directory per user (C(<credentials_dir>/<user name>/), always a direct
        child). Created with mode 0700 when missing. An absolute path (C(~) is expanded).
      - User names that cannot name a direct child (C(.), C(..)) are refused before any AWS call, and offboarding
        removes a user's directory only after checking it is one.
    type: path
    required: true
  mfa_issuer:
    description:
      - The issuer authenticator apps show next to the user's name for a new virtual MFA device.
    type: str
    default: AWS
  offboard_unlisted:
    description:
      - Offboard the users O(owned_path) finds that no entry names, like C(state=absent) entries (every dependent
        removed, their credentials directory too). Try it with C(--check) first.
      - Only users whose path lies under O(owned_path) are ever touched; a user whose credentials directory holds
        files this collection did not write is reported and left alone.
    type: bool
    default: false
  owned_path:
    description:
      - An IAM path the roster owns, such as V(/people/). Users under it (C(ListUsers) with it as prefix, so
        V(/people/contractors/) too) that no entry names are returned in RV(unlisted) and listed in the summary;
        with O(offboard_unlisted) they are offboarded. V(/) is refused.
    type: str
  progress_interval:
    description:
      - Seconds between progress lines while users are being converged.
    type: float
    default: 5.0
  report:
    description:
      - Write C(onboarding-report.md) (mode 0600) into O(credentials_dir) when the run changed something.
    type: bool
    default: false
  remediation:
    description:
      - Credential hygiene for every user of the roster, carried out by the run and previewed with C(--check); each
        action is in the user's record and the summary (C(changed), C(removed), C(warnings)).
      - A credential never used counts from its creation. An entry that asks for a credential (C(access_key),
        C(console) true) keeps it; the disuse policies then only warn about it, and retire every other credential
        of a roster user (those of entries that do not manage them, and keys beyond the one an entry keeps).
      - Each key is a number of days; unset or V(0) is off. An entry's O(users[].remediation) overrides these.
      - Reads - one C(GetAccessKeyLastUsed) per key whose last use decides something, C(ListAccessKeys) for
        entries that do not manage keys, C(GetLoginProfile) for entries that do not manage console access.
    type: dict
    suboptions:
      rotate_keys_after_days:
        description:
          - Rotate an entry's access key when it is this old (the entry's own C(access_key.rotate_after_days) wins);
            the new key is proven with STS and delivered before the old one is deactivated.
            CIS AWS Foundations 1.14 and AWS Config access-keys-rotated use 90.
        type: int
      deactivate_keys_unused_days:
        description:
          - Deactivate an active key unused (or, never used, created) this many days ago. CIS 1.12 uses 45.
        type: int
      delete_keys_inactive_days:
        description:
          - Delete an inactive key once it has been inactive this many days. IAM does not record when a key was
            deactivated; it counts as inactive for N days once unused for O(remediation.deactivate_keys_unused_days)
            + N days (N days without that policy).
        type: int
      remove_console_unused_days:
        description:
          - Remove a console password unused (or, never used, created) this many days ago.
        type: int
  require_mfa:
    description:
      - Console users without an MFA device. V(true) or V(report) warns about each (C(warnings), the summary);
        V(deny) also puts the inline policy C(techsquawks-iam-require-mfa) on the user, which denies everything but
        setting up MFA and changing the password until the user signs in with MFA, and removes it once the user has
        an MFA device (or no console access). V(false) (default) checks nothing. CIS 1.10; AWS Config
        mfa-enabled-for-iam-console-access.
      - Costs C(GetLoginProfile) and C(ListMFADevices) where the entry does not manage them, and in V(deny) mode
        C(ListUserPolicies).
    type: raw
  users:
    description:
      - The roster, one entry per IAM user. Names are case-insensitive in IAM, so each may appear once.
      - Only what an entry names is managed; an unset key is left alone and costs no API call.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - The user's name, 1 to 64 characters of C([A-Za-z0-9_+=,.@-]). C(DEFAULT) (any case) cannot have an access
            key delivered (it would be the credentials file's C([DEFAULT]) section, merged into every profile).
        type: str
        required: true
      state:
        description:
          - V(present) creates or updates the user; V(absent) offboards it with every dependent (keys, password,
            MFA devices, SSH keys, certificates, service credentials, policies, group memberships) and removes its
            credentials directory.
        type: str
        choices: [present, absent]
        default: present
      path:
        description: The user's path, such as V(/staff/). A different path moves an existing user.
        type: str
      tags:
        description: Tags as a dict; tags not listed are removed (C(aws:) tags are kept).
        type: dict
      groups:
        description: Groups the user is added to (they must exist). Other memberships are kept.
        type: list
        elements: str
      managed_policies:
        description: ARNs of managed policies to attach. Other attached policies are kept.
        type: list
        elements: str
      permissions_boundary:
        description: ARN of the permissions boundary policy; an empty string removes it.
        type: str
      access_key:
        description:
          - V(true) ensures one active access key; a new key's secret goes to C(credentials) (profile named after the
            user). A dict does the same with C(rotate_after_days) (int), and a key that old is replaced; the new key is
            proven with STS before the old one is deactivated. V(false) deletes every key of the user.
        type: raw
      console:
        description:
          - V(true) gives the user a generated console password, written to C(console.json) with the sign-in URL; an
            existing password is never changed. A dict does the same with C(password_length) (int, default 20) and
            C(password_reset_required) (bool; enforced on every run when set; when unset, a password created together
            with its user must be changed at first sign-in). V(false) removes the console password.
        type: raw
      mfa:
        description:
          - V(true) gives a user without MFA a virtual MFA device, enabled, its seed written to C(mfa.json).
            V(false) deactivates the user's MFA devices and deletes the virtual ones.
        type: bool
      ssh_public_keys:
        description: SSH public keys (RSA, OpenSSH or PEM) the user must have, for AWS CodeCommit. Others are kept.
        type: list
        elements: str
      signing_certificates:
        description: X.509 signing certificates (PEM) the user must have. Others are kept.
        type: list
        elements: str
      remediation:
        description:
          - This user's own remediation policy, its keys over those of O(remediation) (same keys; V(0) turns one
            off for this user). V(false) exempts the user from O(remediation) altogether.
        type: raw
      require_mfa:
        description:
          - Overrides O(require_mfa) for this user (V(false), V(true) or V(report), V(deny)).
        type: raw
      service_credentials:
        description:
          - Service-specific credentials the user must have, one per service (as
            M(techsquawks.iam.iam_service_credential)), each a service name (C(codecommit.amazonaws.com),
            C(cassandra.amazonaws.com), C(bedrock.amazonaws.com)) or a dict with C(service_name), C(active) and
            C(credential_age_days) (Bedrock API keys). A new credential's secret goes to C(service-<service>.json)
            in the user's directory (or where O(users[].deliver_to) says). Others of the user's credentials are kept.
        type: list
        elements: raw
      deliver_to:
        description:
          - "Where this user's new secrets go, instead of O(deliver_to) (the same keys but C(path) and C(name)), for
            example an age-encrypted file only the person can read: C({type: age, recipients: [ssh-ed25519 AAAA...]})."
        type: dict
  vault_id:
    description:
      - Encrypt every new secret with ansible-vault, with this vault id (C(label@password-file), as for
        C(ansible-playbook --vault-id), or just the password file). Takes precedence over O(vault_password_file).
      - Missing, unreadable or empty password sources fail the task before any AWS call.
    type: str
  vault_password_file:
    description:
      - Encrypt every new secret with ansible-vault, with the password in this file (or printed by this script).
    type: path
  verify_timeout:
    description:
      - Seconds to wait for a rotated key to work (STS) before the old key is retired.
    type: int
    default: 60
extends_documentation_fragment:
  - techsquawks.iam.connection
  - techsquawks.iam.connection.attributes
  - techsquawks.iam.deliver_to
notes:
  - Check mode predicts every user (the same progress and summary) and makes no mutating call.
seealso:
  - module: techsquawks.iam.iam_user
  - module: techsquawks.iam.iam_access_key
"""

EXAMPLES = r"""
- name: Onboard a roster, 8 users at a time
  techsquawks.iam.iam_roster:
    credentials_dir: /srv/iam-credentials
    report: true
    users:
      - name: alice
        path: /staff/
        tags: {team: platform}
        groups: [developers]
        access_key: true
        console: {password_length: 16}
        mfa: true
      - name: bob
        access_key: {rotate_after_days: 90}
      - name: former-colleague
        state: absent
  register: roster

- name: Show what the run did
  ansible.builtin.debug:
    msg: "{{ roster.summary }}"

- name: Audit and remediate - preview with --check first
  techsquawks.iam.iam_roster:
    credentials_dir: /srv/iam-credentials
    owned_path: /people/
    offboard_unlisted: true
    require_mfa: deny
    remediation:
      rotate_keys_after_days: 90
      deactivate_keys_unused_days: 45
      delete_keys_inactive_days: 30
      remove_console_unused_days: 90
    users:
      - name: alice
        path: /people/
        access_key: true
        console: true
        mfa: true
      - name: build-bot
        path: /people/
        remediation: {deactivate_keys_unused_days: 0}
        require_mfa: false

- name: The same with secrets encrypted by ansible-vault, in another account through a role
  techsquawks.iam.iam_roster:
    credentials_dir: ~/iam-credentials/sandbox
    vault_id: onboarding@~/.vault-password
    role_arn: arn:aws:iam::111111111111:role/iam-onboarding
    users: "{{ onboarding_users }}"
"""

RETURN = r"""
users:
  description: One record per roster entry, in roster order. Never a secret.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The user's name.
      type: str
    account:
      description: The AWS account ID (null when the user was absent already).
      type: str
    label:
      description: O(account_label).
      type: str
    state:
      description: The entry's state.
      type: str
    created:
      description: What was created, such as C(user), C(access key AKIA...), C(console password (reset required)).
      type: list
      elements: str
    changed:
      description:
        - What was changed, such as C(user (tags, groups)), C(access key AKIA... deactivated). Empty when nothing
          changed; in check mode, what would change.
      type: list
      elements: str
    removed:
      description: What was removed, such as C(user), C(1 access key), C(credentials directory).
      type: list
      elements: str
    credentials:
      description: The credential files written by this run.
      type: list
      elements: str
    directory:
      description: The user's credentials directory, when it exists.
      type: str
    warnings:
      description: Warnings about this user.
      type: list
      elements: str
    unlisted:
      description: Whether the user was offboarded as one O(owned_path) found and no entry names.
      type: bool
    failed:
      description: Whether converging this user failed.
      type: bool
    msg:
      description: Why it failed.
      type: str
    error_code:
      description: The AWS error code of the failure.
      type: str
  sample:
    - name: alice
      account: "123456789012"
      state: present
      created: [user, access key AKIA2EXAMPLE7KEYID, "console password (reset required)", MFA device]
      changed: []
      removed: []
      credentials:
        - /srv/iam-credentials/alice/credentials
        - /srv/iam-credentials/alice/console.json
        - /srv/iam-credentials/alice/mfa.json
      directory: /srv/iam-credentials/alice
      failed: false
unlisted:
  description: The users under O(owned_path) that no entry names (empty without O(owned_path)).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The user's name.
      type: str
    arn:
      description: The user's ARN.
      type: str
    path:
      description: The user's path.
      type: str
    create_date:
      description: When the user was created.
      type: str
    password_last_used:
      description: When the user last signed in to the console (null if never or unknown).
      type: str
    offboarded:
      description: Whether the run offboarded it (would have, in check mode).
      type: bool
    msg:
      description: Why an unlisted user was left alone although O(offboard_unlisted) is set.
      type: str
  sample:
    - {name: carol, arn: "arn:aws:iam::123456789012:user/people/carol", path: /people/, offboarded: false}
totals:
  description: How many users, changed, unchanged and failed.
  returned: always
  type: dict
  sample: {users: 3, changed: 2, unchanged: 1, failed: 0}
summary:
  description: The run's outcome for people; a headline, a Markdown table (one row per user), the failures.
  returned: always
  type: list
  elements: str
report:
  description: The Markdown report written (with O(report)).
  returned: when the report was written
  type: str
  sample: /srv/iam-credentials/onboarding-report.md
"""

import typing as t

from ansible_collections.techsquawks.iam.plugins.module_utils import _roster, _roster_input
from ansible_collections.techsquawks.iam.plugins.module_utils._aws import AWSConnectionError
from ansible_collections.techsquawks.iam.plugins.module_utils._module import IAMModule, ModuleFailure


def run(module: IAMModule, entries: list[_roster.Entry]) -> dict[str, t.Any]:
    params = module.params
    settings = _roster.settings_from(params, check_mode=module.check_mode)
    try:
        engine = _roster.Engine(module.connection_params, settings)
    except AWSConnectionError as exc:
        module.fail_json(msg=str(exc))
    try:
        records, unlisted = _roster.run(engine, entries, vault=False)
    except ModuleFailure as exc:
        module.fail_json(msg=str(exc))
    for record in records:
        for warning in record.warnings:
            module.warn(f"{record.name}: {warning}")
    return _roster.result_of(
        records,
        settings,
        label=params["account_label"],
        with_diff=module._diff,
        report=params["report"],
        unlisted=unlisted,
    )


def main() -> None:
    module = IAMModule(argument_spec=_roster.ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    errors = _roster.option_errors(params)
    if params["vault_id"] or params["vault_password_file"]:
        errors.append(
            "vault_id: ansible-vault encryption runs on the controller, in the iam_roster action plugin; "
            "run this module as a task (techsquawks.iam.iam_roster), not on its own"
        )
    root = _roster.settings_from(params, check_mode=module.check_mode).credentials_dir
    entries, entry_errors = _roster_input.parse_entries(params["users"], root)
    errors += entry_errors
    deliver_to = _roster.settings_from(params, check_mode=module.check_mode).deliver_to
    module.fail_on_invalid(
        errors or _roster_input.destination_errors(entries, root, vault=False, deliver_to=deliver_to)
    )
    result = run(module, entries)
    if result.get("failed"):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
