/* Segment descriptors into VMCS base/limit/access rights (SDM 3C 25.4.1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "arch/x86/segment.h"

/* The bare-metal kernel's GDT: null, code64, data, ucode32, udata, ucode64,
 * a 64-bit TSS at 0xffff8000_12345678 with limit 0x67. */
static uint64_t gdt[8] = {
	0,
	0x00af9a000000ffffull,
	0x00cf92000000ffffull,
	0x00cffa000000ffffull,
	0x00cff2000000ffffull,
	0x00affa000000ffffull,
	0, /* the TSS's two slots, filled in by setup */
	0,
};

static int setup(void **state)
{
	(void)state;
	uint64_t base = 0xffff800012345678ull, limit = 0x67;
	gdt[6] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
		 (((base >> 24) & 0xff) << 56);
	gdt[7] = base >> 32;
	return 0;
}

static void test_code_and_data(void **state)
{
	(void)state;
	struct desc_table t = { gdt, sizeof(gdt) - 1 };
	struct seg_desc d;

	assert_true(seg_decode(&t, NULL, 0x08, &d));
	assert_int_equal(d.base, 0);
	assert_int_equal(d.limit, 0xffffffff); /* G=1 expands the limit */
	assert_int_equal(d.ar, 0xa09a);	       /* G, L, P, DPL 0, code execute/read */
	assert_true(d.ar & SEG_AR_L);
	assert_true(seg_decode(&t, NULL, 0x2b, &d)); /* RPL 3 */
	assert_int_equal((d.ar >> SEG_AR_DPL_SHIFT) & 3, 3);
}

static void test_tss_has_a_64bit_base(void **state)
{
	(void)state;
	struct desc_table t = { gdt, sizeof(gdt) - 1 };
	struct seg_desc d;

	assert_true(seg_decode(&t, NULL, 0x30, &d));
	assert_int_equal(d.base, 0xffff800012345678ull);
	assert_int_equal(d.limit, 0x67);
	assert_int_equal(d.ar & SEG_AR_TYPE_MASK, SEG_TYPE_TSS64_AVAILABLE);
}

static void test_unusable(void **state)
{
	(void)state;
	struct desc_table t = { gdt, sizeof(gdt) - 1 };
	struct seg_desc d;

	assert_false(seg_decode(&t, NULL, 0, &d)); /* null */
	assert_int_equal(d.ar, SEG_AR_UNUSABLE);
	assert_false(seg_decode(&t, NULL, 3, &d));    /* null with RPL 3 */
	assert_false(seg_decode(&t, NULL, 0x40, &d)); /* beyond the limit */
	struct desc_table short_gdt = { gdt, 0x37 };
	assert_false(seg_decode(&short_gdt, NULL, 0x30, &d)); /* TSS's upper half cut off */
	assert_false(seg_decode(&t, NULL, 0x0c, &d));	      /* TI=1 and no LDT */
	uint64_t not_present[2] = { 0, 0x00cf12000000ffffull };
	struct desc_table np = { not_present, 15 };
	assert_false(seg_decode(&np, NULL, 0x08, &d));
	assert_int_equal(d.ar, SEG_AR_UNUSABLE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_code_and_data, setup),
		cmocka_unit_test_setup(test_tss_has_a_64bit_base, setup),
		cmocka_unit_test_setup(test_unusable, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
