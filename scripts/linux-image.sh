#!/usr/bin/env bash
# linux-image.sh DIR: Debian's own Linux kernel, the image the package
# linux-image-amd64 depends on, fetched once with `apt-get download` and
# unpacked with `dpkg -x` (never installed): DIR/vmlinuz is the bzImage,
# DIR/version its package version. Later runs use the copy in DIR, so tests
# run offline once it is there.
set -euo pipefail
dir=$1
if [ -s "$dir/vmlinuz" ] && [ -s "$dir/version" ]; then
	exit 0
fi
mkdir -p "$dir"
work=$(mktemp -d "$dir/fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
image_package() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/ { print $2; exit }'
}
pkg=$(image_package)
if [ -z "$pkg" ]; then
	apt-get update -qq >/dev/null
	pkg=$(image_package)
fi
[ -n "$pkg" ] || { echo "linux-image: no linux-image-amd64 in the apt lists" >&2; exit 1; }
echo "linux-image: fetching $pkg"
(cd "$work" && apt-get download -qq "$pkg" >/dev/null 2>&1) ||
	{ echo "linux-image: apt-get download $pkg failed" >&2; exit 1; }
dpkg -x "$work"/"$pkg"_*.deb "$work/root"
cp "$work"/root/boot/vmlinuz-* "$dir/vmlinuz.tmp"
mv "$dir/vmlinuz.tmp" "$dir/vmlinuz"
dpkg-deb --showformat='${Package} ${Version}\n' -W "$work"/"$pkg"_*.deb >"$dir/version"
echo "linux-image: $(cat "$dir/version")"
