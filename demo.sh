#!/usr/bin/env bash
# make demo: onboard the example roster into two AWS accounts emulated by a local moto_server, prove a
# delivered access key works, then run again to show that nothing changes. Needs the venv on PATH (the
# Makefile's demo target creates it). Everything it writes goes to ./demo/, emptied at each start.
set -euo pipefail
cd "$(dirname "$0")"

DEMO="$PWD/demo"
ROSTER=playbooks/vars/roster.example.yml
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

rm -rf "$DEMO"
mkdir -p "$DEMO"
PORT=$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ENDPOINT="http://127.0.0.1:$PORT"

step "Starting moto_server (the embedded AWS) on $ENDPOINT"
moto_server -H 127.0.0.1 -p "$PORT" >"$DEMO/moto_server.log" 2>&1 &
MOTO_PID=$!
trap 'kill "$MOTO_PID" 2>/dev/null || true; wait "$MOTO_PID" 2>/dev/null || true' EXIT
python - "$ENDPOINT" <<'EOF'
import sys, time, urllib.request
for _ in range(150):
    try:
        urllib.request.urlopen(sys.argv[1] + "/moto-api/", timeout=1)
        sys.exit(0)
    except OSError:
        time.sleep(0.2)
sys.exit("moto_server did not start; see demo/moto_server.log")
EOF

# moto accepts any credentials; real AWS would use your usual ones (see README.md).
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL || true
export ANSIBLE_COLLECTIONS_PATH="$PWD/.tmp/collections" ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_RETRY_FILES_ENABLED=0

# Two accounts: "techsquawks" reached directly, "sandbox" through a role assumed with those credentials.
cat >"$DEMO/inventory.yml" <<EOF
aws_accounts:
  vars:
    ansible_connection: local
    aws_endpoint_url: $ENDPOINT
    aws_region: us-east-1
  hosts:
    techsquawks:
      onboarding_credentials_dir: $DEMO/credentials/techsquawks
    sandbox:
      aws_role_arn: arn:aws:iam::111111111111:role/iam-onboarding
      onboarding_credentials_dir: $DEMO/credentials/sandbox
EOF
PLAYBOOK=(ansible-playbook -i "$DEMO/inventory.yml" -f 10 playbooks/onboard.yml -e "@$ROSTER")

step "Onboarding $ROSTER into both accounts: ${PLAYBOOK[*]}"
"${PLAYBOOK[@]}" | tee "$DEMO/onboard-1.log"

step "Proving a delivered access key works (the seed page's check)"
CREDENTIALS="$DEMO/credentials/techsquawks/techsquawks-user/credentials"
ls -l "$CREDENTIALS"
if [ "$(stat -c %a "$CREDENTIALS")" != 600 ]; then
    echo "FAILED: $CREDENTIALS must be readable by its owner only (0600)" >&2
    exit 1
fi
# The delivered file is in the AWS shared-credentials format, one profile named after the user. The
# demo's own credentials are taken out of the environment so that the AWS CLI signs with that key.
echo "\$ AWS_SHARED_CREDENTIALS_FILE=$CREDENTIALS aws --profile techsquawks-user sts get-caller-identity"
IDENTITY=$(env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY AWS_SHARED_CREDENTIALS_FILE="$CREDENTIALS" \
    aws --endpoint-url "$ENDPOINT" --profile techsquawks-user sts get-caller-identity)
echo "$IDENTITY"
EXPECTED=$(aws --endpoint-url "$ENDPOINT" iam get-user --user-name techsquawks-user --query User.Arn --output text)
if [ "$(echo "$IDENTITY" | python -c 'import json, sys; print(json.load(sys.stdin)["Arn"])')" != "$EXPECTED" ]; then
    echo "FAILED: the delivered key does not sign as $EXPECTED" >&2
    exit 1
fi
echo "OK: the new key signs as $EXPECTED"
echo
echo '$ aws iam list-users --path-prefix "/example/path/2/"'
aws --endpoint-url "$ENDPOINT" iam list-users --path-prefix /example/path/2/
echo "Delivered credentials (directories 0700, files 0600):"
find "$DEMO/credentials" -mindepth 1 | sort | sed "s|$PWD/||"

step "Running the same playbook again: nothing may change"
"${PLAYBOOK[@]}" >"$DEMO/onboard-2.log"
sed -n '/TASK \[techsquawks.iam.onboarding : Show what the run did\]/,$p' "$DEMO/onboard-2.log"
if grep -E '^[^ ].* : ok=' "$DEMO/onboard-2.log" | grep -qv ' changed=0 '; then
    echo "FAILED: the second run changed something (see demo/onboard-2.log)" >&2
    exit 1
fi
echo "OK: changed=0 on every host; the second run wrote nothing."

step "Done. Output, credentials and the report are in demo/ (the Markdown report: demo/credentials/*/onboarding-report.md)"
echo "Stopping moto_server."
