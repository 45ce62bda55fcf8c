# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Connection options shared by every module; names, aliases and environment variables match
    # amazon.aws so that one module_defaults block can serve both collections.
    DOCUMENTATION = r"""
options:
  access_key:
    description:
      - AWS access key ID.
      - If not set, the environment variables E(AWS_ACCESS_KEY_ID), E(AWS_ACCESS_KEY) or E(EC2_ACCESS_KEY)
        are used, then the default boto3 credential chain (shared files, instance profile, SSO).
    type: str
    aliases: [aws_access_key_id, aws_access_key, ec2_access_key]
  secret_key:
    description:
      - AWS secret access key.
      - If not set, the environment variables E(AWS_SECRET_ACCESS_KEY), E(AWS_SECRET_KEY) or
        E(EC2_SECRET_KEY) are used.
    type: str
    aliases: [aws_secret_access_key, aws_secret_key, ec2_secret_key]
  session_token:
    description:
      - AWS STS session token, for temporary credentials.
      - If not set, the environment variables E(AWS_SESSION_TOKEN), E(AWS_SECURITY_TOKEN) or
        E(EC2_SECURITY_TOKEN) are used.
    type: str
    aliases: [aws_session_token, security_token, aws_security_token, access_token]
  profile:
    description:
      - A named profile from the AWS shared configuration files.
      - Mutually exclusive in practice with O(access_key) and O(secret_key); explicit keys win.
      - If not set, the environment variables E(AWS_PROFILE) or E(AWS_DEFAULT_PROFILE) are used.
    type: str
    aliases: [aws_profile]
  endpoint_url:
    description:
      - URL of the endpoint to use instead of AWS's default for IAM and STS, for example a moto server in tests.
      - If not set, the environment variables E(AWS_ENDPOINT_URL), E(AWS_URL) or E(EC2_URL) are used;
        botocore itself honours the per-service E(AWS_ENDPOINT_URL_IAM) and E(AWS_ENDPOINT_URL_STS).
    type: str
    aliases: [aws_endpoint_url, ec2_url, s3_url]
  region:
    description:
      - The AWS region used to sign requests. IAM is global; the region selects the partition and the
        STS endpoint. Defaults to the profile's region, else C(us-east-1).
      - If not set, the environment variables E(AWS_REGION), E(AWS_DEFAULT_REGION) or E(EC2_REGION) are used.
    type: str
    aliases: [aws_region, ec2_region]
  validate_certs:
    description:
      - When V(false), TLS certificates of the endpoint are not verified. Only for private test endpoints.
    type: bool
    default: true
  role_arn:
    description:
      - ARN of an IAM role to assume (STS AssumeRole, signed with the credentials above) and work with, for
        example C(arn:aws:iam::111111111111:role/iam-onboarding) to manage another account's users.
      - botocore's own assume-role credentials are used, so they are refreshed before they expire. A profile
        with C(role_arn) and C(source_profile) in the AWS config file (O(profile)) works as well.
    type: str
    aliases: [assume_role_arn, aws_role_arn]
  role_session_name:
    description:
      - The session name of the assumed role (shown in CloudTrail). Only used with O(role_arn).
    type: str
    default: techsquawks-iam
    aliases: [aws_role_session_name]
requirements:
  - python >= 3.11
  - boto3 >= 1.34.0
  - botocore >= 1.34.0
notes:
  - Throttling, 5xx answers and connection errors are retried with exponential backoff and jitter.
  - Right after an entity is created, IAM may briefly report it missing; such answers are retried
    for up to 30 seconds.
"""

    # Attributes shared by modules that change state.
    ATTRIBUTES = r"""
attributes:
  check_mode:
    support: full
    description: Can run in check mode and return the predicted state; no mutating API call is made.
  diff_mode:
    support: full
    description: Returns C(before) and C(after) of what the module manages; never secrets.
  action_group:
    support: full
    membership: [techsquawks.iam.aws]
    description: Use C(group/techsquawks.iam.aws) in C(module_defaults) to set the connection options once.
  platform:
    support: full
    platforms: posix
    description:
      - Runs on the host of the task (usually C(localhost), or the one C(delegate_to) names), which calls the AWS
        APIs and writes any secret file; the AWS account is chosen by the connection options, not by the host.
"""

    # Attributes shared by read-only (_info) modules.
    INFO_ATTRIBUTES = r"""
attributes:
  check_mode:
    support: full
    description: Read-only; behaves the same in check mode.
  diff_mode:
    support: none
    description: Read-only; nothing to diff.
  action_group:
    support: full
    membership: [techsquawks.iam.aws]
    description: Use C(group/techsquawks.iam.aws) in C(module_defaults) to set the connection options once.
  platform:
    support: full
    platforms: posix
    description:
      - Runs on the host of the task (usually C(localhost), or the one C(delegate_to) names), which calls the AWS
        APIs; the AWS account is chosen by the connection options, not by the host.
"""
