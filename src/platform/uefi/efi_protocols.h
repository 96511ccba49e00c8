/* The firmware interfaces marrow uses that gnu-efi does not declare,
 * written from the specifications: the MP services protocol (UEFI PI
 * specification, volume 2, "EFI_MP_SERVICES_PROTOCOL") and the CPU
 * architectural protocol (PI volume 2, "EFI_CPU_ARCH_PROTOCOL"). */
#ifndef MARROW_UEFI_EFI_PROTOCOLS_H
#define MARROW_UEFI_EFI_PROTOCOLS_H

#include <efi.h>
#include <efidebug.h>

#define MW_EFI_MP_SERVICES_GUID                                        \
	{                                                              \
		0x3fdda605, 0xa76e, 0x4f46,                            \
		{                                                      \
			0xad, 0x29, 0x12, 0xf4, 0x53, 0x1b, 0x3d, 0x08 \
		}                                                      \
	}

#define MW_EFI_CPU_ARCH_GUID                                           \
	{                                                              \
		0x26baccb1, 0x6f42, 0x11d4,                            \
		{                                                      \
			0xbc, 0xe7, 0x00, 0x80, 0xc7, 0x3c, 0x88, 0x81 \
		}                                                      \
	}

/* StatusFlag bits of EFI_PROCESSOR_INFORMATION. */
#define MW_PROCESSOR_AS_BSP_BIT 0x1
#define MW_PROCESSOR_ENABLED_BIT 0x2
#define MW_PROCESSOR_HEALTH_STATUS_BIT 0x4

struct mw_efi_cpu_physical_location {
	UINT32 Package;
	UINT32 Core;
	UINT32 Thread;
};

struct mw_efi_processor_information {
	UINT64 ProcessorId; /* the local APIC ID */
	UINT32 StatusFlag;
	struct mw_efi_cpu_physical_location Location;
	/* PI 1.7 appends an extended location; GetProcessorInfo fills it only
	 * when the caller sets bit 24 of the processor number, which marrow
	 * does not: room for it keeps an older or newer firmware safe. */
	UINT8 ExtendedInformation[24];
};

typedef VOID(EFIAPI *mw_efi_ap_procedure)(VOID *arg);

struct mw_efi_mp_services;
struct mw_efi_mp_services {
	EFI_STATUS(EFIAPI *GetNumberOfProcessors)
	(struct mw_efi_mp_services *self, UINTN *count, UINTN *enabled);
	EFI_STATUS(EFIAPI *GetProcessorInfo)
	(struct mw_efi_mp_services *self, UINTN number, struct mw_efi_processor_information *info);
	EFI_STATUS(EFIAPI *StartupAllAPs)
	(struct mw_efi_mp_services *self, mw_efi_ap_procedure procedure, BOOLEAN single_thread,
	 EFI_EVENT wait_event, UINTN timeout_us, VOID *arg, UINTN **failed_cpus);
	EFI_STATUS(EFIAPI *StartupThisAP)
	(struct mw_efi_mp_services *self, mw_efi_ap_procedure procedure, UINTN number,
	 EFI_EVENT wait_event, UINTN timeout_us, VOID *arg, BOOLEAN *finished);
	EFI_STATUS(EFIAPI *SwitchBSP)
	(struct mw_efi_mp_services *self, UINTN number, BOOLEAN enable_old_bsp);
	EFI_STATUS(EFIAPI *EnableDisableAP)
	(struct mw_efi_mp_services *self, UINTN number, BOOLEAN enable, UINT32 *health);
	EFI_STATUS(EFIAPI *WhoAmI)(struct mw_efi_mp_services *self, UINTN *number);
};

/* EFI_EXCEPTION_TYPE and EFI_SYSTEM_CONTEXT come from gnu-efi's
 * efidebug.h (UEFI specification, EFI_DEBUG_SUPPORT_PROTOCOL). */
typedef VOID(EFIAPI *mw_efi_interrupt_handler)(EFI_EXCEPTION_TYPE type, EFI_SYSTEM_CONTEXT ctx);

struct mw_efi_cpu_arch;
struct mw_efi_cpu_arch {
	EFI_STATUS(EFIAPI *FlushDataCache)
	(struct mw_efi_cpu_arch *self, EFI_PHYSICAL_ADDRESS start, UINT64 length, UINT32 type);
	EFI_STATUS(EFIAPI *EnableInterrupt)(struct mw_efi_cpu_arch *self);
	EFI_STATUS(EFIAPI *DisableInterrupt)(struct mw_efi_cpu_arch *self);
	EFI_STATUS(EFIAPI *GetInterruptState)(struct mw_efi_cpu_arch *self, BOOLEAN *state);
	EFI_STATUS(EFIAPI *Init)(struct mw_efi_cpu_arch *self, UINT32 type);
	EFI_STATUS(EFIAPI *RegisterInterruptHandler)
	(struct mw_efi_cpu_arch *self, EFI_EXCEPTION_TYPE type, mw_efi_interrupt_handler handler);
	/* GetTimerValue, SetMemoryAttributes, NumberOfTimers and
	 * DmaBufferAlignment follow; marrow uses none of them. */
};

#endif
