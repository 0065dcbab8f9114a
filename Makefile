# The two commands of the README:
#   make serve   set up, then run everything on the embedded default (SQLite, in-process limits)
#   make test    set up, then run every check: buf lint/breaking, generated code, ruff, mypy,
#                the layering contracts, dead code, pytest
PY := .venv/bin/python
BUF := node_modules/.bin/buf
SHELL := bash

# $(call timed,STAGE,COMMAND): runs COMMAND, then prints how long it took, passed or not
# (CI reads these lines to see where its time goes).
timed = echo "+ $(2)"; t0=$${EPOCHREALTIME/./}; $(2); rc=$$?; \
  t=$$(( ($${EPOCHREALTIME/./} - t0) / 100000 )); \
  printf '[stage] %-22s %4d.%d s  %s\n' '$(1)' $$((t / 10)) $$((t % 10)) \
  "$$( ((rc)) && echo "FAILED ($$rc)" || echo ok)"; exit $$rc

.PHONY: serve test setup system-packages protos check-protos lint pytest pytest-default pytest-scale bench clean

.venv/.installed: pyproject.toml
	python3 -m venv .venv
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: .venv/.installed node_modules/.installed system-packages

# The Noto fonts PDF export draws every script with (apt; nothing when they are there).
system-packages:
	@scripts/system_packages.sh

serve: .venv/.installed system-packages
	.venv/bin/chronicle serve

protos: .venv/.installed
	scripts/protos.sh generate

check-protos: setup
	@$(call timed,protos check,scripts/protos.sh lint && scripts/protos.sh breaking $${BREAKING_AGAINST:-HEAD~1} && scripts/protos.sh check)

lint: .venv/.installed
	@$(call timed,ruff check,.venv/bin/ruff check src tests bench)
	@$(call timed,ruff format,.venv/bin/ruff format --check src tests bench)
	@$(call timed,mypy,.venv/bin/mypy)
	@$(call timed,layers,.venv/bin/lint-imports)
	@$(call timed,dead code,.venv/bin/vulture)

# The suite twice: every test on the embedded default (SQLite, limits in process), and
# on PostgreSQL + Redis (a fresh database per test) the tests marked `backends`, the only
# ones whose outcome depends on them (tests/conftest.py marks them). The two passes run at
# once, each with its output kept together. Without a PostgreSQL to reach, the second pass
# is skipped with a notice, except in CI (.ci/run sets CHRONICLE_REQUIRE_SCALE=1).
SCALE_POSTGRES ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
SCALE_REDIS ?= redis://127.0.0.1:6379/0

# PYTEST_JOBS=1 runs the two passes one after the other, for a machine too busy to run
# both at once (the SIGTERM-under-load test in tests/hardening needs a minimum request rate).
PYTEST_JOBS ?= 2

pytest: .venv/.installed
	@$(MAKE) --no-print-directory -j$(PYTEST_JOBS) --output-sync=target pytest-default pytest-scale

pytest-default: .venv/.installed
	@$(call timed,pytest embedded,$(PY) -m pytest -q -p no:cacheprovider)

pytest-scale: .venv/.installed
	@if [ -z "$${CHRONICLE_REQUIRE_SCALE:-}" ] && ! $(PY) scripts/reachable.py "$(SCALE_POSTGRES)" "$(SCALE_REDIS)"; then \
	  echo "pytest-scale: skipped (no PostgreSQL or Redis to reach; CI requires them)"; \
	else \
	  export CHRONICLE_TEST_POSTGRES="$(SCALE_POSTGRES)" CHRONICLE_TEST_REDIS="$(SCALE_REDIS)"; \
	  $(call timed,pytest PG+Redis,$(PY) -m pytest -q -p no:cacheprovider -m backends); \
	fi

test: check-protos lint pytest

bench: setup
	$(PY) bench/run.py
	$(PY) bench/generation.py

clean:
	rm -rf .venv node_modules .buf-deps .pytest_cache .mypy_cache .ruff_cache
