# The code hooks generate (inline and syscall stubs).
UNIT_LIB_SRCS += src/hook/stub.c
