#include "win_fanout.h"

#include "core/mw_string.h"

void win_fanout_init(struct win_fanout *f, void (*fn)(void *arg), void *arg, unsigned cpu_count)
{
	memset(f, 0, sizeof(*f));
	f->fn = fn;
	f->arg = arg;
	f->cpu_count = cpu_count;
}

bool win_fanout_run(struct win_fanout *f, unsigned cpu)
{
	if (cpu >= f->cpu_count || cpu >= WIN_FANOUT_MAX_CPUS) {
		__atomic_fetch_add(&f->rejected, 1, __ATOMIC_RELAXED);
		return false;
	}
	uint64_t bit = 1ull << (cpu % 64);
	uint64_t old = __atomic_fetch_or(&f->ran[cpu / 64], bit, __ATOMIC_ACQ_REL);
	if (old & bit) {
		__atomic_fetch_add(&f->rejected, 1, __ATOMIC_RELAXED);
		return false;
	}
	f->fn(f->arg);
	__atomic_fetch_add(&f->runs, 1, __ATOMIC_RELEASE);
	return true;
}

unsigned win_fanout_first_missing(const struct win_fanout *f)
{
	for (unsigned i = 0; i < f->cpu_count && i < WIN_FANOUT_MAX_CPUS; i++)
		if (!(__atomic_load_n(&f->ran[i / 64], __ATOMIC_ACQUIRE) & (1ull << (i % 64))))
			return i;
	return f->cpu_count;
}

bool win_fanout_complete(const struct win_fanout *f)
{
	return f->cpu_count <= WIN_FANOUT_MAX_CPUS &&
	       __atomic_load_n(&f->runs, __ATOMIC_ACQUIRE) == f->cpu_count &&
	       __atomic_load_n(&f->rejected, __ATOMIC_ACQUIRE) == 0 &&
	       win_fanout_first_missing(f) == f->cpu_count;
}
