#include "names.h"

#include <stddef.h>

#include "marrow/hypercall.h"
#include "marrow/stats.h"

static const char *const exit_names[MW_STATS_EXIT_REASONS] = {
#define EXIT_REASON(name, num) [num] = #name,
#include "vmx/exit_reasons.def"
#undef EXIT_REASON
};

const char *exit_reason_name_of(unsigned reason)
{
	return reason < MW_STATS_EXIT_REASONS ? exit_names[reason] : NULL;
}

static const struct {
	uint64_t bit;
	const char *name;
} features[] = {
	{ MW_HC_FEATURE_EPT, "ept" },
	{ MW_HC_FEATURE_VPID, "vpid" },
	{ MW_HC_FEATURE_UNRESTRICTED_GUEST, "unrestricted-guest" },
	{ MW_HC_FEATURE_VIRTUAL_NMIS, "virtual-nmis" },
	{ MW_HC_FEATURE_MTF, "monitor-trap-flag" },
	{ MW_HC_FEATURE_EXECUTE_ONLY_EPT, "execute-only-ept" },
	{ MW_HC_FEATURE_VMFUNC, "vmfunc" },
};

const char *feature_name(unsigned index, uint64_t *bit)
{
	if (index >= sizeof(features) / sizeof(features[0]))
		return NULL;
	*bit = features[index].bit;
	return features[index].name;
}
