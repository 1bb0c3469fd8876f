# The two commands of the README: `make run` (portal with demo data on embedded defaults)
# and `make test` (the test suite). Both install what they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
GATE_PORT ?= 5001

.PHONY: run test install lint i18n browser axe serve gates worker beat schemathesis

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

# Schemathesis for the contract test (tests/contract), in a venv of its own inside .venv (so
# .gitignore covers it): its pinned dependencies never move the app's.
VENV_ST ?= $(VENV)/schemathesis
$(VENV_ST)/bin/.installed: tests/contract/requirements.txt
	$(PYTHON) -m venv $(VENV_ST)
	$(VENV_ST)/bin/pip install -q -r tests/contract/requirements.txt
	touch $@

schemathesis: $(VENV_ST)/bin/.installed
export SCHEMATHESIS_BIN := $(abspath $(VENV_ST))/bin/schemathesis

install: $(BIN)/.installed
	$(BIN)/python tools/i18n.py compile

run: install
	$(BIN)/flask --app portal db upgrade
	$(BIN)/flask --app portal seed-demo
	$(BIN)/flask --app portal run --host $(HOST) --port $(PORT)

# Debian's Chromium for the real-browser tests (Playwright cannot download browsers here),
# CJK fonts so Korean and Chinese screenshots show characters, not boxes, and zbar to read the
# e-ID card's QR codes off screenshots as a gate's camera would.
browser:
	@{ command -v chromium >/dev/null 2>&1 && [ -d /usr/share/fonts/opentype/noto ] && command -v zbarimg >/dev/null 2>&1; } || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk zbar-tools >/dev/null; \
	  else echo "browser tests need Debian's chromium, fonts-noto-cjk and zbar-tools: sudo apt-get install chromium fonts-noto-cjk zbar-tools"; fi; }

# axe-core for the browser tests' accessibility check (tests/e2e/test_axe.py), pinned in
# tests/e2e/package-lock.json: `npm ci` only when the lock file is newer than the install.
AXE := tests/e2e/node_modules/axe-core/axe.min.js
$(AXE): tests/e2e/package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --prefix tests/e2e --no-audit --no-fund --silent && touch $@; \
	else echo "the accessibility test needs npm to install axe-core: sudo apt-get install npm"; fi

axe: $(AXE)

test: install browser schemathesis axe
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/python tools/i18n.py missing

i18n: install
	$(BIN)/python tools/i18n.py update

# Real deployment processes (see README): web, worker and beat share the same settings.
serve: install
	$(BIN)/gunicorn --workers 2 --bind $(HOST):$(PORT) 'portal:create_app()'
gates: install
	$(BIN)/gunicorn --worker-class gevent --workers 2 --bind $(HOST):$(GATE_PORT) 'portal:create_app()'
worker: install
	$(BIN)/celery -A portal.tasks worker --loglevel INFO
beat: install
	$(BIN)/celery -A portal.tasks beat --loglevel INFO
