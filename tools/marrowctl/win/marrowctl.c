/* marrowctl for Windows: talks to marrow.sys through \\.\Marrow.
 *   marrowctl status
 *   marrowctl stats [CPU]
 *   marrowctl log [CPU]
 *   marrowctl unload        (devirtualize; "sc stop marrow" unloads the driver)
 * Needs an elevated prompt: the device admits only Administrators and
 * SYSTEM. */
#include <windows.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "marrow/windows_ioctl.h"

static void report(const char *what)
{
	char msg[256] = "";
	DWORD e = GetLastError();

	FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, e, 0, msg,
		       sizeof(msg), NULL);
	fprintf(stderr, "marrowctl: %s: %s (error %lu)\n", what, msg, (unsigned long)e);
}

static HANDLE open_device(bool write)
{
	HANDLE h = CreateFileA(MW_WIN_USER_PATH, GENERIC_READ | (write ? GENERIC_WRITE : 0), 0,
			       NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
	if (h == INVALID_HANDLE_VALUE)
		report("cannot open " MW_WIN_USER_PATH " (is marrow.sys loaded? elevated?)");
	return h;
}

static bool call(HANDLE h, DWORD code, void *in, DWORD in_len, void *out, DWORD out_len, DWORD *got,
		 const char *what)
{
	DWORD n = 0;
	if (!DeviceIoControl(h, code, in, in_len, out, out_len, &n, NULL)) {
		report(what);
		return false;
	}
	if (got)
		*got = n;
	return true;
}

static int status(HANDLE h, struct mw_win_status *st)
{
	static char text[2048];
	DWORD n;

	if (!call(h, MW_IOCTL_STATUS, NULL, 0, st, sizeof(*st), &n, "status"))
		return 1;
	if (n < sizeof(*st) || st->abi_version != MW_WIN_ABI_VERSION) {
		fprintf(stderr, "marrowctl: driver ABI %u, this tool speaks %u\n", st->abi_version,
			MW_WIN_ABI_VERSION);
		return 1;
	}
	mwctl_format_status(st, text, sizeof(text));
	fputs(text, stdout);
	return 0;
}

static int stats(HANDLE h, unsigned first, unsigned last)
{
	static char text[8192];

	for (unsigned cpu = first; cpu <= last; cpu++) {
		struct mw_win_cpu_request req = { cpu, 0 };
		struct mw_cpu_stats s;
		DWORD n;
		memset(&s, 0, sizeof(s));
		if (!call(h, MW_IOCTL_STATS, &req, sizeof(req), &s, sizeof(s), &n, "stats"))
			return 1;
		mwctl_format_stats(cpu, &s, text, sizeof(text));
		fputs(text, stdout);
	}
	return 0;
}

static int log_cmd(HANDLE h, unsigned first, unsigned last)
{
	static unsigned char buf[64 * 1024];

	for (unsigned cpu = first; cpu <= last; cpu++) {
		struct mw_win_cpu_request req = { cpu, 0 };
		const struct mw_win_log_reply *r = (const void *)buf;
		DWORD n;
		do {
			if (!call(h, MW_IOCTL_LOG, &req, sizeof(req), buf, sizeof(buf), &n, "log"))
				return 1;
			if (n < sizeof(*r) || r->bytes > n - sizeof(*r))
				break;
			if (r->dropped)
				printf("cpu %u: %llu records dropped\n", cpu,
				       (unsigned long long)r->dropped);
			fwrite(buf + sizeof(*r), 1, (size_t)r->bytes, stdout);
		} while (r->bytes);
	}
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: marrowctl status | stats [CPU] | log [CPU] | unload\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct mw_win_status st;

	if (argc < 2 || argc > 3)
		return usage();
	const char *cmd = argv[1];
	bool write = strcmp(cmd, "unload") == 0;
	if (!write && strcmp(cmd, "status") && strcmp(cmd, "stats") && strcmp(cmd, "log"))
		return usage();
	HANDLE h = open_device(write);
	if (h == INVALID_HANDLE_VALUE)
		return 1;
	int rc;
	if (strcmp(cmd, "status") == 0) {
		rc = status(h, &st);
	} else if (write) {
		rc = call(h, MW_IOCTL_UNLOAD, NULL, 0, NULL, 0, NULL, "unload") ? 0 : 1;
		if (rc == 0)
			puts("marrow: every CPU devirtualized");
	} else {
		DWORD n;
		memset(&st, 0, sizeof(st));
		rc = call(h, MW_IOCTL_STATUS, NULL, 0, &st, sizeof(st), &n, "status") ? 0 : 1;
		unsigned first = 0, last = st.cpu_count ? st.cpu_count - 1 : 0;
		if (rc == 0 && argc == 3) {
			char *end;
			unsigned long c = strtoul(argv[2], &end, 10);
			if (*end || c >= st.cpu_count) {
				fprintf(stderr, "marrowctl: no CPU %s (%u CPUs)\n", argv[2],
					st.cpu_count);
				rc = 2;
			}
			first = last = (unsigned)c;
		}
		if (rc == 0)
			rc = strcmp(cmd, "stats") == 0 ? stats(h, first, last)
						       : log_cmd(h, first, last);
	}
	CloseHandle(h);
	return rc;
}
