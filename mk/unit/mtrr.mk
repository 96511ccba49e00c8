# The MTRR memory-type engine (src/ept): pure logic; mtrr_read.c is kernel only.
UNIT_LIB_SRCS += src/ept/mtrr.c
