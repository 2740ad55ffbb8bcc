/* Pages populated ahead of an array's writes (src/base/prefault.c, src/base/bigarr.c). What is
 * resident is asked of the kernel (mincore), not of the module: a request must back exactly the
 * two steps after the one an append entered, nothing past them, and never change a byte. Skips where
 * the kernel does not know MADV_POPULATE_WRITE (before Linux 5.14). */
#include "testutil.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/bigarr.h"
#include "base/prefault.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

enum { PG = 4096 };

/* n fresh anonymous pages, none resident */
static uint8_t *map_pages(size_t n)
{
	void *m = mmap(NULL, n * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(m != MAP_FAILED);
	return m;
}

static int supported(void)
{
	uint8_t *m = map_pages(1);
	int rc = madvise(m, PG, MADV_POPULATE_WRITE);
	munmap(m, PG);
	if (rc && errno == EINVAL) {
		fprintf(stderr, "skip: this kernel does not know MADV_POPULATE_WRITE\n");
		return 0;
	}
	return 1;
}

/* resident pages of [p, p + len), counted by the kernel */
static size_t resident(const void *p, size_t len)
{
	size_t n = (len + PG - 1) / PG, k = 0;
	unsigned char *v = malloc(n);
	assert_non_null(v);
	assert_int_equal(mincore((void *)p, len, v), 0);
	for (size_t i = 0; i < n; i++)
		k += v[i] & 1;
	free(v);
	return k;
}

/* waits (up to 5 s) until the helper has done `want` requests, populated or failed */
static void wait_done(uint64_t want)
{
	struct prefault_stats st;
	for (int i = 0; i < 5000; i++) {
		prefault_stats(&st);
		if (st.populated + st.failed >= want)
			return;
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	fail_msg("the helper did not get to %llu requests", (unsigned long long)want);
}

static uint64_t done_now(void)
{
	struct prefault_stats st;
	prefault_stats(&st);
	return st.populated + st.failed;
}

/* Appending 16-byte elements to a 1 MiB mapped array: when the written end reaches a step's
 * start B (B = 32,768 here: steps of 32 KiB), the two steps after the one at B are asked for
 * (65,536-131,071), all 16 of their pages and no other; at 65,536 the two after it (98,304-
 * 163,839: one new step). */
static void test_append_asks_next_step(void **state)
{
	(void)state;
	if (!supported())
		skip();
	size_t cap = 1u << 20, elem = 16;
	uint8_t *a = bigarr_zalloc(cap);
	assert_non_null(a);
	assert_int_equal(resident(a, cap), 0);
	uint64_t before = done_now();
	for (size_t n = 1; n * elem < 65536; n++) {   /* ends at 65,520: one request, at 32,768 */
		memset(a + (n - 1) * elem, 0xab, elem);
		prefault_append(a, n * elem, elem, cap);
	}
	wait_done(before + 1);
	assert_int_equal(resident(a, 65536), 16);
	assert_int_equal(resident(a + 65536, PREFAULT_AHEAD), 16);
	assert_int_equal(resident(a + 131072, cap - 131072), 0);
	memset(a + 65536 - elem, 0xab, elem);
	prefault_append(a, 65536, elem, cap);
	wait_done(before + 2);
	assert_int_equal(resident(a + 131072, PREFAULT_STEP), 8);
	assert_int_equal(resident(a + 163840, cap - 163840), 0);
	assert_int_equal(done_now(), before + 2);
	/* the bytes written are kept, the populated ones read zero */
	for (size_t i = 0; i < 65536; i++)
		assert_int_equal(a[i], 0xab);
	for (size_t i = 65536; i < 163840; i++)
		assert_int_equal(a[i], 0);
	/* the last step is bounded by the mapping: an append entering it asks for nothing past cap */
	before = done_now();
	prefault_append(a, cap - PREFAULT_STEP + elem, elem, cap);
	struct prefault_stats st;
	prefault_stats(&st);
	nanosleep(&(struct timespec){ 0, 20000000 }, NULL);
	assert_int_equal(done_now(), before);
	/* an array under the minimum (malloc's) is left alone */
	uint64_t req = st.requested;
	prefault_append(a, 32768 + elem, elem, PREFAULT_MIN - 1);
	prefault_stats(&st);
	assert_int_equal(st.requested, req);
	bigarr_free(a, cap);
}

/* prefault_now backs an unaligned range's whole pages at once and changes no byte; a range no
 * longer mapped gives -1 and nothing else. */
static void test_now(void **state)
{
	(void)state;
	if (!supported())
		skip();
	uint8_t *m = map_pages(16);
	memcpy(m + 5 * PG + 100, "kept", 4);
	assert_int_equal(resident(m, 16 * PG), 1);
	assert_int_equal(prefault_now(m + 3 * PG + 10, 4 * PG), 0);   /* pages 3..7 */
	assert_int_equal(resident(m, 3 * PG), 0);
	assert_int_equal(resident(m + 3 * PG, 5 * PG), 5);
	assert_int_equal(resident(m + 8 * PG, 8 * PG), 0);
	assert_memory_equal(m + 5 * PG + 100, "kept", 4);
	assert_int_equal(m[3 * PG + 10], 0);
	munmap(m, 16 * PG);
	assert_int_equal(prefault_now(m, PG), -1);
}

/* A request for a range unmapped meanwhile (an array moved by mremap) fails on the helper and
 * counts as failed: no crash, nothing mapped there. */
static void test_unmapped_request(void **state)
{
	(void)state;
	if (!supported())
		skip();
	uint8_t *m = map_pages(4);
	munmap(m, 4 * PG);
	struct prefault_stats st0, st;
	prefault_stats(&st0);
	prefault_request(m, 4 * PG);
	wait_done(st0.populated + st0.failed + 1);
	prefault_stats(&st);
	assert_int_equal(st.failed, st0.failed + 1);
	assert_int_equal(st.populated, st0.populated);
}

/* The helper reads each page it populated (prefault.c: the first access after populating still
 * traps on this project's virtual machines), but never one of a range unmapped after
 * prefault_unmapping: 400 ranges are each asked for and unmapped at once or after up to 0.2 ms,
 * so that the helper is before, inside or after its populate and reads when the unmapping
 * comes. A read of an unmapped page is a SIGSEGV (without the check of prefault_unmapping this
 * crashed here in the first tens of rounds); every request is accounted for. A range left mapped
 * is read through (untouched stays). */
static void test_unmapping_stops_reads(void **state)
{
	(void)state;
	if (!supported())
		skip();
	struct prefault_stats st0, st;
	prefault_stats(&st0);
	uint8_t *kept = map_pages(16);
	prefault_request(kept, 16 * PG);
	wait_done(st0.populated + st0.failed + 1);
	prefault_stats(&st);
	assert_int_equal(st.populated, st0.populated + 1);
	assert_int_equal(st.untouched, st0.untouched);
	assert_int_equal(resident(kept, 16 * PG), 16);
	munmap(kept, 16 * PG);
	prefault_stats(&st0);
	enum { ROUNDS = 400 };
	for (int i = 0; i < ROUNDS; i++) {
		uint8_t *m = map_pages(64);
		prefault_request(m, 64 * PG);
		if (i % 4)
			nanosleep(&(struct timespec){ 0, (i % 200) * 1000 }, NULL);
		prefault_unmapping();
		munmap(m, 64 * PG);
	}
	prefault_stats(&st);
	uint64_t asked = st.requested - st0.requested, dropped = st.dropped - st0.dropped;
	wait_done(st0.populated + st0.failed + asked - dropped);
	prefault_stats(&st);
	assert_int_equal(st.populated - st0.populated + st.failed - st0.failed, asked - dropped);
	assert_true(st.untouched - st0.untouched <= st.populated - st0.populated);
}

/* The helper reads inside the bytes asked for only: a malloc'd block's first page may begin
 * before the block (the allocator's header; under AddressSanitizer, a redzone, whose read it
 * reports: this test's binary is built with it) and its last may run past it. The pages are
 * populated whole, the bytes are kept. */
static void test_reads_inside_request(void **state)
{
	(void)state;
	if (!supported())
		skip();
	size_t n = (1u << 20) + 100;
	uint8_t *b = malloc(n);
	assert_non_null(b);
	memset(b, 0x3c, n);
	struct prefault_stats st0, st;
	prefault_stats(&st0);
	prefault_request(b + 10, n - 20);   /* neither end on a page boundary */
	wait_done(st0.populated + st0.failed + 1);
	prefault_stats(&st);
	assert_int_equal(st.populated, st0.populated + 1);
	assert_int_equal(st.untouched, st0.untouched);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(b[i], 0x3c);
	prefault_unmapping();
	free(b);
}

/* A growing array keeps its bytes across mremap moves, and its growth asks for the first step
 * past the old end: the pages the next appends write. */
static void test_grow_keeps_and_asks(void **state)
{
	(void)state;
	if (!supported())
		skip();
	uint32_t *a = NULL, cap = 0;
	uint64_t before = done_now();
	/* 1 MiB of capacity at the end, 800,000 bytes written: under 2 MiB, on 4 KiB pages
	 * (bigarr.c APPEND_HUGE) */
	for (uint32_t n = 1; n <= 200000; n++) {
		assert_int_equal(bigarr_need((void **)&a, &cap, n, sizeof *a, 0), 0);
		a[n - 1] = n * 2654435761u;
	}
	assert_int_equal(cap, 262144);
	for (uint32_t n = 1; n <= 200000; n++)
		assert_int_equal(a[n - 1], n * 2654435761u);
	assert_true(done_now() > before);
	/* the mapped array's pages past the written end: at most three steps resident (the one
	 * being written, two ahead) */
	size_t end = ((size_t)200000 * 4 + PG - 1) & ~(size_t)(PG - 1);
	assert_true(resident((uint8_t *)a + end, (size_t)cap * 4 - end) <= 3 * PREFAULT_STEP / PG);
	bigarr_free(a, (size_t)cap * sizeof *a);
}

/* A mapped array grows before it is full (bigarr_need): when an append enters a step with less
 * than PREFAULT_AHEAD bytes after it, the array doubles then, keeping its bytes, so that the
 * steps asked for ahead lie in the new room. 4-byte elements, 1 MiB: the step at 983,040 has
 * 32,768 bytes after it, so the append that enters it (element 245,760, ending at 983,040)
 * doubles it; the one before does not. An array with room enough is not grown. */
static void test_grows_before_full(void **state)
{
	(void)state;
	uint32_t *a = NULL, cap = 0;
	for (uint32_t n = 1; n <= 245759; n++) {
		assert_int_equal(bigarr_need((void **)&a, &cap, n, sizeof *a, 0), 0);
		a[n - 1] = n * 2654435761u;
	}
	assert_int_equal(cap, 262144);
	assert_int_equal(bigarr_need((void **)&a, &cap, 245760, sizeof *a, 0), 0);
	assert_int_equal(cap, 524288);
	a[245759] = 245760 * 2654435761u;
	for (uint32_t n = 1; n <= 245760; n++)
		assert_int_equal(a[n - 1], n * 2654435761u);
	/* the new room's steps ahead reach past the old end without another growth */
	for (uint32_t n = 245761; n <= 300000; n++) {
		assert_int_equal(bigarr_need((void **)&a, &cap, n, sizeof *a, 0), 0);
		a[n - 1] = n;
	}
	assert_int_equal(cap, 524288);
	bigarr_free(a, (size_t)cap * sizeof *a);
}

/* An array appended to past 2 MiB may get huge pages (bigarr.c), so what is populated past its
 * end is up to the rest of a huge page, more than three steps: bigarr_trim gives all of it
 * back, keeps every byte written, and the pages given back read zero. */
static void test_huge_append_trim(void **state)
{
	(void)state;
	if (!supported())
		skip();
	uint32_t *a = NULL, cap = 0, n = 600000;
	for (uint32_t i = 1; i <= n; i++) {
		assert_int_equal(bigarr_need((void **)&a, &cap, i, sizeof *a, 0), 0);
		a[i - 1] = i * 2654435761u;
	}
	assert_true((size_t)cap * 4 >= (2u << 20));
	wait_done(done_now());   /* nothing more asked for: let the helper finish what it has */
	nanosleep(&(struct timespec){ 0, 20000000 }, NULL);
	size_t end = ((size_t)n * 4 + PG - 1) & ~(size_t)(PG - 1), past = (size_t)cap * 4 - end;
	assert_true(resident((uint8_t *)a + end, past) <= (2u << 20) / PG + 3 * PREFAULT_STEP / PG);
	bigarr_trim(a, (size_t)n * 4, (size_t)cap * 4);
	assert_int_equal(resident((uint8_t *)a + end, past), 0);
	for (uint32_t i = 1; i <= n; i++)
		assert_int_equal(a[i - 1], i * 2654435761u);
	for (size_t i = n; i < end / 4; i++)   /* the written page's tail: kept, never written */
		assert_int_equal(a[i], 0);
	assert_int_equal(((uint8_t *)a)[end + 4096], 0);
	bigarr_free(a, (size_t)cap * sizeof *a);
}

/* An appended array of 2 MiB and more starts on a 2 MiB boundary after every growth, whatever
 * its element size (72 bytes, as the signal's entities: grown by mremap where the kernel chose
 * the address, they landed off the boundary, where no huge page can back them), and keeps its
 * bytes; bigarr_resize_append from a malloc'd block, through the copy into a fresh mapping and
 * the moves after it, the same. */
struct ent72 { uint32_t w[18]; };

static void test_append_huge_aligned(void **state)
{
	(void)state;
	struct ent72 *a = NULL;
	uint32_t cap = 0, n = 100000, growths = 0;   /* 7.2 MB */
	for (uint32_t i = 1; i <= n; i++) {
		uint32_t before = cap;
		assert_int_equal(bigarr_need((void **)&a, &cap, i, sizeof *a, 0), 0);
		if (cap != before && (size_t)cap * sizeof *a >= (2u << 20)) {
			growths++;
			assert_int_equal((uintptr_t)a & ((2u << 20) - 1), 0);
		}
		for (int k = 0; k < 18; k++)
			a[i - 1].w[k] = i * 2654435761u + (uint32_t)k;
	}
	assert_true(growths >= 2);
	for (uint32_t i = 1; i <= n; i++)
		for (int k = 0; k < 18; k++)
			assert_int_equal(a[i - 1].w[k], i * 2654435761u + (uint32_t)k);
	bigarr_free(a, (size_t)cap * sizeof *a);

	size_t sz = 40u << 10;   /* malloc's */
	uint8_t *b = bigarr_resize_append(NULL, 0, sz);
	assert_non_null(b);
	for (size_t i = 0; i < sz; i++)
		b[i] = (uint8_t)(i * 7 + 1);
	for (size_t next = 3u << 20; next <= (12u << 20); next *= 2) {
		b = bigarr_resize_append(b, sz, next);
		assert_non_null(b);
		assert_int_equal((uintptr_t)b & ((2u << 20) - 1), 0);
		for (size_t i = 0; i < 40u << 10; i++)
			assert_int_equal(b[i], (uint8_t)(i * 7 + 1));
		assert_int_equal(b[next - 1], 0);   /* new room reads zero */
		b[next - 1] = 0x5a;
		sz = next;
	}
	assert_int_equal(b[(6u << 20) - 1], 0x5a);   /* written at the step before, moved along */
	bigarr_free(b, sz);
}

/* Appends of several elements at a time (bigarr_need_n: a prefix's shares) ask for the steps
 * ahead at every step they enter, as single ones do: 48-byte appends (three 16-byte elements) to
 * a 4 MiB array up to 1 MiB enter each of its first 32 steps once. Taken by the element's size,
 * as bigarr_need did for them before (the end within 16 bytes of a step), they asked at one step
 * in three (10 here): the rest of the pages were the writer's faults. */
static void test_need_n_asks_each_step(void **state)
{
	(void)state;
	size_t bytes = 4u << 20;
	uint32_t cap = (uint32_t)(bytes / 16), add = 3;
	uint8_t *a = bigarr_zalloc(bytes);
	assert_non_null(a);
	struct prefault_stats st0, st;
	prefault_stats(&st0);
	uint32_t n = 0;
	while ((size_t)(n + add) * 16 <= (1u << 20) + 32) {
		void *p = a;
		assert_int_equal(bigarr_need_n(&p, &cap, n + add, add, 16, 0), 0);
		assert_ptr_equal(p, a);   /* room left: not grown */
		n += add;
	}
	prefault_stats(&st);
	assert_int_equal(st.requested - st0.requested, 32);   /* 32 KiB, 64 KiB, .. 1 MiB */
	bigarr_free(a, bytes);
}

/* An appended array growing past 2 MiB moves into the spare mapping made when an array reached
 * 1 MiB (bigarr.c spare_make): whole (a 4 MiB move) or cut to 2 MiB, on a 2 MiB boundary, its
 * bytes kept, the new room zero, and it grows on by mremap from there (a spare cut wrongly, or
 * two mappings under one array, would fail that move). */
static void test_append_spare(void **state)
{
	(void)state;
	for (size_t elem = 64; elem <= 72; elem += 8) {   /* 2 MiB exactly, and 2.25 MiB */
		uint8_t *a = NULL;
		uint32_t cap = 0, n = (uint32_t)((9u << 20) / elem);
		for (uint32_t i = 1; i <= n; i++) {
			uint32_t before = cap;
			assert_int_equal(bigarr_need((void **)&a, &cap, i, elem, 0), 0);
			if (cap != before && (size_t)cap * elem >= (2u << 20))
				assert_int_equal((uintptr_t)a & ((2u << 20) - 1), 0);
			memset(a + (size_t)(i - 1) * elem, (int)((i - 1) % 251) + 1, elem);
			if (cap != before && (size_t)cap * elem >= (2u << 20)) {   /* just moved */
				for (uint32_t j = 0; j < i; j++)
					assert_int_equal(a[(size_t)j * elem + elem - 1], (uint8_t)(j % 251 + 1));
				assert_int_equal(a[(size_t)cap * elem - 1], 0);
			}
		}
		for (uint32_t j = 0; j < n; j++)
			assert_int_equal(a[(size_t)j * elem], (uint8_t)(j % 251 + 1));
		bigarr_free(a, (size_t)cap * elem);
	}
}

/* bigarr_trim gives back the whole pages past the used bytes, keeps the used ones, and the pages
 * given back read zero; a malloc'd block's unaligned start is rounded inwards. */
static void test_trim(void **state)
{
	(void)state;
	if (!supported())
		skip();
	size_t cap = 1u << 20;
	uint8_t *a = bigarr_zalloc(cap);
	assert_non_null(a);
	memset(a, 0x5a, 3 * PG + 100);               /* used: 3 pages and 100 bytes */
	assert_int_equal(prefault_now(a, 16 * PG), 0);   /* 12 more populated ahead */
	assert_int_equal(resident(a, cap), 16);
	bigarr_trim(a, 3 * PG + 100, cap);
	assert_int_equal(resident(a, cap), 4);        /* the page holding the last used byte stays */
	for (size_t i = 0; i < 3 * PG + 100; i++)
		assert_int_equal(a[i], 0x5a);
	assert_int_equal(a[3 * PG + 100], 0);
	assert_int_equal(a[10 * PG], 0);
	/* a block not at a page start (a malloc'd one of 64 KiB or more): only whole pages inside
	 * [p + used, p + cap) go */
	memset(a + 4 * PG, 0x77, 20 * PG);
	bigarr_trim(a + 4 * PG + 16, 2 * PG, 20 * PG - 16);   /* [6 pages + 16 B, 24 pages) of a */
	assert_int_equal(resident(a + 4 * PG, 20 * PG), 3);   /* pages 4, 5, 6 stay; 7-23 go */
	assert_int_equal(a[6 * PG + 16], 0x77);
	assert_int_equal(a[7 * PG], 0);
	assert_int_equal(a[23 * PG], 0);
	/* under 64 KiB it is malloc's: left alone */
	memset(a + 30 * PG, 0x11, 4 * PG);
	bigarr_trim(a + 30 * PG, 0, 4 * PG);
	assert_int_equal(resident(a + 30 * PG, 4 * PG), 4);
	bigarr_free(a, cap);
}

/* DARKMAP_PREFAULT=0 (here in a child, where the helper starts anew): nothing is populated, every
 * request is dropped. */
static void test_off(void **state)
{
	(void)state;
	if (!supported())
		skip();
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setenv("DARKMAP_PREFAULT", "0", 1);
		uint8_t *m = map_pages(8);
		struct prefault_stats st0, st;
		prefault_stats(&st0);
		prefault_request(m, 8 * PG);
		int now = prefault_now(m, 8 * PG);
		nanosleep(&(struct timespec){ 0, 20000000 }, NULL);
		prefault_stats(&st);
		_exit(now == -1 && resident(m, 8 * PG) == 0 && st.dropped == st0.dropped + 1 ? 0 : 1);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_asks_next_step),
		cmocka_unit_test(test_now),
		cmocka_unit_test(test_unmapped_request),
		cmocka_unit_test(test_unmapping_stops_reads),
		cmocka_unit_test(test_reads_inside_request),
		cmocka_unit_test(test_grow_keeps_and_asks),
		cmocka_unit_test(test_grows_before_full),
		cmocka_unit_test(test_huge_append_trim),
		cmocka_unit_test(test_append_huge_aligned),
		cmocka_unit_test(test_need_n_asks_each_step),
		cmocka_unit_test(test_append_spare),
		cmocka_unit_test(test_trim),
		cmocka_unit_test(test_off),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
