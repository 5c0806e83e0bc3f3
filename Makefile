# The front door: `make demo` and `make test` work on a fresh machine with Python >= 3.11.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv demo test lint schema bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	bash scripts/demo.sh

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy reconciler
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy reconciler

schema: $(STAMP)
	$(BIN)/reconciler schema

bench: $(STAMP)
	$(BIN)/python -m compileall -q reconciler bench  # as an installed package has: start-up without compiling
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .reconciler .pytest_cache .ruff_cache
