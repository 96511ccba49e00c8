#!/usr/bin/env bash
# linux-initramfs.sh INIT OUT [FILE...]: the gzip'd cpio initramfs both Linux
# layers boot (scripts/linux-iso.sh for marrow.ko, docs/boot.md for Linux as
# marrow's boot-time guest): Debian's busybox-static as every command (one
# link per applet in /bin), INIT (a busybox shell script) as /init, a
# minimal /etc/passwd and /etc/group, and each FILE: a kernel module (*.ko)
# at /, anything else (static programs) in /bin.
set -euo pipefail
init=$1 out=$2
shift 2
busybox=/bin/busybox
[ -x "$busybox" ] && ! readelf -l "$busybox" | grep -q INTERP ||
	{ echo "initramfs: $busybox is missing or not static (install busybox-static)" >&2; exit 1; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
# mktemp -d makes it 0700; it becomes /, which every user must traverse
# (the marrow.ko scenario runs marrowctl as nobody).
chmod 755 "$root"
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,etc,root}
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
	[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
for f in "$@"; do
	case $f in
	*.ko) cp "$f" "$root/" ;;
	*) cp "$f" "$root/bin/" ;;
	esac
done
cp "$init" "$root/init"
chmod 755 "$root/init"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
# The kernel opens /dev/console for init before anything is mounted.
mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true
mkdir -p "$(dirname "$out")"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
