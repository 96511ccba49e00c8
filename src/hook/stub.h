/* The code marrow generates for hooks, byte by byte (SDM 2 opcodes): pure
 * functions of addresses, so that unit tests can build and run them. The
 * code never writes to its own pages (on some platforms they are
 * read-only once written): what it counts lives in marrow's data.
 *
 * The inline hook's slot (one per hook, 256 bytes of code):
 *   0    F0 48 FF 05 rel32   lock inc qword [rip -> hits]
 *        FF 25 rel32         jmp qword [rip -> handler]
 *   16   the trampoline (tramp_build)
 * hits and the handler's address are 8-byte variables within 2 GiB of the
 * slot (stub_reaches).
 *
 * The syscall (LSTAR) stub:
 *   48 3D imm32            cmp rax, STUB_SYSCALLS
 *   72 0B                  jb counted
 *   F0 48 FF 04 25 abs32   lock inc qword [counts + 8 * STUB_SYSCALLS]
 *   EB 09                  jmp out
 * counted:
 *   F0 48 FF 04 C5 abs32   lock inc qword [counts + rax * 8]
 * out:
 *   FF 24 25 abs32         jmp qword [entry]
 * It touches no register and no stack, only RFLAGS, which SYSCALL has just
 * masked (IA32_FMASK) and no entry reads before setting it. Its absolute
 * addresses are sign-extended 32-bit displacements: counts and entry must
 * lie in the low or the top 2 GiB (stub_fits_abs32). */
#ifndef MARROW_HOOK_STUB_H
#define MARROW_HOOK_STUB_H

#include <stdbool.h>
#include <stdint.h>

#define STUB_SLOT_SIZE 256
#define STUB_SLOT_TRAMP 16
#define STUB_SLOT_TRAMP_CAP (STUB_SLOT_SIZE - STUB_SLOT_TRAMP)

/* Syscall numbers counted one by one; higher ones share the last slot. */
#define STUB_SYSCALLS 511
#define STUB_LSTAR_LEN 35

/* Writes at slot (which runs at address at) the inline stub: it counts a
 * call in the qword at hits and jumps through the qword at handler. */
void stub_inline_build(uint8_t *slot, uint64_t at, uint64_t hits, uint64_t handler);
/* Can code at `at` address `data` RIP-relatively (a signed 32-bit
 * displacement from the end of an instruction within the slot)? */
bool stub_reaches(uint64_t at, uint64_t data);

bool stub_fits_abs32(uint64_t addr);
/* counts: STUB_SYSCALLS + 1 counters; entry: where the guest's syscall
 * entry is read from on each SYSCALL. */
void stub_lstar_build(uint8_t *s, uint64_t counts, uint64_t entry);

#endif
