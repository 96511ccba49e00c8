#include "catch.h"

#include "arch/x86/intrin.h"
#include "percpu.h"
#include "trap.h"

bool catch_run(void (*fn)(void *), void *arg, struct trap_info *info)
{
	struct bm_cpu *cpu = this_cpu();
	struct catch_frame frame;

	frame.prev = cpu->catch;
	if (catch_save(&frame) == 0) {
		cpu->catch = &frame;
		fn(arg);
		cpu->catch = frame.prev;
		return false;
	}
	/* Back here from catch_throw: the armed frame was this one. */
	cpu->catch = frame.prev;
	*info = frame.info;
	return true;
}

void catch_throw(const struct trap_frame *f)
{
	struct catch_frame *c = this_cpu()->catch;

	if (!c)
		return;
	c->info.vector = f->vector;
	c->info.error_code = f->error_code;
	c->info.rip = f->rip;
	c->info.cr2 = f->vector == 14 ? read_cr2() : 0;
	catch_restore(c, 1);
}
