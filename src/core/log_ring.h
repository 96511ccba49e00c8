/* The root-safe per-CPU log ring. VMX root mode may not call the OS, so it
 * writes log records into a ring that ordinary code drains later into the
 * platform's log (DESIGN.md: "Logs never block").
 *
 * Producers: the owning CPU in root mode, possibly interrupted by an NMI (or
 * a machine check) in root mode that logs too. Space is reserved with one
 * compare-exchange on `head`, so nested producers never corrupt each other;
 * the reservation is even safe across CPUs, although each CPU is meant to
 * have its own ring. Producers never wait: no locks, no spinning on the
 * consumer, a bounded number of compare-exchange retries.
 *
 * Consumer: one drainer at a time (the caller guarantees it), on any CPU.
 *
 * Full ring: the new record is dropped, never an old one. The drop takes a
 * sequence number like a stored record would, and is counted, so that the
 * drainer learns exactly where records were lost (log_record_info.lost:
 * "N records dropped" goes just before the record that follows the gap).
 * Every producer call therefore consumes exactly one sequence number:
 * records read + records dropped == records written.
 *
 * Nesting and order: records are stored in reservation order, and sequence
 * numbers follow that order. A record reserved but not yet committed (its
 * writer was interrupted, e.g. by an NMI that logged a complete record after
 * it) is never read before its commit, but it does not hold back the
 * records after it: the reader delivers committed records that follow it
 * (read-ahead) and delivers the late one when it is committed. So, with
 * writer A interrupted by B: if the drainer runs before A commits, it gets
 * B then A; if it runs after, it gets A then B (sequence order).
 *
 * A writer that never commits (impossible in a correct program: root mode
 * would have to die inside log_ring_commit's caller) pins its own space: the
 * records after it are still read, but the ring cannot reclaim the space
 * from that record on, so once the producer has come round to it again, new
 * records are dropped and counted. Reusing the space instead would let a
 * writer that was merely slow tear a later record.
 *
 * Record layout, 8-byte aligned: one 64-bit header word (state, sequence
 * number, level, text length), the timestamp, then the text without its
 * NUL, padded to 8 bytes; at most LOG_RECORD_MAX bytes, longer text is
 * truncated and flagged. A record never wraps: if it does not fit before the
 * end of the buffer, the rest of the buffer becomes a pad.
 *
 * Memory ordering (GCC __atomic builtins; each use says why in log_ring.c):
 * the header word is the only thing the two sides race on. A producer
 * fills the text and timestamp, then marks the header committed with release; the
 * reader loads the header with acquire before it copies. The reader zeroes
 * what it has read, then stores tail with release; a producer loads tail
 * with acquire before it writes into freed space. Everything else is
 * relaxed: head's compare-exchange hands out space and publishes nothing. */
#ifndef MARROW_CORE_LOG_RING_H
#define MARROW_CORE_LOG_RING_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes a record takes in the ring at most, header included. */
#define LOG_RECORD_MAX 256u
#define LOG_RECORD_HDR 16u
/* Longest text a record keeps; longer messages are cut to this. */
#define LOG_RECORD_TEXT_MAX (LOG_RECORD_MAX - LOG_RECORD_HDR)
/* Ring sizes: a power of two in [MIN, MAX]; positions are 32-bit counters. */
#define LOG_RING_MIN_SIZE 512u
#define LOG_RING_MAX_SIZE (1u << 30)
/* Levels are 0..255, their meaning is the caller's. */
#define LOG_LEVEL_MAX 255u

struct log_ring {
	uint8_t *buf;
	uint32_t size;
	/* Producers: (sequence << 32) | byte position, both counting up
	 * forever and wrapping modulo 2^32. One word, so that a single
	 * compare-exchange takes a sequence number and the space together
	 * and sequence order is position order even under nesting. */
	uint64_t head __attribute__((aligned(64)));
	uint64_t dropped;
	/* Consumer: byte position up to which space is free again. */
	uint32_t tail __attribute__((aligned(64)));
	/* Consumer only: sequence number of the record just before tail. */
	uint64_t prev_seq;
};

/* What log_ring_read says about the record it copied. */
struct log_record_info {
	uint64_t seq;	    /* 0, 1, 2...: one per producer call, dropped ones included */
	uint64_t timestamp; /* as the producer passed it (e.g. TSC) */
	unsigned level;
	size_t text_len; /* length of the stored text, before any cut by outlen */
	uint64_t lost;	 /* records dropped (ring full) just before this one */
	bool truncated;	 /* cut at write (> LOG_RECORD_TEXT_MAX) or by outlen */
};

/* A reservation between log_ring_reserve and log_ring_commit. */
struct log_slot {
	uint64_t *hdr;
	uint64_t word;
	size_t text_len;
};

/* buf: size bytes, 8-byte aligned, owned by the ring from now on. Returns
 * false (and leaves the ring unusable) if size or alignment is wrong. */
bool log_ring_init(struct log_ring *r, void *buf, size_t size);

/* Producer side: root-safe, lock-free, never waits for the consumer. The
 * text is formatted with mw_vsnprintf on the stack first, then copied into
 * an exactly sized reservation. */
void log_ring_printf(struct log_ring *r, unsigned level, uint64_t timestamp, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void log_ring_vprintf(struct log_ring *r, unsigned level, uint64_t timestamp, const char *fmt,
		      va_list ap);

/* Two-phase write for records built in place: reserve room for text_len
 * bytes (cut to LOG_RECORD_TEXT_MAX; slot->text_len says how many to
 * write), fill them, commit. Returns NULL when the record was dropped. */
char *log_ring_reserve(struct log_ring *r, size_t text_len, unsigned level, uint64_t timestamp,
		       struct log_slot *slot);
void log_ring_commit(struct log_ring *r, const struct log_slot *slot);

/* Consumer side: copies the next committed record's text into out (always
 * NUL-terminated, cut to outlen - 1 bytes) and describes it in info (may be
 * NULL). Returns the number of bytes stored in out including the NUL, so a
 * record with empty text gives 1; 0 when no committed record is ready (or
 * outlen is 0). Never returns a torn record. */
size_t log_ring_read(struct log_ring *r, char *out, size_t outlen, struct log_record_info *info);

/* Records dropped so far (a statistic; the drainer gets them in order from
 * log_record_info.lost). */
uint64_t log_ring_dropped(const struct log_ring *r);

#endif
