# Shipyard — every target works from a fresh clone.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEMO   ?= /tmp/shipyard-demo

.PHONY: install demo test unit e2e bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The recommender example end to end on the embedded stores.
demo: $(STAMP)
	rm -rf $(DEMO)
	$(VENV)/bin/shipyard example recommender $(DEMO)
	cd $(DEMO) && $(CURDIR)/$(VENV)/bin/shipyard ingest
	cd $(DEMO) && $(CURDIR)/$(VENV)/bin/shipyard lake ls
	cd $(DEMO) && $(CURDIR)/$(PY) erp.py next-month && $(CURDIR)/$(VENV)/bin/shipyard ingest
	cd $(DEMO) && $(CURDIR)/$(VENV)/bin/shipyard lake history order_lines --layer raw
	@echo "Demo project: $(DEMO)  (cd there and try 'python erp.py next-month --drift' then 'shipyard ingest')"

test: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadfile -q

unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

e2e: $(STAMP)
	$(PY) -m pytest -q tests/e2e

bench: $(STAMP)
	$(PY) benchmarks/ingest.py
	$(PY) benchmarks/pipeline.py

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
