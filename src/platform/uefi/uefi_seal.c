/* The UEFI seal (uefi_seal.h). At ExitBootServices the notification below
 * issues MW_HC_SEAL (core/seal.h): every CPU's EPT maps marrow's ranges
 * not present, and marrow serves PING, INFO and STATS only. It is the last
 * marrow code that runs as the guest (UEFI 7.4: the OS owns the machine
 * once ExitBootServices returns; marrow.efi's driver has returned long
 * before, and marrowldr.efi's code waits in StartImage for a loader that
 * never comes back), so nothing of marrow's may stay visible:
 * the original image the firmware loaded is not marrow's (boot-services or
 * loader memory that the OS reuses) and was never in the list. */
#include <efi.h>

#include "core/boot_guest.h"
#include "core/marrow.h"
#include "core/seal.h"
#include "uefi_owned.h"
#include "uefi_platform.h"
#include "uefi_seal.h"

/* What the notification reads, in marrow's memory (read before the seal
 * hides it). */
struct seal_ctx {
	uint64_t key;
	const volatile bool *bsp_virtualized;
	volatile bool *boot_services_gone;
};

static struct mw_phys_range ranges[UEFI_OWNED_MAX];
static struct seal_ctx ctx;
static EFI_EVENT event;

/* The notification (EFIAPI: RCX = the event, RDX = the context), in
 * assembly because no instruction of marrow's may run after the VMCALL:
 * marrow resumes the guest at this function's return address, as RET
 * would. Boot services are gone for marrow's other code either way; a
 * marrow that the guest already took off the boot CPU
 * (MW_HC_DEVIRTUALIZE_ALL) is not called: VMCALL would raise #UD. */
void uefi_seal_notify(EFI_EVENT ev, void *context);
__asm__(".text\n"
	".globl uefi_seal_notify\n"
	"uefi_seal_notify:\n\t"
	"movq 16(%rdx), %rax\n\t"
	"movb $1, (%rax)\n\t"
	"movq 8(%rdx), %rax\n\t"
	"cmpb $0, (%rax)\n\t"
	"je 1f\n\t"
	"movq (%rdx), %rcx\n\t"
	"movl $0x80000002, %eax\n\t" /* MW_HC_SEAL */
	"vmcall\n"
	"1:\n\t"
	"ret\n");

_Static_assert(MW_HC_SEAL == 0x80000002u, "uefi_seal_notify's VMCALL");

EFI_STATUS uefi_seal_arm(void)
{
	int n = uefi_owned_sorted(uefi_owned_ranges(), ranges, UEFI_OWNED_MAX);

	if (n <= 0 || mw_hide_ranges(ranges, (unsigned)n) != MW_OK)
		return EFI_INVALID_PARAMETER;
	ctx.key = mw.cfg.hypercall_key;
	ctx.bsp_virtualized = &mw.vcpus[0]->virtualized;
	ctx.boot_services_gone = &uefi.boot_services_gone;
	/* TPL_CALLBACK: after every notification at TPL_NOTIFY (UEFI 7.1,
	 * highest TPL first), so after the firmware's own at that level. */
	return uefi.bs->CreateEvent(EVT_SIGNAL_EXIT_BOOT_SERVICES, TPL_CALLBACK,
				    (EFI_EVENT_NOTIFY)uefi_seal_notify, &ctx, &event);
}

void uefi_seal_disarm(void)
{
	if (event)
		uefi.bs->CloseEvent(event);
	event = NULL;
}
