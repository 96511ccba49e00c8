#!/usr/bin/env bash
# uefi-linux.sh OUTDIR: Debian's own kernel (linux-image-amd64's image, its
# EFI stub) and a busybox-static initramfs for the UEFI end-to-end test,
# cached in OUTDIR: vmlinuz, initrd.img. The kernel package is fetched with
# apt-get download and unpacked with dpkg -x, never installed.
set -euo pipefail
out=$1
mkdir -p "$out"
out=$(cd "$out" && pwd)

if [ ! -s "$out/vmlinuz" ]; then
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
	if [ -z "$pkg" ]; then
		apt-get update -qq >/dev/null
		pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
	fi
	[ -n "$pkg" ] || { echo "uefi-linux: cannot resolve linux-image-amd64" >&2; exit 1; }
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	(cd "$tmp" && apt-get download -qq "$pkg" >/dev/null)
	dpkg -x "$tmp"/"$pkg"_*.deb "$tmp/x"
	cp "$tmp"/x/boot/vmlinuz-* "$out/vmlinuz.tmp"
	mv "$out/vmlinuz.tmp" "$out/vmlinuz"
	echo "$pkg" >"$out/kernel-package"
fi

# The initramfs: busybox and an /init that reports what the test checks,
# then powers off (Bochs exits).
root=$(mktemp -d)
trap 'rm -rf "$root" ${tmp:-}' EXIT
mkdir -p "$root"/{bin,proc,sys,dev}
cp /bin/busybox "$root/bin/busybox"
for t in sh mount cat grep nproc echo poweroff sleep wc mknod dd printf; do ln -s busybox "$root/bin/$t"; done
cat >"$root/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
echo "init: reached /init"
echo "init: nproc $(nproc)"
echo "init: vmx flags $(grep -c -w vmx /proc/cpuinfo)"
echo "init: hypervisor flags $(grep -c -w hypervisor /proc/cpuinfo)"
echo "marrow: run complete"
# Ends Bochs: "Shutdown" written to its port 0x8900, a byte at a time
# (OVMF's ACPI tables give Linux no power-off here).
mknod /dev/port c 1 4
for c in S h u t d o w n; do
	printf "$c" | dd of=/dev/port bs=1 seek=35072 count=1 conv=notrunc 2>/dev/null
done
poweroff -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1 >"$out/initrd.img.tmp")
mv "$out/initrd.img.tmp" "$out/initrd.img"
