/* Choosing VMX controls from capability MSRs (SDM 3D A.3-A.5), and the
 * checks that refuse a CPU with a clear reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmx/vmx_caps.h"
#include "vmx/vmx_defs.h"

static uint64_t cap(uint32_t must_be_one, uint32_t may_be_one)
{
	return ((uint64_t)may_be_one << 32) | must_be_one;
}

static void test_adjust(void **state)
{
	(void)state;
	uint32_t missing;
	/* Allowed-0 bits are forced on, required and optional bits set where
	 * allowed-1 lets them, the rest off. */
	uint32_t v = vmx_adjust_controls(cap(0x16, 0xff), 0x01, 0x80, &missing);
	assert_int_equal(v, 0x97);
	assert_int_equal(missing, 0);
	v = vmx_adjust_controls(cap(0x16, 0x7f), 0x101, 0x80, &missing);
	assert_int_equal(missing, 0x100); /* required but not allowed */
	assert_int_equal(v & 0x80, 0);	  /* optional, not allowed: left off */
	assert_int_equal(v & 0x16, 0x16);
}

/* The capabilities of Bochs 2.7's tigerlake model, as marrow read them in
 * a guest test run (IA32_VMX_* values, true controls). */
static struct vmx_caps bochs_like(void)
{
	struct vmx_caps c;
	memset(&c, 0, sizeof(c));
	c.basic = (1ull << 55) | (6ull << 50) | (4096ull << 32) | 4;
	c.pin = cap(0x16, 0xff);
	c.proc = cap(0x04006172, 0xfff9fffe);
	c.proc2 = cap(0, 0x0057f7ff);
	c.exit = cap(0x00036dfb, 0x03ffffff);
	c.entry = cap(0x000011fb, 0x0003ffff);
	c.ept_vpid = EPT_CAP_EXECUTE_ONLY | EPT_CAP_PWL4 | EPT_CAP_MEMTYPE_UC | EPT_CAP_MEMTYPE_WB |
		     EPT_CAP_2MB_PAGES | EPT_CAP_1GB_PAGES | EPT_CAP_INVEPT |
		     EPT_CAP_INVEPT_SINGLE | EPT_CAP_INVEPT_ALL | VPID_CAP_INVVPID |
		     VPID_CAP_INVVPID_SINGLE | VPID_CAP_INVVPID_ALL;
	c.phys_addr_bits = 40;
	return c;
}

static void test_derive_all_present(void **state)
{
	(void)state;
	struct vmx_caps c = bochs_like();
	struct vmx_controls ctl;
	struct mw_error err;

	assert_int_equal(vmx_derive_controls(&c, &ctl, &err), MW_OK);
	assert_true(ctl.pin & PIN_NMI_EXITING);
	assert_true(ctl.virtual_nmis);
	assert_true(ctl.proc & PROC_USE_MSR_BITMAPS);
	assert_true(ctl.proc & PROC_ACTIVATE_SECONDARY);
	/* Exits marrow does not want stay off where true controls allow. */
	assert_false(ctl.proc &
		     (PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING | PROC_HLT_EXITING));
	assert_true(ctl.proc2 & PROC2_ENABLE_EPT);
	assert_true(ctl.proc2 & PROC2_ENABLE_VPID);
	assert_true(ctl.unrestricted_guest);
	assert_true(ctl.execute_only_ept);
	assert_true(ctl.ept_1g_pages);
	assert_true(ctl.exit & EXIT_CTL_HOST_ADDR_SPACE_SIZE);
	assert_true(ctl.exit & EXIT_CTL_LOAD_EFER);
	assert_false(ctl.entry & ENTRY_CTL_IA32E_MODE_GUEST); /* set per CPU at launch */
}

static void expect_refusal(struct vmx_caps c, enum mw_status want, const char *detail_part)
{
	struct vmx_controls ctl;
	struct mw_error err;
	char line[200];

	assert_int_equal(vmx_derive_controls(&c, &ctl, &err), want);
	assert_int_equal(err.step, MW_STEP_CAPS);
	mw_error_format(&err, line, sizeof(line));
	assert_non_null(strstr(line, detail_part));
}

static void test_refusals_say_why(void **state)
{
	(void)state;
	struct vmx_caps c = bochs_like();

	c.proc2 = cap(0, 0x0057f7ff & ~PROC2_ENABLE_EPT);
	expect_refusal(c, MW_ERR_NO_EPT, "enable-EPT");
	c = bochs_like();
	c.proc2 = cap(0, 0x0057f7ff & ~PROC2_ENABLE_VPID);
	expect_refusal(c, MW_ERR_NO_VPID, "enable-VPID");
	c = bochs_like();
	c.ept_vpid &= ~EPT_CAP_MEMTYPE_WB;
	expect_refusal(c, MW_ERR_NO_EPT, "write-back EPT");
	c = bochs_like();
	c.ept_vpid &= ~(VPID_CAP_INVVPID_SINGLE | VPID_CAP_INVVPID_ALL);
	expect_refusal(c, MW_ERR_NO_VPID, "INVVPID");
	c = bochs_like();
	c.proc = cap(0x04006172, 0xfff9fffe & ~PROC_USE_MSR_BITMAPS);
	expect_refusal(c, MW_ERR_VMX_CAPS, "processor-based controls");
	c = bochs_like();
	c.basic = (c.basic & ~(0x1fffull << 32)) | (8192ull << 32);
	expect_refusal(c, MW_ERR_VMX_CAPS, "does not fit a page");
	c = bochs_like();
	c.basic &= ~(0xfull << 50); /* memory type 0: uncacheable */
	expect_refusal(c, MW_ERR_VMX_CAPS, "not write-back");
}

static void test_missing_optional_features_turn_off(void **state)
{
	(void)state;
	struct vmx_caps c = bochs_like();
	struct vmx_controls ctl;
	struct mw_error err;

	c.pin = cap(0x16, 0x1f); /* no virtual NMIs */
	c.proc2 = cap(0, 0x0057f7ff & ~PROC2_UNRESTRICTED_GUEST);
	c.ept_vpid &= ~(EPT_CAP_EXECUTE_ONLY | EPT_CAP_1GB_PAGES);
	c.proc = cap(0x04006172, 0xfff9fffe & ~PROC_MONITOR_TRAP_FLAG);
	assert_int_equal(vmx_derive_controls(&c, &ctl, &err), MW_OK);
	assert_false(ctl.virtual_nmis);
	assert_false(ctl.unrestricted_guest);
	assert_false(ctl.execute_only_ept);
	assert_false(ctl.ept_1g_pages);
	assert_false(ctl.mtf);
}

static void test_fixed_bits(void **state)
{
	(void)state;
	/* CR0 fixed: PE, NE, PG must be 1; upper half must be 0. */
	assert_int_equal(vmx_fixed_bits(0x11, 0x80000021, 0xffffffff), 0x80000031);
	assert_int_equal(vmx_fixed_bits(0x100000011ull, 0x21, 0xffffffff), 0x31);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_adjust),
		cmocka_unit_test(test_derive_all_present),
		cmocka_unit_test(test_refusals_say_why),
		cmocka_unit_test(test_missing_optional_features_turn_off),
		cmocka_unit_test(test_fixed_bits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
