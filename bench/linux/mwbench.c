/* mwbench: the user-space workloads `make bench` times under Debian's
 * kernel in Bochs, before and after marrow.ko is loaded (bench/linux/init.sh).
 * Bochs' TSC counts emulated instructions, so a workload's ticks are its
 * instructions plus whatever interrupts and VM exits cost while it ran.
 * Interrupts come every few tens of thousands of instructions and cost from
 * some 350 to 12000 (measured: the same chunk's counts differ by those
 * steps), so a whole workload always meets several, and how many depends
 * on where it started. So compress and getpid run in chunks of a few
 * thousand instructions, each chunk REPS times, and the least count of
 * each chunk is summed: an interrupt only ever adds ticks, and a chunk that
 * short does not meet one on every run.
 *
 *   compress   an LZ77-style compressor over 64 KiB in 256-byte blocks (no
 *              system calls, no exits: the 1.01x target of
 *              docs/benchmarks.md)
 *   getpid     10000 getpid system calls, 10 to a chunk
 *   exec CMD   fork, exec CMD (stdout to /dev/null) and wait, the least of
 *              REPS: page faults, CR3 switches, the loader; millions of
 *              instructions, so its ticks include the timer's
 *
 * Output: "MWBENCH name ticks". Exit status 1 on a usage error or a
 * workload that fails. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define REPS 15
#define BUF_SIZE 65536
#define BLOCK 256
#define MIN_MATCH 4
#define GETPID_CHUNKS 1000
#define GETPID_PER_CHUNK 10

static uint8_t input[BUF_SIZE], output[BUF_SIZE * 2];

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	/* LFENCE first: the count starts after what came before retired. */
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return (uint64_t)hi << 32 | lo;
}

/* Text-like input: words from a small vocabulary, so matches exist. */
static void fill_input(void)
{
	static const char *const words[] = { "virtual ",  "machine ", "control ", "structure ",
					     "extended ", "page ",    "table ",	  "exit ",
					     "entry ",	  "guest ",   "host ",	  "state " };
	uint32_t x = 12345;
	size_t n = 0;

	while (n < BUF_SIZE) {
		x = x * 1103515245u + 12345u;
		const char *w = words[(x >> 16) % 12];
		for (; *w && n < BUF_SIZE; w++)
			input[n++] = (uint8_t)*w;
	}
}

/* Greedy LZ77 over one block, with a hash of the next 4 bytes: literal
 * bytes and (distance, length) pairs. Returns the compressed size. */
/* The length of the match at cand for the bytes at in, at most 255. */
static size_t match_len(const uint8_t *buf, size_t cand, size_t in)
{
	size_t len = 0;

	while (in + len < BLOCK && len < 255 && buf[cand + len] == buf[in + len])
		len++;
	return len;
}

static size_t compress_block(const uint8_t *in_buf, uint8_t *out_buf)
{
	static uint16_t head[1024]; /* position + 1 of the last 4 bytes that hashed here */
	size_t in = 0, out = 0;

	memset(head, 0, sizeof(head));
	while (in < BLOCK) {
		size_t len = 0, dist = 0;
		if (in + MIN_MATCH <= BLOCK) {
			uint32_t h;
			memcpy(&h, in_buf + in, 4);
			h = (h * 2654435761u) >> 22;
			size_t cand = head[h];
			head[h] = (uint16_t)(in + 1);
			if (cand) {
				len = match_len(in_buf, cand - 1, in);
				dist = in - (cand - 1);
			}
		}
		if (len >= MIN_MATCH) {
			out_buf[out++] = 0xff;
			out_buf[out++] = (uint8_t)(dist >> 8);
			out_buf[out++] = (uint8_t)dist;
			out_buf[out++] = (uint8_t)len;
			in += len;
		} else {
			out_buf[out++] = in_buf[in++];
		}
	}
	return out;
}

static uint64_t chunk_compress(unsigned c)
{
	uint64_t t0 = rdtsc();
	size_t n = compress_block(input + c * BLOCK, output + c * 2 * BLOCK);
	uint64_t t = rdtsc() - t0;

	/* Text compresses: a check that it ran. */
	if (n == 0 || n >= BLOCK) {
		fprintf(stderr, "mwbench: block %u compressed to %zu bytes\n", c, n);
		exit(1);
	}
	return t;
}

static uint64_t chunk_getpid(unsigned c)
{
	(void)c;
	uint64_t t0 = rdtsc();

	for (int i = 0; i < GETPID_PER_CHUNK; i++)
		syscall(SYS_getpid);
	return rdtsc() - t0;
}

/* The sum over chunks of each chunk's least count. */
static uint64_t chunked(uint64_t (*chunk)(unsigned), unsigned chunks)
{
	uint64_t total = 0;

	for (unsigned c = 0; c < chunks; c++) {
		uint64_t best = UINT64_MAX;
		for (int r = 0; r < REPS; r++) {
			uint64_t t = chunk(c);
			if (t < best)
				best = t;
		}
		total += best;
	}
	return total;
}

static uint64_t time_exec(char **argv)
{
	uint64_t t0 = rdtsc();
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0)
			dup2(fd, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	int status;
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "mwbench: %s failed\n", argv[0]);
		exit(1);
	}
	return rdtsc() - t0;
}

int main(int argc, char **argv)
{
	if (argc < 2 || (strcmp(argv[1], "exec") == 0 && argc < 3)) {
		fprintf(stderr, "usage: mwbench compress | getpid | exec CMD [ARG...]\n");
		return 1;
	}
	/* One CPU throughout: the TSCs of two Bochs CPUs need not agree. */
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);
	fill_input();

	uint64_t best = UINT64_MAX;
	if (strcmp(argv[1], "compress") == 0) {
		best = chunked(chunk_compress, BUF_SIZE / BLOCK);
	} else if (strcmp(argv[1], "getpid") == 0) {
		best = chunked(chunk_getpid, GETPID_CHUNKS);
	} else if (strcmp(argv[1], "exec") == 0) {
		for (int r = 0; r < REPS; r++) {
			uint64_t t = time_exec(argv + 2);
			if (t < best)
				best = t;
		}
	} else {
		fprintf(stderr, "mwbench: unknown workload '%s'\n", argv[1]);
		return 1;
	}
	printf("MWBENCH %s %llu\n", argv[1], (unsigned long long)best);
	return 0;
}
