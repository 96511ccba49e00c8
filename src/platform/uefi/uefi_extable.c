/* marrow's "safe" instructions (arch/x86/safe.h: RDMSR of an MSR a CPU
 * model may lack, XSETBV) fault outside root mode too, while marrow probes
 * and sets up each CPU. Their exception-table entries are honoured through
 * the firmware's own exception dispatch: EFI_CPU_ARCH_PROTOCOL's
 * RegisterInterruptHandler (PI volume 2, 12.3), whose handlers get the
 * saved context with a writable RIP (UEFI 18.2, EFI_SYSTEM_CONTEXT_X64). The
 * IDT it fills is the one the APs use too. */
#include <efi.h>

#include "arch/x86/safe.h"
#include "efi_protocols.h"
#include "uefi_platform.h"

extern const struct extable_entry __extable_start[], __extable_end[];

static EFI_GUID cpu_arch_guid = MW_EFI_CPU_ARCH_GUID;
static struct mw_efi_cpu_arch *cpu_arch;
static const EFI_EXCEPTION_TYPE vectors[] = { 6 /* #UD */, 13 /* #GP */ };
static bool installed[2];

static VOID EFIAPI on_fault(EFI_EXCEPTION_TYPE type, EFI_SYSTEM_CONTEXT ctx)
{
	uint64_t fixup = extable_find(__extable_start,
				      ((uintptr_t)__extable_end - (uintptr_t)__extable_start) /
					      sizeof(__extable_start[0]),
				      ctx.SystemContextX64->Rip);
	if (fixup) {
		ctx.SystemContextX64->Rip = fixup;
		return;
	}
	/* Not marrow's: there is no other handler to pass it to once this
	 * one is registered, so say what happened and stop here rather than
	 * return into the faulting instruction forever. */
	uefi_printf("marrow: unexpected exception %llu at rip %llx\n", (unsigned long long)type,
		    (unsigned long long)ctx.SystemContextX64->Rip);
	for (;;)
		__asm__ volatile("cli; hlt");
}

EFI_STATUS uefi_extable_install(void)
{
	EFI_STATUS s = uefi.bs->LocateProtocol(&cpu_arch_guid, NULL, (void **)&cpu_arch);
	if (EFI_ERROR(s))
		return s;
	for (unsigned i = 0; i < 2; i++) {
		s = cpu_arch->RegisterInterruptHandler(cpu_arch, vectors[i], on_fault);
		if (EFI_ERROR(s)) {
			uefi_extable_remove();
			return s;
		}
		installed[i] = true;
	}
	return EFI_SUCCESS;
}

void uefi_extable_remove(void)
{
	for (unsigned i = 0; i < 2; i++)
		if (installed[i] && cpu_arch)
			cpu_arch->RegisterInterruptHandler(cpu_arch, vectors[i], NULL);
	installed[0] = installed[1] = false;
}
