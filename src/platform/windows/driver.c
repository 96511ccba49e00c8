/* marrow.sys: loading virtualizes every CPU, \Device\Marrow answers
 * marrowctl (administrators and SYSTEM only), unloading devirtualizes.
 * Everything here runs outside VMX root mode at PASSIVE_LEVEL, except the
 * per-CPU callbacks, which run in DPCs at DISPATCH_LEVEL. */
#include "nt_decls.h"

#include "core/fmt.h"
#include "core/marrow.h"
#include "core/mw_string.h"
#include "marrow/hypercall.h"
#include "marrow/windows_ioctl.h"
#include "platform/platform.h"
#include "win_ioctl.h"
#include "win_ntos.h"
#include "win_platform.h"
#include "win_state.h"

#define POOL_TAG 0x776f724d
/* Bug check raised when the driver is being unloaded while a CPU still
 * runs marrow's root mode from its image: a clean stop with the count of
 * CPUs, rather than executing freed code later. */
#define MW_BUGCHECK_STILL_VIRTUALIZED 0x4d570001u

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD driver_unload;
static DRIVER_DISPATCH dispatch_create_close;
static DRIVER_DISPATCH dispatch_ioctl;

static KMUTEX lock; /* serializes virtualize, devirtualize and IOCTLs */
static PDEVICE_OBJECT device;
static bool symlink_made;
static struct win_ntos ntos;
static enum mw_status last_status;
static struct mw_error last_error;

/* Special registers per CPU before virtualization (win_state.h). */
struct capture {
	uint8_t *buffers; /* WIN_KPROCESSOR_STATE_BUFFER bytes per CPU */
	unsigned cpus;
	struct win_special_regs regs[MW_MAX_CPUS];
};
static struct capture before, now;

static void log_line(ULONG level, const char *text)
{
	DbgPrintEx(DPFLTR_IHVDRIVER_ID, level, "marrow: %s\n", text);
}

/* ---- state capture with KeSaveStateForHibernate ---- */

static void capture_cpu(void *arg)
{
	struct capture *c = arg;
	unsigned i = platform_cpu_index();

	if (i >= c->cpus)
		return;
	uint8_t *buf = c->buffers + (size_t)i * WIN_KPROCESSOR_STATE_BUFFER;
	KeSaveStateForHibernate(buf);
	win_special_regs_read(buf, WIN_KPROCESSOR_STATE_BUFFER, &c->regs[i]);
}

static bool capture_all(struct capture *c)
{
	c->cpus = platform_cpu_count();
	if (c->cpus > MW_MAX_CPUS)
		return false;
	/* Pool blocks of a page or more are page-aligned: the CONTEXT inside
	 * KPROCESSOR_STATE needs 16. */
	c->buffers = ExAllocatePoolWithTag(NonPagedPoolNx,
					   (SIZE_T)c->cpus * WIN_KPROCESSOR_STATE_BUFFER, POOL_TAG);
	if (!c->buffers)
		return false;
	memset(c->regs, 0, sizeof(c->regs));
	platform_on_each_cpu(capture_cpu, c);
	ExFreePoolWithTag(c->buffers, POOL_TAG);
	c->buffers = NULL;
	return true;
}

/* Compares every CPU's per-CPU registers with the capture before
 * virtualization: the guest must see what the CPU had (marrow hides
 * CR4.VMXE behind the read shadow), and devirtualization must give it
 * back. Returns the number of CPUs that differ. */
static unsigned compare_with_before(const char *when)
{
	unsigned bad = 0;
	char line[160], names[96];

	if (!capture_all(&now)) {
		log_line(DPFLTR_ERROR_LEVEL, "cannot capture processor state");
		return 1;
	}
	for (unsigned i = 0; i < now.cpus && i < before.cpus; i++) {
		uint32_t diff =
			win_special_regs_diff(&before.regs[i], &now.regs[i], WIN_REGS_INVARIANT);
		if (!diff)
			continue;
		bad++;
		win_special_regs_describe(diff, names, sizeof(names));
		mw_snprintf(line, sizeof(line), "cpu %u: %s: differs from before: %s", i, when,
			    names);
		log_line(DPFLTR_ERROR_LEVEL, line);
	}
	return bad;
}

/* ---- logs ---- */

static char log_text[4096]; /* nonpaged (.bss): root mode copies into it */

/* Moves every CPU's root-mode log records to DbgPrint. */
static void drain_logs(void)
{
	for (unsigned cpu = 0; cpu < mw.cpu_count; cpu++) {
		struct mw_hc_result r;
		for (int rounds = 0; rounds < 64; rounds++) {
			if (!win_hypercall(MW_HC_READ_LOG, (uint64_t)(uintptr_t)log_text,
					   sizeof(log_text), cpu, &r) ||
			    r.status != MW_HC_OK || r.rdx == 0)
				break;
			platform_log(log_text, (size_t)r.rdx);
		}
	}
}

/* ---- virtualize / devirtualize ---- */

static NTSTATUS nt_status_of(enum mw_status s)
{
	switch (s) {
	case MW_OK:
		return STATUS_SUCCESS;
	case MW_ERR_NOT_INTEL:
	case MW_ERR_NO_VMX:
	case MW_ERR_VMX_LOCKED_OFF:
	case MW_ERR_VMX_CAPS:
	case MW_ERR_NO_EPT:
	case MW_ERR_NO_VPID:
	case MW_ERR_CPU_MISMATCH:
	case MW_ERR_TOO_MANY_CPUS:
		return STATUS_NOT_SUPPORTED;
	case MW_ERR_NO_MEMORY:
		return STATUS_INSUFFICIENT_RESOURCES;
	case MW_ERR_ALREADY:
		return STATUS_DEVICE_BUSY;
	case MW_ERR_NOT_VIRTUALIZED:
		return STATUS_DEVICE_NOT_READY;
	default:
		return STATUS_UNSUCCESSFUL;
	}
}

static void record(enum mw_status s, const struct mw_error *e)
{
	char line[192];

	last_status = s;
	if (e)
		last_error = *e;
	else
		mw_error_set(&last_error, s, -1, MW_STEP_NONE, NULL);
	mw_error_format(&last_error, line, sizeof(line));
	log_line(s == MW_OK ? DPFLTR_INFO_LEVEL : DPFLTR_ERROR_LEVEL, line);
}

/* Devirtualizes, retrying a CPU that did not leave; true when none is left
 * virtualized. */
static bool devirtualize(void)
{
	if (!mw.active)
		return true;
	drain_logs();
	for (int tries = 0; tries < 3 && mw.active; tries++)
		record(mw_devirtualize_all(), NULL);
	if (mw.active)
		return false;
	compare_with_before("after devirtualization");
	return true;
}

/* Before the image goes away (a failed DriverEntry or DriverUnload): a CPU
 * still in VMX operation would run root mode from freed code. */
static void must_devirtualize(void)
{
	if (!devirtualize())
		KeBugCheckEx(MW_BUGCHECK_STILL_VIRTUALIZED, mw_virtualized_count(),
			     platform_cpu_count(), (ULONG_PTR)last_status, 0);
}

static NTSTATUS virtualize(void)
{
	struct mw_config cfg;
	struct mw_error err;

	if (!capture_all(&before)) {
		mw_error_set(&err, MW_ERR_NO_MEMORY, -1, MW_STEP_NONE, "processor state capture");
		record(MW_ERR_NO_MEMORY, &err);
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	win_platform_take_fanout_failures();
	mw_config_default(&cfg);
	enum mw_status s = mw_virtualize_all(&cfg, &err);
	/* On success mw_virtualize_all leaves err untouched. */
	record(s, s == MW_OK ? NULL : &err);
	if (s == MW_OK && (win_platform_take_fanout_failures() ||
			   mw_virtualized_count() != platform_cpu_count())) {
		mw_error_set(&err, MW_ERR_VMX_INSTRUCTION, -1, MW_STEP_VMLAUNCH,
			     "%u of %u CPUs virtualized", mw_virtualized_count(),
			     platform_cpu_count());
		record(MW_ERR_VMX_INSTRUCTION, &err);
		s = MW_ERR_VMX_INSTRUCTION;
	}
	if (s == MW_OK && compare_with_before("as the guest")) {
		mw_error_set(&err, MW_ERR_BAD_CONFIG, -1, MW_STEP_VMLAUNCH,
			     "the guest's special registers differ from the CPU's");
		record(MW_ERR_BAD_CONFIG, &err);
		s = MW_ERR_BAD_CONFIG;
	}
	if (s != MW_OK) {
		/* All or nothing: mw_virtualize_all rolls back its own failures;
		 * these checks roll back a launch that looked complete. */
		must_devirtualize();
		return nt_status_of(s);
	}
	drain_logs();
	return STATUS_SUCCESS;
}

/* ---- the device ---- */

/* The DACL "D:P(A;;GA;;;SY)(A;;GA;;;BA)": generic all to SYSTEM and to
 * Administrators, nothing to anyone else, protected from inheritance. What
 * IoCreateDeviceSecure would apply, built with exported Rtl* routines
 * since wdmsec.lib is not available (nt_decls.h). It is set while the
 * device is still initializing, before the symbolic link exists, so no
 * one can open it under the default descriptor. */
static NTSTATUS restrict_to_admins(PDEVICE_OBJECT dev)
{
	SECURITY_DESCRIPTOR sd;
	ULONG acl_buf[64]; /* ULONG-aligned, as an ACL must be */
	PACL acl = (PACL)acl_buf;
	PSID sids[2] = { SeExports->SeLocalSystemSid, SeExports->SeAliasAdminsSid };
	ULONG size = sizeof(ACL);
	HANDLE h;

	for (int i = 0; i < 2; i++)
		size += sizeof(ACCESS_ALLOWED_ACE) - sizeof(ULONG) + RtlLengthSid(sids[i]);
	if (size > sizeof(acl_buf))
		return STATUS_BUFFER_TOO_SMALL;
	NTSTATUS s = RtlCreateSecurityDescriptor(&sd, SECURITY_DESCRIPTOR_REVISION);
	if (NT_SUCCESS(s))
		s = RtlCreateAcl(acl, size, ACL_REVISION);
	for (int i = 0; i < 2 && NT_SUCCESS(s); i++)
		s = RtlAddAccessAllowedAce(acl, ACL_REVISION, GENERIC_ALL, sids[i]);
	if (NT_SUCCESS(s))
		s = RtlSetDaclSecurityDescriptor(&sd, TRUE, acl, FALSE);
	if (!NT_SUCCESS(s))
		return s;
	s = ObOpenObjectByPointer(dev, OBJ_KERNEL_HANDLE, NULL, WRITE_DAC, NULL, KernelMode, &h);
	if (!NT_SUCCESS(s))
		return s;
	s = ZwSetSecurityObject(h, DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
				&sd);
	ZwClose(h);
	return s;
}

static NTSTATUS create_device(PDRIVER_OBJECT drv)
{
	UNICODE_STRING name, link;

	RtlInitUnicodeString(&name, MW_WIN_DEVICE_NAME);
	RtlInitUnicodeString(&link, MW_WIN_DOS_NAME);
	/* FILE_DEVICE_SECURE_OPEN: the DACL also guards opens of names under
	 * the device (\Device\Marrow\anything). */
	NTSTATUS s = IoCreateDevice(drv, 0, &name, MW_WIN_DEVICE_TYPE, FILE_DEVICE_SECURE_OPEN,
				    FALSE, &device);
	if (!NT_SUCCESS(s))
		return s;
	s = restrict_to_admins(device);
	if (NT_SUCCESS(s))
		s = IoCreateSymbolicLink(&link, &name);
	if (!NT_SUCCESS(s)) {
		IoDeleteDevice(device);
		device = NULL;
		return s;
	}
	symlink_made = true;
	device->Flags |= DO_BUFFERED_IO;
	device->Flags &= ~DO_DEVICE_INITIALIZING;
	return STATUS_SUCCESS;
}

static void delete_device(void)
{
	UNICODE_STRING link;

	if (symlink_made) {
		RtlInitUnicodeString(&link, MW_WIN_DOS_NAME);
		IoDeleteSymbolicLink(&link);
		symlink_made = false;
	}
	if (device)
		IoDeleteDevice(device);
	device = NULL;
}

/* ---- IOCTLs ---- */

static NTSTATUS hc_status(const struct mw_hc_result *r)
{
	switch (r->status) {
	case MW_HC_OK:
		return STATUS_SUCCESS;
	case MW_HC_ERR_BAD_ARGUMENT:
		return STATUS_INVALID_PARAMETER;
	case MW_HC_ERR_BUSY:
		return STATUS_DEVICE_BUSY;
	default:
		return STATUS_UNSUCCESSFUL;
	}
}

static void fill_status(struct mw_win_status *st)
{
	struct mw_hc_result r;

	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	st->abi_version = MW_WIN_ABI_VERSION;
	st->active = mw.active;
	st->cpu_count = platform_cpu_count();
	st->virtualized_count = mw.active ? mw_virtualized_count() : 0;
	if (win_hypercall(MW_HC_PING, 0, 0, 0, &r) && r.status == MW_HC_OK &&
	    r.rdx == MW_HC_SIGNATURE)
		st->hc_version = (uint32_t)(r.r8 & 0xffffffffu);
	if (win_hypercall(MW_HC_INFO, 0, 0, 0, &r) && r.status == MW_HC_OK)
		st->features = r.r8;
	st->last_status = (int32_t)last_status;
	st->last_error_cpu = last_error.cpu;
	st->last_error_step = (uint32_t)last_error.step;
	st->last_vm_error = last_error.vm_error;
	mw_error_format(&last_error, st->last_error, sizeof(st->last_error));
	st->kernel_base = ntos.kernel.image_base;
	st->kernel_size = ntos.kernel.image_size;
	if (ntos.ssdt_status == WIN_SSDT_OK) {
		st->ssdt_services = ntos.ssdt.count;
		st->ssdt_table = ntos.ssdt.runtime_base + ntos.ssdt.table_rva;
	}
}

static NTSTATUS ioctl(ULONG code, void *buf, ULONG out_len, ULONG_PTR *info)
{
	const struct mw_win_cpu_request *req = buf;
	struct mw_hc_result r;

	switch (code) {
	case MW_IOCTL_STATUS:
		fill_status(buf);
		*info = sizeof(struct mw_win_status);
		return STATUS_SUCCESS;
	case MW_IOCTL_STATS:
		if (req->cpu >= mw.cpu_count)
			return mw.active ? STATUS_INVALID_PARAMETER : STATUS_DEVICE_NOT_READY;
		/* The system buffer is nonpaged: root mode copies into it
		 * through the guest's page tables. */
		if (!win_hypercall(MW_HC_STATS, (uint64_t)(uintptr_t)buf,
				   sizeof(struct mw_cpu_stats), req->cpu, &r))
			return STATUS_DEVICE_NOT_READY;
		*info = r.status == MW_HC_OK ? (ULONG_PTR)r.rdx : 0;
		return hc_status(&r);
	case MW_IOCTL_LOG: {
		struct mw_win_log_reply *reply = buf;
		uint32_t cpu = req->cpu;
		if (cpu >= mw.cpu_count)
			return mw.active ? STATUS_INVALID_PARAMETER : STATUS_DEVICE_NOT_READY;
		if (!win_hypercall(MW_HC_READ_LOG, (uint64_t)(uintptr_t)(reply + 1),
				   win_log_text_size(out_len), cpu, &r))
			return STATUS_DEVICE_NOT_READY;
		if (r.status != MW_HC_OK)
			return hc_status(&r);
		reply->bytes = r.rdx;
		reply->dropped = r.r8;
		*info = sizeof(*reply) + (ULONG_PTR)r.rdx;
		return STATUS_SUCCESS;
	}
	case MW_IOCTL_UNLOAD:
		if (!mw.active)
			return STATUS_DEVICE_NOT_READY;
		return devirtualize() ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL;
	}
	return STATUS_INVALID_DEVICE_REQUEST;
}

static NTSTATUS dispatch_ioctl(PDEVICE_OBJECT dev, PIRP irp)
{
	PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(irp);
	ULONG code = sp->Parameters.DeviceIoControl.IoControlCode;
	ULONG in_len = sp->Parameters.DeviceIoControl.InputBufferLength;
	ULONG out_len = sp->Parameters.DeviceIoControl.OutputBufferLength;
	ULONG_PTR info = 0;
	NTSTATUS s;

	(void)dev;
	switch (win_ioctl_check(code, in_len, out_len)) {
	case WIN_IOCTL_OK:
		KeWaitForSingleObject(&lock, Executive, KernelMode, FALSE, NULL);
		s = ioctl(code, irp->AssociatedIrp.SystemBuffer, out_len, &info);
		KeReleaseMutex(&lock, FALSE);
		break;
	case WIN_IOCTL_UNKNOWN:
		s = STATUS_INVALID_DEVICE_REQUEST;
		break;
	default:
		s = STATUS_BUFFER_TOO_SMALL;
		break;
	}
	irp->IoStatus.Status = s;
	irp->IoStatus.Information = info;
	IoCompleteRequest(irp, IO_NO_INCREMENT);
	return s;
}

static NTSTATUS dispatch_create_close(PDEVICE_OBJECT dev, PIRP irp)
{
	(void)dev;
	irp->IoStatus.Status = STATUS_SUCCESS;
	irp->IoStatus.Information = 0;
	IoCompleteRequest(irp, IO_NO_INCREMENT);
	return STATUS_SUCCESS;
}

/* ---- load and unload ---- */

static VOID driver_unload(PDRIVER_OBJECT drv)
{
	(void)drv;
	KeWaitForSingleObject(&lock, Executive, KernelMode, FALSE, NULL);
	delete_device();
	must_devirtualize();
	KeReleaseMutex(&lock, FALSE);
	log_line(DPFLTR_INFO_LEVEL, "unloaded");
}

NTSTATUS DriverEntry(PDRIVER_OBJECT drv, PUNICODE_STRING registry_path)
{
	(void)registry_path;
	KeInitializeMutex(&lock, 0);
	mw_error_set(&last_error, MW_ERR_NOT_VIRTUALIZED, -1, MW_STEP_NONE, NULL);
	last_status = MW_ERR_NOT_VIRTUALIZED;

	NTSTATUS s = win_platform_init();
	if (!NT_SUCCESS(s)) {
		log_line(DPFLTR_ERROR_LEVEL, "no physical memory map");
		return s;
	}
	/* Informational until syscall hooks need it (issue 5). */
	if (!NT_SUCCESS(win_ntos_find(&ntos)))
		log_line(DPFLTR_WARNING_LEVEL, "kernel image not found");

	drv->MajorFunction[IRP_MJ_CREATE] = dispatch_create_close;
	drv->MajorFunction[IRP_MJ_CLOSE] = dispatch_create_close;
	drv->MajorFunction[IRP_MJ_DEVICE_CONTROL] = dispatch_ioctl;
	drv->DriverUnload = driver_unload;
	s = create_device(drv);
	if (!NT_SUCCESS(s)) {
		log_line(DPFLTR_ERROR_LEVEL, "cannot create \\Device\\Marrow");
		return s;
	}
	KeWaitForSingleObject(&lock, Executive, KernelMode, FALSE, NULL);
	s = virtualize();
	KeReleaseMutex(&lock, FALSE);
	if (!NT_SUCCESS(s)) {
		/* A failed DriverEntry is not unloaded through DriverUnload. */
		delete_device();
		return s;
	}
	return STATUS_SUCCESS;
}
