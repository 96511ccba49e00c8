#!/usr/bin/env bash
# linux-image.sh BUILD: puts Debian's kernel image, the package matching
# the installed linux-headers-amd64 (scripts/linux-kver.sh), at
# BUILD/linux/image/vmlinuz. The package is downloaded with apt-get and
# unpacked there, never installed: the machine's own /boot is untouched.
# Cached: nothing is fetched while the version is the same.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
pkg=$(bash scripts/linux-kver.sh image)
version=$(bash scripts/linux-kver.sh version)
release=$(bash scripts/linux-kver.sh release)
dir=$(realpath -m "$build/linux/image")
stamp="$pkg=$version"

if [ -f "$dir/vmlinuz" ] && [ "$(cat "$dir/stamp" 2>/dev/null)" = "$stamp" ]; then
	exit 0
fi
rm -rf "$dir"
mkdir -p "$dir/deb"
echo "  FETCH   $stamp"
# apt-get download writes into the current directory; as root it warns
# that the _apt user cannot write there, which is harmless.
if ! (cd "$dir/deb" && apt-get download -qq "$stamp" 2>"$dir/apt.log"); then
	cat "$dir/apt.log" >&2
	echo "linux-image: cannot download $stamp; the archive may have moved on:" \
		"'apt-get update && apt-get install linux-headers-amd64' brings both to its current version" >&2
	exit 1
fi
deb=$(ls "$dir"/deb/*.deb)
# Only the kernel and its config: the modules (hundreds of MiB) are not
# needed, the test's initramfs has busybox and marrow.ko only. (Debian's
# System.map is a stub; symbols are in the guest's /proc/kallsyms.)
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir" "./boot/vmlinuz-$release" "./boot/config-$release"
mv "$dir/boot/vmlinuz-$release" "$dir/vmlinuz"
mv "$dir/boot/config-$release" "$dir/config"
rm -rf "$dir/deb" "$dir/boot" "$dir/apt.log"
echo "$stamp" >"$dir/stamp"
