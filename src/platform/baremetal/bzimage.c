#include "bzimage.h"

#include "bootmap.h"
#include "core/mw_string.h"
#include "core/unaligned.h"

/* Offsets in the image and in the zero page (boot.rst, "The real-mode
 * kernel header"; arch/x86/include/uapi/asm/bootparam.h). */
#define HDR_SETUP_SECTS 0x1f1
#define HDR_BOOT_FLAG 0x1fe
#define HDR_JUMP 0x200
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS 0x211
#define HDR_CODE32_START 0x214
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE 0x21c
#define HDR_HEAP_END_PTR 0x224
#define HDR_CMD_LINE_PTR 0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE 0x234
#define HDR_CMDLINE_SIZE 0x238
#define HDR_PREF_ADDRESS 0x258
#define HDR_INIT_SIZE 0x260
#define HDR_ACPI_RSDP_ADDR 0x270 /* protocol 2.14 */
#define BP_ORIG_VIDEO_MODE 0x006
#define BP_ORIG_VIDEO_COLS 0x007
#define BP_ORIG_VIDEO_LINES 0x00e
#define BP_ORIG_VIDEO_ISVGA 0x00f
#define BP_ORIG_VIDEO_POINTS 0x010
#define BP_ACPI_RSDP_ADDR 0x070
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_ALT_MEM_K 0x1e0
#define BP_E820_ENTRIES 0x1e8
#define BP_E820_TABLE 0x2d0
#define LOADED_HIGH 0x01
#define CAN_USE_HEAP 0x80
#define LOADER_UNDEFINED 0xff

static void wr8(uint8_t *p, uint8_t v)
{
	*p = v;
}

static void wr16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

static void wr32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

static void wr64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* The header ends where the 2-byte jump at 0x200 lands: 0x202 plus its
 * displacement byte (boot.rst: "the end of the setup header"). */
static size_t header_end(const uint8_t *img)
{
	return 0x202 + img[0x201];
}

static bool check_fields(const struct guest_image *gi, size_t len, struct load_error *err)
{
	if (gi->linux_version < LINUX_MIN_VERSION)
		return load_fail(err, "Linux boot protocol %u.%02u is older than 2.06",
				 gi->linux_version >> 8, gi->linux_version & 0xff);
	if (gi->linux_setup_size >= len)
		return load_fail(err, "the bzImage has no protected-mode kernel after its setup");
	if (gi->linux_alignment == 0 || (gi->linux_alignment & (gi->linux_alignment - 1)))
		return load_fail(err, "kernel_alignment %x is not a power of two",
				 gi->linux_alignment);
	return true;
}

bool bzimage_parse(const uint8_t *img, size_t len, struct guest_image *out, struct load_error *err)
{
	err->text[0] = '\0';
	if (len < 0x270 || rd16(img + HDR_BOOT_FLAG) != 0xaa55 ||
	    memcmp(img + HDR_MAGIC, "HdrS", 4) != 0)
		return false;
	memset(out, 0, sizeof(*out));
	out->kind = GUEST_LINUX;
	out->linux_version = rd16(img + HDR_VERSION);
	if (!(img[HDR_LOADFLAGS] & LOADED_HIGH))
		return load_fail(err, "a zImage (loaded low): marrow boots bzImages only");
	unsigned sects = img[HDR_SETUP_SECTS] ? img[HDR_SETUP_SECTS] : 4;
	out->linux_setup_size = (sects + 1) * 512;
	out->linux_cmdline_size = rd32(img + HDR_CMDLINE_SIZE);
	out->linux_initrd_max = rd32(img + HDR_INITRD_ADDR_MAX);
	/* 2.05+ kernels may be relocatable; 2.10 adds pref_address and
	 * init_size. Without them: loaded at 1 MiB, and as large as the
	 * image three times over (a safe bound for the decompression). */
	out->linux_relocatable = out->linux_version >= 0x0205 && img[HDR_RELOCATABLE];
	out->linux_alignment = out->linux_relocatable ? rd32(img + HDR_KERNEL_ALIGNMENT) : 0x100000;
	if (out->linux_version >= 0x020a && header_end(img) >= HDR_INIT_SIZE + 4) {
		out->linux_pref_address = rd64(img + HDR_PREF_ADDRESS);
		out->linux_init_size = rd32(img + HDR_INIT_SIZE);
	} else {
		out->linux_pref_address = 0x100000;
		out->linux_init_size = (uint32_t)(len * 3);
	}
	if (!check_fields(out, len, err))
		return false;
	uint64_t payload = len - out->linux_setup_size;
	out->segs[0] = (struct load_seg){ 0, out->linux_setup_size, payload,
					  payload > out->linux_init_size ? payload
									 : out->linux_init_size };
	out->seg_count = 1;
	return true;
}

static void setup_header(const uint8_t *img, uint8_t *zp, const struct linux_boot *b)
{
	/* The header as the kernel built it, then the loader's fields. */
	memcpy(zp + HDR_SETUP_SECTS, img + HDR_SETUP_SECTS, header_end(img) - HDR_SETUP_SECTS);
	wr8(zp + HDR_TYPE_OF_LOADER, LOADER_UNDEFINED);
	/* No real-mode setup runs: no heap to offer it. */
	wr8(zp + HDR_LOADFLAGS, (uint8_t)(zp[HDR_LOADFLAGS] & ~CAN_USE_HEAP));
	wr16(zp + HDR_HEAP_END_PTR, 0);
	wr32(zp + HDR_CODE32_START, b->kernel_addr);
	wr32(zp + HDR_CMD_LINE_PTR, b->cmdline_addr);
	wr32(zp + HDR_RAMDISK_IMAGE, (uint32_t)b->initrd_addr);
	wr32(zp + HDR_RAMDISK_SIZE, (uint32_t)b->initrd_size);
	wr32(zp + BP_EXT_RAMDISK_IMAGE, (uint32_t)(b->initrd_addr >> 32));
	wr32(zp + BP_EXT_RAMDISK_SIZE, (uint32_t)(b->initrd_size >> 32));
	wr32(zp + BP_EXT_CMD_LINE_PTR, 0);
	if (b->rsdp_addr) {
		wr64(zp + BP_ACPI_RSDP_ADDR, b->rsdp_addr);
		if (rd16(img + HDR_VERSION) >= 0x020e && header_end(img) >= HDR_ACPI_RSDP_ADDR + 8)
			wr64(zp + HDR_ACPI_RSDP_ADDR, b->rsdp_addr);
	}
}

bool bzimage_boot_params(const uint8_t *img, size_t len, const struct guest_image *gi,
			 const struct linux_boot *b, uint8_t *zp, struct load_error *err)
{
	if (b->map_count > LINUX_E820_MAX)
		return load_fail(err, "%zu memory map entries, the zero page holds %u",
				 b->map_count, LINUX_E820_MAX);
	if (len < header_end(img) || gi->kind != GUEST_LINUX)
		return load_fail(err, "not a parsed bzImage");
	memset(zp, 0, LINUX_BOOT_PARAMS_SIZE);
	setup_header(img, zp, b);
	/* A VGA text console, 80x25, as the BIOS leaves it. */
	wr8(zp + BP_ORIG_VIDEO_MODE, 3);
	wr8(zp + BP_ORIG_VIDEO_COLS, 80);
	wr8(zp + BP_ORIG_VIDEO_LINES, 25);
	wr8(zp + BP_ORIG_VIDEO_ISVGA, 1);
	wr16(zp + BP_ORIG_VIDEO_POINTS, 16);
	wr32(zp + BP_ALT_MEM_K, bootmap_upper_kib(b->map, b->map_count));
	wr8(zp + BP_E820_ENTRIES, (uint8_t)b->map_count);
	for (size_t i = 0; i < b->map_count; i++) {
		uint8_t *e = zp + BP_E820_TABLE + 20 * i;
		wr64(e, b->map[i].base);
		wr64(e + 8, b->map[i].length);
		wr32(e + 16, b->map[i].type);
	}
	return true;
}
