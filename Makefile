# Trendfolio — `make demo` runs the main job, `make test` passes the tests.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export TRENDFOLIO_HOME ?= $(CURDIR)/.trendfolio

.PHONY: install dev lock demo test test-fast lint typecheck bench services-up services-down clean help \
	tools cluster-up base-image images load-images deploy cluster-down

help:
	@echo "make install        create .venv with the trendfolio command (the locked versions)"
	@echo "make dev            add the test and lint tools to it (make test does this itself)"
	@echo "make lock           re-resolve the dependencies: uv.lock and requirements/*.txt"
	@echo "make demo           run the pipeline for the latest session, then serve the API and dashboard"
	@echo "make test           lint, type-check and run the test suite"
	@echo "make test-fast      the same without Kafka, Chromium, Airflow, helm and Spark"
	@echo "make bench          run the benchmarks in bench/"
	@echo "make services-up    start a real PostgreSQL and Apache Kafka on 127.0.0.1"
	@echo "make services-down  stop them"
	@echo "make tools          pinned helm and the Spark operator CRDs in .tools/ (needs Go)"
	@echo "make cluster-up     local Kubernetes (CLUSTER=kind|minikube) with ingress, monitoring, Spark operator"
	@echo "make images         build every image with docker or podman (the base too, where no registry is)"
	@echo "make base-image     just the Python base image, from Debian packages (cached)"
	@echo "make load-images    load the built images into the kind/minikube cluster"
	@echo "make deploy         install the Trendfolio chart and Airflow into it"
	@echo "make cluster-down   delete the local cluster"

# Every package from the lock, with its hash; then this checkout itself (editable, no deps).
PIP_LOCKED := $(BIN)/pip install --quiet --disable-pip-version-check --require-hashes --no-deps
PIP_SELF := $(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .

$(BIN)/trendfolio: pyproject.toml requirements/laptop.txt requirements/build.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found " + sys.version' \
		|| { echo "make: set PYTHON=/path/to/python3.11"; exit 2; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP_LOCKED) -r requirements/build.txt -r requirements/laptop.txt
	$(PIP_SELF)
	@touch $@

$(VENV)/.dev: $(BIN)/trendfolio requirements/dev.txt
	$(PIP_LOCKED) -r requirements/build.txt -r requirements/dev.txt
	@touch $@

install: $(BIN)/trendfolio

dev: $(VENV)/.dev

lock: dev
	bash scripts/lock.sh

# `make demo API_PORT=8001 DASHBOARD_PORT=8051` moves the servers; unset, the command's defaults
# (trendfolio.config: API_PORT 8000, DASHBOARD_PORT 8050) apply
demo: install
	$(BIN)/trendfolio demo $(if $(API_PORT),--api-port $(API_PORT)) \
		$(if $(DASHBOARD_PORT),--dashboard-port $(DASHBOARD_PORT))

lint: dev
	$(BIN)/ruff check lib app services spark-jobs dags tests bench scripts

typecheck: dev
	$(BIN)/mypy

test: dev lint typecheck
	$(BIN)/pytest -ra

# The loop while coding: every test that needs no Kafka broker, Chromium, Airflow, helm, Spark or
# container images.
FAST := not (kafka or browser or airflow or chart or slow or spark or images)
test-fast: dev lint typecheck
	$(BIN)/pytest -ra -m "$(FAST)"

bench: dev
	$(BIN)/python bench/run.py

services-up: install
	$(BIN)/python scripts/devservices.py up

services-down:
	$(BIN)/python scripts/devservices.py down

tools:
	bash scripts/tools.sh

cluster-up: tools
	bash k8s/cluster.sh up

base-image:
	bash scripts/images.sh base

images: install
	bash scripts/images.sh build

load-images:
	bash k8s/cluster.sh load-images

deploy: tools
	bash k8s/cluster.sh deploy

cluster-down:
	bash k8s/cluster.sh down

clean:
	rm -rf $(VENV) .tools .pytest_cache .mypy_cache .ruff_cache
