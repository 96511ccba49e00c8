/* The hypercall ABI (include/marrow/hypercall.h): every call's results, bad
 * guest pointers and arguments as error codes, and the hostile cases (a
 * wrong key, ring 3) answered with #UD exactly as without marrow. */
#include "arch/x86/cpu_bits.h"
#include "arch/x86/intrin.h"
#include "core/mw_string.h"
#include "platform/platform.h"
#include "src/platform/baremetal/platform_bm.h"
#include "src/platform/baremetal/user.h"
#include "vmx/vmx_defs.h"
#include "vmx_util.h"

static bool info_is_right(void *arg)
{
	(void)arg;
	struct mw_hc_result r = vt_call(MW_HC_INFO, 0, 0, 0);
	return r.status == MW_HC_OK && r.rdx == platform_cpu_count() &&
	       (r.r8 & (MW_HC_FEATURE_EPT | MW_HC_FEATURE_VPID)) ==
		       (MW_HC_FEATURE_EPT | MW_HC_FEATURE_VPID);
}

GUEST_TEST(vmx_hypercall, info_names_the_cpus_and_features)
{
	vt_up(NULL);
	vt_on_each_cpu_ok(info_is_right, NULL, "MW_HC_INFO");
	vt_down();
}

GUEST_TEST(vmx_hypercall, stats_copies_the_cpus_counters)
{
	static struct mw_cpu_stats s;
	static uint8_t partial[32];

	vt_up(NULL);
	(void)cpuid(0);
	(void)cpuid(0);
	struct mw_hc_result r = vt_call(MW_HC_STATS, (uint64_t)(uintptr_t)&s, sizeof(s), 0);
	/* A short buffer gets exactly its size, nothing beyond. */
	memset(partial, 0xee, sizeof(partial));
	struct mw_hc_result p = vt_call(MW_HC_STATS, (uint64_t)(uintptr_t)partial, 16, 0);
	vt_down();
	GT_ASSERT_EQ(r.status, MW_HC_OK);
	GT_ASSERT_EQ(r.rdx, sizeof(s));
	GT_ASSERT_EQ(s.size, sizeof(s));
	GT_ASSERT(s.exits[EXIT_CPUID] >= 2);
	GT_ASSERT(s.exits[EXIT_VMCALL] >= 1);
	GT_ASSERT(s.hypercalls >= 1);
	GT_ASSERT(s.exits_total >= s.exits[EXIT_CPUID] + s.exits[EXIT_VMCALL]);
	GT_ASSERT_EQ(p.status, MW_HC_OK);
	GT_ASSERT_EQ(p.rdx, 16);
	GT_ASSERT_EQ(((uint64_t *)partial)[0], sizeof(s));
	GT_ASSERT_EQ(partial[16], 0xee);
	GT_ASSERT_EQ(partial[31], 0xee);
}

GUEST_TEST(vmx_hypercall, bad_pointers_and_arguments_are_errors)
{
	static struct mw_cpu_stats s;
	const uint64_t buf = (uint64_t)(uintptr_t)&s;

	vt_up(NULL);
	/* Page 0 is not mapped; non-canonical; in the MMIO hole (mapped by the
	 * guest, but not RAM marrow will write). */
	struct mw_hc_result null = vt_call(MW_HC_STATS, 8, sizeof(s), 0);
	struct mw_hc_result noncanon = vt_call(MW_HC_STATS, 0x8000000000000000ull, sizeof(s), 0);
	struct mw_hc_result mmio = vt_call(MW_HC_STATS, 0xfee00000, 16, 0);
	/* Text is mapped read-only: a write through the guest's tables is a
	 * protection error. */
	struct mw_hc_result ro = vt_call(MW_HC_STATS, (uint64_t)(uintptr_t)info_is_right, 16, 0);
	struct mw_hc_result zero = vt_call(MW_HC_STATS, buf, 0, 0);
	struct mw_hc_result cpu = vt_call(MW_HC_STATS, buf, sizeof(s), 4096);
	struct mw_hc_result fn = vt_call(0x7777, 1, 2, 3);
	struct mw_hc_result fn0 = vt_call(0, 0, 0, 0);
	vt_down();
	GT_ASSERT_EQ(null.status, MW_HC_ERR_BAD_POINTER);
	GT_ASSERT_EQ(noncanon.status, MW_HC_ERR_BAD_POINTER);
	GT_ASSERT_EQ(mmio.status, MW_HC_ERR_BAD_POINTER);
	GT_ASSERT_EQ(ro.status, MW_HC_ERR_BAD_POINTER);
	GT_ASSERT_EQ(zero.status, MW_HC_ERR_BAD_ARGUMENT);
	GT_ASSERT_EQ(cpu.status, MW_HC_ERR_BAD_ARGUMENT);
	GT_ASSERT_EQ(fn.status, MW_HC_ERR_UNKNOWN_FUNCTION);
	GT_ASSERT_EQ(fn0.status, MW_HC_ERR_UNKNOWN_FUNCTION);
}

/* All registers but RAX, RDX, R8 come back unchanged. */
static void vmcall_preserves(void *arg)
{
	uint64_t *out = arg;
	/* The output pointer waits on the stack: every register carries a
	 * pattern across the VMCALL. */
	__asm__ volatile(
		"push %%rbx\n\tpush %%rbp\n\tpush %%r12\n\tpush %%r13\n\t"
		"push %%r14\n\tpush %%r15\n\tpush %[out]\n\t"
		"mov $0x1111, %%rbx\n\tmov $0x2222, %%rbp\n\tmov $0x3333, %%rsi\n\t"
		"mov $0x4444, %%rdi\n\tmov $0x5555, %%r10\n\tmov $0x6666, %%r11\n\t"
		"mov $0x7777, %%r12\n\tmov $0x8888, %%r13\n\tmov $0x9999, %%r14\n\t"
		"mov $0xaaaa, %%r15\n\tmov $0xbbbb, %%r9\n\t"
		"mov $1, %%eax\n\tmovabs %[key], %%rcx\n\t"
		"vmcall\n\t"
		"push %%rbx\n\tmov 8(%%rsp), %%rbx\n\t"
		"mov %%rbp, 8(%%rbx)\n\tmov %%rsi, 16(%%rbx)\n\t"
		"mov %%rdi, 24(%%rbx)\n\tmov %%r10, 32(%%rbx)\n\tmov %%r11, 40(%%rbx)\n\t"
		"mov %%r12, 48(%%rbx)\n\tmov %%r13, 56(%%rbx)\n\tmov %%r14, 64(%%rbx)\n\t"
		"mov %%r15, 72(%%rbx)\n\tmov %%r9, 80(%%rbx)\n\tmov %%rcx, 88(%%rbx)\n\t"
		"pop %%rax\n\tmov %%rax, 0(%%rbx)\n\tadd $8, %%rsp\n\t"
		"pop %%r15\n\tpop %%r14\n\tpop %%r13\n\tpop %%r12\n\tpop %%rbp\n\tpop %%rbx"
		:
		: [out] "r"(out), [key] "i"(VT_KEY)
		: "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory");
}

GUEST_TEST(vmx_hypercall, a_hypercall_preserves_the_other_registers)
{
	static const uint64_t want[12] = { 0x1111, 0x2222, 0x3333, 0x4444, 0x5555, 0x6666,
					   0x7777, 0x8888, 0x9999, 0xaaaa, 0xbbbb, VT_KEY };
	uint64_t got[12];

	vt_up(NULL);
	int trap = gt_trap_of(vmcall_preserves, got, NULL);
	vt_down();
	GT_ASSERT_EQ(trap, -1);
	for (int i = 0; i < 12; i++)
		GT_ASSERT_EQ(got[i], want[i]);
}

extern char hc_bad_key_site[];

static void wrong_key(void *arg)
{
	(void)arg;
	__asm__ volatile("mov $1, %%eax\n\tmov $0x1234, %%rcx\n\t"
			 ".globl hc_bad_key_site\nhc_bad_key_site: vmcall" ::
				 : "rax", "rcx", "rdx", "memory");
}

GUEST_TEST(vmx_hypercall, a_wrong_key_gets_ud_and_is_logged)
{
	static char log[4096];
	struct trap_info info;

	vt_up(NULL);
	/* First the launch line this CPU logged, which also empties the log. */
	struct mw_hc_result launch =
		vt_call(MW_HC_READ_LOG, (uint64_t)(uintptr_t)log, sizeof(log), MW_HC_THIS_CPU);
	bool launch_logged = launch.status == MW_HC_OK && memcmp(log, "virtualized (VPID", 17) == 0;
	uint64_t refused = mw.vcpus[platform_cpu_index()]->stats.hypercalls_refused;
	int v = gt_trap_of(wrong_key, NULL, &info);
	uint64_t refused_now = mw.vcpus[platform_cpu_index()]->stats.hypercalls_refused - refused;
	struct mw_hc_result r =
		vt_call(MW_HC_READ_LOG, (uint64_t)(uintptr_t)log, sizeof(log), MW_HC_THIS_CPU);
	vt_down();
	GT_ASSERT(launch_logged);
	GT_ASSERT_EQ(v, VEC_UD);
	GT_ASSERT_EQ(info.rip, (uintptr_t)hc_bad_key_site); /* a fault: RIP at the VMCALL */
	GT_ASSERT_EQ(refused_now, 1);
	GT_ASSERT_EQ(r.status, MW_HC_OK);
	GT_ASSERT(r.rdx > 0 && r.rdx < sizeof(log));
	size_t n = r.rdx < sizeof(log) ? (size_t)r.rdx : sizeof(log) - 1;
	log[n] = '\0';
	GT_ASSERT(memcmp(log, "refused VMCALL", 14) == 0);
	GT_ASSERT_EQ(log[n - 1], '\n');
}

GUEST_TEST(vmx_hypercall, the_log_is_drained_once_and_a_small_buffer_is_refused)
{
	static char log[4096];

	vt_up(NULL);
	gt_trap_of(wrong_key, NULL, NULL);
	struct mw_hc_result small =
		vt_call(MW_HC_READ_LOG, (uint64_t)(uintptr_t)log, 64, MW_HC_THIS_CPU);
	struct mw_hc_result first =
		vt_call(MW_HC_READ_LOG, (uint64_t)(uintptr_t)log, sizeof(log), MW_HC_THIS_CPU);
	struct mw_hc_result second =
		vt_call(MW_HC_READ_LOG, (uint64_t)(uintptr_t)log, sizeof(log), MW_HC_THIS_CPU);
	vt_down();
	GT_ASSERT_EQ(small.status, MW_HC_ERR_BAD_ARGUMENT);
	GT_ASSERT_EQ(first.status, MW_HC_OK);
	GT_ASSERT(first.rdx > 0);
	GT_ASSERT_EQ(second.status, MW_HC_OK);
	GT_ASSERT_EQ(second.rdx, 0);
}

GUEST_TEST(vmx_hypercall, vmcall_from_ring_3_gets_ud_even_with_the_key)
{
	/* mov eax,1; mov rcx,VT_KEY (movabs); vmcall */
	uint8_t code[] = { 0xb8, 1, 0, 0, 0, 0x48, 0xb9, 0, 0, 0, 0, 0, 0, 0, 0, 0x0f, 0x01, 0xc1 };
	const uint64_t key = VT_KEY;
	struct trap_info native, under;

	memcpy(code + 7, &key, 8);
	GT_ASSERT(user_run(code, sizeof(code), &native));
	vt_up(NULL);
	uint64_t refused = mw.vcpus[platform_cpu_index()]->stats.hypercalls_refused;
	GT_ASSERT(user_run(code, sizeof(code), &under));
	uint64_t refused_now = mw.vcpus[platform_cpu_index()]->stats.hypercalls_refused - refused;
	vt_down();
	GT_ASSERT_EQ(native.vector, VEC_UD);
	GT_ASSERT_EQ(under.vector, VEC_UD);
	GT_ASSERT_EQ(under.rip, 15);
	GT_ASSERT_EQ(refused_now, 1);
}

static bool ping_raises_ud(void *arg)
{
	(void)arg;
	struct trap_info info;
	return gt_trap_of((void (*)(void *))wrong_key, NULL, &info) == VEC_UD;
}

static bool ping_answers(void *arg)
{
	(void)arg;
	return vt_call(MW_HC_PING, 0, 0, 0).status == MW_HC_OK;
}

static void devirtualize_this_cpu(void *arg)
{
	(void)arg;
	if (platform_cpu_index() == 0)
		vt_call(MW_HC_DEVIRTUALIZE_CPU, 0, 0, 0);
}

GUEST_TEST_SMP(vmx_hypercall, devirtualize_cpu_leaves_only_the_caller, 2)
{
	uint64_t free_before = bm_free_page_count();

	vt_up(NULL);
	platform_on_each_cpu(devirtualize_this_cpu, NULL);
	GT_ASSERT(!mw_cpu_virtualized(0));
	GT_ASSERT(mw_cpu_virtualized(1));
	GT_ASSERT(ping_raises_ud(NULL)); /* on cpu 0: no marrow below */
	vt_down();			 /* the rest leave the usual way */
	GT_ASSERT_EQ(bm_free_page_count(), free_before);
}

GUEST_TEST(vmx_hypercall, devirtualize_all_from_one_cpu_stops_every_cpu)
{
	uint64_t free_before = bm_free_page_count();

	vt_up(NULL);
	vt_on_each_cpu_ok(ping_answers, NULL, "ping before");
	struct mw_hc_result r = vt_call(MW_HC_DEVIRTUALIZE_ALL, 0, 0, 0);
	/* The others leave at the NMI marrow sends them. */
	for (uint32_t i = 0; i < 10000000 && mw_virtualized_count(); i++)
		cpu_pause();
	GT_ASSERT_EQ(r.status, MW_HC_OK);
	GT_ASSERT_EQ(mw_virtualized_count(), 0);
	vt_on_each_cpu_ok(ping_raises_ud, NULL, "VMCALL after devirtualize-all");
	/* The memory is the platform's to free: devirtualize_all does it. */
	GT_ASSERT_EQ(mw_devirtualize_all(), MW_OK);
	GT_ASSERT_EQ(bm_free_page_count(), free_before);
}
