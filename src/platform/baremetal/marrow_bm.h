/* marrow on the bare-metal kernel: the configuration it runs with. */
#ifndef MARROW_BAREMETAL_MARROW_BM_H
#define MARROW_BAREMETAL_MARROW_BM_H

#include "core/marrow.h"

/* The default configuration here: fatal root-mode diagnostics on COM1 and
 * the run ended as failed after them. */
void bm_marrow_config(struct mw_config *cfg);

#endif
