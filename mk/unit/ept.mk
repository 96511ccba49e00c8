# The EPT builder and its root-safe table operations.
UNIT_LIB_SRCS += src/ept/ept_build.c src/ept/ept_ops.c
