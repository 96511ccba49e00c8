"""Boot an ISO in Bochs headless and read what the kernel printed.

Bochs' `term` display runs inside a pseudo-terminal (`script`), so nothing
opens a window or a network port; the kernel's console is COM1, written to a
file. The run ends when Bochs exits or the timeout passes. While Bochs runs,
its open sockets are checked: an internet socket is a failure (the `rfb`
display would listen on TCP 5900).
"""

import dataclasses
import os
import re
import signal
import subprocess
import sys
import time

BIOS = "/usr/share/bochs/BIOS-bochs-latest"
VGABIOS = "/usr/share/vgabios/vgabios.bin"
OVMF = "/usr/share/ovmf/OVMF.fd"

VERDICT_COMPLETE = "marrow: run complete"
VERDICT_FAILED = "marrow: run failed"


@dataclasses.dataclass
class Config:
    iso: str
    model: str = "tigerlake"
    cpus: int = 2
    memory: int = 128
    timeout: float = 120.0
    workdir: str = "build/run"
    ignore_bad_msrs: bool = False
    rom: str = BIOS
    stream: bool = False
    extra_cpu: str = ""
    # A raw disk image (UEFI runs: a FAT volume OVMF boots from) instead
    # of the ISO.
    disk: str = ""


@dataclasses.dataclass
class Result:
    status: str  # complete | failed | timeout | crashed
    reason: str
    serial: str
    exit_code: int
    seconds: float
    log_path: str
    log_findings: list
    inet_sockets: list

    @property
    def complete(self):
        return self.status == "complete"


def bochsrc(cfg: Config) -> str:
    cpu = (f"cpu: model={cfg.model}, count={cfg.cpus}, ips=10000000, "
           f"reset_on_triple_fault=0, ignore_bad_msrs={int(cfg.ignore_bad_msrs)}")
    if cfg.extra_cpu:
        cpu += ", " + cfg.extra_cpu
    lines = [
        f"memory: guest={cfg.memory}, host={cfg.memory}",
        f"romimage: file={cfg.rom}",
        f"vgaromimage: file={VGABIOS}",
        "display_library: term",
        *(["boot: disk", f"ata0-master: type=disk, path={os.path.abspath(cfg.disk)}, mode=flat"]
          if cfg.disk else
          ["boot: cdrom",
           f"ata0-master: type=cdrom, path={os.path.abspath(cfg.iso)}, status=inserted"]),
        "com1: enabled=1, mode=file, dev=serial.txt",
        "clock: sync=none, time0=946681200",
        cpu,
        "magic_break: enabled=1",
        "log: bochs.log",
        "panic: action=fatal",
        "error: action=report",
        "info: action=report",
        "debug: action=ignore",
        "speaker: enabled=0",
        "sound: driver=dummy",
        "mouse: enabled=0",
    ]
    return "\n".join(lines) + "\n"


def _descendants(pid):
    """PIDs of pid and every process below it."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def _inet_socket_inodes():
    inodes = {}
    for name in ("tcp", "tcp6", "udp", "udp6", "raw", "raw6"):
        try:
            with open(f"/proc/net/{name}") as f:
                next(f)
                for line in f:
                    fields = line.split()
                    inodes[fields[9]] = f"{name} {fields[1]} state {fields[3]}"
        except OSError:
            continue
    return inodes


def inet_sockets_of(pid):
    """Internet sockets held by pid or its descendants."""
    found = []
    inet = None
    for p in _descendants(pid):
        try:
            fds = os.listdir(f"/proc/{p}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{p}/fd/{fd}")
            except OSError:
                continue
            m = re.match(r"socket:\[(\d+)\]", target)
            if not m:
                continue
            if inet is None:
                inet = _inet_socket_inodes()
            if m.group(1) in inet:
                found.append(f"pid {p} fd {fd}: {inet[m.group(1)]}")
    return found


LOG_PATTERNS = re.compile(r"VMFAIL|VMENTER FAIL|VMEXIT|PANIC|triple fault|"
                          r"shutdown status|\[CPU\d+\s*\].*exception", re.I)


def _log_findings(path, limit=40):
    try:
        with open(path, errors="replace") as f:
            lines = [l.rstrip() for l in f if LOG_PATTERNS.search(l)]
    except OSError:
        return []
    return lines[:limit]


def run(cfg: Config) -> Result:
    os.makedirs(cfg.workdir, exist_ok=True)
    rc_path = os.path.join(cfg.workdir, "bochsrc")
    dbg_path = os.path.join(cfg.workdir, "debugger.rc")
    serial_path = os.path.join(cfg.workdir, "serial.txt")
    log_path = os.path.join(cfg.workdir, "bochs.log")
    # Bochs locks a disk image while it runs; a run that was killed leaves
    # the lock behind.
    stale = [cfg.disk + ".lock"] if cfg.disk else []
    for p in (serial_path, log_path, *stale):
        if os.path.exists(p):
            os.unlink(p)
    with open(rc_path, "w") as f:
        f.write(bochsrc(cfg))
    # The debugger stops before the first instruction: continue; at the
    # magic breakpoint that ends a run, quit.
    with open(dbg_path, "w") as f:
        f.write("c\nquit\n")

    cmd = "bochs -q -f bochsrc -rc debugger.rc"
    env = dict(os.environ, TERM="xterm")
    term_out = open(os.path.join(cfg.workdir, "term.out"), "wb")
    start = time.monotonic()
    proc = subprocess.Popen(["script", "-qfec", cmd, "/dev/null"], cwd=cfg.workdir,
                            stdin=subprocess.DEVNULL, stdout=term_out,
                            stderr=subprocess.STDOUT, env=env, start_new_session=True)
    streamed = 0
    sockets = []
    timed_out = False
    next_socket_check = 0.0
    while True:
        code = proc.poll()
        now = time.monotonic()
        if now >= next_socket_check and code is None:
            for s in inet_sockets_of(proc.pid):
                if s not in sockets:
                    sockets.append(s)
            next_socket_check = now + 0.5
        if cfg.stream:
            streamed = _stream(serial_path, streamed)
        if code is not None:
            break
        if now - start > cfg.timeout:
            timed_out = True
            _kill(proc)
            break
        time.sleep(0.05)
    seconds = time.monotonic() - start
    term_out.close()
    if cfg.stream:
        _stream(serial_path, streamed)

    try:
        with open(serial_path, "rb") as f:
            serial = f.read().decode("utf-8", "replace").replace("\r\n", "\n")
    except OSError:
        serial = ""
    findings = _log_findings(log_path)
    status, reason = _verdict(serial, timed_out, cfg.timeout, findings)
    return Result(status, reason, serial, proc.returncode if proc.returncode is not None else -1,
                  seconds, log_path, findings, sockets)


def _kill(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _stream(path, offset):
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except OSError:
        return offset
    if data:
        sys.stdout.write(data.decode("utf-8", "replace").replace("\r\n", "\n"))
        sys.stdout.flush()
    return offset + len(data)


def _verdict(serial, timed_out, timeout, findings):
    for line in serial.splitlines():
        if line.startswith(VERDICT_COMPLETE):
            return "complete", ""
        if line.startswith(VERDICT_FAILED):
            return "failed", line[len(VERDICT_FAILED):].lstrip(": ")
    if timed_out:
        return "timeout", f"no verdict within {timeout:.0f} s (hang)"
    detail = next((l for l in findings if re.search(r"PANIC|triple fault", l, re.I)), "")
    return "crashed", "Bochs ended without a verdict" + (f": {detail}" if detail else "")


@dataclasses.dataclass
class TapResult:
    number: int
    ok: bool
    name: str
    diagnostics: list


def parse_tap(text):
    """Returns (plan or None, [TapResult])."""
    plan = None
    results = []
    pending_diag = []
    for line in text.splitlines():
        m = re.match(r"^1\.\.(\d+)\s*$", line)
        if m:
            plan = int(m.group(1))
            continue
        m = re.match(r"^(not ok|ok)\s+(\d+)\s*-?\s*(.*)$", line)
        if m:
            results.append(TapResult(int(m.group(2)), m.group(1) == "ok", m.group(3).strip(),
                                     pending_diag))
            pending_diag = []
            continue
        if line.startswith("#"):
            pending_diag.append(line)
    return plan, results


def describe_failure(result: Result, tail=30):
    """The transcript's tail and the Bochs log lines that explain a bad run."""
    out = [f"  status: {result.status} ({result.reason}), Bochs exit code {result.exit_code}"]
    lines = result.serial.splitlines()
    out.append(f"  last {min(tail, len(lines))} lines of the console:")
    out += ["    | " + l for l in lines[-tail:]]
    if result.log_findings:
        out.append(f"  from {result.log_path}:")
        out += ["    " + l for l in result.log_findings]
    return "\n".join(out)
