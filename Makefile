# wxgate: `make run` starts everything on embedded defaults; `make test` installs and runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run test lint check bench bench-quick bench-webhooks bench-console bench-replies soak clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/wxgate run

# Three pytest processes share the machine's two cores: most tests wait on Postgres, HTTP or
# a subprocess, so this keeps `make test` well inside its 12 minutes (README "Two commands").
# Tests marked `alone` then run by themselves (two timing-bound drains, see their comments).
test: install
	$(BIN)/pytest -q -n 3 --dist loadgroup -m 'not alone'
	$(BIN)/pytest -q -m alone || [ $$? -eq 5 ]

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

check: lint test

# Benchmarks (README "Performance"): results in bench/results/, the table in summary.md.
BENCH_STAMP := $(VENV)/.bench-stamp
$(BENCH_STAMP): $(STAMP)
	command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench all

bench-quick: $(BENCH_STAMP)
	$(BIN)/python -m bench all --quick

# Every console page with 1,000,000 followers and 1,000,000 stored callbacks (README "Console").
bench-console: $(BENCH_STAMP)
	$(BIN)/python -m bench console

# Webhooks (issue 16): ingest with one endpoint vs none, dispatch vs a plain aiohttp loop.
bench-webhooks: $(BENCH_STAMP)
	$(BIN)/python -m bench.webhooks
	$(BIN)/python -m bench.webhook_latency --rate 500 --seconds 20

# Passive replies (issue 17): ingest with 200 non-matching rules and with one matching
# keyword rule, against no rules, in one run.
bench-replies: $(BENCH_STAMP)
	$(BIN)/python -m bench replies

# 10 minutes of mixed callbacks and sends at half the benchmarked capacity (README
# "Reliability"); not part of `make test`. SOAK_MINUTES=2 make soak for a shorter one.
SOAK_MINUTES ?= 10
soak: $(BENCH_STAMP)
	$(BIN)/python -m bench.soak --minutes $(SOAK_MINUTES)

clean:
	rm -rf $(VENV) .wxgate-test .mypy_cache .pytest_cache .ruff_cache
