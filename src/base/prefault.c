#include "base/prefault.h"

#include "base/cpu.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23   /* Linux 5.14 */
#endif

/* A ring of requests under one mutex: about one request per 32 KiB written (about 900 for a full
 * table), so the lock is never the cost. Waking a sleeping thread is: a futex call per request
 * was 3-4% of the writer's time (this VM's syscalls are dear). So while requests keep coming the
 * helper polls the ring every POLL_US, on its own core, and only after IDLE_MS without one does
 * it sleep until woken; the writer wakes it only then. */
enum { RING = 64, POLL_US = 200, IDLE_MS = 20 };

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* the bytes asked for [at, at + n): their whole pages populated, a byte of each page inside
	 * them read (a malloc'd block's first page may start before it: not ours to read) */
	struct { uintptr_t at; size_t n; uint64_t gen; } q[RING];
	unsigned head, tail;   /* q[head % RING] next to do; tail - head queued */
	int state;             /* 0 not started, 1 running, -1 off */
	int waiting;           /* the helper sleeps on cv (not polling) */
	struct prefault_stats st;
} pf = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

/* Populating makes the guest's page tables only. On the virtual machines this project runs on
 * (shadow paging) the first user-mode access to each 4 KiB page afterwards, read or write, from
 * any thread, still traps to the hypervisor: 5-8 us a page, about half a fault's cost, which the
 * writer paid at its first store to each populated page (bench/touch.c: 5.2-7.7 us a page after
 * the helper populated it, 0.3 us after it populated it and read a byte of each page; the
 * kernel's own accesses, a pipe write from the page or process_vm_readv, do not count). So the
 * helper reads each page it populated. A read of a page unmapped meanwhile would be a SIGSEGV
 * where the populate call only failed: every unmapping or moving of memory a request may name
 * (base/bigarr.c, the RIB's chunks) first calls prefault_unmapping, which bumps `gen` under
 * `tmu`; the helper reads a page only holding `tmu` with `gen` unchanged since the request was
 * made, when its range was the requester's and mapped. (A page at a time: the unmapper waits
 * one page's read, 8 us at most.) */
static pthread_mutex_t tmu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t gen;   /* changed under tmu; read by requesters without it (older: reads skipped) */

/* The byte read may be one the writer is storing to (it caught up with the helper): the value is
 * thrown away, and only the access counts, so the race is by design and kept from ThreadSanitizer. */
__attribute__((no_sanitize("thread"))) static void touch_pages(uintptr_t at, size_t n, uint64_t g)
{
	/* a byte of each page of [at, at + n), inside it: at, then each page start after it */
	for (uintptr_t x = at; x < at + n; x = (x & ~(uintptr_t)4095) + 4096) {
		pthread_mutex_lock(&tmu);
		int ok = __atomic_load_n(&gen, __ATOMIC_RELAXED) == g;
		if (ok)
			(void)*(volatile const char *)x;
		pthread_mutex_unlock(&tmu);
		if (!ok) {
			pthread_mutex_lock(&pf.mu);
			pf.st.untouched++;
			pthread_mutex_unlock(&pf.mu);
			return;
		}
	}
}

void prefault_unmapping(void)
{
	pthread_mutex_lock(&tmu);
	__atomic_add_fetch(&gen, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&tmu);
}

static uint64_t now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

/* the whole pages around [p, p + len): madvise takes a page-aligned start (malloc's blocks are
 * not page-aligned) */
static uintptr_t page_span(const void *p, size_t len, size_t *span)
{
	uintptr_t a = (uintptr_t)p & ~(uintptr_t)4095;
	*span = (((uintptr_t)p + len + 4095) & ~(uintptr_t)4095) - a;
	return a;
}

static void *helper(void *arg)
{
	(void)arg;
	uint64_t last = now_us();   /* the last request taken */
	pthread_mutex_lock(&pf.mu);
	for (;;) {
		if (pf.head == pf.tail) {
			if (now_us() - last < IDLE_MS * 1000u) {
				pthread_mutex_unlock(&pf.mu);
				nanosleep(&(struct timespec){ 0, POLL_US * 1000 }, NULL);
				pthread_mutex_lock(&pf.mu);
				continue;
			}
			pf.waiting = 1;
			while (pf.head == pf.tail)
				pthread_cond_wait(&pf.cv, &pf.mu);
			pf.waiting = 0;
		}
		uintptr_t at = pf.q[pf.head % RING].at;
		size_t n = pf.q[pf.head % RING].n, len;
		uint64_t g = pf.q[pf.head % RING].gen;
		pf.head++;
		pthread_mutex_unlock(&pf.mu);
		uintptr_t p = page_span((const void *)at, n, &len);
		int rc = madvise((void *)p, len, MADV_POPULATE_WRITE);
		int err = errno;
		if (!rc)
			touch_pages(at, n, g);
		last = now_us();
		pthread_mutex_lock(&pf.mu);
		if (!rc)
			pf.st.populated++;
		else if (err != EINVAL)
			pf.st.failed++;
		else {   /* the kernel does not know the advice: off for good */
			__atomic_store_n(&pf.state, -1, __ATOMIC_RELAXED);
			pf.head = pf.tail;
			pthread_mutex_unlock(&pf.mu);
			return NULL;
		}
	}
}

/* DARKMAP_PREFAULT=0: no populating at all (to measure what it gives) */
static int prefault_off_env(void)
{
	const char *e = getenv("DARKMAP_PREFAULT");
	return e && *e == '0';
}

/* In a forked child the helper is gone: start anew there. */
static void after_fork_child(void)
{
	pthread_mutex_init(&pf.mu, NULL);
	pthread_cond_init(&pf.cv, NULL);
	pthread_mutex_init(&tmu, NULL);
	pf.head = pf.tail = 0;
	pf.waiting = 0;
	if (pf.state == 1)
		__atomic_store_n(&pf.state, 0, __ATOMIC_RELAXED);
}

static int start(void)
{
	if (prefault_off_env() || sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return -1;
	static int atfork_done;
	if (!atfork_done) {
		pthread_atfork(NULL, NULL, after_fork_child);
		atfork_done = 1;
	}
	pthread_t t;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&a, 64u << 10);
	int rc = dm_helper_create(&t, &a, helper, NULL);
	pthread_attr_destroy(&a);
	return rc ? -1 : 1;
}

int prefault_now(void *p, size_t len)
{
	size_t span;
	uintptr_t a = page_span(p, len, &span);
	if (!len || __atomic_load_n(&pf.state, __ATOMIC_RELAXED) < 0 || prefault_off_env())
		return -1;
	return madvise((void *)a, span, MADV_POPULATE_WRITE) ? -1 : 0;
}

void prefault_request(void *p, size_t len)
{
	pthread_mutex_lock(&pf.mu);
	if (!pf.state)
		__atomic_store_n(&pf.state, start(), __ATOMIC_RELAXED);
	pf.st.requested++;
	if (pf.state < 0 || pf.tail - pf.head == RING) {
		pf.st.dropped++;
	} else {
		pf.q[pf.tail % RING].at = (uintptr_t)p;
		pf.q[pf.tail % RING].n = len;
		pf.q[pf.tail % RING].gen = __atomic_load_n(&gen, __ATOMIC_ACQUIRE);
		pf.tail++;
		if (pf.waiting)
			pthread_cond_signal(&pf.cv);
	}
	pthread_mutex_unlock(&pf.mu);
}

void prefault_stats(struct prefault_stats *out)
{
	pthread_mutex_lock(&pf.mu);
	*out = pf.st;
	pthread_mutex_unlock(&pf.mu);
}
