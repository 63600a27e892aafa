# Shared environment of the run, test and bench scripts (source it; do not run it).
# Every value can be overridden from the environment.
CODESIGN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CODESIGN_ROOT
export CODESIGN_VAR_DIR="${CODESIGN_VAR_DIR:-$CODESIGN_ROOT/var}"
mkdir -p "$CODESIGN_VAR_DIR"
export DATABASE_URL="${DATABASE_URL:-sqlite:///$CODESIGN_VAR_DIR/codesign.db}"
# Rasa (SQLAlchemy 1.4 + psycopg2) reads the same database through a driver-less URL.
export RASA_TRACKER_URL="${RASA_TRACKER_URL:-$(printf '%s' "$DATABASE_URL" | sed -E 's#^postgres(ql)?(\+[a-z0-9]+)?://#postgresql://#')}"
# The embedded default's servers (bot/ops/layout.py sets the scaled mode's per program).
export ACTION_ENDPOINT_URL="${ACTION_ENDPOINT_URL:-http://127.0.0.1:${CODESIGN_ACTION_PORT:-5055}/webhook}"
export RASA_URL="${RASA_URL:-http://127.0.0.1:${CODESIGN_RASA_PORT:-5005}}"

# Secrets: production sets them explicitly; for development a random value is kept under
# var/ (readable by its owner only) the first time it is needed.
#   CODESIGN_SECRET_KEY   keys the pseudonymous participant ids
#   RASA_AUTH_TOKEN       Rasa's HTTP API (/status, /conversations, /model) needs it
#   ACTION_SERVER_TOKEN   Rasa sends it to the action servers, which refuse calls without it
kept_secret() { # $1 = file name under var/
  local file="$CODESIGN_VAR_DIR/$1"
  if [[ ! -s "$file" ]]; then
    (umask 077; head -c 32 /dev/urandom | base64 | tr -d '/+=\n' > "$file")
  fi
  cat "$file"
}
export CODESIGN_SECRET_KEY="${CODESIGN_SECRET_KEY:-$(kept_secret secret.key)}"
export RASA_AUTH_TOKEN="${RASA_AUTH_TOKEN:-$(kept_secret rasa-auth.token)}"
export ACTION_SERVER_TOKEN="${ACTION_SERVER_TOKEN:-$(kept_secret action-server.token)}"

# Rasa's Redis lock store (scaled mode) reads host, port, db and password separately.
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
if [[ "$REDIS_URL" =~ ^rediss?://(([^:@/]*)(:([^@/]*))?@)?([^:/]+)(:([0-9]+))?(/([0-9]+))?$ ]]; then
  export REDIS_HOST="${REDIS_HOST:-${BASH_REMATCH[5]}}"
  export REDIS_PORT="${REDIS_PORT:-${BASH_REMATCH[7]:-6379}}"
  export REDIS_DB="${REDIS_DB:-${BASH_REMATCH[9]:-0}}"
  export REDIS_PASSWORD="${REDIS_PASSWORD:-${BASH_REMATCH[4]}}"
fi

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
export PYTHONPATH="$CODESIGN_ROOT${PYTHONPATH:+:$PYTHONPATH}"
# Rasa: telemetry off, readable logs, a listen backlog for launch-day bursts (Sanic's
# default of 100 reset connections when 200 citizens arrived at once), small database
# pools (each Rasa process handles one turn at a time), and per-citizen locks that expire
# soon after a crashed process held them (longer than the longest turn: the action
# time limit, CODESIGN_ACTION_TIMEOUT, is 10 s).
export RASA_TELEMETRY_ENABLED=false
export TF_CPP_MIN_LOG_LEVEL=2
export SQLALCHEMY_SILENCE_UBER_WARNING=1
export SANIC_BACKLOG="${SANIC_BACKLOG:-1024}"
export SQL_POOL_SIZE="${SQL_POOL_SIZE:-3}" SQL_MAX_OVERFLOW="${SQL_MAX_OVERFLOW:-5}"
export TICKET_LOCK_LIFETIME="${TICKET_LOCK_LIFETIME:-20}"
