#include "vmx_util.h"

#include "platform/platform.h"
#include "src/platform/baremetal/marrow_bm.h"
#include "src/platform/baremetal/smp.h"

void vt_config(struct mw_config *cfg)
{
	bm_marrow_config(cfg);
	cfg->hypercall_key = VT_KEY;
}

void vt_up(const struct mw_config *cfg)
{
	struct mw_config def;
	struct mw_error err;

	if (!cfg) {
		vt_config(&def);
		cfg = &def;
	}
	if (mw_virtualize_all(cfg, &err) != MW_OK) {
		char msg[160];
		mw_error_format(&err, msg, sizeof(msg));
		gt_fail(__FILE__, __LINE__, "virtualize: %s", msg);
	}
	GT_ASSERT_EQ(mw_virtualized_count(), platform_cpu_count());
}

void vt_down(void)
{
	GT_ASSERT_EQ(mw_devirtualize_all(), MW_OK);
	GT_ASSERT_EQ(mw_virtualized_count(), 0);
}

uint64_t vt_exits(unsigned cpu, unsigned reason)
{
	if (cpu >= mw.cpu_count || !mw.vcpus[cpu] || reason >= MW_STATS_EXIT_REASONS)
		return 0;
	return mw.vcpus[cpu]->stats.exits[reason];
}

struct each_cpu_call {
	bool (*fn)(void *);
	void *arg;
	volatile bool ok[BM_MAX_CPUS];
};

static void run_on_cpu(void *p)
{
	struct each_cpu_call *c = p;
	c->ok[platform_cpu_index()] = c->fn(c->arg);
}

void vt_on_each_cpu_ok(bool (*fn)(void *), void *arg, const char *what)
{
	struct each_cpu_call c = { fn, arg, { false } };

	platform_on_each_cpu(run_on_cpu, &c);
	for (unsigned i = 0; i < platform_cpu_count(); i++)
		if (!c.ok[i])
			gt_fail(__FILE__, __LINE__, "%s: failed on cpu %u", what, i);
}
