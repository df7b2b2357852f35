# Set-up and checks. `make demo` and `make test` each create their own virtual environment.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: venv demo test test-quick lint bench clean

$(BIN)/maillage: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,demo]'
	touch $(BIN)/maillage

venv: $(BIN)/maillage

demo: venv
	$(BIN)/maillage demo

lint: venv
	$(BIN)/ruff check bot scenarios adapters
	$(BIN)/mypy --strict bot scenarios adapters

test: venv
	bash .ci/install-system-deps
	$(MAKE) lint
	$(BIN)/pytest -q -p no:cacheprovider

test-quick: venv
	$(BIN)/pytest -q -m "not slow"

bench: venv
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/sortition.py
	$(BIN)/python bench/noise.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
