# The inline-hook trampoline builder (src/hook/insn.c, which it decodes
# with, is listed in insn.mk).
UNIT_LIB_SRCS += src/hook/trampoline.c
