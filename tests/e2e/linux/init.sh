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

echo "# marrow Linux end-to-end: $(uname -r), $CPUS CPU(s)"

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
check_rc "marrowctl without marrow loaded: exit 3 (not loaded)" 3 marrowctl status
check_sh "marrowctl without marrow loaded: says how to load it" \
	"marrowctl status 2>&1 | grep -q 'marrow is not loaded.*insmod'"
check_rc "marrowctl frobnicate: usage, exit 2" 2 marrowctl frobnicate
check_sh "marrowctl frobnicate: names the bad command and prints the usage" \
	"marrowctl frobnicate 2>&1 | grep -q \"unknown command 'frobnicate'\" &&
	 marrowctl frobnicate 2>&1 | grep -q '^usage: marrowctl'"
check_rc "marrowctl stats --cpu x: exit 2" 2 marrowctl stats --cpu x
check "marrowctl help: exit 0" marrowctl help

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
check "processes: 50 forked children run and exit with their codes" mwtest fork 50
check_sh "files: 1 MiB written, copied and read back intact" \
	"dd if=/dev/urandom of=/tmp/a bs=64k count=16 2>/dev/null && cp /tmp/a /tmp/b &&
	 [ \"\$(md5sum </tmp/a)\" = \"\$(md5sum </tmp/b)\" ] && [ \$(wc -c </tmp/b) = 1048576 ]"
check_sh "/proc/cpuinfo: $CPUS processors, each with a model name" \
	"[ \$(grep -c ^processor /proc/cpuinfo) = $CPUS ] &&
	 [ \$(grep -c '^model name' /proc/cpuinfo) = $CPUS ]"
check_sh "time: sleep 1 lasts a second of uptime" \
	"a=\$(cut -d. -f1 /proc/uptime); sleep 1; b=\$(cut -d. -f1 /proc/uptime);
	 [ \$((b - a)) -ge 1 ] && [ \$((b - a)) -le 3 ]"
check "a user-space loop of CPUID and system calls on every CPU" mwtest loop 5000
cat $OUT | sed 's/^/# /'
check_sh "marrowctl stats: CPUID exits counted on every CPU" \
	"[ \$(marrowctl --json stats | grep -c '\"CPUID\": [1-9]') = $CPUS ]"
show marrowctl stats
check "VMX instructions at CPL 3 raise SIGILL under marrow too" mwtest vmx-insns
check_sh "marrowctl stats: the refused VMCALLs are counted" \
	"marrowctl --json stats | grep -q '\"hypercalls_refused\": [1-9]'"
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

if [ "$CPUS" -gt 1 ]; then
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
	# A process using an LDT runs on cpu LAST while marrow leaves every
	# CPU under it (a VM exit nulls LDTR; the platform reloads it).
	mwtest ldt 4 $LAST >/tmp/ldt 2>&1 &
	ldt_pid=$!
	sleep 1
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
check_rc "after rmmod: marrowctl says not loaded (exit 3)" 3 marrowctl status

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
