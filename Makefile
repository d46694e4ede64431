# Two commands do all the set-up on a fresh machine:  `make demo`  and  `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
QUESTION ?= Wat doet de werkgever voor de veiligheid van ambtenaren?

AXE    := build/node/node_modules/axe-core/axe.min.js

.PHONY: demo test bench setup system browser

# Python side: torch first, pinned to the CPU build on disk (an unpinned torch pulls several GB of CUDA).
$(BIN)/archive: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test,postgres,ray]'
	touch $@

# Tesseract with Dutch for scanned pages, poppler for pdftotext in benchmarks, OpenTaal's Dutch word
# list (wdutch) for splitting compounds in the lexical index.
system:
	@command -v tesseract >/dev/null && tesseract --list-langs 2>/dev/null | grep -qx nld || \
	  ($(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q tesseract-ocr tesseract-ocr-nld poppler-utils)
	@test -s /usr/share/dict/dutch || ($(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q wdutch)

setup: system $(BIN)/archive

# Browser tests: Debian's Chromium (driven by Playwright from PyPI; `playwright install` is never run)
# and axe-core from npm (640 KB minified: installed, not vendored) into build/node.
browser:
	@command -v chromium >/dev/null && command -v npm >/dev/null || \
	  ($(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium chromium-driver npm)

$(AXE):
	mkdir -p build/node
	npm install -q --no-audit --no-fund --prefix build/node axe-core@4.10.3

demo: setup
	$(BIN)/archive ingest corpus/
	$(BIN)/archive search "$(QUESTION)" -k 3
	$(BIN)/archive search "giftige werksfeer bij VWS" -k 3
	@echo
	@echo "Serve it to clerks (then open http://127.0.0.1:8000/):"
	@echo "  $(BIN)/archive serve -a index/"

test: setup browser $(AXE)
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/pip install -q -e '.[test,bench]'
	$(BIN)/python bench/run_all.py
