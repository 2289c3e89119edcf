# Two entry points for a fresh clone: `make demo` (the main job on bundled sample data)
# and `make test` (the whole suite). Both create or reuse .venv and install what is needed.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: demo test lint clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/pwatch check --file precursorwatch/samples/identifiers.txt
	$(VENV)/bin/pwatch screen precursorwatch/samples/manifest.csv --format html --out screening-report.html

test: $(STAMP)
	$(VENV)/bin/ruff check precursorwatch tests benchmarks
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -q -n 2

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
