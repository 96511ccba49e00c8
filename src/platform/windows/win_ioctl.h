/* Checks of an IOCTL request's buffers against windows_ioctl.h, before the
 * driver touches them. Pure. */
#ifndef MARROW_WINDOWS_WIN_IOCTL_H
#define MARROW_WINDOWS_WIN_IOCTL_H

#include <stddef.h>
#include <stdint.h>

enum win_ioctl_check {
	WIN_IOCTL_OK = 0,
	WIN_IOCTL_UNKNOWN,	/* not one of marrow's codes */
	WIN_IOCTL_SHORT_INPUT,	/* the input buffer is too small */
	WIN_IOCTL_SHORT_OUTPUT, /* the output buffer is too small */
};

enum win_ioctl_check win_ioctl_check(uint32_t code, size_t in_len, size_t out_len);
const char *win_ioctl_name(uint32_t code);

/* How many bytes of text MW_IOCTL_LOG asks MW_HC_READ_LOG for, given the
 * output buffer's length: what follows the reply header, at most what one
 * hypercall copies (GUEST_COPY_MAX). 0 if out_len is too small. */
size_t win_log_text_size(size_t out_len);

#endif
