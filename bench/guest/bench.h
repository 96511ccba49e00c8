/* Benchmarks compiled into the bare-metal kernel (kernel command line
 * bench=all). Bochs advances the TSC by one per emulated instruction and VM
 * exits and entries themselves cost nothing, so a TSC difference is an
 * instruction count: exact and repeatable. */
#ifndef MARROW_BENCH_H
#define MARROW_BENCH_H

#include <stdint.h>

/* Runs every benchmark and prints one line per result:
 *   BENCH <name> <value> <unit>
 * which bench/report.py turns into docs/benchmarks.md. */
void bench_run(void);

#endif
