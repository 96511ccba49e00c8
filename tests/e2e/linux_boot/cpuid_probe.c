/* cpuid-probe: prints the VMX (bit 5) and hypervisor-present (bit 31) bits
 * of CPUID.1:ECX on the CPU it runs on, as "vmx=N hypervisor=N". The Linux
 * boot test's /init runs it on every CPU (taskset): /proc/cpuinfo is no
 * proof, since Linux drops the vmx flag itself when FEATURE_CONTROL has VMX
 * off. A static x86-64 Linux program with no C library: the write and
 * exit system calls by hand. */

static long sys_write(int fd, const void *buf, unsigned long len)
{
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(1L), "D"((long)fd), "S"(buf), "d"(len)
			 : "rcx", "r11", "memory");
	return ret;
}

__attribute__((noreturn)) static void sys_exit(int code)
{
	__asm__ volatile("syscall" ::"a"(60L), "D"((long)code) : "rcx", "r11", "memory");
	for (;;)
		;
}

void _start(void);
/* The kernel enters with RSP 16-byte aligned and no return address: realign
 * as a called function expects. */
__attribute__((force_align_arg_pointer)) void _start(void)
{
	unsigned int eax = 1, ebx, ecx, edx = 0;
	char line[] = "vmx=? hypervisor=?\n";

	__asm__ volatile("cpuid" : "+a"(eax), "=b"(ebx), "=c"(ecx), "+d"(edx));
	line[4] = (char)('0' + ((ecx >> 5) & 1));
	line[17] = (char)('0' + ((ecx >> 31) & 1));
	sys_exit(sys_write(1, line, sizeof(line) - 1) == sizeof(line) - 1 ? 0 : 1);
}
