# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint browser bench clean constraints

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# constraints.txt pins every package (and the Dockerfile installs the same pins), so `make test`
# and the image run the same versions.
$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

# After changing dependencies in pyproject.toml: resolve them afresh and pin the result.
constraints: | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m pip freeze --exclude-editable | grep -iv '^gongmo-watcher' > constraints.txt
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/watcher demo

lint: $(STAMP)
	$(BIN)/ruff check watcher tests bench

# Debian's Chromium + ChromeDriver for the browser test (installed only when missing).
browser:
	@if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian chromium + chromium-driver for the browser test"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
	      || echo "warning: could not install chromium; the browser test will not run"; \
	  else echo "note: chromium missing and not root; install chromium chromium-driver for the browser test"; fi; \
	fi

test: $(STAMP) browser lint
	$(BIN)/pytest -n auto

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
