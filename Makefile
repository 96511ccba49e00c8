# marrow: top-level build. `make run` and `make test` are the two commands
# README.md promises; every target first makes sure the Debian packages it
# needs are there (scripts/deps.sh).

BUILD ?= build
MODEL ?= tigerlake
CPUS ?= 2
GUEST_TESTS ?=
MEMORY ?= 128
TIMEOUT ?= 120

CC := gcc
LD := ld
PYTHON := python3

WARN := -Wall -Wextra -Werror
# The kernel and everything reachable from VM exits: no FPU/SSE state
# (-mgeneral-regs-only), no red zone (interrupts use the same stack), no
# implicit memset/memcpy calls from loops written to implement them.
KERNEL_CFLAGS := -std=gnu11 -O2 -g $(WARN) -ffreestanding -fno-stack-protector \
	-fno-pic -fno-pie -mno-red-zone -mgeneral-regs-only -mcmodel=small \
	-fno-tree-loop-distribute-patterns -fno-asynchronous-unwind-tables \
	-fno-omit-frame-pointer -I. -Isrc -Iinclude -MMD -MP
KERNEL_ASFLAGS := -I. -Isrc -Iinclude -Isrc/platform/baremetal -MMD -MP
KERNEL_LDFLAGS := -nostdlib -static -z max-page-size=4096 -z noexecstack \
	-T src/platform/baremetal/linker.ld

CORE_SRCS := $(wildcard src/core/*.c src/arch/x86/*.c src/vmx/*.c src/vmx/*.S src/ept/*.c src/hook/*.c)
BM_SRCS := $(wildcard src/platform/baremetal/*.c src/platform/baremetal/*.S) \
	src/platform/freestanding/string.c
GUEST_TEST_SRCS := $(wildcard tests/guest/*.c)
KERNEL_SRCS := $(CORE_SRCS) $(BM_SRCS) $(GUEST_TEST_SRCS)
KERNEL_OBJS := $(patsubst %,$(BUILD)/kernel/%.o,$(KERNEL_SRCS))
KERNEL := $(BUILD)/marrow.elf

# Pure logic, built for the host and unit-tested with cmocka: each topic
# lists its files in mk/unit/TOPIC.mk as UNIT_LIB_SRCS += ...
UNIT_LIB_SRCS :=
include $(sort $(wildcard mk/unit/*.mk))
UNIT_TEST_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_CFLAGS := -std=gnu11 -O1 -g $(WARN) -I. -Isrc -Iinclude -Itests/unit \
	-fsanitize=address,undefined -fno-sanitize-recover=all -MMD -MP
UNIT_LIBS := -lcmocka
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(UNIT_TEST_SRCS))
UNIT_LIB_OBJS := $(patsubst %,$(BUILD)/unit/lib/%.o,$(UNIT_LIB_SRCS))

# The Linux module and its tools (docs/linux.md). marrow.ko is built by
# Kbuild against Debian's linux-headers-amd64 (scripts/linux-build.sh);
# marrowctl and the end-to-end test's probe are static user programs.
LINUX_BUILD := $(BUILD)/linux
MARROWCTL := $(LINUX_BUILD)/marrowctl
MWTEST := $(LINUX_BUILD)/mwtest
MARROWCTL_SRCS := $(wildcard tools/marrowctl/*.c)
MARROWCTL_OBJS := $(patsubst %,$(BUILD)/tools/%.o,$(MARROWCTL_SRCS))
TOOL_CFLAGS := -std=gnu11 -O2 -g $(WARN) -I. -Isrc -Iinclude -MMD -MP
# MARROW_SKIP_LINUX=1 leaves the Linux layer (about 4 minutes of Bochs)
# out of a local `make test`; CI runs it.
MARROW_SKIP_LINUX ?=

.PHONY: all deps kernel iso run test unit lint format clean linux linux-test-prereqs linux-e2e
.DEFAULT_GOAL := all
# Object files are kept between builds, not removed as intermediates.
.SECONDARY:

all: deps kernel $(UNIT_BINS)

deps:
	@bash scripts/deps.sh

kernel: deps $(KERNEL)

$(BUILD)/kernel/%.c.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(KERNEL_CFLAGS) -c $< -o $@

$(BUILD)/kernel/%.S.o: %.S
	@mkdir -p $(dir $@)
	@echo "  AS      $<"
	@$(CC) $(KERNEL_ASFLAGS) -c $< -o $@

$(KERNEL): $(KERNEL_OBJS) src/platform/baremetal/linker.ld
	@echo "  LD      $@"
	@$(LD) $(KERNEL_LDFLAGS) -o $@ $(KERNEL_OBJS)
	@grub-file --is-x86-multiboot2 $@ || { echo "$@ is not a multiboot2 kernel" >&2; rm -f $@; exit 1; }

run: deps kernel
	@bash scripts/mkiso.sh $(KERNEL) "$(GUEST_TESTS)" $(BUILD)/run.iso >/dev/null
	@$(PYTHON) tests/e2e/run.py --iso $(BUILD)/run.iso --model $(MODEL) --cpus $(CPUS) \
		--memory $(MEMORY) --timeout $(TIMEOUT) --workdir $(BUILD)/run

$(BUILD)/unit/lib/%.c.o: %.c
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $<"
	@$(CC) $(UNIT_CFLAGS) -c $< -o $@

$(BUILD)/unit/%: tests/unit/%.c $(UNIT_LIB_OBJS)
	@mkdir -p $(dir $@)
	@echo "  HOSTLD  $@"
	@$(CC) $(UNIT_CFLAGS) $< $(UNIT_LIB_OBJS) $(UNIT_LIBS) -o $@

unit: deps $(UNIT_BINS)
	@$(PYTHON) tests/run_all.py --build $(BUILD) --only unit $(UNIT_BINS)

linux: deps $(MARROWCTL)
	@bash scripts/linux-build.sh $(BUILD)

$(BUILD)/tools/%.c.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(TOOL_CFLAGS) -c $< -o $@

# Static: marrowctl runs in a busybox initramfs with no C library.
$(MARROWCTL): $(MARROWCTL_OBJS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) -static $(MARROWCTL_OBJS) -o $@

$(MWTEST): tests/e2e/linux/mwtest.c
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	@$(CC) $(TOOL_CFLAGS) -static $< -o $@

# What the Linux layer of `make test` boots: the module, the tools and
# Debian's kernel image (fetched once into $(LINUX_BUILD)/image).
linux-test-prereqs: linux $(MWTEST)
	@bash scripts/linux-image.sh $(BUILD)

# The Linux layer alone: Debian's kernel in Bochs with 1 and 2 CPUs.
linux-e2e: deps linux-test-prereqs
	@$(PYTHON) tests/run_all.py --build $(BUILD) --only linux --linux $(LINUX_BUILD)

# Everything: unit tests, the guest suites on the model x CPU-count matrix,
# the runners' own end-to-end checks, Linux end to end. One closing line:
# N passed, N failed.
test: deps kernel $(UNIT_BINS) $(if $(MARROW_SKIP_LINUX),,linux-test-prereqs)
	@$(PYTHON) tests/run_all.py --build $(BUILD) --kernel $(KERNEL) \
		--guest-tests "$(if $(GUEST_TESTS),$(GUEST_TESTS),all)" \
		$(if $(MARROW_SKIP_LINUX),,--linux $(LINUX_BUILD)) $(UNIT_BINS)

LINT_C := $(shell git ls-files '*.c' '*.h' 2>/dev/null)

lint: deps
	@bash scripts/lint.sh

format:
	clang-format -i $(LINT_C)

clean:
	rm -rf $(BUILD)

-include $(KERNEL_OBJS:.o=.d) $(UNIT_LIB_OBJS:.o=.d) $(UNIT_BINS:=.d) $(MARROWCTL_OBJS:.o=.d) \
	$(MWTEST).d
