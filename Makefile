# Trendfolio — `make demo` runs the main job, `make test` passes the tests.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export TRENDFOLIO_HOME ?= $(CURDIR)/.trendfolio

.PHONY: install demo test lint typecheck bench services-up services-down clean help

help:
	@echo "make install        create .venv with the trendfolio command"
	@echo "make demo           run the pipeline for the latest session on embedded defaults"
	@echo "make test           lint, type-check and run the test suite"
	@echo "make bench          run the benchmarks in bench/"
	@echo "make services-up    start a real PostgreSQL and Apache Kafka on 127.0.0.1"
	@echo "make services-down  stop them"

$(BIN)/trendfolio: pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found " + sys.version' \
		|| { echo "make: set PYTHON=/path/to/python3.11"; exit 2; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[spark,api,dashboard,dev]'
	@touch $@

install: $(BIN)/trendfolio

demo: install
	$(BIN)/trendfolio demo

lint: install
	$(BIN)/ruff check lib services spark-jobs tests bench scripts

typecheck: install
	$(BIN)/mypy

test: install lint typecheck
	$(BIN)/pytest -ra

bench: install
	$(BIN)/python bench/run.py

services-up: install
	$(BIN)/python scripts/devservices.py up

services-down:
	$(BIN)/python scripts/devservices.py down

clean:
	rm -rf $(VENV) .tools .pytest_cache .mypy_cache .ruff_cache
