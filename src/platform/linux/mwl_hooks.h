/* The hook ioctls (hookdev.c). */
#ifndef MARROW_LINUX_MWL_HOOKS_H
#define MARROW_LINUX_MWL_HOOKS_H

#include <linux/compiler.h>
#include <linux/types.h>

/* MW_IOC_HOOK_FIRST..LAST; -ENOTTY for a number not in use. */
long mwl_hook_ioctl(unsigned int cmd, void __user *arg);
/* marrow left: the core removed every hook; the names go too. Caller
 * holds mwl.lock. */
void mwl_hooks_forget_locked(void);
/* How many hooks marrowctl has on (sysfs). Caller holds mwl.lock. */
void mwl_hooks_counts_locked(unsigned *inline_hooks, unsigned *msr, bool *syscalls);

#endif
