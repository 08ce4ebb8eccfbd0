# Two commands do all the set-up: `make site` builds the sample site, `make test` runs every test.
# The interpreter .venv is made from: see tools/pick-python (make PYTHON=... to choose another).
PYTHON ?= $(shell bash tools/pick-python)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: site test test-fast serve check bench clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

# Build the sample site into _site/ (open _site/index.html in a browser).
site: $(BIN)/.installed
	$(BIN)/python build.py

# Everything: unit, end-to-end, golden, browser, validator and accessibility checks.
# The browser checks need Debian's chromium, Java and axe-core: installed by .ci/browser-setup.sh.
test: $(BIN)/.installed
	bash .ci/browser-setup.sh
	$(BIN)/python -m pytest

# Without the browser checks: for a quick loop while editing.
test-fast: $(BIN)/.installed
	$(BIN)/python -m pytest -m "not browser"

serve: $(BIN)/.installed
	$(BIN)/python build.py serve

check: $(BIN)/.installed
	$(BIN)/python build.py check

bench: $(BIN)/.installed
	$(BIN)/python bench/run.py --segments 10000 --vs-hugo

clean:
	rm -rf _site .cache ._site.spare
