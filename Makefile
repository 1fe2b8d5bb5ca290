# libdfufile and the DFU file tools: one non-recursive GNU Makefile.
# `make help` lists the targets.

VERSION := $(shell sed -n 's/^\#define DFUFILE_VERSION_STRING "\(.*\)"$$/\1/p' common/dfufile.h)
SOVERSION := $(shell sed -n 's/^\#define DFUFILE_VERSION_MAJOR \([0-9]*\)$$/\1/p' common/dfufile.h)

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
# The JSON Schemas of the documents the tools write and read go to
# $(DATADIR)/dfutools/schemas (schemas/README.md).
DATADIR ?= $(PREFIX)/share
SCHEMAS := $(wildcard schemas/*.schema.json)
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
# udev reads /etc/udev/rules.d and /usr/lib/udev/rules.d, not /usr/local:
# with the default PREFIX give UDEVRULESDIR=/etc/udev/rules.d.
UDEVRULESDIR ?= $(PREFIX)/lib/udev/rules.d
DATADIR ?= $(PREFIX)/share
# bash-completion's own directory, moved under PREFIX (it loads
# completions from every XDG_DATA_DIRS entry, /usr/local/share included);
# without bash-completion, the same place under DATADIR.
BASHCOMPLETIONDIR ?= $(or $(shell $(PKG_CONFIG) --define-variable=prefix=$(PREFIX) \
	--variable=completionsdir bash-completion 2>/dev/null),$(DATADIR)/bash-completion/completions)
DESTDIR ?=

PKG_CONFIG ?= pkg-config
INSTALL ?= install
CFLAGS ?= -O2 -g
WARNFLAGS := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wformat=2
# The library, the tools and the device model are also -Wconversion
# clean (the tests, which build inputs byte by byte, are not held to it).
CODE_WARNFLAGS := -Wconversion
# Hardening of every build (as Debian's dpkg-buildflags with hardening=+all):
# bounds-checked libc calls, stack protector, position-independent
# executables, read-only relocations bound at start.  HARDEN= turns it off.
HARDEN ?= 1
ifeq ($(HARDEN),1)
HARDEN_CPPFLAGS := -D_FORTIFY_SOURCE=2
HARDEN_CFLAGS := -fstack-protector-strong -fPIE
HARDEN_LDFLAGS := -pie -Wl,-z,relro,-z,now
HARDEN_SOFLAGS := -Wl,-z,relro,-z,now
endif
CPPFLAGS_ALL = -Icommon -D_FILE_OFFSET_BITS=64 $(DEFLATE_CFLAGS) \
	$(HARDEN_CPPFLAGS) $(CPPFLAGS)
CFLAGS_ALL = -std=c11 -pthread $(WARNFLAGS) $(HARDEN_CFLAGS) $(CFLAGS) \
	$(EXTRA_CFLAGS) $(SAN_FLAGS)
LDFLAGS_ALL = $(HARDEN_LDFLAGS) $(LDFLAGS)

# make check SANITIZE=1: everything built with AddressSanitizer and
# UndefinedBehaviorSanitizer, stopping at the first report, in its own
# build directory.
ifeq ($(SANITIZE),1)
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
B ?= build/sanitize
# AddressSanitizer checks what _FORTIFY_SOURCE would, and better.
HARDEN_CPPFLAGS =
endif

# libdeflate (the suffix CRC, common/crc.c) is needed to build; zlib and
# cmocka only to build the tests, zlib's crc32() being the reference the
# unit tests compare with (expanded lazily).  Debian 12's libdeflate-dev
# ships libdeflate.pc.
DEFLATE_CFLAGS := $(shell $(PKG_CONFIG) --cflags libdeflate)
DEFLATE_LIBS := $(shell $(PKG_CONFIG) --libs libdeflate)
ZLIB_CFLAGS = $(shell $(PKG_CONFIG) --cflags zlib)
ZLIB_LIBS = $(shell $(PKG_CONFIG) --libs zlib)
CMOCKA_CFLAGS = $(shell $(PKG_CONFIG) --cflags cmocka)
CMOCKA_LIBS = $(shell $(PKG_CONFIG) --libs cmocka)

# Everything built goes under $(B); `make B=elsewhere` keeps builds apart.
# An absolute B inside this tree is made relative, so that the
# dependency files always name the same targets.
B ?= build
override B := $(patsubst $(CURDIR)/%,%,$(B))

LIB_SRCS := $(wildcard common/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/%.o)
LIB_PIC_OBJS := $(LIB_SRCS:%.c=$(B)/pic/%.o)
# The library exports only what its installed headers declare with
# DFUFILE_API (dfufile.h); everything else is hidden, in the archive too.
LIB_VISFLAGS := -fvisibility=hidden
$(LIB_OBJS) $(LIB_PIC_OBJS): CFLAGS_ALL += $(LIB_VISFLAGS)
# The tools' front end (frontend/): progname, diagnostics, safe output
# files, the options the tools share.  Linked into every tool, never into
# the library; only the tools (and tests of tool code) get -Ifrontend.
FE_OBJS := $(patsubst %.c,$(B)/%.o,$(wildcard frontend/*.c))
FE_CPPFLAGS := -Ifrontend
LIB_A := $(B)/libdfufile.a
LIB_SO := $(B)/libdfufile.so.$(VERSION)
LIB_SONAME := libdfufile.so.$(SOVERSION)
PC := $(B)/libdfufile.pc

TOOLS := bin2dfu dfuinfo elf2dfu hex2dfu dfuflash dfusplit
TOOL_BINS := $(TOOLS:%=$(B)/bin/%)
MANPAGES := $(wildcard man/*.1 man/*.3)

# Fuzz targets, tests/fuzz/fuzz_NAME.c.  For `make check` each is linked
# with tests/fuzz/replay.c into $(B)/tests/test_fuzz_NAME, which replays
# tests/fuzz/corpus/NAME, the inputs that once failed in
# tests/fuzz/regress/NAME and the directories in FUZZ_SEEDS_NAME.
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_REPLAYS := $(FUZZ_NAMES:%=$(B)/tests/test_fuzz_%)
FUZZ_SEEDS_dfufile := tests/fixtures/corpus tests/fixtures/invalid
FUZZ_SEEDS_image := tests/fixtures/elf tests/fixtures/corpus tests/fixtures/invalid
FUZZ_SEEDS_split := tests/fixtures/corpus tests/fixtures/invalid
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
empty :=
space := $(empty) $(empty)
fuzz_inputs = $(wildcard tests/fuzz/corpus/$(1) tests/fuzz/regress/$(1) \
	$(FUZZ_SEEDS_$(1)))
# For the replay, compiled in: the corpus must exist, the others ('?')
# may not exist yet.
fuzz_dirs = $(subst $(space),:,$(strip $(CURDIR)/tests/fuzz/corpus/$(1) \
	$(addprefix ?$(CURDIR)/,tests/fuzz/regress/$(1) $(FUZZ_SEEDS_$(1)))))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)

.PHONY: all lib tools tests check lint bench fuzz memcheck install uninstall clean help
.DEFAULT_GOAL := all

all: lib tools

lib: $(LIB_A) $(LIB_SO) $(PC)

tools: $(TOOL_BINS)

tests: lib $(UNIT_BINS) $(TOOL_BINS) $(FUZZ_REPLAYS)

# Everything compiled depends on the flags it was compiled with, kept in
# $(B)/.flags: a change of CFLAGS, SANITIZE, HARDEN... makes the rule below
# rewrite it, and everything rebuilds.  Only the rule writes it: reading
# this Makefile (make help, make -n) creates nothing.  Expanded once, here:
# the library's objects add LIB_VISFLAGS to CFLAGS_ALL for themselves, and
# make passes such target-specific values on to prerequisites like .flags.
FLAGS_NOW := $(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) $(LDFLAGS_ALL) $(LIB_VISFLAGS)
ifneq ($(FLAGS_NOW),$(file <$(B)/.flags))
$(B)/.flags: FORCE
endif
$(B)/.flags:
	@mkdir -p $(@D)
	@printf '%s\n' '$(subst ','\'',$(FLAGS_NOW))' >$@
.PHONY: FORCE
FORCE:

$(B)/%.o: %.c $(B)/.flags
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) $(CODE_WARNFLAGS) -MMD -MP -c -o $@ $<

$(B)/pic/%.o: %.c $(B)/.flags
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) $(CODE_WARNFLAGS) -fPIC -MMD -MP -c -o $@ $<

$(LIB_A): $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(LIB_SO): $(LIB_PIC_OBJS)
	$(CC) -shared -Wl,-soname,$(LIB_SONAME) $(CFLAGS_ALL) \
		$(HARDEN_SOFLAGS) $(LDFLAGS) \
		-o $@ $^ $(DEFLATE_LIBS)
	ln -sf libdfufile.so.$(VERSION) $(B)/$(LIB_SONAME)
	ln -sf libdfufile.so.$(VERSION) $(B)/libdfufile.so

# The .pc file records the directories, so install writes it afresh for the
# PREFIX/LIBDIR/INCLUDEDIR given to install.
PC_SED = sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	common/libdfufile.pc.in

$(PC): common/libdfufile.pc.in common/dfufile.h
	@mkdir -p $(@D)
	$(PC_SED) > $@

# What a tool needs beyond the library: <tool>_CFLAGS and <tool>_LIBS.
# dfusplit: jansson for its JSON manifest, nettle for SHA-256.
dfusplit_CFLAGS = $(shell $(PKG_CONFIG) --cflags jansson nettle)
dfusplit_LIBS = $(shell $(PKG_CONFIG) --libs jansson nettle)
# dfuinfo: jansson to read the device list of dfuflash -l --json (-L FILE).
dfuinfo_CFLAGS = $(shell $(PKG_CONFIG) --cflags jansson)
dfuinfo_LIBS = $(shell $(PKG_CONFIG) --libs jansson)
# dfuflash: libusb-1.0 for USB; jansson for the device list (-l --json),
# --progress=json (events.c) and the records of --log (record.c), nettle
# for their SHA-256.
dfuflash_CFLAGS = $(shell $(PKG_CONFIG) --cflags libusb-1.0 jansson nettle)
dfuflash_LIBS = $(shell $(PKG_CONFIG) --libs libusb-1.0 jansson nettle)

# Each tool is every .c file of its folder, linked with the static library.
define TOOL_RULE
$(B)/$(1)/%.o: CPPFLAGS_ALL += $(FE_CPPFLAGS) $$($(1)_CFLAGS)
$(B)/bin/$(1): $(patsubst %.c,$(B)/%.o,$(wildcard $(1)/*.c)) $(FE_OBJS) $(LIB_A)
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS_ALL) $$(LDFLAGS_ALL) -o $$@ $$^ $$(DEFLATE_LIBS) $$($(1)_LIBS)
endef
$(foreach t,$(TOOLS),$(eval $(call TOOL_RULE,$(t))))

# ---- dfuflash: its engine, the device model, their tests -------------------
# dfuflash is every dfuflash/*.c, the device model of --sim (model.c)
# included.  The engine (every file but main, the model and the records
# of --log) and the model also go into the unit tests that drive one
# against the other.
DFL_MODEL_OBJS := $(B)/dfuflash/model.o
DFUFLASH_ENGINE_OBJS := $(patsubst %.c,$(B)/%.o,$(filter-out \
	dfuflash/dfuflash.c dfuflash/model.c dfuflash/record.c, \
	$(wildcard dfuflash/*.c)))
DFUFLASH_TESTS := $(B)/tests/test_engine $(B)/tests/test_model \
	$(B)/tests/test_descriptor $(B)/tests/test_select $(B)/tests/test_quirks

# list.c, events.c and quirks.c decode UTF-8 with frontend/utf8.c.
$(DFUFLASH_TESTS): $(B)/tests/%: tests/unit/%.c $(DFUFLASH_ENGINE_OBJS) \
		$(DFL_MODEL_OBJS) $(B)/frontend/utf8.o $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) -Idfuflash $(dfuflash_CFLAGS) $(CMOCKA_CFLAGS) \
		$(CFLAGS_ALL) -MMD -MP $(LDFLAGS_ALL) -o $@ $< \
		$(DFUFLASH_ENGINE_OBJS) $(DFL_MODEL_OBJS) $(B)/frontend/utf8.o \
		$(LIB_A) $(DEFLATE_LIBS) $(ZLIB_LIBS) $(dfuflash_LIBS) $(CMOCKA_LIBS)

# ---- tests/usbhost: the device model on emulated USB (umockdev) ----------
# The end-to-end tests run the real dfuflash and dfu-util, through the real
# libusb, against the device model behind a umockdev testbed.  usbhost is
# built only where umockdev's development files are installed; the tests
# that need it skip (status 77) without it.
UMOCKDEV_CFLAGS = $(shell $(PKG_CONFIG) --cflags umockdev-1.0)
UMOCKDEV_LIBS = $(shell $(PKG_CONFIG) --libs umockdev-1.0)
USBHOST_SRCS := $(wildcard tests/usbhost/*.c)
ifneq ($(USBHOST_SRCS),)
ifeq ($(shell $(PKG_CONFIG) --exists umockdev-1.0 && echo yes),yes)
USBHOST := $(B)/tests/usbhost
# The model names DFU states with dfuflash's proto.c.
USBHOST_OBJS := $(DFL_MODEL_OBJS) $(B)/dfuflash/proto.o
tests: $(USBHOST)
$(USBHOST): $(USBHOST_SRCS) $(wildcard tests/usbhost/*.h) dfuflash/model.h \
		dfuflash/transport.h dfuflash/dfuproto.h $(USBHOST_OBJS) \
		$(LIB_A) $(B)/.flags
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(UMOCKDEV_CFLAGS) $(CFLAGS_ALL) \
		$(LDFLAGS_ALL) -o $@ $(USBHOST_SRCS) $(USBHOST_OBJS) $(LIB_A) \
		$(DEFLATE_LIBS) $(UMOCKDEV_LIBS)
endif
endif
# ---- end of tests/usbhost ------------------------------------------------

# `make bench-flash`: only dfuflash's rows of `make bench` (the model, and
# dfu-util over emulated USB).  (The line that runs $(MAKE) runs even under
# make -n: nothing else on it.)
.PHONY: bench-flash
bench-flash: tools
	$(if $(USBHOST),$(MAKE) --no-print-directory $(USBHOST))
	bench/run.sh -t flash,usb,multi $(B)
# ---- end of dfuflash -------------------------------------------------------

$(B)/tests/%: tests/unit/%.c $(LIB_A) $(B)/.flags
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CMOCKA_CFLAGS) $(CFLAGS_ALL) -MMD -MP \
		$(LDFLAGS_ALL) -o $@ $< $(LIB_A) $(DEFLATE_LIBS) $(ZLIB_LIBS) $(CMOCKA_LIBS)

# The tools' UTF-8 decoder (frontend/utf8.c).
$(B)/tests/test_utf8: tests/unit/test_utf8.c $(B)/frontend/utf8.o $(B)/.flags
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(FE_CPPFLAGS) $(CMOCKA_CFLAGS) $(CFLAGS_ALL) \
		-MMD -MP $(LDFLAGS_ALL) -o $@ $< $(B)/frontend/utf8.o \
		$(CMOCKA_LIBS)

# ---- dfusplit's unit test: every dfusplit/*.c but main ---------------------
DFUSPLIT_OBJS := $(patsubst %.c,$(B)/%.o,$(filter-out \
	dfusplit/dfusplit.c,$(wildcard dfusplit/*.c)))
$(B)/tests/test_dfusplit: tests/unit/test_dfusplit.c $(DFUSPLIT_OBJS) \
		$(FE_OBJS) $(LIB_A) $(B)/.flags
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) -Idfusplit $(FE_CPPFLAGS) $(dfusplit_CFLAGS) $(CMOCKA_CFLAGS) \
		$(CFLAGS_ALL) -MMD -MP $(LDFLAGS_ALL) -o $@ $< \
		$(DFUSPLIT_OBJS) $(FE_OBJS) $(LIB_A) $(DEFLATE_LIBS) $(ZLIB_LIBS) \
		$(dfusplit_LIBS) $(CMOCKA_LIBS)
# ---- end of dfusplit's unit test -------------------------------------------

# A target that tests a tool's code also links that code: FUZZ_SRCS_NAME
# (sources, compiled in) and FUZZ_LIBS_NAME.  The manifest reader is
# dfusplit's, so its target takes dfusplit's files but not its main().
FUZZ_SRCS_manifest := dfusplit/manifest.c dfusplit/input.c dfusplit/hash.c \
	frontend/cli.c frontend/utf8.c
FUZZ_CFLAGS_manifest = -Idfusplit $(FE_CPPFLAGS) $(dfusplit_CFLAGS)
FUZZ_LIBS_manifest = $(dfusplit_LIBS)
# The split target splits and joins again: split.c, records.c and the
# manifest target's files.
FUZZ_SRCS_split := dfusplit/split.c dfusplit/records.c $(FUZZ_SRCS_manifest)
FUZZ_CFLAGS_split = $(FUZZ_CFLAGS_manifest)
FUZZ_LIBS_split = $(FUZZ_LIBS_manifest)
# The device target drives dfuflash's engine and descriptor decoders (not
# usb.c: no libusb).
FUZZ_SRCS_device := $(wildcard dfuflash/engine*.c) dfuflash/proto.c \
	dfuflash/quirks.c frontend/utf8.c \
	dfuflash/descriptor.c dfuflash/msg.c
FUZZ_CFLAGS_device = -Idfuflash $(FE_CPPFLAGS)
FUZZ_LIBS_device =

.SECONDEXPANSION:
$(B)/tests/test_fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(LIB_A) \
		$(B)/.flags Makefile $$(FUZZ_SRCS_$$*)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(FUZZ_CFLAGS_$*) $(CFLAGS_ALL) \
		-DFUZZ_DIRS='"$(call fuzz_dirs,$*)"' -MMD -MP $(LDFLAGS_ALL) \
		-o $@ tests/fuzz/fuzz_$*.c tests/fuzz/replay.c $(FUZZ_SRCS_$*) \
		$(LIB_A) $(DEFLATE_LIBS) $(FUZZ_LIBS_$*)

# libFuzzer runs (clang): each target for FUZZ_SECONDS, on a working
# corpus in $(B)/fuzz/ seeded from the committed ones.  Not part of check.
define FUZZ_RULE
fuzz-$(1): $(LIB_SRCS) tests/fuzz/fuzz_$(1).c
	@mkdir -p $(B)/fuzz/corpus-$(1)
	$(FUZZ_CC) -g -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined $(CPPFLAGS_ALL) \
		$(FUZZ_CFLAGS_$(1)) -o $(B)/fuzz/$(1) tests/fuzz/fuzz_$(1).c \
		$(FUZZ_SRCS_$(1)) $(LIB_SRCS) $(DEFLATE_LIBS) $(FUZZ_LIBS_$(1))
	$(B)/fuzz/$(1) -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
		-artifact_prefix=$(B)/fuzz/$(1)- \
		$(addprefix -dict=,$(wildcard tests/fuzz/$(1).dict)) \
		$(B)/fuzz/corpus-$(1) $(call fuzz_inputs,$(1))
endef
$(foreach n,$(FUZZ_NAMES),$(eval $(call FUZZ_RULE,$(n))))
fuzz: $(FUZZ_NAMES:%=fuzz-%)

# Tests that compile programs against the library link them with the
# same sanitizers (SAN_FLAGS, empty without SANITIZE=1).
check: tests
	@SAN_FLAGS='$(SAN_FLAGS)' HARDEN='$(HARDEN)' tests/run.sh $(B)

# A warning-free build with -Werror in a separate tree, mandoc's lint of
# the man pages, and cppcheck's and clang-tidy's (.clang-tidy) of the code.
lint:
	$(MAKE) --no-print-directory B=$(B)/lint EXTRA_CFLAGS=-Werror all tests
	mandoc -T lint -W warning $(MANPAGES)
	cppcheck -q --std=c11 --enable=warning,portability,performance \
		--error-exitcode=1 --suppress=missingIncludeSystem -Icommon \
		$(FE_CPPFLAGS) common frontend $(TOOLS) tests/usbhost
	printf '%s\n' $(wildcard common/*.c frontend/*.c $(TOOLS:%=%/*.c) \
		tests/usbhost/*.c) | xargs -n 1 -P 2 sh -c \
		'clang-tidy --quiet "$$0" -- -std=c11 -O2 $(CPPFLAGS_ALL) \
		$(FE_CPPFLAGS) $(dfusplit_CFLAGS) \
		$(dfuinfo_CFLAGS) $(dfuflash_CFLAGS) $(UMOCKDEV_CFLAGS)'

# The CLI tests with every tool under valgrind (slow; not part of check).
memcheck: tests
	tests/memcheck.sh $(B)

bench: tools
	$(if $(USBHOST),$(MAKE) --no-print-directory $(USBHOST))
	bench/run.sh $(B)

install: all
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) \
		$(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR) \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3
	$(INSTALL) -m 755 $(TOOL_BINS) $(DESTDIR)$(BINDIR)
	$(INSTALL) -d $(DESTDIR)$(UDEVRULESDIR)
	$(INSTALL) -m 644 dfuflash/70-dfuflash.rules $(DESTDIR)$(UDEVRULESDIR)
	$(INSTALL) -d $(DESTDIR)$(BASHCOMPLETIONDIR)
	$(INSTALL) -m 644 completions/dfutools $(DESTDIR)$(BASHCOMPLETIONDIR)/dfuflash
	for t in $(filter-out dfuflash,$(TOOLS)); do \
		ln -sf dfuflash $(DESTDIR)$(BASHCOMPLETIONDIR)/$$t || exit 1; done
	$(INSTALL) -m 644 $(LIB_A) $(DESTDIR)$(LIBDIR)
	$(INSTALL) -m 755 $(LIB_SO) $(DESTDIR)$(LIBDIR)
	ln -sf libdfufile.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(LIB_SONAME)
	ln -sf libdfufile.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libdfufile.so
	$(INSTALL) -m 644 common/dfufile.h common/dfuimage.h \
		common/dfulayout.h common/dfuplan.h $(DESTDIR)$(INCLUDEDIR)
	$(INSTALL) -m 644 common/dfuconv.h $(DESTDIR)$(INCLUDEDIR)
	$(PC_SED) > $(DESTDIR)$(PKGCONFIGDIR)/libdfufile.pc
	$(if $(filter %.1,$(MANPAGES)),$(INSTALL) -m 644 $(filter %.1,$(MANPAGES)) $(DESTDIR)$(MANDIR)/man1)
	$(if $(filter %.3,$(MANPAGES)),$(INSTALL) -m 644 $(filter %.3,$(MANPAGES)) $(DESTDIR)$(MANDIR)/man3)
	$(INSTALL) -d $(DESTDIR)$(DATADIR)/dfutools/schemas
	$(INSTALL) -m 644 $(SCHEMAS) $(DESTDIR)$(DATADIR)/dfutools/schemas

uninstall:
	rm -f $(TOOLS:%=$(DESTDIR)$(BINDIR)/%)
	rm -f $(DESTDIR)$(UDEVRULESDIR)/70-dfuflash.rules
	rm -f $(TOOLS:%=$(DESTDIR)$(BASHCOMPLETIONDIR)/%)
	rm -f $(DESTDIR)$(LIBDIR)/libdfufile.a \
		$(DESTDIR)$(LIBDIR)/libdfufile.so.$(VERSION) \
		$(DESTDIR)$(LIBDIR)/$(LIB_SONAME) $(DESTDIR)$(LIBDIR)/libdfufile.so
	rm -f $(DESTDIR)$(INCLUDEDIR)/dfufile.h $(DESTDIR)$(INCLUDEDIR)/dfuimage.h \
		$(DESTDIR)$(INCLUDEDIR)/dfulayout.h $(DESTDIR)$(INCLUDEDIR)/dfuplan.h \
		$(DESTDIR)$(PKGCONFIGDIR)/libdfufile.pc
	rm -f $(DESTDIR)$(INCLUDEDIR)/dfuconv.h
	rm -f $(patsubst man/%,$(DESTDIR)$(MANDIR)/man1/%,$(filter %.1,$(MANPAGES)))
	rm -f $(patsubst man/%,$(DESTDIR)$(MANDIR)/man3/%,$(filter %.3,$(MANPAGES)))
	rm -f $(patsubst schemas/%,$(DESTDIR)$(DATADIR)/dfutools/schemas/%,$(SCHEMAS))

clean:
	rm -rf $(B)

# Every target, every variable a user may set and every dependency, with
# its Debian package (tests/cli/test_make.sh checks the lists against this
# Makefile and .ci/run).
help:
	@echo 'Targets:'
	@echo '  all          (default) lib and tools'
	@echo '  lib          libdfufile: $(B)/libdfufile.a, $(B)/libdfufile.so.$(VERSION), $(B)/libdfufile.pc'
	@echo '  tools        the tools in $(B)/bin: $(TOOLS)'
	@echo '  tests        lib, tools, the unit tests, the fuzz replays (and tests/usbhost with umockdev)'
	@echo '  check        build and run the unit, CLI, corpus and interoperability tests (tests/run.sh)'
	@echo '  lint         -Werror build of everything in $(B)/lint, mandoc -T lint of the man pages,'
	@echo '               cppcheck, clang-tidy'
	@echo '  bench        every tool against its baseline (cp, cat, srec_cat, dfu-util, the device'
	@echo '               floor), peak memory; one table with met / not met (bench/README.md; not in CI)'
	@echo '  bench-flash  only the dfuflash rows of bench: the model, and dfu-util over emulated USB'
	@echo '  fuzz         every fuzz-NAME'
	@echo '  fuzz-NAME    run one libFuzzer target for FUZZ_SECONDS; NAME is one of: $(FUZZ_NAMES)'
	@echo '  memcheck     the CLI tests with every tool under valgrind (slow; not in CI)'
	@echo '  install      install tools, library, headers, pkg-config file, man pages, udev rules,'
	@echo '               bash completion, JSON Schemas'
	@echo '  uninstall    remove what install installed'
	@echo '  clean        remove $(B)/'
	@echo '  help         this list'
	@echo 'Variables (make VAR=value ...):'
	@echo '  PREFIX       installation prefix (default /usr/local)'
	@echo '  DESTDIR      staging directory prepended to every installed path'
	@echo '  BINDIR LIBDIR INCLUDEDIR MANDIR PKGCONFIGDIR'
	@echo '               where install puts each kind of file (defaults under PREFIX)'
	@echo '  DATADIR      architecture-independent data (default $$(PREFIX)/share;'
	@echo '               the JSON Schemas go to DATADIR/dfutools/schemas)'
	@echo '  BASHCOMPLETIONDIR'
	@echo '               the bash completion (completions/dfutools, as each tool'"'"'s name): default'
	@echo '               bash-completion'"'"'s completionsdir under PREFIX, else $$(DATADIR)/bash-completion/completions'
	@echo '  UDEVRULESDIR 70-dfuflash.rules (default $$(PREFIX)/lib/udev/rules.d, which udev does'
	@echo '               not read for /usr/local: give /etc/udev/rules.d)'
	@echo '  CC CFLAGS CPPFLAGS LDFLAGS AR'
	@echo '               compiler and flags (CFLAGS default -O2 -g); a change rebuilds everything'
	@echo '  EXTRA_CFLAGS more compiler flags, added after CFLAGS (lint gives -Werror)'
	@echo '  B            build directory (default build; build/sanitize with SANITIZE=1)'
	@echo '  HARDEN       1 (default): _FORTIFY_SOURCE, stack protector, PIE, relro/now; HARDEN=0 turns it off'
	@echo '  SANITIZE     1: AddressSanitizer + UndefinedBehaviorSanitizer build (make check SANITIZE=1)'
	@echo '  FUZZ_SECONDS seconds per fuzz-NAME run (default 60)'
	@echo '  FUZZ_CC      compiler of the fuzz targets (default clang)'
	@echo '  PKG_CONFIG INSTALL'
	@echo '               the pkg-config and install programs'
	@echo 'Dependencies (Debian 12 packages):'
	@echo '  build        build-essential pkg-config libdeflate-dev (library); libjansson-dev nettle-dev'
	@echo '               (dfusplit, dfuinfo, dfuflash); libusb-1.0-0-dev (dfuflash)'
	@echo '  check        libcmocka-dev zlib1g-dev python3 python3-jsonschema jq mandoc'
	@echo '  check, optional (the cases that need one skip, reported, without it):'
	@echo '               dfu-util fwupd binutils-arm-none-eabi gcc-arm-none-eabi srecord'
	@echo '               umockdev libumockdev-dev strace time hyperfine'
	@echo '  lint         mandoc cppcheck clang-tidy'
	@echo '  fuzz         clang'
	@echo '  memcheck     valgrind'
	@echo '  bench        hyperfine jq time python3 dfu-util srecord binutils'
	@echo '               binutils-arm-none-eabi libumockdev-dev'

-include $(shell find $(B) -name '*.d' 2>/dev/null)
