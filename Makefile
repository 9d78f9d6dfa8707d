# Model Deployment Kit: the two quick-start commands are `make demo` and `make test`.
PYTHON ?= python3.12
VENV   ?= .venv
BIN    := $(VENV)/bin
EXTRAS ?= local,dev
comma  := ,
STAMP  := $(VENV)/.installed-$(subst $(comma),-,$(EXTRAS))
NBVAL_HOME := $(or $(MDK_HOME),.mdk)/nbval
# `make lab` and `mdk up` share one MDK_HOME (made absolute: the kernel runs in notebooks/)
LAB_HOME   := $(abspath $(or $(MDK_HOME),.mdk))
LAB_STAMP  := $(VENV)/.installed-lab
LAB_PORT   ?= 8888
# uv installs the kit's dependencies into each venv (the same PyPI, faster than pip). It
# compiles them to bytecode as pip does: where PYTHONDONTWRITEBYTECODE is set, as on the
# kit's machines, a venv without .pyc files compiles MLflow at every import (tests 1.6x slower)
UV_VERSION := 0.13.9
CHECK_PYTHON = command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found: install Python 3.12 (pyenv install 3.12.1)"; exit 2; }
# pytest-xdist workers for make test: one more than the CPUs (at most 4). Many tests wait on a
# server, a kernel or a timer, so a third worker on 2 cores keeps both busy
TEST_WORKERS ?= $(shell n=$$(nproc); echo $$(( n + 1 > 4 ? 4 : n + 1 )))

.PHONY: setup setup-lab chromium setup-databricks demo check test test-unit test-golden lab golden lint clean distclean

setup: $(STAMP)  ## create .venv and install the kit with local Spark and the test tools

$(STAMP): pyproject.toml
	@$(CHECK_PYTHON)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv==$(UV_VERSION)
	$(BIN)/uv pip install --python $(BIN)/python --compile-bytecode -e ".[$(EXTRAS)]"
	$(BIN)/python -m recipes.delta_lake
	$(BIN)/python -m recipes.jvm_archive
	touch $@

# JupyterLab (the `lab` extra: jupyterlab_widgets to go with ipywidgets) in the same .venv
setup-lab: $(LAB_STAMP)  ## add JupyterLab to .venv (make lab and the browser tier need it)

$(LAB_STAMP): $(STAMP)
	$(BIN)/uv pip install --python $(BIN)/python --compile-bytecode -e ".[$(EXTRAS),lab]"
	touch $@

# The browser tier (tests/browser/) drives Debian's chromium; Playwright's download is not used.
chromium:  ## install Debian's chromium for the browser tier when missing (as root), else say how
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  apt-get install -y --no-install-recommends chromium || \
	  { apt-get update && apt-get install -y --no-install-recommends chromium; }; \
	else echo "chromium is missing, so the browser tier will skip: sudo apt-get install chromium"; fi

# Databricks Connect bundles its own pyspark, so it gets a venv of its own (never beside `local`).
# It needs no Spark JVM, so no jars and no archive. .venv's uv makes it when .venv exists (as in
# make test): `uv venv --seed` instead of venv's ensurepip and a pip upgrade, 15 s less.
DBX       := .venv-dbx
DBX_STAMP := $(DBX)/.installed-databricks-dev
setup-databricks: $(DBX_STAMP)  ## create .venv-dbx with databricks-connect (target=databricks) and the test tools

$(DBX_STAMP): pyproject.toml
	@$(CHECK_PYTHON)
	if [ -x $(BIN)/uv ]; then uv=$(BIN)/uv; \
	  test -x $(DBX)/bin/python || $$uv venv --quiet --seed --python "$$(command -v $(PYTHON))" $(DBX); \
	else uv=$(DBX)/bin/uv; \
	  test -x $(DBX)/bin/python || $(PYTHON) -m venv $(DBX); \
	  $(DBX)/bin/python -m pip install --quiet --upgrade pip uv==$(UV_VERSION); fi; \
	$$uv pip install --python $(DBX)/bin/python --compile-bytecode -e ".[databricks,dev]"
	touch $@

demo: setup  ## run every notebook on the embedded local default; outputs in .mdk/runs/<time>/
	$(BIN)/mdk run

check: setup  ## the inner loop: unit tests with no JVM, no servers, no kernels and none slow
	$(BIN)/python -m pytest -n 2 -m "not spark and not notebook and not server and not slow" -p no:randomly

test: setup test-unit  ## ruff and import contracts, then every test tier (golden cells included)

# .venv-dbx (databricks-connect) runs the tests that import it, beside the main run (its
# output follows), and its `mdk` runs the notebooks with target=databricks against the
# workspace double (tests/workspace/test_databricks_run.py)
DBX_LOG := $(or $(MDK_HOME),.mdk)/test-dbconnect.log
test-unit: setup
	$(MAKE) --no-print-directory -j4 --output-sync=target lint setup-lab chromium setup-databricks
	@mkdir -p $(dir $(DBX_LOG))
	.venv-dbx/bin/python -m pytest -m dbconnect -q -p no:randomly \
	  tests/unit/test_doctor_dbconnect.py > $(DBX_LOG) 2>&1 & dbx=$$!; \
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder -p no:randomly; \
	main=$$?; wait $$dbx; dbx=$$?; \
	echo "== .venv-dbx: tests/unit/test_doctor_dbconnect.py"; cat $(DBX_LOG); \
	test $$main = 0 && test $$dbx = 0

# make test checks the golden cells (`# NBVAL_CHECK_OUTPUT`) of the one in-order run in
# tests/notebooks/test_story.py with nbval's comparison. This target runs nbval itself:
# it re-executes the committed notebooks in a fresh embedded store (versions start at 1).
# The serve notebooks start a serving endpoint in that store; it is stopped afterwards.
test-golden: setup
	rm -rf $(NBVAL_HOME)
	env -u MLFLOW_TRACKING_URI -u MDK_TARGET -u MDK_SERVING_URL -u MDK_SERVING_TOKEN \
	  MDK_HOME=$(abspath $(NBVAL_HOME)) \
	  $(BIN)/python -m pytest --nbval-lax --nbval-sanitize-with tests/notebooks/sanitize.cfg \
	  -p no:cacheprovider notebooks; \
	status=$$?; MDK_HOME=$(abspath $(NBVAL_HOME)) $(BIN)/mdk down >/dev/null; exit $$status

golden: setup  ## re-execute the notebooks and rewrite their golden outputs
	$(BIN)/mdk golden

lab: setup-lab  ## JupyterLab on notebooks/ with the kit's kernel, MDK_HOME shared with `mdk up`
	@echo "MDK_HOME=$(LAB_HOME) (the same store as \`mdk up\`); Ctrl-C stops JupyterLab"
	PATH="$(abspath $(BIN)):$$PATH" MDK_HOME=$(LAB_HOME) \
	  $(BIN)/jupyter lab --ip=127.0.0.1 --port=$(LAB_PORT) --notebook-dir=notebooks \
	  $(if $(filter 0,$(shell id -u)),--allow-root)

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/lint-imports

clean:  ## remove local state (MLflow store, runs, warehouse) but keep the venv
	rm -rf .mdk .pytest_cache .ruff_cache spark-warehouse metastore_db derby.log

distclean: clean
	rm -rf $(VENV) $(DBX) *.egg-info
