/* Kernel symbols by name, for hooks. kallsyms_lookup_name is not exported
 * to modules since 5.7; the kprobe machinery still resolves names, so a
 * kprobe on kallsyms_lookup_name itself, registered and unregistered at
 * once, gives its address (the usual route for out-of-tree modules). */
#include <linux/kprobes.h>
#include <linux/string.h>

#include "mwl_ksym.h"

typedef unsigned long (*lookup_fn)(const char *name);

static lookup_fn lookup;

static bool lookup_ready(void)
{
	struct kprobe kp = { .symbol_name = "kallsyms_lookup_name" };

	if (lookup)
		return true;
	if (register_kprobe(&kp))
		return false;
	lookup = (lookup_fn)kp.addr;
	unregister_kprobe(&kp);
	return lookup != NULL;
}

unsigned long mwl_ksym(const char *name)
{
	return lookup_ready() ? lookup(name) : 0;
}

static bool within(unsigned long addr, const char *start, const char *end)
{
	unsigned long s = mwl_ksym(start), e = mwl_ksym(end);

	return s && e && addr >= s && addr < e;
}

const char *mwl_ksym_refuse(unsigned long addr)
{
	if (!within(addr, "_stext", "_etext"))
		return "not in the kernel's text (module, init and data symbols cannot be "
		       "hooked: they may go away or are not code)";
	/* The entry code runs on the user page tables under page-table
	 * isolation, where marrow's stubs are not mapped. */
	if (within(addr, "__entry_text_start", "__entry_text_end"))
		return "in the kernel's entry code (.entry.text), which runs before the kernel's "
		       "page tables are loaded";
	return NULL;
}
