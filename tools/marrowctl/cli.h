/* What marrowctl's commands share: the parsed command line, exit codes,
 * and how a failure is reported. */
#ifndef MARROWCTL_CLI_H
#define MARROWCTL_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "transport.h"

enum exit_code {
	EXIT_OK = 0,
	EXIT_FAILED = 1,      /* the operation failed */
	EXIT_USAGE = 2,	      /* bad command line, or an argument the driver refused */
	EXIT_NOT_LOADED = 3,  /* marrow is not loaded */
	EXIT_DENIED = 4,      /* not allowed: needs root */
	EXIT_UNSUPPORTED = 5, /* this CPU (or kernel) cannot do it */
	EXIT_NOT_FOUND = 6,   /* no such kernel symbol, hook or MSR hook */
	EXIT_EXISTS = 7,      /* already hooked */
};

#define MAX_ARGS 2

struct options {
	bool json;
	long cpu;		    /* -1: every CPU */
	const char *args[MAX_ARGS]; /* after the command */
	unsigned nargs;
	const char *msr_read, *msr_write; /* msr-hook add policies, NULL: pass */
	uint64_t shadow;
	bool has_shadow;
	unsigned top; /* syscalls: rows shown */
};

/* Prints the message (fmt with one %s) and the usage; EXIT_USAGE. */
int usage_error(const char *fmt, const char *arg);
/* Prints the transport's error; the exit code for r. */
int call_failed(const struct mwt *t, enum mwt_result r);

/* hooks.c: the hook commands, and their command-line checks (before the
 * device is opened, so that a typo is exit 2 even without marrow). */
int cmd_hook(struct mwt *t, const struct options *o);
int cmd_msr_hook(struct mwt *t, const struct options *o);
int cmd_syscalls(struct mwt *t, const struct options *o);
int hook_check_args(const struct options *o);
int msr_hook_check_args(const struct options *o);
int syscalls_check_args(const struct options *o);

#endif
