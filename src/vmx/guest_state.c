#include "guest_state.h"

#include "arch/x86/cpu_bits.h"
#include "arch/x86/intrin.h"
#include "core/marrow.h"
#include "core/mw_string.h"
#include "exit.h"

/* Access rights as the VMCS holds them (SDM 3C 25.4.1): type, S, DPL 0, P,
 * and for 32-bit segments D/B and G (4 GiB limits). */
#define AR_CODE16 0x9b	 /* present, code, readable, accessed */
#define AR_DATA16 0x93	 /* present, data, writable, accessed */
#define AR_CODE32 0xc09b /* ... with D and G */
#define AR_DATA32 0xc093 /* ... with B and G */
#define AR_LDT 0x82	 /* present LDT */
#define AR_TSS16_BUSY 0x8b
#define AR_TSS32_BUSY 0x8b		   /* type 11: a busy 32-bit TSS */
#define PAT_POWER_ON 0x0007040600070406ull /* SDM 3A 13.12.4 */

enum seg_index { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR };

static void segment(enum seg_index i, uint16_t sel, uint64_t base, uint32_t limit, uint32_t ar)
{
	vmcs_write(VMCS_GUEST_ES_SELECTOR + 2 * i, sel);
	vmcs_write(VMCS_GUEST_ES_BASE + 2 * i, base);
	vmcs_write(VMCS_GUEST_ES_LIMIT + 2 * i, limit);
	vmcs_write(VMCS_GUEST_ES_AR_BYTES + 2 * i, ar);
}

/* CR0 as the guest sees it (the read shadow) and as VMX needs it: the fixed
 * bits but PE and PG, which unrestricted guest leaves to the guest. */
static void set_cr0(uint64_t guest_view)
{
	uint64_t fixed0 = mw.caps.cr0_fixed0 & ~(CR0_PE | CR0_PG);

	vmcs_write(VMCS_GUEST_CR0, (guest_view | fixed0) & mw.caps.cr0_fixed1);
	vmcs_write(VMCS_CR0_READ_SHADOW, guest_view);
}

/* What both states share: no paging, no long mode, no pending events, the
 * debug state of a processor that was just reset. MSRs other than EFER
 * keep their values across INIT (table 10-1). */
static void common_state(void)
{
	vmcs_write(VMCS_GUEST_CR3, 0);
	vmcs_write(VMCS_GUEST_CR4, mw.caps.cr4_fixed0 | CR4_VMXE);
	vmcs_write(VMCS_CR4_READ_SHADOW, 0);
	write_cr2(0);
	vmcs_write(VMCS_GUEST_IA32_EFER, 0);
	vmcs_write(VMCS_VM_ENTRY_CONTROLS,
		   vmcs_read(VMCS_VM_ENTRY_CONTROLS) & ~(uint64_t)ENTRY_CTL_IA32E_MODE_GUEST);
	vmcs_write(VMCS_GUEST_RFLAGS, RFLAGS_FIXED1);
	vmcs_write(VMCS_GUEST_DR7, 0x400);
	vmcs_write(VMCS_GUEST_IA32_DEBUGCTL, 0);
	vmcs_write(VMCS_GUEST_INTERRUPTIBILITY_INFO, 0);
	vmcs_write(VMCS_GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmcs_write(VMCS_VM_ENTRY_INTR_INFO, 0);
	segment(SEG_LDTR, 0, 0, 0xffff, AR_LDT);
	vmcs_write(VMCS_GUEST_IDTR_BASE, 0);
	vmcs_write(VMCS_GUEST_IDTR_LIMIT, 0xffff);
}

/* The guest's translations were for the address space it had before. */
static void drop_guest_tlb(const struct exit_ctx *c)
{
	vmx_invvpid(INVVPID_SINGLE_CONTEXT, c->v->vpid, 0);
}

void guest_state_init(struct exit_ctx *c)
{
	/* INIT keeps CD and NW, sets ET, clears the rest (table 10-1). */
	set_cr0((guest_cr0() & (CR0_CD | CR0_NW)) | CR0_ET);
	common_state();
	vmcs_write(VMCS_GUEST_RIP, 0xfff0);
	vmcs_write(VMCS_GUEST_RSP, 0);
	segment(SEG_CS, 0xf000, 0xffff0000, 0xffff, AR_CODE16);
	for (enum seg_index i = SEG_ES; i <= SEG_GS; i++)
		if (i != SEG_CS)
			segment(i, 0, 0, 0xffff, AR_DATA16);
	segment(SEG_TR, 0, 0, 0xffff, AR_TSS16_BUSY);
	vmcs_write(VMCS_GUEST_GDTR_BASE, 0);
	vmcs_write(VMCS_GUEST_GDTR_LIMIT, 0xffff);
	memset(c->regs, 0, sizeof(*c->regs));
	c->regs->rdx = cpuid(1).eax; /* the processor signature (table 10-1) */
	drop_guest_tlb(c);
}

void guest_state_entry32(struct exit_ctx *c, const struct guest_entry32 *e)
{
	/* PE, and ET, which every processor since the 486 keeps set. */
	set_cr0(CR0_PE | CR0_ET);
	common_state();
	vmcs_write(VMCS_GUEST_RIP, e->eip);
	vmcs_write(VMCS_GUEST_RSP, e->esp);
	segment(SEG_CS, e->cs, 0, 0xffffffff, AR_CODE32);
	for (enum seg_index i = SEG_ES; i <= SEG_GS; i++)
		if (i != SEG_CS)
			segment(i, e->ds, 0, 0xffffffff, AR_DATA32);
	/* VM entry needs a usable, busy TR even where the guest has none
	 * yet (SDM 3C 27.3.1.2); the guest's LTR replaces it. */
	segment(SEG_TR, 0, 0, 0x67, AR_TSS32_BUSY);
	/* A boot loader's machine: the MSRs the VMCS holds as at power-on. */
	vmcs_write(VMCS_GUEST_SYSENTER_CS, 0);
	vmcs_write(VMCS_GUEST_SYSENTER_ESP, 0);
	vmcs_write(VMCS_GUEST_SYSENTER_EIP, 0);
	vmcs_write(VMCS_GUEST_IA32_PAT, PAT_POWER_ON);
	vmcs_write(VMCS_GUEST_GDTR_BASE, e->gdt_base);
	vmcs_write(VMCS_GUEST_GDTR_LIMIT, e->gdt_limit);
	drop_guest_tlb(c);
}
