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
	MWT_NOT_LOADED, /* marrow's driver is not loaded: no device */
	MWT_DENIED,	/* the caller may not use the device */
	MWT_INACTIVE,	/* loaded, but marrow no longer virtualizes */
	MWT_INVALID,	/* the driver refused an argument */
	MWT_FAILED,	/* anything else: see mwt_error() */
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

#endif
