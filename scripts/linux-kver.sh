#!/usr/bin/env bash
# linux-kver.sh [dir|release|image|version]: the Linux kernel marrow.ko is
# built against and tested with, from the installed linux-headers-amd64
# (scripts/deps.sh installs it):
#   dir      /usr/src/linux-headers-RELEASE (the default)
#   release  RELEASE, e.g. 6.1.0-56-amd64
#   image    the matching image package, linux-image-RELEASE
#   version  the Debian version both packages share, e.g. 6.1.192-2
set -euo pipefail
what=${1:-dir}
version=$(dpkg-query -W -f='${Version}' linux-headers-amd64 2>/dev/null) || {
	echo "linux-kver: linux-headers-amd64 is not installed (run 'make deps' as root)" >&2
	exit 1
}
release=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 |
	grep -o 'linux-headers-[0-9][^ ,]*-amd64' | head -n1 | sed 's/^linux-headers-//')
if [ -z "$release" ] || [ ! -d "/usr/src/linux-headers-$release" ]; then
	echo "linux-kver: linux-headers-amd64 $version names no installed headers directory" >&2
	exit 1
fi
case $what in
dir) echo "/usr/src/linux-headers-$release" ;;
release) echo "$release" ;;
image) echo "linux-image-$release" ;;
version) echo "$version" ;;
*)
	echo "linux-kver: unknown query '$what' (dir, release, image, version)" >&2
	exit 2
	;;
esac
