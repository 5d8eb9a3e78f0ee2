# Berth — hand-written Makefile.
#
#   make                      build everything into bin/
#   make check                unit + integration (+ browser) tests
#   make check SANITIZE=address,undefined
#                             the same under ASan+UBSan (objects in build/san)
#   make check T=yaml         only tests whose file name contains "yaml"
#   make install PREFIX=/usr/local DESTDIR=
#   make demo                 run Berth on a sandbox cluster
#   make clean
#
# Sources are found by wildcard: every lib/*.c goes into libberth.a, every
# folder src/<part>/ with a main.c becomes a binary, every
# test/unit/test_<module>.c a Check test program. Adding a file needs no
# Makefile change.

.DEFAULT_GOAL := all
SHELL := /bin/bash

# A fresh clone has no config.mk: make installs what is missing, configures,
# and restarts with the generated file.
-include config.mk
config.mk: configure.ac config.mk.in
	@scripts/install-deps
	@autoconf -f
	@./configure --quiet

PREFIX ?= /usr/local
DESTDIR ?=
SANITIZE ?=
T ?=

ifeq ($(SANITIZE),)
B := build
BIN := bin
SAN_FLAGS :=
else
B := build/san
BIN := build/san/bin
SAN_FLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

# -Werror in development and CI (a git checkout); off for users' builds of a
# release tarball. Override with WERROR= or WERROR=-Werror.
ifneq ($(wildcard .git),)
WERROR ?= -Werror
else
WERROR ?=
endif

WARN := -Wall -Wextra $(WERROR) -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wformat=2 -Wvla -Wwrite-strings -fno-common
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g -D_FORTIFY_SOURCE=2 -fstack-protector-strong \
	-pthread $(WARN) $(SAN_FLAGS) -Ilib $(DEP_CFLAGS)
ALL_CFLAGS = $(BASE_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = -pthread $(SAN_FLAGS) $(LDFLAGS)
LIBS_ALL = $(DEP_LIBS) $(JSONNET_LIBS) -lm

LIB_SRC := $(wildcard lib/*.c)
LIB_OBJ := $(patsubst %.c,$(B)/%.o,$(LIB_SRC))
LIBBERTH := $(B)/libberth.a

# src/<part>/ → binary name
bin_name = $(if $(filter cli,$(1)),berth,berth-$(1))
PARTS := $(notdir $(patsubst %/main.c,%,$(wildcard src/*/main.c)))
PART_BINS := $(foreach p,$(PARTS),$(BIN)/$(call bin_name,$(p)))
KUBESIM_BIN := $(if $(wildcard test/kube-sim/main.c),$(BIN)/kube-sim)

UNIT_SRC := $(wildcard test/unit/test_*.c)
UNIT_BINS := $(patsubst test/unit/%.c,$(B)/test/unit/%,$(UNIT_SRC))
UNIT_HELPERS := $(wildcard test/unit/helpers/*.c)
UNIT_HELPER_OBJ := $(patsubst %.c,$(B)/%.o,$(UNIT_HELPERS))

# bench/<name>.c → build/bench/<name> (benchmark programs; `make bench-bins`).
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BINS := $(patsubst bench/%.c,$(B)/bench/%,$(BENCH_SRC))

.PHONY: all check bench-bins check-unit check-integration install clean distclean demo bench tests
all: $(LIBBERTH) $(PART_BINS) $(KUBESIM_BIN)
tests: $(UNIT_BINS)

$(B)/%.o: %.c config.mk
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(LIBBERTH): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@rm -f $@
	ar rcs $@ $^

# One binary per part; objects of the part only, plus libberth.a.
define part_rule
$(BIN)/$(call bin_name,$(1)): $(patsubst %.c,$(B)/%.o,$(wildcard src/$(1)/*.c)) $(LIBBERTH)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(ALL_LDFLAGS) -o $$@ $$^ $$(LIBS_ALL)
endef
$(foreach p,$(PARTS),$(eval $(call part_rule,$(p))))

$(BIN)/kube-sim: $(patsubst %.c,$(B)/%.o,$(wildcard test/kube-sim/*.c)) $(LIBBERTH)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_ALL)

$(B)/test/unit/test_%: $(B)/test/unit/test_%.o $(UNIT_HELPER_OBJ) $(LIBBERTH)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LIBS_ALL)

bench-bins: $(BENCH_BINS)
$(B)/bench/%: $(B)/bench/%.o $(LIBBERTH)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_ALL)

$(B)/test/unit/%.o: ALL_CFLAGS += $(CHECK_CFLAGS) -Wno-missing-prototypes

# make check: one summary line "N passed, N failed"; non-zero exit on failure.
check: all tests
	@scripts/install-deps
	@BERTH_BIN=$(abspath $(BIN)) BERTH_UNIT_DIR=$(abspath $(B)/test/unit) \
		BERTH_SANITIZE=$(SANITIZE) test/run-tests $(if $(T),--only $(T))

check-unit: all tests
	@BERTH_BIN=$(abspath $(BIN)) BERTH_UNIT_DIR=$(abspath $(B)/test/unit) \
		BERTH_SANITIZE=$(SANITIZE) test/run-tests --unit $(if $(T),--only $(T))

check-integration: all tests
	@scripts/install-deps
	@BERTH_BIN=$(abspath $(BIN)) BERTH_UNIT_DIR=$(abspath $(B)/test/unit) \
		BERTH_SANITIZE=$(SANITIZE) test/run-tests --integration $(if $(T),--only $(T))

demo: all
	@scripts/install-deps
	@scripts/demo

bench: all bench-bins
	@bench/run

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man8 \
		$(DESTDIR)$(PREFIX)/share/berth
	install -m 0755 $(PART_BINS) $(DESTDIR)$(PREFIX)/bin/
	for m in $(wildcard man/*.1); do install -m 0644 $$m $(DESTDIR)$(PREFIX)/share/man/man1/; done
	for m in $(wildcard man/*.5); do install -m 0644 $$m $(DESTDIR)$(PREFIX)/share/man/man5/; done
	for m in $(wildcard man/*.8); do install -m 0644 $$m $(DESTDIR)$(PREFIX)/share/man/man8/; done
	if [ -d ui-static ]; then cp -R ui-static $(DESTDIR)$(PREFIX)/share/berth/; fi
	if [ -d manifests ]; then cp -R manifests $(DESTDIR)$(PREFIX)/share/berth/; fi

clean:
	rm -rf build bin

distclean: clean
	rm -rf config.mk config.log config.status configure autom4te.cache .deps

-include $(shell find $(B) -name '*.d' 2>/dev/null)

# Keep intermediate objects (unit-test .o files) between runs.
.SECONDARY:
