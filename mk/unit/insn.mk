# The x86-64 instruction-length decoder.
UNIT_LIB_SRCS += src/hook/insn.c
