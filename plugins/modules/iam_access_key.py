#!/usr/bin/python
# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: iam_access_key
short_description: Keep one working access key per IAM user, rotate it safely and deliver its secret to a file
version_added: 1.0.0
description:
  - Without O(id), ensures that the user has an active access key. A key is created only when the user
    has no active key, so running the task again never creates another one. Keys the user already has are
    left as they are (except by a rotation).
  - With O(rotate_after_days), replaces the newest active key when it is older than that many days, the
    way AWS recommends. The new key is created first and proven to work (O(verify)); only then is the old
    key retired (O(retire)). AWS allows two keys per user, active or inactive; to make room, an
    B(inactive) key is deleted first. An active key is never deleted to make room; when the user already
    has two active keys the task fails before changing anything.
  - With O(id), activates, deactivates (O(active)) or deletes (O(state=absent)) that key.
  - The secret access key of a new key is returned as RV(secret_access_key) on the run that created it
    and never again, or, with O(secret_file), written to a file with mode C(0600) and left out of the
    result entirely.
  - If a new key cannot be verified or its secret cannot be written, it is deleted again and no active key
    is retired, so a failed run never leaves a key whose secret nobody holds.
author:
  - techsquawks.iam contributors (@techsquawks)
options:
  active:
    description:
      - With O(id), V(true) activates and V(false) deactivates that key.
      - Without O(id) only V(true) is meaningful (the key that is ensured is always active).
    type: bool
  id:
    description:
      - The ID of an existing access key of the user, to activate, deactivate or delete.
      - Keys cannot be created with a chosen ID; leave O(id) unset to create one.
    type: str
    aliases: [access_key_id]
  retire:
    description:
      - What happens to the old key after a rotation has proven the new one works.
      - V(deactivate) keeps it, inactive, so it can be reactivated if something still needs it;
        the next rotation deletes it to make room.
      - V(delete) deletes it at once.
    type: str
    choices: [deactivate, delete]
    default: deactivate
  rotate_after_days:
    description:
      - Rotate when the newest active key was created at least this many days ago.
      - V(0) rotates on every run (for example to replace a leaked key during an incident).
      - Cannot be combined with O(id).
    type: int
  secret_format:
    description:
      - Format of O(secret_file).
      - V(credentials) is the AWS shared-credentials format, with the user's name as the profile name;
        other profiles already in the file are kept.
      - V(json) is the format of the AWS CLI C(credential_process) setting
        (C(Version), C(AccessKeyId), C(SecretAccessKey)).
      - With V(credentials), a user named C(default) (in any case) is refused before any AWS call, because the
        C([default]) section of a credentials file is merged into every other profile of the file. Use V(json)
        for such a user.
    type: str
    choices: [credentials, json]
    default: credentials
  state:
    description:
      - V(present) ensures an active key (or sets the status of O(id)); V(absent) deletes the key O(id).
    type: str
    choices: [present, absent]
    default: present
  user_name:
    description:
      - The name of the IAM user who owns the keys.
    type: str
    required: true
    aliases: [user, username]
  verify:
    description:
      - Prove that a new key works before the task returns, and before the old key is retired. STS
        C(GetCallerIdentity) signed with the new key must answer the user's ARN.
      - Retried with backoff while IAM propagates the new key, for up to O(verify_timeout) seconds.
      - With V(false) the old key is retired right after the new one is created.
    type: bool
    default: true
  verify_timeout:
    description:
      - How many seconds O(verify) waits for a new key to work before giving up.
    type: int
    default: 60
extends_documentation_fragment:
  - techsquawks.iam.connection
  - techsquawks.iam.connection.attributes
  - techsquawks.iam.deliver_to
  - techsquawks.iam.secret_file
notes:
  - Rotation steps, in order. Delete an inactive key if the user already has two keys; create the new key;
    verify it; write O(secret_file); retire the old key.
seealso:
  - module: techsquawks.iam.iam_access_key_info
  - module: techsquawks.iam.iam_user
  - name: Rotating access keys (AWS)
    description: The create, verify, deactivate, delete sequence this module follows.
    link: https://docs.aws.amazon.com/IAM/latest/UserGuide/id-credentials-access-keys-update.html
"""

EXAMPLES = r"""
- name: Ensure the user has one active key, and write its secret to a credentials file (never printed)
  techsquawks.iam.iam_access_key:
    user_name: techsquawks-user
    secret_file: /home/ops/.aws/credentials.d/techsquawks-user
  delegate_to: localhost

- name: Ensure a key and get the secret in the result (only on the run that creates the key)
  techsquawks.iam.iam_access_key:
    user_name: techsquawks-user
  register: key
  no_log: true

- name: Rotate every 90 days; the old key is deactivated once the new one works
  techsquawks.iam.iam_access_key:
    user_name: techsquawks-user
    rotate_after_days: 90
    secret_file: /etc/app/aws-credentials.json
    secret_format: json

- name: Incident response, replace the key now and delete the old one
  techsquawks.iam.iam_access_key:
    user_name: techsquawks-user
    rotate_after_days: 0
    retire: delete
    secret_file: /root/new-credentials

- name: Read the user's keys
  techsquawks.iam.iam_access_key_info:
    user_name: techsquawks-user
  register: keys

- name: Deactivate the oldest key
  techsquawks.iam.iam_access_key:
    user_name: techsquawks-user
    id: "{{ keys.access_keys[0].access_key_id }}"
    active: false

- name: Delete it
  techsquawks.iam.iam_access_key:
    user_name: techsquawks-user
    id: "{{ keys.access_keys[0].access_key_id }}"
    state: absent
"""

RETURN = r"""
delivered:
  description: Where this run delivered the new secret (with O(deliver_to)); a reference, never the secret.
  returned: when this run delivered a secret to O(deliver_to)
  type: dict
  sample:
    type: secretsmanager
    name: iam/alice/access-key
    arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:iam/alice/access-key-AbCdEf"
  contains:
    type:
      description: The kind of destination, as O(deliver_to.type).
      returned: always
      type: str
      sample: secretsmanager
    path:
      description: The file written.
      returned: for the types file and age
      type: str
      sample: /srv/credentials/alice/access-key.age
    name:
      description: The name of the secret (Secrets Manager) or of the parameter (SSM).
      returned: for the types secretsmanager and ssm
      type: str
      sample: iam/alice/access-key
    arn:
      description: The ARN of the secret.
      returned: for the type secretsmanager
      type: str
      sample: "arn:aws:secretsmanager:us-east-1:123456789012:secret:iam/alice/access-key-AbCdEf"
access_key:
  description:
    - The key the task is about, after the task (predicted in check mode, where a new key has no ID yet).
    - Without O(id), the newest active key. Empty after O(state=absent).
  returned: always
  type: dict
  contains:
    access_key_id:
      description: The key's ID (null for a key that check mode predicts).
      type: str
      sample: AKIA2EXAMPLE7KEYID
    status:
      description: V(Active) or V(Inactive).
      type: str
      sample: Active
    create_date:
      description: When the key was created (ISO 8601).
      type: str
      sample: "2026-11-28T15:11:50+00:00"
    user_name:
      description: The user who owns the key.
      type: str
      sample: techsquawks-user
secret_access_key:
  description:
    - The secret of the key created by this run. Set C(no_log) on the task.
  returned: when a key was created and neither O(secret_file) nor O(deliver_to) is set
  type: str
  sample: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
secret_file:
  description: The file the secret of the new key was written to (would be, in check mode).
  returned: when a key was created and O(secret_file) is set
  type: str
  sample: /home/ops/.aws/credentials.d/techsquawks-user
retired_keys:
  description:
    - Keys this run deactivated or deleted (would, in check mode), including an inactive key deleted to
      make room for a new one.
  returned: always
  type: list
  elements: dict
  contains:
    access_key_id:
      description: The key's ID.
      type: str
      sample: AKIA2EXAMPLE7KEYID
    action:
      description: V(deactivated) or V(deleted).
      type: str
      sample: deactivated
"""

import typing as t

from ansible_collections.techsquawks.iam.plugins.module_utils import (
    _access_keys,
    _delivery,
    _destinations,
    _outcome,
    _validate,
)
from ansible_collections.techsquawks.iam.plugins.module_utils._module import IAMModule, ModuleFailure

# botocore accessKeyIdType: 16 to 128 word characters.
ACCESS_KEY_ID_MIN = 16
ACCESS_KEY_ID_MAX = 128


def prover(module: IAMModule, user: str) -> _access_keys.Prove:
    """Prove a new key with STS, expecting the user's ARN (read only once a key is to be proven)."""

    def prove(key_id: str, secret: str) -> None:
        found = module.iam.get_user(user)
        if found is None:
            raise ModuleFailure(f"user_name: IAM user {user} does not exist")
        timeout = module.params["verify_timeout"]
        _access_keys.prove_key(module.client_with_credentials, found["Arn"], timeout, key_id, secret)

    return prove


def run_module(module: IAMModule) -> dict[str, t.Any]:
    params, iam, check_mode = module.params, module.iam, module.check_mode
    user, key_id = params["user_name"], params["id"]
    keys = _access_keys.read(iam, user)
    if keys is None and params["state"] == "present" and not (check_mode and key_id is None):
        # In check mode an earlier task may be about to create the user: predict its first key.
        raise ModuleFailure(f"user_name: IAM user {user} does not exist")
    keys = keys or []
    current = next((key for key in keys if key["AccessKeyId"] == key_id), None)

    if params["state"] == "absent":
        outcome = _access_keys.ensure_absent(iam, check_mode=check_mode, keys=keys, current=current)
    elif key_id:
        if current is None:
            raise ModuleFailure(f"id: user {user} has no access key {key_id}")
        outcome = _access_keys.ensure_status(
            iam, check_mode=check_mode, keys=keys, current=current, active=params["active"]
        )
    else:
        destination = _destinations.module_sink(module, kind="access_key", user_name=user)
        outcome = _access_keys.ensure_one_active(
            iam,
            check_mode=check_mode,
            user=user,
            keys=keys,
            rotate_after_days=params["rotate_after_days"],
            retire=params["retire"],
            prove=prover(module, user) if params["verify"] else None,
            destination=destination,
        )
        result = _outcome.module_result(outcome, with_diff=module._diff)
        return _destinations.references(result, destination, bool(outcome.delivered))
    return _outcome.module_result(outcome, with_diff=module._diff)


def validate(params: dict[str, t.Any]) -> list[str]:
    errors = _validate.user_name("user_name", params["user_name"])
    key_id = params["id"]
    if key_id is not None and not (
        ACCESS_KEY_ID_MIN <= len(key_id) <= ACCESS_KEY_ID_MAX and key_id.isascii() and key_id.isalnum()
    ):
        errors.append(
            f"id '{key_id}' is not an access key ID ({ACCESS_KEY_ID_MIN} to {ACCESS_KEY_ID_MAX} letters and digits)"
        )
    if params["state"] == "absent" and not key_id:
        errors.append("id is required with state=absent (the key to delete)")
    if params["active"] is False and not key_id:
        errors.append("active=false requires id (the key to deactivate)")
    if params["rotate_after_days"] is not None and params["rotate_after_days"] < 0:
        errors.append(f"rotate_after_days must be 0 or more, not {params['rotate_after_days']}")
    if params["verify_timeout"] < 1:
        errors.append(f"verify_timeout must be at least 1 second, not {params['verify_timeout']}")
    errors += _delivery.destination_errors("secret_file", params["secret_file"])
    errors += _destinations.errors("deliver_to", params["deliver_to"], kinds=["access_key"])
    deliver_to = _destinations.normalized(params["deliver_to"])
    file_format = params["secret_format"]
    if deliver_to is not None:
        file_format = deliver_to["format"] or "credentials"
    to_file = params["secret_file"] or (deliver_to and deliver_to["type"] in ("file", "age"))
    if to_file and file_format == "credentials":
        errors += _delivery.profile_errors("user_name", params["user_name"])
    return errors


def main() -> None:
    module = IAMModule(
        argument_spec={
            "user_name": {"type": "str", "required": True, "aliases": ["user", "username"]},
            "id": {"type": "str", "aliases": ["access_key_id"], "no_log": False},
            "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
            "active": {"type": "bool"},
            "rotate_after_days": {"type": "int"},
            "retire": {"type": "str", "default": "deactivate", "choices": ["deactivate", "delete"]},
            "verify": {"type": "bool", "default": True},
            "verify_timeout": {"type": "int", "default": 60},
            "secret_file": {"type": "path", "no_log": False},
            "secret_format": {
                "type": "str",
                "default": "credentials",
                "choices": ["credentials", "json"],
                "no_log": False,
            },
            "deliver_to": _destinations.OPTION_SPEC,
        },
        mutually_exclusive=[("id", "rotate_after_days"), ("secret_file", "deliver_to")],
        supports_check_mode=True,
    )
    module.fail_on_invalid(validate(module.params))
    module.execute(run_module)


if __name__ == "__main__":
    main()
