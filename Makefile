# Esteira — the template's own commands. After cloning: `make demo`, then `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(abspath $(VENV)/bin/python)
EXAMPLE := credit-default
DEMO := build/demo

.PHONY: install demo test reliability regen-example installed-modules clean

# One virtualenv for the template's tests and the demo; rebuilt when requirements change. uv
# resolves and downloads in parallel: the requirements install in about a minute, not five. The
# bytecode is compiled at install (uv does not by default): a machine that forbids writing it at
# run time (PYTHONDONTWRITEBYTECODE, as CI images often set) otherwise compiles MLflow's and
# pandas' modules from source in every process and every Spark Python worker (`status`: 6.6 s
# without, 4.0 s with).
$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet uv==0.9.5
	$(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(VENV)/bin/python -r requirements.txt
	touch $@

install: $(VENV)/.installed

# Render the elected model's project into a fresh folder, install it and run its whole loop locally:
# train the first champion, then 5 new batches (drift from the 3rd: retrain, redeploy) and a table.
# init leaves the project's warm engine running for the commands a person tries next (it stops
# itself when idle; the previous demo's is stopped first).
demo: install
	if [ -f $(DEMO)/$(EXAMPLE)/Makefile ]; then $(MAKE) -C $(DEMO)/$(EXAMPLE) --no-print-directory engine-stop PYTHON=$(PY) || true; fi
	rm -rf $(DEMO)
	$(VENV)/bin/cookiecutter --no-input --config-file examples/$(EXAMPLE).json --output-dir $(DEMO) .
	$(PY) -m pip install --quiet --no-deps -e $(DEMO)/$(EXAMPLE)
	cd $(DEMO)/$(EXAMPLE) && $(MAKE) --no-print-directory init train loop status PYTHON=$(PY)

# The modules a project name must not shadow, from the pinned requirements as installed (the
# pre-generation hook reads the list; a test fails while it is stale). Run after changing them.
installed-modules: install
	$(PY) hooks/installed_modules.py

# pytest exits 5 when it collects nothing: that is a missing suite, reported as a failure.
test: install
	@$(PY) -m pytest; status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: no tests were collected" >&2; exit 1; fi; \
	exit $$status

# Hostile answers, killed runs and bad batches tried on the template and a render of the example
# (about 15 minutes); rewrites docs/reliability.md, which `make test` checks is current.
reliability: install
	$(PY) -m reliability --doc docs/reliability.md

# Rewrite examples/credit-default from the template (the tests check it matches a fresh render).
regen-example: install
	rm -rf build/regen && mkdir -p build/regen
	$(VENV)/bin/cookiecutter --no-input --config-file examples/$(EXAMPLE).json --output-dir build/regen .
	rm -rf examples/$(EXAMPLE)
	mv build/regen/$(EXAMPLE) examples/$(EXAMPLE)

clean:
	rm -rf build $(VENV)
