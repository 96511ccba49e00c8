#include "guest_image.h"

#include <stdarg.h>

#include "bzimage.h"
#include "core/fmt.h"
#include "mb_header.h"

bool load_fail(struct load_error *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	mw_vsnprintf(err->text, sizeof(err->text), fmt, ap);
	va_end(ap);
	return false;
}

const char *guest_kind_name(enum guest_kind k)
{
	switch (k) {
	case GUEST_MULTIBOOT2:
		return "multiboot2";
	case GUEST_MULTIBOOT1:
		return "multiboot";
	case GUEST_LINUX:
		return "Linux bzImage";
	}
	return "?";
}

bool guest_image_probe(const uint8_t *img, size_t len, struct guest_image *out,
		       struct load_error *err)
{
	if (mb2_header_parse(img, len, out, err))
		return true;
	if (err->text[0])
		return false;
	if (mb1_header_parse(img, len, out, err))
		return true;
	if (err->text[0])
		return false;
	if (bzimage_parse(img, len, out, err))
		return true;
	if (err->text[0])
		return false;
	return load_fail(err, "neither a multiboot nor a multiboot2 kernel nor a Linux bzImage");
}
