# AtariArena: `make run` (the main job) and `make test` (all tests) do all set-up on a fresh
# Debian 12 machine. Every set-up step is idempotent and prints one line.
SHELL := /bin/bash
SWIFT ?= swift
CONFIG ?= release
ARENA = .build/$(CONFIG)/arena

.PHONY: setup build run test bench clean-results

setup:
	@./scripts/setup.sh

build: setup
	@$(SWIFT) build -c $(CONFIG) --product arena 2>&1 | grep -E "error|warning: unre|Compiling|Build complete" | grep -v "^\[" || true
	@test -x $(ARENA) || { echo "make: the arena build failed; run 'swift build -c $(CONFIG)' to see why" >&2; exit 1; }

run: build
	$(ARENA) play --game pong --policy random --episodes 3 --protocol nature2015 --seed 1

test: setup
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --parallel --num-workers 2

bench: build
	env -u OPENBLAS_CORETYPE $(ARENA) bench env
