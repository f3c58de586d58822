# Two commands for a fresh machine (see README):  make demo   |   make test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test serve system-deps lint bench clean

demo: $(STAMP)  ## set up and run the demo on the embedded defaults
	$(BIN)/labelstack demo

test: $(STAMP) system-deps  ## set up and run the whole test suite
	$(BIN)/ruff check labelstack tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 --dist loadfile -p no:cacheprovider

serve: $(STAMP)
	$(BIN)/labelstack serve

system-deps:  ## Chromium, Orthanc + DICOMweb, a running PostgreSQL (installs them when root)
	scripts/system-deps

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do $(BIN)/python -m benchmarks.$$(basename $$b .py) || exit 1; done

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "LabelStack needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) labelstack-data test-artifacts
