#!/usr/bin/env bash
# linux-iso.sh BUILD INIT OUT.iso [FILE...]: a GRUB ISO that boots Debian's
# kernel (scripts/linux-image.sh) with an initramfs (scripts/linux-initramfs.sh)
# of busybox-static, BUILD/linux/marrow.ko, the FILEs given (into /bin) and
# INIT as /init.
# The kernel's console is COM1 (ttyS0); arguments for /init come from
# MARROW_LINUX_CMDLINE.
set -euo pipefail
cd "$(dirname "$0")/.."
build=$1 init=$2 out=$3
shift 3
vmlinuz=$build/linux/image/vmlinuz
[ -f "$vmlinuz" ] || { echo "linux-iso: $vmlinuz is missing (scripts/linux-image.sh)" >&2; exit 1; }
[ -f "$build/linux/marrow.ko" ] || { echo "linux-iso: $build/linux/marrow.ko is missing (make linux)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/iso/boot/grub"
bash scripts/linux-initramfs.sh "$init" "$tmp/iso/boot/initrd.gz" "$build/linux/marrow.ko" "$@"
cp "$vmlinuz" "$tmp/iso/boot/vmlinuz"

# panic=-1 reboot=t: a panic ends the run at once (a triple fault, which
# Bochs reports and exits on) instead of hanging until the timeout.
cmdline="console=ttyS0,115200 panic=-1 reboot=t ${MARROW_LINUX_CMDLINE:-}"
cat >"$tmp/iso/boot/grub/grub.cfg" <<CFG
set timeout=0
set default=0
serial --unit=0 --speed=115200
terminal_output serial
menuentry "Debian Linux with marrow" {
	linux /boot/vmlinuz $cmdline
	initrd /boot/initrd.gz
}
CFG
mkdir -p "$(dirname "$out")"
grub-mkrescue -o "$out" "$tmp/iso" >"$tmp/grub.log" 2>&1 || {
	cat "$tmp/grub.log" >&2
	echo "linux-iso: grub-mkrescue failed" >&2
	exit 1
}
