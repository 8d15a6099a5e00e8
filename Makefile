# vmemu - one non-recursive Makefile.
#
#   make            libvmemu.a and ./vmemu
#   make run        build, then run the built-in scenario
#   make test       build and run every cmocka test binary
#   make asan       the tests under AddressSanitizer + UBSan (build/asan)
#   make tsan       the tests under ThreadSanitizer (build/tsan)
#   make coverage   line coverage of base/ mmu/ vm/ reclaim/ swap/ (gcov)
#   make bench      build and run the benchmarks (tests/bench)
#   make fuzz       the trace parsers under libFuzzer, FUZZ_TIME s each
#   make format     clang-format every source file in place
#   make check-format  fail if any file is not formatted
#   make clean
#
# Missing libuv / SQLite / cmocka headers are installed with apt-get (sudo
# when not root) the first time a build needs them; so are zlib and
# libzstd (compressed traces, workloads/trace_src.c) and nettle (the sha256
# that `vmemu sim --log` tags a trace with; docs/sim.md says why these).

BUILD	?= build
CC	?= cc
PKGS	:= libuv sqlite3 cmocka zlib libzstd nettle
DEB_PKGS := libuv1-dev libsqlite3-dev libcmocka-dev pkg-config zlib1g-dev \
	libzstd-dev nettle-dev

# ---- build dependencies -------------------------------------------------
GOALS := $(or $(MAKECMDGOALS),all)
ifneq ($(filter-out clean format check-format,$(GOALS)),)
DEPS_OK := $(shell pkg-config --exists $(PKGS) 2>/dev/null && echo yes)
ifneq ($(DEPS_OK),yes)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
$(info vmemu: libuv, SQLite, cmocka, zlib, zstd or nettle development files)
$(info vmemu: are missing;)
$(info vmemu: installing $(DEB_PKGS) with $(strip $(SUDO) apt-get) ...)
DEPS_RC := $(shell { $(SUDO) apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
	$(DEB_PKGS); } >&2; echo $$?)
ifneq ($(DEPS_RC),0)
$(error vmemu: apt-get failed (exit $(DEPS_RC)); install $(DEB_PKGS) by hand)
endif
$(info vmemu: build dependencies installed)
endif
endif

PKG_CFLAGS = $(shell pkg-config --cflags libuv sqlite3 zlib libzstd nettle)
PKG_LIBS   = $(shell pkg-config --libs libuv sqlite3 zlib libzstd nettle)
CMOCKA_CFLAGS = $(shell pkg-config --cflags cmocka)
CMOCKA_LIBS   = $(shell pkg-config --libs cmocka)

# ---- flags ----------------------------------------------------------------
WARN := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
	-Wmissing-prototypes -Wvla -Wformat=2 -Wundef -Wcast-qual \
	-Wwrite-strings -Wswitch-enum
OPT	?= -O2 -g
SAN	?=
CFLAGS	:= -std=c11 -D_GNU_SOURCE $(WARN) $(OPT) $(SAN) -I. -MMD -MP
LDFLAGS	:= $(SAN)
LDLIBS	= $(PKG_LIBS) -lpthread -lm

# ---- sources --------------------------------------------------------------
# libvmemu.a: the emulated kernel and what sits on its public API; the
# command line (cli/) is not in it.  docs/architecture.md has the layers.
LIB_SRCS := $(wildcard base/*.c mmu/*.c vm/*.c reclaim/*.c swap/*.c \
	user/*.c workloads/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB	 := $(BUILD)/libvmemu.a
CLI_SRCS := $(wildcard cli/*.c)
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/%.o)

TEST_SRCS  := $(wildcard tests/test_*.c)
TEST_BINS  := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
TESTLIB_SRCS := $(wildcard tests/lib/*.c)
TESTLIB_OBJS := $(TESTLIB_SRCS:%.c=$(BUILD)/%.o)
BENCH_SRCS := $(wildcard tests/bench/bench_*.c)
BENCH_BINS := $(BENCH_SRCS:tests/bench/%.c=$(BUILD)/bench/%)

ALL_SRCS := $(LIB_SRCS) $(CLI_SRCS) $(TEST_SRCS) $(TESTLIB_SRCS) \
	$(BENCH_SRCS) $(wildcard tests/fuzz/*.c)

ALL_HDRS := $(wildcard base/*.h mmu/*.h vm/*.h reclaim/*.h swap/*.h user/*.h \
	workloads/*.h cli/*.h tests/lib/*.h tests/fuzz/*.h)

.PHONY: all run test asan tsan coverage bench fuzz format check-format clean
all: vmemu $(LIB)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) $(CMOCKA_CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

libvmemu.a: $(LIB)
	ln -sf $(LIB) $@

$(BUILD)/vmemu: $(CLI_OBJS) $(LIB)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

vmemu: $(BUILD)/vmemu
	ln -sf $(BUILD)/vmemu $@

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(TESTLIB_OBJS) $(LIB)
	$(CC) $(LDFLAGS) $^ $(CMOCKA_LIBS) $(LDLIBS) -o $@

# Benchmarks share tests/lib but not its cmocka-using CLI helpers.
BENCHLIB_OBJS = $(filter-out $(BUILD)/tests/lib/clitest.o,$(TESTLIB_OBJS))
$(BUILD)/bench/%: $(BUILD)/tests/bench/%.o $(BENCHLIB_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

run: vmemu
	./vmemu run

# The default build also leaves ./vmemu, so the README's commands work
# after make test.
ifeq ($(BUILD),build)
TEST_DEPS := vmemu
endif

# The benchmarks are built (not run) too, so that none stops linking.
test: $(TEST_BINS) $(BUILD)/vmemu $(TEST_DEPS) $(BENCH_BINS)
	@tests/check-layers.sh && tests/check-layers.sh --self-test
	@VMEMU=$(BUILD)/vmemu tests/run-tests.sh $(TEST_BINS)

# ASan installs its own SIGSEGV handler: the trap needs it off.
asan:
	$(MAKE) BUILD=build/asan OPT="-O1 -g -fno-omit-frame-pointer" \
		SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" \
		ASAN_OPTIONS=handle_segv=0:detect_leaks=1 \
		UBSAN_OPTIONS=print_stacktrace=1:handle_segv=0 test

# tests/tsan.supp says which reports TSan cannot get right (host remaps).
tsan:
	TSAN_OPTIONS="suppressions=$(CURDIR)/tests/tsan.supp $$TSAN_OPTIONS" \
	$(MAKE) BUILD=build/tsan OPT="-O1 -g" SAN="-fsanitize=thread" test

# Line coverage of the emulated kernel and the hardware model under the
# tests (gcov); the summary lands in build/cov/coverage.txt.
coverage:
	rm -rf build/cov
	$(MAKE) BUILD=build/cov OPT="-O0 -g" SAN=--coverage test
	@tests/coverage.sh build/cov | tee build/cov/coverage.txt

bench: $(BENCH_BINS)
	@for b in $(BENCH_BINS); do echo "== $$b"; $$b || exit 1; done

# ---- fuzzing: make fuzz (not part of make test) ---------------------------
# Each trace reader under libFuzzer (ASan + UBSan) for FUZZ_TIME seconds,
# starting from its seeds in tests/fuzz/corpus/NAME; new inputs collect in
# build/fuzz/corpus/NAME, a crash leaves build/fuzz/crash-* and fails.
# libFuzzer comes with Debian's clang (clang, libclang-rt-dev), installed
# with apt-get like the other packages when a probe build fails.  make
# test replays the seeds without libFuzzer (tests/test_trace.c).
FUZZ_TARGETS := txt csv csv_named vmtrace oracle auto gzip zstd
FUZZ_TIME ?= 15
FUZZ_CC	  ?= clang
FUZZ_SRCS := workloads/trace_src.c workloads/trace_parse.c \
	workloads/trace_load.c
FUZZ_HDRS := tests/fuzz/fuzz_one.h workloads/trace.h \
	workloads/trace_internal.h
FUZZ_FLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -I. \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_BINS := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)
FUZZ_SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(BUILD)/fuzz/.libfuzzer:
	@mkdir -p $(dir $@)
	@printf '%s\n' 'int LLVMFuzzerTestOneInput(const char *d, long n);' \
	  'int LLVMFuzzerTestOneInput(const char *d, long n)' \
	  '{ (void)d; (void)n; return 0; }' >$(BUILD)/fuzz/probe.c
	@$(FUZZ_CC) -fsanitize=fuzzer $(BUILD)/fuzz/probe.c \
	  -o $(BUILD)/fuzz/probe 2>/dev/null || { \
	  echo "vmemu: installing clang libclang-rt-dev (libFuzzer) ..."; \
	  $(FUZZ_SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	  $(FUZZ_SUDO) apt-get install -y -qq clang libclang-rt-dev && \
	  $(FUZZ_CC) -fsanitize=fuzzer $(BUILD)/fuzz/probe.c \
	  -o $(BUILD)/fuzz/probe; }
	@touch $@

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_trace.c $(FUZZ_SRCS) $(FUZZ_HDRS) \
		| $(BUILD)/fuzz/.libfuzzer
	$(FUZZ_CC) $(FUZZ_FLAGS) -DFUZZ_TARGET='"$*"' tests/fuzz/fuzz_trace.c \
		$(FUZZ_SRCS) $(shell pkg-config --libs zlib libzstd) -o $@

fuzz: $(FUZZ_BINS)
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(BUILD)/fuzz/corpus/$$t; \
	  echo "== fuzz $$t ($(FUZZ_TIME) s)"; \
	  $(BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_TIME) -timeout=10 \
	    -rss_limit_mb=2048 -artifact_prefix=$(BUILD)/fuzz/ \
	    $(BUILD)/fuzz/corpus/$$t tests/fuzz/corpus/$$t \
	    >$(BUILD)/fuzz/$$t.log 2>&1; rc=$$?; \
	  grep -E '^#[0-9]+.*(DONE|pulse)' $(BUILD)/fuzz/$$t.log | tail -n 1; \
	  if [ $$rc -ne 0 ]; then tail -n 30 $(BUILD)/fuzz/$$t.log; \
	    echo "fuzz $$t: FAILED (log: $(BUILD)/fuzz/$$t.log)"; exit 1; fi; \
	done; echo "fuzz: no crash in $(FUZZ_TARGETS)"

format:
	clang-format -i $(ALL_SRCS) $(ALL_HDRS)

# Fails (and names the files) when any source is not as make format
# would leave it: for CI and the pre-commit habit.
check-format:
	@clang-format --dry-run --Werror $(ALL_SRCS) $(ALL_HDRS)

clean:
	rm -rf build vmemu libvmemu.a

.SECONDARY:
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
