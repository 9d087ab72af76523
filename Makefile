# The README gives two commands: `make demo` and `make test`. Both do all set-up first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test check lint typecheck sysdeps services venv bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

venv: $(STAMP)

sysdeps:
	./tools/sysdeps.sh

# PostgreSQL and MariaDB on loopback for the adapter tests: used as found, else started
# (installed first when missing).
services:
	./tools/services.sh

demo: sysdeps venv
	$(BIN)/riskshare demo

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy

check: lint typecheck

test: sysdeps services venv check
	$(BIN)/pytest

bench: sysdeps venv
	$(BIN)/python bench/psi_bench.py --quick

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
