# Top-level build of the whole project: plain GNU make, no generated files.
#
#   make            build every library, daemon and tool into $(BUILD)
#   make check      install missing Debian packages, build, run every test
#   make check SANITIZE=1   the same, built with ASan and UBSan (build/san)
#   make demo       start the all-in-one stack and walk the smart-city scenario
#   make bench      run the benchmark suite (bench/results.json, bench/REPORT.md)
#   make install    PREFIX=/usr/local DESTDIR=
#   make deps       install the Debian packages that are missing (root)
#   make fuzz       build the libFuzzer targets (clang) into build/fuzz
#   make lint       formatting, banned calls, complexity
#
# Each component describes itself in a module.mk next to its sources, with
# the LIB and PROG templates below, so that components never edit this file.

.DEFAULT_GOAL := all
SHELL := /bin/bash

BUILD ?= build
PREFIX ?= /usr/local
DESTDIR ?=
CC ?= cc
OPT ?= -O2
PY := /usr/bin/python3

SANFLAGS :=
# Command-line BUILD=... still gets the suffix, so that sanitized and fuzzing
# objects never mix with plain ones.
ifeq ($(SANITIZE),1)
override BUILD := $(BUILD)/san
OPT := -O1
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif
ifeq ($(FUZZ),1)
override BUILD := $(BUILD)/fuzz
CC := clang
OPT := -O1
SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
endif

WARNINGS := -Wall -Wextra -Werror -Wformat=2 -Wno-format-nonliteral -Wshadow \
            -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith -Wvla
CPPFLAGS += -D_GNU_SOURCE -Iiotronic-c -Ilightning-rod-c -Iqinling-driver -MMD -MP \
            -DIOT_SOURCE_DIR='"$(CURDIR)"'
CFLAGS += -std=gnu11 $(OPT) -g $(WARNINGS) $(SANFLAGS) -fno-strict-aliasing
LDFLAGS += $(SANFLAGS) -pthread

# Libraries of the system, by the component that needs them.
LDLIBS_COMMON := -lcjson -lssl -lcrypto -lpthread -lm
LDLIBS_LWS := -lwebsockets
LDLIBS_PQ := -lpq
LDLIBS_AMQP := -lrabbitmq
LDLIBS_GPIO := -lgpiod
LDLIBS_ARCHIVE := -larchive
LDLIBS_CURL := -lcurl

ALL_LIBS :=
ALL_PROGS :=
ALL_LDLIBS :=
INSTALL_BINS :=
UNIT_TESTS :=
FUZZ_TARGETS :=

# $(call LIB,name,sources,system ldlibs)
# Builds $(BUILD)/lib/lib<name>.a from the sources.
define LIB_template
$(1)_OBJS := $$(patsubst %.c,$$(BUILD)/obj/%.o,$(2))
$(1)_LDLIBS := $(3)
$$(BUILD)/lib/lib$(1).a: $$($(1)_OBJS)
	@mkdir -p $$(@D)
	@rm -f $$@
	$$(AR) rcs $$@ $$^
ALL_LIBS += $$(BUILD)/lib/lib$(1).a
ALL_LDLIBS += $(3)
endef
LIB = $(eval $(call LIB_template,$(1),$(2),$(3)))

# $(call PROG,name,sources,our libs (most dependent first),extra system ldlibs)
# Builds $(BUILD)/bin/<name>; system libraries come from the libs used.
define PROG_template
$(1)_OBJS := $$(patsubst %.c,$$(BUILD)/obj/%.o,$(2))
$(1)_LIBFILES := $$(foreach l,$(3),$$(BUILD)/lib/lib$$(l).a)
$$(BUILD)/bin/$(1): $$($(1)_OBJS) $$($(1)_LIBFILES)
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) -o $$@ $$($(1)_OBJS) -Wl,--start-group $$($(1)_LIBFILES) \
		-Wl,--end-group $$(sort $$(foreach l,$(3),$$($$(l)_LDLIBS)) $(4))
ALL_PROGS += $$(BUILD)/bin/$(1)
endef
PROG = $(eval $(call PROG_template,$(1),$(2),$(3),$(4)))

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# Components.
include $(sort $(wildcard */module.mk */*/module.mk tests/tools/*/module.mk))

# Unit tests: tests/unit/test_<name>.c, cmocka, linked against every library.
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))
$(BUILD)/tests/unit/%: $(BUILD)/obj/tests/unit/%.o $(ALL_LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< -Wl,--start-group $(ALL_LIBS) -Wl,--end-group \
		$(sort $(ALL_LDLIBS)) -lcmocka

# Fuzz targets: tests/fuzz/fuzz_<name>.c, built only with FUZZ=1 (clang).
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
$(BUILD)/fuzz/%: $(BUILD)/obj/tests/fuzz/%.o $(ALL_LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $< -Wl,--start-group $(ALL_LIBS) \
		-Wl,--end-group $(sort $(ALL_LDLIBS))

.PHONY: all check demo bench install clean deps fuzz fuzz-bins lint tests
all: $(ALL_LIBS) $(ALL_PROGS)
tests: all $(UNIT_TESTS)

deps:
	@tools/deps.sh

# Each libFuzzer target gets FUZZ_SECONDS in `make check` (a smoke run over its
# seed corpus); run tests/fuzz/test_fuzz.py with IOT_FUZZ_SECONDS for longer.
FUZZ_SECONDS ?= 8
check: deps
	$(MAKE) tests SANITIZE=$(SANITIZE)
	$(MAKE) fuzz
	IOT_FUZZ_SECONDS=$(FUZZ_SECONDS) $(PY) tests/run.py --build $(BUILD) $(TESTS)

fuzz:
	$(MAKE) FUZZ=1 SANITIZE= fuzz-bins
fuzz-bins: $(FUZZ_BINS)

demo: deps all
	devstack/demo.sh --build $(BUILD)

bench: deps all
	tools/bench/run.sh --build $(BUILD)

install: all
	@for b in $(INSTALL_BINS); do \
		install -D -m 0755 $(BUILD)/bin/$$b $(DESTDIR)$(PREFIX)/bin/$$b || exit 1; \
	done
	$(INSTALL_EXTRA)

lint:
	@tools/lint.sh

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
