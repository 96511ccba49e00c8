#include "split.h"

#include "arch/x86/cpu_bits.h"
#include "core/host_pt.h"
#include "core/marrow.h"
#include "core/mw_string.h"
#include "core/spinlock.h"
#include "core/vcpu_launch.h"
#include "ept/ept.h"
#include "marrow/hypercall.h"
#include "platform/platform.h"

/* The registry. It changes only under change_lock, outside root mode; root
 * mode reads entries it sees live (release/acquire) and their current view,
 * which is never modified while published. */
static struct split_page pages[SPLIT_MAX_PAGES];
/* A page has one view in use, and a second one while it moves to it. */
static struct split_view views[2 * SPLIT_MAX_PAGES];
static bool view_used[2 * SPLIT_MAX_PAGES];
static struct spinlock change_lock;

#define DB_VECTOR 1
#define DR6_BS (1ull << 14)
#define DR6_BREAKPOINTS 0xfull

bool hook_change_begin(void)
{
	return spin_trylock(&change_lock);
}

void hook_change_end(void)
{
	spin_unlock(&change_lock);
}

static struct split_page *find_page(uint64_t gpa)
{
	for (unsigned i = 0; i < SPLIT_MAX_PAGES; i++)
		if (pages[i].users && pages[i].gpa == gpa)
			return &pages[i];
	return NULL;
}

static struct split_page *free_page(void)
{
	for (unsigned i = 0; i < SPLIT_MAX_PAGES; i++)
		if (!pages[i].users)
			return &pages[i];
	return NULL;
}

static struct split_view *view_alloc(void)
{
	for (unsigned i = 0; i < 2 * SPLIT_MAX_PAGES; i++) {
		if (!view_used[i]) {
			view_used[i] = true;
			memset(&views[i], 0, sizeof(views[i]));
			return &views[i];
		}
	}
	return NULL; /* not with two per page at most */
}

static void view_free(struct split_view *v)
{
	if (v->va)
		platform_free_pages(v->va, 1);
	view_used[v - views] = false;
}

/* The page must be RAM marrow can map (never device memory). */
static bool is_ram_page(uint64_t gpa)
{
	return host_pt_phys(mw.host_pt, gpa, 4096) != NULL;
}

static enum mw_status refuse(struct mw_error *err, enum mw_status s, const char *what)
{
	mw_error_set(err, s, -1, MW_STEP_NONE, "%s", what);
	return s;
}

static void apply_patches(const struct split_view *v, uint8_t *copy)
{
	for (unsigned i = 0; i < v->patch_count; i++)
		memcpy(copy + v->patches[i].offset, v->patches[i].bytes, v->patches[i].len);
}

/* A view holding a copy of the page as it is now, plus patches. */
static struct split_view *copy_view(uint64_t gpa, const struct split_patch *patches, unsigned n)
{
	struct split_view *v = view_alloc();
	void *copy = platform_alloc_pages(1);
	const void *orig = platform_phys_to_virt(gpa);

	if (!v || !copy || !orig) {
		if (copy)
			platform_free_pages(copy, 1);
		if (v)
			view_used[v - views] = false;
		return NULL;
	}
	v->va = copy;
	v->frame = platform_virt_to_phys(copy);
	v->patch_count = n;
	if (n)
		memcpy(v->patches, patches, n * sizeof(*patches));
	memcpy(copy, orig, 4096);
	apply_patches(v, copy);
	return v;
}

enum mw_status split_copy_get(uint64_t gpa, struct split_page **out, struct mw_error *err)
{
	gpa &= ~0xfffull;
	if (!mw.active)
		return refuse(err, MW_ERR_NOT_VIRTUALIZED, "marrow is not running");
	if (!mw.ctl.execute_only_ept)
		return refuse(err, MW_ERR_UNSUPPORTED,
			      "this CPU has no execute-only EPT (IA32_VMX_EPT_VPID_CAP bit 0): a "
			      "hooked page cannot execute one frame and read another");
	if (!is_ram_page(gpa))
		return refuse(err, MW_ERR_BAD_ARGUMENT, "the page is not RAM");

	struct split_page *p = find_page(gpa);
	if (p) {
		if (!p->patched_copy)
			return refuse(err, MW_ERR_EXISTS, "the page is substituted");
		p->users++;
		*out = p;
		return MW_OK;
	}
	p = free_page();
	if (!p)
		return refuse(err, MW_ERR_FULL, "every split-page slot is in use");
	struct split_view *v = copy_view(gpa, NULL, 0);
	if (!v)
		return refuse(err, MW_ERR_NO_MEMORY, "no page for the execute view");
	memset(p, 0, sizeof(*p));
	p->users = 1;
	p->gpa = gpa;
	p->rights = EPT_EXEC;
	p->patched_copy = true;
	p->view = v;
	*out = p;
	return MW_OK;
}

enum mw_status split_substitute(uint64_t gpa, uint64_t frame, uint64_t rights,
				struct split_page **out, struct mw_error *err)
{
	gpa &= ~0xfffull;
	if (!mw.active)
		return refuse(err, MW_ERR_NOT_VIRTUALIZED, "marrow is not running");
	if (rights != EPT_EXEC && rights != (EPT_READ | EPT_EXEC))
		return refuse(err, MW_ERR_BAD_ARGUMENT,
			      "rights must be execute, or read and execute");
	if (rights == EPT_EXEC && !mw.ctl.execute_only_ept)
		return refuse(err, MW_ERR_UNSUPPORTED,
			      "this CPU has no execute-only EPT (IA32_VMX_EPT_VPID_CAP bit 0)");
	if (!is_ram_page(gpa) || !is_ram_page(frame & ~0xfffull))
		return refuse(err, MW_ERR_BAD_ARGUMENT, "the page or the frame is not RAM");
	if (find_page(gpa))
		return refuse(err, MW_ERR_EXISTS, "the page is already split");
	struct split_page *p = free_page();
	struct split_view *v = p ? view_alloc() : NULL;
	if (!v)
		return refuse(err, MW_ERR_FULL, "every split-page slot is in use");
	v->frame = frame & ~0xfffull;
	memset(p, 0, sizeof(*p));
	p->users = 1;
	p->gpa = gpa;
	p->rights = rights;
	p->view = v;
	*out = p;
	return MW_OK;
}

struct view_change {
	struct split_page *page;
	bool execute_view;
	const struct split_rip_move *move;
	volatile bool failed[MW_MAX_CPUS];
};

static volatile unsigned cpus_moved;

unsigned split_cpus_moved(void)
{
	return cpus_moved;
}

static void move_interrupted_cpu(const struct split_rip_move *m)
{
	uint64_t *rip = platform_interrupted_rip();
	size_t to;

	if (!rip || *rip <= m->start || *rip >= m->start + m->res->copied)
		return;
	if (tramp_orig_to_tramp(m->res, *rip - m->start, &to)) {
		*rip = m->tramp + to;
		__atomic_fetch_add(&cpus_moved, 1, __ATOMIC_RELAXED);
	}
}

static void change_view_on_cpu(void *arg)
{
	struct view_change *c = arg;
	unsigned i = platform_cpu_index();
	struct vcpu *v = mw.vcpus[i];
	const struct split_page *p = c->page;

	if (!mw_cpu_virtualized(i))
		return;
	enum mw_status s;
	if (c->execute_view) {
		s = ept_set_page(v->ept, p->gpa, p->view->frame, p->rights);
		if (s == MW_OK)
			c->page->pte[i] = ept_split_to_4k(v->ept, p->gpa, &s);
	} else {
		c->page->pte[i] = NULL; /* before the merge frees its table */
		s = ept_set_page(v->ept, p->gpa, p->gpa, EPT_RWX);
		/* Large pages again where nothing else keeps them split. */
		if (ept_merge(v->ept, p->gpa, 2))
			ept_merge(v->ept, p->gpa, 3);
	}
	c->failed[i] = s != MW_OK;
	mw_vmcall(MW_HC_EPT_FLUSH, mw.cfg.hypercall_key, 0, 0, 0);
	if (c->execute_view && c->move && s == MW_OK)
		move_interrupted_cpu(c->move);
}

/* CPUs that are not virtualized now (offline, or left on their own) run
 * on no EPT, but theirs is used again if they come back
 * (mw_virtualize_this_cpu, which holds the hook-change lock while it
 * launches and then calls split_cpu_online). They always get the original
 * view here, so that nothing they keep can point at a view that is then
 * freed. */
static void original_view_on_idle_cpus(struct split_page *p)
{
	for (unsigned i = 0; i < mw.cpu_count; i++) {
		struct vcpu *v = mw.vcpus[i];
		if (!v || mw_cpu_virtualized(i))
			continue;
		p->pte[i] = NULL;
		ept_set_page(v->ept, p->gpa, p->gpa, EPT_RWX);
		if (ept_merge(v->ept, p->gpa, 2))
			ept_merge(v->ept, p->gpa, 3);
	}
}

/* Every CPU to the page's current view (or the original), twice: a CPU
 * that was ending a step over the page in root mode during the first round
 * may have mapped what it had read before; it answers the second round
 * only after that exit. After this, no CPU uses an older view. */
static void switch_all(struct split_page *p, bool execute_view, const struct split_rip_move *move)
{
	struct view_change c = { .page = p, .execute_view = execute_view, .move = move };

	platform_on_each_cpu(change_view_on_cpu, &c);
	platform_on_each_cpu(change_view_on_cpu, &c);
	original_view_on_idle_cpus(p);
}

/* A live page moves to a new copy holding patches[0..n). */
static enum mw_status replace_view(struct split_page *p, const struct split_patch *patches,
				   unsigned n, const struct split_rip_move *move)
{
	struct split_view *old = p->view;
	struct split_view *v = copy_view(p->gpa, patches, n);

	if (!v)
		return MW_ERR_NO_MEMORY;
	__atomic_store_n(&p->view, v, __ATOMIC_RELEASE);
	switch_all(p, true, move);
	view_free(old);
	return MW_OK;
}

enum mw_status split_add_patch(struct split_page *p, unsigned offset, const uint8_t *bytes,
			       unsigned len, const struct split_rip_move *move)
{
	struct split_view *v = p->view;

	if (!p->patched_copy || len == 0 || len > SPLIT_PATCH_MAX || offset + len > 4096)
		return MW_ERR_BAD_ARGUMENT;
	for (unsigned i = 0; i < v->patch_count; i++) {
		const struct split_patch *q = &v->patches[i];
		if (offset < (unsigned)q->offset + q->len && q->offset < offset + len)
			return MW_ERR_EXISTS; /* overlaps another hook's patch */
	}
	if (v->patch_count == SPLIT_MAX_PATCHES)
		return MW_ERR_FULL;
	struct split_patch patches[SPLIT_MAX_PATCHES + 1];
	memcpy(patches, v->patches, v->patch_count * sizeof(*patches));
	struct split_patch *q = &patches[v->patch_count];
	q->offset = (uint16_t)offset;
	q->len = (uint8_t)len;
	memcpy(q->bytes, bytes, len);
	if (p->live) /* CPUs execute the copy: never write bytes under them */
		return replace_view(p, patches, v->patch_count + 1, move);
	v->patches[v->patch_count++] = *q;
	memcpy((uint8_t *)v->va + offset, bytes, len);
	return MW_OK;
}

enum mw_status split_activate(struct split_page *p, const struct split_rip_move *move,
			      struct mw_error *err)
{
	struct view_change c = { .page = p, .execute_view = true, .move = move };

	if (p->live)
		return MW_OK; /* another hook in the page switched it already */
	__atomic_store_n(&p->live, true, __ATOMIC_RELEASE);
	platform_on_each_cpu(change_view_on_cpu, &c);
	original_view_on_idle_cpus(p);
	for (unsigned i = 0; i < mw.cpu_count; i++) {
		if (c.failed[i]) {
			__atomic_store_n(&p->live, false, __ATOMIC_RELEASE);
			switch_all(p, false, NULL);
			mw_error_set(err, MW_ERR_NO_MEMORY, (int)i, MW_STEP_NONE,
				     "the CPU's EPT split pool is empty");
			return err->status;
		}
	}
	return MW_OK;
}

void split_release(struct split_page *p, int patch_offset)
{
	if (--p->users == 0) {
		if (p->live) {
			/* Every CPU on the original page; root mode stops looking
			 * at it; then no CPU can map the view any more. */
			struct view_change c = { .page = p, .execute_view = false };
			platform_on_each_cpu(change_view_on_cpu, &c);
			__atomic_store_n(&p->live, false, __ATOMIC_RELEASE);
			platform_on_each_cpu(change_view_on_cpu, &c);
		}
		original_view_on_idle_cpus(p);
		view_free(p->view);
		memset(p, 0, sizeof(*p));
		return;
	}
	struct split_view *v = p->view;
	struct split_patch patches[SPLIT_MAX_PATCHES];
	unsigned n = 0;
	for (unsigned i = 0; i < v->patch_count; i++)
		if ((int)v->patches[i].offset != patch_offset)
			patches[n++] = v->patches[i];
	if (n == v->patch_count)
		return;
	if (p->live && replace_view(p, patches, n, NULL) == MW_OK)
		return;
	/* Not live, or no page for a new copy: the bytes go back in place
	 * (on a live page a CPU may then run a torn instruction there; only
	 * when memory is exhausted). */
	const uint8_t *orig = platform_phys_to_virt(p->gpa);
	for (unsigned i = 0; i < v->patch_count; i++) {
		const struct split_patch *q = &v->patches[i];
		if ((int)q->offset == patch_offset)
			memcpy((uint8_t *)v->va + q->offset, orig + q->offset, q->len);
	}
	memcpy(v->patches, patches, n * sizeof(*patches));
	v->patch_count = n;
}

void split_release_all(void)
{
	while (!hook_change_begin())
		__asm__ volatile("pause");
	for (unsigned i = 0; i < SPLIT_MAX_PAGES; i++) {
		if (pages[i].users) {
			pages[i].users = 1;
			split_release(&pages[i], -1);
		}
	}
	hook_change_end();
}

void split_cpu_online(void)
{
	unsigned i = platform_cpu_index();
	struct vcpu *v = mw.vcpus[i];

	for (unsigned k = 0; k < SPLIT_MAX_PAGES; k++) {
		struct split_page *p = &pages[k];
		if (!p->live)
			continue;
		if (ept_set_page(v->ept, p->gpa, p->view->frame, p->rights) == MW_OK) {
			enum mw_status s;
			p->pte[i] = ept_split_to_4k(v->ept, p->gpa, &s);
		}
	}
	mw_vmcall(MW_HC_EPT_FLUSH, mw.cfg.hypercall_key, 0, 0, 0);
}

unsigned split_pages_live(void)
{
	unsigned n = 0;
	for (unsigned i = 0; i < SPLIT_MAX_PAGES; i++)
		n += __atomic_load_n(&pages[i].live, __ATOMIC_ACQUIRE);
	return n;
}

/* ---- root mode ---- */

static const struct split_page *live_page(uint64_t gpa)
{
	gpa &= ~0xfffull;
	for (unsigned i = 0; i < SPLIT_MAX_PAGES; i++)
		if (__atomic_load_n(&pages[i].live, __ATOMIC_ACQUIRE) && pages[i].gpa == gpa)
			return &pages[i];
	return NULL;
}

static void start_step(struct vcpu *v)
{
	struct vcpu_step *s = &v->step;

	if (mw.mtf_works) {
		vmcs_write(VMCS_CPU_BASED_VM_EXEC_CONTROL,
			   vmcs_read(VMCS_CPU_BASED_VM_EXEC_CONTROL) | PROC_MONITOR_TRAP_FLAG);
		s->method = STEP_MTF;
		return;
	}
	/* No MTF (skylake_x in Bochs): the guest's TF single-steps one
	 * instruction and the #DB it raises exits. An STI shadow cannot hold
	 * interrupts off meanwhile (VM entry refuses TF with STI blocking and
	 * no pending BS, SDM 3C 27.3.1.5), so an external interrupt exits
	 * instead, and the step is dropped before it is delivered: no guest
	 * handler ever runs with marrow's TF or in the data view. */
	uint64_t rflags = vmcs_read(VMCS_GUEST_RFLAGS);
	uint64_t blocking = vmcs_read(VMCS_GUEST_INTERRUPTIBILITY_INFO);
	s->guest_tf = (rflags & RFLAGS_TF) != 0;
	vmcs_write(VMCS_GUEST_RFLAGS, rflags | RFLAGS_TF);
	vmcs_write(VMCS_EXCEPTION_BITMAP, mw_exception_bitmap() | (1u << DB_VECTOR));
	/* Only when the guest could take an interrupt before the instruction:
	 * with IF clear (or a shadow over it) the exit would come back for an
	 * interrupt the guest cannot take, forever. The #DB of the step has
	 * priority over an interrupt the instruction itself unmasks. */
	if ((rflags & RFLAGS_IF) && !(blocking & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS)))
		vmcs_write(VMCS_PIN_BASED_VM_EXEC_CONTROL,
			   vmcs_read(VMCS_PIN_BASED_VM_EXEC_CONTROL) |
				   PIN_EXTERNAL_INTERRUPT_EXITING);
	s->method = STEP_TF;
}

/* A patched copy that saw a write becomes the original again, plus its
 * patches. */
static void resync(const struct split_page *p, const struct split_view *view)
{
	const uint8_t *src = host_pt_phys(mw.host_pt, p->gpa, 4096);
	uint8_t *dst = host_pt_phys(mw.host_pt, view->frame, 4096);

	if (!src || !dst)
		return;
	memcpy(dst, src, 4096);
	apply_patches(view, dst);
}

/* This CPU's entry for the page now maps frame with rights: through the
 * cached entry when there is one (no walk of the tree). */
static void map_page(struct vcpu *v, const struct split_page *p, uint64_t frame, uint64_t rights)
{
	uint64_t *pte = p->pte[v->index];

	if (!pte) {
		ept_set_page(v->ept, p->gpa, frame, rights);
		return;
	}
	uint64_t keep = *pte & ~(EPT_ADDR_MASK | EPT_RWX);
	__atomic_store_n(pte, (frame & EPT_ADDR_MASK) | keep | (rights & EPT_RWX),
			 __ATOMIC_RELEASE);
}

/* The execute views again; with resync, a write the instruction made is
 * carried into the copies. */
static void restore_views(struct vcpu *v, bool resync_writes)
{
	struct vcpu_step *s = &v->step;

	for (unsigned i = 0; i < s->count; i++) {
		const struct split_page *p = live_page(s->pages[i]);
		if (!p)
			continue; /* removed meanwhile: the original view stays */
		const struct split_view *view = __atomic_load_n(&p->view, __ATOMIC_ACQUIRE);
		if (resync_writes && s->wrote && p->patched_copy)
			resync(p, view);
		map_page(v, p, view->frame, p->rights);
	}
	vcpu_ept_flush(v);
}

static void stop_stepping(struct vcpu *v)
{
	struct vcpu_step *s = &v->step;

	if (s->method == STEP_MTF) {
		vmcs_write(VMCS_CPU_BASED_VM_EXEC_CONTROL,
			   vmcs_read(VMCS_CPU_BASED_VM_EXEC_CONTROL) &
				   ~(uint64_t)PROC_MONITOR_TRAP_FLAG);
	} else {
		uint64_t rflags = vmcs_read(VMCS_GUEST_RFLAGS);
		if (!s->guest_tf)
			vmcs_write(VMCS_GUEST_RFLAGS, rflags & ~RFLAGS_TF);
		vmcs_write(VMCS_EXCEPTION_BITMAP, mw_exception_bitmap());
		vmcs_write(VMCS_PIN_BASED_VM_EXEC_CONTROL,
			   vmcs_read(VMCS_PIN_BASED_VM_EXEC_CONTROL) &
				   ~(uint64_t)PIN_EXTERNAL_INTERRUPT_EXITING);
	}
	s->method = STEP_NONE;
	s->count = 0;
	s->wrote = 0;
}

static void end_step(struct vcpu *v)
{
	restore_views(v, true);
	stop_stepping(v);
}

bool split_abort_step(struct vcpu *v)
{
	if (v->step.method != STEP_TF)
		return false;
	/* The instruction has not run: it faults again after the event and
	 * steps then. */
	restore_views(v, false);
	stop_stepping(v);
	return true;
}

bool split_on_violation(struct vcpu *v, uint64_t gpa, uint64_t qualification)
{
	const struct split_page *p = live_page(gpa);
	struct vcpu_step *s = &v->step;

	if (!p)
		return false;
	/* The data view: the original frame, every right, for one instruction
	 * (a second split page touched by the same instruction joins it). */
	if (s->count == STEP_MAX_PAGES)
		return false;
	if (p->pte[v->index])
		map_page(v, p, p->gpa, EPT_RWX);
	else if (ept_set_page(v->ept, p->gpa, p->gpa, EPT_RWX) != MW_OK)
		return false;
	vcpu_ept_flush(v);
	/* The instruction did not complete, so no single-step trap is pending
	 * for it: an EPT-violation exit saves the pending debug exceptions as
	 * clear outside MOV-SS blocking (SDM 3C 28.3.4). Bochs 2.7 saves the
	 * BS it had scheduled, which would raise the guest's #DB before the
	 * instruction runs again, forever. */
	if (!(vmcs_read(VMCS_GUEST_INTERRUPTIBILITY_INFO) & INTERRUPTIBILITY_MOV_SS))
		vmcs_write(VMCS_GUEST_PENDING_DBG_EXCEPTIONS, 0);
	s->pages[s->count++] = p->gpa;
	if (qualification & 2) /* a write (SDM 3C table 28-7) */
		s->wrote = 1;
	if (s->method == STEP_NONE)
		start_step(v);
	return true;
}

bool split_on_mtf(struct vcpu *v)
{
	if (v->step.method != STEP_MTF)
		return false;
	end_step(v);
	return true;
}

bool split_on_debug(struct vcpu *v, uint64_t qualification, uint64_t *reflect_bits)
{
	if (v->step.method != STEP_TF || !(qualification & DR6_BS))
		return false;
	bool guest_tf = v->step.guest_tf;
	end_step(v);
	/* The guest's own single step wanted this #DB too; a breakpoint that
	 * hit in the same instruction always does. */
	*reflect_bits = (qualification & DR6_BREAKPOINTS) | (guest_tf ? DR6_BS : 0);
	return true;
}
