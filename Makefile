# The two set-up commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# For now the demo signs a fresh AWS-shaped response with a throw-away IdP key and shows the doctor's
# verdict on it, then on a tampered copy. It becomes the full federation demo with the built-in IdP.
demo: $(STAMP)
	$(BIN)/samlfed sample --out .demo
	$(BIN)/samlfed doctor .demo/response.b64 --metadata .demo/idp-metadata.xml
	-$(BIN)/samlfed doctor .demo/tampered.b64 --metadata .demo/idp-metadata.xml

test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python bench/validate.py
	$(BIN)/python bench/fuzz_latency.py
	$(BIN)/python bench/http_assume.py

clean:
	rm -rf $(VENV) .demo .pytest_cache .hypothesis
