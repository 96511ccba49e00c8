/* The Windows layer's pure logic: the DPC fan-out bookkeeping (also with
 * real threads racing), RAM runs into the core's memory map, the
 * SystemModuleInformation buffer, the KPROCESSOR_STATE reader and
 * comparison, IOCTL buffer checks, and marrowctl's text. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "marrow/windows_ioctl.h"
#include "src/platform/windows/win_fanout.h"
#include "src/platform/windows/win_ioctl.h"
#include "src/platform/windows/win_memmap.h"
#include "src/platform/windows/win_modules.h"
#include "src/platform/windows/win_state.h"
#include "tools/marrowctl/win/format.h"

static int calls;

static void count_call(void *arg)
{
	__atomic_fetch_add((int *)arg, 1, __ATOMIC_RELAXED);
}

static void test_fanout_each_cpu_once(void **state)
{
	(void)state;
	struct win_fanout f;
	calls = 0;
	win_fanout_init(&f, count_call, &calls, 4);
	assert_false(win_fanout_complete(&f));
	assert_int_equal(win_fanout_first_missing(&f), 0);
	for (unsigned cpu = 0; cpu < 4; cpu++)
		assert_true(win_fanout_run(&f, cpu));
	assert_true(win_fanout_complete(&f));
	assert_int_equal(calls, 4);
	assert_int_equal(win_fanout_first_missing(&f), 4);
	/* A DPC delivered twice runs nothing and spoils the result. */
	assert_false(win_fanout_run(&f, 2));
	assert_int_equal(calls, 4);
	assert_false(win_fanout_complete(&f));
}

static void test_fanout_missing_and_foreign_cpus(void **state)
{
	(void)state;
	struct win_fanout f;
	calls = 0;
	win_fanout_init(&f, count_call, &calls, 70);
	for (unsigned cpu = 0; cpu < 70; cpu++)
		if (cpu != 65)
			win_fanout_run(&f, cpu);
	assert_false(win_fanout_complete(&f));
	assert_int_equal(win_fanout_first_missing(&f), 65);
	/* A CPU Windows did not count when the broadcast began. */
	assert_false(win_fanout_run(&f, 70));
	assert_false(win_fanout_run(&f, WIN_FANOUT_MAX_CPUS + 5));
	assert_int_equal(f.rejected, 2);
	assert_true(win_fanout_run(&f, 65));
	assert_false(win_fanout_complete(&f)); /* rejections stay counted */
	assert_int_equal(calls, 70);
	/* More CPUs than the bitmap holds can never complete. */
	win_fanout_init(&f, count_call, &calls, WIN_FANOUT_MAX_CPUS + 1);
	for (unsigned cpu = 0; cpu <= WIN_FANOUT_MAX_CPUS; cpu++)
		win_fanout_run(&f, cpu);
	assert_false(win_fanout_complete(&f));
}

struct racer {
	struct win_fanout *f;
	unsigned cpu;
	int ran;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	/* Each "CPU" delivers its DPC twice, at once with the others. */
	r->ran = win_fanout_run(r->f, r->cpu) + win_fanout_run(r->f, r->cpu);
	return NULL;
}

static void test_fanout_concurrent(void **state)
{
	(void)state;
	for (int round = 0; round < 50; round++) {
		struct win_fanout f;
		pthread_t t[16];
		struct racer r[16];
		calls = 0;
		win_fanout_init(&f, count_call, &calls, 16);
		for (unsigned i = 0; i < 16; i++) {
			r[i] = (struct racer){ &f, i, 0 };
			assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
		}
		for (unsigned i = 0; i < 16; i++) {
			pthread_join(t[i], NULL);
			assert_int_equal(r[i].ran, 1);
		}
		assert_int_equal(calls, 16);
		assert_int_equal(f.runs, 16);
		assert_int_equal(f.rejected, 16);
	}
}

static void test_memmap_conversion(void **state)
{
	(void)state;
	struct platform_mem_range out[8];
	/* Unsorted, overlapping, touching, empty, unaligned, wrapping runs,
	 * then the terminator and a run after it that must be ignored. */
	const struct win_phys_run runs[] = {
		{ 0x100000000ull, 0x40000000ull }, /* [4G, 5G) */
		{ 0x1000, 0x9e000 },		   /* [4K, 636K) */
		{ 0x100000, 0x100000 },		   /* [1M, 2M) */
		{ 0x200000, 0x300000 },		   /* touches: [2M, 5M) */
		{ 0x180000, 0x100000 },		   /* overlaps both */
		{ 0x600000, 0 },		   /* empty */
		{ 0x700800, 0x2000 },		   /* -> [0x701000, 0x702000) */
		{ 0x800100, 0x800 },		   /* less than a page once trimmed */
		{ 0xfffffffffffff000ull, 0x2000 }, /* wraps */
		{ 0, 0 },			   /* terminator */
		{ 0x900000000ull, 0x1000 },	   /* after it */
	};
	size_t n = win_memmap_from_runs(runs, sizeof(runs) / sizeof(runs[0]), out, 8);
	assert_int_equal(n, 4);
	const uint64_t want[4][2] = { { 0x1000, 0x9f000 },
				      { 0x100000, 0x500000 },
				      { 0x701000, 0x702000 },
				      { 0x100000000ull, 0x140000000ull } };
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(out[i].base, want[i][0]);
		assert_int_equal(out[i].base + out[i].length, want[i][1]);
		assert_int_equal(out[i].type, PLATFORM_MEM_RAM);
	}
	/* A short output array still gets the true count. */
	memset(out, 0xee, sizeof(out));
	assert_int_equal(win_memmap_from_runs(runs, 11, out, 2), 4);
	assert_int_equal(out[1].base, 0x100000);
	assert_int_equal(out[2].base, 0xeeeeeeeeeeeeeeeeull); /* untouched */
	/* Runs that only touch become one. */
	const struct win_phys_run touching[] = { { 0x20000000, 0x1000 }, { 0x20001000, 0x1000 } };
	assert_int_equal(win_memmap_from_runs(touching, 2, out, 8), 1);
	assert_int_equal(out[0].length, 0x2000);
	/* No terminator: max_runs bounds the read. */
	assert_int_equal(win_memmap_from_runs(runs, 1, out, 8), 1);
	assert_int_equal(win_memmap_from_runs(runs, 0, out, 8), 0);
}

static void put_module(uint8_t *buf, unsigned i, uint64_t base, uint32_t size, const char *path,
		       unsigned name_at)
{
	uint8_t *e = buf + WIN_MODULES_HEADER_SIZE + (size_t)i * WIN_MODULE_ENTRY_SIZE;
	memcpy(e + 16, &base, 8);
	memcpy(e + 24, &size, 4);
	e[38] = (uint8_t)name_at;
	e[39] = (uint8_t)(name_at >> 8);
	strncpy((char *)e + 40, path, WIN_MODULE_PATH_MAX);
}

static uint8_t *module_list(uint32_t count, size_t *len)
{
	*len = WIN_MODULES_HEADER_SIZE + (size_t)count * WIN_MODULE_ENTRY_SIZE;
	uint8_t *buf = calloc(1, *len);
	memcpy(buf, &count, 4);
	return buf;
}

static void test_modules(void **state)
{
	(void)state;
	size_t len;
	uint8_t *buf = module_list(3, &len);
	struct win_module m;
	uint32_t n;

	put_module(buf, 0, 0xfffff80012340000ull, 0x1000000, "\\SystemRoot\\system32\\NTKRNLMP.EXE",
		   21);
	put_module(buf, 1, 0xfffff80013340000ull, 0x20000, "\\SystemRoot\\system32\\hal.dll", 21);
	put_module(buf, 2, 0x7ff600000000ull, 0x1000, "\\??\\C:\\user.dll", 7);
	assert_int_equal(win_modules_count(buf, len, &n), WIN_MOD_OK);
	assert_int_equal(n, 3);
	assert_int_equal(win_kernel_module(buf, len, &m), WIN_MOD_OK);
	assert_int_equal(m.image_base, 0xfffff80012340000ull);
	assert_int_equal(m.image_size, 0x1000000);
	assert_string_equal(m.file_name, "NTKRNLMP.EXE");
	assert_int_equal(win_module_get(buf, len, 1, &m), WIN_MOD_OK);
	assert_string_equal(m.file_name, "hal.dll");
	/* A user-half address is not a kernel module. */
	assert_int_equal(win_module_get(buf, len, 2, &m), WIN_MOD_BAD_ENTRY);
	assert_int_equal(win_module_get(buf, len, 3, &m), WIN_MOD_NO_MODULE);
	/* The buffer is one byte short of its count. */
	uint8_t *c = malloc(len - 1);
	memcpy(c, buf, len - 1);
	assert_int_equal(win_modules_count(c, len - 1, &n), WIN_MOD_TRUNCATED);
	assert_int_equal(win_kernel_module(c, len - 1, &m), WIN_MOD_TRUNCATED);
	free(c);
	assert_int_equal(win_modules_count(buf, 7, &n), WIN_MOD_TRUNCATED);
	/* A count that would overflow an entry count times size. */
	uint32_t huge = 0xffffffffu;
	memcpy(buf, &huge, 4);
	assert_int_equal(win_modules_count(buf, len, &n), WIN_MOD_TRUNCATED);
	memcpy(buf, &(uint32_t){ 3 }, 4);
	/* Module 0 named otherwise; a file-name offset past the path; a path
	 * filling all 256 bytes (no NUL). */
	put_module(buf, 0, 0xfffff80012340000ull, 0x1000000, "\\SystemRoot\\ntoskrnl.exe.bak", 12);
	assert_int_equal(win_kernel_module(buf, len, &m), WIN_MOD_NOT_KERNEL);
	put_module(buf, 0, 0xfffff80012340000ull, 0x1000000, "ntoskrnl.exe", 13);
	assert_int_equal(win_kernel_module(buf, len, &m), WIN_MOD_BAD_ENTRY);
	char full[WIN_MODULE_PATH_MAX + 1];
	memset(full, 'a', WIN_MODULE_PATH_MAX);
	full[WIN_MODULE_PATH_MAX] = '\0';
	put_module(buf, 0, 0xfffff80012340000ull, 0x1000000, full, 0);
	assert_int_equal(win_module_get(buf, len, 0, &m), WIN_MOD_OK);
	assert_int_equal(strlen(m.path), WIN_MODULE_PATH_MAX - 1);
	/* Zero size, and a size that wraps the address space. */
	put_module(buf, 0, 0xfffff80012340000ull, 0, "ntoskrnl.exe", 0);
	assert_int_equal(win_kernel_module(buf, len, &m), WIN_MOD_BAD_ENTRY);
	put_module(buf, 0, 0xfffffffffffff000ull, 0x2000, "ntoskrnl.exe", 0);
	assert_int_equal(win_kernel_module(buf, len, &m), WIN_MOD_BAD_ENTRY);
	put_module(buf, 0, 0xfffff80012340000ull, 0x1000, "ntkrpamp.exe", 0);
	assert_int_equal(win_kernel_module(buf, len, &m), WIN_MOD_OK);
	free(buf);
}

static void put64(uint8_t *p, unsigned off, uint64_t v)
{
	memcpy(p + off, &v, 8);
}

static void test_special_registers(void **state)
{
	(void)state;
	uint8_t a[WIN_KPROCESSOR_STATE_BUFFER], b[WIN_KPROCESSOR_STATE_BUFFER];
	struct win_special_regs ra, rb;
	char text[128];

	memset(a, 0, sizeof(a));
	put64(a, 0x00, 0x80050033);	       /* CR0 */
	put64(a, 0x10, 0x1ad000);	       /* CR3 */
	put64(a, 0x18, 0x350ef8);	       /* CR4 */
	a[0x56] = 0x57;			       /* GDTR limit */
	put64(a, 0x58, 0xfffff80000001000ull); /* GDTR base */
	a[0x66] = 0xff, a[0x67] = 0x0f;	       /* IDTR limit */
	put64(a, 0x68, 0xfffff80000002000ull); /* IDTR base */
	a[0x70] = 0x40;			       /* TR */
	put64(a, 0xa8, 0xfffff80000003000ull); /* GS base (KPCR) */
	put64(a, 0xc0, 0xfffff80012345678ull); /* LSTAR */
	put64(a, 0xd8, 0x1f);		       /* XCR0 */
	assert_int_equal(win_special_regs_read(a, sizeof(a), &ra), 0);
	assert_int_equal(ra.value[WIN_REG_CR4], 0x350ef8);
	assert_int_equal(ra.value[WIN_REG_GDTR], 0xfffff80000001000ull);
	assert_int_equal(ra.gdtr_limit, 0x57);
	assert_int_equal(ra.idtr_limit, 0xfff);
	assert_int_equal(ra.value[WIN_REG_TR], 0x40);
	assert_int_equal(ra.value[WIN_REG_LSTAR], 0xfffff80012345678ull);
	assert_int_equal(ra.value[WIN_REG_XCR0], 0x1f);
	assert_int_equal(win_special_regs_read(a, WIN_KPROCESSOR_STATE_PREFIX - 1, &rb), -1);

	memcpy(b, a, sizeof(b));
	put64(b, 0x10, 0x2bc000);	       /* another thread's CR3: not per CPU */
	put64(b, 0x18, 0x350ef8 | (1u << 13)); /* CR4.VMXE left set */
	put64(b, 0xc0, 0xfffff80087654321ull); /* LSTAR changed */
	b[0x66] = 0x7f;			       /* IDTR limit */
	win_special_regs_read(b, sizeof(b), &rb);
	uint32_t all = win_special_regs_diff(&ra, &rb, WIN_REGS_ALL);
	uint32_t inv = win_special_regs_diff(&ra, &rb, WIN_REGS_INVARIANT);
	assert_true(all & (1u << WIN_REG_CR3));
	assert_false(inv & (1u << WIN_REG_CR3));
	assert_int_equal(inv, (1u << WIN_REG_CR4) | (1u << WIN_REG_LSTAR) | (1u << WIN_REG_IDTR));
	assert_int_equal(win_special_regs_describe(inv, text, sizeof(text)),
			 (int)strlen("cr4 idtr lstar"));
	assert_string_equal(text, "cr4 idtr lstar");
	/* Truncated output stays terminated; the length is the full one. */
	assert_int_equal(win_special_regs_describe(inv, text, 5), (int)strlen("cr4 idtr lstar"));
	assert_string_equal(text, "cr4 ");
	assert_int_equal(win_special_regs_diff(&ra, &ra, WIN_REGS_ALL), 0);
	assert_string_equal(win_reg_name(WIN_REG_KERNEL_GS_BASE), "kernel_gs_base");
}

static void test_ioctl_checks(void **state)
{
	(void)state;
	/* The codes as CTL_CODE(0x8000, function, METHOD_BUFFERED, access)
	 * gives them (winioctl.h's formula, numbers worked out by hand). */
	assert_int_equal(MW_IOCTL_STATUS, 0x80006000u);
	assert_int_equal(MW_IOCTL_STATS, 0x80006004u);
	assert_int_equal(MW_IOCTL_LOG, 0x80006008u);
	assert_int_equal(MW_IOCTL_UNLOAD, 0x8000e00cu);

	assert_int_equal(win_ioctl_check(MW_IOCTL_STATUS, 0, sizeof(struct mw_win_status)),
			 WIN_IOCTL_OK);
	assert_int_equal(win_ioctl_check(MW_IOCTL_STATUS, 0, sizeof(struct mw_win_status) - 1),
			 WIN_IOCTL_SHORT_OUTPUT);
	assert_int_equal(win_ioctl_check(MW_IOCTL_STATS, 8, sizeof(struct mw_cpu_stats)),
			 WIN_IOCTL_OK);
	assert_int_equal(win_ioctl_check(MW_IOCTL_STATS, 7, sizeof(struct mw_cpu_stats)),
			 WIN_IOCTL_SHORT_INPUT);
	assert_int_equal(win_ioctl_check(MW_IOCTL_LOG, 8, MW_WIN_LOG_MIN_OUTPUT), WIN_IOCTL_OK);
	assert_int_equal(win_ioctl_check(MW_IOCTL_LOG, 8, MW_WIN_LOG_MIN_OUTPUT - 1),
			 WIN_IOCTL_SHORT_OUTPUT);
	assert_int_equal(win_ioctl_check(MW_IOCTL_UNLOAD, 0, 0), WIN_IOCTL_OK);
	assert_int_equal(win_ioctl_check(0x80006010u, 100, 100), WIN_IOCTL_UNKNOWN);
	/* The same function with other access bits is another code. */
	assert_int_equal(win_ioctl_check(MW_IOCTL_UNLOAD & ~0xc000u, 0, 0), WIN_IOCTL_UNKNOWN);
	assert_string_equal(win_ioctl_name(MW_IOCTL_LOG), "log");

	assert_int_equal(win_log_text_size(MW_WIN_LOG_MIN_OUTPUT - 1), 0);
	assert_int_equal(win_log_text_size(MW_WIN_LOG_MIN_OUTPUT), 257);
	assert_int_equal(win_log_text_size(16 + 4096), 4096);
	assert_int_equal(win_log_text_size(1u << 20), 64 * 1024);
}

static void test_marrowctl_text(void **state)
{
	(void)state;
	struct mw_win_status st;
	struct mw_cpu_stats s;
	char text[1024], scratch[24];

	memset(&st, 0, sizeof(st));
	st.active = 1;
	st.cpu_count = 4;
	st.virtualized_count = 4;
	st.hc_version = 0x10000;
	st.features = 3;
	strcpy(st.last_error, "ok");
	st.kernel_base = 0xfffff80012340000ull;
	st.kernel_size = 0x1000000;
	int n = mwctl_format_status(&st, text, sizeof(text));
	assert_int_equal(n, (int)strlen(text));
	assert_non_null(strstr(text, "marrow: active, 4 of 4 CPUs virtualized\n"));
	assert_non_null(strstr(text, "hypercall ABI: 1.0\n"));
	assert_non_null(strstr(text, "features: ept vpid\n"));
	assert_non_null(strstr(text, "kernel: 0xfffff80012340000, 16777216 bytes\n"));
	assert_non_null(strstr(text, "service table: not found\n"));
	/* Truncated: terminated, full length reported. */
	assert_int_equal(mwctl_format_status(&st, text, 10), n);
	assert_int_equal(strlen(text), 9);

	memset(&s, 0, sizeof(s));
	s.exits_total = 12;
	s.exits[10] = 7; /* CPUID */
	s.exits[18] = 5; /* VMCALL */
	mwctl_format_stats(2, &s, text, sizeof(text));
	assert_non_null(strstr(text, "cpu 2: 12 exits"));
	assert_non_null(strstr(text, "CPUID"));
	assert_non_null(strstr(text, "VMCALL"));
	assert_null(strstr(text, "HLT"));
	assert_string_equal(mwctl_exit_reason_name(10, scratch, sizeof(scratch)), "CPUID");
	assert_string_equal(mwctl_exit_reason_name(79, scratch, sizeof(scratch)), "reason 79");
	assert_string_equal(mwctl_exit_reason_name(500, scratch, sizeof(scratch)), "reason 500");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fanout_each_cpu_once),
		cmocka_unit_test(test_fanout_missing_and_foreign_cpus),
		cmocka_unit_test(test_fanout_concurrent),
		cmocka_unit_test(test_memmap_conversion),
		cmocka_unit_test(test_modules),
		cmocka_unit_test(test_special_registers),
		cmocka_unit_test(test_ioctl_checks),
		cmocka_unit_test(test_marrowctl_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
