#include "demo.h"

#include "console.h"
#include "platform/platform.h"
#include "smp.h"

static void say_hello(void *arg)
{
	(void)arg;
	kprintf("marrow: cpu %u (APIC ID %u) running\n", platform_cpu_index(), this_cpu()->apic_id);
}

void demo_run(void)
{
	platform_on_each_cpu(say_hello, NULL);
}
