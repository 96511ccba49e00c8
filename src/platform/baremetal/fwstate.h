/* What the firmware left that the bare-metal kernel changes for itself: the
 * 8259 masks and the boot CPU's local APIC spurious-vector and task-priority
 * registers. Saved at boot, given back to a boot-time guest before it
 * starts, so that it finds the machine as a boot loader leaves it. */
#ifndef MARROW_BAREMETAL_FWSTATE_H
#define MARROW_BAREMETAL_FWSTATE_H

/* Before the kernel touches the PICs or the APIC. */
void fwstate_save(void);
/* On the boot CPU, just before the guest starts. */
void fwstate_restore(void);

#endif
