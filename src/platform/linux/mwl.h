/* marrow.ko's own state, shared by its files (prefix mwl_: marrow on
 * Linux). Everything here runs outside VMX root mode, in ordinary kernel
 * context. */
#ifndef MARROW_LINUX_MWL_H
#define MARROW_LINUX_MWL_H

#include <linux/cpu.h>
#include <linux/mutex.h>
#include <linux/types.h>

#include "core/marrow.h"
#include "marrow/linux_ioctl.h"

struct mwl_state {
	/* Serialises everything that uses marrow's per-CPU structures from
	 * outside: virtualize, devirtualize, CPU hotplug, log draining,
	 * statistics. Lock order: cpus_read_lock() first, then this. */
	struct mutex lock;
	int hotplug_state; /* cpuhp dynamic state, 0 when not registered */
	bool pinned;	   /* a CPU could not leave VMX: never unload */
	uint64_t features; /* MW_HC_INFO's feature bits at load */
	char last_error[128];
	/* Counts as they were when marrow was devirtualized (MW_IOC_UNLOAD),
	 * for a status that outlives the per-CPU structures. */
	struct mw_cpu_stats final_stats[MW_MAX_CPUS];
	bool have_final_stats;
};

extern struct mwl_state mwl;

/* Both locks, in the order mwl.lock's comment gives: the CPU hotplug
 * callbacks run under cpus_read_lock() and take mwl.lock, so everyone
 * takes them in that order. */
static inline void mwl_lock_all(void)
{
	cpus_read_lock();
	mutex_lock(&mwl.lock);
}

static inline void mwl_unlock_all(void)
{
	mutex_unlock(&mwl.lock);
	cpus_read_unlock();
}

/* Whether marrow virtualizes (its core's view). */
bool mwl_active(void);
/* Devirtualizes every CPU, keeping the final statistics; caller holds
 * cpus_read_lock() and mwl.lock. 0 or a negative errno. */
int mwl_devirtualize_all_locked(void);

/* logbuf.c: the root-mode log rings drained into printk and a history. */
void mwl_log_drain_locked(void);
void mwl_log_start(void);
/* Writes one record into every online CPU's ring, as root mode would
 * (the rings take producers on any CPU): the test_log parameter. */
void mwl_log_test_records(void);
void mwl_log_stop(void);
/* Copies history bytes from *start on into buf; see struct mw_ioc_log. */
size_t mwl_log_read_locked(uint64_t start, char *buf, size_t cap, uint64_t *next, uint64_t *end,
			   uint64_t *skipped);

/* dev.c, sysfs.c */
int mwl_dev_init(void);
void mwl_dev_exit(void);
int mwl_sysfs_init(void);
void mwl_sysfs_exit(void);

/* Fills the status as MW_IOC_STATUS and sysfs show it; caller holds
 * mwl.lock. */
void mwl_status_locked(struct mw_ioc_status *st);
/* Copies CPU cpu's statistics; caller holds mwl.lock. */
int mwl_cpu_stats_locked(unsigned cpu, struct mw_ioc_cpu_stats *out);

#endif
