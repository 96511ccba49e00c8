#!/usr/bin/env python3
"""`make run`: boot the bare-metal kernel in Bochs, stream its console, end
with a one-line summary. Exit status 0 only when the run completed (and,
when guest tests were selected, every one passed)."""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bochs  # noqa: E402

MODELS = ("corei7_skylake_x", "corei7_icelake_u", "tigerlake")


def positive_int(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number")
    if v < 1:
        raise argparse.ArgumentTypeError(f"'{text}' must be at least 1")
    return v


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--iso", required=True)
    ap.add_argument("--model", default="tigerlake")
    ap.add_argument("--cpus", type=positive_int, default=2)
    ap.add_argument("--memory", type=positive_int, default=128)
    ap.add_argument("--timeout", type=positive_int, default=120)
    ap.add_argument("--workdir", default="build/run")
    ap.add_argument("--ignore-bad-msrs", action="store_true",
                    help="RDMSR/WRMSR of an MSR Bochs lacks read 0 / are dropped (a full OS "
                         "needs it); default: #GP, as on hardware")
    args = ap.parse_args()

    if args.cpus > 8:
        ap.error(f"CPUS={args.cpus}: at most 8 (Bochs' SMP limit in this build)")
    if args.memory < 32 or args.memory > 2048:
        ap.error(f"MEMORY={args.memory}: give 32 to 2048 MiB")
    if not os.path.exists(args.iso):
        ap.error(f"{args.iso}: no such ISO (run 'make kernel' first)")

    cfg = bochs.Config(iso=args.iso, model=args.model, cpus=args.cpus, memory=args.memory,
                       timeout=args.timeout, workdir=args.workdir, stream=True,
                       ignore_bad_msrs=args.ignore_bad_msrs)
    if args.model not in MODELS:
        print(f"run: note: MODEL={args.model} is not one marrow is tested on ({', '.join(MODELS)})",
              file=sys.stderr)
    result = bochs.run(cfg)
    plan, tests = bochs.parse_tap(result.serial)
    print(f"\nrun: Bochs {args.model}, {args.cpus} CPU(s): {result.status}"
          f" in {result.seconds:.1f} s" + (f" ({result.reason})" if result.reason else ""))
    ok = result.complete and not result.inet_sockets
    if result.inet_sockets:
        print("run: Bochs opened internet sockets: " + "; ".join(result.inet_sockets))
    if plan is not None:
        passed = sum(t.ok for t in tests)
        failed = len(tests) - passed + max(0, plan - len(tests))
        print(f"run: {passed} passed, {failed} failed")
        ok = ok and failed == 0
    if not result.complete:
        print(bochs.describe_failure(result))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
