# The boot-time loader's pure logic (docs/boot.md): image formats, boot
# information, the guest's memory map; and the instruction decoder root
# mode emulates guest accesses with.
UNIT_LIB_SRCS += src/vmx/mem_insn.c
UNIT_LIB_SRCS += src/platform/baremetal/guest_image.c src/platform/baremetal/elf_segments.c
UNIT_LIB_SRCS += src/platform/baremetal/mb_header.c src/platform/baremetal/bzimage.c
UNIT_LIB_SRCS += src/platform/baremetal/bootmap.c src/platform/baremetal/mb_info.c
UNIT_LIB_SRCS += src/platform/baremetal/mb1.c
