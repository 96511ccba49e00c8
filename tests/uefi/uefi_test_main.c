/* marrowtest.efi's harness: arguments, fault catching, CPUs, TAP, and the
 * end of the run (the verdict line tests/e2e/bochs.py reads, then Bochs'
 * magic breakpoint). */
#include <efi.h>
#include <efidebug.h>
#include <efilib.h>
#include <stdarg.h>

#include "arch/x86/intrin.h"
#include "arch/x86/safe.h"
#include "core/fmt.h"
#include "src/platform/uefi/efi_protocols.h"
#include "uefi_test.h"

extern const struct extable_entry __extable_start[], __extable_end[];

uint64_t ut_key;
static EFI_HANDLE self_image;
static EFI_SYSTEM_TABLE *st;
/* After ExitBootServices: COM1 directly (OVMF left it set up). */
static bool serial_only;
static struct mw_efi_mp_services *mp;
static struct mw_efi_cpu_arch *cpu_arch;
static UINTN bsp_number;
static unsigned cpus = 1;
static volatile bool failed;
/* The vector the last caught fault had; faults are caught on the BSP. */
static volatile int caught_vector = -1;

static void serial_char(char c)
{
	for (int i = 0; i < 100000 && !(inb(0x3fd) & 0x20); i++)
		;
	outb(0x3f8, (uint8_t)c);
}

static void out(const char *text)
{
	CHAR16 buf[260];
	size_t n = 0;
	if (serial_only) {
		for (; *text; text++) {
			if (*text == '\n')
				serial_char('\r');
			serial_char(*text);
		}
		return;
	}
	for (; *text && n < 256; text++) {
		if (*text == '\n')
			buf[n++] = L'\r';
		buf[n++] = (CHAR16)(unsigned char)*text;
	}
	buf[n] = 0;
	st->ConOut->OutputString(st->ConOut, buf);
}

static void outf(const char *fmt, ...)
{
	char line[240];
	va_list ap;
	va_start(ap, fmt);
	mw_vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	out(line);
}

void ut_note(const char *fmt, ...)
{
	char line[200];
	va_list ap;
	va_start(ap, fmt);
	mw_vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	outf("# %s\n", line);
}

void ut_fail(const char *file, int line, const char *fmt, ...)
{
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	mw_vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	failed = true;
	/* Only the BSP may print (UEFI 12.4); an AP's failure shows as the
	 * test's own check of what the APs recorded. */
	if (mp) {
		UINTN me;
		if (EFI_ERROR(mp->WhoAmI(mp, &me)) || me != bsp_number)
			return;
	}
	outf("# %s:%d: %s\n", file, line, msg);
}

static VOID EFIAPI on_fault(EFI_EXCEPTION_TYPE type, EFI_SYSTEM_CONTEXT ctx)
{
	uint64_t fixup = extable_find(__extable_start,
				      ((uintptr_t)__extable_end - (uintptr_t)__extable_start) /
					      sizeof(__extable_start[0]),
				      ctx.SystemContextX64->Rip);
	if (!fixup) {
		outf("# unexpected exception %lld at rip %llx\nmarrow: run failed: exception\n",
		     (long long)type, (unsigned long long)ctx.SystemContextX64->Rip);
		for (;;)
			__asm__ volatile("cli; hlt");
	}
	caught_vector = (int)type;
	ctx.SystemContextX64->Rip = fixup;
}

int ut_rdmsr(uint32_t msr, uint64_t *value)
{
	caught_vector = -1;
	if (rdmsr_safe(msr, value))
		return -1;
	return caught_vector;
}

int ut_vmxon(uint64_t pa)
{
	caught_vector = -1;
	__asm__ volatile goto("1: vmxon %0\n\t" EXTABLE_ENTRY("1b", "%l[fault]")::"m"(pa)
			      : "cc", "memory"
			      : fault);
	return -1;
/* cppcheck-suppress unusedLabel ; the asm goto jumps here */
fault:
	return caught_vector;
}

int ut_vmcall(uint64_t fn, uint64_t key, struct mw_hc_result *r)
{
	uint64_t rax = fn, rdx = 0;
	register uint64_t r8 __asm__("r8") = 0;
	register uint64_t r9 __asm__("r9") = 0;

	caught_vector = -1;
	__asm__ volatile goto("1: vmcall\n\t" EXTABLE_ENTRY("1b", "%l[fault]")
			      : "+a"(rax), "+d"(rdx), "+r"(r8), "+r"(r9)
			      : "c"(key)
			      : "memory"
			      : fault);
	r->status = rax;
	r->rdx = rdx;
	r->r8 = r8;
	return -1;
/* cppcheck-suppress unusedLabel ; the asm goto jumps here */
fault:
	return caught_vector;
}

unsigned ut_cpu_count(void)
{
	return cpus;
}

struct each {
	void (*fn)(unsigned cpu, void *arg);
	void *arg;
	volatile unsigned ran;
	uint32_t apic_ids[64];
};

static unsigned index_of_this_cpu(struct each *e)
{
	uint32_t id = cpuid(1).ebx >> 24;
	for (unsigned i = 0; i < cpus && i < 64; i++)
		if (e->apic_ids[i] == id)
			return i;
	return 0;
}

static VOID EFIAPI ap_run(VOID *arg)
{
	struct each *e = arg;
	e->fn(index_of_this_cpu(e), e->arg);
	__atomic_fetch_add(&e->ran, 1, __ATOMIC_SEQ_CST);
}

static struct each each;

bool ut_memory_map(void *map, uint64_t *size, uint64_t *desc_size)
{
	UINTN s = *size, key, ds;
	UINT32 version;
	if (EFI_ERROR(st->BootServices->GetMemoryMap(&s, map, &key, &ds, &version)))
		return false;
	*size = s;
	*desc_size = ds;
	return true;
}

bool ut_exit_boot_services(void)
{
	static uint8_t map[65536];

	/* A notification may change the map: then the key is stale and the
	 * call is repeated with a new one (UEFI 7.4). */
	for (int attempt = 0; attempt < 2; attempt++) {
		UINTN size = sizeof(map), key, ds;
		UINT32 version;
		if (EFI_ERROR(st->BootServices->GetMemoryMap(&size, (void *)map, &key, &ds,
							     &version)))
			return false;
		if (!EFI_ERROR(st->BootServices->ExitBootServices(self_image, key))) {
			serial_only = true;
			mp = NULL; /* boot services are gone */
			return true;
		}
	}
	return false;
}

bool ut_on_each_cpu(void (*fn)(unsigned cpu, void *arg), void *arg)
{
	each.fn = fn;
	each.arg = arg;
	each.ran = 0;
	if (mp && cpus > 1) {
		/* 5 s of (emulated) time: far more than any test needs. */
		EFI_STATUS s = mp->StartupAllAPs(mp, ap_run, FALSE, NULL, 5000000, &each, NULL);
		if (EFI_ERROR(s))
			ut_note("StartupAllAPs: status 0x%llx", (unsigned long long)s);
	}
	fn(index_of_this_cpu(&each), arg);
	each.ran++;
	return each.ran == cpus;
}

static void find_cpus(void)
{
	EFI_GUID guid = MW_EFI_MP_SERVICES_GUID;
	UINTN total, enabled;

	each.apic_ids[0] = cpuid(1).ebx >> 24;
	if (EFI_ERROR(st->BootServices->LocateProtocol(&guid, NULL, (void **)&mp)) ||
	    EFI_ERROR(mp->GetNumberOfProcessors(mp, &total, &enabled)) ||
	    EFI_ERROR(mp->WhoAmI(mp, &bsp_number))) {
		mp = NULL;
		return;
	}
	for (UINTN n = 0; n < total && cpus < 64; n++) {
		struct mw_efi_processor_information info;
		if (n == bsp_number || EFI_ERROR(mp->GetProcessorInfo(mp, n, &info)) ||
		    !(info.StatusFlag & MW_PROCESSOR_ENABLED_BIT))
			continue;
		each.apic_ids[cpus++] = (uint32_t)info.ProcessorId;
	}
}

/* A word on the command line (the loaded image's options). */
static bool has_word(EFI_HANDLE image, const char *word)
{
	EFI_LOADED_IMAGE *li;
	if (EFI_ERROR(st->BootServices->HandleProtocol(image, &LoadedImageProtocol, (void **)&li)))
		return false;
	const CHAR16 *s = li->LoadOptions;
	size_t n = li->LoadOptionsSize / 2;
	for (size_t i = 0; i < n && s[i]; i++) {
		if (i > 0 && s[i - 1] != ' ')
			continue;
		size_t j = 0;
		while (word[j] && i + j < n && s[i + j] == (CHAR16)word[j])
			j++;
		if (!word[j] && (i + j == n || s[i + j] == 0 || s[i + j] == ' '))
			return true;
	}
	return false;
}

static bool parse_key(EFI_HANDLE image)
{
	EFI_LOADED_IMAGE *li;
	if (EFI_ERROR(st->BootServices->HandleProtocol(image, &LoadedImageProtocol, (void **)&li)))
		return false;
	const CHAR16 *s = li->LoadOptions;
	size_t n = li->LoadOptionsSize / 2;
	for (size_t i = 0; i + 4 < n && s[i]; i++) {
		if (s[i] != 'k' || s[i + 1] != 'e' || s[i + 2] != 'y' || s[i + 3] != '=')
			continue;
		uint64_t v = 0;
		size_t j = i + 4;
		if (j + 1 < n && s[j] == '0' && (s[j + 1] == 'x' || s[j + 1] == 'X'))
			j += 2;
		for (; j < n && s[j]; j++) {
			unsigned d;
			if (s[j] >= '0' && s[j] <= '9')
				d = s[j] - '0';
			else if (s[j] >= 'a' && s[j] <= 'f')
				d = s[j] - 'a' + 10;
			else
				break;
			v = v << 4 | d;
		}
		ut_key = v;
		return true;
	}
	return false;
}

/* The verdict line, then COM1's transmitter drained (LSR bit 6), then
 * Bochs' magic breakpoint, which the runner's debugger answers with quit. */
static void end_run(bool ok)
{
	out(ok ? "marrow: run complete\n" : "marrow: run failed: tests failed\n");
	for (int i = 0; i < 1000000 && !(inb(0x3fd) & 0x40); i++)
		;
	__asm__ volatile("xchg %%bx, %%bx" ::: "memory");
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab);
EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	EFI_GUID cpu_guid = MW_EFI_CPU_ARCH_GUID;
	unsigned bad = 0;

	InitializeLib(image, systab);
	st = systab;
	self_image = image;
	if (!parse_key(image)) {
		out("marrowtest: usage: marrowtest.efi key=HEX\nmarrow: run failed: no key\n");
		end_run(false);
		return EFI_INVALID_PARAMETER;
	}
	if (EFI_ERROR(st->BootServices->LocateProtocol(&cpu_guid, NULL, (void **)&cpu_arch)) ||
	    EFI_ERROR(cpu_arch->RegisterInterruptHandler(cpu_arch, 6, on_fault)) ||
	    EFI_ERROR(cpu_arch->RegisterInterruptHandler(cpu_arch, 13, on_fault))) {
		out("marrow: run failed: cannot catch #UD and #GP\n");
		end_run(false);
		return EFI_UNSUPPORTED;
	}
	find_cpus();
	/* `more`: the first part of a run whose second part is `seal` (the
	 * plan and the verdict come at its end); `seal`: that second part. */
	bool more = has_word(image, "more"), seal = has_word(image, "seal");
	const struct ut_test *tests = seal ? ut_seal_tests : ut_tests;
	unsigned count = seal ? ut_seal_test_count : ut_test_count;
	unsigned first = seal ? ut_test_count + 1 : 1;
	if (more || seal)
		outf("TAP version 13\n");
	else
		outf("TAP version 13\n1..%u\n", ut_test_count);
	for (unsigned i = 0; i < count; i++) {
		failed = false;
		tests[i].fn();
		bad += failed;
		outf("%s %u - %s\n", failed ? "not ok" : "ok", first + i, tests[i].name);
	}
	outf("# uefi tests%s: %u run, %u failed, %u CPUs\n", seal ? " (seal)" : "", count, bad,
	     cpus);
	if (seal)
		outf("1..%u\n", ut_test_count + ut_seal_test_count);
	if (!serial_only) {
		cpu_arch->RegisterInterruptHandler(cpu_arch, 6, NULL);
		cpu_arch->RegisterInterruptHandler(cpu_arch, 13, NULL);
	}
	if (more)
		return EFI_SUCCESS;
	end_run(bad == 0);
	return EFI_SUCCESS;
}
