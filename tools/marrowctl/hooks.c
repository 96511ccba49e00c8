/* marrowctl's hook commands (docs/linux.md, docs/hooks.md):
 *   hook add|remove SYMBOL, hook list
 *   msr-hook add MSR [--read P] [--write P] [--shadow V], msr-hook remove MSR,
 *   msr-hook list
 *   syscalls [on|off] [--top N]
 * Portable C: the driver is reached through transport.h only. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "output.h"
#include "syscall_names.h"

#define LIST_MAX 256

static void json_hex(struct json *j, const char *key, uint64_t v)
{
	char text[24];

	snprintf(text, sizeof(text), "0x%" PRIx64, v);
	json_string(j, key, text);
}

static bool is(const char *a, const char *b)
{
	return a && !strcmp(a, b);
}

/* --- hook ------------------------------------------------------------ */

int hook_check_args(const struct options *o)
{
	const char *sub = o->nargs ? o->args[0] : NULL;

	if (is(sub, "add") || is(sub, "remove")) {
		if (o->nargs != 2)
			return usage_error("hook %s needs a kernel function's name", sub);
		if (strlen(o->args[1]) >= MWT_SYMBOL_MAX)
			return usage_error("'%s': symbol name too long", o->args[1]);
		return EXIT_OK;
	}
	if (is(sub, "list")) {
		if (o->nargs != 1)
			return usage_error("hook list takes no argument, not '%s'", o->args[1]);
		return EXIT_OK;
	}
	return usage_error("hook needs add, remove or list%s", sub ? ", not that" : "");
}

static void hook_json(struct json *j, const struct mwt_hook *h)
{
	json_object_begin(j, NULL);
	json_string(j, "symbol", h->symbol);
	json_hex(j, "address", h->address);
	json_hex(j, "patched_at", h->patched_at);
	json_uint(j, "hits", h->hits);
	json_object_end(j);
}

static int hook_list(struct mwt *t, const struct options *o)
{
	struct mwt_hook *hooks = calloc(LIST_MAX, sizeof(*hooks));
	unsigned count = 0;

	if (!hooks)
		return EXIT_FAILED;
	enum mwt_result r = mwt_hook_list(t, hooks, LIST_MAX, &count);
	if (r != MWT_OK) {
		free(hooks);
		return call_failed(t, r);
	}
	if (count > LIST_MAX)
		count = LIST_MAX;
	if (o->json) {
		struct json j;
		json_init(&j, stdout);
		json_object_begin(&j, NULL);
		json_array_begin(&j, "hooks");
		for (unsigned i = 0; i < count; i++)
			hook_json(&j, &hooks[i]);
		json_array_end(&j);
		json_object_end(&j);
		json_finish(&j);
	} else if (!count) {
		printf("(no hooks; 'marrowctl hook add SYMBOL' adds one)\n");
	} else {
		printf("%-40s %-18s %12s\n", "function", "patched at", "calls");
		for (unsigned i = 0; i < count; i++)
			printf("%-40s 0x%-16" PRIx64 " %12" PRIu64 "\n", hooks[i].symbol,
			       hooks[i].patched_at, hooks[i].hits);
	}
	free(hooks);
	return EXIT_OK;
}

int cmd_hook(struct mwt *t, const struct options *o)
{
	const char *sub = o->args[0];
	struct mwt_hook h;

	if (is(sub, "list"))
		return hook_list(t, o);
	bool add = is(sub, "add");
	enum mwt_result r =
		add ? mwt_hook_add(t, o->args[1], &h) : mwt_hook_remove(t, o->args[1], &h);
	if (r != MWT_OK)
		return call_failed(t, r);
	if (o->json) {
		struct json j;
		json_init(&j, stdout);
		hook_json(&j, &h);
		json_finish(&j);
	} else if (add) {
		printf("hooked %s at 0x%" PRIx64
		       ": its calls are counted ('marrowctl hook list')\n",
		       h.symbol, h.patched_at);
	} else {
		printf("unhooked %s after %" PRIu64 " calls\n", h.symbol, h.hits);
	}
	return EXIT_OK;
}

/* --- msr-hook -------------------------------------------------------- */

static const char *const read_names[] = { "pass", "shadow" };
static const char *const write_names[] = { "pass", "shadow", "ignore", "gp" };

static int policy(const char *text, const char *const *names, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (is(text, names[i]))
			return (int)i;
	return -1;
}

static bool parse_msr(const char *text, uint32_t *msr)
{
	char *end;

	errno = 0;
	unsigned long long v = strtoull(text, &end, 0);
	if (!*text || *text == '-' || *end || errno || v > 0xffffffffull)
		return false;
	*msr = (uint32_t)v;
	return true;
}

int msr_hook_check_args(const struct options *o)
{
	const char *sub = o->nargs ? o->args[0] : NULL;
	uint32_t msr;

	if ((o->msr_read || o->msr_write || o->has_shadow) && !is(sub, "add"))
		return usage_error("--read, --write and --shadow apply to 'msr-hook add'%s", "");
	if (o->msr_read && policy(o->msr_read, read_names, 2) < 0)
		return usage_error("--read %s: pass or shadow", o->msr_read);
	if (o->msr_write && policy(o->msr_write, write_names, 4) < 0)
		return usage_error("--write %s: pass, shadow, ignore or gp", o->msr_write);
	if (is(sub, "add") || is(sub, "remove")) {
		if (o->nargs != 2)
			return usage_error("msr-hook %s needs an MSR index (such as 0x1a0)", sub);
		if (!parse_msr(o->args[1], &msr))
			return usage_error(
				"'%s': not an MSR index (a 32-bit number, such as 0x1a0)",
				o->args[1]);
		return EXIT_OK;
	}
	if (is(sub, "list")) {
		if (o->nargs != 1)
			return usage_error("msr-hook list takes no argument, not '%s'", o->args[1]);
		return EXIT_OK;
	}
	return usage_error("msr-hook needs add, remove or list%s", sub ? ", not that" : "");
}

static void msr_json(struct json *j, const struct mwt_msr_hook *h)
{
	json_object_begin(j, NULL);
	json_hex(j, "msr", h->msr);
	json_string(j, "read", read_names[h->read < 2 ? h->read : 0]);
	json_string(j, "write", write_names[h->write < 4 ? h->write : 0]);
	json_hex(j, "shadow", h->shadow);
	json_uint(j, "reads", h->reads);
	json_uint(j, "writes", h->writes);
	json_object_end(j);
}

static int msr_list(struct mwt *t, const struct options *o)
{
	struct mwt_msr_hook hooks[LIST_MAX];
	unsigned count = 0;
	enum mwt_result r = mwt_msr_hook_list(t, hooks, LIST_MAX, &count);

	if (r != MWT_OK)
		return call_failed(t, r);
	if (count > LIST_MAX)
		count = LIST_MAX;
	if (o->json) {
		struct json j;
		json_init(&j, stdout);
		json_object_begin(&j, NULL);
		json_array_begin(&j, "msr_hooks");
		for (unsigned i = 0; i < count; i++)
			msr_json(&j, &hooks[i]);
		json_array_end(&j);
		json_object_end(&j);
		json_finish(&j);
	} else if (!count) {
		printf("(no MSR hooks; 'marrowctl msr-hook add MSR' adds one)\n");
	} else {
		printf("%-12s %-6s %-6s %-18s %12s %12s\n", "MSR", "read", "write", "shadow",
		       "reads", "writes");
		for (unsigned i = 0; i < count; i++)
			printf("0x%-10x %-6s %-6s 0x%-16" PRIx64 " %12" PRIu64 " %12" PRIu64 "\n",
			       hooks[i].msr, read_names[hooks[i].read < 2 ? hooks[i].read : 0],
			       write_names[hooks[i].write < 4 ? hooks[i].write : 0],
			       hooks[i].shadow, hooks[i].reads, hooks[i].writes);
	}
	return EXIT_OK;
}

int cmd_msr_hook(struct mwt *t, const struct options *o)
{
	const char *sub = o->args[0];
	struct mwt_msr_hook h = { 0 };

	if (is(sub, "list"))
		return msr_list(t, o);
	parse_msr(o->args[1], &h.msr);
	bool add = is(sub, "add");
	enum mwt_result r;
	if (add) {
		h.read = o->msr_read ? (enum mwt_msr_read)policy(o->msr_read, read_names, 2)
				     : MWT_MSR_READ_PASS;
		h.write = o->msr_write ? (enum mwt_msr_write)policy(o->msr_write, write_names, 4)
				       : MWT_MSR_WRITE_PASS;
		h.shadow = o->shadow;
		r = mwt_msr_hook_add(t, &h);
	} else {
		r = mwt_msr_hook_remove(t, &h);
	}
	if (r != MWT_OK)
		return call_failed(t, r);
	if (o->json) {
		struct json j;
		json_init(&j, stdout);
		msr_json(&j, &h);
		json_finish(&j);
	} else if (add) {
		printf("MSR 0x%x hooked (read %s, write %s): RDMSR/WRMSR counted ('marrowctl "
		       "msr-hook list')\n",
		       h.msr, read_names[h.read], write_names[h.write]);
	} else {
		printf("MSR 0x%x unhooked after %" PRIu64 " reads and %" PRIu64 " writes\n", h.msr,
		       h.reads, h.writes);
	}
	return EXIT_OK;
}

/* --- syscalls -------------------------------------------------------- */

int syscalls_check_args(const struct options *o)
{
	if (o->nargs && !is(o->args[0], "on") && !is(o->args[0], "off"))
		return usage_error("syscalls takes on or off, or nothing, not '%s'", o->args[0]);
	return EXIT_OK;
}

static void syscall_label(unsigned nr, char *out, size_t cap)
{
	const char *name = syscall_name(nr);

	if (nr == MWT_SYSCALLS - 1)
		snprintf(out, cap, "(%u and up)", nr);
	else if (name)
		snprintf(out, cap, "%s", name);
	else
		snprintf(out, cap, "(%u)", nr);
}

/* The numbers with a count, most frequent first (ties: lower number). */
static unsigned ranked(const struct mwt_syscalls *s, unsigned *order)
{
	unsigned n = 0;

	for (unsigned i = 0; i < MWT_SYSCALLS; i++)
		if (s->counts[i])
			order[n++] = i;
	for (unsigned i = 1; i < n; i++)
		for (unsigned k = i; k > 0 && s->counts[order[k]] > s->counts[order[k - 1]]; k--) {
			unsigned x = order[k];
			order[k] = order[k - 1];
			order[k - 1] = x;
		}
	return n;
}

static void syscalls_show(const struct mwt_syscalls *s, const struct options *o, const char *op)
{
	unsigned order[MWT_SYSCALLS], n = ranked(s, order);
	uint64_t total = 0;
	char label[40];

	for (unsigned i = 0; i < MWT_SYSCALLS; i++)
		total += s->counts[i];
	if (n > o->top)
		n = o->top;
	if (o->json) {
		struct json j;
		json_init(&j, stdout);
		json_object_begin(&j, NULL);
		json_bool(&j, "on", s->on);
		json_hex(&j, "entry", s->entry);
		json_hex(&j, "stub", s->stub);
		json_uint(&j, "total", total);
		json_array_begin(&j, "syscalls");
		for (unsigned i = 0; i < n; i++) {
			syscall_label(order[i], label, sizeof(label));
			json_object_begin(&j, NULL);
			json_uint(&j, "nr", order[i]);
			json_string(&j, "name", label);
			json_uint(&j, "count", s->counts[order[i]]);
			json_object_end(&j);
		}
		json_array_end(&j);
		json_object_end(&j);
		json_finish(&j);
		return;
	}
	if (!strcmp(op, "on"))
		printf("syscall hook on: every CPU's LSTAR points at marrow's stub (0x%" PRIx64
		       "), which counts and goes on to the kernel's entry (0x%" PRIx64 ")\n",
		       s->stub, s->entry);
	else if (!strcmp(op, "off"))
		printf("syscall hook off: LSTAR is the kernel's entry (0x%" PRIx64
		       ") again; the final counts:\n",
		       s->entry);
	if (!strcmp(op, "on"))
		return;
	printf("%" PRIu64 " system calls counted%s\n", total,
	       total ? ", most frequent first:" : "");
	if (n)
		printf("%5s  %-24s %14s\n", "nr", "name", "count");
	for (unsigned i = 0; i < n; i++) {
		syscall_label(order[i], label, sizeof(label));
		printf("%5u  %-24s %14" PRIu64 "\n", order[i], label, s->counts[order[i]]);
	}
}

int cmd_syscalls(struct mwt *t, const struct options *o)
{
	struct mwt_syscalls *s = calloc(1, sizeof(*s));
	const char *op = o->nargs ? o->args[0] : "query";

	if (!s)
		return EXIT_FAILED;
	enum mwt_result r = mwt_syscalls(t,
					 is(op, "on")	 ? MWT_SYSCALLS_ON
					 : is(op, "off") ? MWT_SYSCALLS_OFF
							 : MWT_SYSCALLS_QUERY,
					 s);
	if (r != MWT_OK) {
		free(s);
		return call_failed(t, r);
	}
	if (!s->on && !strcmp(op, "query") && !o->json) {
		printf("the syscall hook is off ('marrowctl syscalls on' turns it on)\n");
		free(s);
		return EXIT_FAILED;
	}
	syscalls_show(s, o, op);
	free(s);
	return EXIT_OK;
}
