# darkmap — one Makefile a reader can follow.
#   make          build ./darkmap (optimised)
#   make test     bootstrap, build, run every test (unit, golden, fuzz smoke) under ASan+UBSan,
#                 and the threads under TSan
#   make bench    speed/memory ratios against bgpdump and zcat/bzcat, same invocation
#   make fuzz     longer libFuzzer runs (FUZZ_SECONDS per target, default 300; a campaign is 1800;
#                 FUZZ_TARGETS="mrt rib" picks targets): docs/fuzzing.md
#   make demo     bootstrap, build, reconstruct North Korea Dec 2014 end to end

CC      ?= cc
OPT     ?= -O2
# Link-time optimisation for the release binary when CC is GCC (`make LTO=0` builds without): the
# RIB's and signal's small accessors (rib_slot, rib_attr_get, rib_prefix_fam, ...) cross module
# lines on the hot paths; inlined there, a one-table replay runs 4.5% fewer instructions in 0.969
# of the wall (31 paired runs; docs/replay.md, eleventh round). The objects then hold GCC's
# intermediate code, which gcc-ar's plugin indexes in the archive.
IS_GCC  := $(shell $(CC) -v 2>&1 | grep -c '^gcc version')
LTO     ?= $(if $(filter 1,$(IS_GCC)),1,0)
REL_AR  := ar
ifeq ($(LTO),1)
OPT     += -flto=auto
REL_AR  := gcc-ar
endif
# Clearing a struct of known size (up to 1 KiB) with vector stores, not `rep stosq`, which GCC's
# generic tuning picks from 32 bytes: on the AMD EPYC (family 25) machines of 7 Dec 2026 a `rep
# stos` of 104 bytes per UPDATE (bgp_attrs_frame's MP_REACH_NLRI) was a fifth of the framing, and
# decoding alone (bench/decode) ran in 0.80 of the time with this (15 paired rounds, both files),
# dump -m in 0.96, replay unchanged (docs/dump.md, "Decoding at 1 GB/s on another machine").
# Larger or unknown sizes call glibc's memset. GCC on x86-64 only; `make MEMSET_VEC=0` leaves it out.
# (-mstringop-strategy=vector_loop, for copies too, was tried on earlier machines: 2% more
# instructions, callgrind; copies this way gain nothing here: 1.01-1.02 of the time.)
IS_X86  := $(shell $(CC) -dumpmachine 2>/dev/null | grep -c '^x86_64')
MEMSET_VEC ?= $(if $(filter 1,$(IS_GCC)),$(IS_X86),0)
ifeq ($(MEMSET_VEC),1)
OPT     += -mmemset-strategy=vector_loop:1024:noalign,libcall:-1:noalign
endif
WARN    := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
CPPFLAGS+= -Isrc -D_GNU_SOURCE
CFLAGS  ?=
CFLAGS  += -std=c11 -g $(WARN) -pthread
PKGS    := zlib liblzma libzstd sqlite3 jansson cairo libmaxminddb libevent hiredis libpq
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# libpq and cairo are not linked: src/store/pq_dl.c and src/out/cairo_dl.c open them on first use
# (with their dependencies, 12 M instructions of dynamic loading before every command's main())
LINKED  := $(filter-out libpq cairo,$(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(LINKED) 2>/dev/null || echo -lz -llzma -lzstd -lsqlite3 -ljansson -lmaxminddb -levent -lhiredis)
LIBS    := $(PKG_LIBS) -lbz2 -lm -pthread -ldl
# the unit tests read back what plot drew with cairo's own PNG reader
UNIT_LIBS := $(shell pkg-config --libs cairo 2>/dev/null || echo -lcairo)
# gzip through ISA-L's isal_inflate when libisal-dev is installed (src/io/reader.c says why),
# zlib otherwise; `make ISAL=0` builds without it.
ISAL    ?= $(shell pkg-config --exists libisal 2>/dev/null && echo 1 || echo 0)
ifeq ($(ISAL),1)
ISAL_DEF := -DDM_HAVE_ISAL
CPPFLAGS += $(ISAL_DEF)
LIBS    += $(shell pkg-config --libs libisal)
endif
# The release binary links the libraries above statically where their archives are installed
# (Debian's -dev packages ship them): the dynamic loader's symbol lookups over 9 more shared
# objects were 2.3 M of the 2.9 M instructions of a `dump` of a 2 KB file, 3.4 ms of CPU against
# 1.9 ms, before every command's main() (docs/dump.md, "Start-up"). A security update of one of
# them then needs a rebuild. `make STATIC=0` links them dynamically; the sanitizer and fuzz builds do.
STATIC_LIBS := z lzma zstd sqlite3 jansson maxminddb event hiredis bz2
STATIC  ?= $(shell for l in $(STATIC_LIBS); do [ -f "$$($(CC) -print-file-name=lib$$l.a)" ] || { echo 0; exit; }; done; echo 1)
ifeq ($(STATIC),1)
REL_LIBS := -Wl,-Bstatic $(STATIC_LIBS:%=-l%) -Wl,-Bdynamic $(filter-out $(STATIC_LIBS:%=-l%),$(LIBS))
else
REL_LIBS := $(LIBS)
endif

LIB_SRCS := $(sort $(filter-out src/cmd/%,$(wildcard src/*/*.c)))
CMD_SRCS := $(sort $(wildcard src/cmd/*.c))
HDRS     := $(wildcard src/*/*.h)
UNIT_SRCS:= $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRCS:= $(sort $(wildcard tests/fuzz/fuzz_*.c))

REL  := build/rel
ASAN := build/asan
FUZZ := build/fuzz
SAN_FLAGS := -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer

# object files of the fuzz and test builds are intermediate in make's eyes: keep them
.SECONDARY:
.PHONY: all test bench fuzz demo bootstrap clean unit-bins fuzz-bins asan-bin bench-bins tsan-bins
all: darkmap

darkmap: $(REL)/darkmap
	ln -sf $(REL)/darkmap darkmap

$(REL)/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(OPT) $(CFLAGS) -c -o $@ $<

$(ASAN)/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(SAN_FLAGS) $(CFLAGS) -c -o $@ $<

$(REL)/libdarkmap.a: $(LIB_SRCS:%.c=$(REL)/%.o)
	rm -f $@; $(REL_AR) rcs $@ $^
$(ASAN)/libdarkmap.a: $(LIB_SRCS:%.c=$(ASAN)/%.o)
	rm -f $@; ar rcs $@ $^

$(REL)/darkmap: $(CMD_SRCS:%.c=$(REL)/%.o) $(REL)/libdarkmap.a
	$(CC) $(OPT) $(CFLAGS) -o $@ $^ $(REL_LIBS)
$(ASAN)/darkmap: $(CMD_SRCS:%.c=$(ASAN)/%.o) $(ASAN)/libdarkmap.a
	$(CC) $(SAN_FLAGS) $(CFLAGS) -o $@ $^ $(LIBS)
asan-bin: $(ASAN)/darkmap

# Unit tests: one cmocka binary per module, built with the sanitizers.
$(ASAN)/tests/unit/%: tests/unit/%.c $(wildcard tests/unit/*.h) tests/attrs_path.h tests/stripe_geo.h $(ASAN)/libdarkmap.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests/unit $(PKG_CFLAGS) $(SAN_FLAGS) $(CFLAGS) -o $@ $< $(ASAN)/libdarkmap.a $(LIBS) $(UNIT_LIBS) -lcmocka
# Test drivers of the live modules (tests/live/*.c: the BMP listener, the archive crash driver),
# built with the sanitizers beside the unit tests and run by tests/integration/*.sh.
LIVE_SRCS := $(sort $(wildcard tests/live/*.c))
$(ASAN)/tests/live/%: tests/live/%.c $(ASAN)/libdarkmap.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(SAN_FLAGS) $(CFLAGS) -o $@ $< $(ASAN)/libdarkmap.a $(LIBS)
unit-bins: $(UNIT_SRCS:%.c=$(ASAN)/%) $(LIVE_SRCS:%.c=$(ASAN)/%)

# Fuzz targets: libFuzzer needs clang; the library is rebuilt with coverage instrumentation.
# DM_SIGNAL_SMALL: the signal's table-sized paths (a scan of waiting prefixes, settled by chunks) at a few prefixes
FUZZ_CFLAGS := -std=c11 -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -D_GNU_SOURCE -DDM_SIGNAL_SMALL -Isrc $(ISAL_DEF) $(PKG_CFLAGS)
$(FUZZ)/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -c -o $@ $<
$(FUZZ)/tests/fuzz/%: tests/fuzz/%.c $(wildcard tests/fuzz/*.h) $(LIB_SRCS:%.c=$(FUZZ)/%.o)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(LIB_SRCS:%.c=$(FUZZ)/%.o) $(LIBS)
fuzz-bins: $(FUZZ_SRCS:%.c=$(FUZZ)/%)

# ThreadSanitizer: the modules that run threads (decompression, dump's second decoding thread, webhook queue, archive
# compression, serve's snapshot reads, the signal's trie sync) and what they use, and the tests driving them (tests/tsan/, run by
# tests/integration/tsan.sh).
TSAN := build/tsan
TSAN_SRCS := $(sort $(wildcard src/base/*.c) $(wildcard src/io/*.c) src/out/webhook.c $(wildcard src/bgp/*.c) \
	src/mrt/writer.c src/mrt/mrt.c src/mrt/reader.c src/mrt/elem.c src/out/bgpdump.c src/cmd/dump.c src/rib/rib.c src/rib/rib_snap.c \
	$(wildcard src/signal/*.c) src/live/archive.c $(wildcard src/http/*.c) $(wildcard src/store/*.c) \
	$(wildcard src/geo/*.c) src/out/alert.c src/out/json.c src/detect/detect.c)
TSAN_CFLAGS := -std=c11 -g -O1 -fsanitize=thread -fno-omit-frame-pointer -D_GNU_SOURCE -Isrc $(ISAL_DEF) $(PKG_CFLAGS) $(WARN) -pthread
$(TSAN)/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	clang $(TSAN_CFLAGS) -c -o $@ $<
$(TSAN)/tests/tsan/%: tests/tsan/%.c tests/tsan/tsan_util.h tests/attrs_path.h tests/stripe_geo.h $(TSAN_SRCS:%.c=$(TSAN)/%.o)
	@mkdir -p $(dir $@)
	clang $(TSAN_CFLAGS) -o $@ $< $(TSAN_SRCS:%.c=$(TSAN)/%.o) $(LIBS)
tsan-bins: $(patsubst %.c,$(TSAN)/%,$(wildcard tests/tsan/*.c))

# Benchmark helpers (bench/*.c), optimised like the binary.
BENCH_SRCS := $(sort $(wildcard bench/*.c))
$(REL)/bench/%: bench/%.c $(REL)/libdarkmap.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(OPT) $(CFLAGS) -o $@ $< $(REL)/libdarkmap.a $(LIBS)
bench-bins: $(BENCH_SRCS:bench/%.c=$(REL)/bench/%)

bootstrap:
	@scripts/bootstrap

test: bootstrap
	$(MAKE) --no-print-directory darkmap asan-bin unit-bins fuzz-bins tsan-bins
	@tests/run

bench: bootstrap
	$(MAKE) --no-print-directory darkmap bench-bins
	@bench/run

fuzz: bootstrap
	$(MAKE) --no-print-directory fuzz-bins
	@FUZZ_SECONDS=$${FUZZ_SECONDS:-300} tests/fuzz/run

demo: bootstrap
	$(MAKE) --no-print-directory darkmap
	@scripts/demo

clean:
	rm -rf build darkmap
