# Spillway: the developer's and operator's entry points. `make run` and `make check` do all the
# set-up on a fresh Debian 12 machine (scripts/install-deps.sh installs what is missing).

SHELL := /bin/bash
JOBS ?= $(shell nproc)
BUILD_DIR ?= build
ASAN_BUILD_DIR ?= build-asan
FUZZ_BUILD_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
CONFIG ?= config/spillway.json
CMAKE_FLAGS ?=
export CCACHE_SLOPPINESS := pch_defines,time_macros,include_file_mtime,include_file_ctime
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_DIR ?= $(HOME)/.cache/ccache

# The demo stack (DESIGN.md, "The demo workflow"): ports, places, and which stack.
PROXY_PORT ?= 8080
API_PORT ?= 3000
ADMIN_PORT ?= 9901
REPLAY_ADMIN_PORT ?= 9902
KAFKA_PORT ?= 29092
RUN_DIR ?= .run
COMPOSE_FILE ?= docker-compose.yml
TOPIC ?= failed-requests
DLQ_TOPIC ?= failed-requests.dlq
# NO_BUILD=1: operate the stack with the binaries already in $(BUILD_DIR)/bin (the end-to-end
# test sets it so nothing is rebuilt under it).
NO_BUILD ?=

STACK_GOALS := up down test test-fail stop-api start-api consume-kafka logs tail dlq redrive status clean
ifneq ($(filter $(STACK_GOALS),$(MAKECMDGOALS)),)
  ifeq ($(origin STACK),undefined)
    # The stack that is up, else docker when an engine answers, else local processes.
    STACK_FILE := $(shell cat $(RUN_DIR)/stack 2>/dev/null)
    ifneq ($(STACK_FILE),)
      STACK := $(STACK_FILE)
      STACK_WHY := the stack that is up, from $(RUN_DIR)/stack
    else ifeq ($(shell docker info >/dev/null 2>&1 && echo yes),yes)
      STACK := docker
      STACK_WHY := a Docker engine answers; STACK=local runs plain processes
    else
      STACK := local
      STACK_WHY := no Docker engine answers
    endif
  endif
endif
STACK ?= local
STACK_WHY ?= as asked
ifeq ($(filter docker local,$(STACK)),)
  $(error STACK must be docker or local, not "$(STACK)")
endif
COMPOSE = $(shell docker compose version >/dev/null 2>&1 && echo docker compose || echo docker-compose) -f $(COMPOSE_FILE)
STACK_ENV = BIN_DIR=$(BUILD_DIR)/bin CONFIG=$(CONFIG) RUN_DIR=$(RUN_DIR) PROXY_PORT=$(PROXY_PORT) \
    API_PORT=$(API_PORT) ADMIN_PORT=$(ADMIN_PORT) REPLAY_ADMIN_PORT=$(REPLAY_ADMIN_PORT) \
    KAFKA_PORT=$(KAFKA_PORT)
STACK_BUILD = $(if $(NO_BUILD),,$(if $(filter local,$(STACK)),build))
KAFKA_BOOTSTRAP = $(if $(filter docker,$(STACK)),localhost:29092,$$($(STACK_ENV) scripts/stack.sh bootstrap))
USER_JSON = {"name":"John Doe","email":"john@example.com"}
QUEUED_USER_JSON = {"name":"Jane Doe","email":"jane@example.com"}

.PHONY: all deps build build-asan run check test-unit test-asan bench fuzz chaos format format-check clean
.PHONY: up down test test-fail stop-api start-api consume-kafka logs tail dlq redrive status

all: build

deps:
	@scripts/install-deps.sh

# (Not when BUILD_DIR names the sanitizer build, e.g. to run the stack on its binaries.)
ifneq ($(BUILD_DIR),$(ASAN_BUILD_DIR))
$(BUILD_DIR)/build.ninja: | deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)
endif

build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

$(ASAN_BUILD_DIR)/build.ninja: | deps
	cmake -S . -B $(ASAN_BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug \
	    -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g1" -DSPILLWAY_SANITIZE=ON $(CMAKE_FLAGS)

build-asan: deps $(ASAN_BUILD_DIR)/build.ninja
	cmake --build $(ASAN_BUILD_DIR) -j $(JOBS)

# The whole local stack (dev broker, sample API, proxy, replay) in the foreground; Ctrl-C stops it.
run: $(if $(NO_BUILD),,build)
	@mkdir -p $(RUN_DIR) && echo local >$(RUN_DIR)/stack
	@$(STACK_ENV) scripts/stack.sh run

# Every test, in the normal build and again under AddressSanitizer + UndefinedBehaviorSanitizer,
# after the format check (cheap, so it fails first).
check: format-check build build-asan
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    ctest --test-dir $(ASAN_BUILD_DIR) --output-on-failure -j $(JOBS)

bench: build
	@scripts/install-deps.sh --bench
	bench/run.sh
	BIN_DIR=$(BUILD_DIR)/bin bench/replay/run.sh

# The chaos run (docs/chaos.md): the whole system under overlapping faults for DURATION, then every
# request accounted for; fails on a loss. SEED repeats a run (default: random, printed);
# DEVBROKER=PATH runs another devbroker; CHAOS_FLAGS adds flags (--rate N, --work-dir DIR).
DURATION ?= 2m
SEED ?=
DEVBROKER ?=
CHAOS_FLAGS ?=
chaos: build
	/usr/bin/python3 tests/chaos/chaos.py --duration $(DURATION) --bin-dir $(BUILD_DIR)/bin \
	    $(if $(SEED),--seed $(SEED)) $(if $(DEVBROKER),--devbroker $(DEVBROKER)) $(CHAOS_FLAGS)

# The libFuzzer targets (docs/fuzzing.md), built by clang 14 with ASan and UBSan in
# $(FUZZ_BUILD_DIR), each run for FUZZ_SECONDS on its corpus; fails on a crash.
# FUZZ_TARGETS=envelope runs only that one; FUZZ_MERGE=1 adds new coverage to tests/fuzz/corpus.
FUZZ_TARGETS ?=
$(FUZZ_BUILD_DIR)/build.ninja:
	@scripts/install-deps.sh --fuzz
	CCACHE_SLOPPINESS=$(CCACHE_SLOPPINESS) cmake -S . -B $(FUZZ_BUILD_DIR) -G Ninja \
	    -DCMAKE_CXX_COMPILER=clang++-14 -DSPILLWAY_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug \
	    -DCMAKE_CXX_FLAGS_DEBUG="-O1 -gline-tables-only" $(CMAKE_FLAGS)

fuzz: $(FUZZ_BUILD_DIR)/build.ninja
	@scripts/install-deps.sh --fuzz
	cmake --build $(FUZZ_BUILD_DIR) -j $(JOBS)
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_DIR=$(FUZZ_BUILD_DIR) scripts/fuzz.sh $(FUZZ_TARGETS)

# .clang-format is the style; clang-format 14, Debian 12's (scripts/install-deps.sh), is the judge.
FORMAT_FILES = $$(git ls-files '*.cpp' '*.hpp')

format: deps
	clang-format -i $(FORMAT_FILES)

format-check: deps
	@clang-format --dry-run -Werror $(FORMAT_FILES) || \
	    { echo "make format-check: the files above differ from .clang-format; run make format" >&2; exit 1; }
	@echo "format-check: $$(git ls-files '*.cpp' '*.hpp' | wc -l) files follow .clang-format"

# ---- The demo workflow: make up, test, stop-api, test-fail, consume-kafka, start-api, logs, down.

up: $(STACK_BUILD)
ifeq ($(STACK),docker)
	@echo "make up: STACK=docker ($(STACK_WHY)): docker-compose.yml"
	@mkdir -p $(RUN_DIR) && echo docker >$(RUN_DIR)/stack
	$(COMPOSE) up -d --build
	@echo "proxy http://localhost:8080, sample API http://localhost:3000, Kafka localhost:29092"
else
	@echo "make up: STACK=local ($(STACK_WHY)): processes, pids and logs in $(RUN_DIR)/"
	@mkdir -p $(RUN_DIR) && echo local >$(RUN_DIR)/stack
	@$(STACK_ENV) scripts/stack.sh up
endif

down:
ifeq ($(STACK),docker)
	$(COMPOSE) down
else
	@$(STACK_ENV) scripts/stack.sh down
endif
	@rm -f $(RUN_DIR)/stack

status:
ifeq ($(STACK),docker)
	$(COMPOSE) ps
else
	@$(STACK_ENV) scripts/stack.sh status
endif

stop-api:
ifeq ($(STACK),docker)
	$(COMPOSE) stop api
else
	@$(STACK_ENV) scripts/stack.sh stop-api
endif

start-api:
ifeq ($(STACK),docker)
	$(COMPOSE) start api
else
	@$(STACK_ENV) scripts/stack.sh start-api
endif

# A user created through the proxy, then the list, through the proxy.
test:
	@echo '$$ curl -si -X POST localhost:$(PROXY_PORT)/api/users -d '"'"'$(USER_JSON)'"'"
	@curl -sS -i --max-time 30 --fail-with-body -X POST localhost:$(PROXY_PORT)/api/users \
	    -H 'Content-Type: application/json' -d '$(USER_JSON)'; echo
	@echo '$$ curl -si localhost:$(PROXY_PORT)/api/users'
	@curl -sS -i --max-time 30 --fail-with-body localhost:$(PROXY_PORT)/api/users; echo

# The same request with the API stopped: the proxy stores it and answers 503 "queued": true.
test-fail:
	@echo '$$ curl -si -X POST localhost:$(PROXY_PORT)/api/users -d '"'"'$(QUEUED_USER_JSON)'"'"
	@out=$$(curl -sS -i --max-time 30 -X POST localhost:$(PROXY_PORT)/api/users \
	    -H 'Content-Type: application/json' -d '$(QUEUED_USER_JSON)') || exit 1; \
	echo "$$out"; echo; \
	if ! grep -q '^HTTP/1.1 503' <<<"$$out"; then \
	    echo "make test-fail: expected a 503 (queued): is the API stopped? (make stop-api)" >&2; exit 1; \
	fi

# What the proxy queued: every record of the topic, from the beginning, then exit.
consume-kafka:
	@brokers=$(KAFKA_BOOTSTRAP) || exit 1; \
	echo "\$$ kcat -C -b $$brokers -t $(TOPIC) -o beginning -e"; \
	timeout 60 kcat -C -b "$$brokers" -t $(TOPIC) -o beginning -e -q \
	    -f 'partition %p offset %o key %k\nheaders %h\n%s\n\n'

# The queue as the replay consumer sees it, one line per request, until Ctrl-C (FORMAT=json|curl).
tail:
ifeq ($(STACK),docker)
	$(COMPOSE) exec replay spillway-replay --tail --from-beginning $(if $(FORMAT),--format $(FORMAT))
else
	@brokers=$(KAFKA_BOOTSTRAP) || exit 1; \
	SPILLWAY_KAFKA_BROKERS=$$brokers $(BUILD_DIR)/bin/spillway-replay --config $(CONFIG) \
	    --tail --from-beginning $(if $(FORMAT),--format $(FORMAT))
endif

# The dead-letter topic, one line per dead letter, from the beginning, until Ctrl-C.
dlq:
ifeq ($(STACK),docker)
	$(COMPOSE) exec replay spillway-ctl tail --topic $(DLQ_TOPIC) --from-beginning $(if $(FORMAT),--format $(FORMAT))
else
	@brokers=$(KAFKA_BOOTSTRAP) || exit 1; \
	SPILLWAY_KAFKA_BROKERS=$$brokers $(BUILD_DIR)/bin/spillway-ctl --config $(CONFIG) \
	    tail --topic $(DLQ_TOPIC) --from-beginning $(if $(FORMAT),--format $(FORMAT))
endif

# Sends dead letters back to the queue, each at most once (docs/operations.md, "Redrive"):
# ARGS="--reason 'status 500' --dry-run" passes spillway-ctl's filters and options.
redrive:
ifeq ($(STACK),docker)
	$(COMPOSE) exec replay spillway-ctl redrive $(ARGS)
else
	@brokers=$(KAFKA_BOOTSTRAP) || exit 1; \
	SPILLWAY_KAFKA_BROKERS=$$brokers $(BUILD_DIR)/bin/spillway-ctl --config $(CONFIG) redrive $(ARGS)
endif

logs:
ifeq ($(STACK),docker)
	$(COMPOSE) logs -f
else
	@tail -n 20 -F $(RUN_DIR)/devbroker.log $(RUN_DIR)/api.log $(RUN_DIR)/proxy.log $(RUN_DIR)/replay.log
endif

# Stops the stack, then removes its state and the builds.
clean:
ifeq ($(STACK),docker)
	-$(COMPOSE) down -v
else
	@if [ -d $(RUN_DIR) ]; then $(STACK_ENV) scripts/stack.sh down; fi
endif
	rm -rf $(BUILD_DIR) $(ASAN_BUILD_DIR) $(FUZZ_BUILD_DIR) $(RUN_DIR)
