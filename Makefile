# Trendfolio — `make demo` runs the main job, `make test` passes the tests.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export TRENDFOLIO_HOME ?= $(CURDIR)/.trendfolio

.PHONY: install demo test test-fast lint typecheck bench services-up services-down clean help \
	tools cluster-up images deploy cluster-down

help:
	@echo "make install        create .venv with the trendfolio command"
	@echo "make demo           run the pipeline for the latest session, then serve the API and dashboard"
	@echo "make test           lint, type-check and run the test suite"
	@echo "make test-fast      the same without Kafka, Chromium, Airflow, helm and Spark"
	@echo "make bench          run the benchmarks in bench/"
	@echo "make services-up    start a real PostgreSQL and Apache Kafka on 127.0.0.1"
	@echo "make services-down  stop them"
	@echo "make tools          pinned helm and the Spark operator CRDs in .tools/ (needs Go)"
	@echo "make cluster-up     local Kubernetes (CLUSTER=kind|minikube) with ingress, monitoring, Spark operator"
	@echo "make images         build the images and load them into that cluster"
	@echo "make deploy         install the Trendfolio chart and Airflow into it"
	@echo "make cluster-down   delete the local cluster"

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
	$(BIN)/ruff check lib app services spark-jobs dags tests bench scripts

typecheck: install
	$(BIN)/mypy

test: install lint typecheck
	$(BIN)/pytest -ra

# The loop while coding: every test that needs no Kafka broker, Chromium, Airflow, helm or Spark.
FAST := not (kafka or browser or airflow or chart or slow or spark)
test-fast: install lint typecheck
	$(BIN)/pytest -ra -m "$(FAST)"

bench: install
	$(BIN)/python bench/run.py

services-up: install
	$(BIN)/python scripts/devservices.py up

services-down:
	$(BIN)/python scripts/devservices.py down

tools:
	bash scripts/tools.sh

cluster-up: tools
	bash k8s/cluster.sh up

images:
	bash k8s/cluster.sh images

deploy: tools
	bash k8s/cluster.sh deploy

cluster-down:
	bash k8s/cluster.sh down

clean:
	rm -rf $(VENV) .tools .pytest_cache .mypy_cache .ruff_cache
