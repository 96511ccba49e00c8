#!/usr/bin/env python3
"""Runs the libFuzzer harnesses of tests/fuzz (`make fuzz`, and the bounded
run of `make test` through run_bounded()).

Each target runs for a set time on its committed corpus
(tests/fuzz/corpus/TARGET: seeds and every input that once failed) plus a
working corpus under BUILD/fuzz, and passes if libFuzzer reports no crash,
leak, timeout or failed check. With --coverage, a profile-instrumented build
of the same harness replays the whole corpus and llvm-cov reports the line
and branch coverage of the code under test (the FUZZ_SRCS_TARGET files of
mk/fuzz.mk).
"""

import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
LLVM_PROFDATA = "llvm-profdata-14"
LLVM_COV = "llvm-cov-14"


class Result:
    def __init__(self, target):
        self.target = target
        self.ok = False
        self.runs = 0
        self.seconds = 0.0
        self.cov = self.ft = self.corpus = None
        self.detail = ""
        self.artifact = None
        self.coverage = None  # (lines covered, lines, branches covered, branches)

    def line(self):
        rate = self.runs / self.seconds if self.seconds else 0
        s = (f"fuzz {self.target}: {self.runs} runs in {self.seconds:.0f} s "
             f"({rate:.0f}/s), cov {self.cov} ft {self.ft}, corpus {self.corpus}")
        if self.coverage:
            lc, ln, bc, bn = self.coverage
            s += f", lines {lc}/{ln} ({100 * lc / max(ln, 1):.1f}%)"
            s += f", branches {bc}/{bn} ({100 * bc / max(bn, 1):.1f}%)"
        return s + (": no failure" if self.ok else ": FAILED")


def sources_of(target):
    """The code under test, as mk/fuzz.mk lists it."""
    text = open(os.path.join(ROOT, "mk", "fuzz.mk")).read()
    m = re.search(rf"^FUZZ_SRCS_{re.escape(target)} := (.*)$", text, re.M)
    return m.group(1).split() if m else []


def parse_output(res, out):
    """Fills res from libFuzzer's log: the last status line and the final
    statistics (-print_final_stats=1)."""
    for m in re.finditer(r"^#\d+\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)/", out, re.M):
        res.cov, res.ft, res.corpus = (int(x) for x in m.groups())
    m = re.search(r"^stat::number_of_executed_units: (\d+)", out, re.M)
    if m:
        res.runs = int(m.group(1))
    m = re.search(r"Test unit written to (\S+)", out)
    if m:
        res.artifact = m.group(1)


def failure_detail(out):
    """The lines that say what failed: a check's message, a sanitizer's
    report head, libFuzzer's verdict."""
    keep = []
    lines = out.splitlines()
    for i, ln in enumerate(lines):
        if ("check failed" in ln or "ERROR:" in ln or "runtime error" in ln or
                "SUMMARY:" in ln or "Test unit written" in ln or ln.startswith("==") and
                "ERROR" in ln):
            keep.extend(lines[i:i + 2] if "check failed" in ln else [ln])
    return "\n".join("  " + ln for ln in keep[:20]) or "\n".join(
        "  " + ln for ln in lines[-20:])


def run_target(build, target, seconds, keep_corpus, seed=0):
    res = Result(target)
    binary = os.path.join(build, "fuzz", f"fuzz_{target}")
    seeds = os.path.join(ROOT, "tests", "fuzz", "corpus", target)
    work = os.path.join(build, "fuzz", "corpus" if keep_corpus else "test-corpus", target)
    artifacts = os.path.join(build, "fuzz", "artifacts", target)
    if not keep_corpus:
        shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work, exist_ok=True)
    os.makedirs(artifacts, exist_ok=True)
    cmd = [binary, f"-max_total_time={seconds}", "-print_final_stats=1", "-timeout=10",
           "-rss_limit_mb=2048", f"-artifact_prefix={artifacts}/"]
    if seed:
        cmd.append(f"-seed={seed}")
    dictionary = os.path.join(HERE, f"{target}.dict")
    if os.path.exists(dictionary):
        cmd.append(f"-dict={dictionary}")
    cmd += [work, seeds]
    start = time.monotonic()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, errors="replace",
                           timeout=seconds + 120)
        out, code = p.stderr + p.stdout, p.returncode
    except subprocess.TimeoutExpired as e:
        out = (e.stderr or b"").decode(errors="replace") if isinstance(e.stderr, bytes) \
            else (e.stderr or "")
        out += "\nthe fuzzer did not stop by itself"
        code = -1
    res.seconds = time.monotonic() - start
    parse_output(res, out)
    res.ok = code == 0 and res.runs > 0 and res.artifact is None
    if not res.ok:
        res.detail = f"  {' '.join(cmd)}\n  exit status {code}\n" + failure_detail(out)
        if res.artifact:
            res.detail += f"\n  reproduce: {binary} {res.artifact}"
    return res


def measure_coverage(build, res, keep_corpus):
    """Replays the corpus under the profile-instrumented build; returns the
    line and branch coverage of the target's sources."""
    target = res.target
    binary = os.path.join(build, "fuzz-cov", f"fuzz_{target}")
    seeds = os.path.join(ROOT, "tests", "fuzz", "corpus", target)
    work = os.path.join(build, "fuzz", "corpus" if keep_corpus else "test-corpus", target)
    out_dir = os.path.join(build, "fuzz", "coverage")
    os.makedirs(out_dir, exist_ok=True)
    raw = os.path.join(out_dir, f"{target}.profraw")
    data = os.path.join(out_dir, f"{target}.profdata")
    env = dict(os.environ, LLVM_PROFILE_FILE=raw)
    subprocess.run([binary, "-runs=0", work, seeds], env=env, capture_output=True, check=True)
    subprocess.run([LLVM_PROFDATA, "merge", "-sparse", raw, "-o", data], check=True)
    srcs = [os.path.join(ROOT, s) for s in sources_of(target)]
    rep = subprocess.run([LLVM_COV, "report", binary, f"-instr-profile={data}", *srcs],
                         capture_output=True, text=True, check=True).stdout
    total = [ln for ln in rep.splitlines() if ln.startswith("TOTAL")][0].split()
    # TOTAL regions missed % functions missed % lines missed % branches missed %
    lines, lmiss, branches, bmiss = int(total[7]), int(total[8]), int(total[10]), int(total[11])
    with open(os.path.join(out_dir, f"{target}.txt"), "w") as f:
        f.write(rep)
    res.coverage = (lines - lmiss, lines, branches - bmiss, branches)


def run_bounded(tally, build, seconds, targets):
    """`make test`: each target for a few seconds, one test line each."""
    for t in targets:
        res = run_target(build, t, seconds, keep_corpus=False, seed=1)
        tally.record(res.ok, f"fuzz/{t}", res.detail)
        print(res.line())


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--seconds", type=int, default=600, help="per target")
    ap.add_argument("--jobs", type=int, default=1, help="targets run at once")
    ap.add_argument("--keep-corpus", action="store_true",
                    help="grow BUILD/fuzz/corpus across runs (else a fresh one)")
    ap.add_argument("--coverage", action="store_true",
                    help="then measure line and branch coverage (BUILD/fuzz-cov)")
    ap.add_argument("targets", nargs="+")
    args = ap.parse_args()

    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(
            lambda t: run_target(args.build, t, args.seconds, args.keep_corpus), args.targets))
    failed = [r for r in results if not r.ok]
    for r in results:
        if args.coverage and r.ok:
            measure_coverage(args.build, r, args.keep_corpus)
        print(r.line())
        if not r.ok:
            print(r.detail)
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
