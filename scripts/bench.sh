#!/usr/bin/env bash
# Run the benchmarks (they start their own servers on spare ports) and print figures.
# Results are also written to results/*.json. Run them on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
bash scripts/train.sh
source scripts/env.sh
.venv/bin/python -m bench.turn_latency "$@"
echo
.venv/bin/python -m bench.engine_turn
echo
.venv/bin/python -m bench.knowledge_eval
echo
.venv/bin/python -m bench.knowledge_search
echo
.venv/bin/python -m bench.theming
echo
.venv/bin/python -m bench.telegram_latency
echo
.venv/bin/python -m bench.page_load
echo
.venv/bin/python -m bench.review_pages
echo
.venv/bin/python -m bench.who_took_part
echo
.venv/bin/python -m bench.load --mode both --think 0-5
echo
.venv/bin/python -m bench.faults
