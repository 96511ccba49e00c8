#include <stddef.h>
#include <stdint.h>

#include "msr.h"

const char *msr_name(uint32_t index)
{
	switch (index) {
#define MSR(name, idx) \
	case idx:      \
		return #name;
#include "msr.def"
#undef MSR
	default:
		return NULL;
	}
}
