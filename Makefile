# AtariArena: `make run` (the main job) and `make test` (all tests) do all set-up on a fresh
# Debian 12 machine. Every set-up step is idempotent and prints one line.
SHELL := /bin/bash
SWIFT ?= swift
ARENA := .build/release/arena
SLURM := scripts/slurm-test-cluster.sh

.PHONY: setup build run test bench

setup:
	@./scripts/setup.sh

build: setup
	@echo "build: swift build -c release (arena, ale-reference-bench)"
	@$(SWIFT) build -c release --product arena >/tmp/arena-build.log 2>&1 || { tail -30 /tmp/arena-build.log; echo "make: the release build failed (log above)" >&2; exit 1; }
	@$(SWIFT) build -c release --product ale-reference-bench >>/tmp/arena-build.log 2>&1 || { tail -30 /tmp/arena-build.log; exit 1; }

# The main job. Until `arena train` lands it plays random Pong and prints the scores.
run: build
	$(ARENA) play --game pong --policy random --episodes 3 --protocol nature2015 --seed 1

test: setup
	@./scripts/test-deps.sh
	@if [ -x $(SLURM) ]; then $(SLURM) start || echo "test: the Slurm test cluster did not start; the Slurm tests will say they are skipped"; fi
	@echo "test: swift build --build-tests"
	@$(SWIFT) build --build-tests >/tmp/arena-test-build.log 2>&1 || { tail -40 /tmp/arena-test-build.log; echo "make: the test build failed (log above)" >&2; exit 1; }
	@status=0; $(SWIFT) test --skip-build || status=$$?; \
	  if [ -x $(SLURM) ]; then $(SLURM) stop || true; fi; exit $$status

# Benchmarks run with OPENBLAS_CORETYPE unset, as on a user's machine.
bench: build
	env -u OPENBLAS_CORETYPE $(ARENA) bench env
