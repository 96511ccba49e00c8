/* x86-64 instructions as inline functions: the one place inline asm for
 * ordinary (non-VMX) instructions lives. Everything here is safe to call in
 * VMX root mode: no OS calls, no allocation. */
#ifndef MARROW_ARCH_X86_INTRIN_H
#define MARROW_ARCH_X86_INTRIN_H

#include <stdbool.h>
#include <stdint.h>

struct cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid_count(uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_regs r;
	__asm__ volatile("cpuid"
			 : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
			 : "a"(leaf), "c"(subleaf));
	return r;
}

static inline struct cpuid_regs cpuid(uint32_t leaf)
{
	return cpuid_count(leaf, 0);
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t val)
{
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)val), "d"((uint32_t)(val >> 32))
			 : "memory");
}

#define DEFINE_CR_ACCESSORS(n)                                           \
	static inline uint64_t read_cr##n(void)                          \
	{                                                                \
		uint64_t v;                                              \
		__asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));        \
		return v;                                                \
	}                                                                \
	static inline void write_cr##n(uint64_t v)                       \
	{                                                                \
		__asm__ volatile("mov %0, %%cr" #n ::"r"(v) : "memory"); \
	}
DEFINE_CR_ACCESSORS(0)
DEFINE_CR_ACCESSORS(2)
DEFINE_CR_ACCESSORS(3)
DEFINE_CR_ACCESSORS(4)
#undef DEFINE_CR_ACCESSORS

#define DEFINE_DR_ACCESSORS(n)                                           \
	static inline uint64_t read_dr##n(void)                          \
	{                                                                \
		uint64_t v;                                              \
		__asm__ volatile("mov %%db" #n ", %0" : "=r"(v));        \
		return v;                                                \
	}                                                                \
	static inline void write_dr##n(uint64_t v)                       \
	{                                                                \
		__asm__ volatile("mov %0, %%db" #n ::"r"(v) : "memory"); \
	}
DEFINE_DR_ACCESSORS(0)
DEFINE_DR_ACCESSORS(1)
DEFINE_DR_ACCESSORS(2)
DEFINE_DR_ACCESSORS(3)
DEFINE_DR_ACCESSORS(6)
DEFINE_DR_ACCESSORS(7)
#undef DEFINE_DR_ACCESSORS

static inline uint64_t read_rflags(void)
{
	uint64_t v;
	__asm__ volatile("pushfq; popq %0" : "=r"(v));
	return v;
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline uint64_t xgetbv(uint32_t index)
{
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(index));
	return ((uint64_t)hi << 32) | lo;
}

static inline void xsetbv(uint32_t index, uint64_t val)
{
	__asm__ volatile("xsetbv" ::"c"(index), "a"((uint32_t)val), "d"((uint32_t)(val >> 32))
			 : "memory");
}

static inline void cpu_pause(void)
{
	__asm__ volatile("pause" ::: "memory");
}

static inline void cpu_cli(void)
{
	__asm__ volatile("cli" ::: "memory");
}

static inline void cpu_sti(void)
{
	__asm__ volatile("sti" ::: "memory");
}

/* STI's interrupt shadow covers the HLT, so an interrupt that becomes
 * pending after the caller's last check still wakes the HLT (SDM 2
 * "STI"). */
static inline void cpu_sti_hlt(void)
{
	__asm__ volatile("sti; hlt" ::: "memory");
}

static inline void cpu_hlt(void)
{
	__asm__ volatile("hlt" ::: "memory");
}

static inline void invlpg(const void *va)
{
	__asm__ volatile("invlpg (%0)" ::"r"(va) : "memory");
}

static inline void wbinvd(void)
{
	__asm__ volatile("wbinvd" ::: "memory");
}

static inline void outb(uint16_t port, uint8_t val)
{
	__asm__ volatile("outb %0, %1" ::"a"(val), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void outw(uint16_t port, uint16_t val)
{
	__asm__ volatile("outw %0, %1" ::"a"(val), "Nd"(port));
}

struct __attribute__((packed)) desc_ptr {
	uint16_t limit;
	uint64_t base;
};

static inline void lgdt(const struct desc_ptr *p)
{
	__asm__ volatile("lgdt %0" ::"m"(*p));
}

static inline void lidt(const struct desc_ptr *p)
{
	__asm__ volatile("lidt %0" ::"m"(*p));
}

static inline struct desc_ptr sgdt(void)
{
	struct desc_ptr p;
	__asm__ volatile("sgdt %0" : "=m"(p));
	return p;
}

static inline struct desc_ptr sidt(void)
{
	struct desc_ptr p;
	__asm__ volatile("sidt %0" : "=m"(p));
	return p;
}

static inline void ltr(uint16_t sel)
{
	__asm__ volatile("ltr %0" ::"r"(sel));
}

static inline uint16_t str(void)
{
	uint16_t sel;
	__asm__ volatile("str %0" : "=r"(sel));
	return sel;
}

static inline uint16_t sldt(void)
{
	uint16_t sel;
	__asm__ volatile("sldt %0" : "=r"(sel));
	return sel;
}

static inline void lldt(uint16_t sel)
{
	__asm__ volatile("lldt %0" ::"r"(sel) : "memory");
}

#define DEFINE_SEG_READER(name)                                      \
	static inline uint16_t read_##name(void)                     \
	{                                                            \
		uint16_t sel;                                        \
		__asm__ volatile("mov %%" #name ", %0" : "=r"(sel)); \
		return sel;                                          \
	}
DEFINE_SEG_READER(cs)
DEFINE_SEG_READER(ss)
DEFINE_SEG_READER(ds)
DEFINE_SEG_READER(es)
DEFINE_SEG_READER(fs)
DEFINE_SEG_READER(gs)
#undef DEFINE_SEG_READER

/* LAR reads the access rights the CPU holds for a selector; ZF clear means
 * the selector is unusable from here (null, beyond the limit, wrong type). */
static inline bool lar(uint16_t sel, uint32_t *ar)
{
	uint32_t v;
	bool ok;
	__asm__ volatile("lar %2, %0" : "=r"(v), "=@ccz"(ok) : "rm"((uint32_t)sel));
	*ar = v;
	return ok;
}

static inline bool lsl(uint16_t sel, uint32_t *limit)
{
	uint32_t v;
	bool ok;
	__asm__ volatile("lsl %2, %0" : "=r"(v), "=@ccz"(ok) : "rm"((uint32_t)sel));
	*limit = v;
	return ok;
}

#endif
