# The MTRR memory-type engine (src/ept): pure logic; mtrr_read.c is kernel only.
UNIT_LIB_SRCS += src/ept/mtrr.c
# The brute-force reference test_mtrr compares with, shared with the fuzzer
# (tests/fuzz/fuzz_mtrr.c); linked into this test only, which provides the
# mtrr_ref_fail it calls.
MTRR_REF_OBJ := $(BUILD)/unit/lib/tests/common/mtrr_ref.c.o
$(BUILD)/unit/test_mtrr: $(MTRR_REF_OBJ)
$(BUILD)/unit/test_mtrr: UNIT_LIBS += $(MTRR_REF_OBJ)
-include $(MTRR_REF_OBJ:.o=.d)
