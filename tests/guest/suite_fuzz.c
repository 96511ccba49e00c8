/* Differential fuzzers: random CPUID leaves, MSR indices (read, then write
 * back what was read), CR0/CR4 values and XSETBV operands are executed
 * natively, recording the result or the fault, then under marrow; any
 * difference outside docs/hypercalls.md's list is a failure. Random VMCALLs
 * from CPL 0 and CPL 3 must never crash and must answer as documented.
 *
 * Seeded and repeatable: fuzz_seed=N and fuzz_iters=N on the kernel
 * command line (defaults: a fixed seed, FUZZ_DEFAULT_ITERS per fuzzer);
 * the seed is printed with every failure. */
#include "arch/x86/cpu_bits.h"
#include "arch/x86/intrin.h"
#include "arch/x86/msr.h"
#include "arch/x86/safe.h"
#include "core/mw_string.h"
#include "platform/platform.h"
#include "src/platform/baremetal/cmdline.h"
#include "src/platform/baremetal/mb2.h"
#include "src/platform/baremetal/platform_bm.h"
#include "src/platform/baremetal/user.h"
#include "vmx/vmx_defs.h"
#include "vmx_util.h"

#define FUZZ_DEFAULT_ITERS 2000
#define FUZZ_DEFAULT_SEED 0x6d6172726f77ull
#define FUZZ_MAX_ITERS 200000

static uint64_t seed_of_run, iters_of_run;

static uint64_t number_arg(const char *key, uint64_t fallback)
{
	char buf[24];
	bool too_long;
	const struct mb2_info *mbi = bm_boot_info();
	uint64_t v = 0;

	if (!mbi || !cmdline_get(mbi->cmdline, key, buf, sizeof(buf), &too_long))
		return fallback;
	for (const char *p = buf; *p; p++) {
		if (*p < '0' || *p > '9')
			return fallback;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	return v;
}

static void fuzz_params(void)
{
	seed_of_run = number_arg("fuzz_seed", FUZZ_DEFAULT_SEED);
	iters_of_run = number_arg("fuzz_iters", FUZZ_DEFAULT_ITERS);
	if (iters_of_run == 0 || iters_of_run > FUZZ_MAX_ITERS)
		iters_of_run = FUZZ_DEFAULT_ITERS;
}

/* splitmix64: small, fast, and the whole state is the seed. */
static uint64_t next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

#define FUZZ_FAIL(i, fmt, ...)                                       \
	gt_fail(__FILE__, __LINE__, "seed %llu, iteration %u: " fmt, \
		(unsigned long long)seed_of_run, (unsigned)(i), __VA_ARGS__)

/* Records for the native pass, read back under marrow. */
static void *records(size_t bytes)
{
	void *p = bm_alloc_pages((bytes + 4095) / 4096);
	if (!p)
		gt_fail(__FILE__, __LINE__, "no memory for %zu bytes of records", bytes);
	return p;
}

static void free_records(void *p, size_t bytes)
{
	bm_free_pages(p, (bytes + 4095) / 4096);
}

/* ---- CPUID ---- */

static uint32_t random_leaf(uint64_t *s)
{
	uint64_t r = next(s);
	switch (r % 4) {
	case 0:
		return (uint32_t)(r >> 8) % (cpuid(0).eax + 2);
	case 1:
		return 0x80000000u + (uint32_t)(r >> 8) % (cpuid(0x80000000).eax - 0x80000000u + 2);
	case 2:
		return 0x40000000u + (uint32_t)(r >> 8) % 0x100;
	default:
		return (uint32_t)(r >> 32);
	}
}

/* The documented difference: CPUID.1:ECX[5] (VMX) reads 0. */
static void mask_documented_cpuid(uint32_t leaf, struct cpuid_regs *r)
{
	if (leaf == 1)
		r->ecx &= ~(1u << 5);
}

GUEST_TEST(fuzz, random_cpuid_leaves_read_as_natively)
{
	fuzz_params();
	size_t bytes = iters_of_run * sizeof(struct cpuid_regs);
	struct cpuid_regs *native = records(bytes);
	uint64_t s = seed_of_run;

	for (uint64_t i = 0; i < iters_of_run; i++) {
		uint32_t leaf = random_leaf(&s), sub = (uint32_t)next(&s) % 70;
		native[i] = cpuid_count(leaf, sub);
		mask_documented_cpuid(leaf, &native[i]);
	}
	vt_up(NULL);
	s = seed_of_run;
	for (uint64_t i = 0; i < iters_of_run; i++) {
		uint32_t leaf = random_leaf(&s), sub = (uint32_t)next(&s) % 70;
		struct cpuid_regs u = cpuid_count(leaf, sub);
		mask_documented_cpuid(leaf, &u);
		if (memcmp(&u, &native[i], sizeof(u)) != 0)
			FUZZ_FAIL(i, "CPUID %x.%x: %x %x %x %x under marrow, %x %x %x %x natively",
				  leaf, sub, u.eax, u.ebx, u.ecx, u.edx, native[i].eax,
				  native[i].ebx, native[i].ecx, native[i].edx);
	}
	vt_down();
	free_records(native, bytes);
	gt_note("seed %llu: %llu CPUID leaves", (unsigned long long)seed_of_run,
		(unsigned long long)iters_of_run);
}

/* ---- MSRs ---- */

struct msr_record {
	bool read_ok, stable, write_ok;
	uint64_t value;
};

static uint32_t random_msr(uint64_t *s)
{
	uint64_t r = next(s);
	switch (r % 5) {
	case 0:
		return (uint32_t)(r >> 8) % 0x2000;
	case 1:
		return 0xc0000000u + (uint32_t)(r >> 8) % 0x2000;
	case 2:
		return 0x400u + (uint32_t)(r >> 8) % 0x100; /* machine check and VMX */
	case 3:
		return 0xc0010000u + (uint32_t)(r >> 8) % 0x200;
	default:
		return (uint32_t)(r >> 32);
	}
}

/* MSRs the fuzzer reads but never writes back: a write with side effects
 * beyond the value (x2APIC registers send IPIs and EOIs; the TSC deadline
 * arms a timer; the TSC moves time). */
static bool write_excluded(uint32_t msr)
{
	return (msr >= 0x800 && msr <= 0x8ff) || msr == 0x6e0 ||
	       msr == 0x10 /* IA32_TIME_STAMP_COUNTER */ || msr == 0x3b /* IA32_TSC_ADJUST */;
}

/* The documented differences: FEATURE_CONTROL reads locked without VMXON
 * (and never takes writes), the VMX capability MSRs do not exist. */
static bool documented_msr(uint32_t msr)
{
	return msr == MSR_IA32_FEATURE_CONTROL || (msr >= 0x480 && msr <= 0x493);
}

static void msr_pass(uint32_t msr, struct msr_record *r)
{
	uint64_t again;
	r->read_ok = rdmsr_safe(msr, &r->value);
	r->stable = r->read_ok && rdmsr_safe(msr, &again) && again == r->value;
	r->write_ok = r->read_ok && !write_excluded(msr) && wrmsr_safe(msr, r->value);
}

GUEST_TEST(fuzz, random_msrs_read_and_write_back_as_natively)
{
	fuzz_params();
	size_t bytes = iters_of_run * sizeof(struct msr_record);
	struct msr_record *native = records(bytes);
	uint64_t s = seed_of_run, checked = 0;

	for (uint64_t i = 0; i < iters_of_run; i++)
		msr_pass(random_msr(&s), &native[i]);
	vt_up(NULL);
	s = seed_of_run;
	for (uint64_t i = 0; i < iters_of_run; i++) {
		uint32_t msr = random_msr(&s);
		struct msr_record u;
		msr_pass(msr, &u);
		if (documented_msr(msr))
			continue;
		checked++;
		const struct msr_record *n = &native[i];
		if (u.read_ok != n->read_ok || u.write_ok != n->write_ok ||
		    (n->stable && u.value != n->value))
			FUZZ_FAIL(i,
				  "MSR %x: read %d write %d value %llx under marrow, read %d write "
				  "%d value %llx%s natively",
				  msr, u.read_ok, u.write_ok, (unsigned long long)u.value,
				  n->read_ok, n->write_ok, (unsigned long long)n->value,
				  n->stable ? "" : " (changing)");
	}
	vt_down();
	free_records(native, bytes);
	gt_note("seed %llu: %llu MSR indices, %llu compared", (unsigned long long)seed_of_run,
		(unsigned long long)iters_of_run, (unsigned long long)checked);
}

/* ---- CR0 and CR4 ---- */

/* Bits flipped at random: the reserved ones (which must fault alike) and
 * those the kernel survives either way. Never PG, PE, PAE or the
 * cache-affecting ones that would make the run unbearably slow. */
#define CR0_FUZZ_BITS                                                                           \
	((1ull << 1) | (1ull << 2) | (1ull << 5) | (1ull << 16) | (1ull << 18) | (1ull << 29) | \
	 (0xffffull << 32) | (1ull << 6) | (1ull << 17) | (1ull << 20))
#define CR4_FUZZ_BITS                                                                            \
	((1ull << 0) | (1ull << 1) | (1ull << 2) | (1ull << 3) | (1ull << 4) | (1ull << 6) |     \
	 (1ull << 7) | (1ull << 8) | (1ull << 10) | (1ull << 11) | (1ull << 12) | (1ull << 13) | \
	 (1ull << 14) | (1ull << 15) | (1ull << 16) | (1ull << 19) | (1ull << 24) | (1ull << 27))

struct cr_write {
	unsigned cr; /* 0 or 4 */
	uint64_t value;
	uint64_t read_back;
};

static void write_cr(void *arg)
{
	struct cr_write *w = arg;
	if (w->cr == 0) {
		write_cr0(w->value);
		w->read_back = read_cr0();
	} else {
		write_cr4(w->value);
		w->read_back = read_cr4();
	}
}

struct cr_record {
	int vector;
	uint64_t read_back;
};

/* One of the set bits of bits, chosen by r. */
static uint64_t one_bit_of(uint64_t bits, uint64_t r)
{
	unsigned count = 0;
	for (uint64_t b = bits; b; b &= b - 1)
		count++; /* no libgcc here for __builtin_popcount */
	unsigned k = (unsigned)(r % count);
	for (;; k--) {
		uint64_t low = bits & -bits;
		if (k == 0)
			return low;
		bits &= ~low;
	}
}

static void cr_pass(uint64_t *s, struct cr_record *r, unsigned *cr, uint64_t *value)
{
	uint64_t orig0 = read_cr0(), orig4 = read_cr4();
	*cr = next(s) & 1 ? 4 : 0;
	uint64_t bits = *cr == 0 ? CR0_FUZZ_BITS : CR4_FUZZ_BITS;
	/* Mostly one bit at a time (each fault then has one cause); a quarter
	 * of the writes flip several. */
	uint64_t mask = next(s) % 4 ? one_bit_of(bits, next(s)) : next(s) & bits;
	*value = (*cr == 0 ? orig0 : orig4) ^ mask;
	struct cr_write w = { *cr, *value, 0 };
	r->vector = gt_trap_of(write_cr, &w, NULL);
	r->read_back = r->vector < 0 ? w.read_back : 0;
	write_cr4(orig4);
	write_cr0(orig0);
}

GUEST_TEST(fuzz, random_cr0_cr4_writes_behave_as_natively)
{
	fuzz_params();
	uint64_t n_iters = iters_of_run / 4 + 1; /* each write catches a fault */
	size_t bytes = n_iters * sizeof(struct cr_record);
	struct cr_record *native = records(bytes);
	uint64_t s = seed_of_run, documented = 0;
	unsigned cr;
	uint64_t value;

	for (uint64_t i = 0; i < n_iters; i++)
		cr_pass(&s, &native[i], &cr, &value);
	vt_up(NULL);
	s = seed_of_run;
	for (uint64_t i = 0; i < n_iters; i++) {
		struct cr_record u;
		cr_pass(&s, &u, &cr, &value);
		/* Documented: CR4.VMXE cannot be set under marrow (#GP). */
		if (cr == 4 && (value & CR4_VMXE) && !(read_cr4() & CR4_VMXE)) {
			documented++;
			if (u.vector != VEC_GP)
				FUZZ_FAIL(i, "CR4 <- %llx: vector %d, not #GP",
					  (unsigned long long)value, u.vector);
			continue;
		}
		if (u.vector != native[i].vector || u.read_back != native[i].read_back)
			FUZZ_FAIL(i,
				  "CR%u <- %llx: vector %d read %llx under marrow, vector %d read "
				  "%llx natively",
				  cr, (unsigned long long)value, u.vector,
				  (unsigned long long)u.read_back, native[i].vector,
				  (unsigned long long)native[i].read_back);
	}
	vt_down();
	free_records(native, bytes);
	gt_note("seed %llu: %llu CR writes (%llu setting CR4.VMXE)",
		(unsigned long long)seed_of_run, (unsigned long long)n_iters,
		(unsigned long long)documented);
}

/* ---- XSETBV ---- */

struct xsetbv_record {
	bool ok;
	uint64_t xcr0_after;
};

static void xsetbv_pass(uint64_t *s, struct xsetbv_record *r, uint32_t *index, uint64_t *value)
{
	uint64_t orig = xgetbv(0), roll = next(s);
	*index = roll % 8 ? 0 : (uint32_t)(next(s) % 3);
	*value = roll % 3 ? orig ^ (next(s) & 0xff) : next(s);
	r->ok = xsetbv_safe(*index, *value);
	r->xcr0_after = xgetbv(0);
	xsetbv_safe(0, orig);
}

GUEST_TEST(fuzz, random_xsetbv_operands_behave_as_natively)
{
	if (!(read_cr4() & CR4_OSXSAVE)) {
		gt_note("no XSAVE on this CPU model: nothing to fuzz");
		return;
	}
	fuzz_params();
	size_t bytes = iters_of_run * sizeof(struct xsetbv_record);
	struct xsetbv_record *native = records(bytes);
	uint64_t s = seed_of_run, value;
	uint32_t index;

	for (uint64_t i = 0; i < iters_of_run; i++)
		xsetbv_pass(&s, &native[i], &index, &value);
	vt_up(NULL);
	s = seed_of_run;
	for (uint64_t i = 0; i < iters_of_run; i++) {
		struct xsetbv_record u;
		xsetbv_pass(&s, &u, &index, &value);
		if (u.ok != native[i].ok || u.xcr0_after != native[i].xcr0_after)
			FUZZ_FAIL(i,
				  "XSETBV %u, %llx: ok %d XCR0 %llx under marrow, ok %d %llx "
				  "natively",
				  index, (unsigned long long)value, u.ok,
				  (unsigned long long)u.xcr0_after, native[i].ok,
				  (unsigned long long)native[i].xcr0_after);
	}
	vt_down();
	free_records(native, bytes);
	gt_note("seed %llu: %llu XSETBV operands", (unsigned long long)seed_of_run,
		(unsigned long long)iters_of_run);
}

/* ---- VMCALL ---- */

#define SCRATCH_PAGES 16

struct vmcall_args {
	uint64_t rax, rcx, rdx, r8, r9;
	struct mw_hc_result out;
	uint64_t rbx_after, rsi_after, rdi_after, r10_after;
};

static void raw_vmcall(void *arg)
{
	struct vmcall_args *a = arg;
	uint64_t in8 = a->r8, in9 = a->r9;
	register uint64_t r8 __asm__("r8") = in8;
	register uint64_t r9 __asm__("r9") = in9;
	register uint64_t r10 __asm__("r10") = 0x1010101010101010ull;
	uint64_t rax = a->rax, rdx = a->rdx, rbx = 0xb0b0b0b0b0b0b0b0ull,
		 rsi = 0x5151515151515151ull, rdi = 0xd1d1d1d1d1d1d1d1ull;
	__asm__ volatile("vmcall"
			 : "+a"(rax), "+d"(rdx), "+r"(r8), "+b"(rbx), "+S"(rsi), "+D"(rdi),
			   "+r"(r10)
			 : "c"(a->rcx), "r"(r9)
			 : "memory");
	a->out.status = rax;
	a->out.rdx = rdx;
	a->out.r8 = r8;
	a->rbx_after = rbx;
	a->rsi_after = rsi;
	a->rdi_after = rdi;
	a->r10_after = r10;
}

/* A guest pointer for a hypercall: null, non-canonical, MMIO, unmapped,
 * or inside the scratch buffer (never anything else the kernel owns). */
static uint64_t random_pointer(uint64_t *s, uint8_t *scratch)
{
	switch (next(s) % 5) {
	case 0:
		return 0;
	case 1:
		return 0x8000000000000000ull | next(s);
	case 2:
		return 0xfee00000ull + (next(s) & 0xfff);
	case 3:
		return (1ull << 46) + (next(s) & 0xffffff);
	default:
		return (uint64_t)(uintptr_t)scratch + next(s) % (SCRATCH_PAGES * 4096 / 2);
	}
}

GUEST_TEST(fuzz, random_vmcalls_never_crash_and_answer_as_documented)
{
	fuzz_params();
	uint8_t *scratch = records(SCRATCH_PAGES * 4096);
	uint64_t s = seed_of_run, ud = 0, answered = 0;
	/* 4 and 5 would devirtualize: the guest asked for it, not a fuzz
	 * finding. */
	static const uint64_t functions[] = { 0, 1, 2, 3, 6, 7, 8, 9, 10, 11, 12, 99, 1ull << 40 };

	vt_up(NULL);
	for (uint64_t i = 0; i < iters_of_run; i++) {
		struct vmcall_args a = { 0 };
		bool keyed = next(&s) % 4 != 0;
		a.rax = functions[next(&s) % (sizeof(functions) / sizeof(functions[0]))];
		a.rcx = keyed ? mw.cfg.hypercall_key : next(&s);
		a.rdx = random_pointer(&s, scratch);
		a.r8 = next(&s) % 2 ? next(&s) % (SCRATCH_PAGES * 4096 / 2) : next(&s);
		a.r9 = next(&s) % 2 ? MW_HC_THIS_CPU : next(&s) % (platform_cpu_count() + 2);
		if (a.rax == MW_HC_READ_MSR)
			a.rdx = (uint32_t)next(&s); /* an MSR index, not a pointer */
		int vector = gt_trap_of(raw_vmcall, &a, NULL);
		if (!keyed && a.rcx != mw.cfg.hypercall_key) {
			if (vector != VEC_UD)
				FUZZ_FAIL(i, "unkeyed VMCALL: vector %d, not #UD", vector);
			ud++;
			continue;
		}
		if (vector != -1)
			FUZZ_FAIL(i, "keyed VMCALL %llx: vector %d", (unsigned long long)a.rax,
				  vector);
		if (a.out.status > MW_HC_ERR_BUSY)
			FUZZ_FAIL(i, "VMCALL %llx: status %llu is not one of the documented ones",
				  (unsigned long long)a.rax, (unsigned long long)a.out.status);
		if ((a.rax == 0 || a.rax > MW_HC_PROBE_MTF) &&
		    a.out.status != MW_HC_ERR_UNKNOWN_FUNCTION)
			FUZZ_FAIL(i, "unknown function %llx: status %llu",
				  (unsigned long long)a.rax, (unsigned long long)a.out.status);
		if (a.rbx_after != 0xb0b0b0b0b0b0b0b0ull || a.rsi_after != 0x5151515151515151ull ||
		    a.rdi_after != 0xd1d1d1d1d1d1d1d1ull || a.r10_after != 0x1010101010101010ull)
			FUZZ_FAIL(i, "VMCALL %llx changed a register it must preserve",
				  (unsigned long long)a.rax);
		answered++;
	}
	/* Still answering, on every CPU. */
	GT_ASSERT_EQ(vt_call(MW_HC_PING, 0, 0, 0).rdx, MW_HC_SIGNATURE);
	vt_down();
	free_records(scratch, SCRATCH_PAGES * 4096);
	gt_note("seed %llu: %llu VMCALLs (%llu unkeyed: #UD, %llu answered)",
		(unsigned long long)seed_of_run, (unsigned long long)iters_of_run,
		(unsigned long long)ud, (unsigned long long)answered);
}

/* From ring 3 every VMCALL raises #UD, whatever the registers hold. */
GUEST_TEST(fuzz, random_vmcalls_from_ring_3_raise_ud)
{
	fuzz_params();
	uint64_t s = seed_of_run, n = iters_of_run / 20 + 1;

	vt_up(NULL);
	for (uint64_t i = 0; i < n; i++) {
		/* mov rax, imm64; mov rcx, imm64; mov rdx, imm64; vmcall; hlt */
		uint8_t code[34] = { 0x48, 0xb8 };
		uint64_t rax = next(&s) % 16, rcx = next(&s) % 2 ? mw.cfg.hypercall_key : next(&s),
			 rdx = next(&s);
		memcpy(code + 2, &rax, 8);
		code[10] = 0x48;
		code[11] = 0xb9;
		memcpy(code + 12, &rcx, 8);
		code[20] = 0x48;
		code[21] = 0xba;
		memcpy(code + 22, &rdx, 8);
		code[30] = 0x0f;
		code[31] = 0x01;
		code[32] = 0xc1;
		code[33] = 0xf4;
		struct trap_info t;
		GT_ASSERT(user_run(code, sizeof(code), &t));
		if (t.vector != VEC_UD || t.rip != 30)
			FUZZ_FAIL(i, "ring-3 VMCALL %llx: vector %llu at +%llu, not #UD at +30",
				  (unsigned long long)rax, (unsigned long long)t.vector,
				  (unsigned long long)t.rip);
	}
	vt_down();
	gt_note("seed %llu: %llu ring-3 VMCALLs", (unsigned long long)seed_of_run,
		(unsigned long long)n);
}
