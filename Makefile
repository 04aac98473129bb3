# The README's commands. `make test` and `make demo` work on a fresh machine with only
# Python 3.11, pip, make and git: they create .venv and install what they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev

.PHONY: test demo lint bench bench-quick clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml setup.py src/feedforward/_kernels.c | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e ".[dev,all]"
	touch $(STAMP)

# The browser tests drive the system Chromium through Playwright; no browser is downloaded.
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	export DEBIAN_FRONTEND=noninteractive; apt-get install -y chromium || \
		(apt-get update && apt-get install -y chromium)

# One pytest worker per CPU (pytest-xdist): the tests share no files or ports; on 2 CPUs the
# suite takes half the time of one process.
test: $(STAMP) $(CHROMIUM)
	$(PY) -m pytest -n auto

lint: $(STAMP)
	$(PY) -m ruff check src tests examples benchmarks docs

# The main job: `feedforward train` with its defaults (scikit-learn's digits, two hidden ReLU
# layers, Adam, early stopping); model, history, metrics, config and plots go to runs/demo.
demo: $(STAMP)
	$(VENV)/bin/feedforward train --out runs/demo --overwrite

# Speed and memory beside PyTorch and scikit-learn (benchmarks/README.md); not part of `test`.
bench: $(STAMP)
	$(PY) benchmarks/run.py

bench-quick: $(STAMP)
	$(PY) benchmarks/run.py --quick

clean:
	rm -rf $(VENV) runs .pytest_cache
