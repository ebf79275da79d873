# Each target makes its own virtual environment, so both work on a fresh machine
# with only Python >= 3.11 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench lint mutate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/digest2feed update examples/ -o output/ -v

test: $(STAMP)
	$(BIN)/ruff check src tests $(wildcard bench)
	$(BIN)/pytest -q -n auto

bench: $(STAMP)
	cd bench && ../$(BIN)/python run.py && ../$(BIN)/python imap.py

# Mutation testing on demand, never in CI (TESTING.md): `make mutate`, or one part of it with
# `make mutate MUTANTS='digest2feed.merge*'`. Results stay in mutants/ (ignored by git).
# Property tests run 60 examples per mutant instead of 300 (FUZZ_EXAMPLES scales them all).
MUTANTS ?=
MUTATE_CHILDREN ?= 2
mutate: $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,mutate]'
	FUZZ_EXAMPLES=60 $(BIN)/mutmut run --max-children $(MUTATE_CHILDREN) $(MUTANTS)
	$(BIN)/mutmut results

lint: $(STAMP)
	$(BIN)/ruff check src tests $(wildcard bench)

# Exactly what digest2feed wrote in output/: every file ending with its fingerprint (the
# rule of render/stamp.py, which also keeps it from overwriting your files), its dot files
# (lock, pending marker, IMAP checkpoint, owed hub pings, temporaries, old versions), then the folders left empty.
STAMP_RE := (<!-- digest2feed |"fingerprint": "|@comment\{digest2feed )[0-9a-f]{64}
clean:
	rm -rf $(VENV) mutants
	[ ! -d output ] || find output -type f \( -name '.digest2feed.*' -o -name '*.d2f-tmp' -o -name '*.d2f-old' \) -delete
	[ ! -d output ] || find output -type f -exec sh -c 'tail -c 256 "$$1" | grep -Eq "$$0"' '$(STAMP_RE)' {} \; -delete
	[ ! -d output ] || find output -mindepth 1 -type d -empty -delete
