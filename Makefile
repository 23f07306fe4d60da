# AtariArena: `make run` (the main job) and `make test` (all tests) do all set-up on a fresh
# Debian 12 machine. Every set-up step is idempotent and prints one line.
SHELL := /bin/bash
SWIFT ?= swift
ARENA := .build/release/arena
SLURM := scripts/slurm-test-cluster.sh
# Tests run optimized with @testable imports enabled.
TESTFLAGS := -c release -Xswiftc -enable-testing

.PHONY: setup build run test bench bench-pytorch bench-onednn

setup:
	@./scripts/setup.sh

build: setup
	@echo "build: swift build -c release (arena, ale-reference-bench)"
	@$(SWIFT) build -c release --product arena >/tmp/arena-build.log 2>&1 || { tail -30 /tmp/arena-build.log; echo "make: the release build failed (log above)" >&2; exit 1; }
	@$(SWIFT) build -c release --product ale-reference-bench >>/tmp/arena-build.log 2>&1 || { tail -30 /tmp/arena-build.log; exit 1; }

# The main job: DQN with the CPU preset on Pong, 2M frames (500k agent steps), into results/.
# Running it again resumes the same run from its newest checkpoint.
# The recipe multiplies in bf16 where the CPU has AVX512_BF16 (its numerics as measured), and
# runs as its fp32 twin elsewhere; the run folder's config.json records which.
RUN_PRECISION := $(if $(shell grep -qw avx512_bf16 /proc/cpuinfo && echo yes),,--set precision=fp32)
run: build
	$(ARENA) train --game pong --agent agents/dqn-cpu-recipe3.json --frames 2000000 --seed 1 --protocol nature2015 $(RUN_PRECISION)

# Tests also need ffmpeg (replay videos), SDL2 (the replay window, run with SDL's dummy driver),
# root (a tmpfs mount) and a throw-away Slurm cluster (the sweep end-to-end test), all set up here.
# A test whose component is missing says it is skipped, and why; under CI=true (.ci/run sets it)
# it fails instead, and so does this target as soon as a component cannot be set up.
# The cluster's folder is per checkout, so that two checkouts' `make test` do not share one.
ARENA_SLURM_DIR ?= /tmp/arena-slurm-$(shell printf %s "$(CURDIR)" | md5sum | cut -c1-8)
export ARENA_SLURM_DIR
test:
	@./scripts/setup.sh ffmpeg libsdl2-2.0-0
	@./scripts/test-deps.sh
	@bash $(SLURM) start || { \
	  if [ "$${CI:-}" = true ]; then echo "make: error: CI=true and the Slurm test cluster did not start (output above); the Slurm end-to-end test would fail" >&2; exit 1; fi; \
	  echo "test: warning: the Slurm test cluster did not start (output above); the Slurm end-to-end test will be skipped"; }
	@echo "test: swift build -c release --build-tests (optimized: the training tests run real updates)"
	@$(SWIFT) build $(TESTFLAGS) --build-tests >/tmp/arena-test-build.log 2>&1 || { tail -40 /tmp/arena-test-build.log; bash $(SLURM) stop >/dev/null 2>&1 || true; echo "make: the test build failed (log above)" >&2; exit 1; }
	@status=0; ARENA_FULL_DETERMINISM=1 SLURM_CONF=$(ARENA_SLURM_DIR)/etc/slurm.conf $(SWIFT) test $(TESTFLAGS) --skip-build || status=$$?; \
	  bash $(SLURM) stop || true; exit $$status

# Benchmarks run with OPENBLAS_CORETYPE unset, as on a user's machine.
bench: build
	env -u OPENBLAS_CORETYPE $(ARENA) bench env
	env -u OPENBLAS_CORETYPE $(ARENA) bench agent
	env -u OPENBLAS_CORETYPE $(ARENA) bench agent --dueling --double --replay-transitions 0

# The PyTorch reference for `bench agent`, measured in the same session: PyTorch from PyPI in a
# virtual environment of its own under .build (about 5 GB with its CUDA libraries; runs on the CPU).
TORCH_VENV := .build/torch-venv
bench-pytorch: build
	@./scripts/setup.sh python3-venv
	@test -x $(TORCH_VENV)/bin/python || { python3 -m venv $(TORCH_VENV) && $(TORCH_VENV)/bin/pip install --quiet torch; }
	$(TORCH_VENV)/bin/python Benchmarks/pytorch_reference.py > .build/pytorch-plain.json
	env -u OPENBLAS_CORETYPE $(ARENA) bench agent --replay-transitions 0 --pytorch .build/pytorch-plain.json
	$(TORCH_VENV)/bin/python Benchmarks/pytorch_reference.py --dueling --double > .build/pytorch-dueling-double.json
	env -u OPENBLAS_CORETYPE $(ARENA) bench agent --replay-transitions 0 --dueling --double --pytorch .build/pytorch-dueling-double.json

# oneDNN (Debian's libdnnl) on the Nature network's passes, one thread, batch 32 and 16, fp32 and
# bf16 (BENCHMARKS.md, "oneDNN on AVX-512"); beside it, our own passes (`bench agent --layers`).
bench-onednn: build
	@./scripts/setup.sh libdnnl-dev
	g++ -O2 -o .build/onednn_conv Benchmarks/onednn_conv.cpp -ldnnl
	for p in fp32 $$(grep -qw avx512_bf16 /proc/cpuinfo && echo bf16); do for n in 32 16; do env -u OPENBLAS_CORETYPE OMP_NUM_THREADS=1 .build/onednn_conv $$n $$p; done; done
	for p in fp32 $$(grep -qw avx512_bf16 /proc/cpuinfo && echo bf16); do env -u OPENBLAS_CORETYPE $(ARENA) bench agent --layers --precision $$p --replay-transitions 0; done
