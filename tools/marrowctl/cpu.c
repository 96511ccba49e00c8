#include "cpu.h"

#include <cpuid.h>
#include <stdio.h>
#include <string.h>

#define CPUID_1_ECX_VMX (1u << 5)

bool cpu_supports_marrow(char *why, size_t len)
{
	unsigned eax, ebx, ecx, edx;
	char vendor[13];

	if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) {
		snprintf(why, len, "the CPU does not answer CPUID");
		return false;
	}
	memcpy(vendor, &ebx, 4);
	memcpy(vendor + 4, &edx, 4);
	memcpy(vendor + 8, &ecx, 4);
	vendor[12] = '\0';
	if (strcmp(vendor, "GenuineIntel") != 0) {
		snprintf(why, len, "marrow needs an Intel CPU with VT-x; this one is %s", vendor);
		return false;
	}
	__get_cpuid(1, &eax, &ebx, &ecx, &edx);
	if (!(ecx & CPUID_1_ECX_VMX)) {
		snprintf(why, len,
			 "VT-x is not available (CPUID.1:ECX.VMX is 0: disabled by the firmware, "
			 "or hidden by a hypervisor this system runs under)");
		return false;
	}
	return true;
}
