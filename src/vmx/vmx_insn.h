/* VMX instructions. Each reports its outcome as the SDM defines it (SDM 3C
 * 31.2 "Conventions"): CF=1 is VMfailInvalid (no current VMCS to hold an
 * error number), ZF=1 is VMfailValid (the number is in the
 * VM-instruction error field). */
#ifndef MARROW_VMX_INSN_H
#define MARROW_VMX_INSN_H

#include <stdbool.h>
#include <stdint.h>

#include "vmx_defs.h"

enum vmx_result {
	VMX_OK = 0,
	VMX_FAIL_INVALID = 1,
	VMX_FAIL_VALID = 2,
	VMX_INJECTED = 3, /* not run: fault injection made it fail (core/fault.h) */
};

static inline enum vmx_result vmx_result_of(bool cf, bool zf)
{
	return cf ? VMX_FAIL_INVALID : zf ? VMX_FAIL_VALID : VMX_OK;
}

static inline enum vmx_result vmx_on(uint64_t pa)
{
	bool cf, zf;
	__asm__ volatile("vmxon %[pa]" : "=@ccc"(cf), "=@ccz"(zf) : [pa] "m"(pa) : "memory");
	return vmx_result_of(cf, zf);
}

static inline enum vmx_result vmx_off(void)
{
	bool cf, zf;
	__asm__ volatile("vmxoff" : "=@ccc"(cf), "=@ccz"(zf)::"memory");
	return vmx_result_of(cf, zf);
}

static inline enum vmx_result vmx_clear(uint64_t pa)
{
	bool cf, zf;
	__asm__ volatile("vmclear %[pa]" : "=@ccc"(cf), "=@ccz"(zf) : [pa] "m"(pa) : "memory");
	return vmx_result_of(cf, zf);
}

static inline enum vmx_result vmx_ptrld(uint64_t pa)
{
	bool cf, zf;
	__asm__ volatile("vmptrld %[pa]" : "=@ccc"(cf), "=@ccz"(zf) : [pa] "m"(pa) : "memory");
	return vmx_result_of(cf, zf);
}

static inline enum vmx_result vmx_read(uint64_t field, uint64_t *value)
{
	bool cf, zf;
	__asm__ volatile("vmread %[field], %[value]"
			 : [value] "=rm"(*value), "=@ccc"(cf), "=@ccz"(zf)
			 : [field] "r"(field)
			 : "memory");
	return vmx_result_of(cf, zf);
}

static inline enum vmx_result vmx_write(uint64_t field, uint64_t value)
{
	bool cf, zf;
	__asm__ volatile("vmwrite %[value], %[field]"
			 : "=@ccc"(cf), "=@ccz"(zf)
			 : [value] "rm"(value), [field] "r"(field)
			 : "memory");
	return vmx_result_of(cf, zf);
}

/* For fields known to exist, in root mode on the current VMCS: the exit
 * path's accessors. A failure here is a marrow bug, and reads as 0. */
static inline uint64_t vmcs_read(uint32_t field)
{
	uint64_t v = 0;
	(void)vmx_read(field, &v);
	return v;
}

static inline void vmcs_write(uint32_t field, uint64_t value)
{
	(void)vmx_write(field, value);
}

struct invept_desc {
	uint64_t eptp;
	uint64_t reserved;
};

struct invvpid_desc {
	uint64_t vpid;
	uint64_t linear_address;
};

static inline enum vmx_result vmx_invept(enum invept_type type, uint64_t eptp)
{
	struct invept_desc d = { eptp, 0 };
	bool cf, zf;
	__asm__ volatile("invept %[d], %[t]"
			 : "=@ccc"(cf), "=@ccz"(zf)
			 : [d] "m"(d), [t] "r"((uint64_t)type)
			 : "memory");
	return vmx_result_of(cf, zf);
}

static inline enum vmx_result vmx_invvpid(enum invvpid_type type, uint16_t vpid, uint64_t gva)
{
	struct invvpid_desc d = { vpid, gva };
	bool cf, zf;
	__asm__ volatile("invvpid %[d], %[t]"
			 : "=@ccc"(cf), "=@ccz"(zf)
			 : [d] "m"(d), [t] "r"((uint64_t)type)
			 : "memory");
	return vmx_result_of(cf, zf);
}

#endif
