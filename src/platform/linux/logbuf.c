/* Draining marrow's root-mode log. Root mode writes records into a
 * lock-free ring per CPU and never calls Linux; this file moves them, from
 * ordinary kernel context, into printk and into a history that
 * MW_IOC_LOG reads. It drains once a second while marrow is active, on
 * every MW_IOC_LOG, and once more before marrow leaves. */
#include <linux/cpumask.h>
#include <linux/kernel.h>
#include <linux/minmax.h>
#include <linux/printk.h>
#include <linux/timex.h>
#include <linux/workqueue.h>

#include "core/log_ring.h"
#include "core/root_log.h"
#include "mwl.h"

#define HISTORY_SIZE (64 * 1024) /* most recent bytes kept */
#define DRAIN_PERIOD HZ

static char history[HISTORY_SIZE];
static uint64_t history_end; /* bytes ever appended: the next byte's number */

static void drain_work_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(drain_work, drain_work_fn);
static bool draining; /* the periodic drain is scheduled */

static void history_append(const char *text, size_t len)
{
	while (len) {
		size_t at = history_end % HISTORY_SIZE;
		size_t n = min(len, (size_t)HISTORY_SIZE - at);

		memcpy(history + at, text, n);
		history_end += n;
		text += n;
		len -= n;
	}
}

static void emit(unsigned cpu, unsigned level, const char *text)
{
	char line[LOG_RECORD_MAX + 32];
	int n = scnprintf(line, sizeof(line), "cpu%u: %s\n", cpu, text);

	history_append(line, n);
	switch (level) {
	case MW_LOG_ERROR:
		pr_err("marrow: %s", line);
		break;
	case MW_LOG_WARN:
		pr_warn("marrow: %s", line);
		break;
	case MW_LOG_INFO:
		pr_info("marrow: %s", line);
		break;
	default:
		pr_debug("marrow: %s", line);
		break;
	}
}

/* One reader per ring at a time: the same try-lock MW_HC_READ_LOG takes in
 * root mode (core/hypercall.c). A ring another reader holds is left for
 * the next drain. */
static void drain_cpu(unsigned cpu, struct vcpu *v)
{
	char text[LOG_RECORD_MAX + 1];
	struct log_record_info info;

	if (cmpxchg(&v->log_reader, 0, 1) != 0)
		return;
	while (log_ring_read(&v->log, text, sizeof(text), &info) > 0) {
		if (info.lost) {
			char note[64];

			scnprintf(note, sizeof(note), "%llu log records lost (ring full)",
				  (unsigned long long)info.lost);
			emit(cpu, MW_LOG_WARN, note);
		}
		emit(cpu, info.level, text);
	}
	smp_store_release(&v->log_reader, 0);
}

void mwl_log_drain_locked(void)
{
	lockdep_assert_held(&mwl.lock);
	if (!mwl_active())
		return;
	for (unsigned i = 0; i < mw.cpu_count; i++)
		if (mw.vcpus[i])
			drain_cpu(i, mw.vcpus[i]);
}

void mwl_log_test_records(void)
{
	unsigned cpu;

	mutex_lock(&mwl.lock);
	for_each_online_cpu(cpu) if (cpu < mw.cpu_count && mw.vcpus[cpu])
		log_ring_printf(&mw.vcpus[cpu]->log, MW_LOG_INFO, get_cycles(),
				"log test: a record in cpu %u's root-mode ring", cpu);
	mutex_unlock(&mwl.lock);
}

static void drain_work_fn(struct work_struct *work)
{
	mutex_lock(&mwl.lock);
	mwl_log_drain_locked();
	mutex_unlock(&mwl.lock);
	if (READ_ONCE(draining))
		schedule_delayed_work(&drain_work, DRAIN_PERIOD);
}

void mwl_log_start(void)
{
	WRITE_ONCE(draining, true);
	schedule_delayed_work(&drain_work, DRAIN_PERIOD);
}

void mwl_log_stop(void)
{
	WRITE_ONCE(draining, false);
	cancel_delayed_work_sync(&drain_work);
}

size_t mwl_log_read_locked(uint64_t start, char *buf, size_t cap, uint64_t *next, uint64_t *end,
			   uint64_t *skipped)
{
	uint64_t oldest = history_end > HISTORY_SIZE ? history_end - HISTORY_SIZE : 0;
	size_t copied = 0;

	lockdep_assert_held(&mwl.lock);
	*skipped = start < oldest ? oldest - start : 0;
	start = clamp(start, oldest, history_end);
	while (copied < cap && start < history_end) {
		size_t at = start % HISTORY_SIZE;
		size_t n = min3(cap - copied, (size_t)(history_end - start),
				(size_t)HISTORY_SIZE - at);

		memcpy(buf + copied, history + at, n);
		copied += n;
		start += n;
	}
	*next = start;
	*end = history_end;
	return copied;
}
