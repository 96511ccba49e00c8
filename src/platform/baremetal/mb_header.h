/* Multiboot kernel headers: the Multiboot specification 0.6.96 (section 3.1,
 * "OS image format") and Multiboot2 2.0 (section 3.1). A header found and
 * valid fills a guest_image: its segments (the ELF program headers, or the
 * address fields of the "a.out kludge"), its entry point and what it asks
 * of the loader. A requirement marrow cannot meet (a video mode, an
 * information tag it does not give, an unknown required flag or tag) is a
 * refusal that names it, as the specifications ask of a loader. Pure. */
#ifndef MARROW_BAREMETAL_MB_HEADER_H
#define MARROW_BAREMETAL_MB_HEADER_H

#include "guest_image.h"

#define MB1_HEADER_MAGIC 0x1badb002u
#define MB2_HEADER_MAGIC 0xe85250d6u
#define MB1_SEARCH 8192	 /* the header lies in the first 8 KiB, 4-aligned */
#define MB2_SEARCH 32768 /* ... in the first 32 KiB, 8-aligned */

/* Each returns false with err->text empty when the image has no such
 * header, false with a reason when it has one marrow refuses. */
bool mb2_header_parse(const uint8_t *img, size_t len, struct guest_image *out,
		      struct load_error *err);
bool mb1_header_parse(const uint8_t *img, size_t len, struct guest_image *out,
		      struct load_error *err);

#endif
