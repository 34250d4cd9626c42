# The two commands: `make demo` and `make test`. Both install what is missing and build first.
SHELL := /bin/bash
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
CTEST_FLAGS ?= --output-on-failure --timeout 300 -j$(JOBS)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

PREFIX ?= /usr/local

.PHONY: all deps build build-asan install test test-fast test-asan demo bench clean format crash-publish fuzz

all: build

deps:
	@missing=$$(grep -v '^\s*#' deploy/debian-packages.txt | grep -v '^\s*$$' | while read -r p; do \
	  dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q "ok installed" || echo "$$p"; done); \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing $$(echo $$missing | tr '\n' ' ')"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@# Test servers from npm (s3rver), pinned by tests/support/package-lock.json.
	@if [ ! -d tests/support/node_modules ]; then \
	  if ! command -v npm >/dev/null; then \
	    $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends npm >/dev/null; \
	  fi; \
	  npm ci --prefix tests/support --no-audit --no-fund --loglevel=error >/dev/null; \
	fi

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

$(ASAN_BUILD)/build.ninja:
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DHANSE_SANITIZE=ON $(CMAKE_FLAGS)

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j$(JOBS)

build-asan: deps $(ASAN_BUILD)/build.ninja
	cmake --build $(ASAN_BUILD) -j$(JOBS)

# Installs under $(PREFIX) (default /usr/local); DESTDIR stages it for a package or an image.
install: build
	DESTDIR=$(DESTDIR) cmake --install $(BUILD) --prefix $(PREFIX)

# Every test, then the same tests under AddressSanitizer + UndefinedBehaviorSanitizer.
test: build
	cd $(BUILD) && ctest $(CTEST_FLAGS)
	$(MAKE) test-asan

test-fast: build
	cd $(BUILD) && ctest $(CTEST_FLAGS)

test-asan: build-asan
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest $(CTEST_FLAGS)

# The long run of the publishing crash test: SIGKILL at random points, ROUNDS rounds (make test
# runs 100).
ROUNDS ?= 1000
crash-publish: build
	HANSE_CRASH_ROUNDS=$(ROUNDS) $(BUILD)/tests/integration_test \
	  --gtest_filter='PublishingCrashTest.*'

# Each libFuzzer target for FUZZ_SECONDS, seeded with its corpus in tests/fuzz_corpus (clang;
# what it finds goes to $(FUZZ_BUILD)/corpus/, a crash stops the run with the input named).
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= document query policy member_files
fuzz: deps
	cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_COMPILER=clang++-14 -DHANSE_WERROR=OFF
	cmake --build $(FUZZ_BUILD) -j$(JOBS) --target $(addsuffix _fuzz,$(FUZZ_TARGETS))
	for t in $(FUZZ_TARGETS); do \
	  bin=$$(find $(FUZZ_BUILD) -name "$${t}_fuzz" -type f -perm -u+x | head -1); \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$t; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  $$bin -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $(FUZZ_BUILD)/corpus/$$t \
	    tests/fuzz_corpus/$$t || exit 1; \
	done

demo: build
	HANSE=$(CURDIR)/$(BUILD)/node/hanse deploy/demo.sh

BENCH ?= all
BENCH_SCALE ?= 1.0
BENCH_FRESH ?=

# Benchmarks against references measured in the same run (docs/benchmarks.md).
#   make bench BENCH=verify,search BENCH_SCALE=0.1
bench: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j$(JOBS) --target hanse_bench
	BUILD=$(BUILD) BENCH=$(BENCH) BENCH_SCALE=$(BENCH_SCALE) BENCH_FRESH=$(BENCH_FRESH) bench/run.sh

format:
	git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
