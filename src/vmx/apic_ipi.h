/* INIT and SIPI for virtualized CPUs, emulated (mw_config.emulate_init_sipi).
 *
 * The SDM lets a VMM handle INIT itself: in VMX non-root operation INIT
 * causes a VM exit instead of resetting the CPU (SDM 3C 26.2, 25.2) and the
 * SIPIs that follow exit too while the guest waits for SIPI. marrow can
 * also keep the INIT from happening at all: every xAPIC register write of
 * the guest goes through root mode (the local APIC page is read-only in
 * EPT), and an INIT or SIPI addressed to a CPU marrow runs on is not sent
 * but carried out on that CPU, which an NMI calls into root mode: INIT puts
 * it in the state INIT gives (SDM 3A 10.1.1, table 10-1), halted until its
 * SIPI; the SIPI starts it in real mode at the vector's page (SDM 3A
 * 10.4.4). The result is the same on hardware; on Bochs 2.7 it is the only
 * way, since Bochs 2.7 leaves an INIT pending after its VM exit and exits
 * for it again on every VM entry (docs/uefi.md). Other writes reach the real
 * local APIC unchanged. */
#ifndef MARROW_VMX_APIC_IPI_H
#define MARROW_VMX_APIC_IPI_H

#include <stdbool.h>
#include <stdint.h>

#include "core/status.h"

struct ept;
struct exit_ctx;
struct vcpu;

/* Makes the local APIC's page read-only (reads pass, writes exit) in a
 * CPU's EPT, before it runs. xAPIC only: an x2APIC guest writes the ICR
 * with WRMSR, which this does not intercept (docs/uefi.md). */
enum mw_status apic_ipi_protect(struct ept *e, uint64_t apic_base);
/* Root mode, an EPT violation: true when it was a write to the local APIC
 * page, which has then been carried out (or emulated) and skipped. */
bool apic_ipi_on_violation(struct vcpu *v, uint64_t gpa, uint64_t qualification);
/* Root mode, on every exit of a CPU: applies an INIT or SIPI another CPU
 * addressed to it. */
void apic_ipi_poll(struct exit_ctx *c);

#endif
