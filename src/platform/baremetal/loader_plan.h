/* What the boot-time loader decided, before it writes anything
 * (loader.c), and the step that writes and starts it (loader_start.c). */
#ifndef MARROW_BAREMETAL_LOADER_PLAN_H
#define MARROW_BAREMETAL_LOADER_PLAN_H

#include "core/boot_guest.h"
#include "guest_image.h"
#include "loader.h"
#include "mb_info.h"

#define LOADER_MAP_MAX (MB2_MAX_REGIONS + 2 * MW_BOOT_MAX_HIDDEN)

struct loader_plan {
	struct guest_image img;
	const uint8_t *kernel; /* the kernel's file, where GRUB put it */
	uint64_t kernel_pa;
	size_t kernel_len;
	const char *cmdline;
	struct mb_module modules[MB2_MAX_MODULES]; /* the kernel's own modules */
	size_t module_count;
	const struct mb2_region *fw_map; /* the firmware's memory map */
	size_t fw_count;
	struct mb2_region map[LOADER_MAP_MAX]; /* the guest's */
	size_t map_count;
	struct mw_boot_config boot;	/* marrow's memory, hidden from the guest */
	bool stage;			/* the kernel loads over its own file... */
	uint64_t stage_pa;		/* ...which is copied here first */
	uint8_t info[LOADER_INFO_SIZE]; /* the boot information area's contents */
	struct mw_boot_entry entry;
	struct load_error err;
};

/* Reads and checks everything and places it; writes nothing but *p. */
bool loader_plan(struct loader_plan *p, const struct mb2_info *mbi,
		 const struct mw_phys_range *arena);

#endif
