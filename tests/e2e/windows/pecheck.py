"""Checks of the Windows build's PE images, for `make test`.

Independent of marrow's own C parser (src/core/pe.c): the import tables,
subsystem and entry point come from `x86_64-w64-mingw32-objdump -p`, symbol
addresses from `x86_64-w64-mingw32-nm`, the import libraries' names from
`nm` of libntoskrnl.a / libhal.a, and section flags, machine, checksum and
.pdata from the raw headers read here with struct (Microsoft "PE Format").
Each check returns (ok, detail). run() applies them to marrow.sys and
marrowctl.exe, then to images that must fail them (marrowctl.exe, a
fixture with every defect, a damaged copy of marrow.sys), so that every
check is seen to be able to fail.
"""

import os
import re
import struct
import subprocess

OBJDUMP = "x86_64-w64-mingw32-objdump"
NM = "x86_64-w64-mingw32-nm"
MINGW_LIB = "/usr/x86_64-w64-mingw32/lib"
SCN_MEM_EXECUTE = 0x20000000
SCN_MEM_WRITE = 0x80000000
DLLCHAR_DYNAMIC_BASE = 0x0040
DLLCHAR_NX_COMPAT = 0x0100
# Functions whose ntoskrnl versions may use SSE registers: root mode must
# never call them (the guest's XMM state is live there), so the driver
# links the core's own (src/platform/freestanding/string.c).
CRT_STRING = {"memcpy", "memset", "memmove", "memcmp", "strlen", "strcmp", "strncmp",
              "strcpy", "strncpy", "memchr", "strchr"}


def objdump_p(path):
    return subprocess.run([OBJDUMP, "-p", path], capture_output=True, text=True).stdout


def imports(dump):
    """{dll name (lower case): [imported names]} from objdump -p."""
    result, dll = {}, None
    for line in dump.splitlines():
        m = re.match(r"\s*DLL Name: (\S+)", line)
        if m:
            dll = m.group(1).lower()
            result.setdefault(dll, [])
            continue
        m = re.match(r"\s+[0-9a-f]+\s+[0-9]+\s+(\S+)\s*$", line)
        if dll and m:
            result[dll].append(m.group(1))
        elif dll and line.strip() == "":
            pass
    return result


def header_field(dump, name):
    m = re.search(rf"^{name}\s+([0-9a-fA-F]+)", dump, re.M)
    return int(m.group(1), 16) if m else None


class Pe:
    """The raw headers, read with struct."""

    def __init__(self, path):
        self.data = open(path, "rb").read()
        d = self.data
        pe = struct.unpack_from("<I", d, 0x3C)[0]
        self.machine, nsec = struct.unpack_from("<HH", d, pe + 4)
        opt_size = struct.unpack_from("<H", d, pe + 20)[0]
        opt = pe + 24
        self.magic = struct.unpack_from("<H", d, opt)[0]
        self.entry = struct.unpack_from("<I", d, opt + 16)[0]
        self.image_base = struct.unpack_from("<Q", d, opt + 24)[0]
        self.checksum_offset = opt + 64
        self.checksum = struct.unpack_from("<I", d, opt + 64)[0]
        self.subsystem, self.dll_characteristics = struct.unpack_from("<HH", d, opt + 68)
        ndirs = struct.unpack_from("<I", d, opt + 108)[0]
        self.dirs = [struct.unpack_from("<II", d, opt + 112 + 8 * i) for i in range(min(ndirs, 16))]
        self.sections = []
        for i in range(nsec):
            h = opt + opt_size + 40 * i
            name = d[h:h + 8].rstrip(b"\0").decode("ascii", "replace")
            vsize, va, rsize, roff = struct.unpack_from("<IIII", d, h + 8)
            flags = struct.unpack_from("<I", d, h + 36)[0]
            self.sections.append((name, va, vsize, roff, rsize, flags))

    def computed_checksum(self):
        d = bytearray(self.data)
        d[self.checksum_offset:self.checksum_offset + 4] = b"\0\0\0\0"
        if len(d) % 2:
            d += b"\0"
        s = 0
        for (w,) in struct.iter_unpack("<H", d):
            s += w
            s = (s & 0xFFFF) + (s >> 16)
        s = (s & 0xFFFF) + (s >> 16)
        return (s + len(self.data)) & 0xFFFFFFFF

    def rva_bytes(self, rva, n):
        for name, va, vsize, roff, rsize, flags in self.sections:
            if va <= rva and rva + n <= va + min(vsize or rsize, rsize):
                return self.data[roff + rva - va:roff + rva - va + n]
        return None


def symbol(path, name):
    out = subprocess.run([NM, path], capture_output=True, text=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == name:
            return int(parts[0], 16)
    return None


_lib_cache = {}


def import_lib_names(lib):
    if lib not in _lib_cache:
        out = subprocess.run([NM, os.path.join(MINGW_LIB, lib)], capture_output=True,
                             text=True).stdout
        _lib_cache[lib] = {m.group(1) for m in re.finditer(r" I __imp_(\S+)", out)}
    return _lib_cache[lib]


# ---- the checks ----

def check_machine_x64(path, pe, dump):
    ok = pe.machine == 0x8664 and pe.magic == 0x20B and "file format pei-x86-64" in dump
    return ok, f"machine 0x{pe.machine:x}, optional magic 0x{pe.magic:x}"


def check_subsystem(want):
    def check(path, pe, dump):
        got = header_field(dump, "Subsystem")
        return got == want and pe.subsystem == want, f"subsystem {got} (want {want})"
    return check


def check_imports_only(allowed):
    def check(path, pe, dump):
        dlls = set(imports(dump))
        extra = dlls - allowed
        return bool(dlls) and not extra, f"imports from {sorted(dlls)}; not allowed: {sorted(extra)}"
    return check


def check_imports_in_import_libs(path, pe, dump):
    libs = {"ntoskrnl.exe": "libntoskrnl.a", "hal.dll": "libhal.a"}
    missing = []
    count = 0
    for dll, names in imports(dump).items():
        known = import_lib_names(libs[dll]) if dll in libs else set()
        for n in names:
            count += 1
            if n not in known:
                missing.append(f"{dll}!{n}")
    return count > 0 and not missing, f"{count} imports; not in mingw's import libraries: {missing}"


def check_no_crt_string_imports(path, pe, dump):
    found = sorted(n for names in imports(dump).values() for n in names if n in CRT_STRING)
    return not found, f"imported string routines: {found}"


def check_no_wx_section(path, pe, dump):
    bad = [name for name, va, vs, ro, rs, fl in pe.sections
           if fl & SCN_MEM_EXECUTE and fl & SCN_MEM_WRITE]
    return bool(pe.sections) and not bad, f"writable and executable: {bad}"


def check_entry_is(symbol_name, debug_image):
    def check(path, pe, dump):
        entry = header_field(dump, "AddressOfEntryPoint")
        sym = symbol(debug_image(path), symbol_name)
        want = None if sym is None else sym - pe.image_base
        return entry is not None and entry == want, \
            f"AddressOfEntryPoint 0x{entry or 0:x}, {symbol_name} at rva {want if want is None else hex(want)}"
    return check


def check_relocations(path, pe, dump):
    rva, size = pe.dirs[5] if len(pe.dirs) > 5 else (0, 0)
    has_section = any(s[0] == ".reloc" for s in pe.sections)
    return size > 0 and has_section, f"base relocation directory size {size}, .reloc section {has_section}"


def check_checksum(path, pe, dump):
    c = pe.computed_checksum()
    return pe.checksum != 0 and c == pe.checksum, f"CheckSum 0x{pe.checksum:x}, computed 0x{c:x}"


def check_nx_dynamic_base(path, pe, dump):
    want = DLLCHAR_DYNAMIC_BASE | DLLCHAR_NX_COMPAT
    return pe.dll_characteristics & want == want, f"DllCharacteristics 0x{pe.dll_characteristics:x}"


def check_unwind_covers(symbol_name, debug_image):
    """A RUNTIME_FUNCTION in .pdata covers the function (x64 unwind data)."""
    def check(path, pe, dump):
        sym = symbol(debug_image(path), symbol_name)
        rva, size = pe.dirs[3] if len(pe.dirs) > 3 else (0, 0)
        table = pe.rva_bytes(rva, size) if size else None
        if sym is None or not table:
            return False, f"{symbol_name}: symbol {sym}, exception directory size {size}"
        target = sym - pe.image_base
        for begin, end, unwind in struct.iter_unpack("<III", table[:size - size % 12]):
            if begin == target and end > begin:
                return True, f"{symbol_name} at rva 0x{target:x} has unwind data"
        return False, f"no .pdata entry begins at {symbol_name} (rva 0x{target:x})"
    return check


def debug_sys(path):
    """marrow.sys is stripped; its symbols are in marrow.debug.sys."""
    alt = path.replace("marrow.sys", "marrow.debug.sys")
    return alt if os.path.exists(alt) else path


DRIVER_CHECKS = [
    ("machine_x64", check_machine_x64),
    ("subsystem_native", check_subsystem(1)),
    ("imports_only_ntoskrnl_hal", check_imports_only({"ntoskrnl.exe", "hal.dll"})),
    ("imports_exist_in_mingw_import_libs", check_imports_in_import_libs),
    ("no_crt_string_imports", check_no_crt_string_imports),
    ("no_writable_executable_section", check_no_wx_section),
    ("entry_point_is_DriverEntry", check_entry_is("DriverEntry", debug_sys)),
    ("relocations_present", check_relocations),
    ("checksum_valid", check_checksum),
    ("nx_compat_dynamic_base", check_nx_dynamic_base),
    ("vmx_launch_has_unwind_data", check_unwind_covers("vmx_launch", debug_sys)),
]

TOOL_CHECKS = [
    ("machine_x64", check_machine_x64),
    ("subsystem_console", check_subsystem(3)),
    ("imports_only_kernel32_msvcrt", check_imports_only({"kernel32.dll", "msvcrt.dll"})),
    ("no_writable_executable_section", check_no_wx_section),
]


def apply(path, checks):
    pe = Pe(path)
    dump = objdump_p(path)
    return [(name, *fn(path, pe, dump)) for name, fn in checks]


def run(tally, build):
    """Records one test line per check, then one per negative control."""
    win = os.path.join(build, "windows")
    sys_path = os.path.join(win, "marrow.sys")
    exe_path = os.path.join(win, "marrowctl.exe")
    bad_path = os.path.join(win, "fixtures", "bad_driver.exe")
    for path, checks, tag in ((sys_path, DRIVER_CHECKS, "marrow.sys"),
                              (exe_path, TOOL_CHECKS, "marrowctl.exe")):
        if not os.path.exists(path):
            tally.record(False, f"windows/{tag}/built", f"  {path} is missing (make windows)")
            continue
        for name, ok, detail in apply(path, checks):
            tally.record(ok, f"windows/{tag}/{name}", "  " + detail)

    # Each check must reject an image that has the defect it looks for.
    original = open(sys_path, "rb").read()
    damaged = os.path.join(win, "marrow.damaged.sys")
    data = bytearray(original)
    data[-1] ^= 0x40
    open(damaged, "wb").write(bytes(data))
    i386 = os.path.join(win, "marrow.i386.sys")
    data = bytearray(original)
    pe_at = struct.unpack_from("<I", data, 0x3C)[0]
    struct.pack_into("<H", data, pe_at + 4, 0x14C)
    open(i386, "wb").write(bytes(data))
    checks = dict(DRIVER_CHECKS)
    negatives = [
        ("subsystem_native", exe_path),
        ("imports_only_ntoskrnl_hal", exe_path),
        ("imports_exist_in_mingw_import_libs", bad_path),
        ("no_crt_string_imports", bad_path),
        ("no_writable_executable_section", bad_path),
        ("entry_point_is_DriverEntry", bad_path),
        ("relocations_present", bad_path),
        ("checksum_valid", damaged),
        ("nx_compat_dynamic_base", bad_path),
        ("vmx_launch_has_unwind_data", exe_path),
        ("machine_x64", i386),
    ]
    rejected = 0
    for name, path in negatives:
        if not os.path.exists(path):
            tally.record(False, f"windows/checker_rejects/{name}", f"  {path} is missing")
            continue
        _, ok, detail = apply(path, [(name, checks[name])])[0]
        tally.record(not ok, f"windows/checker_rejects/{name}",
                     f"  {os.path.basename(path)} passed a check it must fail: {detail}")
        rejected += not ok
    os.unlink(damaged)
    os.unlink(i386)
    return rejected
