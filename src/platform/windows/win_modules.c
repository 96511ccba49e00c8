#include "win_modules.h"

#include <stdbool.h>

#include "core/mw_string.h"

static uint64_t rd(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

const char *win_mod_status_str(enum win_mod_status s)
{
	switch (s) {
	case WIN_MOD_OK:
		return "ok";
	case WIN_MOD_TRUNCATED:
		return "module list truncated";
	case WIN_MOD_NO_MODULE:
		return "no such module";
	case WIN_MOD_BAD_ENTRY:
		return "malformed module entry";
	case WIN_MOD_NOT_KERNEL:
		return "first module is not the kernel";
	}
	return "unknown module status";
}

enum win_mod_status win_modules_count(const void *buf, size_t len, uint32_t *count)
{
	*count = 0;
	if (len < WIN_MODULES_HEADER_SIZE)
		return WIN_MOD_TRUNCATED;
	uint32_t n = (uint32_t)rd(buf, 4);
	if ((uint64_t)n * WIN_MODULE_ENTRY_SIZE > len - WIN_MODULES_HEADER_SIZE)
		return WIN_MOD_TRUNCATED;
	*count = n;
	return WIN_MOD_OK;
}

enum win_mod_status win_module_get(const void *buf, size_t len, uint32_t index,
				   struct win_module *out)
{
	uint32_t n;
	enum win_mod_status s = win_modules_count(buf, len, &n);

	memset(out, 0, sizeof(*out));
	if (s != WIN_MOD_OK)
		return s;
	if (index >= n)
		return WIN_MOD_NO_MODULE;
	const uint8_t *e = (const uint8_t *)buf + WIN_MODULES_HEADER_SIZE +
			   (size_t)index * WIN_MODULE_ENTRY_SIZE;
	out->image_base = rd(e + 16, 8);
	out->image_size = (uint32_t)rd(e + 24, 4);
	unsigned name_at = (unsigned)rd(e + 38, 2);
	memcpy(out->path, e + 40, WIN_MODULE_PATH_MAX - 1);
	out->path[WIN_MODULE_PATH_MAX - 1] = '\0';
	size_t path_len = strlen(out->path);
	if (name_at > path_len || out->image_size == 0 || out->image_base < WIN_KERNEL_VA_START ||
	    out->image_base + out->image_size < out->image_base)
		return WIN_MOD_BAD_ENTRY;
	out->file_name = out->path + name_at;
	return WIN_MOD_OK;
}

static bool same_name(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = (*a >= 'A' && *a <= 'Z') ? (char)(*a + 32) : *a;
		char y = (*b >= 'A' && *b <= 'Z') ? (char)(*b + 32) : *b;
		if (x != y)
			return false;
	}
	return *a == *b;
}

enum win_mod_status win_kernel_module(const void *buf, size_t len, struct win_module *out)
{
	static const char *const names[] = { "ntoskrnl.exe", "ntkrnlmp.exe", "ntkrnlpa.exe",
					     "ntkrpamp.exe" };
	enum win_mod_status s = win_module_get(buf, len, 0, out);

	if (s != WIN_MOD_OK)
		return s;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (same_name(out->file_name, names[i]))
			return WIN_MOD_OK;
	return WIN_MOD_NOT_KERNEL;
}
