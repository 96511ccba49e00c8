#!/bin/sh
# The Linux end-to-end scenario: /init of the test initramfs
# (scripts/linux-iso.sh), run by Debian's kernel in Bochs. It prints TAP on
# the console (ttyS0), ends with the verdict line the runner waits for
# (tests/e2e/bochs.py) and powers off. The kernel command line gives
# mw_cpus=N, the CPU count Bochs was started with.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
# Kernel messages stay off the console (emergencies only): TAP lines must
# come out whole. dmesg keeps everything.
# mw_printk=N on the kernel command line shows more, for debugging.
echo "${mw_printk:-1}" >/proc/sys/kernel/printk

CPUS=${mw_cpus:-1}
LAST=$((CPUS - 1))
# mw_quick=1 (the 2-CPU run of make test): what needs more than one CPU and
# the basics around it, short enough to end before Debian's kernel stops
# taking timer interrupts on 2 Bochs CPUs, about 10 s after boot, with or
# without marrow (docs/linux.md). The 1-CPU run has everything.
QUICK=${mw_quick:-}
full() { [ -z "$QUICK" ]; }
# Sizes of the timed and repeated checks: smaller in the quick run.
if full; then FORKS=50 LOOPS=5000 LDT_SECONDS=4 SETTLE=1; else
	FORKS=10 LOOPS=1000 LDT_SECONDS=2 SETTLE=0.2
fi
KO=/marrow.ko
OUT=/tmp/out
n=0
failed=0
# What counts as the kernel being unwell in dmesg.
BAD='WARNING:|BUG:|Oops|general protection fault|Call Trace|kernel BUG|Unable to handle|stack-protector|soft lockup|hard LOCKUP|rcu_.*stall|double fault|Kernel panic'

ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}
not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
	[ -s $OUT ] && tail -n 40 $OUT | sed 's/^/# /'
	return 0
}
# check NAME CMD...: CMD succeeds.
check() {
	name=$1
	shift
	"$@" >$OUT 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then ok "$name"; else
		echo "($* exited $rc)" >>$OUT
		not_ok "$name"
	fi
}
# check_rc NAME RC CMD...: CMD exits with RC.
check_rc() {
	name=$1
	want=$2
	shift 2
	"$@" >$OUT 2>&1
	rc=$?
	if [ $rc -eq "$want" ]; then ok "$name"; else
		echo "($* exited $rc, expected $want)" >>$OUT
		not_ok "$name"
	fi
}
# check_sh NAME 'SHELL TEXT': the shell text, evaluated in a subshell of
# this one (its functions included), succeeds.
check_sh() {
	name=$1
	(eval "$2") >$OUT 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then ok "$name"; else
		echo "(exited $rc: $2)" >>$OUT
		not_ok "$name"
	fi
}
# show CMD...: CMD's output as TAP comments, for the person reading.
show() {
	"$@" 2>&1 | sed 's/^/# /'
}
json_field() { # json_field NAME: the value of "NAME": V on stdin
	sed -n "s/^ *\"$1\": *\([^,]*\),*$/\1/p" | head -n 1
}
module_loaded() {
	grep -q '^marrow ' /proc/modules
}

echo "# marrow Linux end-to-end: $(uname -r), $CPUS CPU(s), uptime $(cut -d" " -f1 /proc/uptime) s${QUICK:+, quick}"

# --- The native baseline ---------------------------------------------------
dmesg -c >/tmp/dmesg.boot
# dmesg is cleared now and then to look at one step's messages; what it
# said is kept here for the final check.
: >/tmp/dmesg.all
dmesg_take() {
	dmesg -c | tee -a /tmp/dmesg.all
}
TAINT0=$(cat /proc/sys/kernel/tainted)
echo "# native baseline: taint $TAINT0, boot log lines matching the warning patterns:"
grep -E "$BAD" /tmp/dmesg.boot | head -n 5 | sed 's/^/#   /'
check "native: $CPUS CPU(s) online" test "$(grep -c ^processor /proc/cpuinfo)" -eq "$CPUS"
check "native: CPUID shows VMX on every CPU" mwtest cpuid --vmx 1
check "native: VMX instructions at CPL 3 raise SIGILL on every CPU" mwtest vmx-insns
check "native: ioperm and port I/O work on every CPU" mwtest ioperm
if full; then
	check_rc "marrowctl without marrow loaded: exit 3 (not loaded)" 3 marrowctl status
	check_sh "marrowctl without marrow loaded: says how to load it" \
		"marrowctl status 2>&1 | grep -q 'marrow is not loaded.*insmod'"
	check_rc "marrowctl frobnicate: usage, exit 2" 2 marrowctl frobnicate
	check_sh "marrowctl frobnicate: names the bad command and prints the usage" \
		"marrowctl frobnicate 2>&1 | grep -q \"unknown command 'frobnicate'\" &&
		 marrowctl frobnicate 2>&1 | grep -q '^usage: marrowctl'"
	check_rc "marrowctl stats --cpu x: exit 2" 2 marrowctl stats --cpu x
	check "marrowctl help: exit 0" marrowctl help
fi

if full; then
	# --- Refused loads: bad parameters, then a failure injected at every step --
	# insmod_fails NAME ERRNO_TEXT DMESG_TEXT PARAMS...
	insmod_fails() {
		name=$1 errtext=$2 dmesgtext=$3
		shift 3
		dmesg_take >/dev/null
		insmod $KO "$@" >$OUT 2>&1
		rc=$?
		dmesg_take >>$OUT
		if [ $rc -ne 0 ] && grep -q "$errtext" $OUT && grep -q "$dmesgtext" $OUT &&
			! module_loaded && [ ! -e /dev/marrow ] && mwtest cpuid --vmx 1 >>$OUT; then
			ok "$name"
		else
			echo "(insmod $* exited $rc; wanted '$errtext' and '$dmesgtext'," \
				"no module, VMX visible again)" >>$OUT
			not_ok "$name"
		fi
	}
	insmod_fails "insmod fault_step=bogus: refused (EINVAL), the step named" \
		"Invalid argument" "fault_step=bogus: no such step" fault_cpu=0 fault_step=bogus
	insmod_fails "insmod fault_cpu=99: refused (EINVAL)" \
		"Invalid argument" "needs fault_cpu= an online CPU" fault_cpu=99 fault_step=vmxon
	insmod_fails "insmod fault_cpu without fault_step: refused (EINVAL)" \
		"Invalid argument" "needs fault_step= as well" fault_cpu=0
	insmod_fails "insmod identify=maybe: refused (EINVAL)" \
		"Invalid argument" "invalid for parameter" identify=maybe
	for step in support caps alloc vmxon vmclear vmptrld vmcs vmlaunch; do
		case $step in
		support | caps) err="No such device" ;;
		alloc) err="Cannot allocate memory" ;;
		*) err="Input/output error" ;;
		esac
		insmod_fails "failure injected on cpu $LAST at $step: insmod fails ($err), every CPU rolled back" \
			"$err" "cannot virtualize: cpu $LAST: $step: failure injected" \
			fault_cpu=$LAST fault_step=$step
	done
fi

# --- Loaded: every CPU virtualized, the kernel keeps working ---------------
check "insmod marrow.ko" insmod $KO debug_port=0x3f8 test_log=1
check_sh "dmesg: $CPUS of $CPUS CPUs virtualized" \
	"dmesg | grep -q 'marrow: $CPUS of $CPUS CPUs virtualized'"
show marrowctl status
check_sh "marrowctl status: active, every CPU virtualized" \
	"marrowctl --json status >/tmp/st && grep -q '\"active\": true' /tmp/st &&
	 [ \"\$(json_field virtualized_count </tmp/st)\" = $CPUS ]"
check_sh "sysfs: /sys/kernel/marrow says active, CPUs 0-$LAST virtualized" \
	"[ \$(cat /sys/kernel/marrow/active) = 1 ] &&
	 [ \$(cat /sys/kernel/marrow/virtualized_count) = $CPUS ] &&
	 [ \$(cat /sys/kernel/marrow/cpu$LAST/virtualized) = 1 ]"
check "CPUID shows no VMX on any CPU (marrow hides it)" mwtest cpuid --vmx 0
check "processes: $FORKS forked children run and exit with their codes" mwtest fork $FORKS
check_sh "files: 1 MiB written, copied and read back intact" \
	"dd if=/dev/urandom of=/tmp/a bs=64k count=16 2>/dev/null && cp /tmp/a /tmp/b &&
	 [ \"\$(md5sum </tmp/a)\" = \"\$(md5sum </tmp/b)\" ] && [ \$(wc -c </tmp/b) = 1048576 ]"
check_sh "/proc/cpuinfo: $CPUS processors, each with a model name" \
	"[ \$(grep -c ^processor /proc/cpuinfo) = $CPUS ] &&
	 [ \$(grep -c '^model name' /proc/cpuinfo) = $CPUS ]"
if full; then
	check_sh "time: sleep 1 lasts a second of uptime" \
		"a=\$(cut -d. -f1 /proc/uptime); sleep 1; b=\$(cut -d. -f1 /proc/uptime);
		 [ \$((b - a)) -ge 1 ] && [ \$((b - a)) -le 3 ]"
fi
check "a user-space loop of CPUID and system calls on every CPU" mwtest loop $LOOPS
cat $OUT | sed 's/^/# /'
check_sh "marrowctl stats: CPUID exits counted on every CPU" \
	"[ \$(marrowctl --json stats | grep -c '\"CPUID\": [1-9]') = $CPUS ]"
show marrowctl stats
check "VMX instructions at CPL 3 raise SIGILL under marrow too" mwtest vmx-insns
check_sh "marrowctl stats: the refused VMCALLs are counted" \
	"marrowctl --json stats | grep -q '\"hypercalls_refused\": [1-9]'"
if full; then
	check_rc "marrowctl as a non-root user: refused, exit 4" 4 \
		mwtest asuser 65534 /bin/marrowctl status
	check_sh "marrowctl as a non-root user: says it needs root" \
		"mwtest asuser 65534 /bin/marrowctl status 2>&1 | grep -q 'permission denied.*root'"
	chmod 666 /dev/marrow
	check_rc "non-root with the node made world-writable: the driver still refuses (exit 4)" 4 \
		mwtest asuser 65534 /bin/marrowctl status
	chmod 600 /dev/marrow
	check_sh "marrowctl log: every CPU's root-mode ring drained (test_log records)" \
		"[ \$(marrowctl log | grep -c '^cpu[0-9]*: log test: a record in cpu') = $CPUS ]"
	check_sh "dmesg: the same records, drained into printk" \
		"[ \$(dmesg | grep -c 'marrow: cpu[0-9]*: log test') = $CPUS ]"
fi

# --- Hooks: a counting inline hook, MSR hooks, the syscall hook -------------
FN=__x64_sys_getpriority
# syscall_count NR: NR's count in marrowctl syscalls (0 when not listed).
syscall_count() {
	marrowctl --json syscalls --top 512 |
		awk -v nr="$1" '/"nr": /{n=$2; sub(",", "", n)} /"count": /{if (n == nr) c=$2} END{print c+0}'
}
mwtest kread $FN 16 >/tmp/bytes0
show cat /tmp/bytes0
check "hook add $FN: a counting hook" marrowctl hook add $FN
check_sh "sysfs: hooks_inline is 1" "[ \$(cat /sys/kernel/marrow/hooks_inline) = 1 ]"
check_sh "$FN's bytes read as before through /proc/kcore (the read view)" \
	"mwtest kread $FN 16 >/tmp/bytes1 && cmp /tmp/bytes0 /tmp/bytes1"
check "1000 getpriority calls through the hooked function" mwtest sys getpriority 1000
check_sh "hook list: exactly the 1000 calls counted" \
	"[ \"\$(marrowctl --json hook list | json_field hits)\" = 1000 ]"
show marrowctl hook list
if full; then
	check "processes run with the function hooked" mwtest fork 10
	check_rc "hook add $FN again: refused, already hooked (exit 7)" 7 marrowctl hook add $FN
	check_sh "hook add $FN again: says it is already hooked" \
		"marrowctl hook add $FN 2>&1 | grep -q 'already hooked'"
	check_rc "hook add of an unknown symbol: exit 6" 6 marrowctl hook add no_such_function_xyz
	check_sh "hook add of an unknown symbol: names it" \
		"marrowctl hook add no_such_function_xyz 2>&1 | grep -q \"no kernel symbol 'no_such_function_xyz'\""
	check_rc "hook add of a data symbol (jiffies): refused (exit 2)" 2 marrowctl hook add jiffies
	check_rc "hook remove of a function not hooked: exit 6" 6 marrowctl hook remove __x64_sys_getppid
	check_rc "hook with no symbol: usage (exit 2)" 2 marrowctl hook add
fi
check_sh "hook remove $FN: reports the 1000 calls" \
	"marrowctl hook remove $FN | grep -q 'after 1000 calls'"
check_sh "after hook remove: the bytes are the original, no hook listed" \
	"mwtest kread $FN 16 >/tmp/bytes2 && cmp /tmp/bytes0 /tmp/bytes2 &&
	 mwtest sys getpriority 10 && ! marrowctl --json hook list | grep -q hits"

if full; then
	# MSR 0x1a0 (IA32_MISC_ENABLE), which the kernel reads only when asked:
	# here through msr.ko's /dev/cpu/0/msr, i.e. the kernel's own RDMSR.
	check "insmod msr.ko (/dev/cpu/N/msr)" insmod /msr.ko
	MSR0=$(mwtest rdmsr 0x1a0 1)
	check_rc "msr-hook add 0x3a (FEATURE_CONTROL): refused (exit 2)" 2 marrowctl msr-hook add 0x3a
	check_sh "msr-hook add 0x3a: says marrow answers it itself" \
		"marrowctl msr-hook add 0x3a 2>&1 | grep -q 'marrow answers this MSR itself'"
	check_rc "msr-hook add 0x12345678: no such MSR index (exit 2)" 2 marrowctl msr-hook add 0x12345678
	check_sh "msr-hook add 0x12345678: says why" \
		"marrowctl msr-hook add 0x12345678 2>&1 | grep -q 'no such MSR index'"
	check_rc "msr-hook add zz: not a number (exit 2)" 2 marrowctl msr-hook add zz
	check_rc "msr-hook add --write bogus: exit 2" 2 marrowctl msr-hook add 0x1a0 --write bogus
	check "msr-hook add 0x1a0 --read shadow --shadow 0x5a5a --write ignore" \
		marrowctl msr-hook add 0x1a0 --read shadow --shadow 0x5a5a --write ignore
	check_sh "the kernel's RDMSR of 0x1a0 (was $MSR0) returns the shadow 0x5a5a, 100 times" \
		"[ \"\$(mwtest rdmsr 0x1a0 100)\" = 0x5a5a ]"
	check_sh "msr-hook list: exactly the 100 reads counted" \
		"[ \"\$(marrowctl --json msr-hook list | json_field reads)\" = 100 ]"
	show marrowctl msr-hook list
	check_rc "msr-hook add 0x1a0 again: exit 7" 7 marrowctl msr-hook add 0x1a0
	check "msr-hook remove 0x1a0" marrowctl msr-hook remove 0x1a0
	check_sh "after msr-hook remove: RDMSR of 0x1a0 gives $MSR0 again" \
		"[ \"\$(mwtest rdmsr 0x1a0 1)\" = \"$MSR0\" ]"
	check_rc "msr-hook remove 0x1a0 again: not hooked (exit 6)" 6 marrowctl msr-hook remove 0x1a0

	if grep -q -w pti /proc/cpuinfo; then
		check_rc "syscalls on under kernel page-table isolation: unsupported (exit 5)" 5 \
			marrowctl syscalls on
		check_sh "syscalls on under KPTI: says to boot with pti=off" \
			"marrowctl syscalls on 2>&1 | grep -q 'pti=off'"
	else
		# LSTAR as the kernel's RDMSR sees it (msr.ko), before and under the hook.
		LSTAR0=$(mwtest rdmsr 0xc0000082 1)
		check "syscalls on (the kernel runs with pti=off)" marrowctl syscalls on
		check_sh "syscalls: RDMSR(LSTAR) still gives the kernel's entry ($LSTAR0), not the stub" \
			"marrowctl --json syscalls >/tmp/sc && [ \"\$(mwtest rdmsr 0xc0000082 1)\" = $LSTAR0 ] &&
			 [ \"\$(json_field entry </tmp/sc | tr -d '\"')\" = $LSTAR0 ] &&
			 [ \"\$(json_field stub </tmp/sc | tr -d '\"')\" != $LSTAR0 ]"
		before=$(syscall_count 39)
		mwtest sys getpid 5000 >/dev/null
		after=$(syscall_count 39)
		check "syscalls: 5000 getpid calls counted exactly ($before, then $after)" \
			test $((after - before)) -eq 5000
		show marrowctl syscalls --top 5
		check_rc "syscalls on again: already on (exit 7)" 7 marrowctl syscalls on
		check_sh "sysfs: syscall_hook is 1, syscalls counted" \
			"[ \$(cat /sys/kernel/marrow/syscall_hook) = 1 ] &&
			 [ \$(cat /sys/kernel/marrow/syscalls) -ge 5000 ]"
		check "processes run under the syscall hook" mwtest fork 10
		check "syscalls off" marrowctl syscalls off
		check_rc "syscalls with the hook off: exit 1" 1 marrowctl syscalls
		check "syscalls on again, left on for rmmod" marrowctl syscalls on
	fi
fi
if full; then
	check "hook add $FN again, left for rmmod" marrowctl hook add $FN
fi

# The quick run leaves CPU hotplug out unless mw_hotplug=1: after hooks,
# taking a CPU offline and online again makes the LDT and rmmod step below
# hang on 2 Bochs CPUs; not diagnosed yet (docs/linux.md). The quick run
# without hooks passes the hotplug, and so do the hooks without it.
if [ "$CPUS" -gt 1 ] && { full || [ -n "${mw_hotplug:-}" ]; }; then
	check "cpu $LAST goes offline" sh -c "echo 0 >/sys/devices/system/cpu/cpu$LAST/online"
	check_sh "cpu $LAST left VMX before going offline; the others stay virtualized" \
		"dmesg | grep -q 'cpu $LAST devirtualized before going offline' &&
		 [ \"\$(marrowctl --json status | json_field virtualized_count)\" = $((CPUS - 1)) ]"
	check "cpu $LAST comes online" sh -c "echo 1 >/sys/devices/system/cpu/cpu$LAST/online"
	check_sh "cpu $LAST is virtualized again as it comes online" \
		"dmesg | grep -q 'cpu $LAST came online and is virtualized' &&
		 [ \"\$(marrowctl --json status | json_field virtualized_count)\" = $CPUS ]"
	check "CPUID shows no VMX on any CPU after the hotplug" mwtest cpuid --vmx 0
	check "processes run after the hotplug" mwtest fork 20
fi
if [ "$CPUS" -gt 1 ]; then
	# A process using an LDT runs on cpu LAST while marrow leaves every
	# CPU under it (a VM exit nulls LDTR; the platform reloads it).
	echo "# uptime $(cut -d' ' -f1 /proc/uptime) s"
	mwtest ldt $LDT_SECONDS $LAST >/tmp/ldt 2>&1 &
	ldt_pid=$!
	sleep $SETTLE
	check "rmmod marrow while a process reloads LDT selectors on cpu $LAST" rmmod marrow
	wait $ldt_pid
	ldt_rc=$?
	cp /tmp/ldt $OUT
	if [ $ldt_rc -eq 0 ]; then ok "the LDT process survived the devirtualization"; else
		not_ok "the LDT process survived the devirtualization"
	fi
else
	check "rmmod marrow" rmmod marrow
fi
check_sh "dmesg: $CPUS CPU(s) devirtualized" \
	"dmesg | grep -q 'marrow: $CPUS CPU(s) devirtualized, unloaded'"
check "after rmmod: CPUID shows VMX again on every CPU" mwtest cpuid --vmx 1
check "after rmmod: ioperm and port I/O work on every CPU (TR limit restored)" mwtest ioperm
check "after rmmod: processes run" mwtest fork 20
check_sh "after rmmod (with the hooks left on): system calls work" \
	"mwtest sys getpriority 10 && mwtest sys getpid 10 && mwtest kread $FN 16 >/tmp/bytes3 &&
	 cmp /tmp/bytes0 /tmp/bytes3"
check_rc "after rmmod: marrowctl says not loaded (exit 3)" 3 marrowctl status

if full; then
	# --- Loaded again; devirtualized through marrowctl -------------------------
	check "insmod again" insmod $KO
	check_sh "every CPU virtualized again" \
		"[ \"\$(marrowctl --json status | json_field virtualized_count)\" = $CPUS ]"
	check "marrowctl unload" marrowctl unload
	check_sh "after marrowctl unload: inactive, no CPU virtualized, module still loaded" \
		"marrowctl --json status >/tmp/st && grep -q '\"active\": false' /tmp/st &&
		 [ \"\$(json_field virtualized_count </tmp/st)\" = 0 ] && grep -q '^marrow ' /proc/modules"
	check "after marrowctl unload: CPUID shows VMX on every CPU" mwtest cpuid --vmx 1
	check_sh "after marrowctl unload: stats give the final counts" \
		"marrowctl --json stats | grep -q '\"final\": true'"
	check_sh "marrowctl unload again: already inactive, exit 0" \
		"marrowctl unload | grep -q 'already inactive'"
	check "after marrowctl unload: ioperm and port I/O work on every CPU" mwtest ioperm
	check "rmmod after marrowctl unload" rmmod marrow

	# --- identify=1: marrow shows itself through CPUID --------------------------
	check "insmod identify=1" insmod $KO identify=1
	check_sh "identify=1: CPUID's hypervisor bit is set on every CPU, VMX still hidden" \
		"[ \$(mwtest cpuid --vmx 0 | grep -c 'hypervisor=1') = $CPUS ]"
	check "rmmod" rmmod marrow
fi

# --- The kernel is as healthy as it booted ---------------------------------
dmesg_take >/dev/null
cp /tmp/dmesg.all /tmp/dmesg.run
check_sh "dmesg since boot: no warning, BUG, oops, lockup or stall" \
	"! grep -E '$BAD' /tmp/dmesg.run"
TAINT=$(cat /proc/sys/kernel/tainted)
# O (out-of-tree, 4096) and E (unsigned, 8192) come with any module built
# outside the kernel tree; anything else is new.
check "taint: $TAINT, nothing beyond the boot's ($TAINT0) and O|E for an unsigned external module" \
	test $((TAINT & ~(TAINT0 | 4096 | 8192))) -eq 0
if [ $failed -ne 0 ]; then
	echo "# dmesg of the run:"
	tail -n 60 /tmp/dmesg.run | sed 's/^/#   /'
fi

echo "1..$n"
echo "# linux $CPUS CPU(s): $((n - failed)) passed, $failed failed"
echo "marrow: run complete"
# Every byte out of the UART before the power goes.
mwtest drain
poweroff -f
