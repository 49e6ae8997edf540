# mmseg-cobra: `make test` and `make demo` set everything up on a fresh
# machine (the pinned environment is built once and cached outside the
# checkout, see tools/setup_env.sh) and then run.
SHELL := /bin/bash
ENV_ROOT ?= $(HOME)/.cache/mmseg-cobra
export COBRA_ENV_ROOT := $(ENV_ROOT)
PYTEST_ARGS ?=

.PHONY: env test demo clean

env:
	@tools/setup_env.sh

test:
	@venv="$$(tools/setup_env.sh | tail -n 1)" && \
	PYTHONPATH=$(CURDIR) PATH="$$venv/bin:$$PATH" \
	python -m pytest -q tests $(PYTEST_ARGS)

demo:
	@venv="$$(tools/setup_env.sh | tail -n 1)" && \
	PYTHONPATH=$(CURDIR) PATH="$$venv/bin:$$PATH" \
	bash tools/demo.sh

clean:
	rm -rf work_dirs demo_work_dir
