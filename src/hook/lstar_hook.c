#include "lstar_hook.h"

#include "arch/x86/intrin.h"
#include "arch/x86/msr.h"
#include "core/marrow.h"
#include "core/mw_string.h"
#include "hook/msr_hook.h"
#include "hook/stub.h"
#include "marrow/hypercall.h"
#include "platform/platform.h"

/* The stub (stub.h) in a page from platform_alloc_code; the counters it
 * increments in marrow's data. */
struct lstar_state {
	uint8_t *code, *write;
	bool on;
	struct mw_msr_hook *msr; /* its shadow is the guest's entry */
};

static struct lstar_state lstar;
static volatile uint64_t syscall_counts[STUB_SYSCALLS + 1];

static enum mw_status fail(struct mw_error *err, enum mw_status s, const char *why)
{
	mw_error_set(err, s, -1, MW_STEP_NONE, "LSTAR hook: %s", why);
	return s;
}

struct entry_check {
	uint64_t entry;
	volatile bool differs;
};

static void check_entry(void *arg)
{
	struct entry_check *c = arg;
	if (rdmsr(MSR_IA32_LSTAR) != c->entry)
		c->differs = true;
}

enum mw_status mw_lstar_hook(struct mw_error *err)
{
	if (!mw.active)
		return fail(err, MW_ERR_NOT_VIRTUALIZED, "marrow is not running");
	if (lstar.on)
		return fail(err, MW_ERR_EXISTS, "LSTAR is already hooked");
	/* One shadow serves every CPU: they must agree on the entry. */
	struct entry_check check = { .entry = rdmsr(MSR_IA32_LSTAR) };
	platform_on_each_cpu(check_entry, &check);
	if (check.differs)
		return fail(err, MW_ERR_UNSUPPORTED, "the CPUs' LSTARs differ");
	uint64_t counts_at = (uint64_t)(uintptr_t)syscall_counts;
	if (!stub_fits_abs32(counts_at) || !stub_fits_abs32(counts_at + 8 * STUB_SYSCALLS))
		return fail(err, MW_ERR_UNSUPPORTED,
			    "marrow's data is not addressable with 32-bit displacements");
	void *write;
	uint8_t *code = platform_alloc_code(1, &write);
	if (!code)
		return fail(err, MW_ERR_UNSUPPORTED,
			    "the platform gives no executable memory near the kernel");
	enum mw_status s = mw_msr_hook(MSR_IA32_LSTAR, MW_MSR_READ_SHADOW, MW_MSR_WRITE_SHADOW,
				       check.entry, &lstar.msr, err);
	if (s != MW_OK) {
		platform_free_code(code, write, 1);
		return s;
	}
	uint64_t entry_at = (uint64_t)(uintptr_t)&lstar.msr->shadow;
	if (!stub_fits_abs32(entry_at)) {
		mw_msr_unhook(lstar.msr);
		platform_free_code(code, write, 1);
		return fail(err, MW_ERR_UNSUPPORTED,
			    "marrow's data is not addressable with 32-bit displacements");
	}
	memset((void *)syscall_counts, 0, sizeof(syscall_counts));
	stub_lstar_build(write, counts_at, entry_at);
	lstar.code = code;
	lstar.write = write;
	lstar.on = true;
	/* From here every CPU's SYSCALL goes through the stub; RDMSR already
	 * returns the shadow. */
	msr_hook_force_real(lstar.msr, (uint64_t)(uintptr_t)code);
	return MW_OK;
}

enum mw_status mw_lstar_unhook(void)
{
	if (!lstar.on)
		return MW_ERR_NOT_FOUND;
	mw_msr_unhook(lstar.msr);
	/* Every CPU's LSTAR is the guest's entry again; a CPU that took a
	 * SYSCALL just before may still be in the stub (straight-line code,
	 * usually with interrupts masked by IA32_FMASK): wait for it. */
	platform_quiesce(lstar.code, STUB_LSTAR_LEN);
	platform_free_code(lstar.code, lstar.write, 1);
	memset(&lstar, 0, sizeof(lstar));
	return MW_OK;
}

uint64_t mw_syscall_count(uint64_t n)
{
	if (!lstar.on)
		return 0;
	return syscall_counts[n < STUB_SYSCALLS ? n : STUB_SYSCALLS];
}

uint64_t mw_lstar_guest_entry(void)
{
	return lstar.msr ? lstar.msr->shadow : 0;
}

uint64_t mw_lstar_stub(void)
{
	return (uint64_t)(uintptr_t)lstar.code;
}
