/* How marrowctl reaches marrow: one implementation per platform
 * (transport_linux.c: ioctls on /dev/marrow; a Windows build adds
 * transport_windows.c with DeviceIoControl). Everything else in marrowctl
 * is portable C and sees only this interface. */
#ifndef MARROWCTL_TRANSPORT_H
#define MARROWCTL_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "marrow/stats.h"

#define MWT_MAX_CPUS 256

enum mwt_result {
	MWT_OK = 0,
	MWT_NOT_LOADED,	 /* marrow's driver is not loaded: no device */
	MWT_DENIED,	 /* the caller may not use the device */
	MWT_INACTIVE,	 /* loaded, but marrow no longer virtualizes */
	MWT_INVALID,	 /* the driver refused an argument */
	MWT_FAILED,	 /* anything else: see mwt_error() */
	MWT_NOT_FOUND,	 /* no such symbol, hook or MSR */
	MWT_EXISTS,	 /* already hooked */
	MWT_UNSUPPORTED, /* this CPU or kernel cannot do it */
};

struct mwt_status {
	unsigned version_major, version_minor; /* hypercall ABI */
	unsigned abi_version;		       /* the transport's own ABI */
	bool active, identify, pinned;
	unsigned cpu_count, online_count, virtualized_count;
	uint64_t features; /* enum mw_hc_feature bits */
	bool online[MWT_MAX_CPUS];
	bool virtualized[MWT_MAX_CPUS];
	char last_error[128];
};

struct mwt_cpu_stats {
	bool online, virtualized;
	bool final; /* counts frozen when marrow was devirtualized */
	struct mw_cpu_stats stats;
};

struct mwt_log_chunk {
	size_t length;	  /* bytes placed in the caller's buffer */
	uint64_t next;	  /* where to continue */
	uint64_t end;	  /* the byte after the newest one the driver keeps */
	uint64_t skipped; /* bytes asked for that are no longer kept */
};

struct mwt;

/* The device's name as the user would look for it, e.g. /dev/marrow. */
const char *mwt_device(void);
enum mwt_result mwt_open(struct mwt **out);
void mwt_close(struct mwt *t);
/* The last failure, in words (after any result but MWT_OK). */
const char *mwt_error(const struct mwt *t);
/* mwt_open's failure, in words, when there is no handle. */
const char *mwt_open_error(void);

enum mwt_result mwt_status(struct mwt *t, struct mwt_status *st);
/* MWT_INACTIVE when marrow left before any statistics were kept. */
enum mwt_result mwt_cpu_stats(struct mwt *t, unsigned cpu, struct mwt_cpu_stats *out);
enum mwt_result mwt_read_log(struct mwt *t, uint64_t start, char *buf, size_t cap,
			     struct mwt_log_chunk *chunk);
/* MWT_INACTIVE when marrow was not virtualizing any more. */
enum mwt_result mwt_unload(struct mwt *t);

/* Hooks (docs/hooks.md). Refusals leave the driver's reason in
 * mwt_error(). */
#define MWT_SYMBOL_MAX 128
#define MWT_SYSCALLS 512 /* counters; the last holds every number from 511 up */

struct mwt_hook {
	char symbol[MWT_SYMBOL_MAX];
	uint64_t address;    /* the symbol */
	uint64_t patched_at; /* where the jump is */
	uint64_t hits;	     /* calls counted */
};

enum mwt_msr_read { MWT_MSR_READ_PASS, MWT_MSR_READ_SHADOW };
enum mwt_msr_write {
	MWT_MSR_WRITE_PASS,
	MWT_MSR_WRITE_SHADOW,
	MWT_MSR_WRITE_IGNORE,
	MWT_MSR_WRITE_GP,
};

struct mwt_msr_hook {
	uint32_t msr;
	enum mwt_msr_read read;
	enum mwt_msr_write write;
	uint64_t shadow;
	uint64_t reads, writes;
};

enum mwt_syscalls_op { MWT_SYSCALLS_QUERY, MWT_SYSCALLS_ON, MWT_SYSCALLS_OFF };

struct mwt_syscalls {
	bool on;
	uint64_t entry; /* the kernel's syscall entry */
	uint64_t stub;	/* marrow's stub every CPU's LSTAR points at (0: off) */
	uint64_t counts[MWT_SYSCALLS];
};

enum mwt_result mwt_hook_add(struct mwt *t, const char *symbol, struct mwt_hook *out);
enum mwt_result mwt_hook_remove(struct mwt *t, const char *symbol, struct mwt_hook *out);
/* Up to cap hooks into out; *count: how many there are. */
enum mwt_result mwt_hook_list(struct mwt *t, struct mwt_hook *out, unsigned cap, unsigned *count);
enum mwt_result mwt_msr_hook_add(struct mwt *t, struct mwt_msr_hook *h);
enum mwt_result mwt_msr_hook_remove(struct mwt *t, struct mwt_msr_hook *h);
enum mwt_result mwt_msr_hook_list(struct mwt *t, struct mwt_msr_hook *out, unsigned cap,
				  unsigned *count);
/* Counts as they are (QUERY), or after turning the hook on, or just
 * before turning it off (OFF: the final counts). */
enum mwt_result mwt_syscalls(struct mwt *t, enum mwt_syscalls_op op, struct mwt_syscalls *out);

#endif
