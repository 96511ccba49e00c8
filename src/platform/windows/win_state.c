#include "win_state.h"

#include "core/fmt.h"

static uint64_t rd(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static const struct {
	const char *name;
	uint8_t offset, width;
} regs[WIN_REG_COUNT] = {
	[WIN_REG_CR0] = { "cr0", 0x00, 8 },
	[WIN_REG_CR3] = { "cr3", 0x10, 8 },
	[WIN_REG_CR4] = { "cr4", 0x18, 8 },
	[WIN_REG_DR7] = { "dr7", 0x48, 8 },
	[WIN_REG_GDTR] = { "gdtr", 0x58, 8 }, /* base; the limit is at 0x56 */
	[WIN_REG_IDTR] = { "idtr", 0x68, 8 }, /* base; the limit is at 0x66 */
	[WIN_REG_TR] = { "tr", 0x70, 2 },
	[WIN_REG_LDTR] = { "ldtr", 0x72, 2 },
	[WIN_REG_DEBUGCTL] = { "debugctl", 0x78, 8 },
	[WIN_REG_GS_BASE] = { "gs_base", 0xa8, 8 },
	[WIN_REG_KERNEL_GS_BASE] = { "kernel_gs_base", 0xb0, 8 },
	[WIN_REG_STAR] = { "star", 0xb8, 8 },
	[WIN_REG_LSTAR] = { "lstar", 0xc0, 8 },
	[WIN_REG_CSTAR] = { "cstar", 0xc8, 8 },
	[WIN_REG_SFMASK] = { "sfmask", 0xd0, 8 },
	[WIN_REG_XCR0] = { "xcr0", 0xd8, 8 },
};

const char *win_reg_name(enum win_reg r)
{
	return (unsigned)r < WIN_REG_COUNT ? regs[r].name : "?";
}

int win_special_regs_read(const void *kprocessor_state, size_t len, struct win_special_regs *out)
{
	const uint8_t *p = kprocessor_state;

	if (len < WIN_KPROCESSOR_STATE_PREFIX)
		return -1;
	for (unsigned i = 0; i < WIN_REG_COUNT; i++)
		out->value[i] = rd(p + regs[i].offset, regs[i].width);
	out->gdtr_limit = (uint16_t)rd(p + 0x56, 2);
	out->idtr_limit = (uint16_t)rd(p + 0x66, 2);
	return 0;
}

uint32_t win_special_regs_diff(const struct win_special_regs *a, const struct win_special_regs *b,
			       uint32_t fields)
{
	uint32_t diff = 0;

	for (unsigned i = 0; i < WIN_REG_COUNT; i++)
		if (a->value[i] != b->value[i])
			diff |= 1u << i;
	if (a->gdtr_limit != b->gdtr_limit)
		diff |= 1u << WIN_REG_GDTR;
	if (a->idtr_limit != b->idtr_limit)
		diff |= 1u << WIN_REG_IDTR;
	return diff & fields;
}

int win_special_regs_describe(uint32_t diff, char *buf, size_t size)
{
	int n = 0;

	if (size)
		buf[0] = '\0';
	for (unsigned i = 0; i < WIN_REG_COUNT; i++) {
		if (!(diff & (1u << i)))
			continue;
		size_t at = (size_t)n < size ? (size_t)n : size;
		n += mw_snprintf(buf + at, size - at, "%s%s", n ? " " : "", regs[i].name);
	}
	return n;
}
