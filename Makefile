# StreamPulse: small C programs for real-time trip analytics.
#
#   make            build every program into bin/
#   make check      install missing packages, build with ASan+UBSan, run every test
#   make demo       install missing packages, run the whole pipeline on bundled data
#   make bench      measure each program beside its nearest peer
#   make fuzz       run every libFuzzer target for FUZZ_SECONDS each
#   make install    PREFIX=/usr/local: programs and man pages
#   make deps       apt-get the Debian packages the project needs (only the missing ones)
#
# Programs are tools/sp-*.c, shared code is lib/*.c (one archive), unit tests are
# tests/unit/test_*.c, program tests are tests/*.bats, fuzzers tests/fuzz/fuzz_*.c.
# Nothing needs listing here: a new file is picked up by its name.

PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
MANDIR    ?= $(PREFIX)/share/man
CC        ?= cc
FUZZ_CC   ?= clang
FUZZ_SECONDS ?= 600

# BUILD holds objects; BIN the programs. `make check` uses its own pair so a
# sanitized build never mixes with the release one.
BUILD     ?= build/release
BIN       ?= bin

OPT       ?= -O2
WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
# override: a CFLAGS or CPPFLAGS given on the command line (as make check
# does for the sanitizers) adds to these instead of dropping them.
override CPPFLAGS += -D_DEFAULT_SOURCE -D_GNU_SOURCE -Ilib
CFLAGS    ?= $(OPT) -g
override CFLAGS += -std=c11 $(WARN) -MMD -MP
LDLIBS    := -Wl,--as-needed -lcsv -ljansson -lhiredis -lrdkafka -lmicrohttpd -lpthread -lm

TOOLS     := $(patsubst tools/%.c,%,$(wildcard tools/sp-*.c))
LIB_SRC   := $(wildcard lib/*.c)
LIB_OBJ   := $(patsubst lib/%.c,$(BUILD)/lib/%.o,$(LIB_SRC)) $(BUILD)/gen/live_page.o
LIB_A     := $(BUILD)/libstreampulse.a
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN  := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(FUZZ_SRC))
MANPAGES  := $(wildcard man/*.1 man/*.7)
SCHEMAS   := $(wildcard schemas/*.json)
DATADIR   ?= $(PREFIX)/share/streampulse

SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
CHECK_BUILD := build/check

.PHONY: all check test faults unit-tests demo bench fuzz install deps clean format format-check
all: $(addprefix $(BIN)/,$(TOOLS))

$(BUILD)/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# The live page is edited as HTML and compiled in as bytes (lib/live_page.h).
$(BUILD)/gen/live_page.c: lib/live_page.html
	@mkdir -p $(@D)
	cd lib && xxd -i live_page.html >$(abspath $@)

$(BUILD)/gen/%.o: $(BUILD)/gen/%.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-missing-variable-declarations -c -o $@ $<

$(BUILD)/tools/%.o: tools/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%.o: tests/unit/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) -c -o $@ $<

$(LIB_A): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BIN)/%: $(BUILD)/tools/%.o $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_A) $(LDLIBS)

$(BUILD)/tests/test_%: $(BUILD)/tests/test_%.o $(LIB_A)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_A) $(LDLIBS)

unit-tests: $(UNIT_BIN)

# The sanitized build and the whole suite: unit tests, then bats, then a short
# fuzz pass over each seed corpus. tests/run-all prints the closing
# "N passed, N failed" line.
check: deps format-check
	$(MAKE) -j2 BUILD=$(CHECK_BUILD) BIN=$(CHECK_BUILD)/bin \
		CFLAGS="-O1 -g $(SAN_FLAGS)" LDFLAGS="$(SAN_FLAGS)" all unit-tests
	$(MAKE) -j2 fuzz-build
	SP_BIN=$(abspath $(CHECK_BUILD)/bin) SP_UNIT=$(abspath $(CHECK_BUILD)/tests) \
		SP_FUZZ=$(abspath build/fuzz) tests/run-all

test: check

# The fault-injection suite alone (make check runs it too).
faults: deps
	$(MAKE) -j2 BUILD=$(CHECK_BUILD) BIN=$(CHECK_BUILD)/bin \
		CFLAGS="-O1 -g $(SAN_FLAGS)" LDFLAGS="$(SAN_FLAGS)" all
	SP_BIN=$(abspath $(CHECK_BUILD)/bin) bats tests/faults

# libFuzzer targets: the library is compiled once with fuzzer
# instrumentation (fuzzer-no-link) and linked into every target.
FUZZ_SAN   := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS := -g -O1 -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE -Ilib -MMD -MP
FUZZ_OBJ   := $(patsubst lib/%.c,build/fuzz/lib/%.o,$(LIB_SRC)) build/fuzz/gen/live_page.o
build/fuzz/gen/live_page.c: lib/live_page.html
	@mkdir -p $(@D)
	cd lib && xxd -i live_page.html >$(abspath $@)
build/fuzz/gen/live_page.o: build/fuzz/gen/live_page.c
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<
build/fuzz/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_SAN) -c -o $@ $<

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $< $(FUZZ_OBJ) $(LDLIBS)

.PHONY: fuzz-build
fuzz-build: $(FUZZ_BIN)

fuzz: deps fuzz-build
	tests/fuzz/run $(FUZZ_SECONDS) $(FUZZ_BIN)

demo: deps all
	pipelines/demo

bench: deps all
	bench/run

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7
	install -m 755 $(addprefix $(BIN)/,$(TOOLS)) $(DESTDIR)$(BINDIR)
	for m in $(MANPAGES); do \
		sect=$${m##*.}; install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$sect; done
	install -d $(DESTDIR)$(DATADIR)/schemas
	$(if $(SCHEMAS),install -m 644 $(SCHEMAS) $(DESTDIR)$(DATADIR)/schemas)

# Debian packages: libraries to build against, the real services the tests
# start (redis-server), the independent oracles (jq, curl, kcat, redis-cli),
# the peers the benchmarks compare against (mlr, wrk), and the checkers of
# monitoring/ (promtool in prometheus, amtool in prometheus-alertmanager).
DEB_PACKAGES := make gcc clang clang-format libclang-rt-14-dev pkg-config libcsv-dev libjansson-dev \
	libhiredis-dev librdkafka-dev libmicrohttpd-dev xxd bats redis-server redis-tools \
	jq curl kcat mandoc miller wrk python3 prometheus prometheus-alertmanager time chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "make deps: installing" $$missing; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

C_SOURCES = lib/*.[ch] tools/*.c tests/unit/*.[ch] tests/fuzz/*.c

format:
	clang-format -i $(C_SOURCES)

# Formatting drift fails the build: `make format` fixes it.
format-check:
	@clang-format --dry-run --Werror $(C_SOURCES) || \
		{ echo "make format-check: run 'make format' (clang-format drift above)"; exit 1; }

clean:
	rm -rf build bin

-include $(LIB_OBJ:.o=.d) $(BUILD)/tools/*.d $(BUILD)/tests/*.d $(FUZZ_OBJ:.o=.d) build/fuzz/*.d
.SECONDARY:
