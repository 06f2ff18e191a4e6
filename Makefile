# The two commands of the README: `make demo` (the main job) and `make test` (the tests).
# Each creates .venv and installs what it needs, so it works alone on a fresh machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test browser soak bench lint docs clean baseline-images

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip uninstall --quiet --yes dynsys 2>/dev/null || true  # the old distribution name
	$(BIN)/python -m pip install --quiet -e '.[test,dask,docs]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/dynsys analyze examples/double_well.toml --out out/demo/double_well
	$(BIN)/dynsys analyze examples/mueller_brown.toml --out out/demo/mueller_brown
	$(BIN)/dynsys analyze examples/lorenz.toml --out out/demo/lorenz
	$(BIN)/dynsys basins examples/duffing_basins.toml --out out/demo/duffing_basins

test: $(STAMP) browser
	$(BIN)/python -m pytest -q -n 2

# The browser test of report.html (tests/test_report_browser.py) drives a headless Chromium:
# found on the PATH, else installed with apt-get when running as root (Debian's `chromium`);
# elsewhere the test is skipped with a message saying how to install one.
BROWSERS := chromium chromium-browser google-chrome google-chrome-stable
browser:
	@for b in $(BROWSERS); do command -v $$b >/dev/null 2>&1 && exit 0; done; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -q chromium >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; } || \
	  echo "note: could not install chromium; the browser test of report.html will be skipped"; \
	else \
	  echo "note: no chromium (install it: sudo apt-get install chromium); the browser test" \
	    "of report.html will be skipped"; \
	fi

soak: $(STAMP)
	$(BIN)/python -m pytest -q -m soak tests/soak

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,dask,bench]'
	$(BIN)/python -m benchmarks

# The documentation (Sphinx) into docs/_build/html, warnings as errors; runs every example at its
# quick size for the gallery and executes the notebook (DYNSYS_DOCS_RUN_EXAMPLES=0 skips both).
docs: $(STAMP)
	$(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html

# Redraw the reference images of tests/test_visual.py after an intended change of a picture;
# then LOOK at every changed image in tests/baseline_images/ before committing it.
baseline-images: $(STAMP)
	DYNSYS_REGEN_BASELINES=1 $(BIN)/python -m pytest -q -n 2 tests/test_visual.py tests/test_examples.py
	git status --short tests/baseline_images

lint: $(STAMP)
	$(BIN)/ruff check dynsys phase tests examples benchmarks

clean:
	rm -rf $(VENV) out build dist *.egg-info docs/_build docs/api docs/gallery docs/jupyter_execute
