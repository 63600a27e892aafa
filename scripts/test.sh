#!/usr/bin/env bash
# Set up whatever is missing, then run every test:
#   lint (ruff, mypy) -> rasa data validate -> Rasa test stories -> pytest (unit + e2e)
# Under CI=true, missing services (PostgreSQL) fail instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/train.sh
source scripts/env.sh
export CODESIGN_SECRET_KEY="${CODESIGN_TEST_SECRET_KEY:-test-secret-key-0123456789abcdef}"
mkdir -p results

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "lint: ruff + mypy"
.venv/bin/ruff check bot actions tests bench
.venv/bin/mypy

step "rasa data validate"
validate_status=0
.venv-rasa/bin/rasa data validate --domain domain.yml --data data --fail-on-warnings \
  >results/rasa-validate.log 2>&1 || validate_status=$?
grep -E "ERROR|WARNING|UserWarning|Error|conflict" results/rasa-validate.log \
  | grep -v "pkg_resources\|DeprecationWarning" || true
if [[ $validate_status -ne 0 ]]; then
  echo "rasa data validate failed" >&2; tail -20 results/rasa-validate.log; exit 1
fi
echo "rasa data validate: OK"

step "Rasa test stories (NLU + dialogue predictions)"
model="$(ls -t models/codesign-*.tar.gz | head -1)"
rm -rf results/rasa
.venv-rasa/bin/rasa test core --model "$model" --stories tests/rasa/test_stories.yml \
  --endpoints endpoints.yml --out results/rasa --fail-on-prediction-errors >results/rasa-test.log 2>&1 \
  || { tail -40 results/rasa-test.log; cat results/rasa/failed_test_stories.yml 2>/dev/null; exit 1; }
grep -E "Correct:|Accuracy:" results/rasa-test.log | head -4 || true
echo "Rasa test stories: OK"

step "pytest (unit + end-to-end with the real servers)"
set +e
.venv/bin/python -m pytest -q -p no:cacheprovider --durations=25 "$@"
status=$?
set -e
if [[ $status -eq 5 ]]; then echo "pytest collected no tests" >&2; exit 1; fi
exit $status
