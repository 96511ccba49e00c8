/* Every kind of hook at once: what marrow does before it leaves. */
#ifndef MARROW_HOOK_HOOKS_H
#define MARROW_HOOK_HOOKS_H

/* Removes every hook while the CPUs are still virtualized (outside root
 * mode): the guest is left exactly as it was, LSTAR included. */
void hooks_remove_all(void);
/* A CPU that comes online after marrow loaded (CPU hotplug) launches with
 * hooks held still (lock) and then takes on every hook (online), on that
 * CPU, outside root mode. */
void hooks_cpu_lock(void);
void hooks_cpu_online(void);
void hooks_cpu_unlock(void);

/* Frees what hooks leave behind until then (stubs, trampolines); once no
 * CPU is virtualized. */
void hooks_free_all(void);

#endif
