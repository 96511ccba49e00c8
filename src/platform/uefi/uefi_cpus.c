/* Every CPU through EFI_MP_SERVICES_PROTOCOL (PI volume 2, 13.4). marrow's
 * CPU index is its position in apic_ids[], the BSP first; it is found from
 * the local APIC ID, so that APs never call the protocol (only
 * StartupAllAPs' caller, the BSP, may use it). */
#include <efi.h>
#include <efilib.h>

#include "core/ipi.h"
#include "efi_protocols.h"
#include "uefi_platform.h"

static EFI_GUID mp_guid = MW_EFI_MP_SERVICES_GUID;

EFI_STATUS uefi_cpus_init(void)
{
	UINTN total = 0, enabled = 0, bsp = 0;
	EFI_STATUS s;

	uefi.cpu_count = 1;
	uefi.apic_ids[0] = lapic_current_id();
	s = uefi.bs->LocateProtocol(&mp_guid, NULL, (void **)&uefi.mp);
	if (EFI_ERROR(s) || !uefi.mp) {
		/* No MP services: a firmware that runs one CPU. */
		uefi.mp = NULL;
		uefi_printf("marrow: no EFI_MP_SERVICES_PROTOCOL: the boot CPU only\n");
		return EFI_SUCCESS;
	}
	s = uefi.mp->GetNumberOfProcessors(uefi.mp, &total, &enabled);
	if (EFI_ERROR(s))
		return s;
	s = uefi.mp->WhoAmI(uefi.mp, &bsp);
	if (EFI_ERROR(s))
		return s;
	if (enabled > UEFI_MAX_CPUS) {
		uefi_printf("marrow: %llu CPUs, at most %u supported\n",
			    (unsigned long long)enabled, UEFI_MAX_CPUS);
		return EFI_UNSUPPORTED;
	}
	uefi.mp_number[0] = (unsigned)bsp;
	for (UINTN n = 0; n < total; n++) {
		struct mw_efi_processor_information info;
		if (n == bsp)
			continue;
		s = uefi.mp->GetProcessorInfo(uefi.mp, n, &info);
		if (EFI_ERROR(s))
			return s;
		/* Disabled processors run nothing StartupAllAPs sends. */
		if (!(info.StatusFlag & MW_PROCESSOR_ENABLED_BIT))
			continue;
		if (uefi.cpu_count == UEFI_MAX_CPUS)
			return EFI_UNSUPPORTED;
		uefi.mp_number[uefi.cpu_count] = (unsigned)n;
		uefi.apic_ids[uefi.cpu_count++] = (uint32_t)info.ProcessorId;
	}
	return EFI_SUCCESS;
}

unsigned platform_cpu_index(void)
{
	uint32_t id = lapic_current_id();
	for (unsigned i = 0; i < uefi.cpu_count; i++)
		if (uefi.apic_ids[i] == id)
			return i;
	return 0; /* unreachable for a CPU the firmware listed */
}

unsigned platform_cpu_count(void)
{
	return uefi.cpu_count;
}

bool uefi_on_bsp(void)
{
	return lapic_current_id() == uefi.apic_ids[0];
}

struct each_cpu {
	void (*fn)(void *arg);
	void *arg;
	volatile bool tables_failed;
};

static void run_here(struct each_cpu *c)
{
	struct uefi_cpu_tables saved;

	if (!uefi_enter_marrow_tables(platform_cpu_index(), &saved)) {
		c->tables_failed = true;
		return;
	}
	c->fn(c->arg);
	uefi_leave_marrow_tables(&saved);
}

static VOID EFIAPI ap_procedure(VOID *arg)
{
	run_here(arg);
}

/* The APs first, all at once, then the BSP; StartupAllAPs with no event
 * blocks until every AP has returned (PI volume 2, StartupAllAPs). The
 * callback runs with interrupts off on the BSP too: TPL_HIGH_LEVEL. */
void platform_on_each_cpu(void (*fn)(void *arg), void *arg)
{
	struct each_cpu c = { fn, arg, false };

	if (uefi.boot_services_gone)
		return;
	if (uefi.mp && uefi.cpu_count > 1) {
		EFI_STATUS s =
			uefi.mp->StartupAllAPs(uefi.mp, ap_procedure, FALSE, NULL, 0, &c, NULL);
		if (EFI_ERROR(s))
			uefi_printf("marrow: StartupAllAPs failed: status 0x%llx\n",
				    (unsigned long long)s);
	}
	EFI_TPL old = uefi.bs->RaiseTPL(TPL_HIGH_LEVEL);
	run_here(&c);
	uefi.bs->RestoreTPL(old);
	if (c.tables_failed)
		uefi_printf("marrow: a CPU's GDT did not fit marrow's copy\n");
}
