#!/usr/bin/env bash
# mkiso.sh KERNEL "ARGS" OUT.iso: a GRUB rescue ISO that boots KERNEL with
# multiboot2. ARGS is the guest-test selection ("" boots the demo); anything
# else on the command line comes from MARROW_CMDLINE.
set -euo pipefail
kernel=$1 tests=$2 out=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/boot/grub"
cp "$kernel" "$dir/boot/marrow.elf"
cmdline=${MARROW_CMDLINE:-}
[ -n "$tests" ] && cmdline="tests=$tests $cmdline"
cat >"$dir/boot/grub/grub.cfg" <<CFG
set timeout=0
set default=0
menuentry "marrow" {
	multiboot2 /boot/marrow.elf $cmdline
	boot
}
CFG
mkdir -p "$(dirname "$out")"
grub-mkrescue -o "$out" "$dir" >/dev/null 2>&1 || {
	echo "mkiso: grub-mkrescue failed" >&2
	grub-mkrescue -o "$out" "$dir"
	exit 1
}
