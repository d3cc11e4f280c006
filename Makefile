# Two entry points: `make run` and `make test`. Both create .venv with the
# machine's python3 when it is missing and install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint typecheck docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/fabnet plan openai-2024
	$(BIN)/fabnet risk latest --samples 1000 --plan-report plan.html
	@echo "report: plan.html (open it in a browser); runs: .venv/bin/fabnet runs list"

CODE := $(wildcard src tests benchmarks)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/python -m pytest -n 2 -q

docs: $(VENV)/.installed-test
	$(BIN)/typer fabnet.cli utils docs --name fabnet --output docs/cli.md

clean:
	rm -rf $(VENV) build dist .mypy_cache .pytest_cache .ruff_cache .hypothesis
