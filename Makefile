# codesign: the two commands a newcomer needs are `make run` and `make test`.
.PHONY: run run-scaled status test setup train lint bench audit clean help

help:  ## List the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'

run:  ## Set up what is missing, then start the whole stack on SQLite (Ctrl-C stops it)
	@bash scripts/run.sh

run-scaled:  ## The scaled mode on this machine: PostgreSQL + Redis, 2 Rasa + 2 action servers, nginx on :8080
	@bash scripts/run-scaled.sh

status:  ## Show the running programs (either mode) with their pids
	@.venv/bin/supervisorctl -c $${CODESIGN_VAR_DIR:-var}/supervisord.conf status

test:  ## Set up what is missing, then run every test (unit, Rasa, end-to-end)
	@bash scripts/test.sh

setup:  ## Create/update both Python venvs from the pinned requirement files
	@bash scripts/setup.sh

train:  ## Train the Rasa model if config.yml, domain.yml or data/ changed
	@bash scripts/setup.sh && bash scripts/train.sh

lint:  ## ruff and mypy on the app code
	@.venv/bin/ruff check bot actions tests bench && .venv/bin/mypy

bench:  ## Run the benchmarks and print their figures
	@bash scripts/bench.sh

audit:  ## Known vulnerabilities in both venvs (pip-audit) and node_modules (npm audit); needs the network
	@bash scripts/audit.sh

clean:  ## Remove venvs, models and local data (var/)
	rm -rf .venv .venv-rasa models var
