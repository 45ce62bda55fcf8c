#!/usr/bin/env python
# Copyright (c) techsquawks.iam contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Print temporary credentials of an IAM role as JSON, for playbooks/onboard.yml (accounts with aws_role_arn).

The base credentials are the usual ones (environment, --profile, instance role); the output holds a secret,
so the task that runs this script is no_log. Errors go to stderr, without any secret.
"""

from __future__ import annotations

import argparse
import json
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("role_arn")
    parser.add_argument("--session-name", default="techsquawks-iam-onboarding")
    parser.add_argument("--profile")
    parser.add_argument("--region")
    parser.add_argument("--endpoint-url")
    parser.add_argument("--duration", type=int, default=3600)
    args = parser.parse_args()
    try:
        session = boto3.session.Session(profile_name=args.profile)
        sts = session.client(
            "sts",
            region_name=args.region or session.region_name or "us-east-1",
            endpoint_url=args.endpoint_url,
            config=Config(retries={"mode": "standard", "max_attempts": 10}),
        )
        credentials = sts.assume_role(
            RoleArn=args.role_arn, RoleSessionName=args.session_name, DurationSeconds=args.duration
        )["Credentials"]
    except (BotoCoreError, ClientError) as exc:
        sys.stderr.write(f"Failed to assume role {args.role_arn}: {exc}\n")
        return 1
    json.dump(
        {
            "access_key": credentials["AccessKeyId"],
            "secret_key": credentials["SecretAccessKey"],
            "session_token": credentials["SessionToken"],
        },
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
