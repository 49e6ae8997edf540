# mmseg-cobra: `make test` and `make demo` set everything up on a fresh
# machine (the pinned environment is built once and cached outside the
# checkout, see tools/setup_env.sh) and then run.
SHELL := /bin/bash
ENV_ROOT ?= $(HOME)/.cache/mmseg-cobra
export COBRA_ENV_ROOT := $(ENV_ROOT)
PYTEST_ARGS ?=

LINT_PATHS := mmseg_cobra tools tests benchmarks configs setup.py
LINT_ENV = $(ENV_ROOT)/lint-$(shell cat requirements/dev.txt | sha256sum | cut -c1-12)

.PHONY: env test test-fast lint lint-env format demo clean

env:
	@tools/setup_env.sh

# the whole suite (what CI runs), two test processes at a time: most tests
# drive the tools in single-threaded subprocesses (OMP_NUM_THREADS=1), so
# two of them fill the 2 cores of the CI machine. A test file is one unit
# (its module fixtures are made once), handed out in the order of
# tests/conftest.py (longest first)
PYTEST_WORKERS ?= 2
test:
	@venv="$$(tools/setup_env.sh | tail -n 1)" && \
	PYTHONPATH=$(CURDIR) PATH="$$venv/bin:$$PATH" \
	python -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder tests $(PYTEST_ARGS)

# the edit-test loop: everything but the tests marked slow (real training
# runs, the pipeline, the wheel), in one process
test-fast:
	@venv="$$(tools/setup_env.sh | tail -n 1)" && \
	PYTHONPATH=$(CURDIR) PATH="$$venv/bin:$$PATH" \
	python -m pytest -q -m "not slow" tests $(PYTEST_ARGS)

# flake8, isort and yapf (requirements/dev.txt) in their own small
# environment: the checks of OpenMMLab's pre-commit, as one command
lint-env:
	@test -f $(LINT_ENV)/.ready || { \
	    rm -rf $(LINT_ENV) && python3 -m venv $(LINT_ENV) && \
	    $(LINT_ENV)/bin/python -m pip install -q \
	        --disable-pip-version-check -r requirements/dev.txt && \
	    touch $(LINT_ENV)/.ready; }

lint: lint-env
	@$(LINT_ENV)/bin/flake8 . && \
	$(LINT_ENV)/bin/isort --check-only --diff . && \
	$(LINT_ENV)/bin/yapf --diff -r $(LINT_PATHS) && \
	echo "lint: flake8, isort and yapf pass"

# rewrite the code the way `make lint` wants it
format: lint-env
	@$(LINT_ENV)/bin/isort -q . && \
	$(LINT_ENV)/bin/yapf -i -r -p $(LINT_PATHS)

demo:
	@venv="$$(tools/setup_env.sh | tail -n 1)" && \
	PYTHONPATH=$(CURDIR) PATH="$$venv/bin:$$PATH" \
	bash tools/demo.sh

clean:
	rm -rf work_dirs demo_work_dir
