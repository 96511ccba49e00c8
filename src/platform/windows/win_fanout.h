/* The bookkeeping behind platform_on_each_cpu on Windows. KeGenericCallDpc
 * queues one DPC per active processor and returns when all of them have
 * signalled completion; each DPC calls win_fanout_run with its processor's
 * index. This records that every CPU ran the function exactly once, so a
 * CPU Windows did not count, or a DPC delivered twice, is noticed instead
 * of silently leaving a CPU out of the hypervisor. Pure: no NT calls. */
#ifndef MARROW_WINDOWS_WIN_FANOUT_H
#define MARROW_WINDOWS_WIN_FANOUT_H

#include <stdbool.h>
#include <stdint.h>

#define WIN_FANOUT_MAX_CPUS 256

struct win_fanout {
	void (*fn)(void *arg);
	void *arg;
	unsigned cpu_count;
	uint64_t ran[WIN_FANOUT_MAX_CPUS / 64]; /* bit per CPU index */
	uint32_t runs;				/* fn calls made */
	uint32_t rejected;			/* out-of-range or repeated indices */
};

void win_fanout_init(struct win_fanout *f, void (*fn)(void *arg), void *arg, unsigned cpu_count);
/* Runs fn on behalf of CPU cpu unless that index is out of range or has
 * already run; returns whether it ran. Safe to call from every CPU at
 * once. */
bool win_fanout_run(struct win_fanout *f, unsigned cpu);
/* Every CPU below cpu_count ran exactly once and nothing was rejected. */
bool win_fanout_complete(const struct win_fanout *f);
/* The lowest CPU index that did not run, or cpu_count when all did. */
unsigned win_fanout_first_missing(const struct win_fanout *f);

#endif
