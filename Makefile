# Two commands matter: `make run` starts the bot, `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
# Rasa 3.6 needs Python 3.10; .python-version makes pyenv's python3.10 shim work.
PYTHON ?= $(shell command -v python3.10 2>/dev/null || pyenv which python3.10 2>/dev/null || ls -d $$HOME/.pyenv/versions/3.10*/bin/python3.10 2>/dev/null | tail -n 1)
STAMP := $(VENV)/.installed
WEB_STAMP := bot/web/node_modules/.installed
WEBCHAT_JS := tests/webchat/node_modules/rasa-webchat/lib/index.js

export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export PYTHONWARNINGS := ignore::DeprecationWarning

.PHONY: help setup browser balancer webchat db train run run-prod shell test test-stories lint eval thresholds validate clean

help:
	@echo "make run    - set up, seed the demo database, train if needed, start the bot"
	@echo "make run-prod - production mode: PostgreSQL, Redis, 2 Rasa servers behind nginx (DEMO=1: demo data)"
	@echo "make test   - set up, train if needed, run the whole test suite"
	@echo "make shell  - chat with the running bot as a demo customer (CUSTOMER=cust-lv-owner)"
	@echo "make test-stories - Rasa's story test on this project's test stories (tests/stories)"
	@echo "make setup | db | train | eval | thresholds | lint | validate | clean"

$(STAMP): pyproject.toml constraints.txt
	@test -n "$(PYTHON)" || { echo "Python 3.10 not found: install it (e.g. pyenv install 3.10.13)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==24.2"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

# The widget's one browser dependency (socket.io-client), pinned by package-lock.json.
$(WEB_STAMP): bot/web/package.json bot/web/package-lock.json
	@command -v npm >/dev/null || { echo "npm not found: install Node.js and npm (e.g. apt-get install nodejs npm)"; exit 1; }
	cd bot/web && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $(WEB_STAMP)

# rasa-webchat's prebuilt bundle for its browser test: the pinned tarball from the npm
# registry, checked against tests/webchat/rasa-webchat.lock.json (scripts/fetch_webchat.py).
$(WEBCHAT_JS): tests/webchat/rasa-webchat.lock.json scripts/fetch_webchat.py
	@command -v npm >/dev/null || { echo "npm not found: install Node.js and npm (e.g. apt-get install nodejs npm)"; exit 1; }
	$(BIN)/python scripts/fetch_webchat.py

webchat: $(WEBCHAT_JS)

# Browser tests drive Debian's Chromium; installed here when missing (needs root or sudo).
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	elif command -v sudo >/dev/null; then sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else echo "chromium and chromium-driver are missing: the browser tests will be skipped"; fi

# Production mode puts nginx in front of several Rasa servers; installed here when missing.
balancer:
	@if command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; \
	elif command -v sudo >/dev/null; then sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; \
	else echo "nginx is missing: production mode and its tests need it (apt-get install nginx)"; fi

setup: $(STAMP) $(WEB_STAMP)

db: setup
	$(BIN)/bot db upgrade
	$(BIN)/bot demo seed

# An unchanged project (config, domain, data, components) is not retrained (bot/nlu/training.py).
train: setup
	$(BIN)/bot train --no-load

validate: setup
	$(BIN)/rasa data validate

# The same launcher as production (`bot serve`), with one Rasa server and one action
# worker on SQLite; other ports: make run RASA_PORT=5105 ACTIONS_PORT=5155.
RASA_PORT ?= 5005
ACTIONS_PORT ?= 5055
run: db train
	@$(BIN)/bot serve --demo --rasa-workers 1 --action-workers 1 \
	  --port $(RASA_PORT) --action-port $(ACTIONS_PORT)

# Needs PostgreSQL and Redis (DATABASE_URL, BOT_TRACKER_STORE_URL, BOT_LOCK_STORE_URL),
# and BOT_AUTH_SECRET; DEMO=1 runs it with the demo data and the demo sign-in instead.
run-prod: setup train balancer
	@DEMO=$(DEMO) scripts/run_prod.sh

shell: setup
	$(BIN)/bot chat $${CUSTOMER:-cust-lv-owner}

# Rasa's own story test on the test stories in tests/stories, NLU included (--e2e, as plain
# `rasa test`, which finds the same stories: bot/nlu/story_search.py leaves .venv out).
test-stories: setup train
	$(BIN)/rasa test core --e2e --stories tests/stories --model models/billing.tar.gz \
		--out results/stories --fail-on-prediction-errors

lint: setup
	$(BIN)/ruff check bot actions tests scripts
	$(BIN)/mypy

test: setup browser balancer webchat train lint
	$(BIN)/rasa data validate
	$(BIN)/python -m pytest -q -ra

eval: setup
	$(BIN)/python scripts/evaluate_nlu.py --out docs/benchmarks.md

thresholds: setup
	$(BIN)/python scripts/choose_thresholds.py --out docs/nlu-design.md

clean:
	rm -rf models results var .pytest_cache
