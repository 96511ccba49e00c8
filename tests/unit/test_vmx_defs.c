/* The VMX definition tables: every VMCS field's width matches its name's
 * section, names are found, exit reasons and errors are named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/msr_bitmap.h"
#include "core/status.h"
#include "vmx/vmx_defs.h"

struct field {
	const char *name;
	uint32_t enc;
};

static const struct field fields[] = {
#define VMCS_FIELD(name, enc) { #name, enc },
#include "vmx/vmcs_fields.def"
#undef VMCS_FIELD
};

static void test_field_encodings_are_consistent(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		uint32_t e = fields[i].enc;
		/* Access type (bit 0) is "full" for every listed field, bits
		 * 31:15 and 12 are reserved (SDM 3C 25.11.2). */
		assert_int_equal(e & 1, 0);
		assert_int_equal(e & 0xffff9000u, 0);
		/* The type bits 11:10 match the name's prefix. */
		unsigned type = vmcs_field_type(e);
		if (strncmp(fields[i].name, "GUEST_", 6) == 0 && type != 1)
			assert_int_equal(type, 2);
		if (strncmp(fields[i].name, "HOST_", 5) == 0)
			assert_int_equal(type, 3);
		assert_string_equal(vmcs_field_name(e), fields[i].name);
		for (size_t j = 0; j < i; j++)
			assert_int_not_equal(fields[j].enc, e);
	}
	assert_int_equal(vmcs_field_width(VMCS_GUEST_RIP), VMCS_WIDTH_NATURAL);
	assert_int_equal(vmcs_field_width(VMCS_EPT_POINTER), VMCS_WIDTH_64);
	assert_int_equal(vmcs_field_width(VMCS_GUEST_CS_SELECTOR), VMCS_WIDTH_16);
	assert_int_equal(vmcs_field_width(VMCS_VM_EXIT_REASON), VMCS_WIDTH_32);
	assert_string_equal(vmcs_field_name(0x7777), "unknown VMCS field");
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(exit_reason_name(EXIT_CPUID), "CPUID");
	assert_string_equal(exit_reason_name(EXIT_EPT_VIOLATION), "EPT_VIOLATION");
	assert_string_equal(exit_reason_name(35), "unknown exit reason");
	assert_int_equal(EXIT_XSETBV, 55);
	assert_int_equal(EXIT_VMCALL, 18);
	assert_string_equal(vm_error_str(8), "VM entry with invalid host-state field(s)");
	assert_string_equal(vm_error_str(14), "unknown VM-instruction error");
}

static void test_error_format(void **state)
{
	(void)state;
	struct mw_error e;
	char line[200];

	mw_error_set(&e, MW_ERR_VMX_INSTRUCTION, 2, MW_STEP_VMLAUNCH, "VMLAUNCH");
	e.vm_error = 8;
	mw_error_format(&e, line, sizeof(line));
	assert_string_equal(line, "cpu 2: vmlaunch: VMX instruction failed: VMLAUNCH: VM entry "
				  "with invalid host-state field(s) (VM-instruction error 8)");
	mw_error_set(&e, MW_ERR_NOT_INTEL, -1, MW_STEP_SUPPORT, "vendor is AuthenticAMD");
	mw_error_format(&e, line, sizeof(line));
	assert_string_equal(line, "support: not an Intel CPU: vendor is AuthenticAMD");
	/* No step to name (a hook's refusal): no "none: ". */
	mw_error_set(&e, MW_ERR_EXISTS, -1, MW_STEP_NONE, "hook at 0x%llx: %s", 0x1000ull, "twice");
	mw_error_format(&e, line, sizeof(line));
	assert_string_equal(line, "already hooked: hook at 0x1000: twice");
	assert_int_equal(mw_step_from_name("vmxon"), MW_STEP_VMXON);
	assert_int_equal(mw_step_from_name("VMXON"), MW_STEP_NONE);
}

static void test_msr_bitmap_layout(void **state)
{
	(void)state;
	static uint8_t bitmap[4096];

	msr_bitmap_build(bitmap);
	/* FEATURE_CONTROL 3AH: read-low byte 7 bit 2, write-low 2048+7. */
	assert_int_equal(bitmap[7] & 0x04, 0x04);
	assert_int_equal(bitmap[2048 + 7] & 0x04, 0x04);
	for (uint32_t m = VMX_MSR_FIRST; m <= VMX_MSR_LAST; m++) {
		assert_true(msr_bitmap_exits(bitmap, m, false));
		assert_true(msr_bitmap_exits(bitmap, m, true));
	}
	/* Everything else in the ranges passes through. */
	assert_false(msr_bitmap_exits(bitmap, 0x10, false));
	assert_false(msr_bitmap_exits(bitmap, 0x494, false));
	assert_false(msr_bitmap_exits(bitmap, 0xc0000080, true));
	assert_false(msr_bitmap_exits(bitmap, 0xc0000082, false));
	/* Outside the two ranges the CPU always exits. */
	assert_true(msr_bitmap_exits(bitmap, 0x40000000, false));
	assert_false(msr_bitmap_intercept(bitmap, 0x40000000, true, true));
	unsigned set = 0;
	for (size_t i = 0; i < sizeof(bitmap); i++)
		set += (unsigned)__builtin_popcount(bitmap[i]);
	assert_int_equal(set, 2 * (1 + VMX_MSR_LAST - VMX_MSR_FIRST + 1));
	/* A hook's MSR exits, then passes again; marrow's own never do. */
	assert_true(msr_bitmap_intercept(bitmap, 0xc0000082, true, true));
	assert_true(msr_bitmap_exits(bitmap, 0xc0000082, false));
	assert_true(msr_bitmap_exits(bitmap, 0xc0000082, true));
	assert_false(msr_bitmap_exits(bitmap, 0xc0000081, false));
	msr_bitmap_release(bitmap, 0xc0000082);
	assert_false(msr_bitmap_exits(bitmap, 0xc0000082, false));
	assert_false(msr_bitmap_exits(bitmap, 0xc0000082, true));
	msr_bitmap_release(bitmap, 0x3a);
	msr_bitmap_release(bitmap, VMX_MSR_FIRST);
	assert_true(msr_bitmap_exits(bitmap, 0x3a, true));
	assert_true(msr_bitmap_exits(bitmap, VMX_MSR_FIRST, false));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_field_encodings_are_consistent),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_error_format),
		cmocka_unit_test(test_msr_bitmap_layout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
