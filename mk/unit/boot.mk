# The boot-time loader's pure logic (docs/boot.md): image formats, boot
# information, the guest's memory map; and the instruction decoder root
# mode emulates guest accesses with.
UNIT_LIB_SRCS += src/vmx/mem_insn.c
UNIT_LIB_SRCS += src/platform/baremetal/guest_image.c src/platform/baremetal/elf_segments.c
UNIT_LIB_SRCS += src/platform/baremetal/mb_header.c src/platform/baremetal/bzimage.c
UNIT_LIB_SRCS += src/platform/baremetal/bootmap.c src/platform/baremetal/mb_info.c
UNIT_LIB_SRCS += src/platform/baremetal/mb1.c

# test_guest_image reads the guest builds of the kernel and marrow itself.
$(BUILD)/unit/test_guest_image: | $(KERNEL) $(GUEST_MB1) $(GUEST_MB2)
$(BUILD)/unit/test_guest_image: UNIT_CFLAGS += -DMW_TEST_BUILD_DIR='"$(abspath $(BUILD))"'
UNIT_LIB_SRCS += src/core/apic_dest.c
