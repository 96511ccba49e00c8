#include "format.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "marrow/hypercall.h"

static const char *const reason_names[MW_STATS_EXIT_REASONS] = {
#define EXIT_REASON(name, number) [number] = #name,
#include "vmx/exit_reasons.def"
#undef EXIT_REASON
};

const char *mwctl_exit_reason_name(unsigned reason, char *scratch, size_t size)
{
	if (reason < MW_STATS_EXIT_REASONS && reason_names[reason])
		return reason_names[reason];
	snprintf(scratch, size, "reason %u", reason);
	return scratch;
}

struct out {
	char *buf;
	size_t size;
	int len;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	size_t at = (size_t)o->len < o->size ? (size_t)o->len : o->size;

	va_start(ap, fmt);
	int n = vsnprintf(o->buf + at, o->size - at, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += n;
}

static const char *const feature_names[] = { "ept",	     "vpid", "unrestricted-guest",
					     "virtual-nmis", "mtf",  "execute-only-ept",
					     "vmfunc" };

int mwctl_format_status(const struct mw_win_status *st, char *buf, size_t size)
{
	struct out o = { buf, size, 0 };

	if (size)
		buf[0] = '\0';
	put(&o, "marrow: %s, %u of %u CPUs virtualized\n", st->active ? "active" : "inactive",
	    st->virtualized_count, st->cpu_count);
	if (st->hc_version)
		put(&o, "hypercall ABI: %u.%u\n", st->hc_version >> 16, st->hc_version & 0xffff);
	if (st->active) {
		put(&o, "features:");
		for (unsigned i = 0; i < sizeof(feature_names) / sizeof(feature_names[0]); i++)
			if (st->features & (1ull << i))
				put(&o, " %s", feature_names[i]);
		put(&o, "\n");
	}
	put(&o, "last operation: %.*s\n", (int)strnlen(st->last_error, sizeof(st->last_error)),
	    st->last_error);
	if (st->kernel_base)
		put(&o, "kernel: 0x%016" PRIx64 ", %u bytes\n", st->kernel_base, st->kernel_size);
	if (st->ssdt_services)
		put(&o, "service table: 0x%016" PRIx64 ", %u services\n", st->ssdt_table,
		    st->ssdt_services);
	else
		put(&o, "service table: not found\n");
	return o.len;
}

int mwctl_format_stats(unsigned cpu, const struct mw_cpu_stats *s, char *buf, size_t size)
{
	struct out o = { buf, size, 0 };
	char scratch[24];

	if (size)
		buf[0] = '\0';
	put(&o,
	    "cpu %u: %" PRIu64 " exits, %" PRIu64 " hypercalls (%" PRIu64 " refused), %" PRIu64
	    " injected exceptions, %" PRIu64 " NMIs injected, %" PRIu64 " MSR faults\n",
	    cpu, s->exits_total, s->hypercalls, s->hypercalls_refused, s->injected_exceptions,
	    s->injected_nmis, s->msr_faults);
	for (unsigned r = 0; r < MW_STATS_EXIT_REASONS; r++)
		if (s->exits[r])
			put(&o, "  %-28s %" PRIu64 "\n",
			    mwctl_exit_reason_name(r, scratch, sizeof(scratch)), s->exits[r]);
	return o.len;
}
