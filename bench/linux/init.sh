#!/bin/sh
# /init of the Linux benchmark's initramfs (scripts/linux-iso.sh): the
# workloads of mwbench timed natively, then with marrow.ko loaded, then the
# verdict line bench/report.py waits for. Nothing here is a test: a
# failure prints BENCH-ERROR and the report stops.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
echo 1 >/proc/sys/kernel/printk
head -c 262144 /bin/busybox >/tmp/data

run_all() {
	for w in compress getpid "exec /bin/gzip -c /tmp/data"; do
		# shellcheck disable=SC2086 # the workload's words are its arguments
		out=$(mwbench $w) || { echo "BENCH-ERROR mwbench $w failed"; return 1; }
		echo "$out $1"
	done
}

if run_all native && insmod /marrow.ko && run_all marrow && rmmod marrow; then
	echo "marrow: run complete"
else
	echo "BENCH-ERROR see above"
	echo "marrow: run failed"
fi
mwtest drain 2>/dev/null
poweroff -f
