# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # deliver_to: where a new secret goes; shared by every module that issues a secret (and iam_roster).
    DOCUMENTATION = r"""
options:
  deliver_to:
    description:
      - Where the new secret goes, right after AWS issues it, instead of the task result. Results then carry only
        a reference (C(delivered)). When the secret cannot be delivered, the new credential is removed again.
      - V(file) writes a file with mode 0600 (O(deliver_to.path), O(deliver_to.format)).
      - V(age) writes a file encrypted before it touches the disk to O(deliver_to.recipients), so that only they
        can read it (C(age -d -i ~/.ssh/id_ed25519 FILE)).
      - V(secretsmanager) stores it in AWS Secrets Manager as JSON, one secret per user and kind of credential
        (O(deliver_to.name), default C(<prefix><user>/<kind>) such as C(iam/alice/access-key)), with a resource
        policy that lets only that IAM user (and O(deliver_to.readers)) read it; a new credential (a rotated key)
        becomes a new version of the secret.
      - V(ssm) stores it as an SSM Parameter Store C(SecureString) (default name C(/iam/<user>/<kind>)); who may
        read it is up to IAM policies on C(ssm:GetParameter) and the KMS key.
      - In M(techsquawks.iam.iam_roster), the default of every entry (each may have its own), and files go to the
        user's directory (C(path) and C(name) are not taken); offboarding deletes the user's secrets from Secrets
        Manager (after O(deliver_to.recovery_window_days)) or SSM.
    type: dict
    suboptions:
      type:
        description: The kind of destination.
        type: str
        choices: [file, age, secretsmanager, ssm]
        default: file
      path:
        description:
          - The file (V(file) and V(age)). Its directory must exist and be safe (not writable by others).
            Mutually exclusive with a module's C(secret_file).
        type: path
      format:
        description: The file's format (as a module's C(secret_format)); the default is the secret's first format.
        type: str
      recipients:
        description:
          - V(age) - age public keys (C(age1...)) or SSH public keys (C(ssh-ed25519), C(ssh-rsa)) the file is
            encrypted to.
        type: list
        elements: str
      name:
        description: V(secretsmanager) and V(ssm) - the secret's or parameter's name.
        type: str
      prefix:
        description:
          - V(secretsmanager) and V(ssm) - the beginning of the default name, C(iam/) for Secrets Manager and
            C(/iam/) for SSM.
        type: str
      kms_key_id:
        description: V(secretsmanager) and V(ssm) - the KMS key that encrypts it (the account's default key when unset).
        type: str
      tags:
        description: V(secretsmanager) and V(ssm) - tags of the secret or parameter.
        type: dict
      readers:
        description: V(secretsmanager) - ARNs of principals besides the user allowed to read the secret (admins).
        type: list
        elements: str
      recovery_window_days:
        description:
          - V(secretsmanager) - days a deleted secret (offboarding) can still be restored; V(0) deletes it at once.
        type: int
        default: 30
      qr_code:
        description: An MFA seed only - add a PNG QR code of the C(otpauth://) URI (base64) to the delivered JSON.
        type: bool
        default: false
"""
