# Silverpool: the README's commands.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint bench manage install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) -m config.launcher run

test: $(STAMP)
	$(PY) -m config.launcher test $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: $(STAMP)
	$(PY) -m config.launcher bench $(ARGS)

manage: $(STAMP)
	$(PY) -m config.launcher manage $(ARGS)

clean:
	rm -rf $(VENV) .data staticfiles
