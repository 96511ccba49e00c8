/* marrow.ko's area for generated code (code_area.S). 16 pages of inline
 * hook slots (256 hook installs per load, 16 slots a page) and one for the
 * syscall stub. */
#ifndef MARROW_LINUX_CODE_AREA_H
#define MARROW_LINUX_CODE_AREA_H

#define MWL_CODE_PAGES 17

#ifndef __ASSEMBLY__
#include <linux/types.h>

extern u8 mwl_code_area[];
/* Drops the writable alias; once no hook code is in use (module exit). */
void mwl_code_exit(void);
#endif

#endif
