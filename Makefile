# Two entry points a fresh machine needs: `make serve` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install serve check test docs fuzz bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# make serve PORT=9140 HOST=0.0.0.0 ARGS='--progression immediate'; what is not given comes from the
# RUNAPI_MOCK_* variables, else the defaults (127.0.0.1:8787). Only make's command line counts: a shell's
# own HOST or a platform's PORT variable does not move the mock.
given = $(if $(filter command line,$(origin $(1))),$(2) $($(1)))
serve: $(STAMP)
	$(BIN)/runapi-mock serve $(call given,HOST,--host) $(call given,PORT,--port) $(ARGS)

# mypy --strict and ruff, before the tests. The folders install as runapi_mock and runapi_contracts
# (package-dir); mypy finds packages by folder name and cannot follow the editable install's import hook,
# so it reads them through links of those names.
TYPECHECK := $(abspath $(VENV))/typecheck
check: $(STAMP)
	@mkdir -p $(TYPECHECK)
	@ln -sfn $(CURDIR)/mockserver $(TYPECHECK)/runapi_mock
	@ln -sfn $(CURDIR)/contracts $(TYPECHECK)/runapi_contracts
	cd $(TYPECHECK) && MYPYPATH=$(TYPECHECK) $(abspath $(BIN))/mypy --config-file $(CURDIR)/pyproject.toml \
		-p runapi_mock -p runapi_contracts
	cd $(TYPECHECK) && MYPYPATH=$(TYPECHECK) $(abspath $(BIN))/mypy --config-file $(CURDIR)/pyproject.toml \
		$(CURDIR)/docs/gen_pages.py  # the site's generated pages: a script, so a run of its own
	$(BIN)/ruff check .

test: check
	$(BIN)/python -m pytest -q -rs -n auto  # -rs: every skipped test is listed with its reason; -n: one worker per core

# The documentation site (mkdocs.yml, docs/), served with live reload on 127.0.0.1 only: make docs DOCS_PORT=8001.
# make test builds it too, with --strict (tests/docs/test_site.py): a broken link or anchor fails the suite.
DOCS_PORT ?= 8000
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve --dev-addr 127.0.0.1:$(DOCS_PORT)

# wrk (Debian's package) generates every create throughput and latency figure; installed when missing, as .ci/run
# installs chromium. Without it the bench still runs on bench/loadgen.py but reports no ratio, and says why.
bench: $(STAMP)
	@command -v wrk >/dev/null || { SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk; } \
		|| echo "make bench: could not install wrk (apt-get install wrk): no ratio will be reported" >&2
	-$(BIN)/python -m pip install -q "pyinstrument>=5.1"  # the profile section's sampler; cProfile without it
	$(BIN)/python bench/run.py

# st run --checks all, every operation and phase, against a mock it serves on loopback (tools/fuzz.py);
# RUNAPI_FUZZ_EXAMPLES examples an operation (default 50), ARGS to st run.
fuzz: $(STAMP)
	$(BIN)/python tools/fuzz.py $(ARGS)

clean:
	rm -rf $(VENV) *.egg-info build site
