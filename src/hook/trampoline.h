/* Inline-hook trampolines and the patch that leads to the hook.
 *
 * An inline hook overwrites the first bytes of a function with a jump to a
 * handler (tramp_patch_jump). The handler calls the original function through
 * a trampoline: the whole instructions the patch covers, copied and relocated
 * for their new address, then a jump back to the first instruction that was
 * not copied (tramp_build). Pure logic, freestanding: nothing here touches
 * the addresses it is given, only the buffers.
 *
 * What tramp_build does with each instruction it copies (SDM 2A):
 *  - most are copied as they are;
 *  - a RIP-relative operand (2.2.1.6) gets the displacement that reaches the
 *    same address from the new place, or TRAMP_ERR_OUT_OF_RANGE if none fits
 *    in 32 bits; EIP-relative (with 67) is refused;
 *  - JMP rel8/rel32 becomes JMP rel32, or JMP [RIP+0] and the 8-byte target
 *    when rel32 does not reach;
 *  - Jcc rel8/rel32 becomes Jcc rel32, or the inverted Jcc rel8 over a
 *    JMP to the target (the absolute form, or JMP rel32 where that reaches
 *    from one byte further on: target = the Jcc's address + 6 + 2^31);
 *  - CALL rel32 stays CALL rel32, or becomes CALL [RIP+2]; JMP +8; the 8-byte
 *    target: either way the callee returns into the trampoline, right after
 *    the call, so the rest of the copied code runs as it did in place;
 *  - LOOP, LOOPE, LOOPNE, JrCXZ (rel8 only) keep their opcode and prefixes
 *    (67 selects ECX) and branch over a short JMP to a JMP to the target:
 *    `loopcc +2; jmp short +n; jmp target` (rel32 or absolute);
 *  - XBEGIN is refused (its abort path is relative and hardware-entered).
 *
 * Refused (each status says why):
 *  - TRAMP_ERR_BRANCH_INTO_COPY: a copied relative branch to a byte in
 *    [code_addr + 1, code_addr + copied), which the patch overwrites. A
 *    branch to code_addr itself is kept and goes to code_addr: the patched
 *    entry, so the hook runs again, exactly as for any other jump to the
 *    function's entry.
 *  - TRAMP_ERR_REF_INTO_COPY: a RIP-relative operand whose address lies in
 *    the same bytes: once patched they hold the jump, not the original code.
 *  - TRAMP_ERR_TOO_SMALL: an instruction that ends the flow (RET, RETF,
 *    IRET, JMP of any kind, INT3, UD2, SYSRET, SYSEXIT) before min_len bytes
 *    are covered: the function is shorter than the patch and what follows
 *    may not be code. Also returned when the trampoline does not fit in
 *    out_cap. The flow may end with the last instruction copied.
 *  - TRAMP_ERR_UNSUPPORTED: XBEGIN, EIP-relative operands, a prefix on a
 *    relative JMP/Jcc/CALL other than the branch hints 2E/3E (66 means
 *    different things to Intel and AMD, F2 is MPX's BND), 66 on LOOPcc or
 *    JrCXZ (AMD would truncate the target), a CALL to its own
 *    next instruction (the call/pop idiom would read the trampoline's
 *    address).
 *
 * Not seen from the copied bytes: a branch elsewhere in the function into
 * the patched bytes; tramp_check_function sweeps a function for them.
 *
 * What differs from running in place: a copied CALL pushes a return address
 * inside the trampoline (a stack walker sees the trampoline there); the
 * original bytes from the end of the patch to code_addr + copied are never
 * run again, and a caller may fill them with INT3. */
#ifndef MARROW_HOOK_TRAMPOLINE_H
#define MARROW_HOOK_TRAMPOLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* E9 rel32 (SDM 2A JMP). */
#define TRAMP_REL_JMP_LEN 5
/* FF 25 00000000 (JMP [RIP+0]) and the 8-byte target right after it. */
#define TRAMP_ABS_JMP_LEN 14
/* The largest min_len tramp_build accepts: well above either patch. */
#define TRAMP_MAX_MIN_LEN 32
/* At most one instruction per byte of min_len is copied. */
#define TRAMP_MAX_INSNS TRAMP_MAX_MIN_LEN
/* An out_cap that always suffices: at most min_len + 14 bytes are copied
 * (the last instruction starts before min_len and is at most 15 bytes
 * long), relocation adds at most 16 bytes per instruction (LOOPcc: 2 ->
 * 2 + 2 + 14) and the jump back is at most 14. */
#define TRAMP_OUT_MAX(min_len) (17 * (min_len) + 2 * TRAMP_ABS_JMP_LEN)

enum tramp_status {
	TRAMP_OK = 0,
	TRAMP_ERR_DECODE,	    /* an invalid or too long instruction (insn_decode) */
	TRAMP_ERR_TRUNCATED,	    /* code_avail ends inside the instructions to copy */
	TRAMP_ERR_BRANCH_INTO_COPY, /* a copied branch targets the patched bytes */
	TRAMP_ERR_REF_INTO_COPY,    /* a RIP-relative operand addresses the patched bytes */
	TRAMP_ERR_OUT_OF_RANGE,	    /* a RIP-relative displacement does not reach from out */
	TRAMP_ERR_TOO_SMALL,	    /* the function ends before min_len, or out_cap is short */
	TRAMP_ERR_UNSUPPORTED,	    /* an instruction that cannot be moved (see above) */
	TRAMP_ERR_BAD_ARG,	    /* min_len 0 or above TRAMP_MAX_MIN_LEN, a NULL pointer */
};

/* One copied instruction: where it was and where its relocated form is. */
struct tramp_insn {
	uint8_t orig_offset; /* from code_addr */
	uint8_t orig_length;
	uint16_t tramp_offset; /* from out_addr */
	uint16_t tramp_length; /* longer than orig_length when a branch was rewritten */
};

struct tramp_result {
	size_t copied;	    /* bytes of original code covered (>= min_len) */
	size_t length;	    /* bytes of trampoline written */
	size_t count;	    /* instructions copied: insns[0..count) */
	size_t back_offset; /* where the jump back to code_addr + copied starts */
	/* On an error about an instruction: its offset from code_addr (for
	 * TRAMP_ERR_TOO_SMALL from out_cap: the instruction that did not fit,
	 * or copied for the jump back). */
	size_t fail_offset;
	struct tramp_insn insns[TRAMP_MAX_INSNS];
};

/* Builds in out (out_cap bytes, which will run at out_addr) the trampoline
 * for the code at code (code_avail readable bytes, which run at code_addr):
 * the whole instructions that cover at least min_len bytes, relocated, and a
 * jump back to code_addr + res->copied (JMP rel32 when it reaches, else the
 * 14-byte absolute form). Reads no byte of code beyond code_avail and writes
 * none of out beyond out_cap. code and out must not overlap. On an error,
 * out may hold a partial trampoline and only res->fail_offset is meaningful.
 *
 * Pass the function's size as code_avail when it is known: a function that
 * ends in a CALL that never returns is not seen to end, and its patch would
 * spill into the next function; with code_avail bounded it is
 * TRAMP_ERR_TRUNCATED instead. */
enum tramp_status tramp_build(const uint8_t *code, size_t code_avail, uint64_t code_addr,
			      size_t min_len, uint8_t *out, size_t out_cap, uint64_t out_addr,
			      struct tramp_result *res);

/* A linear sweep of a function's bytes after the copied ones,
 * code[copied..func_len), for a relative branch into the bytes the patch
 * replaces, [code_addr + 1, code_addr + copied): TRAMP_ERR_BRANCH_INTO_COPY
 * with *fail_offset set. The caller must know where the function ends (a
 * symbol size, unwind data): bytes that are not code (an inline jump table)
 * give TRAMP_ERR_DECODE or are taken for instructions. */
enum tramp_status tramp_check_function(const uint8_t *code, size_t func_len, uint64_t code_addr,
				       size_t copied, size_t *fail_offset);

/* Maps an offset in the original code to the trampoline and back. Only
 * instruction boundaries map: each copied instruction's start to the start
 * of its relocated form, and res->copied to res->back_offset. A RIP inside
 * the patched bytes (an interrupted CPU) can be moved to the trampoline with
 * the first; false for any other offset, and for a res that tramp_build did
 * not fill with TRAMP_OK. */
bool tramp_orig_to_tramp(const struct tramp_result *res, size_t orig_offset, size_t *tramp_offset);
bool tramp_tramp_to_orig(const struct tramp_result *res, size_t tramp_offset, size_t *orig_offset);

/* Writes at dst (cap bytes) the shortest single-instruction jump from at to
 * target: E9 rel32 when it reaches, else FF 25 00000000 and the 8-byte
 * address. Returns its length, or 0 if cap is too small (nothing written).
 *
 * Under an EPT split hook, where the execute view of a page differs from its
 * read view, the 14-byte form reads its target as data, through the read
 * view, that is from the original bytes: there the handler (or a thunk to
 * it) must lie within +-2 GiB of the patch so that the 5-byte form is used. */
size_t tramp_patch_jump(uint8_t *dst, size_t cap, uint64_t at, uint64_t target);

/* The length tramp_patch_jump would use: TRAMP_REL_JMP_LEN or
 * TRAMP_ABS_JMP_LEN. */
size_t tramp_patch_length(uint64_t at, uint64_t target);

const char *tramp_status_str(enum tramp_status status);

#endif
