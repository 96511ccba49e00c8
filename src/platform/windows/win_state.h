/* The processor's special registers as KeSaveStateForHibernate records them
 * in a KPROCESSOR_STATE, compared before and after marrow changes the CPU.
 * KPROCESSOR_STATE is not in the WDK; its x64 layout comes from the
 * kernel's public symbols. Only the prefix of KSPECIAL_REGISTERS that has
 * been the same on every x64 Windows from 7 to 11 (offsets 0x00 to 0xdf)
 * is read; later fields and the CONTEXT after it moved between versions,
 * which is also why the buffer handed to the kernel is a whole page.
 *   0x00 Cr0, 0x08 Cr2, 0x10 Cr3, 0x18 Cr4, 0x20..0x48 KernelDr0-3,6,7,
 *   0x50 Gdtr {USHORT Pad[3], Limit; PVOID Base}, 0x60 Idtr, 0x70 Tr,
 *   0x72 Ldtr, 0x74 MxCsr, 0x78 DebugControl, 0x80..0x98 last branch and
 *   exception RIPs, 0xa0 Cr8, 0xa8 MsrGsBase, 0xb0 MsrGsSwap, 0xb8
 *   MsrStar, 0xc0 MsrLStar, 0xc8 MsrCStar, 0xd0 MsrSyscallMask, 0xd8 Xcr0.
 * Pure: the reader takes the recorded bytes. */
#ifndef MARROW_WINDOWS_WIN_STATE_H
#define MARROW_WINDOWS_WIN_STATE_H

#include <stddef.h>
#include <stdint.h>

#define WIN_KPROCESSOR_STATE_PREFIX 0xe0
/* What the kernel is given to fill: larger than any KPROCESSOR_STATE. */
#define WIN_KPROCESSOR_STATE_BUFFER 4096

enum win_reg {
	WIN_REG_CR0,
	WIN_REG_CR3,
	WIN_REG_CR4,
	WIN_REG_DR7,
	WIN_REG_GDTR,
	WIN_REG_IDTR,
	WIN_REG_TR,
	WIN_REG_LDTR,
	WIN_REG_DEBUGCTL,
	WIN_REG_GS_BASE,
	WIN_REG_KERNEL_GS_BASE,
	WIN_REG_STAR,
	WIN_REG_LSTAR,
	WIN_REG_CSTAR,
	WIN_REG_SFMASK,
	WIN_REG_XCR0,
	WIN_REG_COUNT,
};

#define WIN_REGS_ALL ((1u << WIN_REG_COUNT) - 1)
/* Between two DPCs the interrupted thread differs: its address space
 * (CR3) and user GS base (KernelGSBase) may too. DR7 belongs to a debugger
 * that may have changed it meanwhile. Everything else is per CPU. */
#define WIN_REGS_INVARIANT \
	(WIN_REGS_ALL &    \
	 ~((1u << WIN_REG_CR3) | (1u << WIN_REG_KERNEL_GS_BASE) | (1u << WIN_REG_DR7)))

struct win_special_regs {
	uint64_t value[WIN_REG_COUNT];
	uint16_t gdtr_limit, idtr_limit;
};

/* Reads the stable prefix of a recorded KPROCESSOR_STATE (len bytes);
 * returns 0, or -1 if len is shorter than the prefix. */
int win_special_regs_read(const void *kprocessor_state, size_t len, struct win_special_regs *out);
/* The registers (bit per enum win_reg, among fields) whose values differ. */
uint32_t win_special_regs_diff(const struct win_special_regs *a, const struct win_special_regs *b,
			       uint32_t fields);
/* Names the registers in diff ("cr4 lstar"); like snprintf. */
int win_special_regs_describe(uint32_t diff, char *buf, size_t size);
const char *win_reg_name(enum win_reg r);

#endif
