/* Benchmarks of the hooks (bench_hook.c); run with marrow up. */
#ifndef MARROW_BENCH_HOOK_H
#define MARROW_BENCH_HOOK_H

void bench_hooks(void);

#endif
