#!/usr/bin/env bash
# Train the Rasa model only when its inputs changed: the model is named after a hash of
# config.yml, domain.yml and data/, so an up-to-date model is found and reused.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
# One training at a time in this folder; a second run waits, then finds the model.
exec {train_lock}>.train.lock
flock "$train_lock"
fingerprint="$(cat config.yml domain.yml $(find data -name '*.yml' | sort) | sha256sum | cut -c1-12)"
model="models/codesign-$fingerprint.tar.gz"
if [[ -f "$model" ]]; then
  echo "[train] model is up to date: $model"
  exit 0
fi
echo "[train] training the Rasa model (inputs changed; about 2 minutes on 2 cores)"
mkdir -p models
.venv-rasa/bin/rasa train --fixed-model-name "codesign-$fingerprint" --out models \
  --config config.yml --domain domain.yml --data data 2>&1 \
  | grep -vE "UnexpecTEDIntentPolicy|experimental|^\s*$" || true
if [[ ! -f "$model" ]]; then echo "[train] training failed" >&2; exit 1; fi
# Keep only the current model.
find models -name 'codesign-*.tar.gz' ! -name "codesign-$fingerprint.tar.gz" -delete
echo "[train] trained $model"
