# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint browser faketime bench clean constraints image-check

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# constraints.txt pins every package (and the Dockerfile installs the same pins), so `make test`
# and the image run the same versions.
$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

# After changing dependencies in pyproject.toml: resolve them afresh and pin the result, then check
# that every pin installs on the oldest Python supported (Debian 12's 3.11.2; tests/test_pins.py). A
# pin it rejects is lowered by hand to the newest release whose Requires-Python admits 3.11.2:
# `pip download --no-deps --python-version 3.11.2 --only-binary=:all: -d /tmp/x NAME` picks it.
constraints: | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m pip freeze --exclude-editable | grep -iv '^gongmo-watcher' > constraints.txt
	touch $(STAMP)
	$(BIN)/pytest -q -p no:xdist tests/test_pins.py

demo: $(STAMP)
	$(BIN)/watcher demo

lint: $(STAMP)
	$(BIN)/ruff check watcher tests bench

# Debian's Chromium + ChromeDriver and the Noto CJK fonts for the browser test (installed only when
# missing; without the fonts Korean renders as boxes and the layout checks measure the wrong glyphs).
BROWSER_PKGS := chromium chromium-driver fonts-noto-cjk
browser:
	@if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1 \
	    || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian $(BROWSER_PKGS) for the browser test"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BROWSER_PKGS) >/dev/null) \
	      || echo "warning: could not install $(BROWSER_PKGS); the browser test may not run"; \
	  else echo "note: not root; install $(BROWSER_PKGS) for the browser test"; fi; \
	fi

# Debian's libfaketime for the reminder test that moves the watcher's clock (installed only when missing).
faketime:
	@if ! command -v faketime >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian faketime for the reminder test"; \
	    (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime >/dev/null 2>&1 || \
	     (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime >/dev/null)) \
	      || echo "warning: could not install faketime; the reminder test will not run"; \
	  else echo "note: faketime missing and not root; install faketime for the reminder test"; fi; \
	fi

test: $(STAMP) browser faketime lint
	$(BIN)/pytest -n auto

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache

# The install on a bare Debian 12 (debootstrap, `make demo` in a chroot) and the image built by buildah
# on that root; as root, a few minutes (docs/DEPLOY.md § Checking the install and the image).
image-check:
	bash deploy/image-check.sh
