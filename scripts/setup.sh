#!/usr/bin/env bash
# Create or update everything the project needs to run and test, idempotently:
#   .venv-rasa  Python 3.10 + rasa==3.6.21 (requirements/rasa.txt)
#   .venv       Python 3.11 + the app (torch 2.13.0 CPU first, then requirements/app.txt)
#               + the test tools (requirements/test.txt)
#   node_modules  the web page's front-end packages (npm ci from package-lock.json)
#   /usr/bin/chromium  Debian's Chromium, for the browser tests and the page-load benchmark
#   nginx         Debian's nginx, the scaled mode's entry point (make run-scaled, its tests)
# Each venv and node_modules is rebuilt only when its lock file changed (stamp = file hash).
set -euo pipefail
cd "$(dirname "$0")/.."

# Two set-ups at once (say `make run` in one terminal and `make test` in another) would
# rebuild the same venv under each other: the second waits for the first, then finds
# everything up to date.
exec {setup_lock}>.setup.lock
if ! flock -n "$setup_lock"; then
  printf '\033[1m[setup]\033[0m %s\n' "another set-up is running in this folder; waiting for it"
  flock "$setup_lock"
fi

# pip may warn about missing local index folders configured on this machine: noise.
quiet_pip() { "$@" 2>&1 | { grep -v "WARNING: Location '" || true; }; }
log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
hash_of() { sha256sum "$@" | sha256sum | cut -c1-16; }

find_python() { # $1 = minor version, e.g. 3.10
  local want="$1" candidate
  if command -v pyenv >/dev/null 2>&1; then
    candidate="$(pyenv versions --bare 2>/dev/null | grep -E "^${want//./\\.}\.[0-9]+$" | sort -V | tail -1 || true)"
    if [[ -n "$candidate" ]]; then echo "$(pyenv root)/versions/$candidate/bin/python$want"; return; fi
  fi
  for candidate in "python$want" "/usr/bin/python$want" "/usr/local/bin/python$want"; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import venv' 2>/dev/null; then
      command -v "$candidate"; return
    fi
  done
  echo "error: Python $want is needed (rasa 3.6 needs 3.10; the app needs 3.11)." >&2
  echo "       Install it (e.g. 'pyenv install $want' or 'apt-get install python$want python$want-venv')." >&2
  exit 1
}

make_venv() { # $1 dir, $2 python version, $3 stamp hash, $4... install commands via function
  local dir="$1" version="$2" stamp="$3"
  if [[ -f "$dir/.stamp" && "$(cat "$dir/.stamp")" == "$stamp" ]]; then
    log "$dir is up to date"; return 1
  fi
  log "creating $dir (Python $version)"
  rm -rf "$dir"
  "$(find_python "$version")" -m venv "$dir"
  quiet_pip "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "pip<27"
  return 0
}

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

rasa_stamp="$(hash_of requirements/rasa.txt)"
if make_venv .venv-rasa 3.10 "$rasa_stamp"; then
  log "installing Rasa 3.6.21 (about 2 minutes)"
  quiet_pip .venv-rasa/bin/pip install --quiet -r requirements/rasa.txt
  echo "$rasa_stamp" > .venv-rasa/.stamp
fi

app_stamp="$(hash_of requirements/app.txt pyproject.toml)"
if make_venv .venv 3.11 "$app_stamp"; then
  log "installing torch 2.13.0 (CPU) first, then the app's requirements"
  quiet_pip .venv/bin/pip install --quiet torch==2.13.0
  quiet_pip .venv/bin/pip install --quiet -r requirements/app.txt
  quiet_pip .venv/bin/pip install --quiet --no-deps -e .
  echo "$app_stamp" > .venv/.stamp
fi

# Test-only tools (Hypothesis, schemathesis, pip-audit) on top, held to app.txt's pins;
# a change of test.txt installs them again without rebuilding the venv.
test_stamp="$(hash_of requirements/test.txt requirements/app.txt)"
if [[ ! -f .venv/.stamp-test || "$(cat .venv/.stamp-test)" != "$test_stamp" ]]; then
  log "installing the test tools (requirements/test.txt)"
  quiet_pip .venv/bin/pip install --quiet -r requirements/test.txt -c requirements/app.txt
  echo "$test_stamp" > .venv/.stamp-test
fi

# Debian packages, installed only when missing (as root, or through sudo).
apt_updated=false
apt_install() { # $@ = packages
  local as=(); [[ "$(id -u)" -eq 0 ]] || as=(sudo)
  if ! $apt_updated; then
    "${as[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -q >/dev/null
    apt_updated=true
  fi
  # Packages that ship a service (nginx) must not start it: codesign runs its own.
  local policy=/usr/sbin/policy-rc.d made_policy=false
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${as[@]}" tee "$policy" >/dev/null
    "${as[@]}" chmod +x "$policy"
    made_policy=true
  fi
  local status=0
  "${as[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "$@" >/dev/null || status=$?
  if $made_policy; then "${as[@]}" rm -f "$policy"; fi
  return $status
}

if ! command -v npm >/dev/null 2>&1; then
  log "installing Node.js and npm (Debian packages)"
  apt_install nodejs npm
fi
npm_stamp="$(hash_of package.json package-lock.json)"
if [[ -f node_modules/.stamp && "$(cat node_modules/.stamp)" == "$npm_stamp" ]]; then
  log "node_modules is up to date"
else
  log "installing the front-end packages (npm ci: socket.io-client, axe-core)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$npm_stamp" > node_modules/.stamp
fi

# Playwright drives this browser; it never downloads one of its own.
if [[ ! -x /usr/bin/chromium ]]; then
  log "installing Debian's chromium (browser tests, page-load benchmark)"
  apt_install chromium || log "warning: could not install chromium; browser tests will skip (fail under CI=true)"
fi

# The scaled mode's single entry point (make run-scaled and its tests).
if ! command -v nginx >/dev/null 2>&1 && [[ ! -x /usr/sbin/nginx ]]; then
  log "installing Debian's nginx (the scaled mode's entry point)"
  apt_install nginx || log "warning: could not install nginx; the scaled mode's tests will skip (fail under CI=true)"
fi

# pg_dump and pg_restore: `codesign backup` / `restore` on PostgreSQL (and their tests).
if ! command -v pg_dump >/dev/null 2>&1; then
  log "installing Debian's postgresql-client (pg_dump and pg_restore for backups)"
  apt_install postgresql-client || log "warning: could not install postgresql-client; PostgreSQL backups need it (their tests fail under CI=true)"
fi

log "done: .venv-rasa ($(.venv-rasa/bin/python --version)), .venv ($(.venv/bin/python --version)), node_modules, $( command -v nginx >/dev/null 2>&1 && nginx -v 2>&1 || echo 'no nginx'), $( [[ -x /usr/bin/chromium ]] && /usr/bin/chromium --version 2>/dev/null | head -1 || echo 'no chromium')"
