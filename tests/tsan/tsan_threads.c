/* ThreadSanitizer test of darkmap's two threads (built with clang -fsanitize=thread, run by
 * tests/integration/tsan.sh from `make test`; a few seconds):
 *   - the decompression thread (src/io/reader.c, forced on with DARKMAP_DECOMPRESS_THREAD=1):
 *     gzip and bzip2 files read to the end with changing buffer sizes and compared byte for
 *     byte, a file closed half way (the thread stopped while it fills), a truncated file (the
 *     error handed from the thread to the reader); bzip2's blocks decoded on two threads
 *     (src/io/bz2par.c, 100 KB blocks) read whole, closed half way, and cut;
 *   - the webhook queue (src/out/webhook.c): a loopback HTTP server answering 200 or 500,
 *     bodies enqueued while another thread reads the stats, drained, a queue of one that
 *     drops, and a webhook freed with bodies still queued.
 * Prints one "ok NAME" or "not ok NAME: why" line per check; exit 1 on any failure. A data
 * race makes TSan print "WARNING: ThreadSanitizer" and exit 66 (TSAN_OPTIONS=exitcode). */
#include <arpa/inet.h>
#include <bzlib.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include "../loopback_http.h"
#include "io/reader.h"
#include "out/webhook.h"
#include "tsan_util.h"


/* --- decompression thread ------------------------------------------------------------------ */

enum { DATA_LEN = 6 << 20 };

static uint8_t *make_data(void)
{
	uint8_t *d = malloc(DATA_LEN);
	uint64_t x = 88172645463325252ull;
	for (size_t i = 0; i < DATA_LEN; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		d[i] = (uint8_t)(x % 100 < 70 ? 'a' + i % 7 : x >> 24);   /* compressible, not trivially */
	}
	return d;
}

static int write_gz(const char *path, const uint8_t *d, size_t n)
{
	gzFile f = gzopen(path, "wb1");
	if (!f)
		return -1;
	int ok = gzwrite(f, d, (unsigned)n) == (int)n;
	return gzclose(f) == Z_OK && ok ? 0 : -1;
}

static int write_bz2(const char *path, const uint8_t *d, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	int bzerr;
	BZFILE *b = BZ2_bzWriteOpen(&bzerr, f, 1, 0, 0);
	if (bzerr != BZ_OK) {
		fclose(f);
		return -1;
	}
	BZ2_bzWrite(&bzerr, b, (void *)d, (int)n);
	int werr = bzerr;
	BZ2_bzWriteClose(&bzerr, b, 0, NULL, NULL);
	return fclose(f) == 0 && werr == BZ_OK && bzerr == BZ_OK ? 0 : -1;
}

/* Reads path to the end (or stop bytes) with buffer sizes 1 .. 64 KiB; 0 when it matches want. */
static int read_back(const char *path, const uint8_t *want, size_t n, size_t stop, char *why, size_t whyn)
{
	struct dm_error err;
	struct dm_reader *r = dm_reader_open(path, &err);
	if (!r) {
		snprintf(why, whyn, "open: %s", err.what);
		return -1;
	}
	static uint8_t buf[65536];
	size_t got = 0, sz = 1;
	for (;;) {
		if (stop && got >= stop)
			break;
		ssize_t k = dm_reader_read(r, buf, sz, &err);
		if (k < 0) {
			snprintf(why, whyn, "read at %zu: %s", got, err.what);
			dm_reader_close(r);
			return -1;
		}
		if (k == 0)
			break;
		if (got + (size_t)k > n || memcmp(buf, want + got, (size_t)k) != 0) {
			snprintf(why, whyn, "bytes differ at %zu", got);
			dm_reader_close(r);
			return -1;
		}
		got += (size_t)k;
		sz = sz * 7 % 65536 + 1;
	}
	dm_reader_close(r);
	if (!stop && got != n) {
		snprintf(why, whyn, "%zu of %zu bytes", got, n);
		return -1;
	}
	return 0;
}

static void test_reader(const char *dir)
{
	char gz[256], bz[256], cut[256], why[300] = "";
	snprintf(gz, sizeof gz, "%s/data.gz", dir);
	snprintf(bz, sizeof bz, "%s/data.bz2", dir);
	snprintf(cut, sizeof cut, "%s/cut.gz", dir);
	uint8_t *d = make_data();
	if (write_gz(gz, d, DATA_LEN) || write_bz2(bz, d, DATA_LEN / 4)) {
		result("reader setup", 0, "cannot write the test files");
		free(d);
		return;
	}
	result("reader gzip to the end", read_back(gz, d, DATA_LEN, 0, why, sizeof why) == 0, why);
	result("reader bzip2 to the end", read_back(bz, d, DATA_LEN / 4, 0, why, sizeof why) == 0, why);
	int ok = 1;
	for (size_t stop = 1; stop < DATA_LEN && ok; stop = stop * 5 + 4093)
		ok = read_back(gz, d, DATA_LEN, stop, why, sizeof why) == 0;
	result("reader closed half way", ok, why);
	/* bzip2's blocks on two threads (src/io/bz2par.c): closed while blocks are decoding */
	ok = 1;
	for (size_t stop = 1; stop < DATA_LEN / 4 && ok; stop = stop * 9 + 40961)
		ok = read_back(bz, d, DATA_LEN / 4, stop, why, sizeof why) == 0;
	result("reader bzip2 blocks closed half way", ok, why);
	/* the first half of the compressed file: the thread meets the truncation */
	FILE *in = fopen(gz, "rb"), *out = fopen(cut, "wb");
	if (in && out) {
		static uint8_t buf[1 << 20];
		size_t k = fread(buf, 1, sizeof buf, in);
		fwrite(buf, 1, k / 2, out);
	}
	if (in)
		fclose(in);
	if (out)
		fclose(out);
	struct dm_error err;
	struct dm_reader *r = dm_reader_open(cut, &err);
	ssize_t k = 1;
	size_t got = 0;
	static uint8_t buf[65536];
	while (r && (k = dm_reader_read(r, buf, sizeof buf, &err)) > 0)
		got += (size_t)k;
	if (r)
		dm_reader_close(r);
	result("reader truncated file reports an error", r && k < 0 && got > 0, "no error or no data before it");
	/* the same for bzip2: the blocks before the cut, decoded on two threads, then the error */
	in = fopen(bz, "rb"), out = fopen(cut, "wb");
	if (in && out) {
		static uint8_t cbuf[1 << 20];
		size_t n = fread(cbuf, 1, sizeof cbuf, in);
		fwrite(cbuf, 1, n / 2, out);
	}
	if (in)
		fclose(in);
	if (out)
		fclose(out);
	r = dm_reader_open(cut, &err);
	k = 1;
	got = 0;
	while (r && (k = dm_reader_read(r, buf, sizeof buf, &err)) > 0)
		got += (size_t)k;
	if (r)
		dm_reader_close(r);
	result("reader truncated bzip2 reports an error after its whole blocks",
	       r && k < 0 && got > 0 && strstr(err.what, "bzip2 stream truncated"),
	       r && k < 0 ? err.what : "no error");
	unlink(gz);
	unlink(bz);
	unlink(cut);
	free(d);
}

/* --- webhook queue ------------------------------------------------------------------------- */

struct srv {
	int lfd, port;
	atomic_int requests;
	atomic_int stop;
	pthread_t th;
};

/* Answers every request: 500 to every fifth, 200 otherwise; ends when stop is set. */
static void *srv_run(void *arg)
{
	struct srv *s = arg;
	while (!atomic_load(&s->stop)) {
		int fd = accept(s->lfd, NULL, NULL);
		if (fd < 0)
			break;
		char buf[4096], *hend;
		loopback_read_request(fd, buf, sizeof buf, &hend);
		int n = atomic_fetch_add(&s->requests, 1);
		const char *ans = n % 5 == 4 ? "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n"
		                             : "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
		ssize_t w = send(fd, ans, strlen(ans), MSG_NOSIGNAL);
		(void)w;
		close(fd);
	}
	return NULL;
}

static int srv_start(struct srv *s)
{
	memset(s, 0, sizeof *s);
	if ((s->lfd = loopback_listen(64, &s->port)) < 0)
		return -1;
	return pthread_create(&s->th, NULL, srv_run, s);
}

static void srv_stop(struct srv *s)
{
	atomic_store(&s->stop, 1);
	/* wake accept() with one last connection */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)s->port),
		                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
		close(fd);
	else if (fd >= 0)
		close(fd);
	pthread_join(s->th, NULL);
	close(s->lfd);
}

struct watcher {
	struct webhook *w;
	atomic_int stop;
	uint64_t seen;
};

static void *watch(void *arg)
{
	struct watcher *x = arg;
	while (!atomic_load(&x->stop)) {
		struct webhook_stats st;
		webhook_stats(x->w, &st);
		x->seen = st.sent + st.failed + st.dropped;
		usleep(200);
	}
	return NULL;
}

static void test_webhook(void)
{
	struct srv s;
	if (srv_start(&s)) {
		result("webhook setup", 0, "cannot listen on loopback");
		return;
	}
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", s.port);
	struct webhook_opts o;
	webhook_opts_default(&o);
	o.tries = 2;
	o.backoff = 0.001;
	o.timeout = 2;
	struct dm_error err;

	/* many bodies, stats read from another thread meanwhile */
	struct webhook *w = webhook_new(url, &o, 64, &err);
	if (!w) {
		result("webhook new", 0, err.what);
		srv_stop(&s);
		return;
	}
	struct watcher x = { .w = w };
	pthread_t th;
	pthread_create(&th, NULL, watch, &x);
	int queued = 0;
	for (int i = 0; i < 40; i++) {
		char body[64];
		int n = snprintf(body, sizeof body, "{\"alert\":%d}", i);
		queued += webhook_enqueue(w, body, (size_t)n) == 0;
	}
	webhook_drain(w);
	atomic_store(&x.stop, 1);
	pthread_join(th, NULL);
	struct webhook_stats st;
	webhook_stats(w, &st);
	webhook_free(w);
	char why[200];
	snprintf(why, sizeof why, "queued %d, sent %llu failed %llu dropped %llu", queued,
	         (unsigned long long)st.sent, (unsigned long long)st.failed, (unsigned long long)st.dropped);
	result("webhook queue drained", st.sent + st.failed == (uint64_t)queued && st.dropped == 40u - queued, why);

	/* a queue of one: most bodies dropped at once, none lost without being counted */
	w = webhook_new(url, &o, 1, &err);
	queued = 0;
	for (int i = 0; w && i < 200; i++)
		queued += webhook_enqueue(w, "{}", 2) == 0;
	if (w) {
		webhook_drain(w);
		webhook_stats(w, &st);
		webhook_free(w);
	}
	snprintf(why, sizeof why, "queued %d, sent %llu failed %llu dropped %llu", queued,
	         (unsigned long long)st.sent, (unsigned long long)st.failed, (unsigned long long)st.dropped);
	result("webhook small queue drops and counts", w && st.sent + st.failed == (uint64_t)queued &&
	                                                   st.dropped == 200u - queued, why);

	/* freed with bodies still queued: free drains, then stops the thread */
	w = webhook_new(url, &o, 16, &err);
	for (int i = 0; w && i < 16; i++)
		webhook_enqueue(w, "{}", 2);
	if (w)
		webhook_free(w);
	result("webhook freed while busy", w != NULL, "webhook_new failed");
	srv_stop(&s);
}

int main(void)
{
	setenv("DARKMAP_DECOMPRESS_THREAD", "1", 1);
	char dir[] = "/tmp/darkmap-tsan-XXXXXX";
	if (!mkdtemp(dir)) {
		printf("not ok tsan setup: mkdtemp\n");
		return 1;
	}
	test_reader(dir);
	test_webhook();
	rmdir(dir);
	return failures ? 1 : 0;
}
