# Host fuzzing with libFuzzer (docs/reliability.md, "Host fuzzing").
#
# Each target is tests/fuzz/fuzz_TARGET.c linked with the sources it tests,
# all built by clang with libFuzzer's coverage instrumentation, ASan and
# UBSan (any finding aborts). `make fuzz` runs every target for
# FUZZ_SECONDS, FUZZ_JOBS at a time, then measures the line and branch
# coverage its corpus reaches with a second, profile-instrumented build;
# `make test` runs each for FUZZ_TEST_SECONDS (tests/run_all.py).

FUZZ_CC := clang-14
FUZZ_SECONDS ?= 600
FUZZ_JOBS ?= 2
FUZZ_TEST_SECONDS ?= 4
FUZZ_TARGETS := insn tramp mb2 pe pattern guest_walk mtrr

# The code under test, per target.
FUZZ_SRCS_insn := src/hook/insn.c
FUZZ_SRCS_tramp := src/hook/insn.c src/hook/trampoline.c
FUZZ_SRCS_mb2 := src/platform/baremetal/mb2.c
FUZZ_SRCS_pe := src/core/pe.c src/core/pattern.c src/platform/windows/win_ssdt.c
FUZZ_SRCS_pattern := src/core/pattern.c
FUZZ_SRCS_guest_walk := src/core/guest_walk.c
FUZZ_SRCS_mtrr := src/ept/mtrr.c
# Test code the harness links besides the code under test.
FUZZ_EXTRA_insn := tests/fuzz/llvm_x86.c
FUZZ_EXTRA_mtrr := tests/common/mtrr_ref.c

# The decoder's second opinion is LLVM's disassembler (llvm-14-dev).
LLVM_DIR := /usr/lib/llvm-14
FUZZ_LIBS_insn := -L$(LLVM_DIR)/lib -lLLVM-14
$(BUILD)/fuzz/obj/tests/fuzz/llvm_x86.c.o: FUZZ_CFLAGS += -isystem $(LLVM_DIR)/include
$(BUILD)/fuzz-cov/obj/tests/fuzz/llvm_x86.c.o: FUZZ_COV_CFLAGS += -isystem $(LLVM_DIR)/include

FUZZ_BASE_CFLAGS := -std=gnu11 -O1 -g $(WARN) -I. -Isrc -Iinclude -Itests \
	-fno-omit-frame-pointer -MMD -MP
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS := $(FUZZ_BASE_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link
# The coverage build: the same sources, no sanitizer, profile counters.
FUZZ_COV_CFLAGS := $(FUZZ_BASE_CFLAGS) -fprofile-instr-generate -fcoverage-mapping

FUZZ_BINS := $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_TARGETS))
FUZZ_COV_BINS := $(patsubst %,$(BUILD)/fuzz-cov/fuzz_%,$(FUZZ_TARGETS))

$(BUILD)/fuzz/obj/%.c.o: %.c
	@mkdir -p $(dir $@)
	@echo "  FUZZCC  $<"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(BUILD)/fuzz-cov/obj/%.c.o: %.c
	@mkdir -p $(dir $@)
	@echo "  COVCC   $<"
	@$(FUZZ_CC) $(FUZZ_COV_CFLAGS) -c $< -o $@

# One link rule per target: its harness, its sources and its extra files.
define FUZZ_TARGET_RULES
$(BUILD)/fuzz/fuzz_$(1): $(patsubst %,$(BUILD)/fuzz/obj/%.o,tests/fuzz/fuzz_$(1).c $(FUZZ_SRCS_$(1)) $(FUZZ_EXTRA_$(1)))
	@echo "  FUZZLD  $$@"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $$^ $(FUZZ_LIBS_$(1)) -o $$@

$(BUILD)/fuzz-cov/fuzz_$(1): $(patsubst %,$(BUILD)/fuzz-cov/obj/%.o,tests/fuzz/fuzz_$(1).c $(FUZZ_SRCS_$(1)) $(FUZZ_EXTRA_$(1)))
	@echo "  COVLD   $$@"
	@$(FUZZ_CC) $(FUZZ_COV_CFLAGS) -fsanitize=fuzzer $$^ $(FUZZ_LIBS_$(1)) -o $$@
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_TARGET_RULES,$(t))))

.PHONY: fuzz-host fuzz-build
fuzz-build: deps $(FUZZ_BINS) $(FUZZ_COV_BINS)

# The long host run: every target for FUZZ_SECONDS, corpora kept in
# $(BUILD)/fuzz/corpus between runs, then coverage; a table at the end.
# `make fuzz` runs it, then the long guest fuzzers (Makefile).
fuzz-host: fuzz-build
	@$(PYTHON) tests/fuzz/run.py --build $(BUILD) --seconds $(FUZZ_SECONDS) \
		--jobs $(FUZZ_JOBS) --keep-corpus --coverage $(FUZZ_TARGETS)

FUZZ_ALL_SRCS := $(sort $(foreach t,$(FUZZ_TARGETS),tests/fuzz/fuzz_$(t).c $(FUZZ_SRCS_$(t)) $(FUZZ_EXTRA_$(t))))
-include $(patsubst %,$(BUILD)/fuzz/obj/%.d,$(FUZZ_ALL_SRCS)) $(patsubst %,$(BUILD)/fuzz-cov/obj/%.d,$(FUZZ_ALL_SRCS))
