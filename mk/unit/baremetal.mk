# The bare-metal kernel's pure logic and the core helpers it uses.
UNIT_LIB_SRCS += src/core/fmt.c src/arch/x86/msr.c
UNIT_LIB_SRCS += src/platform/baremetal/mb2.c src/platform/baremetal/memmap.c
UNIT_LIB_SRCS += src/platform/baremetal/pmm.c src/platform/baremetal/acpi.c
UNIT_LIB_SRCS += src/platform/baremetal/cmdline.c
