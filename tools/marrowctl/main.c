/* marrowctl: look at and control marrow from user space (docs/linux.md).
 *
 *   marrowctl [--json] status | stats [--cpu N] | log | unload | help
 *
 * Portable C: the platform is reached only through transport.h. Exit
 * codes tell scripts what went wrong without parsing messages. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "marrow/hypercall.h"
#include "names.h"
#include "output.h"
#include "transport.h"

#define MARROWCTL_VERSION "1.0"

enum exit_code {
	EXIT_OK = 0,
	EXIT_FAILED = 1,      /* the operation failed */
	EXIT_USAGE = 2,	      /* bad command line */
	EXIT_NOT_LOADED = 3,  /* marrow is not loaded */
	EXIT_DENIED = 4,      /* not allowed: needs root */
	EXIT_UNSUPPORTED = 5, /* this CPU cannot run marrow */
};

struct options {
	bool json;
	long cpu; /* -1: every CPU */
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: marrowctl [--json] COMMAND\n"
		"\n"
		"commands:\n"
		"  status            marrow's state: version, which CPUs are virtualized, "
		"features\n"
		"  stats [--cpu N]   VM exits per reason and other counters, per CPU\n"
		"  log               the records marrow's root mode logged\n"
		"  unload            devirtualize every CPU (the driver stays loaded, inactive)\n"
		"  help              this text\n"
		"\n"
		"options:\n"
		"  --json            machine-readable output\n"
		"  --version         marrowctl's version\n"
		"\n"
		"exit codes: 0 ok, 1 failed, 2 bad arguments, 3 marrow not loaded,\n"
		"            4 permission denied (run as root), 5 unsupported CPU\n");
}

static int usage_error(const char *fmt, const char *arg)
{
	fputs("marrowctl: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\n\n", stderr);
	usage(stderr);
	return EXIT_USAGE;
}

/* Why the device could not be opened, as an exit code and a message. */
static int open_failed(enum mwt_result r)
{
	char why[160];

	switch (r) {
	case MWT_NOT_LOADED:
		if (!cpu_supports_marrow(why, sizeof(why))) {
			fprintf(stderr, "marrowctl: unsupported CPU: %s\n", why);
			return EXIT_UNSUPPORTED;
		}
		fprintf(stderr,
			"marrowctl: marrow is not loaded: %s does not exist (load it with "
			"'insmod marrow.ko'; dmesg says why an earlier load failed)\n",
			mwt_device());
		return EXIT_NOT_LOADED;
	case MWT_DENIED:
		fprintf(stderr,
			"marrowctl: permission denied: %s (marrowctl needs root: "
			"CAP_SYS_ADMIN)\n",
			mwt_open_error());
		return EXIT_DENIED;
	default:
		fprintf(stderr, "marrowctl: cannot open marrow's device: %s\n", mwt_open_error());
		return EXIT_FAILED;
	}
}

static int call_failed(const struct mwt *t, enum mwt_result r)
{
	fprintf(stderr, "marrowctl: %s\n", mwt_error(t));
	return r == MWT_DENIED ? EXIT_DENIED : EXIT_FAILED;
}

static void feature_list(uint64_t features, struct json *j)
{
	uint64_t bit;
	const char *name;
	bool any = false;

	for (unsigned i = 0; (name = feature_name(i, &bit)); i++) {
		if (!(features & bit))
			continue;
		if (j)
			json_string(j, NULL, name);
		else
			printf("%s%s", any ? " " : "", name);
		any = true;
	}
	if (!j && !any)
		printf("none");
}

static int cmd_status(struct mwt *t, const struct options *o)
{
	struct mwt_status *st = calloc(1, sizeof(*st));
	enum mwt_result r;

	if (!st)
		return EXIT_FAILED;
	if ((r = mwt_status(t, st)) != MWT_OK) {
		free(st);
		return call_failed(t, r);
	}
	if (o->json) {
		struct json j;
		char version[32];

		snprintf(version, sizeof(version), "%u.%u", st->version_major, st->version_minor);
		json_init(&j, stdout);
		json_object_begin(&j, NULL);
		json_string(&j, "version", version);
		json_uint(&j, "abi_version", st->abi_version);
		json_bool(&j, "active", st->active);
		json_bool(&j, "identify", st->identify);
		json_bool(&j, "pinned", st->pinned);
		json_uint(&j, "cpu_count", st->cpu_count);
		json_uint(&j, "online_count", st->online_count);
		json_uint(&j, "virtualized_count", st->virtualized_count);
		json_array_begin(&j, "features");
		feature_list(st->features, &j);
		json_array_end(&j);
		json_array_begin(&j, "cpus");
		for (unsigned i = 0; i < st->cpu_count; i++) {
			json_object_begin(&j, NULL);
			json_uint(&j, "cpu", i);
			json_bool(&j, "online", st->online[i]);
			json_bool(&j, "virtualized", st->virtualized[i]);
			json_object_end(&j);
		}
		json_array_end(&j);
		json_string(&j, "last_error", st->last_error);
		json_object_end(&j);
		json_finish(&j);
		free(st);
		return EXIT_OK;
	}

	printf("marrow %u.%u: %s%s\n", st->version_major, st->version_minor,
	       st->active ? "active" : "inactive (devirtualized; rmmod marrow unloads it)",
	       st->pinned ? ", PINNED (a CPU could not leave VMX; see dmesg)" : "");
	printf("CPUs: %u online, %u virtualized (%u possible)\n", st->online_count,
	       st->virtualized_count, st->cpu_count);
	for (unsigned i = 0; i < st->cpu_count; i++) {
		if (!st->online[i] && !st->virtualized[i])
			continue;
		printf("  cpu %u: %s, %s\n", i, st->online[i] ? "online" : "offline",
		       st->virtualized[i] ? "virtualized"
		       : st->active	  ? "NOT virtualized"
					  : "not virtualized");
	}
	printf("features: ");
	feature_list(st->features, NULL);
	printf("\nidentify through CPUID: %s\n", st->identify ? "on" : "off");
	if (st->last_error[0])
		printf("last error: %s\n", st->last_error);
	free(st);
	return EXIT_OK;
}

/* Statistics of the CPUs asked for: every CPU the driver knows, or one. */
struct stats_set {
	unsigned count;
	unsigned cpu[MWT_MAX_CPUS];
	struct mwt_cpu_stats s[MWT_MAX_CPUS];
};

static int collect_stats(struct mwt *t, const struct options *o, struct stats_set *set)
{
	struct mwt_status *st = calloc(1, sizeof(*st));
	enum mwt_result r;

	if (!st)
		return EXIT_FAILED;
	if ((r = mwt_status(t, st)) != MWT_OK) {
		free(st);
		return call_failed(t, r);
	}
	if (o->cpu >= (long)st->cpu_count) {
		fprintf(stderr, "marrowctl: --cpu %ld: marrow knows CPUs 0-%u\n", o->cpu,
			st->cpu_count - 1);
		free(st);
		return EXIT_USAGE;
	}
	set->count = 0;
	for (unsigned i = 0; i < st->cpu_count; i++) {
		if (o->cpu >= 0 && (long)i != o->cpu)
			continue;
		r = mwt_cpu_stats(t, i, &set->s[set->count]);
		if (r == MWT_INACTIVE) {
			fprintf(stderr, "marrowctl: marrow is inactive and kept no statistics\n");
			free(st);
			return EXIT_FAILED;
		}
		if (r != MWT_OK) {
			free(st);
			return call_failed(t, r);
		}
		/* CPUs that never ran under marrow have nothing to show. */
		if (o->cpu < 0 && !st->online[i] && set->s[set->count].stats.exits_total == 0)
			continue;
		set->cpu[set->count++] = i;
	}
	free(st);
	return EXIT_OK;
}

#define OTHER_COUNTERS 7

static const char *const other_names[OTHER_COUNTERS] = {
	"injected_exceptions", "injected_nmis",	   "nmis_in_root", "hypercalls",
	"hypercalls_refused",  "unexpected_exits", "msr_faults",
};

static uint64_t other_value(const struct mw_cpu_stats *s, unsigned i)
{
	const uint64_t v[OTHER_COUNTERS] = {
		s->injected_exceptions, s->injected_nmis,    s->nmis_in_root, s->hypercalls,
		s->hypercalls_refused,	s->unexpected_exits, s->msr_faults,
	};
	return v[i];
}

static void stats_json(const struct stats_set *set)
{
	struct json j;

	json_init(&j, stdout);
	json_object_begin(&j, NULL);
	json_array_begin(&j, "cpus");
	for (unsigned k = 0; k < set->count; k++) {
		const struct mwt_cpu_stats *c = &set->s[k];
		json_object_begin(&j, NULL);
		json_uint(&j, "cpu", set->cpu[k]);
		json_bool(&j, "online", c->online);
		json_bool(&j, "virtualized", c->virtualized);
		json_bool(&j, "final", c->final);
		json_uint(&j, "exits_total", c->stats.exits_total);
		json_object_begin(&j, "exits");
		for (unsigned r = 0; r < MW_STATS_EXIT_REASONS; r++) {
			if (!c->stats.exits[r])
				continue;
			char unnamed[16];
			const char *name = exit_reason_name_of(r);
			if (!name) {
				snprintf(unnamed, sizeof(unnamed), "reason_%u", r);
				name = unnamed;
			}
			json_uint(&j, name, c->stats.exits[r]);
		}
		json_object_end(&j);
		for (unsigned i = 0; i < OTHER_COUNTERS; i++)
			json_uint(&j, other_names[i], other_value(&c->stats, i));
		json_object_end(&j);
	}
	json_array_end(&j);
	json_object_end(&j);
	json_finish(&j);
}

static int stats_table(const struct stats_set *set)
{
	unsigned cols = set->count + 1; /* the CPUs, then the total */
	unsigned max_rows = MW_STATS_EXIT_REASONS + 1 + OTHER_COUNTERS;
	const char **row_names = calloc(max_rows, sizeof(*row_names));
	char(*unnamed)[16] = calloc(MW_STATS_EXIT_REASONS, sizeof(*unnamed));
	const char **col_names = calloc(cols, sizeof(*col_names));
	char(*cpu_names)[16] = calloc(cols, sizeof(*cpu_names));
	uint64_t *values = calloc((size_t)max_rows * cols, sizeof(*values));
	unsigned rows = 0;

	if (!row_names || !unnamed || !col_names || !cpu_names || !values) {
		free(row_names), free(unnamed), free(col_names), free(cpu_names), free(values);
		return EXIT_FAILED;
	}
	for (unsigned k = 0; k < set->count; k++) {
		snprintf(cpu_names[k], sizeof(cpu_names[k]), "cpu%u", set->cpu[k]);
		col_names[k] = cpu_names[k];
	}
	col_names[set->count] = "total";

	/* One row per exit reason any CPU saw, then the total, then the
	 * other counters. */
	for (unsigned r = 0; r <= MW_STATS_EXIT_REASONS + OTHER_COUNTERS; r++) {
		uint64_t sum = 0;
		uint64_t *row = values + (size_t)rows * cols;
		for (unsigned k = 0; k < set->count; k++) {
			const struct mw_cpu_stats *s = &set->s[k].stats;
			if (r < MW_STATS_EXIT_REASONS)
				row[k] = s->exits[r];
			else if (r == MW_STATS_EXIT_REASONS)
				row[k] = s->exits_total;
			else
				row[k] = other_value(s, r - MW_STATS_EXIT_REASONS - 1);
			sum += row[k];
		}
		row[set->count] = sum;
		if (r < MW_STATS_EXIT_REASONS) {
			if (!sum)
				continue;
			const char *name = exit_reason_name_of(r);
			if (!name) {
				snprintf(unnamed[r], sizeof(unnamed[r]), "reason %u", r);
				name = unnamed[r];
			}
			row_names[rows] = name;
		} else if (r == MW_STATS_EXIT_REASONS) {
			row_names[rows] = "all exits";
		} else {
			row_names[rows] = other_names[r - MW_STATS_EXIT_REASONS - 1];
		}
		rows++;
	}
	bool final = set->count && set->s[0].final;
	if (final)
		printf("(marrow is inactive: the counts as they were when it was devirtualized)\n");
	table_print(stdout, "exit reason", rows, row_names, cols, col_names, values);
	free(row_names), free(unnamed), free(col_names), free(cpu_names), free(values);
	return EXIT_OK;
}

static int cmd_stats(struct mwt *t, const struct options *o)
{
	struct stats_set *set = calloc(1, sizeof(*set));

	if (!set)
		return EXIT_FAILED;
	int rc = collect_stats(t, o, set);
	if (rc == EXIT_OK) {
		if (o->json)
			stats_json(set);
		else
			rc = stats_table(set);
	}
	free(set);
	return rc;
}

#define LOG_CHUNK (64 * 1024)

static int cmd_log(struct mwt *t, const struct options *o)
{
	char *buf = malloc(LOG_CHUNK + 1);
	char *all = NULL;
	size_t all_len = 0;
	uint64_t start = 0, skipped = 0;
	struct mwt_log_chunk chunk;

	if (!buf)
		return EXIT_FAILED;
	/* Everything the driver keeps, oldest first, in as many reads as it
	 * takes. */
	for (;;) {
		enum mwt_result r = mwt_read_log(t, start, buf, LOG_CHUNK, &chunk);
		if (r != MWT_OK) {
			free(buf), free(all);
			return call_failed(t, r);
		}
		skipped += chunk.skipped;
		if (chunk.length == 0)
			break;
		char *grown = realloc(all, all_len + chunk.length + 1);
		if (!grown) {
			free(buf), free(all);
			return EXIT_FAILED;
		}
		all = grown;
		memcpy(all + all_len, buf, chunk.length);
		all_len += chunk.length;
		start = chunk.next;
		if (start >= chunk.end)
			break;
	}
	free(buf);
	if (all)
		all[all_len] = '\0';
	if (o->json) {
		struct json j;
		json_init(&j, stdout);
		json_object_begin(&j, NULL);
		json_uint(&j, "skipped_bytes", skipped);
		json_array_begin(&j, "records");
		for (char *line = all; line && *line;) {
			char *nl = strchr(line, '\n');
			if (nl)
				*nl = '\0';
			json_string(&j, NULL, line);
			line = nl ? nl + 1 : NULL;
		}
		json_array_end(&j);
		json_object_end(&j);
		json_finish(&j);
	} else {
		if (skipped)
			printf("(%" PRIu64 " older bytes are no longer kept)\n", skipped);
		if (all_len)
			fwrite(all, 1, all_len, stdout);
		else
			printf("(no records)\n");
	}
	free(all);
	return EXIT_OK;
}

static int cmd_unload(struct mwt *t, const struct options *o)
{
	enum mwt_result r = mwt_unload(t);

	if (r == MWT_INACTIVE) {
		if (o->json)
			printf("{\n  \"unloaded\": false,\n  \"already_inactive\": true\n}\n");
		else
			printf("marrow was already inactive: no CPU is virtualized\n");
		return EXIT_OK;
	}
	if (r != MWT_OK)
		return call_failed(t, r);
	if (o->json)
		printf("{\n  \"unloaded\": true,\n  \"already_inactive\": false\n}\n");
	else
		printf("marrow: every CPU devirtualized; the driver stays loaded, inactive "
		       "(rmmod marrow removes it)\n");
	return EXIT_OK;
}

static bool parse_cpu(const char *text, long *cpu)
{
	char *end;
	long v = strtol(text, &end, 10);

	if (!*text || *end || v < 0 || v >= MWT_MAX_CPUS)
		return false;
	*cpu = v;
	return true;
}

int main(int argc, char **argv)
{
	struct options o = { .json = false, .cpu = -1 };
	const char *command = NULL;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--json")) {
			o.json = true;
		} else if (!strcmp(a, "--cpu")) {
			if (i + 1 >= argc)
				return usage_error("--cpu needs a CPU number%s", "");
			if (!parse_cpu(argv[++i], &o.cpu))
				return usage_error("--cpu %s: not a CPU number", argv[i]);
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help") || !strcmp(a, "help")) {
			usage(stdout);
			return EXIT_OK;
		} else if (!strcmp(a, "--version")) {
			printf("marrowctl %s (hypercall ABI %u.%u)\n", MARROWCTL_VERSION,
			       MW_HC_VERSION_MAJOR, MW_HC_VERSION_MINOR);
			return EXIT_OK;
		} else if (a[0] == '-') {
			return usage_error("unknown option '%s'", a);
		} else if (!command) {
			command = a;
		} else {
			return usage_error("unexpected argument '%s'", a);
		}
	}
	if (!command)
		return usage_error("no command given%s", "");

	int (*run)(struct mwt *, const struct options *) = NULL;
	if (!strcmp(command, "status"))
		run = cmd_status;
	else if (!strcmp(command, "stats"))
		run = cmd_stats;
	else if (!strcmp(command, "log"))
		run = cmd_log;
	else if (!strcmp(command, "unload"))
		run = cmd_unload;
	else
		return usage_error("unknown command '%s'", command);
	if (o.cpu >= 0 && run != cmd_stats)
		return usage_error("--cpu applies to 'stats' only, not '%s'", command);

	struct mwt *t;
	enum mwt_result r = mwt_open(&t);
	if (r != MWT_OK)
		return open_failed(r);
	int rc = run(t, &o);
	mwt_close(t);
	return rc;
}
