/* The local APIC of a guest that starts its own APs under marrow
 * (mw_config.emulate_init): a boot-time guest (docs/boot.md, "INIT and
 * SIPI") or an OS booted after marrow.efi (docs/uefi.md).
 *
 * INIT IPIs the guest sends are emulated, never delivered: Bochs 2.7 leaves
 * an INIT pending after the VM exit it causes, so a CPU that took one exits
 * again at every VM entry and never runs its guest again. marrow takes the
 * guest's writes to the interrupt command register (xAPIC: the APIC page is
 * read-only in EPT and the write is emulated; x2APIC: WRMSR 830H exits),
 * and for an INIT puts each target into the state INIT gives and into
 * wait-for-SIPI itself, as the SDM defines INIT (SDM 3A 10.4.7.3, 3C 25.2):
 * a target that is running is made to exit with an NMI first; one already
 * waiting for a SIPI ignores it (INIT is blocked in wait-for-SIPI). Every
 * other IPI, SIPIs included, goes to the real APIC: the SIPI VM exit starts
 * the target in real mode at the vector (exit_init_sipi.c). All of it is
 * also what hardware would do, so it runs the same there. Root-safe. */
#ifndef MARROW_CORE_BOOT_APIC_H
#define MARROW_CORE_BOOT_APIC_H

#include <stdbool.h>
#include <stdint.h>

#include "vmx/exit.h"

/* The guest-physical page of the calling CPU's APIC (read-only in every
 * EPT while INITs are emulated: marrow.c). */
uint64_t boot_apic_page(void);
/* On the CPU concerned, before its guest runs (launch) and at a boot-time
 * handoff: the shadows of the registers marrow follows, from the APIC as
 * it is now. */
void boot_apic_track(struct vcpu *v);

/* The MSR-bitmap bits: writes to the x2APIC ICR and to IA32_APIC_BASE. */
void boot_apic_msr_intercepts(uint8_t *bitmap);

/* A write to the APIC page: emulated (true), or not the APIC (false). */
bool boot_apic_violation(struct exit_ctx *c, uint64_t gpa, uint64_t qualification);
/* WRMSR of an MSR boot_apic_msr_intercepts named: handled, *action set. */
bool boot_apic_wrmsr(struct exit_ctx *c, uint32_t msr, uint64_t value, enum exit_action *action);

/* At the end of every exit: an INIT emulated for this CPU takes effect. */
void boot_apic_apply_init(struct exit_ctx *c);

/* Puts the calling CPU's guest in the state INIT leaves a processor in,
 * waiting for a SIPI, and its APIC in the INIT state (also the AP's
 * handoff). */
void boot_apic_init_cpu(struct exit_ctx *c);

#endif
