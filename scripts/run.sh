#!/usr/bin/env bash
# Start the whole stack on the embedded default (SQLite under var/, one machine), under
# supervisord: the action server (5055), the Rasa server (5005, REST and socketio
# channels; its HTTP API needs RASA_AUTH_TOKEN), the web app (8000) and, with
# TELEGRAM_BOT_TOKEN, the Telegram bridge. Internal servers listen on 127.0.0.1 only.
# A process that exits or stops answering is restarted, and the terminal says so.
# Demo consultations are launched on first start. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/train.sh
source scripts/env.sh
bash scripts/prepare-data.sh
source scripts/telegram-check.sh

WEB_PORT="${CODESIGN_WEB_PORT:-8000}"
.venv/bin/codesign ops configure --mode embedded >/dev/null
banner="$CODESIGN_VAR_DIR/banner.txt"
cat >"$banner" <<MSG

  codesign is running (database: ${DATABASE_URL%%\?*})
  • Web page and chat:       http://127.0.0.1:$WEB_PORT/   (one consultation: /c/<slug>)
  • Review area (staff):     http://127.0.0.1:$WEB_PORT/review   (first admin: .venv/bin/codesign users create you@agency.example --role admin)
  • Chat in this terminal:   .venv/bin/codesign chat
  • Rasa REST channel:       POST $RASA_URL/webhooks/rest/webhook  {"sender": "me", "message": "hi"}
  • Telegram bridge:         $telegram_status
  • Processes:               .venv/bin/supervisorctl -c $CODESIGN_VAR_DIR/supervisord.conf status
  • Logs:                    $CODESIGN_VAR_DIR/logs/
  Rasa and the action server listen on 127.0.0.1 only; Rasa's HTTP API needs the token
  in $CODESIGN_VAR_DIR/rasa-auth.token. Press Ctrl-C to stop.

MSG
exec bash scripts/supervise.sh "$banner"
