#include "win_ioctl.h"

#include "core/guest_walk.h"
#include "marrow/windows_ioctl.h"

enum win_ioctl_check win_ioctl_check(uint32_t code, size_t in_len, size_t out_len)
{
	size_t in_min, out_min;

	switch (code) {
	case MW_IOCTL_STATUS:
		in_min = 0;
		out_min = sizeof(struct mw_win_status);
		break;
	case MW_IOCTL_STATS:
		in_min = sizeof(struct mw_win_cpu_request);
		out_min = sizeof(struct mw_cpu_stats);
		break;
	case MW_IOCTL_LOG:
		in_min = sizeof(struct mw_win_cpu_request);
		out_min = MW_WIN_LOG_MIN_OUTPUT;
		break;
	case MW_IOCTL_UNLOAD:
		in_min = 0;
		out_min = 0;
		break;
	default:
		return WIN_IOCTL_UNKNOWN;
	}
	if (in_len < in_min)
		return WIN_IOCTL_SHORT_INPUT;
	if (out_len < out_min)
		return WIN_IOCTL_SHORT_OUTPUT;
	return WIN_IOCTL_OK;
}

const char *win_ioctl_name(uint32_t code)
{
	switch (code) {
	case MW_IOCTL_STATUS:
		return "status";
	case MW_IOCTL_STATS:
		return "stats";
	case MW_IOCTL_LOG:
		return "log";
	case MW_IOCTL_UNLOAD:
		return "unload";
	}
	return "unknown";
}

size_t win_log_text_size(size_t out_len)
{
	if (out_len < MW_WIN_LOG_MIN_OUTPUT)
		return 0;
	size_t n = out_len - sizeof(struct mw_win_log_reply);
	return n < GUEST_COPY_MAX ? n : GUEST_COPY_MAX;
}
