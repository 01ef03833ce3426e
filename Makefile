# Spillway: the developer's and operator's entry points. `make run` and `make check` do all the
# set-up on a fresh Debian 12 machine (scripts/install-deps.sh installs what is missing).

SHELL := /bin/bash
JOBS ?= $(shell nproc)
BUILD_DIR ?= build
ASAN_BUILD_DIR ?= build-asan
CONFIG ?= config/spillway.json
CMAKE_FLAGS ?=
export CCACHE_SLOPPINESS := pch_defines,time_macros,include_file_mtime,include_file_ctime
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_DIR ?= $(HOME)/.cache/ccache

.PHONY: all deps build build-asan run check test-unit test-asan bench format clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD_DIR)/build.ninja: | deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

$(ASAN_BUILD_DIR)/build.ninja: | deps
	cmake -S . -B $(ASAN_BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug \
	    -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g1" -DSPILLWAY_SANITIZE=ON $(CMAKE_FLAGS)

build-asan: deps $(ASAN_BUILD_DIR)/build.ninja
	cmake --build $(ASAN_BUILD_DIR) -j $(JOBS)

# The proxy with the shipped config on the embedded development broker, in the foreground.
run: build
	BIN_DIR=$(BUILD_DIR)/bin CONFIG=$(CONFIG) scripts/run-local.sh

# Every test, in the normal build and again under AddressSanitizer + UndefinedBehaviorSanitizer.
check: build build-asan
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    ctest --test-dir $(ASAN_BUILD_DIR) --output-on-failure -j $(JOBS)

bench: build
	@scripts/install-deps.sh --bench
	bench/run.sh
	BIN_DIR=$(BUILD_DIR)/bin bench/replay/run.sh

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf $(BUILD_DIR) $(ASAN_BUILD_DIR) .run
