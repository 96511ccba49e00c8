# marrow's core: the root-safe log ring and the guest page-table walker
# (src/core/fmt.c, which the ring uses, is listed in baremetal.mk).
UNIT_LIB_SRCS += src/core/log_ring.c src/core/guest_walk.c

# The ring's stress test runs a producer and a consumer thread. A target
# variable, because the Makefile sets UNIT_LIBS after including this file.
$(BUILD)/unit/test_log_ring: UNIT_LIBS += -pthread
