#!/usr/bin/env bash
# make lint: clang-format (the repo's .clang-format) and cppcheck over every
# tracked C file, warnings as errors.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t files < <(git ls-files -co --exclude-standard '*.c' '*.h' | grep -v '^build/' | while read -r f; do [ -f "$f" ] && echo "$f"; done)
[ ${#files[@]} -gt 0 ] || { echo "lint: no C files"; exit 0; }

status=0
if ! clang-format --dry-run --Werror "${files[@]}" 2>build-lint-format.txt; then
	echo "lint: clang-format: these files need 'make format':"
	grep -oE '^[^:]+\.(c|h)' build-lint-format.txt | sort -u | sed 's/^/  /'
	status=1
fi
rm -f build-lint-format.txt

# Each platform sees its own headers; cppcheck checks the portable C.
mapfile -t cfiles < <(printf '%s\n' "${files[@]}" | grep '\.c$' | grep -v '^src/platform/linux/' | grep -v '^src/platform/windows/' | grep -v '^src/platform/uefi/')
if ! cppcheck --quiet --error-exitcode=1 --enable=warning,style,performance,portability \
	--std=c11 --inline-suppr --suppress=missingIncludeSystem --suppress=unusedFunction \
	--suppress=unmatchedSuppression \
	-I . -I src -D__x86_64__ -D__GNUC__ "${cfiles[@]}"; then
	status=1
fi
[ $status -eq 0 ] && echo "lint: clean (${#files[@]} files)"
exit $status
