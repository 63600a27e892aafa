#!/usr/bin/env bash
# Run the programs of var/supervisord.conf (written by `codesign ops configure`) under
# supervisord in the foreground: each program is restarted when it exits, and the
# watchdog restarts one that stops answering its health check. Prints $1 (a banner file)
# once every program answers. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
banner="$1"
conf="$CODESIGN_VAR_DIR/supervisord.conf"
if .venv/bin/supervisorctl -c "$conf" pid >/dev/null 2>&1; then
  echo "[run] codesign is already running from $CODESIGN_VAR_DIR; stop it first:" >&2
  echo "      .venv/bin/supervisorctl -c $conf shutdown" >&2
  exit 1
fi
.venv/bin/supervisord -c "$conf" &
supervisor=$!
stop() { trap - INT TERM; echo; echo "[run] stopping…"; kill -TERM "$supervisor" 2>/dev/null || true; wait "$supervisor" 2>/dev/null || true; exit 0; }
trap stop INT TERM
echo "[run] starting the programs (Rasa takes about a minute to load its model)…"
if ! .venv/bin/codesign ops wait --programs "$CODESIGN_VAR_DIR/programs.json" --timeout 300; then
  kill -TERM "$supervisor" 2>/dev/null || true
  wait "$supervisor" 2>/dev/null || true
  exit 1
fi
cat "$banner"
wait "$supervisor"
