#include "fault.h"

#include "core/marrow.h"
#include "platform/platform.h"

static uint32_t alloc_points, alloc_hit;

void fault_alloc_reset(void)
{
	alloc_points = 0;
	alloc_hit = 0;
}

uint32_t fault_alloc_hit(void)
{
	return alloc_hit;
}

uint32_t fault_alloc_count(void)
{
	return alloc_points;
}

static bool alloc_fails(void)
{
	alloc_points++;
	if (mw.cfg.fault_alloc == 0 || alloc_points != mw.cfg.fault_alloc)
		return false;
	alloc_hit = alloc_points;
	return true;
}

void *mw_alloc_pages(size_t count)
{
	return alloc_fails() ? NULL : platform_alloc_pages(count);
}

void *mw_map_mmio(uint64_t pa, size_t len)
{
	return alloc_fails() ? NULL : platform_map_mmio(pa, len);
}

bool fault_vmx_point(struct vcpu *v)
{
	v->vmx_points++;
	return mw.cfg.fault_vmx_insn != 0 && mw.cfg.fault_cpu == (int)v->index &&
	       v->vmx_points == mw.cfg.fault_vmx_insn;
}
