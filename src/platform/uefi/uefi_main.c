/* marrow on UEFI, running from its resident copy: as a driver (`load
 * marrow.efi`, a Driver#### entry) it virtualizes every CPU and stays; as
 * the application marrowldr.efi it first loads the boot loader named on
 * its command line, then virtualizes, then starts that loader, which boots
 * the OS under marrow (docs/uefi.md). */
#include <efi.h>
#include <efilib.h>

#include "core/marrow.h"
#include "efi_protocols.h"
#include "uefi_args.h"
#include "uefi_chain.h"
#include "uefi_config.h"
#include "uefi_main.h"
#include "uefi_owned.h"
#include "uefi_platform.h"
#include "uefi_seal.h"

struct uefi_state uefi;

static bool started_by_shell(EFI_HANDLE image)
{
	void *params;
	return !EFI_ERROR(uefi.bs->HandleProtocol(image, &ShellParametersProtocolGuid, &params));
}

/* The command line, or marrow.cfg when it is empty (the shell's `load`
 * passes none). */
static bool parse_arguments(const EFI_LOADED_IMAGE *loaded, struct uefi_args *args)
{
	static CHAR16 cfg[512];

	if (!uefi_args_parse(loaded->LoadOptions, loaded->LoadOptionsSize / sizeof(CHAR16),
			     started_by_shell(uefi.image), args)) {
		uefi_printf("marrow: bad arguments: %s\n", args->error);
		return false;
	}
	if (args->path[0] || args->have_key || args->serial_port != UEFI_ARGS_DEFAULT_SERIAL ||
	    !uefi_config_read(loaded, cfg, 512))
		return true;
	if (!uefi_args_parse(cfg, 512, false, args)) {
		uefi_printf("marrow: bad options in marrow.cfg: %s\n", args->error);
		return false;
	}
	return true;
}

/* Everything the core needs from the firmware, gathered while boot
 * services run. */
static EFI_STATUS prepare_platform(void)
{
	EFI_STATUS s;

	s = uefi_cpus_init();
	if (EFI_ERROR(s)) {
		uefi_printf("marrow: the CPUs cannot be listed (status 0x%llx)\n",
			    (unsigned long long)s);
		return s;
	}
	s = uefi_memory_init();
	if (EFI_ERROR(s)) {
		uefi_printf("marrow: the memory map cannot be read (status 0x%llx)\n",
			    (unsigned long long)s);
		return s;
	}
	s = uefi_host_init();
	if (EFI_ERROR(s)) {
		uefi_printf("marrow: no memory for the host page table\n");
		return s;
	}
	s = uefi_extable_install();
	if (EFI_ERROR(s))
		uefi_printf("marrow: note: no fault handler for safe MSR reads (status 0x%llx)\n",
			    (unsigned long long)s);
	return EFI_SUCCESS;
}

/* Every page marrow allocated goes back; the resident copy is freed by
 * efi_main once this code has returned. */
static void release_platform(void)
{
	const struct uefi_owned *o = uefi_owned_ranges();
	uefi_extable_remove();
	uefi_owned_forget_self();
	/* Backwards: uefi_free_owned removes entries as it goes. */
	while (o->count)
		uefi_free_owned((void *)(uintptr_t)o->r[o->count - 1].base,
				o->r[o->count - 1].pages);
}

static EFI_STATUS virtualize(const struct uefi_args *args)
{
	struct mw_config cfg;
	struct mw_error err;

	mw_config_default(&cfg);
	if (args->have_key)
		cfg.hypercall_key = args->key;
	cfg.debug_port = args->serial_port;
	cfg.host_pt_source = uefi.identity_pml4_pa;
	/* The firmware wakes APs with INIT-SIPI-SIPI, and so does the OS. */
	cfg.emulate_init = uefi.cpu_count > 1;
	enum mw_status s = mw_virtualize_all(&cfg, &err);
	mw_drain_logs();
	if (s != MW_OK) {
		char msg[256];
		mw_error_format(&err, msg, sizeof(msg));
		uefi_printf("marrow: not loaded: %s\n", msg);
		return EFI_UNSUPPORTED;
	}
	/* Unprotected is not an option: without the seal marrow leaves. */
	if (EFI_ERROR(uefi_seal_arm())) {
		uefi_printf(
			"marrow: not loaded: its memory cannot be hidden at ExitBootServices\n");
		uefi_seal_disarm();
		mw_devirtualize_all();
		return EFI_UNSUPPORTED;
	}
	uefi_printf("marrow: %u of %u CPUs virtualized; %llu KiB of memory kept from the OS, "
		    "hidden from it at ExitBootServices\n",
		    mw_virtualized_count(), platform_cpu_count(),
		    (unsigned long long)uefi_owned_pages(uefi_owned_ranges()) * 4);
	return EFI_SUCCESS;
}

EFI_STATUS uefi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st, UINT64 self, UINTN self_pages)
{
	EFI_LOADED_IMAGE *loaded;
	static struct uefi_args args;
	struct uefi_chain next = { 0 };
	EFI_STATUS s;

	InitializeLib(image, st);
	uefi.image = image;
	uefi.st = st;
	uefi.bs = st->BootServices;
	/* The resident copy is marrow's too: it holds root mode's code. */
	uefi_owned_set_self(self, self_pages);
	if (EFI_ERROR(uefi.bs->HandleProtocol(image, &LoadedImageProtocol, (void **)&loaded)))
		return EFI_LOAD_ERROR;
	if (!parse_arguments(loaded, &args))
		return EFI_INVALID_PARAMETER;
	bool application = loaded->ImageCodeType == EfiLoaderCode;
	if (application && !args.path[0]) {
		uefi_printf("marrow: usage: marrowldr.efi [key=HEX] [serial=PORT|off] "
			    "LOADER [ARGUMENTS]\n"
			    "marrow: nothing was changed (no loader given)\n");
		return EFI_INVALID_PARAMETER;
	}
	if (args.path[0]) {
		s = uefi_chain_load(loaded, args.path, args.rest, &next);
		if (EFI_ERROR(s))
			return s; /* the reason is printed; nothing was changed */
	}

	s = prepare_platform();
	if (!EFI_ERROR(s))
		s = virtualize(&args);
	if (EFI_ERROR(s)) {
		release_platform();
		uefi_chain_unload(&next);
		return s;
	}
	uefi_extable_remove(); /* the firmware's exceptions are its own again */
	if (!args.path[0])
		return EFI_SUCCESS;

	s = uefi_chain_start(&next);
	/* The loader came back (an error, or a loader that returns): leave
	 * the machine as it was. */
	char name[128];
	uefi_ascii(args.path, name, sizeof(name));
	uefi_printf("marrow: %s returned (status 0x%llx); devirtualizing\n", name,
		    (unsigned long long)s);
	uefi_seal_disarm();
	if (mw_devirtualize_all() == MW_OK) {
		release_platform();
		return EFI_ERROR(s) ? s : EFI_ABORTED;
	}
	uefi_printf("marrow: could not devirtualize every CPU; marrow stays\n");
	return EFI_SUCCESS;
}
