#include "log_ring.h"

#include "core/fmt.h"
#include "core/mw_string.h"

/* The header word of a record. The state is what the reader waits on; the
 * rest is fixed at reservation, so a reader that meets a reserved record
 * already knows its length and sequence number and can step over it. */
#define LR_EMPTY 0ull	  /* free space: the consumer zeroes what it frees */
#define LR_RESERVED 1ull  /* being written */
#define LR_COMMITTED 2ull /* complete, not read yet */
#define LR_CONSUMED 3ull  /* read ahead of an older record; space not freed yet */
#define LR_PAD 4ull	  /* filler to the end of the buffer: the record did not fit */
#define LR_STATE_MASK 7ull
#define LR_TRUNCATED (1ull << 3)
#define LR_LEVEL_SHIFT 8
#define LR_TEXT_SHIFT 16
#define LR_TEXT_MASK 0xfffull
#define LR_SEQ_SHIFT 32

/* head's upper half counts sequence numbers, its lower half bytes. */
#define LR_HEAD_SEQ_ONE (1ull << 32)
#define LR_HEAD_SEQ_MASK 0xffffffff00000000ull

/* A compare-exchange on head fails only when another producer reserved in
 * between: on the owning CPU, an NMI or machine check that logged. More
 * retries than that would mean the ring is shared by busy CPUs; the record
 * is then dropped (and counted) rather than looping without bound. */
#define LR_RESERVE_TRIES 64

/* The ring's memory is also accessed as bytes (text, zeroing). */
typedef uint64_t __attribute__((may_alias)) lr_word;

_Static_assert(LOG_RECORD_TEXT_MAX <= LR_TEXT_MASK, "text length must fit the header");
_Static_assert(LOG_RECORD_MAX % 8 == 0 && LOG_RING_MIN_SIZE >= 2 * LOG_RECORD_MAX,
	       "an empty ring must take the longest record wherever head is");

static lr_word *word_at(const struct log_ring *r, uint32_t pos)
{
	return (lr_word *)(r->buf + (pos & (r->size - 1)));
}

static uint32_t record_len(size_t text_len)
{
	return (uint32_t)((LOG_RECORD_HDR + text_len + 7) & ~(size_t)7);
}

/* Bytes from pos to the next record: a pad runs to the end of the buffer. */
static uint32_t span(const struct log_ring *r, uint32_t pos, uint64_t w)
{
	if ((w & LR_STATE_MASK) == LR_PAD)
		return r->size - (pos & (r->size - 1));
	return record_len((w >> LR_TEXT_SHIFT) & LR_TEXT_MASK);
}

/* 32-bit sequence numbers in the ring, 64-bit ones for the drainer: the
 * next record's number is at or after the previous one's, modulo 2^32. */
static uint64_t extend_seq(uint64_t prev, uint64_t w)
{
	uint32_t seq = (uint32_t)(w >> LR_SEQ_SHIFT);

	return prev + (uint32_t)(seq - (uint32_t)prev);
}

bool log_ring_init(struct log_ring *r, void *buf, size_t size)
{
	r->buf = NULL;
	r->size = 0;
	if (!buf || ((uintptr_t)buf & 7) || size < LOG_RING_MIN_SIZE || size > LOG_RING_MAX_SIZE ||
	    (size & (size - 1)))
		return false;
	/* Free space reads as LR_EMPTY: that is how the reader finds the end,
	 * and why text bytes left from an old record can never pass for a
	 * header (guest-supplied text could otherwise forge one). */
	memset(buf, 0, size);
	r->buf = buf;
	r->size = (uint32_t)size;
	r->head = 0;
	r->dropped = 0;
	r->tail = 0;
	r->prev_seq = UINT64_MAX; /* so that the first record, number 0, follows it */
	return true;
}

/* Whether need bytes fit from pos. */
static bool ring_fits(const struct log_ring *r, uint32_t pos, uint32_t need)
{
	/* Acquire pairs with the consumer's release of tail: the consumer's
	 * copying out and zeroing of the space it freed happen before our
	 * writes into that space, which follow this load in program order. */
	uint32_t tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);

	return need <= r->size - (pos - tail);
}

static void ring_drop(struct log_ring *r)
{
	/* The lost record still takes its sequence number, so the gap shows
	 * where it was. Relaxed: a count, publishing no data. */
	__atomic_fetch_add(&r->head, LR_HEAD_SEQ_ONE, __ATOMIC_RELAXED);
	__atomic_fetch_add(&r->dropped, 1, __ATOMIC_RELAXED);
}

static char *ring_claim(struct log_ring *r, uint64_t head, uint32_t pad, uint64_t word,
			uint64_t timestamp, struct log_slot *slot)
{
	uint32_t pos = (uint32_t)head;

	/* Relaxed stores of the pad and reserved words: the reader takes from
	 * them only what is inside the word (state, length, sequence), and
	 * reads nothing else of the record before the commit's release. */
	if (pad) {
		__atomic_store_n(word_at(r, pos), LR_PAD, __ATOMIC_RELAXED);
		pos += pad;
	}
	lr_word *hdr = word_at(r, pos);
	hdr[1] = timestamp;
	__atomic_store_n(hdr, word, __ATOMIC_RELAXED);
	slot->hdr = (uint64_t *)hdr;
	slot->word = word;
	return (char *)(hdr + 2);
}

char *log_ring_reserve(struct log_ring *r, size_t text_len, unsigned level, uint64_t timestamp,
		       struct log_slot *slot)
{
	uint64_t flags = LR_RESERVED;

	if (text_len > LOG_RECORD_TEXT_MAX) {
		text_len = LOG_RECORD_TEXT_MAX;
		flags |= LR_TRUNCATED;
	}
	if (level > LOG_LEVEL_MAX)
		level = LOG_LEVEL_MAX;
	slot->text_len = text_len;
	flags |= (uint64_t)level << LR_LEVEL_SHIFT | (uint64_t)text_len << LR_TEXT_SHIFT;

	uint32_t len = record_len(text_len);
	for (int i = 0; i < LR_RESERVE_TRIES; i++) {
		/* Relaxed: the compare-exchange below validates the value. */
		uint64_t head = __atomic_load_n(&r->head, __ATOMIC_RELAXED);
		uint32_t pos = (uint32_t)head;
		uint32_t room = r->size - (pos & (r->size - 1));
		/* A record never wraps: if it does not fit before the end of
		 * the buffer, the rest of the buffer becomes a pad. */
		uint32_t pad = len > room ? room : 0;

		if (!ring_fits(r, pos, pad + len))
			break;
		uint64_t next =
			((head & LR_HEAD_SEQ_MASK) + LR_HEAD_SEQ_ONE) | (uint32_t)(pos + pad + len);
		/* Relaxed: the exchange only hands out space and a number; the
		 * record's contents are published by log_ring_commit. */
		if (__atomic_compare_exchange_n(&r->head, &head, next, false, __ATOMIC_RELAXED,
						__ATOMIC_RELAXED)) {
			uint64_t word = (head & LR_HEAD_SEQ_MASK) | flags;
			return ring_claim(r, head, pad, word, timestamp, slot);
		}
	}
	ring_drop(r);
	return NULL;
}

void log_ring_commit(struct log_ring *r, const struct log_slot *slot)
{
	(void)r;
	/* Release: the text and timestamp written into the slot become
	 * visible to a reader that sees LR_COMMITTED (its load is acquire). */
	__atomic_store_n((lr_word *)slot->hdr, (slot->word & ~LR_STATE_MASK) | LR_COMMITTED,
			 __ATOMIC_RELEASE);
}

void log_ring_vprintf(struct log_ring *r, unsigned level, uint64_t timestamp, const char *fmt,
		      va_list ap)
{
	/* Formatted first, so that the reservation is exactly the size of the
	 * text and the window between reserve and commit is one copy. */
	char text[LOG_RECORD_TEXT_MAX + 1];
	int n = mw_vsnprintf(text, sizeof(text), fmt, ap);
	struct log_slot slot;
	char *dst = log_ring_reserve(r, n > 0 ? (size_t)n : 0, level, timestamp, &slot);

	if (!dst)
		return;
	memcpy(dst, text, slot.text_len);
	log_ring_commit(r, &slot);
}

void log_ring_printf(struct log_ring *r, unsigned level, uint64_t timestamp, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_ring_vprintf(r, level, timestamp, fmt, ap);
	va_end(ap);
}

/* Frees [tail, tail + len): zeroed first (free space must read as
 * LR_EMPTY), then handed back to the producers. */
static void ring_free(struct log_ring *r, uint32_t tail, uint32_t len)
{
	lr_word *hdr = word_at(r, tail);

	/* The header word atomically: a pad's was stored relaxed, so our
	 * zeroing is ordered after it by coherence only, which is enough for
	 * an atomic store but not for a plain one. The rest of the span was
	 * published by a commit we acquired, or not written at all. */
	__atomic_store_n(hdr, 0, __ATOMIC_RELAXED);
	memset((char *)(hdr + 1), 0, len - sizeof(*hdr));
	/* Release pairs with the producers' acquire of tail: our reads and
	 * zeroing of this space happen before they write into it again. */
	__atomic_store_n(&r->tail, tail + len, __ATOMIC_RELEASE);
}

/* Frees the pads and read-ahead records that follow tail. */
static void ring_reclaim(struct log_ring *r)
{
	/* Only the consumer writes tail: relaxed reads its own value. */
	uint32_t tail = __atomic_load_n(&r->tail, __ATOMIC_RELAXED);

	for (uint32_t done = 0; done < r->size;) {
		/* Relaxed: a pad carries nothing to read, and LR_CONSUMED was
		 * stored by this consumer itself. */
		uint64_t w = __atomic_load_n(word_at(r, tail), __ATOMIC_RELAXED);
		uint64_t state = w & LR_STATE_MASK;

		if (state != LR_CONSUMED && state != LR_PAD)
			break;
		if (state == LR_CONSUMED)
			r->prev_seq = extend_seq(r->prev_seq, w);
		uint32_t len = span(r, tail, w);
		ring_free(r, tail, len);
		tail += len;
		done += len;
	}
}

static size_t ring_deliver(struct log_ring *r, uint32_t pos, uint64_t w, uint64_t prev, char *out,
			   size_t outlen, struct log_record_info *info)
{
	lr_word *hdr = word_at(r, pos);
	size_t text_len = (w >> LR_TEXT_SHIFT) & LR_TEXT_MASK;
	size_t n = text_len < outlen - 1 ? text_len : outlen - 1;
	uint64_t seq = extend_seq(prev, w);

	memcpy(out, (const char *)(hdr + 2), n);
	out[n] = '\0';
	if (info) {
		info->seq = seq;
		info->timestamp = hdr[1];
		info->level = (unsigned)((w >> LR_LEVEL_SHIFT) & 0xff);
		info->text_len = text_len;
		info->lost = seq - prev - 1;
		info->truncated = (w & LR_TRUNCATED) || n < text_len;
	}
	if (pos == __atomic_load_n(&r->tail, __ATOMIC_RELAXED)) {
		ring_free(r, pos, span(r, pos, w));
		r->prev_seq = seq;
		ring_reclaim(r);
	} else {
		/* Read ahead of an uncommitted record: its space stays taken
		 * until that record is read. Relaxed: only we look at it. */
		__atomic_store_n(hdr, (w & ~LR_STATE_MASK) | LR_CONSUMED, __ATOMIC_RELAXED);
	}
	return n + 1;
}

/* Walks from tail to the first committed record whose position is before
 * end (relative to tail); *prev becomes the sequence number before it. */
static bool ring_find_committed(const struct log_ring *r, uint32_t tail, uint32_t end, uint32_t *at,
				uint64_t *word, uint64_t *prev)
{
	/* Bounded: each step moves at least 8 bytes, at most one ring. */
	for (uint32_t pos = tail; pos - tail < end;) {
		/* Acquire pairs with log_ring_commit's release: once we see
		 * LR_COMMITTED, the record's text and timestamp are there. */
		uint64_t w = __atomic_load_n(word_at(r, pos), __ATOMIC_ACQUIRE);
		uint64_t state = w & LR_STATE_MASK;

		if (state == LR_EMPTY)
			return false; /* the end, or a reservation whose header is not out yet */
		if (state == LR_COMMITTED) {
			*at = pos;
			*word = w;
			return true;
		}
		if (state != LR_PAD)
			*prev = extend_seq(*prev, w); /* reserved, or consumed ahead */
		pos += span(r, pos, w);
	}
	return false;
}

size_t log_ring_read(struct log_ring *r, char *out, size_t outlen, struct log_record_info *info)
{
	if (!outlen || !r->buf)
		return 0;
	ring_reclaim(r);

	uint32_t tail = __atomic_load_n(&r->tail, __ATOMIC_RELAXED);
	uint32_t pos;
	uint64_t w, prev = r->prev_seq;

	if (!ring_find_committed(r, tail, r->size, &pos, &w, &prev))
		return 0;
	if (pos != tail) {
		/* Found past a reserved record. That record may have been
		 * committed since we looked at it: a writer commits and
		 * reserves again between two of our loads. Look once more up
		 * to pos, so that records committed in order are read in
		 * order: our acquire of pos's commit makes every commit
		 * before it visible to this second walk, which finds pos
		 * itself at the latest. */
		prev = r->prev_seq;
		if (!ring_find_committed(r, tail, pos - tail + 1, &pos, &w, &prev))
			return 0;
	}
	return ring_deliver(r, pos, w, prev, out, outlen, info);
}

uint64_t log_ring_dropped(const struct log_ring *r)
{
	return __atomic_load_n(&r->dropped, __ATOMIC_RELAXED);
}
