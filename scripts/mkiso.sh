#!/usr/bin/env bash
# mkiso.sh KERNEL "ARGS" OUT.iso: a GRUB rescue ISO that boots KERNEL with
# multiboot2. ARGS is the guest-test selection ("" boots the demo); anything
# else on the command line comes from MARROW_CMDLINE.
#
# Loader mode (docs/boot.md): with MARROW_GUEST=FILE, KERNEL starts with
# "load" and FILE is its first module, the kernel marrow boots as its guest,
# with MARROW_GUEST_ARGS as its command line; MARROW_GUEST_MODULES lists
# more modules (paths separated by spaces: a Linux kernel's initrd, a
# multiboot kernel's modules), each given its file name as command line.
set -euo pipefail
kernel=$1 tests=$2 out=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/boot/grub"
cp "$kernel" "$dir/boot/marrow.elf"
cmdline=${MARROW_CMDLINE:-}
[ -n "$tests" ] && cmdline="tests=$tests $cmdline"
modules=""
if [ -n "${MARROW_GUEST:-}" ]; then
	[ -f "$MARROW_GUEST" ] || { echo "mkiso: guest kernel $MARROW_GUEST: no such file" >&2; exit 1; }
	cmdline="load $cmdline"
	cp "$MARROW_GUEST" "$dir/boot/guest"
	modules="	module2 /boot/guest ${MARROW_GUEST_ARGS:-}"
	n=0
	for m in ${MARROW_GUEST_MODULES:-}; do
		[ -f "$m" ] || { echo "mkiso: module $m: no such file" >&2; exit 1; }
		n=$((n + 1))
		cp "$m" "$dir/boot/module$n"
		modules="$modules
	module2 /boot/module$n $(basename "$m")"
	done
fi
cat >"$dir/boot/grub/grub.cfg" <<CFG
set timeout=0
set default=0
menuentry "marrow" {
	multiboot2 /boot/marrow.elf $cmdline
$modules
	boot
}
CFG
mkdir -p "$(dirname "$out")"
grub-mkrescue -o "$out" "$dir" >/dev/null 2>&1 || {
	echo "mkiso: grub-mkrescue failed" >&2
	grub-mkrescue -o "$out" "$dir"
	exit 1
}
