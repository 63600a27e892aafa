#!/usr/bin/env bash
# Re-pin requirements/app.txt from requirements/app.in (and test.txt from test.in) in a throw-away Python 3.11 venv
# (torch 2.13.0 CPU first, as set-up does). Run after editing app.in, then `make setup`.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3.11 -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install --quiet torch==2.13.0
"$tmp/venv/bin/pip" install --quiet -r requirements/app.in
{
  echo "# App venv (Python 3.11). torch==2.13.0 is installed first, on its own (local CPU wheel)."
  echo "# Top-level needs are in requirements/app.in; regenerate: scripts/lock-requirements.sh"
  "$tmp/venv/bin/pip" freeze --exclude-editable | sed 's/^torch==\(.*\)+cpu$/torch==\1/'
} > requirements/app.txt
"$tmp/venv/bin/pip" freeze --exclude-editable | sort > "$tmp/app.freeze"
"$tmp/venv/bin/pip" install --quiet -r requirements/test.in -c requirements/app.txt
{
  echo "# Test-only tools for .venv (Python 3.11), installed after app.txt with -c requirements/app.txt."
  echo "# Top-level needs are in requirements/test.in; regenerate: scripts/lock-requirements.sh"
  "$tmp/venv/bin/pip" freeze --exclude-editable | sort | comm -13 "$tmp/app.freeze" -
} > requirements/test.txt
echo "requirements/app.txt and requirements/test.txt re-pinned"
