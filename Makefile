# Two entry points for a fresh clone: `make demo` (the main job on bundled sample data, then the
# web app on http://127.0.0.1:8000) and `make test` (the whole suite). Both create or reuse .venv
# and install what is needed.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
# The browser tests drive the system's Chromium (Playwright never downloads a browser here);
# Debian's package, with CJK fonts so Chinese pages render as text, not boxes.
CHROMIUM := /usr/bin/chromium
BROWSER_PACKAGES := chromium fonts-noto-cjk

.PHONY: demo test lint clean browser

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $(STAMP)

# Installs Chromium and the CJK fonts with apt-get when Chromium is missing: as root, or with
# sudo when it needs no password. Elsewhere it says so, and the browser tests skip with the reason.
browser:
	@if [ -x $(CHROMIUM) ] && { ! command -v dpkg >/dev/null || dpkg -s fonts-noto-cjk >/dev/null 2>&1; }; then \
	  exit 0; \
	elif ! command -v apt-get >/dev/null; then \
	  echo "no apt-get: install Chromium at $(CHROMIUM) and CJK fonts for the browser tests"; \
	elif [ "$$(id -u)" = 0 ]; then \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(BROWSER_PACKAGES) \
	    || echo "could not install $(BROWSER_PACKAGES): the browser tests will skip"; \
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then \
	  sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(BROWSER_PACKAGES) \
	    || echo "could not install $(BROWSER_PACKAGES): the browser tests will skip"; \
	else \
	  echo "not root and no sudo: 'apt-get install $(BROWSER_PACKAGES)' for the browser tests"; \
	fi

demo: $(STAMP)
	$(VENV)/bin/pwatch check --file precursorwatch/samples/identifiers.txt
	$(VENV)/bin/pwatch screen precursorwatch/samples/manifest.csv --format html --out screening-report.html
	$(VENV)/bin/pwatch demo

# Browser tests of one database run on one worker, so each module starts one server.
test: $(STAMP) browser
	$(VENV)/bin/ruff check precursorwatch tests benchmarks docs/screenshots.py
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -q -n 2 --dist loadgroup

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
