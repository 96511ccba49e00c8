/* Ending a bare-metal run. The last console line is the verdict the host
 * runner reads (tests/e2e/bochs.py): "marrow: run complete" or
 * "marrow: run failed: REASON". Then Bochs is stopped. */
#ifndef MARROW_BAREMETAL_RUN_H
#define MARROW_BAREMETAL_RUN_H

enum run_verdict { RUN_COMPLETE, RUN_FAILED };

__attribute__((noreturn)) void run_end(enum run_verdict verdict, const char *reason);

/* Ends the run as failed from VMX root mode after marrow's fatal
 * diagnostic: no console lock (the guest may hold it), no allocation. */
__attribute__((noreturn)) void run_end_from_root(void);

#endif
