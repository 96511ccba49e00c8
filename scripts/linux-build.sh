#!/usr/bin/env bash
# linux-build.sh BUILD: builds marrow.ko against the kernel headers of
# linux-headers-amd64 (scripts/linux-kver.sh) into BUILD/linux/marrow.ko.
#
# Kbuild writes its objects next to the sources it compiles, so it works
# on BUILD/linux/module: a mirror of src/ and include/ made of symlinks,
# with src/platform/linux/Kbuild as its Kbuild file.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
kdir=$(bash scripts/linux-kver.sh dir)
mod=$(realpath -m "$build/linux/module")

mkdir -p "$mod"
for d in src include; do
	mkdir -p "$mod/$d"
	cp -as --remove-destination "$PWD/$d/." "$mod/$d/"
done
# Sources removed since the last build must not linger as broken links.
find "$mod" -xtype l -delete
ln -sfn "$PWD/src/platform/linux/Kbuild" "$mod/Kbuild"

log=$mod/build.log
if ! make -C "$kdir" M="$mod" modules >"$log" 2>&1; then
	cat "$log" >&2
	echo "linux-build: building marrow.ko against $kdir failed" >&2
	exit 1
fi
# The kernel's own flags, warnings as errors: any compiler or objtool
# warning fails the build (the BTF notice is not a warning).
if grep -E 'warning:|error:|objtool' "$log" | grep -v 'Skipping BTF generation' >&2; then
	echo "linux-build: marrow.ko built with warnings (full log: $log)" >&2
	exit 1
fi
cp "$mod/marrow.ko" "$build/linux/marrow.ko"
echo "  KO      $build/linux/marrow.ko ($(bash scripts/linux-kver.sh release))"
