# The course's commands. `make book` and `make test` set everything up on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PROFILE ?= book
# torch first, pinned: on the course machines these wheels lie on local disk (DESIGN.md).
# Elsewhere override it, e.g. `make book TORCH="torch torchvision"`.
TORCH ?= torch==2.14.1 torchvision==0.29.1
STAMP := $(VENV)/.installed

# The offline data mirror beside the repository, when there is one (tests and CI use it).
MIRROR := $(abspath ../shared/datasets)
ifneq ($(wildcard $(MIRROR)),)
DLCOURSE_DATA ?= $(MIRROR)
endif
export DLCOURSE_DATA

.PHONY: venv book book-check solutions site test test-fast lint release clean help

help:
	@echo "make book      build the site (venv, install, execute notebooks with PROFILE=$(PROFILE), HTML)"
	@echo "make test      the whole test suite (smoke execution, grading round trip, leaks, site)"
	@echo "make book-check execute every book profile as another machine would (CI runs it)"
	@echo "make solutions execute the assignments into solutions/ (cached)"
	@echo "make lint      ruff on the packages and tests"
	@echo "make clean     remove generated files (keeps .venv and course/)"

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -e ".[course]"
	touch $(STAMP)

solutions: $(STAMP)
	$(BIN)/python -m autograder execute --profile $(PROFILE)

site: $(STAMP)
	$(BIN)/python -m autograder site

book: $(STAMP)
	$(BIN)/python -m autograder execute --profile $(PROFILE)
	$(BIN)/python -m autograder site

# Every assignment's book profile from cold, as on another machine: two notebooks at once
# with one thread each, and an older CPU's kernels. Fails on any assertion of any page.
BOOK_CHECK_OUT ?= $(abspath _build/book-check)
book-check: $(STAMP)
	ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 $(BIN)/python -m autograder execute \
		--profile book --jobs 2 --force --out $(BOOK_CHECK_OUT)

test: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest

test-fast: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check dlcourse autograder tests scripts book/_ext

release: $(STAMP)
	$(BIN)/python -m autograder release

clean:
	rm -rf _build solutions/*.ipynb .pytest_cache
