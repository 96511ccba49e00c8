/* What `make run` shows when no tests are selected. */
#ifndef MARROW_BAREMETAL_DEMO_H
#define MARROW_BAREMETAL_DEMO_H

void demo_run(void);

#endif
