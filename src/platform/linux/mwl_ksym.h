/* Kernel symbols by name (ksym.c). */
#ifndef MARROW_LINUX_MWL_KSYM_H
#define MARROW_LINUX_MWL_KSYM_H

/* The address of a kernel symbol, 0 when there is none. */
unsigned long mwl_ksym(const char *name);
/* Why addr cannot carry an inline hook (in words), or NULL when it can. */
const char *mwl_ksym_refuse(unsigned long addr);

#endif
