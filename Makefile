# easymo.rollback: two commands do all the set-up.
#   make demo   set up, start the lab, roll out the bad release, roll it back with service_rollback.yml
#   make test   everything CI runs: unit, sanity, lint, integration against the lab
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
COLL := .collections/ansible_collections/easymo/rollback
LAB_ENV := set -a && source .lab/env && set +a
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

.PHONY: help setup lab lab-down lab-status fixture bad-release demo test unit sanity lint integration bench clean

help:
	@echo "make demo | make test | make lab | make lab-down | make bench"

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(COLL):
	mkdir -p $(dir $(COLL))
	ln -sfn ../../.. $(COLL)

setup: $(VENV)/.installed $(COLL)
	bash lab/setup-system.sh
	bash lab/setup-supabase-cli.sh

lab: setup
	$(PY) lab/labctl.py up

lab-down:
	@if [ -x $(PY) ]; then $(PY) lab/labctl.py down; else python3 lab/labctl.py down; fi

lab-status:
	$(PY) lab/labctl.py status

# The bad release rolled out on top of the good one, in deploy order (what an incident looks like).
bad-release: lab
	$(LAB_ENV) && $(PY) lab/fixture.py apply && $(PY) lab/fixture.py release bad

demo: bad-release
	@echo "== Before: every service on the bad release"
	@$(LAB_ENV) && $(PY) lab/fixture.py show
	$(LAB_ENV) && $(BIN)/ansible-playbook playbooks/service_rollback.yml -i inventories/lab
	@echo "== After"
	@$(LAB_ENV) && $(PY) lab/fixture.py show

unit: setup
	$(BIN)/pytest -q tests/unit

sanity: setup
	bash tests/sanity/run.sh

lint: setup
	$(BIN)/ansible-lint --profile production
	$(BIN)/antsibull-changelog lint

integration: lab
	$(LAB_ENV) && $(PY) lab/fixture.py apply && $(BIN)/pytest -q tests/integration

test: unit sanity lint integration

bench: lab
	$(LAB_ENV) && $(PY) lab/fixture.py apply && $(PY) bench/method3_vs_runbook.py && $(PY) bench/method1_vs_runbook.py && $(PY) bench/method4_vs_cli.py && $(PY) bench/method5_vs_runbook.py

clean: lab-down
	rm -rf .lab .collections tests/output
