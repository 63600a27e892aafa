#!/usr/bin/env bash
# Start the whole stack on the embedded default (SQLite under var/, one machine):
# the action server (5055), the Rasa server (5005, REST and socketio channels + HTTP API)
# and the web app (8000: the public page with the chat widget).
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
# The web page (8000) and its chat widget, which talks to Rasa's socketio channel at
# RASA_PUBLIC_URL (the Rasa URL as citizens' browsers reach it). WebSockets need no CORS;
# the long-polling fallback needs the page's origin(s) in Rasa's --cors list.
WEB_PORT="${CODESIGN_WEB_PORT:-8000}"
export RASA_PUBLIC_URL="${RASA_PUBLIC_URL:-$RASA_URL}"
RASA_CORS_ORIGINS="${RASA_CORS_ORIGINS:-http://127.0.0.1:$WEB_PORT http://localhost:$WEB_PORT}"
# shellcheck disable=SC2086  # one origin per word
.venv-rasa/bin/rasa run --enable-api --port 5005 --model models \
  --endpoints endpoints.yml --credentials credentials.yml --cors $RASA_CORS_ORIGINS \
  >"$CODESIGN_VAR_DIR/logs/rasa.log" 2>&1 &
pids+=($!)
.venv/bin/python -m bot.web --host 127.0.0.1 --port "$WEB_PORT" \
  >"$CODESIGN_VAR_DIR/logs/web.log" 2>&1 &
pids+=($!)

echo "[run] starting Rasa, the action server and the web app (about 30 s to load the models)…"
ready=false
for _ in $(seq 1 180); do
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || { echo "[run] a server exited; see $CODESIGN_VAR_DIR/logs/" >&2; exit 1; }
  done
  if curl -sf "$RASA_URL/status" 2>/dev/null | grep -q model_file && \
     curl -sf http://127.0.0.1:5055/health >/dev/null 2>&1 && \
     curl -sf "http://127.0.0.1:$WEB_PORT/health" >/dev/null 2>&1; then ready=true; break; fi
  sleep 1
done
$ready || { echo "[run] the servers did not start within 3 minutes; see $CODESIGN_VAR_DIR/logs/" >&2; exit 1; }

# The Telegram bridge runs only when a bot token is configured (README: "Telegram").
if [[ -n "${TELEGRAM_BOT_TOKEN:-}" ]]; then
  .venv/bin/codesign telegram >"$CODESIGN_VAR_DIR/logs/telegram.log" 2>&1 &
  telegram_pid=$!
  sleep 3  # a bad configuration or token stops it at once
  if kill -0 "$telegram_pid" 2>/dev/null; then
    pids+=("$telegram_pid")
    echo "[run] Telegram bridge started (${TELEGRAM_MODE:-polling}); log: $CODESIGN_VAR_DIR/logs/telegram.log"
  else
    echo "[run] Telegram bridge NOT started:" >&2
    tail -n 5 "$CODESIGN_VAR_DIR/logs/telegram.log" >&2
  fi
else
  echo "[run] Telegram bridge not started (set TELEGRAM_BOT_TOKEN to start it)"
fi

cat <<MSG

  codesign is running (database: ${DATABASE_URL%%\?*})
  • Web page and chat:       http://127.0.0.1:$WEB_PORT/   (one consultation: /c/<slug>)
  • Review area (staff):     http://127.0.0.1:$WEB_PORT/review   (first admin: .venv/bin/codesign users create you@agency.example --role admin)
  • Chat in this terminal:   .venv/bin/codesign chat
  • Rasa REST channel:       POST $RASA_URL/webhooks/rest/webhook  {"sender": "me", "message": "hi"}
  • Action server:           http://127.0.0.1:5055/health
  • Logs:                    $CODESIGN_VAR_DIR/logs/
  Press Ctrl-C to stop.

MSG
wait -n "${pids[@]}"
echo "[run] a server stopped; see $CODESIGN_VAR_DIR/logs/" >&2
