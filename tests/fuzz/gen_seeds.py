#!/usr/bin/env python3
"""Writes the seed inputs of tests/fuzz/corpus/TARGET (committed; rerun
after changing a harness's input format): real data where there is some
(the multiboot2 information Bochs and GRUB gave, the Windows build's PE
fixtures, the decoder's and the trampoline builder's assembled cases) and
hand-built states for the rest, each in its harness's input format.

Inputs that once failed (regress_*) are kept by hand, not written here.

usage: gen_seeds.py [--build BUILD] [TARGET...]
"""

import argparse
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")


def c_bytes(text):
    """The bytes of a C initializer of 0xNN values."""
    return bytes(int(x, 16) for x in re.findall(r"0x([0-9a-fA-F]{2})", text))


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def seeds_mb2(build):
    text = open(os.path.join(ROOT, "tests/unit/fixtures/bochs_mb2.h")).read()
    body = text[text.index("bochs_mb2_info[]"):]
    write("mb2", "bochs_grub_info", c_bytes(body[body.index("{"):body.index("};")]))


def seeds_pe(build):
    fixtures = os.path.join(build, "windows", "fixtures")
    for name in ("fake_ntoskrnl.exe", "bad_driver.exe"):
        shutil.copy(os.path.join(fixtures, name), os.path.join(CORPUS, "pe", name))
    # The driver's headers only: a real section table, no section data.
    with open(os.path.join(build, "windows", "marrow.sys"), "rb") as f:
        write("pe", "marrow_sys_headers", f.read(1024))


def seeds_pattern(build):
    code = bytes.fromhex("4c8d1501020304" "4c8d1d05060708" "f7" "4c8d15")
    write("pattern", "ssdt_pattern",
          b"4C 8D 15 ?? ?? ?? ?? 4C 8D 1D ?? ?? ?? ?? F7\0" + code)


# --- MTRR snapshots (fuzz_mtrr.c): MAXPHYADDR, VCNT, MTRRCAP 15:8,
# IA32_MTRR_DEF_TYPE, the variable pairs, the fixed ranges, a byte picking
# boundaries, questions.
MTRR_E, MTRR_FE, MTRR_VALID, MTRRCAP_FIX, MTRRCAP_WC = 0x800, 0x400, 0x800, 0x1, 0x4
UC, WC, WT, WP, WB = 0, 1, 4, 5, 6
GIB, MIB = 1 << 30, 1 << 20


def mtrr_seed(bits, default, pairs, fixed, fe=True, vcnt=None, questions=()):
    end = 1 << bits
    out = struct.pack("<BBBH", 0x80 | bits, len(pairs) if vcnt is None else vcnt,
                      MTRRCAP_FIX | MTRRCAP_WC, MTRR_E | (MTRR_FE if fe else 0) | default)
    for base, size, typ in pairs:
        mask = (end - 1) & ~(size - 1) if size else 0
        out += struct.pack("<QQ", base | typ, mask | MTRR_VALID)
    out += b"".join(struct.pack("<Q", v) for v in fixed)
    out += bytes([len(pairs)])  # which boundaries to look around
    out += b"".join(struct.pack("<QQ", a, n) for a, n in questions)
    return out


def all_bytes(t):
    return int.from_bytes(bytes([t]) * 8, "little")


def seeds_mtrr(build):
    pc_fixed = [all_bytes(WB), all_bytes(WB), all_bytes(UC)] + [all_bytes(WP)] * 8
    pc_pairs = [(0, 4 * GIB, WB), (3 * GIB, GIB, UC), (4 * GIB, 4 * GIB, WB),
                (8 * GIB, GIB, WB), (0xd0000000, 256 * MIB, WC)]
    for bits in (36, 39, 46, 52):
        write("mtrr", f"pc_{bits}bit", mtrr_seed(bits, UC, pc_pairs, pc_fixed,
                                                 questions=[(0, 2 * MIB), (3 * GIB, GIB)]))
    write("mtrr", "wt_over_wb",
          mtrr_seed(39, WB, [(0, 8 * GIB, WB), (2 * GIB, 2 * GIB, WT), (2 * GIB, GIB, WB)],
                    [all_bytes(WB)] * 11, fe=False))
    write("mtrr", "disabled_fixed_mixed",
          mtrr_seed(40, WB, [(0, 512 * 1024, UC)], [0x0605040100060504] * 11))
    # A mask with holes (non-contiguous), and pairs past VCNT.
    seed = bytearray(mtrr_seed(36, UC, [(0x10000000, 0x1000, WB), (0, 1 << 36, UC)],
                               [0] * 11, vcnt=1))
    struct.pack_into("<Q", seed, 5 + 8, (0xffffff000 & ~(1 << 20)) | MTRR_VALID)
    write("mtrr", "holes_and_past_vcnt", bytes(seed))


# --- Guest paging (fuzz_guest_walk.c): mode, write mode, CPL, MAXPHYADDR,
# CR3, pointer, another offset, length, failing gpa, then memory from 0.
M_PG, M_WP, M_PSE, M_PAE, M_LA57, M_LME, M_NXE, M_ALIAS = (1 << i for i in range(8))
P, W, U, PS, NX = 1, 2, 4, 0x80, 1 << 63
PAGE = 4096


class Memory:
    def __init__(self, pages):
        self.b = bytearray(pages * PAGE)

    def e64(self, page, idx, v):
        struct.pack_into("<Q", self.b, page * PAGE + idx * 8, v)

    def e32(self, page, idx, v):
        struct.pack_into("<I", self.b, page * PAGE + idx * 4, v)


def walk_seed(mode, bits, cr3, gva, length, mem, cpl=0, other=0x123, wmode=0, fail=0):
    # Memory past the input is zero: trailing zeros need not be stored.
    return struct.pack("<BBBBQQQII", mode, wmode, cpl, (bits - 32) % 21, cr3, gva, other,
                       length, fail) + bytes(mem.b).rstrip(b"\0")


def va4(l4, l3, l2, l1, off=0, la57=False, l5=0):
    v = l4 << 39 | l3 << 30 | l2 << 21 | l1 << 12 | off | (l5 << 48 if la57 else 0)
    top = 56 if la57 else 47
    return v | ((~0 << top) & (2**64 - 1)) if v >> top & 1 else v


def seeds_guest_walk(build):
    ia32e = M_PG | M_WP | M_PAE | M_LME | M_NXE
    # 4-level: PML4 page 1, PDPT 2, PD 3, PT 4; 4 KiB pages 5..7 (the last
    # read-only, user), a 2 MiB page at PD[6], a 1 GiB page at PDPT[7].
    m = Memory(8)
    m.e64(1, 1, 2 * PAGE | P | W | U)
    m.e64(2, 2, 3 * PAGE | P | W | U)
    m.e64(2, 7, 0x40000000 | P | W | PS)
    m.e64(3, 3, 4 * PAGE | P | W | U)
    m.e64(3, 6, 0x200000 | P | W | PS | NX)
    for i in range(3):
        m.e64(4, i, (5 + i) * PAGE | P | (U if i == 2 else W))
        m.b[(5 + i) * PAGE:(5 + i) * PAGE + 16] = bytes(range(16 * i, 16 * i + 16))
    write("guest_walk", "ia32e_4k_pages",
          walk_seed(ia32e, 39, PAGE, va4(1, 2, 3, 0, 0x800), 2 * PAGE, m))
    write("guest_walk", "ia32e_user_readonly",
          walk_seed(ia32e | M_ALIAS, 46, PAGE | 0x5, va4(1, 2, 3, 2, 0x10), 64, m, cpl=3))
    write("guest_walk", "ia32e_2m_1g",
          walk_seed(ia32e, 52, PAGE, va4(1, 2, 3, 0) | 0x1ffff0, 0x20, m,
                    other=va4(1, 2, 7, 0)))
    # 5-level: PML5 in page 0 pointing at the same PML4.
    m5 = Memory(8)
    m5.b[:] = m.b
    m5.e64(0, 0, PAGE | P | W | U)
    write("guest_walk", "la57", walk_seed(ia32e | M_LA57, 48, 0,
                                          va4(1, 2, 3, 1, la57=True), 100, m5))
    # PAE: PDPT at 0x1020 (CR3 bits 31:5), PD page 2, PT page 3.
    mp = Memory(8)
    struct.pack_into("<Q", mp.b, 0x1020, 2 * PAGE | P)
    mp.e64(2, 1, 3 * PAGE | P | W | U)
    mp.e64(2, 2, 0x400000 | P | W | PS)
    mp.e64(3, 4, 5 * PAGE | P | W)
    write("guest_walk", "pae", walk_seed(M_PG | M_PAE | M_NXE, 36, 0x1020,
                                         1 << 21 | 4 << 12 | 0x10, 0x2000, mp, wmode=1,
                                         fail=5 * PAGE))
    # 32-bit paging with PSE: PD page 1, PT page 2, a 4 MiB page (PSE-36).
    m32 = Memory(6)
    m32.e32(1, 0, 2 * PAGE | P | W | U)
    m32.e32(1, 1, 0x00400000 | (0x3 << 13) | P | W | PS)
    m32.e32(2, 3, 4 * PAGE | P | W | U)
    write("guest_walk", "legacy_pse36", walk_seed(M_PG | M_PSE, 40, PAGE, 3 << 12, 0x100,
                                                  m32, other=0x400123))
    write("guest_walk", "no_paging", walk_seed(0, 32, 0, 0x2ff0, 0x40, Memory(4)))


def merged(target, build, candidates):
    """Keeps the candidates that add coverage to the target's corpus
    (libFuzzer -merge=1 with the built harness)."""
    with tempfile.TemporaryDirectory() as tmp:
        for i, data in enumerate(candidates):
            with open(os.path.join(tmp, f"{i:05d}"), "wb") as f:
                f.write(data)
        out = os.path.join(CORPUS, target)
        os.makedirs(out, exist_ok=True)
        subprocess.run([os.path.join(build, "fuzz", f"fuzz_{target}"), "-merge=1", out, tmp],
                       check=True, capture_output=True)


def seeds_insn(build):
    """The decoder's table of encodings as GNU as assembled them
    (tests/unit/fixtures/insn_table.h), one instruction per input."""
    text = open(os.path.join(ROOT, "tests/unit/fixtures/insn_table.h")).read()
    cases = [bytes(int(x, 16) for x in re.findall(r"\\x([0-9a-f]{2})", lit))
             for lit in re.findall(r'^\s*"((?:\\x[0-9a-f]{2})+)"', text, re.M)]
    merged("insn", build, cases)


# --- Trampolines (fuzz_tramp.c): min_len - 1, placement, code address,
# placement value, out_cap selector, code size selector, then the code.
TRAMP_NEAR, TRAMP_FAR = 0, 3
CODE_ADDR = 0xffffffff81234000


def tramp_seed(min_len, how, where, code):
    return struct.pack("<BBQQHH", min_len - 1, how, CODE_ADDR, where, 0x8000, 0x8000) + code


def seeds_tramp(build):
    """Each of the trampoline builder's assembled cases
    (tests/unit/fixtures/tramp_cases.h) with a 5- and a 14-byte patch,
    the trampoline near and 12 GiB away."""
    text = open(os.path.join(ROOT, "tests/unit/fixtures/tramp_cases.h")).read()
    cases = [c_bytes(body) for body in
             re.findall(r"^static const uint8_t tc_\w+_bytes\[\] = \{([^}]*)\}", text, re.M)]
    candidates = [tramp_seed(n, how, where, code) for code in cases for n in (5, 14)
                  for how, where in ((TRAMP_NEAR, 0x10000), (TRAMP_FAR, (CODE_ADDR - (12 << 30))))]
    merged("tramp", build, candidates)


TARGETS = {
    "mb2": seeds_mb2, "pe": seeds_pe, "pattern": seeds_pattern, "mtrr": seeds_mtrr,
    "guest_walk": seeds_guest_walk, "insn": seeds_insn, "tramp": seeds_tramp,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("targets", nargs="*", default=sorted(TARGETS))
    args = ap.parse_args()
    for t in args.targets:
        TARGETS[t](args.build)
    return 0


if __name__ == "__main__":
    sys.exit(main())
