/* The ioctl ABI of /dev/marrow, the Linux module's control device, shared
 * by marrow.ko and marrowctl (docs/linux.md).
 *
 * Every call needs CAP_SYS_ADMIN (the device is also mode 0600). Each
 * structure starts with its size as the caller knows it; the module fills
 * at most that many bytes and writes back the size it knows, so that
 * fields appended later stay compatible both ways (ABI: only append).
 * Errors are negative errno values as ioctl(2) reports them:
 *   ENOTTY  not a marrow ioctl
 *   EINVAL  a bad size, CPU index or flag
 *   EFAULT  a bad user pointer
 *   ENXIO   the request needs marrow active, and it is not (after
 *           MW_IOC_UNLOAD)
 *   EPERM   the caller lacks CAP_SYS_ADMIN */
#ifndef MARROW_LINUX_IOCTL_H
#define MARROW_LINUX_IOCTL_H

#ifdef __KERNEL__
#include <linux/ioctl.h>
#include <linux/types.h>
#else
#include <stdint.h>
#include <sys/ioctl.h>
#endif

#include "marrow/stats.h"

#define MW_DEVICE_NAME "marrow"
#define MW_DEVICE_PATH "/dev/marrow"

/* Bumped on an incompatible change (never, if appending is enough). */
#define MW_IOC_ABI_VERSION 1
/* The numbers only need to be unique on /dev/marrow's own file. */
#define MW_IOC_MAGIC 0xd7
/* CPU sets in this ABI are bitmaps of MW_IOC_MAX_CPUS bits. */
#define MW_IOC_MAX_CPUS 256
#define MW_IOC_CPU_WORDS (MW_IOC_MAX_CPUS / 64)

/* mw_ioc_status.flags */
#define MW_STATUS_ACTIVE (1u << 0)   /* marrow virtualizes (cleared by MW_IOC_UNLOAD) */
#define MW_STATUS_IDENTIFY (1u << 1) /* loaded with identify=1: CPUID shows marrow */
#define MW_STATUS_PINNED (1u << 2)   /* a CPU failed to leave VMX: the module stays loaded */

struct mw_ioc_status {
	uint32_t size;	      /* in: sizeof(struct mw_ioc_status); out: the module's */
	uint32_t abi_version; /* MW_IOC_ABI_VERSION */
	uint32_t version;     /* hypercall ABI: major << 16 | minor (hypercall.h) */
	uint32_t flags;	      /* MW_STATUS_* */
	uint32_t cpu_count;   /* CPUs marrow counts: Linux's possible CPUs */
	uint32_t online_count;
	uint32_t virtualized_count;
	uint32_t reserved;
	uint64_t features;			/* enum mw_hc_feature bits (hypercall.h) */
	uint64_t online[MW_IOC_CPU_WORDS];	/* bit n: CPU n is online */
	uint64_t virtualized[MW_IOC_CPU_WORDS]; /* bit n: CPU n runs under marrow */
	/* The last failure to virtualize a CPU that came online ("" when
	 * none): such a CPU runs, but not under marrow. */
	char last_error[128];
};

/* mw_ioc_cpu_stats.flags */
#define MW_CPU_ONLINE (1u << 0)
#define MW_CPU_VIRTUALIZED (1u << 1)
#define MW_CPU_STATS_FINAL (1u << 2) /* counts as they were at MW_IOC_UNLOAD */

struct mw_ioc_cpu_stats {
	uint32_t size; /* in/out, as in mw_ioc_status */
	uint32_t cpu;  /* in: below mw_ioc_status.cpu_count */
	uint32_t flags;
	uint32_t reserved;
	struct mw_cpu_stats stats; /* stats.size: the size marrow's core filled */
};

/* The module drains every CPU's root-mode log ring into a history of the
 * most recent records, as text lines ("cpu1: ..."), and into printk. Bytes
 * are numbered from 0 since the module loaded; a reader asks from `start`
 * and continues from `next`. */
struct mw_ioc_log {
	uint32_t size;	   /* in/out, as in mw_ioc_status */
	uint32_t length;   /* out: bytes copied into buffer */
	uint64_t buffer;   /* in: user address of the destination */
	uint64_t capacity; /* in: its size in bytes */
	uint64_t start;	   /* in: the first byte wanted */
	uint64_t next;	   /* out: the byte after the last one copied */
	uint64_t end;	   /* out: the byte after the newest one kept */
	uint64_t skipped;  /* out: bytes asked for that are no longer kept */
};

#define MW_IOC_STATUS _IOWR(MW_IOC_MAGIC, 0x01, struct mw_ioc_status)
#define MW_IOC_CPU_STATS _IOWR(MW_IOC_MAGIC, 0x02, struct mw_ioc_cpu_stats)
#define MW_IOC_LOG _IOWR(MW_IOC_MAGIC, 0x03, struct mw_ioc_log)
/* Devirtualizes every CPU. The module stays loaded, inactive: status and
 * the final statistics still answer, rmmod unloads it, a new insmod needs
 * rmmod first. EALREADY when already inactive; EIO when a CPU could not
 * leave (the module is then pinned: it can no longer be unloaded). */
#define MW_IOC_UNLOAD _IO(MW_IOC_MAGIC, 0x04)

/* 0x05-0x3f: reserved for more of the same kind (status, logs, control).
 *
 * 0x40-0x5f: reserved for hooks (issue 5: EPT split hooks, page
 * substitution, MSR hooks). The plan, so that the space is not taken by
 * anything else: MW_IOC_HOOK_ADD (0x40, _IOWR, a struct mw_ioc_hook naming
 * the kind, the guest-physical or MSR target and the handler), _REMOVE
 * (0x41, _IOW, by id), _LIST (0x42, _IOWR, into a user buffer) and
 * _STATS (0x43, _IOWR, hits per hook). None of these exists yet: the
 * module answers ENOTTY. */
#define MW_IOC_HOOK_FIRST 0x40
#define MW_IOC_HOOK_LAST 0x5f

#endif
