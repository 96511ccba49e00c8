/* Bringing up the application processors, and running code on all CPUs. */
#ifndef MARROW_BAREMETAL_SMP_H
#define MARROW_BAREMETAL_SMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "percpu.h"

/* Sets up the calling CPU's tables (GDT, TSS, IST stacks, IDT, LAPIC,
 * control-register features); done by the BSP for itself and by each AP. */
void cpu_setup(struct bm_cpu *cpu);

/* Starts every CPU in apic_ids other than the caller's. Returns how many
 * answered; the ones that did not are reported on the console. */
unsigned smp_start_aps(const uint32_t *apic_ids, size_t count);

/* Sends INIT and SIPIs to an AP that is already up and waits until it is
 * back (tests of INIT/SIPI under marrow). True when it came back. */
bool smp_restart_ap(unsigned index);

/* Runs fn(arg) on every online CPU, the caller's included, and returns when
 * all have finished. Not re-entrant: fn must not call it. An AP that is
 * busy (smp_start_async, with interrupts enabled) runs fn from the wake
 * IPI, interrupting its job. */
void smp_on_each_cpu(void (*fn)(void *), void *arg);

/* Starts fn(arg) on every AP (not the caller) and returns at once; false if
 * the previous one has not finished. fn runs with interrupts enabled and
 * must not call smp_on_each_cpu. smp_wait_async waits until every AP is
 * done. For tests that need other CPUs busy while the caller acts. */
bool smp_start_async(void (*fn)(void *), void *arg);
void smp_wait_async(void);

/* Installs the wake-IPI handler; once, before the APs start. */
void smp_init_calls(void);

/* CPUs listed by the firmware, whether or not they came up. */
extern unsigned bm_cpus_expected;

#endif
