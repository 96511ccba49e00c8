/* /sys/kernel/marrow: read-only status and counters, one value per file.
 *   active, version, features, identify, cpu_count, online,
 *   virtualized (CPU lists as "0-3"), virtualized_count, last_error
 *   cpuN/{virtualized, exits_total, hypercalls, hypercalls_refused,
 *         injected_exceptions, injected_nmis, nmis_in_root,
 *         unexpected_exits, msr_faults}
 * The full table of exits per reason is marrowctl's (MW_IOC_CPU_STATS). */
#include <linux/cpumask.h>
#include <linux/kobject.h>
#include <linux/slab.h>
#include <linux/sysfs.h>

#include "mwl.h"

static struct kobject *top;

struct cpu_dir {
	struct kobject kobj;
	unsigned cpu;
};

static struct cpu_dir *cpu_dirs[MW_MAX_CPUS];

static void words_to_cpumask(const uint64_t *words, struct cpumask *mask)
{
	cpumask_clear(mask);
	for (unsigned cpu = 0; cpu < nr_cpu_ids && cpu < MW_IOC_MAX_CPUS; cpu++)
		if (words[cpu / 64] & (1ull << (cpu % 64)))
			cpumask_set_cpu(cpu, mask);
}

enum top_field {
	F_ACTIVE,
	F_VERSION,
	F_FEATURES,
	F_IDENTIFY,
	F_CPU_COUNT,
	F_ONLINE,
	F_VIRTUALIZED,
	F_VIRTUALIZED_COUNT,
	F_LAST_ERROR,
};

static ssize_t show_top(char *buf, enum top_field f)
{
	struct mw_ioc_status *st = kmalloc(sizeof(*st), GFP_KERNEL);
	cpumask_var_t mask;
	ssize_t n;

	if (!st)
		return -ENOMEM;
	if (!zalloc_cpumask_var(&mask, GFP_KERNEL)) {
		kfree(st);
		return -ENOMEM;
	}
	mutex_lock(&mwl.lock);
	mwl_status_locked(st);
	mutex_unlock(&mwl.lock);
	switch (f) {
	case F_ACTIVE:
		n = sysfs_emit(buf, "%u\n", !!(st->flags & MW_STATUS_ACTIVE));
		break;
	case F_VERSION:
		n = sysfs_emit(buf, "%u.%u\n", st->version >> 16, st->version & 0xffff);
		break;
	case F_FEATURES:
		n = sysfs_emit(buf, "0x%llx\n", (unsigned long long)st->features);
		break;
	case F_IDENTIFY:
		n = sysfs_emit(buf, "%u\n", !!(st->flags & MW_STATUS_IDENTIFY));
		break;
	case F_CPU_COUNT:
		n = sysfs_emit(buf, "%u\n", st->cpu_count);
		break;
	case F_ONLINE:
		words_to_cpumask(st->online, mask);
		n = sysfs_emit(buf, "%*pbl\n", cpumask_pr_args(mask));
		break;
	case F_VIRTUALIZED:
		words_to_cpumask(st->virtualized, mask);
		n = sysfs_emit(buf, "%*pbl\n", cpumask_pr_args(mask));
		break;
	case F_VIRTUALIZED_COUNT:
		n = sysfs_emit(buf, "%u\n", st->virtualized_count);
		break;
	default:
		n = sysfs_emit(buf, "%s\n", st->last_error);
		break;
	}
	free_cpumask_var(mask);
	kfree(st);
	return n;
}

#define TOP_ATTR(name, field)                                                              \
	static ssize_t name##_show(struct kobject *k, struct kobj_attribute *a, char *buf) \
	{                                                                                  \
		return show_top(buf, field);                                               \
	}                                                                                  \
	static struct kobj_attribute name##_attr = __ATTR_RO(name)

TOP_ATTR(active, F_ACTIVE);
TOP_ATTR(version, F_VERSION);
TOP_ATTR(features, F_FEATURES);
TOP_ATTR(identify, F_IDENTIFY);
TOP_ATTR(cpu_count, F_CPU_COUNT);
TOP_ATTR(online, F_ONLINE);
TOP_ATTR(virtualized, F_VIRTUALIZED);
TOP_ATTR(virtualized_count, F_VIRTUALIZED_COUNT);
TOP_ATTR(last_error, F_LAST_ERROR);

static struct attribute *top_attrs[] = {
	&active_attr.attr,	&version_attr.attr,
	&features_attr.attr,	&identify_attr.attr,
	&cpu_count_attr.attr,	&online_attr.attr,
	&virtualized_attr.attr, &virtualized_count_attr.attr,
	&last_error_attr.attr,	NULL,
};

static const struct attribute_group top_group = { .attrs = top_attrs };

/* Per-CPU counters: the offset of each in struct mw_cpu_stats. */
struct cpu_attr {
	struct attribute attr;
	size_t offset; /* SIZE_MAX: the virtualized flag */
};

#define CPU_ATTR(field)                                                                  \
	static struct cpu_attr cpu_##field = { .attr = { .name = #field, .mode = 0444 }, \
					       .offset = offsetof(struct mw_cpu_stats, field) }

static struct cpu_attr cpu_virtualized = { .attr = { .name = "virtualized", .mode = 0444 },
					   .offset = SIZE_MAX };
CPU_ATTR(exits_total);
CPU_ATTR(hypercalls);
CPU_ATTR(hypercalls_refused);
CPU_ATTR(injected_exceptions);
CPU_ATTR(injected_nmis);
CPU_ATTR(nmis_in_root);
CPU_ATTR(unexpected_exits);
CPU_ATTR(msr_faults);

static struct attribute *cpu_attrs[] = {
	&cpu_virtualized.attr,	       &cpu_exits_total.attr,
	&cpu_hypercalls.attr,	       &cpu_hypercalls_refused.attr,
	&cpu_injected_exceptions.attr, &cpu_injected_nmis.attr,
	&cpu_nmis_in_root.attr,	       &cpu_unexpected_exits.attr,
	&cpu_msr_faults.attr,	       NULL,
};
ATTRIBUTE_GROUPS(cpu);

static ssize_t cpu_show(struct kobject *kobj, struct attribute *attr, char *buf)
{
	const struct cpu_dir *d = container_of(kobj, struct cpu_dir, kobj);
	const struct cpu_attr *a = container_of(attr, struct cpu_attr, attr);
	struct mw_ioc_cpu_stats *s = kmalloc(sizeof(*s), GFP_KERNEL);
	ssize_t n;

	if (!s)
		return -ENOMEM;
	mutex_lock(&mwl.lock);
	int ret = mwl_cpu_stats_locked(d->cpu, s);
	mutex_unlock(&mwl.lock);
	if (a->offset == SIZE_MAX)
		n = sysfs_emit(buf, "%u\n", !ret && (s->flags & MW_CPU_VIRTUALIZED));
	else if (ret)
		n = ret == -ENXIO ? sysfs_emit(buf, "0\n") : ret;
	else
		n = sysfs_emit(buf, "%llu\n",
			       *(const unsigned long long *)((const char *)&s->stats + a->offset));
	kfree(s);
	return n;
}

static const struct sysfs_ops cpu_sysfs_ops = { .show = cpu_show };

static void cpu_release(struct kobject *kobj)
{
	kfree(container_of(kobj, struct cpu_dir, kobj));
}

static struct kobj_type cpu_ktype = {
	.sysfs_ops = &cpu_sysfs_ops,
	.release = cpu_release,
	.default_groups = cpu_groups,
};

int mwl_sysfs_init(void)
{
	int ret;

	top = kobject_create_and_add("marrow", kernel_kobj);
	if (!top)
		return -ENOMEM;
	ret = sysfs_create_group(top, &top_group);
	for (unsigned cpu = 0; !ret && cpu < nr_cpu_ids && cpu < MW_MAX_CPUS; cpu++) {
		struct cpu_dir *d = kzalloc(sizeof(*d), GFP_KERNEL);

		if (!d) {
			ret = -ENOMEM;
			break;
		}
		d->cpu = cpu;
		ret = kobject_init_and_add(&d->kobj, &cpu_ktype, top, "cpu%u", cpu);
		if (ret) {
			kobject_put(&d->kobj);
			break;
		}
		cpu_dirs[cpu] = d;
	}
	if (ret) {
		pr_err("marrow: cannot create /sys/kernel/marrow (%d)\n", ret);
		mwl_sysfs_exit();
	}
	return ret;
}

void mwl_sysfs_exit(void)
{
	for (unsigned cpu = 0; cpu < MW_MAX_CPUS; cpu++) {
		if (cpu_dirs[cpu])
			kobject_put(&cpu_dirs[cpu]->kobj);
		cpu_dirs[cpu] = NULL;
	}
	if (top)
		kobject_put(top);
	top = NULL;
}
