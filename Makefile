# Each target makes its own virtual environment, so both work on a fresh machine
# with only Python >= 3.11 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/digest2feed update examples/ -o output/ -v

test: $(STAMP)
	$(BIN)/ruff check src tests $(wildcard bench)
	$(BIN)/pytest -q

bench: $(STAMP)
	cd bench && ../$(BIN)/python run.py && ../$(BIN)/python imap.py

lint: $(STAMP)
	$(BIN)/ruff check src tests $(wildcard bench)

clean:
	rm -rf $(VENV) output/*.xml output/*.json output/*.html output/accepted output/submissions output/certified output/archive
