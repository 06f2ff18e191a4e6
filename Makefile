# The two commands of the README: `make demo` (the main job) and `make test` (the tests).
# Each creates .venv and installs what it needs, so it works alone on a fresh machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test soak bench lint clean baseline-images

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dask]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/dynsys analyze examples/double_well.toml --out out/demo/double_well
	$(BIN)/dynsys analyze examples/mueller_brown.toml --out out/demo/mueller_brown
	$(BIN)/dynsys analyze examples/lorenz.toml --out out/demo/lorenz
	$(BIN)/dynsys basins examples/duffing_basins.toml --out out/demo/duffing_basins

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2

soak: $(STAMP)
	$(BIN)/python -m pytest -q -m soak tests/soak

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,dask,bench]'
	$(BIN)/python -m benchmarks

# Redraw the reference images of tests/test_visual.py after an intended change of a picture;
# then LOOK at every changed image in tests/baseline_images/ before committing it.
baseline-images: $(STAMP)
	DYNSYS_REGEN_BASELINES=1 $(BIN)/python -m pytest -q -n 2 tests/test_visual.py tests/test_examples.py
	git status --short tests/baseline_images

lint: $(STAMP)
	$(BIN)/ruff check dynsys phase tests examples benchmarks

clean:
	rm -rf $(VENV) out build dist *.egg-info
