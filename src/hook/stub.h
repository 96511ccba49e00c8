/* The code marrow generates for hooks, byte by byte (SDM 2 opcodes): pure
 * functions of addresses, so that unit tests can build and run them.
 *
 * The inline hook's slot (256 bytes, one per hook):
 *   0    F0 48 FF 05 rel32   lock inc qword [rip -> hits]
 *        FF 25 rel32         jmp qword [rip -> handler]
 *   16   the trampoline (tramp_build)
 *   240  hits, 248 the handler's address
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
#define STUB_SLOT_TRAMP_CAP 224
#define STUB_SLOT_HITS 240
#define STUB_SLOT_HANDLER 248

/* Syscall numbers counted one by one; higher ones share the last slot. */
#define STUB_SYSCALLS 511
#define STUB_LSTAR_LEN 35

/* Fills the slot's stub, zeroes its hits and stores the handler. */
void stub_inline_build(uint8_t *slot, uint64_t handler);

bool stub_fits_abs32(uint64_t addr);
/* counts: STUB_SYSCALLS + 1 counters; entry: where the guest's syscall
 * entry is read from on each SYSCALL. */
void stub_lstar_build(uint8_t *s, uint64_t counts, uint64_t entry);

#endif
