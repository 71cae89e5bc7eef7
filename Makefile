# `make dev` runs the whole system locally; `make test` runs every check. Both create the
# virtualenv first when it is missing, and reinstall the project when pyproject.toml changes.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help venv dev test lint format fuzz chaos bench messages lock lock-upgrade k8s

help:
	@echo "make dev     start everything on embedded services (API :8000, Temporal UI :8233)"
	@echo "make test    lint, type-check and run the whole test suite"
	@echo "make lint    ruff check, ruff format --check, mypy --strict"
	@echo "make format  apply ruff's formatting and safe fixes"
	@echo "make fuzz    a long schemathesis run against the API as every role"
	@echo "make chaos   kill workers, Temporal and Postgres, break Stripe, S3 and SMTP; check invariants"
	@echo "make bench   the flash-sale benchmark beside same-run baselines (ARGS=--quick: ~1 min)"
	@echo "make k8s     the Helm chart's manifests for its default values in deploy/rendered/"
	@echo "make messages  collect the pages' texts into each language's .po file (then translate)"
	@echo "make lock    pin new dependencies in requirements*.lock (make lock-upgrade: all newest)"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Python 3.11 or newer is needed: make PYTHON=python3.11 ..." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

# The stamp is newer than the lock file once the pinned dependencies are installed: every
# install (this, CI, the Docker image) takes the versions the lock names, not the newest.
LOCK := requirements-dev.lock
UV_COMPILE = $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 -q
# uv installs the pinned set in seconds where pip took minutes of CI's 15; where uv cannot be
# had or cannot reach the index, pip installs the same pins. Compiled to bytecode at install, as
# pip does: where PYTHONDONTWRITEBYTECODE is set (this machine sets it) nothing is cached later,
# and every process the tests start (workers, API, CLI) would compile its imports again.
UV_INSTALL = UV_NATIVE_TLS=1 $(BIN)/uv pip install --compile-bytecode --python $(BIN)/python
$(STAMP): pyproject.toml $(LOCK) | $(BIN)/python
	if $(BIN)/python -m pip install -q 'uv>=0.5' && $(UV_INSTALL) -r $(LOCK); then \
		$(UV_INSTALL) --no-deps -e .; \
	else \
		$(BIN)/python -m pip install -r $(LOCK) && $(BIN)/python -m pip install --no-deps -e .; \
	fi
	$(BIN)/python -m compileall -q -j 0 boxoffice bench tests
	@touch $@

# After changing dependencies in pyproject.toml: pin the new ones, keep every other pin.
# `make lock-upgrade` moves every pin to the newest release allowed (then run make test).
lock: $(BIN)/python
	$(BIN)/python -m pip install -q 'uv>=0.5'
	$(UV_COMPILE) $(UV_ARGS) -o requirements.lock
	$(UV_COMPILE) $(UV_ARGS) --extra dev -o $(LOCK)

lock-upgrade:
	$(MAKE) lock UV_ARGS=--upgrade

venv: $(STAMP)

dev: $(STAMP)
	$(BIN)/boxoffice dev

lint: $(STAMP)
	$(BIN)/ruff check boxoffice tests bench
	$(BIN)/ruff format --check boxoffice tests bench
	$(BIN)/mypy --strict boxoffice tests bench

format: $(STAMP)
	$(BIN)/ruff check --fix boxoffice tests bench
	$(BIN)/ruff format boxoffice tests bench

# The linters run beside the suite (mypy alone takes most of a minute on a fresh clone and one
# core); their output follows the suite's, and either failing fails the target. Running the unit
# and replay tiers beside it too gained nothing: the other tiers keep both cores busy.
test: $(STAMP)
	@mkdir -p build
	@$(MAKE) --no-print-directory lint >build/lint.log 2>&1 & lint=$$!; \
	$(BIN)/pytest -q --durations=15 -p no:cacheprovider; tests=$$?; \
	wait $$lint; linted=$$?; \
	echo "--- make lint (run beside the tests): exit $$linted"; cat build/lint.log; \
	[ $$tests -eq 0 ] && [ $$linted -eq 0 ]

# The schemathesis tier of `make test`, with many more examples per operation (each role).
# fuzz and chaos run far longer than `make test`'s tests: their per-test timeout is an hour.
FUZZ_EXAMPLES ?= 200
fuzz: $(STAMP)
	BOXOFFICE_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -q -p no:cacheprovider --timeout=3600 \
		tests/app/integration/test_schema_fuzz.py

# The full fault-injection run (the issue's counts); `make test` runs a short version of it.
chaos: $(STAMP)
	BOXOFFICE_CHAOS=full $(BIN)/pytest tests/orders/chaos -m chaos -q -p no:cacheprovider --durations=15 \
		--timeout=3600

# Starts its own stack on free ports; results go to bench/results/. ARGS=--quick, --full, ...
bench: $(STAMP)
	$(BIN)/python -m bench $(ARGS)

# The storefront's texts: extract them from the templates and pages, and merge them into each
# language's catalogue, whose new entries then need a translation (boxoffice/storefront/locale).
LOCALE_DIR := boxoffice/storefront/locale
messages: $(STAMP)
	$(BIN)/pybabel extract -F $(LOCALE_DIR)/babel.cfg -k gettext:2 -k N_ --no-location \
		-o $(LOCALE_DIR)/messages.pot .
	$(BIN)/pybabel update -i $(LOCALE_DIR)/messages.pot -d $(LOCALE_DIR) --no-fuzzy-matching

# The Helm chart (deploy/helm/boxoffice) rendered by Helm's engine for its default values, one
# file per object, each checked against Kubernetes' schemas (not committed). No cluster needed.
k8s: $(STAMP)
	$(BIN)/python -m tests.deploy.chart deploy/rendered
