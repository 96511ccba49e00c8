"""UEFI end to end, in Bochs with Debian's OVMF (docs/uefi.md).

1. guest: a FAT disk whose startup.nsh first gives marrowldr.efi two bad
   command lines (no loader; a loader that does not exist), each of which
   must be refused with nothing changed, then loads marrow.efi as a driver
   (`load`; its options from marrow.cfg) and runs marrowtest.efi, which
   checks marrow from the guest and prints TAP, ending with marrow leaving
   every CPU; then marrowldr.efi virtualizes again and starts marrowtest.efi
   as its loader (`seal`), which ends boot services and checks that marrow
   hid its memory (the seal, docs/uefi.md) and prints the TAP plan.
2. linux: marrowldr.efi boots Debian's kernel (its EFI stub) with a
   busybox initramfs whose /init reports the CPU count and VMX flags. A
   test fixture first installs the MADT that OVMF in Bochs lacks.

OVMF reads MSRs Bochs lacks (IA32_PLATFORM_ID), so these runs keep Bochs'
ignore_bad_msrs default.
"""

import os
import re
import shutil
import subprocess

import bochs

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KEY = "6b65792d75656669"
# marrowldr.efi's key in the seal part: another than marrow.efi's, so that
# the copy of it the test finds in runtime memory is marrowldr.efi's.
SEAL_KEY = "5365616c2d6b6579"
ANSI = re.compile(r"\x1b\[[0-9;=?]*[a-zA-Z]")


def _fat(path, files, size_mib):
    """A FAT volume without a partition table (OVMF mounts it as FS0:)."""
    if os.path.exists(path):
        os.unlink(path)
    with open(path, "wb") as f:
        f.truncate(size_mib << 20)
    subprocess.run(["mformat", "-i", path, "::"], check=True)
    for name, src in files.items():
        subprocess.run(["mcopy", "-i", path, src, "::/" + name], check=True)
    return path


def _text(path, content):
    with open(path, "w", newline="") as f:
        f.write(content.replace("\n", "\r\n"))
    return path


def guest_disk(build):
    d = os.path.join(build, "test", "uefi")
    os.makedirs(d, exist_ok=True)
    efi = os.path.join(build, "uefi")
    nsh = _text(os.path.join(d, "startup.nsh"),
                "fs0:\n"
                "marrowldr.efi\n"
                "marrowldr.efi \\no\\such\\loader.efi\n"
                "load marrow.efi\n"
                f"marrowtest.efi key={KEY} more\n"
                f"marrowldr.efi key={SEAL_KEY} \\marrowtest.efi key={SEAL_KEY} seal\n")
    cfg = _text(os.path.join(d, "marrow.cfg"), f"key={KEY}\n")
    return _fat(os.path.join(d, "guest.img"),
                {"marrow.efi": os.path.join(efi, "marrow.efi"),
                 "marrowldr.efi": os.path.join(efi, "marrowldr.efi"),
                 "marrowtest.efi": os.path.join(efi, "marrowtest.efi"),
                 "marrow.cfg": cfg, "startup.nsh": nsh}, 16)


def linux_disk(build):
    d = os.path.join(build, "test", "uefi")
    os.makedirs(d, exist_ok=True)
    cache = os.path.join(build, "linux-efi")
    subprocess.run(["bash", os.path.join(ROOT, "scripts/uefi-linux.sh"), cache], check=True)
    # madt.efi: OVMF in Bochs installs no ACPI tables; without a MADT the
    # kernel would start one CPU only (tests/uefi/fixture/madt.c).
    nsh = _text(os.path.join(d, "linux.nsh"),
                "fs0:\n"
                "madt.efi\n"
                "marrowldr.efi \\vmlinuz initrd=\\initrd.img console=ttyS0\n")
    return _fat(os.path.join(d, "linux.img"),
                {"marrowldr.efi": os.path.join(build, "uefi", "marrowldr.efi"),
                 "madt.efi": os.path.join(build, "uefi", "madt.efi"),
                 "vmlinuz": os.path.join(cache, "vmlinuz"),
                 "initrd.img": os.path.join(cache, "initrd.img"),
                 "startup.nsh": nsh}, 24)


def boot(build, disk, model, cpus, tag, timeout, memory=128):
    # Each run gets its own copy of the disk: Bochs locks an image it has
    # open, so two runs at a time cannot share one.
    workdir = os.path.join(build, "test", "uefi", tag)
    os.makedirs(workdir, exist_ok=True)
    own = os.path.join(workdir, os.path.basename(disk))
    shutil.copyfile(disk, own)
    cfg = bochs.Config(iso="", disk=own, model=model, cpus=cpus, memory=memory,
                       timeout=timeout, rom=bochs.OVMF, ignore_bad_msrs=True,
                       workdir=workdir)
    r = bochs.run(cfg)
    r.serial = ANSI.sub("", r.serial)
    return r
