/* INIT and SIPI. In VMX non-root operation an INIT always exits; marrow
 * puts the guest in the state INIT gives (SDM 3A 10.1.1, table 10-1) and
 * into wait-for-SIPI; the SIPI that follows starts it in real mode at the
 * vector's page, as on hardware (SDM 3A 10.4.4). The guest's own AP
 * start-up therefore works under marrow; it needs unrestricted guest. */
#include "core/marrow.h"
#include "core/root_log.h"
#include "exit.h"
#include "guest_state.h"
#include "host_idt.h"

#define AR_CODE16 0x9b /* present, code, readable, accessed */

static void real_mode_segment(unsigned i, uint16_t sel, uint64_t base, uint32_t ar)
{
	vmcs_write(VMCS_GUEST_ES_SELECTOR + 2 * i, sel);
	vmcs_write(VMCS_GUEST_ES_BASE + 2 * i, base);
	vmcs_write(VMCS_GUEST_ES_LIMIT + 2 * i, 0xffff);
	vmcs_write(VMCS_GUEST_ES_AR_BYTES + 2 * i, ar);
}

enum exit_action handle_init(struct exit_ctx *c)
{
	if (!mw.ctl.unrestricted_guest || !(mw.caps.misc & VMX_MISC_ACTIVITY_WAIT_SIPI))
		root_fatal_exit(c->v,
				"INIT: this CPU cannot run a real-mode guest or wait for SIPI");
	guest_state_init(c);
	c->v->pending_nmis = 0; /* INIT discards pending NMIs too */
	vmcs_write(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_WAIT_SIPI);
	__atomic_store_n(&c->v->waiting_sipi, true, __ATOMIC_RELEASE);
	root_log(c->v, MW_LOG_INFO, "INIT: cpu %u waits for SIPI", c->v->index);
	return EXIT_RESUME;
}

enum exit_action handle_sipi(struct exit_ctx *c)
{
	unsigned vector = exit_qualification() & 0xff;

	/* CS = vector << 8, base vector << 12, IP 0 (SDM 3A 10.4.4). */
	real_mode_segment(1, (uint16_t)(vector << 8), (uint64_t)vector << 12, AR_CODE16);
	vmcs_write(VMCS_GUEST_RIP, 0);
	/* Nothing blocks events in a CPU that just started (the exit may have
	 * saved SMI blocking for the wait-for-SIPI state). */
	vmcs_write(VMCS_GUEST_INTERRUPTIBILITY_INFO, 0);
	vmcs_write(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_ACTIVE);
	__atomic_store_n(&c->v->waiting_sipi, false, __ATOMIC_RELEASE);
	/* Bochs 2.7 takes the SIPI VM exit before it lifts the blocking of
	 * NMIs and SMIs that wait-for-SIPI put in place (cpu/event.cc,
	 * deliver_SIPI), and keeps both: NMIs until an IRET in root mode,
	 * SMIs for good, so every later exit saves "blocking by SMI", which
	 * VM entry refuses outside SMM (SDM 3C 27.3.1.5). On hardware neither
	 * is blocked in a CPU that just started, and both fixes do nothing. */
	root_unblock_nmis();
	c->v->scrub_smi_blocking = true;
	root_log(c->v, MW_LOG_INFO, "SIPI: cpu %u starts at %05x", c->v->index, vector << 12);
	return EXIT_RESUME;
}
