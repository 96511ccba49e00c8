#include "marrow_bm.h"

#include "run.h"

#define COM1 0x3f8

void bm_marrow_config(struct mw_config *cfg)
{
	mw_config_default(cfg);
	cfg->debug_port = COM1;
	cfg->root_fatal_hook = run_end_from_root;
}
