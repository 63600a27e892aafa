# Sourced by the run scripts: start the Telegram bridge only with a valid configuration
# (a bad token or webhook setting is reported here instead of restarting in a loop).
# Sets telegram_status for the banner.
if [[ -n "${TELEGRAM_BOT_TOKEN:-}" ]]; then
  if problem="$(.venv/bin/python -c '
import sys
from bot.telegram.config import ConfigError, TelegramConfig
try:
    TelegramConfig.from_env()
except ConfigError as exc:
    sys.exit(str(exc))' 2>&1)"; then
    telegram_status="started (${TELEGRAM_MODE:-polling}); log: $CODESIGN_VAR_DIR/logs/telegram.log"
  else
    echo "[run] Telegram bridge NOT started: $problem" >&2
    unset TELEGRAM_BOT_TOKEN
    telegram_status="NOT started: see the message above"
  fi
else
  telegram_status="not started (set TELEGRAM_BOT_TOKEN to start it)"
fi
