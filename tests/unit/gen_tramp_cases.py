#!/usr/bin/env python3
"""Regenerates tests/unit/fixtures/tramp_cases.h from fixtures/tramp_cases.s.

The functions of tramp_cases.s are assembled with `as --64`; each case's
bytes come from `objdump -s` (the section's contents), its extent from the
symbol table (tc_NAME to tc_NAME_end, code up to tc_NAME_data if present)
and its instruction boundaries from `objdump -d`, never from marrow's own
decoder. The object must have no relocations (the bytes are final), and every
branch target and RIP-relative address objdump computes in a case must lie
inside that case, so that the test can copy a case anywhere and run it.

Usage (from the repository root): python3 tests/unit/gen_tramp_cases.py
"""

import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CASES_S = os.path.join(HERE, "fixtures", "tramp_cases.s")
HEADER = os.path.join(HERE, "fixtures", "tramp_cases.h")

OBJDUMP_D = ["objdump", "-d", "-z", "-w", "-M", "intel,intel64", "--insn-width=16"]
INSN = re.compile(r"^\s*([0-9a-f]+):\t((?:[0-9a-f]{2} )+)\s*\t(.*)$")
CONTENTS = re.compile(r"^ ([0-9a-f]+) ((?:[0-9a-f]{2,8} ?){1,4})")
# A branch's target as objdump prints it: `jz 1a <tc_jz+0x12>`.
BRANCH = re.compile(r"^(?:(?:bnd|notrack|addr32|data16|rex\.?\w*)\s+)*"
                    r"(j\w+|call\w?|loop\w*|xbegin\w?)\s+([0-9a-f]+)\b")
# A RIP/EIP-relative operand's address: `# 60 <tc_riprel_bias>`.
RIP = re.compile(r"\[[re]ip[+\-]0x[0-9a-f]+\].*#\s*([0-9a-f]+)")


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)}: exit {p.returncode}\n{p.stderr}")
    return p.stdout


def section_bytes(obj):
    """The .text section's contents, from objdump -s."""
    data = {}
    for line in run(["objdump", "-s", "-j", ".text", obj]).splitlines():
        m = CONTENTS.match(line)
        if m:
            hexes = "".join(m.group(2).split())
            base = int(m.group(1), 16)
            for i in range(0, len(hexes), 2):
                data[base + i // 2] = int(hexes[i:i + 2], 16)
    size = max(data) + 1
    if sorted(data) != list(range(size)):
        raise SystemExit("objdump -s: the section's contents have holes")
    return bytes(data[i] for i in range(size))


def instructions(obj):
    """{address: (length, text)} from objdump -d."""
    out = {}
    for line in run(OBJDUMP_D + [obj]).splitlines():
        m = INSN.match(line)
        if m:
            out[int(m.group(1), 16)] = (len(bytes.fromhex(m.group(2))), m.group(3).strip())
    return out


def symbols(obj):
    syms = {}
    for line in run(["nm", obj]).splitlines():
        addr, _, name = line.split()
        syms[name] = int(addr, 16)
    return syms


def cases(obj):
    syms = symbols(obj)
    text = section_bytes(obj)
    insns = instructions(obj)
    names = sorted((a, n) for n, a in syms.items()
                   if n.startswith("tc_") and not n.endswith(("_end", "_data"))
                   and n + "_end" in syms)
    out = []
    for start, name in names:
        end, code_end = syms[name + "_end"], syms.get(name + "_data", syms[name + "_end"])
        offsets, texts, addr = [], [], start
        while addr < code_end:
            if addr not in insns:
                raise SystemExit(f"{name}: objdump has no instruction at {addr:#x}")
            length, t = insns[addr]
            if "(bad)" in t:
                raise SystemExit(f"{name}: objdump cannot decode {addr:#x}: {t}")
            check_target(name, t, start, end)
            offsets.append(addr - start)
            texts.append(" ".join(re.sub(r"\s*<[^>]*>", "", t).split()))
            addr += length
        if addr != code_end:
            raise SystemExit(f"{name}: the last instruction runs past the code's end")
        out.append((name[3:], text[start:end], code_end - start, offsets, texts))
    return out


def check_target(name, text, start, end):
    for pattern in (BRANCH, RIP):
        m = pattern.search(text)
        if m:
            target = int(m.groups()[-1], 16)
            if not start <= target < end:
                raise SystemExit(f"{name}: `{text}` leaves the case ({target:#x} not in "
                                 f"[{start:#x}, {end:#x}))")


def c_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_header(all_cases, version):
    ids, arrays, rows = [], [], []
    for name, code, code_size, offsets, texts in all_cases:
        ident = f"TC_{name.upper()}"
        ids.append(f"\t{ident},")
        arrays.append(f"static const uint8_t tc_{name}_bytes[] = {{ "
                      + ", ".join(f"0x{b:02x}" for b in code) + " };")
        arrays.append(f"static const uint8_t tc_{name}_insns[] = {{ "
                      + ", ".join(str(o) for o in offsets) + " };")
        arrays.append(f"static const char *const tc_{name}_text[] = {{ "
                      + ", ".join(c_string(t) for t in texts) + " };")
        rows.append(f"\t[{ident}] = {{ {c_string(name)}, tc_{name}_bytes, {len(code)}, "
                    f"{code_size}, tc_{name}_insns, tc_{name}_text, {len(offsets)} }},")
    body = f"""/* Generated by tests/unit/gen_tramp_cases.py from fixtures/tramp_cases.s;
 * do not edit. Binutils: {version}.
 * Each case's bytes (code, then any data) as `as --64` assembled them, and
 * the offset and objdump text of each instruction of its code. */
#ifndef MARROW_TESTS_FIXTURE_TRAMP_CASES_H
#define MARROW_TESTS_FIXTURE_TRAMP_CASES_H

#include <stddef.h>
#include <stdint.h>

enum tramp_case_id {{
{chr(10).join(ids)}
	TC_COUNT
}};

struct tramp_case {{
	const char *name;
	const uint8_t *bytes;
	size_t size;                     /* code and data */
	size_t code_size;                /* code only */
	const uint8_t *insn_offsets;     /* objdump's instruction starts in the code */
	const char *const *insn_text;    /* objdump's rendering of each */
	size_t insn_count;
}};

/* clang-format off */
{chr(10).join(arrays)}

static const struct tramp_case tramp_cases[TC_COUNT] = {{
{chr(10).join(rows)}
}};
/* clang-format on */

#endif
"""
    with open(HEADER, "w") as f:
        f.write(body)
    subprocess.run(["clang-format", "-i", "--style=file", HEADER], check=True, cwd=ROOT)


def main():
    version = run(["objdump", "--version"]).splitlines()[0]
    with tempfile.TemporaryDirectory() as tmp:
        obj = os.path.join(tmp, "tramp_cases.o")
        run(["as", "--64", "-o", obj, CASES_S])
        relocs = [line for line in run(["objdump", "-r", obj]).splitlines()
                  if re.match(r"^[0-9a-f]{16} ", line)]
        if relocs:
            raise SystemExit("tramp_cases.s needs relocations:\n" + "\n".join(relocs))
        all_cases = cases(obj)
    write_header(all_cases, version)
    print(f"wrote {os.path.relpath(HEADER, ROOT)}: {len(all_cases)} cases")


if __name__ == "__main__":
    sys.exit(main())
