# marrow: top-level build. `make run` and `make test` are the two commands
# README.md promises; every target first makes sure the Debian packages it
# needs are there (scripts/deps.sh).

BUILD ?= build
MODEL ?= tigerlake
CPUS ?= 2
GUEST_TESTS ?=
GUEST ?=
GUEST_ARGS ?=
GUEST_MODULES ?=
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
KERNEL_LOAD_ADDR := 0x1000000

CORE_SRCS := $(wildcard src/core/*.c src/arch/x86/*.c src/vmx/*.c src/vmx/*.S src/ept/*.c src/hook/*.c)
BM_SRCS := $(wildcard src/platform/baremetal/*.c src/platform/baremetal/*.S) \
	src/platform/freestanding/string.c
GUEST_TEST_SRCS := $(wildcard tests/guest/*.c)
BENCH_SRCS := $(wildcard bench/guest/*.c)
KERNEL_SRCS := $(CORE_SRCS) $(BM_SRCS) $(GUEST_TEST_SRCS) $(BENCH_SRCS)
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

# Host fuzzing with libFuzzer: `make fuzz`, and a bounded run in `make test`.
include mk/fuzz.mk

# The Windows driver and its tool, with Debian's mingw-w64 (docs/windows.md).
# The core and the platform are compiled as for the kernel (freestanding,
# no SSE, no red zone), with the Microsoft x64 ABI that mingw defaults to;
# the core's string functions come from string.c, not ntoskrnl's exports,
# since root mode must not run code that may use XMM registers.
WIN_CC := x86_64-w64-mingw32-gcc
WIN_STRIP := x86_64-w64-mingw32-strip
WIN_DDK ?= /usr/x86_64-w64-mingw32/include/ddk
WIN_CFLAGS := -std=gnu11 -O2 -g $(WARN) -ffreestanding -fno-stack-protector \
	-mno-red-zone -mgeneral-regs-only -mno-stack-arg-probe \
	-fno-tree-loop-distribute-patterns -fno-omit-frame-pointer \
	-I. -Isrc -Iinclude -isystem $(WIN_DDK) -MMD -MP
WIN_ASFLAGS := -I. -Isrc -Iinclude -MMD -MP
WIN_LDFLAGS := -shared -nostdlib -nostartfiles -Wl,--subsystem,native \
	-Wl,--entry,DriverEntry -Wl,--enable-reloc-section -Wl,--exclude-all-symbols \
	-Wl,--dynamicbase -Wl,--nxcompat -Wl,--no-insert-timestamp
WIN_SRCS := $(CORE_SRCS) $(wildcard src/platform/windows/*.c) src/platform/freestanding/string.c
WIN_OBJS := $(patsubst %,$(BUILD)/windows/%.o,$(WIN_SRCS))
WIN_SYS := $(BUILD)/windows/marrow.sys
WIN_SYS_DEBUG := $(BUILD)/windows/marrow.debug.sys
WIN_CTL := $(BUILD)/windows/marrowctl.exe
WIN_CTL_SRCS := $(wildcard tools/marrowctl/win/*.c)
WIN_CTL_CFLAGS := -std=gnu11 -O2 $(WARN) -Iinclude -Isrc -Itools/marrowctl/win
# Test fixtures: small PE images built from assembly (tests/e2e/windows).
WIN_FIXTURES := $(patsubst tests/e2e/windows/fixtures/%.S,$(BUILD)/windows/fixtures/%.exe,\
	$(wildcard tests/e2e/windows/fixtures/*.S))

# marrow.efi with Debian's gnu-efi (docs/uefi.md): the core and the UEFI
# platform as a position-independent ELF shared object, converted to PE by
# objcopy twice: a boot-services driver (`load marrow.efi`, Driver####) and
# an application that chain-loads a boot loader (marrowldr.efi). Compiled
# as for the kernel (no SSE, no red zone), plus what the UEFI ABI needs:
# 16-bit wchar_t, and the Microsoft x64 ABI for calls into the firmware.
EFI_INC := /usr/include/efi
EFI_LIB := /usr/lib
UEFI_CFLAGS := -std=gnu11 -O2 -g $(WARN) -ffreestanding -fno-stack-protector -fpic \
	-fshort-wchar -mno-red-zone -mgeneral-regs-only -fno-tree-loop-distribute-patterns \
	-fno-omit-frame-pointer -fno-asynchronous-unwind-tables -DGNU_EFI_USE_MS_ABI \
	-maccumulate-outgoing-args -I. -Isrc -Iinclude -isystem $(EFI_INC) \
	-isystem $(EFI_INC)/x86_64 -MMD -MP
UEFI_ASFLAGS := -fpic -I. -Isrc -Iinclude -MMD -MP
# libefi's init.o brings its own memset/memcpy; marrow's (string.c, built
# without SSE: root mode calls them) come first and win (-z muldefs).
UEFI_LDFLAGS := -nostdlib -znocombreloc -shared -Bsymbolic -z noexecstack -z muldefs -z defs \
	-T src/platform/uefi/uefi.lds $(EFI_LIB)/crt0-efi-x86_64.o
UEFI_SECTIONS := -j .text -j .data -j .dynamic -j .dynsym -j .rela -j .reloc
UEFI_SRCS := $(CORE_SRCS) $(wildcard src/platform/uefi/*.c) src/platform/freestanding/string.c
UEFI_OBJS := $(patsubst %,$(BUILD)/uefi/%.o,$(UEFI_SRCS))
UEFI_TEST_SRCS := $(wildcard tests/uefi/*.c) src/core/fmt.c src/platform/freestanding/string.c
UEFI_TEST_OBJS := $(patsubst %,$(BUILD)/uefi/%.o,$(UEFI_TEST_SRCS))
UEFI_MADT_SRCS := tests/uefi/fixture/madt.c
UEFI_MADT_OBJS := $(patsubst %,$(BUILD)/uefi/%.o,$(UEFI_MADT_SRCS))
UEFI_EFI := $(BUILD)/uefi/marrow.efi $(BUILD)/uefi/marrowldr.efi $(BUILD)/uefi/marrowtest.efi \
	$(BUILD)/uefi/madt.efi


.PHONY: fuzz fuzz-host fuzz-guest all deps kernel guests iso run test unit lint format clean \
	windows bench linux linux-test-prereqs linux-e2e linux-guest uefi test-uefi

# The Linux module and its tools (docs/linux.md). marrow.ko is built by
# Kbuild against Debian's linux-headers-amd64 (scripts/linux-build.sh);
# marrowctl and the end-to-end test's probe are static user programs.
LINUX_BUILD := $(BUILD)/linux
MARROWCTL := $(LINUX_BUILD)/marrowctl
MWTEST := $(LINUX_BUILD)/mwtest
MWBENCH := $(LINUX_BUILD)/mwbench
MARROWCTL_SRCS := $(wildcard tools/marrowctl/*.c)
MARROWCTL_OBJS := $(patsubst %,$(BUILD)/tools/%.o,$(MARROWCTL_SRCS))
TOOL_CFLAGS := -std=gnu11 -O2 -g $(WARN) -I. -Isrc -Iinclude -MMD -MP
# MARROW_SKIP_LINUX=1 leaves both layers that boot Debian's kernel (marrow.ko
# in Linux, about 4 minutes of Bochs; Linux as marrow's boot-time guest on 1
# and 2 CPUs, about 3.5 minutes of CPU) out of a local `make test`; CI runs
# them.
MARROW_SKIP_LINUX ?=

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

# Guest tests run in the order they are written.
$(BUILD)/kernel/tests/guest/%.c.o: KERNEL_CFLAGS += -fno-toplevel-reorder

$(BUILD)/kernel/%.S.o: %.S
	@mkdir -p $(dir $@)
	@echo "  AS      $<"
	@$(CC) $(KERNEL_ASFLAGS) -c $< -o $@

$(KERNEL): $(KERNEL_OBJS) src/platform/baremetal/linker.ld
	@echo "  LD      $@"
	@$(LD) $(KERNEL_LDFLAGS) --defsym=kernel_load_addr=$(KERNEL_LOAD_ADDR) -o $@ $(KERNEL_OBJS)
	@grub-file --is-x86-multiboot2 $@ || { echo "$@ is not a multiboot2 kernel" >&2; rm -f $@; exit 1; }

# The same kernel built to run as marrow's boot-time guest (docs/boot.md):
# linked at GUEST_KERNEL_LOAD_ADDR, once with the multiboot2 header and once
# with a multiboot header whose address fields GRUB and marrow load it by.
GUEST_LOAD_ADDR := 0x2000000
GUEST_MB1 := $(BUILD)/guest-mb1.elf
GUEST_MB2 := $(BUILD)/guest-mb2.elf
GUEST_KERNEL_OBJS := $(filter-out $(BUILD)/kernel/src/platform/baremetal/boot.S.o,$(KERNEL_OBJS))

$(BUILD)/kernel/boot-mb1.S.o: src/platform/baremetal/boot.S
	@mkdir -p $(dir $@)
	@echo "  AS      $< (multiboot)"
	@$(CC) $(KERNEL_ASFLAGS) -DBOOT_MULTIBOOT1 -c $< -o $@

$(GUEST_MB2): $(KERNEL_OBJS) src/platform/baremetal/linker.ld
	@echo "  LD      $@"
	@$(LD) $(KERNEL_LDFLAGS) --defsym=kernel_load_addr=$(GUEST_LOAD_ADDR) -o $@ $(KERNEL_OBJS)
	@grub-file --is-x86-multiboot2 $@ || { echo "$@ is not a multiboot2 kernel" >&2; rm -f $@; exit 1; }

$(GUEST_MB1): $(GUEST_KERNEL_OBJS) $(BUILD)/kernel/boot-mb1.S.o src/platform/baremetal/linker.ld
	@echo "  LD      $@"
	@$(LD) $(KERNEL_LDFLAGS) --defsym=kernel_load_addr=$(GUEST_LOAD_ADDR) -o $@ \
		$(GUEST_KERNEL_OBJS) $(BUILD)/kernel/boot-mb1.S.o
	@grub-file --is-x86-multiboot $@ || { echo "$@ is not a multiboot kernel" >&2; rm -f $@; exit 1; }
	@! grub-file --is-x86-multiboot2 $@ || { echo "$@ has a multiboot2 header" >&2; rm -f $@; exit 1; }

guests: deps $(GUEST_MB1) $(GUEST_MB2)

# Debian's own Linux kernel as marrow's boot-time guest (docs/boot.md): the
# same image as the Linux layer's (scripts/linux-image.sh, fetched once into
# $(LINUX_BUILD)/image) and a busybox initramfs (scripts/linux-initramfs.sh)
# whose /init runs the checks.
BOOT_LINUX_INITRAMFS := $(LINUX_BUILD)/boot-initramfs.cpio.gz
BOOT_LINUX_PROBE := $(LINUX_BUILD)/cpuid-probe

$(BOOT_LINUX_PROBE): tests/e2e/linux_boot/cpuid_probe.c
	@mkdir -p $(dir $@)
	@echo "  CC      $< (static, for Linux)"
	@$(CC) -static -nostdlib -O2 $(WARN) -fno-pie -no-pie -fno-stack-protector \
		-mgeneral-regs-only -mno-red-zone -o $@ $<

$(BOOT_LINUX_INITRAMFS): tests/e2e/linux_boot/init $(BOOT_LINUX_PROBE) scripts/linux-initramfs.sh
	@echo "  CPIO    $@"
	@bash scripts/linux-initramfs.sh tests/e2e/linux_boot/init $@ $(BOOT_LINUX_PROBE)

linux-guest: deps $(BOOT_LINUX_INITRAMFS)
	@bash scripts/linux-image.sh $(BUILD)

windows: deps $(WIN_SYS) $(WIN_CTL) $(WIN_FIXTURES)

$(BUILD)/windows/%.c.o: %.c
	@mkdir -p $(dir $@)
	@echo "  WINCC   $<"
	@$(WIN_CC) $(WIN_CFLAGS) -c $< -o $@

$(BUILD)/windows/%.S.o: %.S
	@mkdir -p $(dir $@)
	@echo "  WINAS   $<"
	@$(WIN_CC) $(WIN_ASFLAGS) -c $< -o $@

# The debug image keeps DWARF and the symbol table (the entry-point check
# reads DriverEntry's address from it); strip rewrites the PE checksum.
$(WIN_SYS_DEBUG): $(WIN_OBJS)
	@echo "  WINLD   $@"
	@$(WIN_CC) $(WIN_LDFLAGS) -o $@ $(WIN_OBJS) -lntoskrnl -lhal

$(WIN_SYS): $(WIN_SYS_DEBUG)
	@$(WIN_STRIP) --strip-debug -o $@ $<

$(WIN_CTL): $(WIN_CTL_SRCS)
	@mkdir -p $(dir $@)
	@echo "  WINLD   $@"
	@$(WIN_CC) $(WIN_CTL_CFLAGS) -o $@ $(WIN_CTL_SRCS)

FIX_LDFLAGS := -Wl,--enable-reloc-section
FIX_LDLIBS :=
$(BUILD)/windows/fixtures/%.exe: tests/e2e/windows/fixtures/%.S
	@mkdir -p $(dir $@)
	@echo "  WINFIX  $@"
	@$(WIN_CC) -nostdlib -nostartfiles -shared -Wl,--subsystem,native -Wl,--entry,entry \
		-Wl,--no-insert-timestamp $(FIX_LDFLAGS) -o $@ $< $(FIX_LDLIBS)

$(BUILD)/windows/fixtures/libbogus.a: tests/e2e/windows/fixtures/bogus.def
	@mkdir -p $(dir $@)
	@x86_64-w64-mingw32-dlltool -d $< -l $@

$(BUILD)/windows/fixtures/bad_driver.exe: $(BUILD)/windows/fixtures/libbogus.a
$(BUILD)/windows/fixtures/bad_driver.exe: FIX_LDFLAGS := -Wl,--disable-reloc-section
$(BUILD)/windows/fixtures/bad_driver.exe: FIX_LDLIBS := -L$(BUILD)/windows/fixtures -lbogus -lntoskrnl

uefi: deps $(UEFI_EFI)

$(BUILD)/uefi/%.c.o: %.c
	@mkdir -p $(dir $@)
	@echo "  EFICC   $<"
	@$(CC) $(UEFI_CFLAGS) -c $< -o $@

$(BUILD)/uefi/%.S.o: %.S
	@mkdir -p $(dir $@)
	@echo "  EFIAS   $<"
	@$(CC) $(UEFI_ASFLAGS) -c $< -o $@

$(BUILD)/uefi/marrow.so: $(UEFI_OBJS) src/platform/uefi/uefi.lds
	@echo "  EFILD   $@"
	@$(LD) $(UEFI_LDFLAGS) -o $@ $(UEFI_OBJS) -L$(EFI_LIB) -lefi -lgnuefi

$(BUILD)/uefi/marrowtest.so: $(UEFI_TEST_OBJS) src/platform/uefi/uefi.lds
	@echo "  EFILD   $@"
	@$(LD) $(UEFI_LDFLAGS) -o $@ $(UEFI_TEST_OBJS) -L$(EFI_LIB) -lefi -lgnuefi

$(BUILD)/uefi/madt.so: $(UEFI_MADT_OBJS) src/platform/uefi/uefi.lds
	@echo "  EFILD   $@"
	@$(LD) $(UEFI_LDFLAGS) -o $@ $(UEFI_MADT_OBJS) -L$(EFI_LIB) -lefi -lgnuefi

$(BUILD)/uefi/madt.efi: $(BUILD)/uefi/madt.so
	@objcopy $(UEFI_SECTIONS) --target efi-app-x86_64 --subsystem=10 $< $@

# Subsystems (PE/COFF): 10 application, 11 boot-services driver.
$(BUILD)/uefi/marrow.efi: $(BUILD)/uefi/marrow.so
	@objcopy $(UEFI_SECTIONS) --target efi-bsdrv-x86_64 --subsystem=11 $< $@

$(BUILD)/uefi/marrowldr.efi: $(BUILD)/uefi/marrow.so
	@objcopy $(UEFI_SECTIONS) --target efi-app-x86_64 --subsystem=10 $< $@

$(BUILD)/uefi/marrowtest.efi: $(BUILD)/uefi/marrowtest.so
	@objcopy $(UEFI_SECTIONS) --target efi-app-x86_64 --subsystem=10 $< $@

# GUEST=FILE: marrow starts first and boots FILE (a multiboot or multiboot2
# kernel, or a Linux bzImage) as its guest, with GUEST_ARGS as its command
# line and GUEST_MODULES as its modules (a Linux initrd). Bochs then ignores
# MSRs it lacks, as a full OS needs (docs/boot.md).
run: deps kernel
	@MARROW_GUEST="$(GUEST)" MARROW_GUEST_ARGS="$(GUEST_ARGS)" MARROW_GUEST_MODULES="$(GUEST_MODULES)" \
		bash scripts/mkiso.sh $(KERNEL) "$(GUEST_TESTS)" $(BUILD)/run.iso >/dev/null
	@$(PYTHON) tests/e2e/run.py --iso $(BUILD)/run.iso --model $(MODEL) --cpus $(CPUS) \
		--memory $(MEMORY) --timeout $(TIMEOUT) --workdir $(BUILD)/run \
		$(if $(GUEST),--ignore-bad-msrs)

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

$(MWBENCH): bench/linux/mwbench.c
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

# Everything: unit tests, the Windows build's checks, a bounded run of every
# fuzzer, the guest suites on the model x CPU-count matrix, the boot-time
# guests, UEFI in Bochs with OVMF, Linux end to end (marrow.ko, and Linux as
# marrow's boot-time guest), the runners' own end-to-end checks. One
# closing line: N passed, N failed.
test: deps kernel guests windows uefi $(UNIT_BINS) $(FUZZ_BINS) \
		$(if $(MARROW_SKIP_LINUX),,linux-test-prereqs linux-guest)
	@$(PYTHON) tests/run_all.py --build $(BUILD) --kernel $(KERNEL) --windows $(BUILD) \
		--fuzz $(BUILD) --fuzz-seconds $(FUZZ_TEST_SECONDS) --fuzz-targets "$(FUZZ_TARGETS)" \
		--uefi $(BUILD) --guest-tests "$(if $(GUEST_TESTS),$(GUEST_TESTS),all)" \
		$(if $(MARROW_SKIP_LINUX),,--linux $(LINUX_BUILD)) $(UNIT_BINS)

# The UEFI layer alone (OVMF in Bochs: marrowtest.efi, Linux booted by
# marrowldr.efi).
test-uefi: deps uefi
	@$(PYTHON) tests/run_all.py --build $(BUILD) --uefi $(BUILD) --only uefi

# Instruction counts per exit and per CPU model, into docs/benchmarks.md.
# With the Linux workloads (bench/linux) unless MARROW_SKIP_LINUX is set.
bench: deps kernel $(if $(MARROW_SKIP_LINUX),,linux-test-prereqs $(MWBENCH))
	@$(PYTHON) bench/report.py --kernel $(KERNEL) --build $(BUILD) \
		$(if $(MARROW_SKIP_LINUX),,--linux $(LINUX_BUILD))

LINT_C := $(shell git ls-files '*.c' '*.h' 2>/dev/null)

lint: deps
	@bash scripts/lint.sh

# The differential guest fuzzers, long: FUZZ_ITERS per fuzzer, five seeds,
# every model (scripts/fuzz_guest.sh). make test runs them with 2000.
FUZZ_ITERS ?= 100000
fuzz-guest: deps
	bash scripts/fuzz_guest.sh $(FUZZ_ITERS)

# Both long runs: libFuzzer on the host's parsers, then the guest fuzzers.
fuzz: fuzz-host fuzz-guest

format:
	clang-format -i $(LINT_C)

clean:
	rm -rf $(BUILD)

-include $(KERNEL_OBJS:.o=.d) $(UNIT_LIB_OBJS:.o=.d) $(UNIT_BINS:=.d) $(WIN_OBJS:.o=.d) \
	$(UEFI_OBJS:.o=.d) $(UEFI_TEST_OBJS:.o=.d) $(UEFI_MADT_OBJS:.o=.d) \
	$(MARROWCTL_OBJS:.o=.d) $(MWTEST).d
