/* /dev/marrow: the control device marrowctl talks to. The ABI is in
 * include/marrow/linux_ioctl.h. Root only: the node is mode 0600 and every
 * open and ioctl also checks CAP_SYS_ADMIN, so a node made readable by
 * mistake still refuses. */
#include <linux/capability.h>
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/cpumask.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "marrow/hypercall.h"
#include "mwl.h"
#include "mwl_hooks.h"

#define LOG_CHUNK_MAX (64 * 1024)

static void set_bit64(uint64_t *words, unsigned bit)
{
	words[bit / 64] |= 1ull << (bit % 64);
}

void mwl_status_locked(struct mw_ioc_status *st)
{
	unsigned cpu;

	lockdep_assert_held(&mwl.lock);
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	st->abi_version = MW_IOC_ABI_VERSION;
	st->version = (MW_HC_VERSION_MAJOR << 16) | MW_HC_VERSION_MINOR;
	st->cpu_count = min_t(unsigned, nr_cpu_ids, MW_IOC_MAX_CPUS);
	if (mwl_active())
		st->flags |= MW_STATUS_ACTIVE;
	if (mw.cfg.cpuid_identify)
		st->flags |= MW_STATUS_IDENTIFY;
	if (mwl.pinned)
		st->flags |= MW_STATUS_PINNED;
	for_each_online_cpu(cpu)
	{
		if (cpu >= MW_IOC_MAX_CPUS)
			break;
		set_bit64(st->online, cpu);
		st->online_count++;
	}
	for (cpu = 0; cpu < st->cpu_count; cpu++) {
		if (mwl_active() && mw_cpu_virtualized(cpu)) {
			set_bit64(st->virtualized, cpu);
			st->virtualized_count++;
		}
	}
	st->features = mwl.features;
	strscpy(st->last_error, mwl.last_error, sizeof(st->last_error));
}

int mwl_cpu_stats_locked(unsigned cpu, struct mw_ioc_cpu_stats *out)
{
	lockdep_assert_held(&mwl.lock);
	if (cpu >= nr_cpu_ids || cpu >= MW_MAX_CPUS)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->size = sizeof(*out);
	out->cpu = cpu;
	if (cpu_online(cpu))
		out->flags |= MW_CPU_ONLINE;
	if (mwl_active() && mw.vcpus[cpu]) {
		if (mw_cpu_virtualized(cpu))
			out->flags |= MW_CPU_VIRTUALIZED;
		/* Counters are 64-bit aligned words that only their CPU
		 * writes: each read is whole, the set is a moment's view. */
		out->stats = mw.vcpus[cpu]->stats;
	} else if (mwl.have_final_stats) {
		out->flags |= MW_CPU_STATS_FINAL;
		out->stats = mwl.final_stats[cpu];
	} else {
		return -ENXIO;
	}
	return 0;
}

/* The caller's size, checked: at least the first field, at most ours. */
static int get_size(const void __user *arg, uint32_t *size, uint32_t ours)
{
	if (get_user(*size, (const uint32_t __user *)arg))
		return -EFAULT;
	if (*size < sizeof(uint32_t))
		return -EINVAL;
	*size = min(*size, ours);
	return 0;
}

static long ioc_status(void __user *arg)
{
	struct mw_ioc_status st;
	uint32_t size;
	int ret = get_size(arg, &size, sizeof(st));

	if (ret)
		return ret;
	mutex_lock(&mwl.lock);
	mwl_status_locked(&st);
	mutex_unlock(&mwl.lock);
	return copy_to_user(arg, &st, size) ? -EFAULT : 0;
}

static long ioc_cpu_stats(void __user *arg)
{
	struct mw_ioc_cpu_stats in, out;
	uint32_t size;
	int ret = get_size(arg, &size, sizeof(in));

	if (ret)
		return ret;
	if (size < offsetof(struct mw_ioc_cpu_stats, flags))
		return -EINVAL;
	if (copy_from_user(&in, arg, offsetof(struct mw_ioc_cpu_stats, flags)))
		return -EFAULT;
	mutex_lock(&mwl.lock);
	ret = mwl_cpu_stats_locked(in.cpu, &out);
	mutex_unlock(&mwl.lock);
	if (ret)
		return ret;
	return copy_to_user(arg, &out, size) ? -EFAULT : 0;
}

static long ioc_log(void __user *arg)
{
	struct mw_ioc_log req = { 0 };
	uint32_t size;
	int ret = get_size(arg, &size, sizeof(req));

	if (ret)
		return ret;
	if (size < sizeof(req))
		return -EINVAL; /* every field is needed */
	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	size_t cap = min_t(uint64_t, req.capacity, LOG_CHUNK_MAX);
	char *buf = kmalloc(max_t(size_t, cap, 1), GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	mutex_lock(&mwl.lock);
	mwl_log_drain_locked();
	size_t n = mwl_log_read_locked(req.start, buf, cap, &req.next, &req.end, &req.skipped);
	mutex_unlock(&mwl.lock);
	req.size = sizeof(req);
	req.length = n;
	ret = 0;
	if (n && copy_to_user(u64_to_user_ptr(req.buffer), buf, n))
		ret = -EFAULT;
	else if (copy_to_user(arg, &req, sizeof(req)))
		ret = -EFAULT;
	kfree(buf);
	return ret;
}

static long ioc_unload(void)
{
	int ret;

	mwl_lock_all();
	if (mwl.hotplug_state > 0)
		cpuhp_remove_state_nocalls_cpuslocked(mwl.hotplug_state);
	mwl.hotplug_state = 0;
	ret = mwl_devirtualize_all_locked();
	mwl_unlock_all();
	if (!ret)
		pr_info("marrow: every CPU devirtualized on request; marrow.ko stays loaded, "
			"inactive\n");
	return ret;
}

static long mwl_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	switch (cmd) {
	case MW_IOC_STATUS:
		return ioc_status(uarg);
	case MW_IOC_CPU_STATS:
		return ioc_cpu_stats(uarg);
	case MW_IOC_LOG:
		return ioc_log(uarg);
	case MW_IOC_UNLOAD:
		return ioc_unload();
	default:
		if (_IOC_TYPE(cmd) == MW_IOC_MAGIC && _IOC_NR(cmd) >= MW_IOC_HOOK_FIRST &&
		    _IOC_NR(cmd) <= MW_IOC_HOOK_LAST)
			return mwl_hook_ioctl(cmd, uarg);
		return -ENOTTY;
	}
}

static int mwl_open(struct inode *inode, struct file *file)
{
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	return nonseekable_open(inode, file);
}

static const struct file_operations mwl_fops = {
	.owner = THIS_MODULE,
	.open = mwl_open,
	.unlocked_ioctl = mwl_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = no_llseek,
};

static struct miscdevice mwl_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = MW_DEVICE_NAME,
	.fops = &mwl_fops,
	.mode = 0600,
};

int mwl_dev_init(void)
{
	int ret = misc_register(&mwl_misc);

	if (ret)
		pr_err("marrow: cannot register /dev/%s (%d)\n", MW_DEVICE_NAME, ret);
	return ret;
}

void mwl_dev_exit(void)
{
	misc_deregister(&mwl_misc);
}
