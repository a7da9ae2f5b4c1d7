# Jetstream build.  Plain GNU make, one level, dependency files; V=1 shows commands.
#   make            library, jet CLI, tests, benches, examples (release, -O2)
#   make demo       install missing packages, build jet and the two references, print the
#                   paper-style comparison table (scripts/demo.sh, docs/demo.md)
#   make test       install, build, run every test (release run + ASan/UBSan run)
#   make bench      benchmarks (ratios against references measured in the same run)
#   make asan       tests under ASan+UBSan only
#   make fuzz       libFuzzer targets (clang), a short run of each
#   make install    PREFIX=/usr/local: library, headers, jet, jet.pc, Wireshark dissector
#   make format     clang-format the tree

BUILD   ?= build
CC      ?= cc
# Functions and loops start on 64-byte boundaries: without that, a change
# anywhere moves every hot loop after it, and the per-frame cost in the
# benchmarks swings by 2 ns (10%) with where the loops happen to fall
# (docs/bench.md).
OPT     ?= -O2 -g -falign-functions=64 -falign-loops=64
SAN     ?=
PREFIX  ?= /usr/local
VERSION := 0.1.0

CFLAGS_ALL := -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wpointer-arith -Wformat=2 -Wno-format-nonliteral \
	-fPIC -D_GNU_SOURCE -Iinclude -Isrc $(OPT) $(SAN) $(CFLAGS) -MMD -MP
# libxdp and libbpf (Debian's libxdp-dev, libbpf-dev) for the xdp: link
LDLIBS_ALL := -lxdp -lbpf -lpthread -lrt -lm

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRCS   := $(sort $(filter-out %.bpf.c,$(shell find src -name '*.c')))
# BPF programs (src/bpf/*.bpf.c): compiled by clang for the BPF target, each
# object then embedded in the library (src/bpf/*_obj.S .incbin's it) and
# installed beside it.
BPF_SRCS   := $(sort $(shell find src -name '*.bpf.c'))
BPF_OBJS   := $(BPF_SRCS:src/bpf/%.bpf.c=$(BUILD)/bpf/%.o)
BPF_EMBED  := $(BPF_SRCS:src/bpf/%.bpf.c=$(BUILD)/obj/src/bpf/%_obj.o)
TOOL_SRCS  := $(sort $(wildcard tools/jet/*.c))
TEST_SRCS  := $(sort $(wildcard tests/unit/test_*.c))
BENCH_SRCS := $(sort $(wildcard bench/*.c))
FUZZ_SRCS  := $(sort $(wildcard fuzz/fuzz_*.c))
EX_SRCS    := $(sort $(wildcard examples/*.c))

LIB_OBJS   := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o) $(BPF_EMBED)
TOOL_OBJS  := $(TOOL_SRCS:%.c=$(BUILD)/obj/%.o)
TESTS      := $(TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
BENCHES    := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)
FUZZ_REPLAY:= $(FUZZ_SRCS:fuzz/%.c=$(BUILD)/fuzz-replay/%)
EXAMPLES   := $(EX_SRCS:examples/%.c=$(BUILD)/examples/%)

.SECONDARY:
.PHONY: all deps demo test test-run asan bench fuzz install format clean
all: $(BUILD)/libjet.a $(BUILD)/libjet.so $(BUILD)/jet $(TESTS) $(BENCHES) $(FUZZ_REPLAY) $(EXAMPLES)

deps:
	$(Q)scripts/deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_ALL) -c $< -o $@

$(BUILD)/bpf/%.o: src/bpf/%.bpf.c src/bpf/%.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  BPF     $<")
	$(Q)clang -O2 -g -Wall -Werror -target bpf -I/usr/include/$(shell $(CC) -dumpmachine) \
		-Isrc -c $< -o $@

$(BUILD)/obj/src/bpf/%_obj.o: src/bpf/%_obj.S $(BUILD)/bpf/%.o
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  EMBED   $(BUILD)/bpf/$*.o")
	$(Q)$(CC) -c -I$(BUILD)/bpf $< -o $@

# The library exports only the jet_* API its public headers declare
# (include/jet/*.h push default visibility); everything else is hidden.
$(LIB_OBJS): CFLAGS_ALL += -fvisibility=hidden

$(BUILD)/libjet.a: $(LIB_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/libjet.so: $(LIB_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared $(SAN) -Wl,-soname,libjet.so.0 -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/jet: $(TOOL_OBJS) $(BUILD)/libjet.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SAN) -o $@ $(TOOL_OBJS) $(BUILD)/libjet.a $(LDLIBS_ALL)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(BUILD)/libjet.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(SAN) -o $@ $< $(BUILD)/libjet.a $(LDLIBS_ALL)

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(BUILD)/libjet.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(SAN) -o $@ $< $(BUILD)/libjet.a $(LDLIBS_ALL)

$(BUILD)/examples/%: $(BUILD)/obj/examples/%.o $(BUILD)/libjet.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(SAN) -o $@ $< $(BUILD)/libjet.a $(LDLIBS_ALL)

# Fuzz targets also build with a plain driver (fuzz/replay.c) so that every
# `make test` runs them over a seeded stream of random and mutated inputs.
$(BUILD)/fuzz-replay/%: $(BUILD)/obj/fuzz/%.o $(BUILD)/obj/fuzz/replay.o $(BUILD)/libjet.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(SAN) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/obj/fuzz/replay.o: fuzz/replay.inc
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS_ALL) -x c -c $< -o $@

test: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory test-run
	$(Q)$(MAKE) --no-print-directory asan

test-run: all
	$(Q)BUILD=$(BUILD) tests/run.sh

asan:
	$(Q)$(MAKE) --no-print-directory BUILD=build/asan OPT="-O1 -g -fno-omit-frame-pointer" \
		SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" all
	$(Q)BUILD=build/asan JET_SANITIZED=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 tests/run.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory $(if $(Q),-s) $(if $(filter -j%,$(MAKEFLAGS)),,-j$$(nproc)) \
		$(BUILD)/jet $(BUILD)/bench/tcp_ref $(BUILD)/bench/ring_ref
	$(Q)BUILD=$(BUILD) scripts/demo.sh

bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) bench/run.sh

fuzz: deps
	$(Q)$(MAKE) --no-print-directory $(BPF_EMBED)
	$(Q)mkdir -p build/fuzz
	$(Q)for f in $(FUZZ_SRCS); do n=$$(basename $$f .c); \
		clang -std=gnu11 -D_GNU_SOURCE -Iinclude -Isrc -g -O1 -fsanitize=fuzzer,address,undefined \
			$$f $(LIB_SRCS) $(BPF_EMBED) -o build/fuzz/$$n $(LDLIBS_ALL) || exit 1; \
		echo "  FUZZ    $$n ($${FUZZ_SECONDS:-20}s)"; \
		build/fuzz/$$n -max_total_time=$${FUZZ_SECONDS:-20} -print_final_stats=1 2>&1 | tail -3 || exit 1; \
	done

# The Wireshark dissector goes where tshark looks for global Lua plugins (Debian 12:
# /usr/lib/x86_64-linux-gnu/wireshark/plugins), else $(PREFIX)/lib/wireshark/plugins
# (docs/wireshark.md); one user's: WIRESHARK_LUA_DIR=~/.local/lib/wireshark/plugins.
WIRESHARK_LUA_DIR ?= $(or $(shell tshark -G folders 2>/dev/null | sed -n 's/^Global Lua Plugins:[[:space:]]*//p'),$(PREFIX)/lib/wireshark/plugins)
install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/jet $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 $(BUILD)/libjet.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(BUILD)/libjet.so $(DESTDIR)$(PREFIX)/lib/libjet.so.0
	ln -sf libjet.so.0 $(DESTDIR)$(PREFIX)/lib/libjet.so
	install -m 644 include/jet/*.h $(DESTDIR)$(PREFIX)/include/jet/
	install -m 755 $(BUILD)/jet $(DESTDIR)$(PREFIX)/bin/
	install -d $(DESTDIR)$(PREFIX)/lib/jetstream
	install -m 644 $(BPF_OBJS) $(DESTDIR)$(PREFIX)/lib/jetstream/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' jet.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/jet.pc
	install -d $(DESTDIR)$(WIRESHARK_LUA_DIR)
	install -m 644 tools/wireshark/jetstream.lua $(DESTDIR)$(WIRESHARK_LUA_DIR)/

format:
	clang-format -i $$(find include src tools tests fuzz bench examples -name '*.[ch]')

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
