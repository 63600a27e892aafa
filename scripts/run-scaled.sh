#!/usr/bin/env bash
# Start the scaled mode on this machine: PostgreSQL (DATABASE_URL; the app store and
# Rasa's conversations) and Redis (REDIS_URL; Rasa's lock store) must be running; nginx
# (installed by the set-up from Debian's packages) is the single public entry point on
# CODESIGN_PUBLIC_PORT (8080) in front of CODESIGN_RASA_PROCESSES Rasa servers,
# CODESIGN_ACTION_PROCESSES action servers, the web app (CODESIGN_WEB_WORKERS workers)
# and, with TELEGRAM_BOT_TOKEN, the Telegram bridge, all run and restarted by supervisord.
# The same variables configure each machine of a multi-machine deployment (README).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/train.sh
export DATABASE_URL="${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/codesign}"
source scripts/env.sh
.venv/bin/codesign ops check --create-database
bash scripts/prepare-data.sh
source scripts/telegram-check.sh

layout="$(.venv/bin/codesign ops configure --mode scaled)"
if grep -q '^nginx' <<<"$layout"; then
  nginx -q -t -c "$CODESIGN_VAR_DIR/nginx.conf" -p "$CODESIGN_VAR_DIR/nginx" \
    || { echo "[run] nginx refused the configuration above" >&2; exit 1; }
fi
public="http://127.0.0.1:${CODESIGN_PUBLIC_PORT:-8080}"
banner="$CODESIGN_VAR_DIR/banner.txt"
cat >"$banner" <<MSG

  codesign is running in the scaled mode (database: $(sed -E 's#//[^@/]*@#//#; s#\?.*##' <<<"$DATABASE_URL"), Redis: ${REDIS_HOST}:${REDIS_PORT})
  • Web page and chat:       $public/
  • Review area (staff):     $public/review
  • Rasa REST channel:       POST $public/webhooks/rest/webhook
  • Telegram bridge:         $telegram_status
  • Programs on this machine:
$(cut -f1 <<<"$layout" | sed 's/^/      /')
  • Processes:               .venv/bin/supervisorctl -c $CODESIGN_VAR_DIR/supervisord.conf status
  • Logs:                    $CODESIGN_VAR_DIR/logs/
  Only nginx is public; Rasa and the action servers listen on ${CODESIGN_BIND:-127.0.0.1}.
  Press Ctrl-C to stop.

MSG
exec bash scripts/supervise.sh "$banner"
