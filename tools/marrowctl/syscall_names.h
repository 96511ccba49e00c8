/* x86-64 system call names (syscall_names.c, generated). */
#ifndef MARROWCTL_SYSCALL_NAMES_H
#define MARROWCTL_SYSCALL_NAMES_H

/* The name of system call n, or NULL when it has none. */
const char *syscall_name(unsigned n);

#endif
