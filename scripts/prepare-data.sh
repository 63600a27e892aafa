#!/usr/bin/env bash
# Bring the app store up to date before the servers start (sourced env expected):
# migrate, launch the demo consultations on first start, keep personal data no longer
# than promised, ingest the demo knowledge base (unchanged documents are skipped).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/codesign migrate >/dev/null
.venv/bin/codesign consultations launch --only-new consultations/
# Keep personal data no longer than each consultation promises (run this daily in production).
.venv/bin/codesign privacy purge
if compgen -G "knowledge/*/" >/dev/null; then
  .venv/bin/codesign knowledge ingest knowledge/*/
fi
