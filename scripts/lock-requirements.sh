#!/usr/bin/env bash
# Re-pin requirements/app.txt from requirements/app.in in a throw-away Python 3.11 venv
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
echo "requirements/app.txt re-pinned"
