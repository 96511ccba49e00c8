/* The Windows driver's control interface: the device, its IOCTL codes and
 * their buffers, shared by marrow.sys, marrowctl.exe and the host tests.
 * Self-contained (no Windows header): the codes are built as CTL_CODE
 * builds them ("Defining I/O Control Codes", Windows driver docs):
 *   DeviceType << 16 | RequiredAccess << 14 | Function << 2 | TransferType.
 * Device types from 0x8000 and function codes from 0x800 are the ranges
 * left to vendors. Every buffer is METHOD_BUFFERED; structures are
 * fixed-size little-endian with natural alignment (the same layout under
 * MSVC, mingw-w64 and GCC on x86-64). ABI: only append. The commands
 * mirror the Linux driver's: status, stats, log, unload (hooks later). */
#ifndef MARROW_WINDOWS_IOCTL_H
#define MARROW_WINDOWS_IOCTL_H

#include <stdint.h>

#include "marrow/stats.h"

#define MW_WIN_ABI_VERSION 1

/* \Device\Marrow, reachable from user mode as \\.\Marrow. */
#define MW_WIN_DEVICE_NAME L"\\Device\\Marrow"
#define MW_WIN_DOS_NAME L"\\DosDevices\\Marrow"
#define MW_WIN_USER_PATH "\\\\.\\Marrow"

#define MW_WIN_DEVICE_TYPE 0x8000u
#define MW_WIN_METHOD_BUFFERED 0u
#define MW_WIN_FILE_READ_ACCESS 1u
#define MW_WIN_FILE_WRITE_ACCESS 2u
#define MW_WIN_CTL_CODE(function, access)                                                        \
	((MW_WIN_DEVICE_TYPE << 16) | ((uint32_t)(access) << 14) | ((uint32_t)(function) << 2) | \
	 MW_WIN_METHOD_BUFFERED)

/* -> struct mw_win_status. */
#define MW_IOCTL_STATUS MW_WIN_CTL_CODE(0x800, MW_WIN_FILE_READ_ACCESS)
/* struct mw_win_cpu_request -> struct mw_cpu_stats (stats.h). */
#define MW_IOCTL_STATS MW_WIN_CTL_CODE(0x801, MW_WIN_FILE_READ_ACCESS)
/* struct mw_win_cpu_request -> struct mw_win_log_reply and text: that
 * CPU's root-mode log records, one line each, as many as fit. */
#define MW_IOCTL_LOG MW_WIN_CTL_CODE(0x802, MW_WIN_FILE_READ_ACCESS)
/* No buffers: devirtualize every CPU (the driver stays loaded until
 * "sc stop marrow"). Needs a handle opened for writing. */
#define MW_IOCTL_UNLOAD MW_WIN_CTL_CODE(0x803, MW_WIN_FILE_READ_ACCESS | MW_WIN_FILE_WRITE_ACCESS)
/* 0x810-0x83f: reserved for hooks (issue 5). */

struct mw_win_status {
	uint32_t size;	      /* sizeof(struct mw_win_status) as the driver knows it */
	uint32_t abi_version; /* MW_WIN_ABI_VERSION */
	uint32_t active;      /* 1: every CPU runs under marrow */
	uint32_t cpu_count;   /* CPUs Windows has active */
	uint32_t virtualized_count;
	uint32_t hc_version; /* MW_HC_PING's version (major << 16 | minor), 0 if inactive */
	uint64_t features;   /* MW_HC_INFO's feature bits (enum mw_hc_feature) */
	/* The last virtualize or devirtualize: enum mw_status, the CPU (-1:
	 * none in particular), enum mw_step, the VM-instruction error, and
	 * the whole error as one line. */
	int32_t last_status;
	int32_t last_error_cpu;
	uint32_t last_error_step;
	uint32_t last_vm_error;
	char last_error[160];
	/* What the driver found in the kernel (0 where it found nothing). */
	uint64_t kernel_base;
	uint32_t kernel_size;
	uint32_t ssdt_services;
	uint64_t ssdt_table; /* KiServiceTable's address */
};

struct mw_win_cpu_request {
	uint32_t cpu; /* 0-based, below cpu_count */
	uint32_t reserved;
};

struct mw_win_log_reply {
	uint64_t bytes;	  /* of text following this header */
	uint64_t dropped; /* records lost since the last read (the ring was full) */
			  /* char text[bytes] follows */
};

/* The log's text must leave room for one whole record (256 bytes). */
#define MW_WIN_LOG_MIN_OUTPUT (sizeof(struct mw_win_log_reply) + 257)

_Static_assert(sizeof(struct mw_win_status) == 232, "mw_win_status is ABI");
_Static_assert(sizeof(struct mw_win_cpu_request) == 8, "mw_win_cpu_request is ABI");
_Static_assert(sizeof(struct mw_win_log_reply) == 16, "mw_win_log_reply is ABI");

#endif
