# The VMX core's pure logic: control adjustment, capability checks, the
# definition tables, segment decoding, the MSR bitmap, status messages.
UNIT_LIB_SRCS += src/vmx/vmx_controls.c src/vmx/vmx_names.c src/arch/x86/segment.c
UNIT_LIB_SRCS += src/core/msr_bitmap.c src/core/status.c
