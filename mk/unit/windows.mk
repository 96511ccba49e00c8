# The Windows driver's pure logic: the PE parser and pattern scanner (in the
# core, portable) and the Windows layer's functions that make no NT call.
UNIT_LIB_SRCS += src/core/pe.c src/core/pattern.c
UNIT_LIB_SRCS += src/platform/windows/win_fanout.c src/platform/windows/win_memmap.c
UNIT_LIB_SRCS += src/platform/windows/win_modules.c src/platform/windows/win_ssdt.c
UNIT_LIB_SRCS += src/platform/windows/win_state.c src/platform/windows/win_ioctl.c
UNIT_LIB_SRCS += tools/marrowctl/win/format.c

# The PE tests read real images: the driver and tool this build makes, its
# fixtures (tests/e2e/windows/fixtures), and Debian's own PE files from
# gcc-mingw-w64-x86-64 and grub-efi-amd64-bin (scripts/deps.sh).
WIN_TEST_IMAGES := $(BUILD)/windows/marrow.sys $(BUILD)/windows/marrowctl.exe \
	$(BUILD)/windows/fixtures/fake_ntoskrnl.exe $(BUILD)/windows/fixtures/fake_ntoskrnl_twice.exe
$(BUILD)/unit/test_pe $(BUILD)/unit/test_pe_scan: | $(WIN_TEST_IMAGES)
$(BUILD)/unit/test_pe $(BUILD)/unit/test_pe_scan: UNIT_CFLAGS += -DMW_TEST_BUILD_DIR='"$(abspath $(BUILD))"'
$(BUILD)/unit/test_win_platform: UNIT_LIBS += -pthread
