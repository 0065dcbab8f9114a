# The two commands of the README:
#   make serve   set up, then run everything on the embedded default (SQLite, in-process limits)
#   make test    set up, then run every check: buf lint/breaking, generated code, ruff, mypy, pytest
PY := .venv/bin/python
BUF := node_modules/.bin/buf

.PHONY: serve test setup protos check-protos lint pytest bench clean

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

pytest: .venv/.installed
	$(PY) -m pytest -q

test: check-protos lint pytest

bench: setup
	$(PY) bench/run.py
	$(PY) bench/generation.py

clean:
	rm -rf .venv node_modules .buf-deps .pytest_cache .mypy_cache .ruff_cache
