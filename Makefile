# kswarm build. `make` builds build/kswarm; see README.md for the other targets.
# Every .c under src/ (but src/cli/) goes into a static library that the program, the tests,
# the fuzzers and the benchmarks link; new files are picked up without editing this file.

VERSION    := 0.1.0
CC         ?= cc
PKGS       := libcurl libcjson libfyaml libmicrohttpd gnutls expat sqlite3
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
GIT_REV    := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

WARN     := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla -Wno-unused-parameter -Wno-format-truncation
CFLAGS   ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -Isrc $(PKG_CFLAGS) \
             -DKSWARM_VERSION='"$(VERSION)"' -DKSWARM_GIT_REV='"$(GIT_REV)"' -MMD -MP
LDLIBS   := $(PKG_LIBS) -lglpk -lm -lpthread

# BUILD=asan builds everything again under AddressSanitizer + UndefinedBehaviorSanitizer.
BUILD ?= release
ifeq ($(BUILD),asan)
B        := build/asan
CFLAGS   := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=address,undefined
else
B        := build
endif

LIB_SRC  := $(shell find src -name '*.c' ! -path 'src/cli/*' | sort)
CLI_SRC  := $(shell find src/cli -name '*.c' | sort)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
INTEG_SRC:= $(wildcard tests/integration/test_*.c)
# Programs the integration scripts run (not tests by themselves: run-tests.sh skips them).
HELPER_SRC:= $(wildcard tests/integration/helper_*.c)
BENCH_SRC:= $(wildcard bench/*.c)
FUZZ_SRC := $(wildcard fuzz/fuzz_*.c)

# Files compiled into the binary (src/base/embed.h).
EMBED    := $(sort $(wildcard deploy/crds/*.yaml scenarios/*.yaml web/*))
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/obj/%.o) $(B)/obj/gen/embedded.o
CLI_OBJ  := $(CLI_SRC:%.c=$(B)/obj/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
INTEG_BIN:= $(INTEG_SRC:tests/integration/%.c=$(B)/tests/%) \
            $(HELPER_SRC:tests/integration/%.c=$(B)/tests/%)
BENCH_BIN:= $(BENCH_SRC:bench/%.c=$(B)/bench/%)
TESTUTIL := $(B)/obj/tests/testutil.o

.PHONY: FORCE all deps check check-fast unit integration asan valgrind demo bench fuzz fuzz-regress \
        clean lint controlplane
all: $(B)/kswarm

$(B)/gen/embedded.c: scripts/embed.sh $(EMBED)
	@mkdir -p $(@D)
	$(Q)scripts/embed.sh $@ $(EMBED)

$(B)/obj/gen/embedded.o: $(B)/gen/embedded.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/libkswarm.a: $(LIB_OBJ)
	@mkdir -p $(@D)
	$(Q)$(AR) rcs $@ $^

$(B)/kswarm: $(CLI_OBJ) $(B)/libkswarm.a
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(B)/libkswarm.a $(LDLIBS)

# V=1 shows the full commands.
V ?= 0
ifeq ($(V),0)
Q := @
else
Q :=
endif

$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/tests/%: tests/unit/%.c $(TESTUTIL) $(B)/libkswarm.a
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) -Itests $(LDFLAGS) -o $@ $< $(TESTUTIL) $(B)/libkswarm.a $(LDLIBS) -lcmocka

$(B)/tests/%: tests/integration/%.c $(TESTUTIL) $(B)/libkswarm.a
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) -Itests $(LDFLAGS) -o $@ $< $(TESTUTIL) $(B)/libkswarm.a $(LDLIBS) -lcmocka

$(B)/bench/%: bench/%.c $(B)/libkswarm.a
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(B)/libkswarm.a $(LDLIBS)

# bench/optimize times each packing opt_run asks for (see the file).
$(B)/bench/optimize: LDFLAGS += -Wl,--wrap=cost_pack_solve

# The git revision is compiled into cmd_version.o only; rebuild it when HEAD moves.
$(B)/gitrev.stamp: FORCE
	@mkdir -p $(@D)
	@echo "$(GIT_REV)" | cmp -s - $@ || echo "$(GIT_REV)" > $@
$(B)/obj/src/cli/cmd_version.o: $(B)/gitrev.stamp
FORCE:

tests-built: $(UNIT_BIN) $(INTEG_BIN) $(B)/kswarm

deps:
	@scripts/deps.sh

# The whole suite: unit + integration (real control plane) + fuzz corpora, then all of it
# again under ASan+UBSan, then the unit tests under valgrind.
check: deps
	@scripts/check.sh

check-fast: $(B)/kswarm $(UNIT_BIN)
	@scripts/run-tests.sh --unit $(B)

unit: $(UNIT_BIN)
	@scripts/run-tests.sh --unit $(B)

integration: $(INTEG_BIN) $(B)/kswarm
	@scripts/run-tests.sh --integration $(B)

asan:
	@$(MAKE) --no-print-directory BUILD=asan tests-built

valgrind: $(UNIT_BIN)
	@scripts/run-tests.sh --unit --valgrind $(B)

controlplane: deps
	@scripts/localcp.sh start

demo: deps all
	@scripts/demo.sh

bench: deps $(BENCH_BIN) $(B)/kswarm
	@scripts/bench.sh $(B)

# libFuzzer targets, built with clang; FUZZ_SECONDS per target (default 60).
FUZZ_SECONDS ?= 60
fuzz: deps
	@scripts/fuzz.sh run $(FUZZ_SECONDS)

fuzz-regress:
	@scripts/fuzz.sh regress

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TESTUTIL:.o=.d)
