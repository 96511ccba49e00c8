/* The root-safe log ring: order, wrap-around, the full-ring policy (drop the
 * new record, count it, place the gap), truncation, the pad at the end of
 * the buffer, a writer interrupted by a nested one, a writer that never
 * commits, and a producer and a consumer thread racing on a million records. */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/log_ring.h"

#define SMALL 512u

static struct log_ring ring;
static uint64_t small_buf[SMALL / 8];
static uint64_t big_buf[16384 / 8];

static int setup_small(void **state)
{
	(void)state;
	assert_true(log_ring_init(&ring, small_buf, sizeof(small_buf)));
	return 0;
}

/* Where producers will write next, in bytes since init. */
static uint32_t head_pos(void)
{
	return (uint32_t)ring.head;
}

/* A record of exactly `len` bytes in the ring (a multiple of 8, >= 16). */
static void put_sized(uint32_t len, unsigned tag)
{
	char text[LOG_RECORD_TEXT_MAX + 1];
	size_t n = len - LOG_RECORD_HDR;

	memset(text, 'a' + (int)(tag % 26), n);
	text[n] = '\0';
	log_ring_printf(&ring, 1, tag, "%s", text);
}

/* Reads one record and checks its sequence number and its lost count. */
static void expect_record(uint64_t seq, uint64_t lost)
{
	char out[LOG_RECORD_TEXT_MAX + 1];
	struct log_record_info info;

	assert_int_not_equal(log_ring_read(&ring, out, sizeof(out), &info), 0);
	assert_int_equal(info.seq, seq);
	assert_int_equal(info.lost, lost);
}

static void expect_empty(void)
{
	char out[8];
	struct log_record_info info;

	assert_int_equal(log_ring_read(&ring, out, sizeof(out), &info), 0);
}

static void test_init_checks(void **state)
{
	(void)state;
	struct log_ring r;

	assert_false(log_ring_init(&r, small_buf, 256));	     /* too small */
	assert_false(log_ring_init(&r, small_buf, 768));	     /* not a power of two */
	assert_false(log_ring_init(&r, (char *)big_buf + 4, SMALL)); /* misaligned */
	assert_false(log_ring_init(&r, NULL, SMALL));
	char out[8];
	assert_int_equal(log_ring_read(&r, out, sizeof(out), NULL),
			 0); /* a failed init reads empty */
	assert_true(log_ring_init(&r, small_buf, SMALL));
	assert_true(log_ring_init(&r, big_buf, sizeof(big_buf)));
}

static void test_empty_reads(void **state)
{
	(void)state;
	char out[64];
	struct log_record_info info;

	expect_empty();
	expect_empty();
	log_ring_printf(&ring, 2, 7, "one");
	assert_int_equal(log_ring_read(&ring, out, 0, &info), 0); /* no room: nothing taken */
	assert_int_equal(log_ring_read(&ring, out, sizeof(out), NULL), 4);
	assert_string_equal(out, "one");
	expect_empty();
	/* An empty text is a record too: 1 byte stored, the NUL. */
	log_ring_printf(&ring, 0, 0, "%s", "");
	assert_int_equal(log_ring_read(&ring, out, sizeof(out), &info), 1);
	assert_string_equal(out, "");
	assert_int_equal(info.text_len, 0);
	assert_int_equal(info.seq, 1);
	expect_empty();
	assert_int_equal(log_ring_dropped(&ring), 0);
}

static void test_order_and_fields(void **state)
{
	(void)state;
	char out[LOG_RECORD_TEXT_MAX + 1];
	struct log_record_info info;

	for (unsigned i = 0; i < 5; i++)
		log_ring_printf(&ring, i, 1000 + i, "record %u of %s", i, "five");
	log_ring_printf(&ring, 300, 0xfedcba9876543210ull, "level clamped");
	for (unsigned i = 0; i < 5; i++) {
		char want[32];
		snprintf(want, sizeof(want), "record %u of five", i);
		assert_int_equal(log_ring_read(&ring, out, sizeof(out), &info), strlen(want) + 1);
		assert_string_equal(out, want);
		assert_int_equal(info.seq, i);
		assert_int_equal(info.level, i);
		assert_int_equal(info.timestamp, 1000 + i);
		assert_int_equal(info.text_len, strlen(want));
		assert_int_equal(info.lost, 0);
		assert_false(info.truncated);
	}
	assert_int_not_equal(log_ring_read(&ring, out, sizeof(out), &info), 0);
	assert_int_equal(info.level, LOG_LEVEL_MAX);
	assert_int_equal(info.timestamp, 0xfedcba9876543210ull);
	expect_empty();
}

/* Records of every length from 0 to the maximum through a 512-byte ring,
 * written in batches of 1 to 3 and read back: thousands of laps. Three
 * records of up to 256 bytes do not always fit in 512, so some are dropped:
 * each is counted and shows as a gap just before the next record read. */
static void test_wrap_many_times(void **state)
{
	(void)state;
	char text[LOG_RECORD_TEXT_MAX + 1], out[LOG_RECORD_TEXT_MAX + 1];
	struct log_record_info info;
	uint64_t written = 0, read = 0, next = 0, lost = 0;

	for (unsigned round = 0; round < 20000; round++) {
		unsigned batch = 1 + round % 3;
		for (unsigned b = 0; b < batch; b++) {
			size_t n = (written * 7) % (LOG_RECORD_TEXT_MAX + 1);
			for (size_t i = 0; i < n; i++)
				text[i] = (char)('A' + (written + i) % 26);
			text[n] = '\0';
			log_ring_printf(&ring, 3, written, "%s", text);
			written++;
		}
		while (log_ring_read(&ring, out, sizeof(out), &info)) {
			/* Each producer call took one sequence number. */
			size_t n = (info.seq * 7) % (LOG_RECORD_TEXT_MAX + 1);
			assert_int_equal(info.lost, info.seq - next);
			assert_int_equal(info.timestamp, info.seq);
			assert_int_equal(info.text_len, n);
			for (size_t i = 0; i < n; i++)
				assert_int_equal(out[i], 'A' + (info.seq + i) % 26);
			next = info.seq + 1;
			lost += info.lost;
			read++;
		}
	}
	assert_int_equal(read + log_ring_dropped(&ring), written);
	assert_int_equal(lost + (written - next), log_ring_dropped(&ring));
	assert_true(log_ring_dropped(&ring) > 0);
	assert_true(head_pos() > 1000u * SMALL);
	assert_int_equal(ring.tail, head_pos());
}

/* Drop-new policy: 8 records of 64 bytes fill 512 exactly; the 9th and
 * 10th are dropped and counted; once space is freed, the next record
 * carries lost = 2, placed where the gap was. */
static void test_full_ring_drops(void **state)
{
	(void)state;
	for (unsigned i = 0; i < 8; i++)
		put_sized(64, i);
	assert_int_equal(head_pos(), SMALL);
	put_sized(64, 8);
	put_sized(16, 9); /* even the smallest record */
	assert_int_equal(log_ring_dropped(&ring), 2);
	assert_int_equal(head_pos(), SMALL); /* drops take no space */

	expect_record(0, 0); /* frees 64 bytes */
	put_sized(64, 10);   /* seq 10, at offset 0 again */
	put_sized(16, 11);   /* dropped: full again */
	assert_int_equal(log_ring_dropped(&ring), 3);
	for (uint64_t s = 1; s < 8; s++)
		expect_record(s, 0);
	expect_record(10, 2);
	expect_empty();
	/* The gap before nothing: counted, reported with the next record. */
	put_sized(16, 12);
	expect_record(12, 1);
	assert_int_equal(log_ring_dropped(&ring), 3);
	/* Read 9 + dropped 3 == written 13 (seq 0..12). */
}

static void test_truncation(void **state)
{
	(void)state;
	char long_text[400], out[LOG_RECORD_TEXT_MAX + 1], small[10];
	struct log_record_info info;

	memset(long_text, 'x', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	long_text[LOG_RECORD_TEXT_MAX - 1] = 'y'; /* the last character kept */
	log_ring_printf(&ring, 1, 0, "%s", long_text);
	assert_int_equal(log_ring_read(&ring, out, sizeof(out), &info), LOG_RECORD_TEXT_MAX + 1);
	assert_int_equal(info.text_len, LOG_RECORD_TEXT_MAX);
	assert_true(info.truncated);
	assert_int_equal(out[LOG_RECORD_TEXT_MAX - 1], 'y');
	assert_int_equal(strlen(out), LOG_RECORD_TEXT_MAX);
	assert_int_equal(head_pos(), LOG_RECORD_MAX); /* the largest record is 256 bytes */

	/* Exactly the maximum is not truncated. */
	long_text[LOG_RECORD_TEXT_MAX] = '\0';
	log_ring_printf(&ring, 1, 0, "%s", long_text);
	assert_int_equal(log_ring_read(&ring, out, sizeof(out), &info), LOG_RECORD_TEXT_MAX + 1);
	assert_false(info.truncated);

	/* A short output buffer gets a prefix; the record is consumed. */
	log_ring_printf(&ring, 1, 0, "0123456789abcdef");
	assert_int_equal(log_ring_read(&ring, small, sizeof(small), &info), 10);
	assert_string_equal(small, "012345678");
	assert_int_equal(info.text_len, 16);
	assert_true(info.truncated);
	expect_empty();
}

/* A record longer than the space left before the end of the buffer: the
 * rest becomes a pad and the record starts at offset 0; if pad + record do
 * not fit, it is dropped although enough bytes are free in two pieces. */
static void test_wrap_pad(void **state)
{
	(void)state;
	char text[200], out[LOG_RECORD_TEXT_MAX + 1];
	struct log_record_info info;

	for (unsigned i = 0; i < 7; i++)
		put_sized(64, i); /* head at 448: 64 bytes left before the end */
	expect_record(0, 0);
	expect_record(1, 0); /* tail at 128: free = 64 at the end + 128 at the start */
	memset(text, 'p', 120);
	text[120] = '\0'; /* 136-byte record: 64 + 136 > 192 */
	log_ring_printf(&ring, 1, 0, "%s", text);
	assert_int_equal(log_ring_dropped(&ring), 1);
	assert_int_equal(head_pos(), 448);

	expect_record(2, 0); /* free = 64 + 192 */
	log_ring_printf(&ring, 1, 0, "%s", text);
	assert_int_equal(head_pos(), SMALL + 136); /* pad of 64, then the record at 0 */
	for (uint64_t s = 3; s < 7; s++)
		expect_record(s, 0);
	assert_int_equal(log_ring_read(&ring, out, sizeof(out), &info), 121);
	assert_string_equal(out, text);
	assert_int_equal(info.seq, 8);
	assert_int_equal(info.lost, 1);
	expect_empty();
	/* Everything read: all the space is free again. */
	assert_int_equal(ring.tail, head_pos());
}

/* Writer A reserves, is "interrupted" by B which logs a complete record,
 * then A commits. Read between: B first (read-ahead), then A. */
static void test_nested_writer_read_between(void **state)
{
	(void)state;
	char out[64];
	struct log_record_info info;
	struct log_slot a;

	char *dst = log_ring_reserve(&ring, 5, 4, 111, &a);
	assert_non_null(dst);
	assert_int_equal(a.text_len, 5);
	log_ring_printf(&ring, 6, 222, "nmi B");

	assert_int_equal(log_ring_read(&ring, out, sizeof(out), &info), 6);
	assert_string_equal(out, "nmi B");
	assert_int_equal(info.seq, 1);
	assert_int_equal(info.lost, 0);
	assert_int_equal(info.timestamp, 222);
	expect_empty(); /* A is reserved, not committed: never read torn */

	memcpy(dst, "outer", 5);
	log_ring_commit(&ring, &a);
	assert_int_equal(log_ring_read(&ring, out, sizeof(out), &info), 6);
	assert_string_equal(out, "outer");
	assert_int_equal(info.seq, 0);
	assert_int_equal(info.level, 4);
	assert_int_equal(info.timestamp, 111);
	expect_empty();

	/* Both records' space came back. */
	assert_int_equal(ring.tail, head_pos());
}

/* The same nesting, read only after A's commit: position (= sequence)
 * order, A then B. */
static void test_nested_writer_read_after(void **state)
{
	(void)state;
	char out[64];
	struct log_slot a;

	char *dst = log_ring_reserve(&ring, 5, 4, 111, &a);
	assert_non_null(dst);
	log_ring_printf(&ring, 6, 222, "nmi B");
	memcpy(dst, "outer", 5);
	log_ring_commit(&ring, &a);
	assert_int_equal(log_ring_read(&ring, out, sizeof(out), NULL), 6);
	assert_string_equal(out, "outer");
	assert_int_equal(log_ring_read(&ring, out, sizeof(out), NULL), 6);
	assert_string_equal(out, "nmi B");
	expect_empty();
}

/* A writer that never commits (a bug): later records are still delivered,
 * but its space pins the ring, so once the ring is full, records drop. */
static void test_writer_never_commits(void **state)
{
	(void)state;
	struct log_slot a;

	assert_non_null(log_ring_reserve(&ring, 48, 0, 0, &a)); /* 64 bytes, seq 0 */
	for (unsigned i = 1; i < 8; i++)
		put_sized(64, i);
	for (uint64_t s = 1; s < 8; s++)
		expect_record(s, 0);
	expect_empty();
	put_sized(16, 8);
	assert_int_equal(log_ring_dropped(&ring), 1); /* nothing was freed */
	/* A late commit releases everything. */
	log_ring_commit(&ring, &a);
	expect_record(0, 0);
	expect_empty();
	put_sized(64, 9);
	expect_record(9, 1);
}

/* Drops between a pending record and the committed ones read ahead of it
 * are reported with the first record after the gap, in position order. */
static void test_lost_across_read_ahead(void **state)
{
	(void)state;
	struct log_slot a;

	for (unsigned i = 0; i < 6; i++)
		put_sized(64, i);
	for (uint64_t s = 0; s < 6; s++)
		expect_record(s, 0);				/* head and tail at 384 */
	assert_non_null(log_ring_reserve(&ring, 48, 0, 0, &a)); /* seq 6: [384, 448) */
	put_sized(64, 7);					/* seq 7: [448, 512) */
	put_sized(256, 8);					/* seq 8: [512, 768) */
	put_sized(256, 9);					/* seq 9: dropped */
	put_sized(64, 10);					/* seq 10: [768, 832) */
	expect_record(7, 0);
	expect_record(8, 0);
	expect_record(10, 1);
	expect_empty();
	put_sized(64, 11); /* seq 11: [832, 896), the ring is full */
	put_sized(16, 12); /* seq 12: dropped, 6 pins the space */
	log_ring_commit(&ring, &a);
	expect_record(6, 0);
	expect_record(11, 0);
	expect_empty();
	assert_int_equal(ring.tail, head_pos());
	put_sized(16, 13);
	expect_record(13, 1);
	assert_int_equal(log_ring_dropped(&ring), 2);
}

/* One producer thread, one consumer thread, a million records. */
#define STRESS_RECORDS 1000000u

static volatile int producer_done;

static void payload(unsigned n, char *p)
{
	size_t len = n % 97;

	for (size_t i = 0; i < len; i++)
		p[i] = (char)('a' + (n + i) % 26);
	p[len] = '\0';
}

static void *producer(void *arg)
{
	(void)arg;
	char p[100];

	for (unsigned n = 0; n < STRESS_RECORDS; n++) {
		payload(n, p);
		log_ring_printf(&ring, n & 7, n, "#%u %s", n, p);
	}
	__atomic_store_n(&producer_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

struct stress_result {
	uint64_t read, lost, next;
	int bad; /* first failure, as a line number */
};

static int check_record(const char *out, size_t n, const struct log_record_info *info,
			uint64_t expect_at_least)
{
	char want[128], p[100];
	unsigned num;

	if (sscanf(out, "#%u ", &num) != 1 || num != info->seq || info->seq < expect_at_least)
		return __LINE__;
	if (info->timestamp != num || info->level != (num & 7) ||
	    info->lost != info->seq - expect_at_least) {
		print_message("record %u: timestamp %llu level %u lost %llu, expected lost %llu\n",
			      num, (unsigned long long)info->timestamp, info->level,
			      (unsigned long long)info->lost,
			      (unsigned long long)(info->seq - expect_at_least));
		return __LINE__;
	}
	payload(num, p);
	snprintf(want, sizeof(want), "#%u %s", num, p);
	if (strcmp(out, want) != 0 || n != strlen(want) + 1)
		return __LINE__;
	return 0;
}

static void *consumer(void *arg)
{
	struct stress_result *res = arg;
	char out[LOG_RECORD_TEXT_MAX + 1];
	struct log_record_info info;

	for (;;) {
		int done = __atomic_load_n(&producer_done, __ATOMIC_ACQUIRE);
		size_t n = log_ring_read(&ring, out, sizeof(out), &info);
		if (n) {
			int bad = check_record(out, n, &info, res->next);
			if (bad && !res->bad)
				res->bad = bad;
			res->read++;
			res->lost += info.lost;
			res->next = info.seq + 1;
		} else if (done) {
			break; /* empty after the producer finished: all read */
		} else {
			sched_yield();
		}
	}
	return NULL;
}

static void test_threads_stress(void **state)
{
	(void)state;
	pthread_t prod, cons;
	struct stress_result res = { 0 };

	assert_true(log_ring_init(&ring, big_buf, sizeof(big_buf)));
	producer_done = 0;
	assert_int_equal(pthread_create(&cons, NULL, consumer, &res), 0);
	assert_int_equal(pthread_create(&prod, NULL, producer, NULL), 0);
	pthread_join(prod, NULL);
	pthread_join(cons, NULL);

	uint64_t dropped = log_ring_dropped(&ring);
	print_message("stress: %llu read, %llu dropped\n", (unsigned long long)res.read,
		      (unsigned long long)dropped);
	assert_int_equal(res.bad, 0);
	assert_int_equal(res.read + dropped, STRESS_RECORDS);
	/* Every drop is reported in line, before the next record read, except
	 * those after the last record read. */
	assert_int_equal(res.lost + (STRESS_RECORDS - res.next), dropped);
	assert_true(res.read > 0);
}

/* Two producer threads on one ring: not the intended use (one ring per
 * CPU), but the same interleavings as a writer interrupted by a nested one,
 * at random points and a million times, with the reader reading ahead of
 * unfinished records. Each producer's records stay in its own order (it
 * commits one before reserving the next), and every sequence number is
 * either read once or dropped. */
#define MP_RECORDS 300000u

static int producers_done;

static void *mp_producer(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	char p[100];

	for (unsigned n = 0; n < MP_RECORDS; n++) {
		payload(n + id, p);
		log_ring_printf(&ring, id, n, "P%u #%u %s", id, n, p);
	}
	__atomic_fetch_add(&producers_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

struct mp_result {
	uint64_t read, max_seq, late; /* late: delivered after a younger record */
	int64_t last[2];
	uint8_t seen[2 * MP_RECORDS];
	int bad;
};

static int mp_check(struct mp_result *res, const char *out, const struct log_record_info *info)
{
	char want[128], p[100];
	unsigned id, num;

	if (sscanf(out, "P%u #%u ", &id, &num) != 2 || id > 1 || info->level != id ||
	    info->timestamp != num || (int64_t)num <= res->last[id])
		return __LINE__;
	if (info->seq >= 2 * MP_RECORDS || res->seen[info->seq]++)
		return __LINE__;
	payload(num + id, p);
	snprintf(want, sizeof(want), "P%u #%u %s", id, num, p);
	if (strcmp(out, want) != 0)
		return __LINE__;
	res->last[id] = num;
	if (info->seq < res->max_seq)
		res->late++;
	else
		res->max_seq = info->seq;
	return 0;
}

static void *mp_consumer(void *arg)
{
	struct mp_result *res = arg;
	char out[LOG_RECORD_TEXT_MAX + 1];
	struct log_record_info info;

	for (;;) {
		int done = __atomic_load_n(&producers_done, __ATOMIC_ACQUIRE);
		if (log_ring_read(&ring, out, sizeof(out), &info)) {
			int bad = mp_check(res, out, &info);
			if (bad && !res->bad)
				res->bad = bad;
			res->read++;
		} else if (done == 2) {
			break;
		} else {
			sched_yield();
		}
	}
	return NULL;
}

static void test_threads_two_producers(void **state)
{
	(void)state;
	pthread_t prod[2], cons;
	static struct mp_result res;

	memset(&res, 0, sizeof(res));
	res.last[0] = res.last[1] = -1;
	assert_true(log_ring_init(&ring, big_buf, sizeof(big_buf)));
	producers_done = 0;
	assert_int_equal(pthread_create(&cons, NULL, mp_consumer, &res), 0);
	for (uintptr_t i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&prod[i], NULL, mp_producer, (void *)i), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(prod[i], NULL);
	pthread_join(cons, NULL);

	uint64_t dropped = log_ring_dropped(&ring);
	print_message("two producers: %llu read (%llu after a younger one), %llu dropped\n",
		      (unsigned long long)res.read, (unsigned long long)res.late,
		      (unsigned long long)dropped);
	assert_int_equal(res.bad, 0);
	assert_int_equal(res.read + dropped, 2 * MP_RECORDS);
	assert_int_equal(ring.tail, head_pos());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_checks),
		cmocka_unit_test_setup(test_empty_reads, setup_small),
		cmocka_unit_test_setup(test_order_and_fields, setup_small),
		cmocka_unit_test_setup(test_wrap_many_times, setup_small),
		cmocka_unit_test_setup(test_full_ring_drops, setup_small),
		cmocka_unit_test_setup(test_truncation, setup_small),
		cmocka_unit_test_setup(test_wrap_pad, setup_small),
		cmocka_unit_test_setup(test_nested_writer_read_between, setup_small),
		cmocka_unit_test_setup(test_nested_writer_read_after, setup_small),
		cmocka_unit_test_setup(test_writer_never_commits, setup_small),
		cmocka_unit_test_setup(test_lost_across_read_ahead, setup_small),
		cmocka_unit_test(test_threads_stress),
		cmocka_unit_test(test_threads_two_producers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
