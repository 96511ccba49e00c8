/* marrow.ko: loading virtualizes every CPU, unloading devirtualizes them
 * (docs/linux.md). All or nothing: when one CPU cannot be virtualized,
 * none stays virtualized, dmesg says which CPU failed where and why, and
 * insmod fails. CPUs that come online later are virtualized as they come;
 * CPUs going offline leave first. */
#include <asm/processor-flags.h>
#include <asm/special_insns.h>
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/errno.h>
#include <linux/init.h>
#include <linux/irqflags.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/random.h>
#include <linux/smp.h>
#include <linux/string.h>

#include "code_area.h"
#include "core/status.h"
#include "marrow/hypercall.h"
#include "mwl.h"
#include "mwl_hooks.h"
#include "mwl_selftest.h"

MODULE_LICENSE("GPL");
MODULE_AUTHOR("marrow maintainers");
MODULE_DESCRIPTION("marrow: a thin VT-x hypervisor under the running kernel");

static bool identify;
module_param(identify, bool, 0444);
MODULE_PARM_DESC(identify, "show marrow through CPUID (hypervisor bit, leaf 0x40000000)");

static unsigned long long key;
module_param(key, ullong, 0);
MODULE_PARM_DESC(key, "hypercall key (default: random)");

static int fault_cpu = -1;
module_param(fault_cpu, int, 0444);
MODULE_PARM_DESC(fault_cpu, "test: CPU on which to inject a failure (with fault_step)");

static char *fault_step;
module_param(fault_step, charp, 0444);
MODULE_PARM_DESC(fault_step,
		 "test: step at which fault_cpu fails: support, caps, alloc, vmxon, vmclear, "
		 "vmptrld, vmcs or vmlaunch");

static bool test_log;
module_param(test_log, bool, 0444);
MODULE_PARM_DESC(test_log,
		 "test: put one record into every CPU's root-mode log ring at load, so that the "
		 "drain into dmesg and marrowctl log has something to carry");

static ushort debug_port;
module_param(debug_port, ushort, 0444);
MODULE_PARM_DESC(debug_port,
		 "16550 I/O port for root-mode fatal diagnostics, e.g. 0x3f8 (default 0: off)");

struct mwl_state mwl = { .lock = __MUTEX_INITIALIZER(mwl.lock) };

bool mwl_active(void)
{
	return READ_ONCE(mw.active);
}

/* The errno insmod reports for a core status. */
static int status_errno(const struct mw_error *e)
{
	switch (e->status) {
	case MW_OK:
		return 0;
	case MW_ERR_NOT_INTEL:
	case MW_ERR_NO_VMX:
	case MW_ERR_VMX_LOCKED_OFF:
	case MW_ERR_VMX_CAPS:
	case MW_ERR_NO_EPT:
	case MW_ERR_NO_VPID:
	case MW_ERR_CPU_MISMATCH:
		return -ENODEV; /* this machine cannot run marrow */
	case MW_ERR_NO_MEMORY:
		return -ENOMEM;
	case MW_ERR_ALREADY:
		return -EBUSY;
	case MW_ERR_TOO_MANY_CPUS:
		return -EOPNOTSUPP;
	case MW_ERR_BAD_CONFIG:
		return -EINVAL;
	case MW_ERR_INJECTED:
		/* What the step would have failed with for real. */
		if (e->step == MW_STEP_ALLOC)
			return -ENOMEM;
		if (e->step == MW_STEP_SUPPORT || e->step == MW_STEP_CAPS)
			return -ENODEV;
		return -EIO;
	default:
		return -EIO;
	}
}

static void report(const char *what, const struct mw_error *e)
{
	char line[192];

	mw_error_format(e, line, sizeof(line));
	pr_err("marrow: %s: %s\n", what, line);
}

static int check_params(struct mw_config *cfg)
{
	mw_config_default(cfg);
	cfg->cpuid_identify = identify;
	cfg->debug_port = debug_port;
	if (key)
		cfg->hypercall_key = key;
	else
		while (!cfg->hypercall_key)
			cfg->hypercall_key = get_random_u64();
	if (fault_step && *fault_step) {
		cfg->fault_step = mw_step_from_name(fault_step);
		if (cfg->fault_step == MW_STEP_NONE) {
			pr_err("marrow: fault_step=%s: no such step (support, caps, alloc, vmxon, "
			       "vmclear, vmptrld, vmcs, vmlaunch)\n",
			       fault_step);
			return -EINVAL;
		}
		if (fault_cpu < 0 || fault_cpu >= nr_cpu_ids || !cpu_online(fault_cpu)) {
			pr_err("marrow: fault_step=%s needs fault_cpu= an online CPU (0-%u), not "
			       "%d\n",
			       fault_step, nr_cpu_ids - 1, fault_cpu);
			return -EINVAL;
		}
		cfg->fault_cpu = fault_cpu;
	} else if (fault_cpu != -1) {
		pr_err("marrow: fault_cpu=%d needs fault_step= as well\n", fault_cpu);
		return -EINVAL;
	}
	if (nr_cpu_ids > MW_MAX_CPUS) {
		pr_err("marrow: %u possible CPUs, marrow supports at most %u\n", nr_cpu_ids,
		       MW_MAX_CPUS);
		return -EOPNOTSUPP;
	}
	/* The core's host page table is 4-level. */
	if (native_read_cr4() & X86_CR4_LA57) {
		pr_err("marrow: 5-level paging is on (CR4.LA57); marrow supports 4-level paging "
		       "only (boot with no5lvl)\n");
		return -EOPNOTSUPP;
	}
	return 0;
}

/* Another hypervisor in VMX operation on any CPU (KVM with a running VM,
 * say) leaves no room for marrow: VMXON would fail. */
static void check_vmx_free(void *busy)
{
	if (native_read_cr4() & X86_CR4_VMXE)
		WRITE_ONCE(*(int *)busy, smp_processor_id() + 1);
}

struct ping {
	int failed_cpu; /* -1 when every CPU answered */
	uint64_t features;
};

/* Every virtualized CPU answers MW_HC_PING with marrow's signature and its
 * own index, and MW_HC_INFO with the features: the whole VMCALL path, the
 * key and the exit handler work on each. */
static void ping_cpu(void *arg)
{
	struct ping *p = arg;
	unsigned cpu = smp_processor_id();
	uint64_t k = mw.cfg.hypercall_key;

	if (!mw_cpu_virtualized(cpu)) {
		WRITE_ONCE(p->failed_cpu, cpu);
		return;
	}
	struct mw_hc_result r = mw_vmcall(MW_HC_PING, k, 0, 0, 0);
	if (r.status != MW_HC_OK || r.rdx != MW_HC_SIGNATURE || (r.r8 >> 32) != cpu) {
		WRITE_ONCE(p->failed_cpu, cpu);
		return;
	}
	r = mw_vmcall(MW_HC_INFO, k, 0, 0, 0);
	if (r.status != MW_HC_OK)
		WRITE_ONCE(p->failed_cpu, cpu);
	else
		WRITE_ONCE(p->features, r.r8); /* the same on every CPU */
}

static void save_final_stats(void)
{
	for (unsigned i = 0; i < mw.cpu_count && i < MW_MAX_CPUS; i++)
		if (mw.vcpus[i])
			mwl.final_stats[i] = mw.vcpus[i]->stats;
	mwl.have_final_stats = true;
}

int mwl_devirtualize_all_locked(void)
{
	lockdep_assert_held(&mwl.lock);
	if (!mwl_active())
		return -EALREADY;
	mwl_log_drain_locked();
	save_final_stats();
	enum mw_status s = mw_devirtualize_all();
	/* The core removed every hook before leaving. */
	mwl_hooks_forget_locked();
	if (s == MW_OK)
		return 0;
	/* A CPU still runs marrow's exit handler from this module's memory:
	 * the module must never go away. */
	if (!mwl.pinned) {
		__module_get(THIS_MODULE);
		mwl.pinned = true;
	}
	pr_crit("marrow: %u CPU(s) could not leave VMX operation (%s); marrow.ko stays loaded\n",
		mw_virtualized_count(), mw_status_str(s));
	return -EIO;
}

/* CPU hotplug (CPUHP_AP_ONLINE_DYN): both callbacks run on the CPU
 * concerned, in its hotplug thread, with the hotplug lock held. */
static int cpu_online_cb(unsigned int cpu)
{
	struct mw_error err;
	unsigned long flags;

	mutex_lock(&mwl.lock);
	if (mwl_active() && !mw_cpu_virtualized(cpu)) {
		local_irq_save(flags);
		enum mw_status s = mw_virtualize_this_cpu(&err);
		local_irq_restore(flags);
		if (s != MW_OK) {
			/* The CPU runs, outside marrow: status shows it. */
			mw_error_format(&err, mwl.last_error, sizeof(mwl.last_error));
			pr_err("marrow: cpu %u came online but cannot be virtualized: %s\n", cpu,
			       mwl.last_error);
		} else {
			pr_info("marrow: cpu %u came online and is virtualized\n", cpu);
		}
	}
	mutex_unlock(&mwl.lock);
	return 0;
}

static int cpu_offline_cb(unsigned int cpu)
{
	unsigned long flags;

	mutex_lock(&mwl.lock);
	if (mwl_active() && mw_cpu_virtualized(cpu)) {
		mwl_log_drain_locked();
		local_irq_save(flags);
		enum mw_status s = mw_devirtualize_this_cpu();
		local_irq_restore(flags);
		if (s != MW_OK)
			pr_crit("marrow: cpu %u goes offline but could not leave VMX: %s\n", cpu,
				mw_status_str(s));
		else
			pr_info("marrow: cpu %u devirtualized before going offline\n", cpu);
	}
	mutex_unlock(&mwl.lock);
	return 0;
}

/* Virtualizes every CPU and checks each answers. 0 on success, a negative
 * errno on a clean failure, 1 when the failure left a CPU that cannot
 * leave VMX operation (the module is then pinned). Caller holds
 * cpus_read_lock() and mwl.lock. */
static int virtualize(const struct mw_config *cfg)
{
	struct mw_error err;
	struct ping ping = { .failed_cpu = -1 };
	int busy = 0;

	on_each_cpu(check_vmx_free, &busy, 1);
	if (busy) {
		pr_err("marrow: cpu %d is already in VMX operation (CR4.VMXE is set): another "
		       "hypervisor, such as kvm_intel with a running VM, owns VMX\n",
		       busy - 1);
		return -EBUSY;
	}
	enum mw_status s = mw_virtualize_all(cfg, &err);
	if (s != MW_OK) {
		report("cannot virtualize", &err);
		if (!mw_virtualized_count())
			return status_errno(&err);
		/* The rollback left a CPU in VMX operation: it still runs
		 * this module's code and uses its memory. */
		__module_get(THIS_MODULE);
		mwl.pinned = true;
		pr_crit("marrow: %u CPU(s) could not leave VMX operation after the failure; "
			"marrow.ko stays loaded\n",
			mw_virtualized_count());
		return 1;
	}
	on_each_cpu(ping_cpu, &ping, 1);
	if (ping.failed_cpu >= 0) {
		pr_err("marrow: cpu %d does not answer hypercalls after virtualization\n",
		       ping.failed_cpu);
		return mwl_devirtualize_all_locked() == -EIO ? 1 : -EIO;
	}
	mwl.features = ping.features;
	return 0;
}

static int __init marrow_init(void)
{
	struct mw_config cfg;
	int ret;

	BUILD_BUG_ON(MW_MAX_CPUS > MW_IOC_MAX_CPUS);
	ret = check_params(&cfg);
	if (ret)
		return ret;
	if (!mwl_extable_selftest()) {
		pr_err("marrow: the core's exception-table entries do not work under this "
		       "kernel\n");
		return -ENOEXEC;
	}

	mwl_lock_all();
	ret = virtualize(&cfg);
	if (ret == 0) {
		int state = cpuhp_setup_state_nocalls_cpuslocked(
			CPUHP_AP_ONLINE_DYN, "marrow:online", cpu_online_cb, cpu_offline_cb);
		if (state < 0) {
			pr_err("marrow: cannot register for CPU hotplug (%d)\n", state);
			ret = mwl_devirtualize_all_locked() == -EIO ? 1 : state;
		} else {
			mwl.hotplug_state = state;
		}
	}
	mwl_unlock_all();
	if (ret < 0)
		return ret;

	/* Pinned or not, the device and sysfs show what state marrow is in. */
	int dev_ret = mwl_dev_init();
	if (!dev_ret) {
		dev_ret = mwl_sysfs_init();
		if (dev_ret)
			mwl_dev_exit();
	}
	if (dev_ret && !mwl.pinned) {
		mwl_lock_all();
		cpuhp_remove_state_nocalls_cpuslocked(mwl.hotplug_state);
		mwl.hotplug_state = 0;
		if (mwl_devirtualize_all_locked() == -EIO)
			dev_ret = 0; /* pinned after all: stay */
		mwl_unlock_all();
		return dev_ret;
	}
	if (ret == 0) {
		if (test_log)
			mwl_log_test_records();
		mwl_log_start();
		pr_info("marrow: %u of %u CPUs virtualized (%u online)%s\n", mw_virtualized_count(),
			nr_cpu_ids, num_online_cpus(),
			identify ? ", identifiable through CPUID" : "");
	}
	return 0;
}

static void __exit marrow_exit(void)
{
	mwl_sysfs_exit();
	mwl_dev_exit();
	mwl_log_stop();
	mwl_lock_all();
	if (mwl.hotplug_state > 0)
		cpuhp_remove_state_nocalls_cpuslocked(mwl.hotplug_state);
	mwl.hotplug_state = 0;
	unsigned n = mw_virtualized_count();
	int ret = mwl_devirtualize_all_locked();
	mwl_unlock_all();
	if (!mwl.pinned)
		mwl_code_exit();
	if (!ret)
		pr_info("marrow: %u CPU(s) devirtualized, unloaded\n", n);
	else
		pr_info("marrow: unloaded\n");
}

module_init(marrow_init);
module_exit(marrow_exit);
