#!/usr/bin/env bash
# Start the whole stack on the embedded default (SQLite under var/, one machine):
# the action server (5055) and the Rasa server (5005, REST channel + HTTP API).
# Demo consultations are launched on first start. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/train.sh
source scripts/env.sh
mkdir -p "$CODESIGN_VAR_DIR/logs"

.venv/bin/codesign migrate >/dev/null
.venv/bin/codesign consultations launch --only-new consultations/
# Keep personal data no longer than each consultation promises (run this daily in production).
.venv/bin/codesign privacy purge
# The demo knowledge base: one collection per folder; unchanged documents are skipped.
if compgen -G "knowledge/*/" >/dev/null; then
  .venv/bin/codesign knowledge ingest knowledge/*/
fi

pids=()
cleanup() { trap - INT TERM EXIT; kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup INT TERM EXIT

.venv/bin/python -m rasa_sdk --actions actions --port 5055 \
  >"$CODESIGN_VAR_DIR/logs/actions.log" 2>&1 &
pids+=($!)
.venv-rasa/bin/rasa run --enable-api --port 5005 --model models \
  --endpoints endpoints.yml --credentials credentials.yml \
  >"$CODESIGN_VAR_DIR/logs/rasa.log" 2>&1 &
pids+=($!)

echo "[run] starting Rasa and the action server (about 30 s to load the models)…"
ready=false
for _ in $(seq 1 180); do
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || { echo "[run] a server exited; see $CODESIGN_VAR_DIR/logs/" >&2; exit 1; }
  done
  if curl -sf "$RASA_URL/status" 2>/dev/null | grep -q model_file && \
     curl -sf http://127.0.0.1:5055/health >/dev/null 2>&1; then ready=true; break; fi
  sleep 1
done
$ready || { echo "[run] the servers did not start within 3 minutes; see $CODESIGN_VAR_DIR/logs/" >&2; exit 1; }

cat <<MSG

  codesign is running (database: ${DATABASE_URL%%\?*})
  • Chat in this terminal:   .venv/bin/codesign chat
  • Rasa REST channel:       POST $RASA_URL/webhooks/rest/webhook  {"sender": "me", "message": "hi"}
  • Action server:           http://127.0.0.1:5055/health
  • Logs:                    $CODESIGN_VAR_DIR/logs/
  Press Ctrl-C to stop.

MSG
wait -n "${pids[@]}"
echo "[run] a server stopped; see $CODESIGN_VAR_DIR/logs/" >&2
