/* mwtest: the user-space probes of the Linux end-to-end scenario (init.sh),
 * built static for the busybox initramfs. Each subcommand prints what it
 * saw, one line per CPU, and exits 0 when it saw what it expects.
 *
 *   cpuid [--vmx 0|1]       CPUID.1:ECX.VMX on every online CPU
 *   loop N                  N rounds of CPUID and system calls on every CPU
 *   vmx-insns               VMCALL, VMXON, VMPTRST, VMREAD at CPL 3: SIGILL
 *   ioperm                  ioperm() and an OUT to port 0x80 on every CPU
 *   ldt SECONDS CPU         reload an LDT selector on CPU for SECONDS
 *   fork N                  N processes that run and exit with known codes
 *   asuser UID CMD [ARG...] run CMD as UID (no capabilities)
 *   drain                   wait until the console has sent everything
 */
#define _GNU_SOURCE
#include <asm/ldt.h>
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define CPUID_1_ECX_VMX (1u << 5)
#define CPUID_1_ECX_HYPERVISOR (1u << 31)

static int cpu_slots(void)
{
	return (int)sysconf(_SC_NPROCESSORS_CONF);
}

/* Moves the caller onto cpu; false when that CPU is offline. */
static bool pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) == 0 && sched_getcpu() == cpu;
}

static int cmd_cpuid(int argc, char **argv)
{
	int want = -1, bad = 0, seen = 0;

	if (argc == 2 && !strcmp(argv[0], "--vmx"))
		want = atoi(argv[1]);
	for (int cpu = 0; cpu < cpu_slots(); cpu++) {
		unsigned a, b, c, d;
		if (!pin(cpu))
			continue;
		__cpuid(1, a, b, c, d);
		int vmx = !!(c & CPUID_1_ECX_VMX);
		printf("cpu %d: vmx=%d hypervisor=%d\n", cpu, vmx, !!(c & CPUID_1_ECX_HYPERVISOR));
		seen++;
		if (want >= 0 && vmx != want)
			bad++;
	}
	return seen && !bad ? 0 : 1;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmd_loop(int argc, char **argv)
{
	long rounds = argc > 0 ? atol(argv[0]) : 1000;
	int fd = open("/dev/null", O_WRONLY);
	int bad = 0;

	if (fd < 0 || rounds <= 0)
		return 2;
	for (int cpu = 0; cpu < cpu_slots(); cpu++) {
		unsigned a0, b0, c0, d0, a, b, c, d;
		long mismatches = 0;
		if (!pin(cpu))
			continue;
		double t = now();
		__cpuid(0, a0, b0, c0, d0);
		for (long i = 0; i < rounds; i++) {
			__cpuid(0, a, b, c, d);
			if (a != a0 || b != b0 || c != c0 || d != d0)
				mismatches++;
			__cpuid(1, a, b, c, d);
			if (syscall(SYS_getppid) != getppid())
				mismatches++;
			if (write(fd, "x", 1) != 1 || sched_getcpu() != cpu)
				mismatches++;
		}
		printf("cpu %d: %ld rounds of CPUID and system calls in %.3f s, %ld mismatches\n",
		       cpu, rounds, now() - t, mismatches);
		bad += mismatches != 0;
	}
	close(fd);
	return bad ? 1 : 0;
}

/* Runs fn in a child on cpu; returns the signal that ended it, 0 for a
 * normal exit, -1 when the CPU is offline. */
static int in_child(int cpu, void (*fn)(void *), void *arg, int *exit_code)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		if (!pin(cpu))
			_exit(100);
		fn(arg);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -2;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 100)
		return -1;
	*exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

static uint64_t vmx_region[512] __attribute__((aligned(4096)));

static void do_vmcall(void *arg)
{
	(void)arg;
	/* MW_HC_PING with a guessed key: refused at CPL 3 whatever the key. */
	__asm__ volatile("vmcall" ::"a"(1ul), "c"(0x6d6172726f77ul) : "rdx", "r8", "memory");
}

static void do_vmxon(void *arg)
{
	(void)arg;
	uint64_t pa = (uint64_t)(uintptr_t)vmx_region;
	__asm__ volatile("vmxon %0" ::"m"(pa) : "memory", "cc");
}

static void do_vmptrst(void *arg)
{
	(void)arg;
	uint64_t out;
	__asm__ volatile("vmptrst %0" : "=m"(out)::"memory", "cc");
}

static void do_vmread(void *arg)
{
	(void)arg;
	uint64_t field = 0x681e, value; /* GUEST_RIP */
	__asm__ volatile("vmread %1, %0" : "=r"(value) : "r"(field) : "cc");
}

static int cmd_vmx_insns(void)
{
	static const struct {
		const char *name;
		void (*fn)(void *);
	} insns[] = {
		{ "vmcall", do_vmcall },
		{ "vmxon", do_vmxon },
		{ "vmptrst", do_vmptrst },
		{ "vmread", do_vmread },
	};
	int bad = 0;

	for (int cpu = 0; cpu < cpu_slots(); cpu++) {
		for (size_t i = 0; i < sizeof(insns) / sizeof(insns[0]); i++) {
			int code = 0;
			int sig = in_child(cpu, insns[i].fn, NULL, &code);
			if (sig == -1)
				break; /* offline */
			printf("cpu %d: %s at CPL 3: %s\n", cpu, insns[i].name,
			       sig > 0 ? strsignal(sig) : "no signal");
			bad += sig != SIGILL;
		}
	}
	return bad ? 1 : 0;
}

static void do_ioperm(void *arg)
{
	(void)arg;
	if (ioperm(0x80, 1, 1) != 0)
		_exit(3);
	/* The TSS's I/O bitmap now allows port 0x80 (POST codes, harmless):
	 * the OUT faults only if the TSS limit no longer covers the bitmap. */
	outb(0, 0x80);
}

static int cmd_ioperm(void)
{
	int bad = 0, seen = 0;

	for (int cpu = 0; cpu < cpu_slots(); cpu++) {
		int code = 0;
		int sig = in_child(cpu, do_ioperm, NULL, &code);
		if (sig == -1)
			continue;
		seen++;
		printf("cpu %d: ioperm and OUT: %s\n", cpu,
		       sig > 0	   ? strsignal(sig)
		       : code == 3 ? "ioperm() failed"
				   : "ok");
		bad += sig != 0 || code != 0;
	}
	return seen && !bad ? 0 : 1;
}

struct ldt_args {
	double seconds;
};

static void do_ldt(void *arg)
{
	const struct ldt_args *a = arg;
	struct user_desc d = {
		.entry_number = 0,
		.base_addr = 0,
		.limit = 0xfffff,
		.seg_32bit = 1,
		.contents = 0, /* data */
		.limit_in_pages = 1,
		.useable = 1,
	};
	const uint16_t sel = 4 | 3; /* index 0, TI=1 (the LDT), RPL 3 */

	if (syscall(SYS_modify_ldt, 1, &d, sizeof(d)) != 0)
		_exit(3);
	/* GS is free in 64-bit user space (glibc's TLS is FS). Each load
	 * reads the descriptor through LDTR: a null LDTR raises #GP. */
	double end = now() + a->seconds;
	unsigned long loads = 0;
	while (now() < end) {
		for (int i = 0; i < 1000; i++)
			__asm__ volatile("mov %0, %%gs" ::"r"(sel));
		loads += 1000;
	}
	__asm__ volatile("mov %0, %%gs" ::"r"(0));
	printf("%lu loads of an LDT selector\n", loads);
}

static int cmd_ldt(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	struct ldt_args a = { atof(argv[0]) };
	int cpu = atoi(argv[1]), code = 0;
	int sig = in_child(cpu, do_ldt, &a, &code);

	if (sig == -1) {
		printf("cpu %d is offline\n", cpu);
		return 1;
	}
	printf("cpu %d: LDT selector loads: %s\n", cpu,
	       sig > 0	   ? strsignal(sig)
	       : code == 3 ? "modify_ldt() failed"
			   : "ok");
	return sig == 0 && code == 0 ? 0 : 1;
}

static int cmd_fork(int argc, char **argv)
{
	int n = argc > 0 ? atoi(argv[0]) : 10, bad = 0;

	if (n <= 0 || n > 1000)
		return 2;
	pid_t *pids = calloc((size_t)n, sizeof(*pids));
	if (!pids)
		return 2;
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			volatile unsigned long x = 0;
			for (unsigned long k = 0; k < 100000; k++)
				x += k;
			_exit(i % 200);
		}
	}
	for (int i = 0; i < n; i++) {
		int status;
		if (pids[i] < 0 || waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != i % 200)
			bad++;
	}
	printf("%d processes, %d wrong exits\n", n, bad);
	free(pids);
	return bad ? 1 : 0;
}

static int cmd_asuser(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	uid_t uid = (uid_t)atoi(argv[0]);
	if (setgroups(0, NULL) != 0 || setgid(uid) != 0 || setuid(uid) != 0) {
		perror("mwtest: asuser");
		return 126;
	}
	execv(argv[1], argv + 1);
	perror("mwtest: asuser: exec");
	return 127;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		fprintf(stderr,
			"usage: mwtest cpuid|loop|vmx-insns|ioperm|ldt|fork|asuser|drain ...\n");
		return 2;
	}
	const char *cmd = argv[1];
	argc -= 2;
	argv += 2;
	if (!strcmp(cmd, "cpuid"))
		return cmd_cpuid(argc, argv);
	if (!strcmp(cmd, "loop"))
		return cmd_loop(argc, argv);
	if (!strcmp(cmd, "vmx-insns"))
		return cmd_vmx_insns();
	if (!strcmp(cmd, "ioperm"))
		return cmd_ioperm();
	if (!strcmp(cmd, "ldt"))
		return cmd_ldt(argc, argv);
	if (!strcmp(cmd, "fork"))
		return cmd_fork(argc, argv);
	if (!strcmp(cmd, "asuser"))
		return cmd_asuser(argc, argv);
	if (!strcmp(cmd, "drain"))
		return tcdrain(STDOUT_FILENO) == 0 ? 0 : 1;
	fprintf(stderr, "mwtest: unknown command '%s'\n", cmd);
	return 2;
}
