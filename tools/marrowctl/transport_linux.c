/* marrowctl's transport on Linux: ioctls on /dev/marrow
 * (include/marrow/linux_ioctl.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "marrow/linux_ioctl.h"
#include "transport.h"

struct mwt {
	int fd;
	char error[160];
};

static char open_error[160];

const char *mwt_device(void)
{
	return MW_DEVICE_PATH;
}

static enum mwt_result from_errno(int e)
{
	switch (e) {
	case ENOENT:
	case ENODEV:
	case ENXIO:
		return MWT_NOT_LOADED;
	case EACCES:
	case EPERM:
		return MWT_DENIED;
	default:
		return MWT_FAILED;
	}
}

enum mwt_result mwt_open(struct mwt **out)
{
	int fd = open(MW_DEVICE_PATH, O_RDONLY | O_CLOEXEC);

	*out = NULL;
	if (fd < 0) {
		int e = errno;
		snprintf(open_error, sizeof(open_error), "%s: %s", MW_DEVICE_PATH, strerror(e));
		return from_errno(e);
	}
	struct mwt *t = calloc(1, sizeof(*t));
	if (!t) {
		close(fd);
		snprintf(open_error, sizeof(open_error), "out of memory");
		return MWT_FAILED;
	}
	t->fd = fd;
	*out = t;
	return MWT_OK;
}

void mwt_close(struct mwt *t)
{
	if (t) {
		close(t->fd);
		free(t);
	}
}

const char *mwt_error(const struct mwt *t)
{
	return t->error;
}

const char *mwt_open_error(void)
{
	return open_error;
}

/* One ioctl; ENXIO means marrow is loaded but inactive here, not absent. */
static enum mwt_result call(struct mwt *t, unsigned long request, void *arg, const char *what)
{
	if (ioctl(t->fd, request, arg) == 0)
		return MWT_OK;
	int e = errno;
	snprintf(t->error, sizeof(t->error), "%s: %s", what, strerror(e));
	switch (e) {
	case ENXIO:
	case EALREADY:
		return MWT_INACTIVE;
	case EINVAL:
		return MWT_INVALID;
	case EACCES:
	case EPERM:
		return MWT_DENIED;
	default:
		return MWT_FAILED;
	}
}

static bool bit(const uint64_t *words, unsigned n)
{
	return (words[n / 64] >> (n % 64)) & 1;
}

enum mwt_result mwt_status(struct mwt *t, struct mwt_status *st)
{
	struct mw_ioc_status s = { .size = sizeof(s) };
	enum mwt_result r = call(t, MW_IOC_STATUS, &s, "status");

	if (r != MWT_OK)
		return r;
	memset(st, 0, sizeof(*st));
	st->version_major = s.version >> 16;
	st->version_minor = s.version & 0xffff;
	st->abi_version = s.abi_version;
	st->active = s.flags & MW_STATUS_ACTIVE;
	st->identify = s.flags & MW_STATUS_IDENTIFY;
	st->pinned = s.flags & MW_STATUS_PINNED;
	st->cpu_count = s.cpu_count < MWT_MAX_CPUS ? s.cpu_count : MWT_MAX_CPUS;
	st->online_count = s.online_count;
	st->virtualized_count = s.virtualized_count;
	st->features = s.features;
	for (unsigned i = 0; i < st->cpu_count && i < MW_IOC_MAX_CPUS; i++) {
		st->online[i] = bit(s.online, i);
		st->virtualized[i] = bit(s.virtualized, i);
	}
	memcpy(st->last_error, s.last_error, sizeof(st->last_error));
	st->last_error[sizeof(st->last_error) - 1] = '\0';
	return MWT_OK;
}

enum mwt_result mwt_cpu_stats(struct mwt *t, unsigned cpu, struct mwt_cpu_stats *out)
{
	struct mw_ioc_cpu_stats s = { .size = sizeof(s), .cpu = cpu };
	enum mwt_result r = call(t, MW_IOC_CPU_STATS, &s, "statistics");

	if (r != MWT_OK)
		return r;
	out->online = s.flags & MW_CPU_ONLINE;
	out->virtualized = s.flags & MW_CPU_VIRTUALIZED;
	out->final = s.flags & MW_CPU_STATS_FINAL;
	out->stats = s.stats;
	return MWT_OK;
}

enum mwt_result mwt_read_log(struct mwt *t, uint64_t start, char *buf, size_t cap,
			     struct mwt_log_chunk *chunk)
{
	struct mw_ioc_log l = {
		.size = sizeof(l),
		.buffer = (uint64_t)(uintptr_t)buf,
		.capacity = cap,
		.start = start,
	};
	enum mwt_result r = call(t, MW_IOC_LOG, &l, "log");

	if (r != MWT_OK)
		return r;
	chunk->length = l.length;
	chunk->next = l.next;
	chunk->end = l.end;
	chunk->skipped = l.skipped;
	return MWT_OK;
}

enum mwt_result mwt_unload(struct mwt *t)
{
	return call(t, MW_IOC_UNLOAD, NULL, "unload");
}
