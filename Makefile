# The two set-up commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test bench clean chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The whole federation on 127.0.0.1:8080 (built-in IdP + IAM/STS, SQLite in .demo), seeded with two accounts,
# roles and users; it prints who can sign in and three next steps, and serves until Ctrl-C.
demo: $(STAMP)
	$(BIN)/samlfed demo --data-dir .demo

test: $(STAMP) chromium
	command -v openssl >/dev/null || (apt-get update -qq && apt-get install -y -qq openssl)  # a test makes a SHA-1 certificate with it
	$(BIN)/ruff check src tests bench examples
	$(BIN)/mypy  # files and settings: [tool.mypy] in pyproject.toml
	$(BIN)/python -m pytest -q

# The console page tests drive Debian's Chromium (Playwright cannot download its own browser here).
chromium:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	command -v valgrind >/dev/null || (apt-get update -qq && apt-get install -y -qq valgrind)
	$(BIN)/python bench/validate.py
	$(BIN)/python bench/policy.py
	$(BIN)/python bench/fuzz_latency.py
	$(BIN)/python bench/http_assume.py
	$(BIN)/python bench/instructions.py

clean:
	rm -rf $(VENV) .demo .pytest_cache .hypothesis .mypy_cache
