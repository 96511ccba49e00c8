#!/usr/bin/env bash
# linux-initramfs.sh INIT OUT [PROGRAM...]: a gzip'd cpio initramfs with
# Debian's busybox-static as every command, INIT (a busybox shell script) as
# /init, and each PROGRAM (static) in /bin.
set -euo pipefail
init=$1 out=$2
shift 2
busybox=/bin/busybox
[ -x "$busybox" ] && ! readelf -l "$busybox" | grep -q INTERP ||
	{ echo "initramfs: $busybox is missing or not static (install busybox-static)" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir"/{bin,dev,proc,sys,tmp}
cp "$busybox" "$dir/bin/busybox"
ln -s busybox "$dir/bin/sh"
cp "$init" "$dir/init"
for p in "$@"; do
	cp "$p" "$dir/bin/"
done
chmod 755 "$dir/init"
# The kernel opens /dev/console for init before anything is mounted.
mknod -m 600 "$dir/dev/console" c 5 1
mkdir -p "$(dirname "$out")"
(cd "$dir" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -9 >"$out.tmp"
mv "$out.tmp" "$out"
