/* The Windows kernel headers marrow.sys uses, and the NT routines that
 * ntoskrnl exports (and mingw-w64's libntoskrnl.a links) but no header
 * declares, with their documented or long-published prototypes. The only
 * place in marrow that declares NT functions itself. */
#ifndef MARROW_WINDOWS_NT_DECLS_H
#define MARROW_WINDOWS_NT_DECLS_H

#include <ntifs.h>

#include <ntddk.h>

/* Deferred calls on every processor (exported since Windows Vista SP1; the
 * prototypes SimpleVisor and the WDK's internal headers use). Routine runs
 * as a DPC on each active processor at DISPATCH_LEVEL and must call
 * KeSignalCallDpcSynchronize(SystemArgument2), a barrier across all of
 * them, then KeSignalCallDpcDone(SystemArgument1). KeGenericCallDpc
 * returns once every processor has signalled done; callable at
 * PASSIVE_LEVEL or APC_LEVEL. */
NTKERNELAPI VOID NTAPI KeGenericCallDpc(PKDEFERRED_ROUTINE Routine, PVOID Context);
NTKERNELAPI VOID NTAPI KeSignalCallDpcDone(PVOID SystemArgument1);
NTKERNELAPI LOGICAL NTAPI KeSignalCallDpcSynchronize(PVOID SystemArgument2);

/* Records the calling processor's special registers and context into a
 * KPROCESSOR_STATE (win_state.h gives the part marrow reads). The
 * structure's size changed between Windows versions, so it is passed as
 * an opaque buffer of WIN_KPROCESSOR_STATE_BUFFER bytes. */
NTKERNELAPI VOID NTAPI KeSaveStateForHibernate(PVOID ProcessorState);

/* Documented in winternl.h for user mode; ntoskrnl exports the Zw form.
 * Class 11 (SystemModuleInformation) returns RTL_PROCESS_MODULES
 * (win_modules.h). */
NTSYSAPI NTSTATUS NTAPI ZwQuerySystemInformation(ULONG SystemInformationClass,
						 PVOID SystemInformation,
						 ULONG SystemInformationLength,
						 PULONG ReturnLength);
#define MW_SYSTEM_MODULE_INFORMATION 11

/* IoCreateDeviceSecure (wdmsec.h) is not an ntoskrnl export: it lives in
 * the WDK's static wdmsec.lib, which mingw-w64 does not have. The driver
 * builds the same DACL ("D:P(A;;GA;;;SY)(A;;GA;;;BA)") with the Rtl*
 * security routines and ZwSetSecurityObject, all exported and declared
 * in ntifs.h (driver.c). */

#endif
