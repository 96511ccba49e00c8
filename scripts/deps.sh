#!/usr/bin/env bash
# Installs the Debian packages marrow needs: idempotent, non-interactive,
# silent when everything is already there. Run by every make target.
set -euo pipefail

packages=(
	make gcc binutils python3 util-linux
	bochs bochs-term bochsbios vgabios
	grub-pc-bin grub-common xorriso mtools
	libcmocka-dev pkg-config
	clang-format cppcheck
	gcc-mingw-w64-x86-64 grub-efi-amd64-bin
	gnu-efi ovmf linux-headers-amd64 busybox-static cpio
	# Host fuzzing (mk/fuzz.mk): clang with libFuzzer and the sanitizer
	# runtimes, llvm-cov/llvm-profdata, and libLLVM's disassembler.
	clang-14 libclang-rt-14-dev llvm-14 llvm-14-dev
)
# The Linux layer also needs Debian's kernel image, linux-image-amd64's
# kernel at the headers' version; it is downloaded and unpacked into
# build/ by scripts/linux-image.sh, never installed.

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages and not root; run 'make deps' as root" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: installed"
