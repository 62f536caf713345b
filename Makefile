# Two entry points a fresh machine needs: `make serve` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install serve test fuzz bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	$(BIN)/runapi-mock serve --host 127.0.0.1 --port 8787

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/run.py

fuzz: $(STAMP)
	RUNAPI_FUZZ_EXAMPLES=300 $(BIN)/python -m pytest -q tests/e2e/test_fuzz.py

clean:
	rm -rf $(VENV) *.egg-info
