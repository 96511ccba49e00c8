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

/* 0x05-0x3f: reserved for more of the same kind (status, logs, control). */

/* 0x40-0x5f: hooks (docs/linux.md, docs/hooks.md). A refused request
 * fails with a negative errno and, for the calls whose structure has an
 * `error` field, the structure is still copied back with the reason in
 * words there:
 *   ENOENT     no such kernel symbol / no such hook
 *   EEXIST     already hooked
 *   EOPNOTSUPP this CPU or kernel cannot do it (no execute-only EPT,
 *              kernel page-table isolation for the syscall hook)
 *   EINVAL     a bad symbol, MSR index, policy or operation
 *   ENOSPC     no hook slot left
 *   EBUSY      another hook change is in progress
 *   ENXIO      marrow is inactive */
#define MW_IOC_HOOK_FIRST 0x40
#define MW_IOC_HOOK_LAST 0x5f

#define MW_IOC_SYMBOL_MAX 128
#define MW_IOC_ERROR_MAX 192

/* A counting inline hook on a kernel function (EPT split: the function's
 * bytes read as they were; calls go through marrow's stub, counted, to the
 * original). */
struct mw_ioc_hook {
	uint32_t size;			/* in/out, as in mw_ioc_status */
	uint32_t flags;			/* 0 */
	char symbol[MW_IOC_SYMBOL_MAX]; /* in: the function, as in /proc/kallsyms */
	uint64_t address;		/* out: where the symbol is */
	uint64_t patched_at;		/* out: where the jump is (after an ENDBR64, if any) */
	uint64_t hits;			/* out: calls counted so far (MW_IOC_HOOK_REMOVE: final) */
	char error[MW_IOC_ERROR_MAX];	/* out: why it was refused */
};

/* Every hook in a user buffer of struct mw_ioc_hook entries (their `size`
 * and `error` are left 0). */
struct mw_ioc_hook_list {
	uint32_t size;	   /* in/out */
	uint32_t count;	   /* out: hooks there are (may exceed capacity) */
	uint64_t buffer;   /* in: user address */
	uint64_t capacity; /* in: entries the buffer holds */
};

/* mw_ioc_msr_hook.read / .write: enum mw_msr_read_policy and
 * enum mw_msr_write_policy of src/hook/msr_hook.h. */
#define MW_IOC_MSR_READ_PASS 0
#define MW_IOC_MSR_READ_SHADOW 1
#define MW_IOC_MSR_WRITE_PASS 0
#define MW_IOC_MSR_WRITE_SHADOW 1
#define MW_IOC_MSR_WRITE_IGNORE 2
#define MW_IOC_MSR_WRITE_GP 3

struct mw_ioc_msr_hook {
	uint32_t size;		/* in/out */
	uint32_t msr;		/* in */
	uint32_t read, write;	/* in (add): the policies */
	uint64_t shadow;	/* in (add): the first shadow value; out: the current one */
	uint64_t reads, writes; /* out: the guest's accesses counted */
	char error[MW_IOC_ERROR_MAX];
};

/* The same buffer protocol as mw_ioc_hook_list, of struct mw_ioc_msr_hook. */
struct mw_ioc_msr_hook_list {
	uint32_t size;
	uint32_t count;
	uint64_t buffer;
	uint64_t capacity;
};

/* mw_ioc_syscalls.op */
#define MW_IOC_SYSCALLS_QUERY 0
#define MW_IOC_SYSCALLS_ON 1
#define MW_IOC_SYSCALLS_OFF 2
/* Syscall numbers counted one by one; the last counter holds every number
 * from MW_IOC_SYSCALLS_MAX - 1 up. */
#define MW_IOC_SYSCALLS_MAX 512

struct mw_ioc_syscalls {
	uint32_t size; /* in/out */
	uint32_t op;   /* in: MW_IOC_SYSCALLS_* */
	uint32_t on;   /* out: 1 while the LSTAR hook is on */
	uint32_t reserved;
	uint64_t entry;	 /* out: the kernel's syscall entry (what LSTAR reads) */
	uint64_t stub;	 /* out: where every CPU's real LSTAR points, 0 when off */
	uint64_t counts; /* in: user address of MW_IOC_SYSCALLS_MAX uint64_t, or 0 */
	char error[MW_IOC_ERROR_MAX];
};

#define MW_IOC_HOOK_ADD _IOWR(MW_IOC_MAGIC, 0x40, struct mw_ioc_hook)
#define MW_IOC_HOOK_REMOVE _IOWR(MW_IOC_MAGIC, 0x41, struct mw_ioc_hook)
#define MW_IOC_HOOK_LIST _IOWR(MW_IOC_MAGIC, 0x42, struct mw_ioc_hook_list)
#define MW_IOC_MSR_HOOK_ADD _IOWR(MW_IOC_MAGIC, 0x43, struct mw_ioc_msr_hook)
#define MW_IOC_MSR_HOOK_REMOVE _IOWR(MW_IOC_MAGIC, 0x44, struct mw_ioc_msr_hook)
#define MW_IOC_MSR_HOOK_LIST _IOWR(MW_IOC_MAGIC, 0x45, struct mw_ioc_msr_hook_list)
#define MW_IOC_SYSCALLS _IOWR(MW_IOC_MAGIC, 0x46, struct mw_ioc_syscalls)

#endif
