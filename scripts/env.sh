# Shared environment of the run, test and bench scripts (source it; do not run it).
# Every value can be overridden from the environment.
CODESIGN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CODESIGN_ROOT
export CODESIGN_VAR_DIR="${CODESIGN_VAR_DIR:-$CODESIGN_ROOT/var}"
mkdir -p "$CODESIGN_VAR_DIR"
export DATABASE_URL="${DATABASE_URL:-sqlite:///$CODESIGN_VAR_DIR/codesign.db}"
# Rasa (SQLAlchemy 1.4 + psycopg2) reads the same database through a driver-less URL.
export RASA_TRACKER_URL="${RASA_TRACKER_URL:-$(printf '%s' "$DATABASE_URL" | sed -E 's#^postgres(ql)?(\+[a-z0-9]+)?://#postgresql://#')}"
export ACTION_ENDPOINT_URL="${ACTION_ENDPOINT_URL:-http://127.0.0.1:5055/webhook}"
export RASA_URL="${RASA_URL:-http://127.0.0.1:5005}"
if [[ -z "${CODESIGN_SECRET_KEY:-}" ]]; then
  # Development convenience: a random key kept under var/ (production sets it explicitly).
  if [[ ! -s "$CODESIGN_VAR_DIR/secret.key" ]]; then
    (umask 077; head -c 32 /dev/urandom | base64 > "$CODESIGN_VAR_DIR/secret.key")
  fi
  CODESIGN_SECRET_KEY="$(cat "$CODESIGN_VAR_DIR/secret.key")"
fi
export CODESIGN_SECRET_KEY
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
export PYTHONPATH="$CODESIGN_ROOT${PYTHONPATH:+:$PYTHONPATH}"
# Rasa: keep its telemetry off and its logs readable.
export RASA_TELEMETRY_ENABLED=false
export TF_CPP_MIN_LOG_LEVEL=2
export SQLALCHEMY_SILENCE_UBER_WARNING=1
