#include "emulate.h"

#include "core/fmt.h"
#include "core/hypercall.h"
#include "exit.h"

#define AR_L (1u << 13)	 /* CS.L: 64-bit code (SDM 3C 25.4.1) */
#define AR_DB (1u << 14) /* CS.D: 32-bit default operand size */
#define EFER_LMA (1u << 10)

static unsigned code_bits(void)
{
	uint64_t ar = vmcs_read(VMCS_GUEST_CS_AR_BYTES);

	if ((vmcs_read(VMCS_GUEST_IA32_EFER) & EFER_LMA) && (ar & AR_L))
		return 64;
	return (ar & AR_DB) ? 32 : 16;
}

/* The linear address of the instruction: CS.base + RIP, within the
 * address size of the mode (in 64-bit code CS.base is 0). */
static uint64_t linear_rip(unsigned bits, uint64_t rip)
{
	if (bits == 64)
		return rip;
	uint64_t ip = bits == 16 ? rip & 0xffff : rip & 0xffffffffull;
	return (vmcs_read(VMCS_GUEST_CS_BASE) + ip) & 0xffffffffull;
}

bool emul_decode(struct exit_ctx *c, struct emul *e)
{
	(void)c;
	e->code_bits = code_bits();
	e->rip = vmcs_read(VMCS_GUEST_RIP);
	uint64_t la = linear_rip(e->code_bits, e->rip);
	/* The whole 15 bytes, or what the instruction's page holds when the
	 * next page is not mapped. */
	e->fetched = sizeof(e->bytes);
	if (hc_copy_from_guest(la, e->bytes, e->fetched) != MW_HC_OK) {
		e->fetched = (uint8_t)(4096 - (la & 4095));
		if (e->fetched > sizeof(e->bytes))
			e->fetched = sizeof(e->bytes);
		if (hc_copy_from_guest(la, e->bytes, e->fetched) != MW_HC_OK) {
			e->fetched = 0;
			return false;
		}
	}
	return mem_insn_decode(e->bytes, e->fetched, e->code_bits, &e->insn) == MEM_INSN_OK;
}

uint64_t emul_store_value(const struct exit_ctx *c, const struct emul *e)
{
	if (e->insn.kind == MEM_STORE_IMM)
		return e->insn.imm;
	return mem_insn_reg_value(&e->insn, gpr_read(c, e->insn.reg));
}

void emul_load(struct exit_ctx *c, const struct emul *e, uint64_t value)
{
	uint64_t old = gpr_read(c, e->insn.reg);
	gpr_write(c, e->insn.reg, mem_insn_reg_result(&e->insn, old, value));
}

void emul_skip(const struct emul *e)
{
	exit_skip_instruction(e->insn.length);
}

void emul_bytes_text(const struct emul *e, char *buf, unsigned size)
{
	unsigned at = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < e->fetched && at + 4 < size; i++)
		at += (unsigned)mw_snprintf(buf + at, size - at, i ? " %02x" : "%02x", e->bytes[i]);
	if (!e->fetched)
		mw_snprintf(buf, size, "(not readable)");
}
