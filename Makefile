# The two commands of the README:
#   make serve   set up, then run everything on the embedded default (SQLite, in-process limits)
#   make test    set up, then run every check: buf lint/breaking, generated code, ruff, mypy, pytest
PY := .venv/bin/python
BUF := node_modules/.bin/buf

.PHONY: serve test setup protos check-protos lint pytest pytest-default pytest-scale bench clean

.venv/.installed: pyproject.toml
	python3 -m venv .venv
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: .venv/.installed node_modules/.installed

serve: .venv/.installed
	.venv/bin/chronicle serve

protos: .venv/.installed
	scripts/protos.sh generate

check-protos: setup
	scripts/protos.sh lint
	scripts/protos.sh breaking $${BREAKING_AGAINST:-HEAD~1}
	scripts/protos.sh check

lint: .venv/.installed
	.venv/bin/ruff check src tests bench
	.venv/bin/ruff format --check src tests bench
	.venv/bin/mypy

# The suite twice: on the embedded default, then on PostgreSQL + Redis (a fresh database
# per test). Without a PostgreSQL to reach, the second run is skipped with a notice,
# except in CI (.ci/run sets CHRONICLE_REQUIRE_SCALE=1), where it must run.
SCALE_POSTGRES ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
SCALE_REDIS ?= redis://127.0.0.1:6379/0

pytest: pytest-default pytest-scale

pytest-default: .venv/.installed
	$(PY) -m pytest -q

pytest-scale: .venv/.installed
	@if [ -z "$${CHRONICLE_REQUIRE_SCALE:-}" ] && ! $(PY) scripts/reachable.py "$(SCALE_POSTGRES)" "$(SCALE_REDIS)"; then \
	  echo "pytest-scale: skipped (no PostgreSQL or Redis to reach; CI requires them)"; \
	else \
	  CHRONICLE_TEST_POSTGRES="$(SCALE_POSTGRES)" CHRONICLE_TEST_REDIS="$(SCALE_REDIS)" $(PY) -m pytest -q; \
	fi

test: check-protos lint pytest

bench: setup
	$(PY) bench/run.py
	$(PY) bench/generation.py

clean:
	rm -rf .venv node_modules .buf-deps .pytest_cache .mypy_cache .ruff_cache
