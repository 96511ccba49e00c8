/* EPT split pages: one guest-physical page seen through two views, per CPU
 * (the "TLB split" of HyperBone, done per the SDM's EPT rules).
 *
 * The execute view maps another frame (a patched copy of the page, or a
 * substitute) with only the rights the view grants: execute, or read and
 * execute. The data view maps the original frame with every right. A CPU
 * runs in the execute view; an access that view does not allow is an EPT
 * violation (SDM 3C 29.3.3.2) that switches that CPU alone to the data view
 * for exactly one instruction: with the monitor trap flag where the CPU has
 * it (SDM 3C 26.5.2), otherwise by single-stepping the guest with RFLAGS.TF
 * and intercepting #DB, the guest's own TF and interrupt shadow preserved.
 * A write during that instruction is carried into a patched copy (which is
 * rebuilt from the original and its patches), so self-modifying code and
 * live patching stay coherent.
 *
 * Installing and removing run outside root mode; the rest runs in root
 * mode and only touches the registry, the CPU's own EPT and the VMCS. */
#ifndef MARROW_HOOK_SPLIT_H
#define MARROW_HOOK_SPLIT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/marrow.h"
#include "core/status.h"
#include "hook/trampoline.h"
#include "vmx/exit.h"

#define SPLIT_MAX_PAGES 32
#define SPLIT_MAX_PATCHES 8
#define SPLIT_PATCH_MAX 16

struct split_patch {
	uint16_t offset; /* in the page */
	uint8_t len;
	uint8_t bytes[SPLIT_PATCH_MAX];
};

/* What the execute view shows. Never changed while CPUs may use it: a
 * change builds a new view and every CPU moves to it (root mode reads a
 * page's view pointer once per use). */
struct split_view {
	uint64_t frame; /* physical frame the execute view maps */
	void *va;	/* that frame, when marrow owns it (a patched copy) */
	unsigned patch_count;
	struct split_patch patches[SPLIT_MAX_PATCHES];
};

struct split_page {
	volatile bool live; /* published: root mode acts on it */
	uint64_t gpa;	    /* page-aligned */
	uint64_t rights;    /* of the execute view: EPT_EXEC, or EPT_READ | EPT_EXEC */
	bool patched_copy;  /* the view is a copy of the page plus patches */
	unsigned users;
	struct split_view *volatile view;
	/* Each CPU's 4 KiB EPT entry for the page while it is split there:
	 * root mode flips views through it without walking the tree. Written
	 * only by the CPU it belongs to. */
	uint64_t *volatile pte[MW_MAX_CPUS];
};

/* A CPU that an inline hook's installation interrupts inside the bytes its
 * patch replaces, [start + 1, start + res->copied), resumes at the same
 * instruction in the trampoline instead (platform_interrupted_rip). */
struct split_rip_move {
	uint64_t start;
	uint64_t tramp;
	const struct tramp_result *res;
};

/* Hook changes (installing, removing) run one at a time, outside root
 * mode: the caller of the functions below holds this. False when another
 * change is in progress. */
bool hook_change_begin(void);
void hook_change_end(void);

/* A split page whose execute view is a copy of the page (allocated here),
 * shared by every hook in it. */
enum mw_status split_copy_get(uint64_t gpa, struct split_page **out, struct mw_error *err);
/* A split page whose execute view (rights: EPT_EXEC or EPT_READ|EPT_EXEC)
 * is another frame the caller owns. */
enum mw_status split_substitute(uint64_t gpa, uint64_t frame, uint64_t rights,
				struct split_page **out, struct mw_error *err);
/* Adds bytes to a patched copy: MW_ERR_EXISTS when they overlap another
 * patch. On a live page every CPU moves to a new copy with them. */
enum mw_status split_add_patch(struct split_page *p, unsigned offset, const uint8_t *bytes,
			       unsigned len, const struct split_rip_move *move);
/* Every CPU switches to the execute view (the first user; later ones find
 * it live) ... */
enum mw_status split_activate(struct split_page *p, const struct split_rip_move *move,
			      struct mw_error *err);
/* ... and a user goes: its patch at offset (if any) leaves the copy; the
 * last user's departure puts every CPU back on the original page, and
 * frees the copy once no CPU can use it. */
void split_release(struct split_page *p, int patch_offset);

/* The calling CPU, just virtualized again (CPU hotplug), gets the execute
 * view of every live page; the caller holds the hook-change lock. */
void split_cpu_online(void);

/* Every split page goes (marrow is leaving; inline hooks are gone). */
void split_release_all(void);

/* Root mode. A violation on a split page: switches to the data view for
 * one instruction. False when gpa is not a split page. */
bool split_on_violation(struct vcpu *v, uint64_t gpa, uint64_t qualification);
/* An MTF exit: true when it ended this CPU's step. */
bool split_on_mtf(struct vcpu *v);
/* A #DB exit with the given exit qualification (DR6 bits): true when it
 * was this CPU's TF step; *reflect then says whether the guest must still
 * get a #DB (its own TF was set, or a breakpoint hit), with those bits. */
bool split_on_debug(struct vcpu *v, uint64_t qualification, uint64_t *reflect_bits);

/* Root mode. An event is about to reach the guest while this CPU steps with
 * TF (an external interrupt exited, an NMI is to be injected): the step is
 * dropped, so that the guest's handler runs in the execute view and without
 * marrow's TF; the instruction faults and steps again afterwards. False when
 * the CPU is not stepping with TF. */
bool split_abort_step(struct vcpu *v);

/* CPUs moved into a trampoline so far (struct split_rip_move). */
unsigned split_cpus_moved(void);

/* Pages currently split (for statistics and tests). */
unsigned split_pages_live(void);

#endif
