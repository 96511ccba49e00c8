/* platform.h on Windows. Everything here runs outside VMX root mode, in
 * the calling thread or in the DPCs of platform_on_each_cpu; nothing is
 * called from root mode (the core never does). */
#include "platform/platform.h"

#include "arch/x86/cpu_bits.h"
#include "arch/x86/intrin.h"
#include "core/marrow.h"
#include "core/mw_string.h"
#include "win_fanout.h"
#include "win_memmap.h"
#include "win_platform.h"

#define MW_PAGE_SIZE 4096
#define MEM_MAP_MAX 64

static struct platform_mem_range mem_map[MEM_MAP_MAX];
static size_t mem_map_count;
static struct win_phys_run phys_runs[WIN_MEMMAP_MAX_RUNS];
static struct win_fanout fanout;
static volatile LONG fanout_failures;
static KSPIN_LOCK hypercall_lock;

NTSTATUS win_platform_init(void)
{
	/* RAM runs, ending with a zero entry; the caller frees the array
	 * (ntddk.h, MmGetPhysicalMemoryRanges). */
	PPHYSICAL_MEMORY_RANGE r = MmGetPhysicalMemoryRanges();
	size_t n = 0;

	KeInitializeSpinLock(&hypercall_lock);
	if (!r)
		return STATUS_INSUFFICIENT_RESOURCES;
	for (; n < WIN_MEMMAP_MAX_RUNS; n++) {
		phys_runs[n].base = (uint64_t)r[n].BaseAddress.QuadPart;
		phys_runs[n].bytes = (uint64_t)r[n].NumberOfBytes.QuadPart;
		if (!phys_runs[n].base && !phys_runs[n].bytes)
			break;
	}
	ExFreePool(r);
	mem_map_count = win_memmap_from_runs(phys_runs, n, mem_map, MEM_MAP_MAX);
	return mem_map_count ? STATUS_SUCCESS : STATUS_NOT_FOUND;
}

void *platform_alloc_pages(size_t count)
{
	PHYSICAL_ADDRESS lowest, highest, boundary;

	lowest.QuadPart = 0;
	highest.QuadPart = -1;
	boundary.QuadPart = 0;
	/* Physically contiguous, write-back cached like the rest of RAM (the
	 * VMCS and VMXON regions must be write-back, SDM 3D A.1), page-aligned
	 * by construction; not zeroed, so zero it. */
	void *va = MmAllocateContiguousMemorySpecifyCache(count * MW_PAGE_SIZE, lowest, highest,
							  boundary, MmCached);
	if (va)
		memset(va, 0, count * MW_PAGE_SIZE);
	return va;
}

void platform_free_pages(void *va, size_t count)
{
	(void)count; /* the allocation knows its size */
	MmFreeContiguousMemory(va);
}

/* Not yet: executable pool memory on x64 Windows is not guaranteed to lie
 * within 2 GiB of ntoskrnl, which a 5-byte patch needs (and PatchGuard
 * watches kernel code). Inline hooks and the LSTAR hook report
 * "unsupported" here; MSR hooks, page substitution and exception hooks
 * need no generated code. */
void *platform_alloc_code(size_t pages, void **write)
{
	(void)pages;
	*write = NULL;
	return NULL;
}

void platform_free_code(void *code, void *write, size_t pages)
{
	(void)code;
	(void)write;
	(void)pages;
}

/* A VM exit leaves TR's limit at 0x67 (SDM 3C 28.5.2), which is what an
 * x64 Windows TSS has anyway (no I/O permission bitmap). Root mode's own
 * translations stay cached under the PCID its CR3 named: toggling CR4.PGE
 * drops every PCID's entries, global ones included (SDM 3A 4.10.4.1). */
void platform_cpu_left_vmx(void)
{
	uint64_t cr4 = read_cr4();
	write_cr4(cr4 ^ CR4_PGE);
	write_cr4(cr4);
}

/* KeIpiGenericCall does not show the interrupted context. */
uint64_t *platform_interrupted_rip(void)
{
	return NULL;
}

/* Nothing generated runs here (platform_alloc_code gives nothing). */
void platform_quiesce(const void *code, size_t len)
{
	(void)code;
	(void)len;
}

uint64_t platform_virt_to_phys(const void *va)
{
	return (uint64_t)MmGetPhysicalAddress((PVOID)va).QuadPart;
}

void *platform_map_mmio(uint64_t pa, size_t len)
{
	PHYSICAL_ADDRESS p;
	p.QuadPart = (LONGLONG)pa;
	return MmMapIoSpace(p, len, MmNonCached);
}

void platform_unmap_mmio(void *va, size_t len)
{
	MmUnmapIoSpace(va, len);
}

void *platform_phys_to_virt(uint64_t pa)
{
	PHYSICAL_ADDRESS p;
	p.QuadPart = (LONGLONG)pa;
	/* The core asks only for page-table pages (its host page table copies
	 * the kernel's PML4), which the kernel maps. */
	return MmGetVirtualForPhysical(p);
}

uint64_t platform_kernel_va_start(void)
{
	/* The kernel half of the x64 address space: the host page table copies
	 * PML4 slots 256-511 and no process's user mappings. */
	return 0xffff800000000000ull;
}

static VOID NTAPI fanout_dpc(PKDPC dpc, PVOID context, PVOID arg1, PVOID arg2)
{
	(void)dpc;
	win_fanout_run(context, KeGetCurrentProcessorNumberEx(NULL));
	/* Every CPU finishes fn before any returns from its DPC, then the
	 * initiator is released (nt_decls.h). */
	KeSignalCallDpcSynchronize(arg2);
	KeSignalCallDpcDone(arg1);
}

void platform_on_each_cpu(void (*fn)(void *arg), void *arg)
{
	/* Not reentrant (platform.h); the driver serializes its callers. */
	win_fanout_init(&fanout, fn, arg, platform_cpu_count());
	KeGenericCallDpc(fanout_dpc, &fanout);
	if (!win_fanout_complete(&fanout)) {
		InterlockedIncrement(&fanout_failures);
		DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_ERROR_LEVEL,
			   "marrow: broadcast reached %u of %u CPUs (first missing: %u, %u "
			   "rejected)\n",
			   fanout.runs, fanout.cpu_count, win_fanout_first_missing(&fanout),
			   fanout.rejected);
	}
}

unsigned win_platform_take_fanout_failures(void)
{
	return (unsigned)InterlockedExchange(&fanout_failures, 0);
}

unsigned platform_cpu_index(void)
{
	/* The system-wide index across processor groups, the same numbering
	 * KeGenericCallDpc covers. */
	return KeGetCurrentProcessorNumberEx(NULL);
}

unsigned platform_cpu_count(void)
{
	return KeQueryActiveProcessorCountEx(ALL_PROCESSOR_GROUPS);
}

size_t platform_memory_map(struct platform_mem_range *out, size_t max)
{
	for (size_t i = 0; i < mem_map_count && i < max && i < MEM_MAP_MAX; i++)
		out[i] = mem_map[i];
	return mem_map_count;
}

void platform_log(const char *text, size_t len)
{
	/* Never from root mode (platform.h). Shown when the Debug Print
	 * Filter lets IHVDRIVER info through (docs/windows.md). */
	DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL, "%.*s", (int)len, text);
}

bool win_hypercall(uint64_t function, uint64_t a1, uint64_t a2, uint64_t a3, struct mw_hc_result *r)
{
	KIRQL old = KeAcquireSpinLockRaiseToDpc(&hypercall_lock);
	/* At DISPATCH_LEVEL the thread stays on this CPU between the check
	 * and the VMCALL. */
	bool ok = mw.active && mw_cpu_virtualized(KeGetCurrentProcessorNumberEx(NULL));
	if (ok)
		*r = mw_vmcall(function, mw.cfg.hypercall_key, a1, a2, a3);
	KeReleaseSpinLock(&hypercall_lock, old);
	return ok;
}
