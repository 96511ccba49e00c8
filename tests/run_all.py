#!/usr/bin/env python3
"""`make test`: every layer, one closing line "N passed, N failed".

1. unit: the cmocka binaries (host), TAP output.
2. guest: the bare-metal kernel runs the guest suites in Bochs on each CPU
   model and CPU count of the matrix.
3. boot: marrow as a boot-time hypervisor (docs/boot.md): the multiboot and
   multiboot2 builds of the kernel booted as marrow's guest, each bringing up
   its CPUs itself and finding marrow's memory out of reach; the loader's
   refusals.
4. linux-boot: Debian's Linux kernel booted by marrow as its guest, on 1
   and 2 CPUs, with a busybox initramfs whose /init checks the CPU count,
   CPUID and the memory map (tests/e2e/linux_boot/init).
5. e2e: the runners themselves: a broken suite, a hang, a crash and a panic
   are each reported as what they are, and Bochs opens no network socket.
6. uefi: marrow.efi in Bochs with OVMF: the test application's TAP as its
   guest, marrowldr.efi's refusals, and Debian's kernel booted under it
   (tests/e2e/uefi.py).
7. windows: the driver and marrowctl.exe that `make windows` built, checked
   as PE images (tests/e2e/windows/pecheck.py), every check also shown to
   reject a bad image; cppcheck of the Windows layer's pure sources (which
   `make lint` skips with the rest of src/platform/windows).
8. fuzz: each libFuzzer harness of tests/fuzz for a few seconds, its
   committed corpus (seeds and every input that once failed) replayed
   first (tests/fuzz/run.py; `make fuzz` is the long run).
9. linux: Debian's own kernel booted in Bochs (corei7_skylake_x, 1 and 2
   CPUs) runs tests/e2e/linux/init.sh: marrow.ko loaded, marrowctl used,
   the kernel kept running, unloaded, loaded again (docs/linux.md); and
   marrowctl's answers on this host, where no marrow runs.
Layers 4 and 9 use the same image and initramfs builder
(scripts/linux-image.sh, scripts/linux-initramfs.sh) from --linux DIR.

MARROW_MATRIX="model:cpus[:MiB],..." narrows the matrix for a quick local run;
MARROW_LINUX_CPUS="1" (or "2", "1,2") narrows the Linux layers';
MARROW_LINUX_EXTRA adds to the marrow.ko runs' kernel command line.
MARROW_JOBS=N runs N Bochs machines at a time (default: the cores, at most 2).
"""

import argparse
import concurrent.futures
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "e2e"))
import bochs  # noqa: E402

sys.path.insert(0, os.path.join(HERE, "fuzz"))
import run as fuzz_run  # noqa: E402

ROOT = os.path.dirname(HERE)
# Every model with 1 and 4 CPUs and 128 MiB, and one large-memory machine
# (the EPT map and memory types over 2 GiB of RAM).
MATRIX = [(m, c, 128) for m in ("corei7_skylake_x", "corei7_icelake_u", "tigerlake")
          for c in (1, 4)] + [("tigerlake", 2, 2048)]
GUEST_TIMEOUT = 180
# Debian's 6.1 kernel boots only on this model (BOCHS.md), in about 1.5 to
# 2.5 minutes of Bochs; the scenario adds under a minute.
LINUX_MODEL = "corei7_skylake_x"
# Debian's kernel on 2 Bochs CPUs stops taking timer interrupts about 10 s
# after boot, with or without marrow (docs/linux.md): the 2-CPU run is the
# scenario's quick form (mw_quick=1: what needs two CPUs, and the basics
# around it), which ends before that; the 1-CPU run has everything.
LINUX_CPUS = (1, 2)
LINUX_TIMEOUT = 600
LINUX_MEMORY = 256


class Tally:
    def __init__(self):
        self.passed = 0
        self.failed = []

    def record(self, ok, name, detail=""):
        if ok:
            self.passed += 1
        else:
            self.failed.append(name)
            print(f"FAIL {name}")
            if detail:
                print(detail)
        return ok


def run_unit(tally, bins):
    for path in bins:
        name = os.path.basename(path)
        env = dict(os.environ, CMOCKA_MESSAGE_OUTPUT="TAP")
        try:
            p = subprocess.run([path], env=env, capture_output=True, text=True, timeout=300)
            out, code = p.stdout + p.stderr, p.returncode
        except subprocess.TimeoutExpired as e:
            out, code = (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or ""), -1
        plan, results = bochs.parse_tap(out)
        before = len(tally.failed)
        for r in results:
            tally.record(r.ok, f"unit/{name}/{r.name}", "\n".join(r.diagnostics))
        missing = (plan or 0) - len(results)
        if code != 0 and len(tally.failed) == before:
            tally.record(False, f"unit/{name}", f"  exited {code} without a failed test:\n{out[-3000:]}")
        elif missing > 0:
            tally.record(False, f"unit/{name}", f"  {missing} planned tests did not report")
        elif not results:
            tally.record(False, f"unit/{name}", "  reported no tests")
        print(f"unit {name}: {sum(r.ok for r in results)} passed, "
              f"{sum(not r.ok for r in results)} failed")


def mkiso(kernel, selection, out, cmdline=""):
    env = dict(os.environ, MARROW_CMDLINE=cmdline)
    subprocess.run(["bash", os.path.join(ROOT, "scripts/mkiso.sh"), kernel, selection, out],
                   check=True, env=env)
    return out


# Bochs is single-threaded: independent runs go to a pool, MARROW_JOBS at a
# time (default: one per core, at most 2), and each layer collects its
# results in its own order, so the output reads the same as a serial run.
POOL = None


def submit(cfg):
    return POOL.submit(bochs.run, cfg)


def boot(build, iso, model, cpus, tag, timeout=GUEST_TIMEOUT, memory=128, ignore_bad_msrs=False):
    """Starts a run; its future's result() is the bochs.Result."""
    cfg = bochs.Config(iso=iso, model=model, cpus=cpus, timeout=timeout, memory=memory,
                       workdir=os.path.join(build, "test", tag), ignore_bad_msrs=ignore_bad_msrs)
    return submit(cfg)


def tally_guest_run(tally, prefix, result):
    plan, results = bochs.parse_tap(result.serial)
    for r in results:
        tally.record(r.ok, f"{prefix}/{r.name}", "\n".join(r.diagnostics))
    if not result.complete:
        tally.record(False, f"{prefix}/run", bochs.describe_failure(result))
    elif plan is None:
        tally.record(False, f"{prefix}/run", "  no TAP plan in the transcript")
    elif plan != len(results):
        tally.record(False, f"{prefix}/run",
                     f"  the plan said {plan} tests, {len(results)} reported\n" +
                     bochs.describe_failure(result))
    return results


def start_guest(build, kernel, selection):
    iso = mkiso(kernel, selection, os.path.join(build, "test", "guest.iso"))
    matrix = MATRIX
    if os.environ.get("MARROW_MATRIX"):
        matrix = []
        for e in os.environ["MARROW_MATRIX"].split(","):
            f = e.split(":")
            matrix.append((f[0], int(f[1]), int(f[2]) if len(f) > 2 else 128))
    started = []
    for model, cpus, mem in matrix:
        tag = f"{model}-{cpus}" + (f"-{mem}m" if mem != 128 else "")
        started.append((model, cpus, mem, boot(build, iso, model, cpus, tag, memory=mem)))

    def finish(tally, runs):
        for model, cpus, mem, future in started:
            result = future.result()
            runs.append((f"{model} x{cpus} {mem} MiB", result))
            name = f"{model}/x{cpus}" + (f"/{mem}m" if mem != 128 else "")
            results = tally_guest_run(tally, f"guest/{name}", result)
            print(f"guest {name.replace('/', ' ')}: {sum(r.ok for r in results)} passed, "
                  f"{sum(not r.ok for r in results)} failed, {result.status} "
                  f"in {result.seconds:.1f} s")
    return finish


def start_e2e(build, kernel):
    model, cpus = "tigerlake", 1
    checks = []  # (name for the socket check, future, check(tally, result))

    def start(suite, tag, check, timeout=GUEST_TIMEOUT, iso_name=None):
        iso = mkiso(kernel, suite, os.path.join(build, "test", f"{iso_name or tag}.iso"))
        checks.append((tag, boot(build, iso, model, cpus, tag, timeout=timeout), check))

    # A broken suite and an unknown suite name: exactly these fail, the
    # test after the failures still runs, and the run completes.
    def broken(tally, r):
        plan, results = bochs.parse_tap(r.serial)
        failed = sorted(t.name for t in results if not t.ok)
        passed = sorted(t.name for t in results if t.ok)
        want_failed = ["broken/failed_assertion", "broken/unexpected_exception",
                       "selection/unknown-suite"]
        tally.record(r.complete and plan == 4 and failed == want_failed and
                     passed == ["broken/passes_after_the_failures"],
                     "e2e/runner_reports_failed_assertion_exception_and_unknown_suite",
                     f"  plan {plan}, failed {failed}, passed {passed}\n" +
                     bochs.describe_failure(r))
    start("broken,no_such_suite", "broken", broken)

    for suite, want, timeout in (("hang", "timeout", 15), ("crash", "crashed", 60),
                                 ("panic", "failed", 60)):
        def reported(tally, r, suite=suite, want=want):
            tally.record(r.status == want, f"e2e/runner_reports_{suite}_as_{want}",
                         bochs.describe_failure(r))
        start(suite, suite, reported, timeout=timeout)

    # A triple fault in the guest under marrow: a full diagnostic, then the
    # run ends as failed (no hang, no silent reset).
    def triple_fault(tally, r):
        tally.record(r.status == "failed" and "fatal error in VMX root mode" in r.reason and
                     "marrow: FATAL on cpu 0: the guest triple-faulted" in r.serial and
                     "exit reason 2 (TRIPLE_FAULT)" in r.serial and "guest rip" in r.serial,
                     "e2e/guest_triple_fault_under_marrow_is_diagnosed",
                     bochs.describe_failure(r))
    start("vmx_triple_fault", "vmx_triple_fault", triple_fault, timeout=60, iso_name="vmx_tf")

    # An EPT violation no handler claims, and an EPT misconfiguration: each
    # ends the run with marrow's diagnostic, the entries of the walk in it.
    for suite, what in (("ept_violation", "marrow: EPT violation: gpa 3408000, write access"),
                        ("ept_misconfig", "marrow: EPT misconfiguration at gpa 3408000")):
        def diagnosed(tally, r, suite=suite, what=what):
            tally.record(r.status == "failed" and what in r.serial and
                         "marrow:   PTE " in r.serial and "marrow:   PML4E " in r.serial,
                         f"e2e/{suite}_is_diagnosed", bochs.describe_failure(r))
        start(suite, suite, diagnosed, timeout=60)

    def finish(tally, runs):
        for tag, future, check in checks:
            r = future.result()
            runs.append((tag, r))
            check(tally, r)

        # The detector itself finds a listening socket, so its silence
        # below means something.
        listener = subprocess.Popen([sys.executable, "-c",
                                     "import socket, time; s = socket.socket(); "
                                     "s.bind(('127.0.0.1', 0)); s.listen(); "
                                     "print('up', flush=True); time.sleep(30)"],
                                    stdout=subprocess.PIPE, text=True)
        listener.stdout.readline()
        seen = bochs.inet_sockets_of(listener.pid)
        listener.kill()
        listener.wait()
        tally.record(len(seen) == 1 and "tcp" in seen[0], "e2e/socket_detector_sees_a_listener",
                     f"  saw {seen}")

        # Every Bochs run of this test session, checked while it ran.
        bad = [f"  {name}: {s}" for name, r in runs for s in r.inet_sockets]
        tally.record(not bad and len(runs) > 0, "e2e/bochs_opens_no_network_socket",
                     "\n".join(bad) or "  no Bochs run was checked")
        print(f"e2e: {len(runs)} Bochs runs checked for sockets")
    return finish


# UEFI: OVMF in Bochs. Debian's kernel boots there only on skylake_x
# (../shared/BOCHS.md).
UEFI_GUEST_MATRIX = [("corei7_skylake_x", 1), ("corei7_skylake_x", 2), ("tigerlake", 4)]
UEFI_LINUX_MATRIX = [("corei7_skylake_x", 1), ("corei7_skylake_x", 2)]


def start_uefi(build):
    sys.path.insert(0, os.path.join(HERE, "e2e"))
    import uefi  # noqa: E402
    disk = uefi.guest_disk(build)
    guests = [(model, cpus, POOL.submit(uefi.boot, build, disk, model, cpus, f"{model}-{cpus}",
                                        timeout=240))
              for model, cpus in UEFI_GUEST_MATRIX]
    disk = uefi.linux_disk(build)
    linuxes = [(model, cpus, POOL.submit(uefi.boot, build, disk, model, cpus,
                                         f"linux-{model}-{cpus}", timeout=480, memory=256))
               for model, cpus in UEFI_LINUX_MATRIX]

    def finish(tally, runs):
        for model, cpus, future in guests:
            r = future.result()
            name = f"uefi/{model}/x{cpus}"
            runs.append((name, r))
            results = tally_guest_run(tally, name, r)
            tally.record("marrow: usage: marrowldr.efi" in r.serial and
                         "nothing was changed (no loader given)" in r.serial,
                         f"{name}/marrowldr_without_a_loader_changes_nothing",
                         bochs.describe_failure(r))
            tally.record("cannot load \\no\\such\\loader.efi" in r.serial,
                         f"{name}/marrowldr_with_a_missing_loader_changes_nothing",
                         bochs.describe_failure(r))
            tally.record(f"marrow: {cpus} of {cpus} CPUs virtualized" in r.serial,
                         f"{name}/marrow_efi_loads_on_every_cpu", bochs.describe_failure(r))
            # The seal hid exactly what marrowldr.efi (the last load) kept.
            kept = re.findall(r"(\d+) KiB of memory kept from the OS", r.serial)
            sealed = re.search(r"# sealed: \d+ pages \((\d+) KiB\)", r.serial)
            tally.record(bool(kept and sealed and kept[-1] == sealed.group(1)),
                         f"{name}/seal_hides_exactly_what_marrow_kept",
                         f"  kept {kept[-1] if kept else None} KiB, sealed "
                         f"{sealed.group(1) if sealed else None} KiB\n" +
                         bochs.describe_failure(r))
            print(f"{name.replace('/', ' ')}: {sum(t.ok for t in results)} passed, "
                  f"{sum(not t.ok for t in results)} failed, {r.status} in {r.seconds:.1f} s")
        for model, cpus, future in linuxes:
            r = future.result()
            name = f"uefi/linux/{model}/x{cpus}"
            runs.append((name, r))
            checks = {
                "boots_to_init_under_marrow": r.complete and "init: reached /init" in r.serial,
                "every_cpu_virtualized_before_the_kernel":
                    f"marrow: {cpus} of {cpus} CPUs virtualized" in r.serial,
                "cpuid_shows_no_vmx": "init: vmx flags 0" in r.serial,
                "nproc_equals_the_cpu_count": f"init: nproc {cpus}" in r.serial,
            }
            for check, ok in checks.items():
                tally.record(ok, f"{name}/{check}", bochs.describe_failure(r))
            print(f"{name.replace('/', ' ')}: {sum(checks.values())} passed, "
                  f"{len(checks) - sum(checks.values())} failed, {r.status} in {r.seconds:.1f} s")
    return finish


# marrow as a boot-time hypervisor (docs/boot.md): the multiboot and the
# multiboot2 builds of the bare-metal kernel booted by marrow as its guest,
# running the suites that make sense without VMX and the boot-time guest's
# own (bootguest), bringing up every CPU themselves.
BOOT_MATRIX = [("guest-mb2.elf", "corei7_skylake_x", 4), ("guest-mb1.elf", "corei7_icelake_u", 4),
               ("guest-mb2.elf", "tigerlake", 1)]
BOOT_SUITES = "smp,alloc,trap,bootguest"


def mkiso_guest(kernel, guest, guest_args, out, cmdline="", modules=""):
    env = dict(os.environ, MARROW_CMDLINE=cmdline, MARROW_GUEST=guest,
               MARROW_GUEST_ARGS=guest_args, MARROW_GUEST_MODULES=modules)
    subprocess.run(["bash", os.path.join(ROOT, "scripts/mkiso.sh"), kernel, "", out],
                   check=True, env=env)
    return out


def reserved_ranges(serial):
    """marrow's hidden ranges as it printed them, and the guest's memory map
    (the lines after the handoff)."""
    marrow, guest = [], []
    handed_off = False
    for line in serial.splitlines():
        m = re.match(r"marrow: reserved ([0-9a-f]+)-([0-9a-f]+) \(marrow\)", line)
        if m and not handed_off:
            marrow.append((int(m.group(1), 16), int(m.group(2), 16)))
        if "starting the guest" in line:
            handed_off = True
        m = re.match(r"marrow: memory ([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
        if m and handed_off:
            guest.append((int(m.group(1), 16), int(m.group(2), 16), m.group(3)))
    return marrow, guest


def start_boot(build, kernel):
    started = []  # (name, guest, model, cpus, future)
    for guest, model, cpus in BOOT_MATRIX:
        tag = f"boot-{guest.split('.')[0]}-{model}-{cpus}"
        iso = mkiso_guest(kernel, os.path.join(build, guest), f"tests={BOOT_SUITES}",
                          os.path.join(build, "test", f"{tag}.iso"))
        started.append((tag, guest, model, cpus, boot(build, iso, model, cpus, tag)))

    # The boot-time guest's suite is no tautology: the same kernel booted by
    # GRUB, without marrow, fails every one of its tests.
    iso = mkiso(os.path.join(build, "guest-mb2.elf"), "bootguest",
                os.path.join(build, "test", "bootguest-native.iso"))
    native = boot(build, iso, "corei7_skylake_x", 2, "bootguest-native")

    # Bad input to the loader: a clear refusal, and no guest runs.
    text = os.path.join(build, "test", "not-a-kernel.txt")
    with open(text, "w") as f:
        f.write("this is not a kernel\n" * 100)
    refusals = []
    for what, want, iso in (
            ("no_module", "no guest kernel: give it as the first module",
             mkiso(kernel, "", os.path.join(build, "test", "load-nothing.iso"), cmdline="load")),
            ("not_a_kernel", "neither a multiboot nor a multiboot2 kernel nor a Linux bzImage",
             mkiso_guest(kernel, text, "", os.path.join(build, "test", "load-text.iso")))):
        refusals.append((what, want, boot(build, iso, "tigerlake", 1, f"load-{what}", timeout=60)))

    def finish(tally, runs):
        for tag, guest, model, cpus, future in started:
            result = future.result()
            runs.append((tag, result))
            name = f"boot/{guest.split('.')[0]}/{model}/x{cpus}"
            results = tally_guest_run(tally, name, result)
            marrow, guest_map = reserved_ranges(result.serial)
            missing = [r for r in marrow if (r[0], r[1], "reserved") not in guest_map]
            tally.record(result.complete and len(marrow) == 2 and not missing,
                         f"{name}/guest_map_reserves_what_marrow_reserved",
                         f"  marrow: {marrow}\n  guest: {guest_map}\n  missing: {missing}")
            print(f"boot {guest} {model} x{cpus}: {sum(r.ok for r in results)} passed, "
                  f"{sum(not r.ok for r in results)} failed, {result.status} "
                  f"in {result.seconds:.1f} s")
        r = native.result()
        runs.append(("bootguest-native", r))
        plan, results = bochs.parse_tap(r.serial)
        tally.record(r.complete and plan == 6 and len(results) == 6 and
                     not any(t.ok for t in results),
                     "boot/bootguest_suite_fails_without_marrow",
                     f"  plan {plan}, passed {[t.name for t in results if t.ok]}\n" +
                     bochs.describe_failure(r))
        for what, want, future in refusals:
            r = future.result()
            runs.append((f"load-{what}", r))
            tally.record(r.status == "failed" and want in r.serial and
                         "the boot-time guest was not started" in r.reason and
                         "starting the guest" not in r.serial,
                         f"boot/loader_refuses_{what}", bochs.describe_failure(r))
    return finish


# Debian's Linux booted by marrow as its guest, once per CPU count, on the
# one model it boots on in Bochs 2.7 (BOCHS.md), with the MSRs Bochs lacks
# ignored as Linux needs. Its /init prints TAP (tests/e2e/linux_boot/init).
# On 2 CPUs the checks end about 10 s after the kernel starts, before the
# point where Debian's kernel on 2 Bochs CPUs stops taking timer interrupts
# (docs/linux.md); MARROW_LINUX_CPUS narrows this layer too.
BOOT_LINUX_CPUS = (1, 2)
BOOT_LINUX_TIMEOUT = 600  # as LINUX_TIMEOUT: the 2-CPU run took 378 s on a loaded machine


def e820_reserved(serial):
    return {(int(m.group(1), 16), int(m.group(2), 16)) for m in
            re.finditer(r"# e820: \[mem 0x([0-9a-f]+)-0x([0-9a-f]+)\] reserved", serial)}


def start_linux_boot(build, kernel, linux_dir):
    image = os.path.join(linux_dir, "image", "vmlinuz")
    initramfs = os.path.join(linux_dir, "boot-initramfs.cpio.gz")
    missing_files = [p for p in (image, initramfs) if not os.path.exists(p)]
    if missing_files:
        def missing(tally, runs):
            for path in missing_files:
                tally.record(False, "linux-boot/files", f"  {path} is missing (make linux-guest)")
        return missing
    # The stamp is the package version, then what was unpacked from it.
    with open(os.path.join(linux_dir, "image", "stamp")) as f:
        version = f.read().split()[0]
    cpus_list = BOOT_LINUX_CPUS
    if os.environ.get("MARROW_LINUX_CPUS"):
        cpus_list = [int(c) for c in os.environ["MARROW_LINUX_CPUS"].split(",")]
    started = []
    for cpus in cpus_list:
        tag = f"linux-boot-x{cpus}"
        # quiet: the boot log stays in dmesg, which /init reads; the serial
        # console's time goes to the checks.
        iso = mkiso_guest(kernel, image,
                          f"console=ttyS0,115200 quiet panic=-1 reboot=t marrow_test_cpus={cpus}",
                          os.path.join(build, "test", f"{tag}.iso"), modules=initramfs)
        started.append((cpus, tag, boot(build, iso, LINUX_MODEL, cpus, tag,
                                        timeout=BOOT_LINUX_TIMEOUT, memory=LINUX_MEMORY,
                                        ignore_bad_msrs=True)))

    def finish(tally, runs):
        for cpus, tag, future in started:
            result = future.result()
            runs.append((tag, result))
            name = f"linux-boot/x{cpus}"
            results = tally_guest_run(tally, name, result)
            marrow, _ = reserved_ranges(result.serial)
            seen = e820_reserved(result.serial)
            missing = [r for r in marrow if r not in seen]
            tally.record(result.complete and len(marrow) == 2 and not missing,
                         f"{name}/e820_reserves_what_marrow_reserved",
                         f"  marrow: {marrow}\n  e820 reserved: {sorted(seen)}")
            print(f"linux-boot {version} x{cpus}: {sum(r.ok for r in results)} passed, "
                  f"{sum(not r.ok for r in results)} failed, {result.status} "
                  f"in {result.seconds:.1f} s")
    return finish


def run_windows(tally, build):
    sys.path.insert(0, os.path.join(HERE, "e2e", "windows"))
    import pecheck  # noqa: E402
    before = tally.passed, len(tally.failed)
    pecheck.run(tally, build)
    # The pure files are those that include no NT header.
    pure = [os.path.join("src/platform/windows", f)
            for f in sorted(os.listdir(os.path.join(ROOT, "src/platform/windows")))
            if f.endswith(".c") and
            "nt_decls.h" not in open(os.path.join(ROOT, "src/platform/windows", f)).read()]
    p = subprocess.run(["cppcheck", "--quiet", "--error-exitcode=1",
                        "--enable=warning,style,performance,portability", "--std=c11",
                        "--inline-suppr", "--suppress=missingIncludeSystem",
                        "--suppress=unusedFunction", "--suppress=unmatchedSuppression",
                        "-I", ".", "-I", "src", "-D__x86_64__", "-D__GNUC__",
                        *pure, "tools/marrowctl/win/format.c"],
                       cwd=ROOT, capture_output=True, text=True)
    tally.record(p.returncode == 0 and len(pure) >= 5, "windows/cppcheck_pure_sources",
                 f"  {len(pure)} files\n{p.stdout}{p.stderr}")
    print(f"windows: {tally.passed - before[0]} passed, {len(tally.failed) - before[1]} failed")


def linux_host_checks(tally, linux_dir):
    """marrowctl on this host, where marrow is not loaded: the exit codes a
    script relies on."""
    ctl = os.path.join(linux_dir, "marrowctl")
    p = subprocess.run([ctl, "frobnicate"], capture_output=True, text=True)
    tally.record(p.returncode == 2 and "unknown command 'frobnicate'" in p.stderr
                 and "usage: marrowctl" in p.stderr,
                 "linux/host/marrowctl_frobnicate_prints_usage_exit_2",
                 f"  exit {p.returncode}, stderr:\n{p.stderr}")
    p = subprocess.run([ctl, "--json", "status"], capture_output=True, text=True)
    with open("/proc/cpuinfo") as f:
        cpuinfo = f.read()
    vmx = "GenuineIntel" in cpuinfo and re.search(r"^flags\s*:.*\bvmx\b", cpuinfo, re.M)
    if os.path.exists("/dev/marrow"):
        want, what = 0, "marrow_loaded"
    elif vmx:
        want, what = 3, "not_loaded_exit_3"
    else:
        want, what = 5, "unsupported_cpu_exit_5"
    tally.record(p.returncode == want, f"linux/host/marrowctl_status_{what}",
                 f"  exit {p.returncode}, wanted {want}; stderr:\n{p.stderr}")
    print(f"linux host: marrowctl status here exits {p.returncode} "
          f"({p.stderr.strip() or 'ok'})")


def start_linux(build, linux_dir):
    cpus_list = LINUX_CPUS
    if os.environ.get("MARROW_LINUX_CPUS"):
        cpus_list = [int(c) for c in os.environ["MARROW_LINUX_CPUS"].split(",")]
    # msr.ko (Debian's, from the image package): /dev/cpu/N/msr for the
    # MSR hook checks.
    tools = [os.path.join(linux_dir, "marrowctl"), os.path.join(linux_dir, "mwtest"),
             os.path.join(linux_dir, "image", "msr.ko")]
    started = []
    for cpus in cpus_list:
        iso = os.path.join(build, "test", f"linux-{cpus}.iso")
        # quiet: the boot log stays in dmesg (the scenario prints it on a
        # failure); the serial console's time goes to the test. pti=off:
        # the syscall (LSTAR) hook needs it (docs/linux.md); with KPTI on,
        # the scenario checks the refusal instead.
        # MARROW_LINUX_EXTRA: more for the kernel and /init (e.g. mw_hotplug=1).
        quick = " mw_quick=1" if cpus > 1 else ""
        extra = os.environ.get("MARROW_LINUX_EXTRA", "")
        env = dict(os.environ,
                   MARROW_LINUX_CMDLINE=f"quiet pti=off mw_cpus={cpus}{quick} {extra}".strip())
        subprocess.run(["bash", os.path.join(ROOT, "scripts/linux-iso.sh"), build,
                        os.path.join(ROOT, "tests/e2e/linux/init.sh"), iso] + tools,
                       check=True, env=env)
        cfg = bochs.Config(iso=iso, model=LINUX_MODEL, cpus=cpus, memory=LINUX_MEMORY,
                           timeout=LINUX_TIMEOUT, ignore_bad_msrs=True,
                           workdir=os.path.join(build, "test", f"linux-{cpus}"))
        started.append((cpus, cfg, submit(cfg)))

    def finish(tally, runs):
        linux_host_checks(tally, linux_dir)
        for cpus, cfg, future in started:
            result = future.result()
            runs.append((f"linux x{cpus}", result))
            results = tally_guest_run(tally, f"linux/x{cpus}", result)
            print(f"linux {LINUX_MODEL} x{cpus}: {sum(r.ok for r in results)} passed, "
                  f"{sum(not r.ok for r in results)} failed, {result.status} "
                  f"in {result.seconds:.1f} s (boot and scenario; "
                  f"console: {os.path.join(cfg.workdir, 'serial.txt')})")
    return finish


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--kernel")
    ap.add_argument("--guest-tests", default="all")
    ap.add_argument("--windows", metavar="BUILD",
                    help="check the Windows build under BUILD/windows (make windows)")
    ap.add_argument("--fuzz", metavar="BUILD",
                    help="run the fuzzers built under BUILD/fuzz (mk/fuzz.mk)")
    ap.add_argument("--fuzz-seconds", type=int, default=4, help="per fuzz target")
    ap.add_argument("--fuzz-targets", default="", help="space-separated fuzz targets")
    ap.add_argument("--uefi", metavar="BUILD",
                    help="run the UEFI layer with BUILD/uefi's images (make uefi)")
    ap.add_argument("--only",
                    choices=("unit", "guest", "boot", "linux-boot", "e2e", "windows", "fuzz",
                             "linux", "uefi"))
    ap.add_argument("--linux", metavar="DIR",
                    help="the Linux layers' files (make linux-test-prereqs linux-guest): "
                         "marrow.ko, marrowctl, mwtest, Debian's image, the boot-guest initramfs")
    ap.add_argument("unit_bins", nargs="*")
    args = ap.parse_args()

    start = time.monotonic()
    tally = Tally()
    runs = []
    global POOL
    jobs = int(os.environ.get("MARROW_JOBS", "0")) or min(2, os.cpu_count() or 1)
    POOL = concurrent.futures.ThreadPoolExecutor(max_workers=jobs)
    if args.only == "windows" and not args.windows:
        ap.error("--windows is needed for the windows layer")
    if args.only == "fuzz" and not (args.fuzz and args.fuzz_targets.split()):
        ap.error("--fuzz and --fuzz-targets are needed for the fuzz layer")
    if args.only in (None, "guest", "boot", "linux-boot", "e2e") and not args.kernel:
        ap.error("--kernel is needed for the guest, boot, linux-boot and e2e layers")
    if args.only == "uefi" and not args.uefi:
        ap.error("--uefi is needed for the uefi layer")
    if args.only in ("linux", "linux-boot") and not args.linux:
        ap.error(f"--only {args.only} needs --linux DIR")
    # The longest runs first, so that they overlap everything else.
    finishers = []
    if args.only in (None, "linux") and args.linux:
        finishers.append(start_linux(args.build, args.linux))
    if args.only in (None, "linux-boot") and args.linux:
        finishers.append(start_linux_boot(args.build, args.kernel, args.linux))
    if args.only in (None, "uefi") and args.uefi:
        finishers.append(start_uefi(args.uefi))
    if args.only in (None, "guest"):
        finishers.append(start_guest(args.build, args.kernel, args.guest_tests))
    if args.only in (None, "boot"):
        finishers.append(start_boot(args.build, args.kernel))
    if args.only in (None, "e2e"):
        finishers.append(start_e2e(args.build, args.kernel))
    if args.only in (None, "unit"):
        run_unit(tally, args.unit_bins)
    if args.only in (None, "windows") and args.windows:
        run_windows(tally, args.windows)
    # The fuzzers run for a fixed time each, alongside the Bochs runs.
    if args.only in (None, "fuzz") and args.fuzz:
        fuzz_run.run_bounded(tally, args.fuzz, args.fuzz_seconds, args.fuzz_targets.split())
    if args.only is None and not args.linux:
        print("linux, linux-boot: skipped (MARROW_SKIP_LINUX is set)")
    for finish in finishers:
        finish(tally, runs)
    POOL.shutdown()

    minutes = (time.monotonic() - start) / 60
    if tally.failed:
        print(f"failed tests ({len(tally.failed)}):")
        for name in tally.failed:
            print(f"  {name}")
    print(f"(took {minutes:.1f} min)")
    print(f"{tally.passed} passed, {len(tally.failed)} failed")
    return 1 if tally.failed else 0


if __name__ == "__main__":
    sys.exit(main())
