/* ThreadSanitizer test of dump's second decoding thread (src/cmd/dump.c, "decoding on two
 * threads", forced with DARKMAP_DUMP_THREAD=1), run by tests/integration/tsan.sh; a few s.
 * An MRT file is written here: a PEER_INDEX_TABLE, RIB records (some with an ORIGIN of 7, a
 * problem per entry), bytes of damage between records (the reader's framing errors), a second
 * PEER_INDEX_TABLE with fewer peers (entries naming a peer past its end), BGP4MP UPDATEs, then
 * TABLE_DUMP (v1) records, a few batching several entries.
 * `darkmap dump` -m, -M and --json of it, plain and gzip (with the decompression thread), must
 * print on stdout and stderr exactly what the one-thread loop prints (the summary's seconds
 * aside); written to /dev/full, it must stop with exit 3. Prints "ok tsan NAME" or "not ok tsan
 * NAME: why" per check; a data race makes TSan exit 66 (TSAN_OPTIONS=exitcode). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "base/log.h"
#include "cmd/cmds.h"
#include "mrt/writer.h"
#include "tsan_util.h"


static void peer_index(struct wbuf *b, uint32_t ts, uint16_t npeers)
{
	struct mrt_peer peers[3];
	memset(peers, 0, sizeof peers);
	for (uint16_t i = 0; i < npeers; i++) {
		peers[i].addr.afi = DM_AFI_IPV4;
		peers[i].addr.b[0] = 10;
		peers[i].addr.b[3] = (uint8_t)(i + 1);
		peers[i].asn = 64500u + i;
		peers[i].bgp_id = 0x0a000001u + i;
	}
	struct mrt_peer_index pi;
	memset(&pi, 0, sizeof pi);
	pi.collector_id = 0x0a0000fe;
	strcpy(pi.view, "tsan");
	pi.npeers = pi.declared = npeers;
	pi.peers = peers;
	struct dm_error err;
	mrt_encode_peer_index(b, ts, &pi, &err);
}

/* ORIGIN, a 4-byte AS_SEQUENCE of 3, NEXT_HOP: the RIB form of an attribute block */
static size_t attrs(uint8_t *a, uint32_t i, uint8_t origin)
{
	size_t n = 0;
	const uint8_t head[] = { 0x40, 1, 1, origin, 0x40, 2, 14, 2, 3 };
	memcpy(a, head, sizeof head);
	n = sizeof head;
	uint32_t asn[3] = { 64500u + i % 3, 3356, 65536u + i % 900 };
	for (int k = 0; k < 3; k++) {
		a[n++] = (uint8_t)(asn[k] >> 24), a[n++] = (uint8_t)(asn[k] >> 16);
		a[n++] = (uint8_t)(asn[k] >> 8), a[n++] = (uint8_t)asn[k];
	}
	const uint8_t nh[] = { 0x40, 3, 4, 10, 0, 0, 1 };
	memcpy(a + n, nh, sizeof nh);
	return n + sizeof nh;
}

static void make_file(struct wbuf *b)
{
	uint32_t ts = 1700000000;
	struct dm_error err;
	peer_index(b, ts, 3);
	for (uint32_t i = 0; i < 12000; i++) {
		if (i == 6000)
			peer_index(b, ts, 2);
		if (i % 2500 == 1250) {   /* damage: a run of bytes that frame no record */
			for (int k = 0; k < 40; k++)
				wbuf_u8(b, 0xab);
		}
		struct dm_prefix p;
		memset(&p, 0, sizeof p);
		p.afi = DM_AFI_IPV4;
		p.len = 24;
		p.b[0] = (uint8_t)(1 + i / 65536), p.b[1] = (uint8_t)(i >> 8), p.b[2] = (uint8_t)i;
		size_t start = mrt_rib_begin(b, ts, 0, i, &p);
		uint8_t a[64];
		for (uint16_t e = 0; e < 3; e++) {
			size_t n = attrs(a, i + e, i % 97 == 5 ? 7 : 0);
			mrt_rib_entry(b, 0, e, ts - 100, 0, a, n);
		}
		mrt_rib_end(b, start, 3, &err);
	}
	struct mrt_session s;
	memset(&s, 0, sizeof s);
	s.peer_as = 64500, s.local_as = 12654, s.afi = DM_AFI_IPV4, s.as4 = 1;
	s.peer_ip.afi = s.local_ip.afi = DM_AFI_IPV4;
	s.peer_ip.b[0] = 10, s.peer_ip.b[3] = 1;
	for (uint32_t i = 0; i < 20000; i++) {
		uint8_t m[128], a[64];
		memset(m, 0xff, 16);
		size_t al = attrs(a, i, i % 89 == 3 ? 9 : 1);
		size_t n = 19;
		m[n++] = 0, m[n++] = 0;   /* no withdrawn routes */
		m[n++] = 0, m[n++] = (uint8_t)al;
		memcpy(m + n, a, al);
		n += al;
		for (int k = 0; k < 2; k++) {
			m[n++] = 24, m[n++] = 20, m[n++] = (uint8_t)(i >> 8), m[n++] = (uint8_t)(i + k);
		}
		m[16] = (uint8_t)(n >> 8), m[17] = (uint8_t)n, m[18] = 2;
		mrt_encode_message(b, i & 1, ts + i / 100, i % 1000000, &s, m, n, &err);
	}
	/* TABLE_DUMP (v1): blocks that repeat (dump -m/-M print them from their cached text without
	 * decoding them, mrt.h lazy_td1), some with an ORIGIN of 7; every 500th record batches 4
	 * entries and a cut fifth (RIS 2000), whose problem comes after its entries' */
	for (uint32_t i = 0; i < 8000; i++) {
		int batched = i % 500 == 7;
		size_t start = b->len;
		wbuf_u32(b, ts + 20000), wbuf_u16(b, MRT_TABLE_DUMP), wbuf_u16(b, MRT_TD_AFI_IPV4), wbuf_u32(b, 0);
		wbuf_u16(b, 0), wbuf_u16(b, (uint16_t)i);
		for (uint32_t e = 0; e < (batched ? 4u : 1u); e++) {
			uint32_t k = i * 4 + e;
			const uint8_t fixed[] = { 30, (uint8_t)(k >> 8), (uint8_t)k, 0, 24, 1, 0x65, 0x53, 0xf1, 0x00,
			                          10, 0, 0, (uint8_t)(1 + k % 3), 0xfb, (uint8_t)(0xf4 + k % 3) };
			const uint8_t a[] = { 0x40, 1, 1, (uint8_t)(k % 113 == 9 || (batched && e == 2) ? 7 : 0),
			                      0x40, 2, 8, 2, 3, 0xfb, (uint8_t)(0xf4 + k % 3), 0x0d, 0x1c, 0x10, (uint8_t)(k % 40),
			                      0x40, 3, 4, 10, 0, 0, (uint8_t)(1 + k % 3) };
			wbuf_put(b, fixed, sizeof fixed);
			wbuf_u16(b, sizeof a);
			wbuf_put(b, a, sizeof a);
		}
		if (batched)
			wbuf_put(b, "\x1e\x01\x02", 3);
		wbuf_set_u32(b, start + 8, (uint32_t)(b->len - start - MRT_HEADER_LEN));
	}
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *p = malloc((size_t)n + 1);
	*len = fread(p, 1, (size_t)n, f);
	p[*len] = 0;
	fclose(f);
	return p;
}

/* darkmap dump MODE FILE with stdout to out (or /dev/full) and stderr to errp; returns the exit
 * status. The summary's ", 0.12 s" is cut from errp so that runs compare. */
static int run_dump(const char *mode, const char *file, const char *out, const char *errp)
{
	fflush(stdout);
	fflush(stderr);
	int so = dup(1), se = dup(2);
	int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600), fe = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fo, 1);
	dup2(fe, 2);
	close(fo);
	close(fe);
	char *argv[] = { "dump", (char *)mode, (char *)file, NULL };
	int rc = cmd_dump(3, argv);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	size_t n;
	char *e = slurp(errp, &n);
	if (e) {
		char *t = strstr(e, " errors, ");
		if (!t)
			t = strstr(e, " error, ");
		char *nl = t ? strchr(t, '\n') : NULL;
		if (t && nl) {
			char *comma = t + 1;
			while (comma < nl && *comma != ',')
				comma++;
			memmove(comma, nl, strlen(nl) + 1);
			FILE *f = fopen(errp, "wb");
			fputs(e, f);
			fclose(f);
		}
		free(e);
	}
	return rc;
}

static int same_file(const char *a, const char *b, size_t *len)
{
	size_t na, nb;
	char *x = slurp(a, &na), *y = slurp(b, &nb);
	int same = x && y && na == nb && !memcmp(x, y, na);
	*len = na;
	free(x);
	free(y);
	return same;
}

int main(void)
{
	dm_log_burst = 0;   /* every problem printed: the rate limits are process-wide, runs repeat */
	char dir[] = "/tmp/darkmap-tsan-dump-XXXXXX";
	if (!mkdtemp(dir)) {
		result("mkdtemp", 0, "cannot create a folder");
		return 1;
	}
	enum { PLAIN, GZ, O1, O2, E1, E2, NPATHS };
	static const char *const names[NPATHS] = { "t.mrt", "t.mrt.gz", "o1", "o2", "e1", "e2" };
	char path[NPATHS][256];
	for (int i = 0; i < NPATHS; i++)
		snprintf(path[i], sizeof path[i], "%s/%s", dir, names[i]);
	const char *plain = path[PLAIN], *gz = path[GZ], *o1 = path[O1], *o2 = path[O2], *e1 = path[E1], *e2 = path[E2];
	struct wbuf b;
	wbuf_init(&b);
	make_file(&b);
	FILE *f = fopen(plain, "wb");
	fwrite(b.p, 1, b.len, f);
	fclose(f);
	gzFile g = gzopen(gz, "wb1");
	gzwrite(g, b.p, (unsigned)b.len);
	gzclose(g);
	wbuf_free(&b);

	const char *modes[] = { "-m", "-M", "--json" };
	const char *files[] = { plain, gz };
	setenv("DARKMAP_DECOMPRESS_THREAD", "1", 1);
	for (int fi = 0; fi < 2; fi++)
		for (int mi = 0; mi < 3; mi++) {
			char name[64], why[160];
			snprintf(name, sizeof name, "dump_two_threads%s%s", fi ? "_gz" : "", modes[mi] + (mi == 2 ? 1 : 0));
			setenv("DARKMAP_DUMP_THREAD", "0", 1);
			int r1 = run_dump(modes[mi], files[fi], o1, e1);
			setenv("DARKMAP_DUMP_THREAD", "1", 1);
			int r2 = run_dump(modes[mi], files[fi], o2, e2);
			size_t lo, le;
			int so = same_file(o1, o2, &lo), se = same_file(e1, e2, &le);
			snprintf(why, sizeof why, "exit %d/%d, stdout %s (%zu bytes), stderr %s (%zu bytes)", r1, r2,
			         so ? "same" : "differs", lo, se ? "same" : "differs", le);
			/* exit 1: the file's problems were found; some text and some problems at least */
			result(name, r1 == 1 && r2 == 1 && so && se && lo > 1000000 && le > 1000, why);
		}
	/* out of memory for a batch (DARKMAP_DUMP_FAIL_ALLOC=N: the Nth batch allocation fails, in the
	 * framer or in a decoder, src/cmd/dump.c): the batch goes the serial way, nothing is lost */
	static const char *const fails[] = { "1", "2", "3", "5", "8", "13", "21", "40" };
	for (int mi = 0; mi < 3; mi += 2) {
		setenv("DARKMAP_DUMP_THREAD", "0", 1);
		int r1 = run_dump(modes[mi], gz, o1, e1);
		setenv("DARKMAP_DUMP_THREAD", "1", 1);
		for (size_t i = 0; i < sizeof fails / sizeof fails[0]; i++) {
			char name[64], why[160];
			snprintf(name, sizeof name, "dump_two_threads_no_memory_%s%s", fails[i], modes[mi] + (mi == 2 ? 1 : 0));
			setenv("DARKMAP_DUMP_FAIL_ALLOC", fails[i], 1);
			int r2 = run_dump(modes[mi], gz, o2, e2);
			unsetenv("DARKMAP_DUMP_FAIL_ALLOC");
			size_t lo, le;
			int so = same_file(o1, o2, &lo), se = same_file(e1, e2, &le);
			snprintf(why, sizeof why, "exit %d/%d, stdout %s (%zu bytes), stderr %s (%zu bytes)", r1, r2,
			         so ? "same" : "differs", lo, se ? "same" : "differs", le);
			result(name, r1 == 1 && r2 == 1 && so && se && lo > 1000000, why);
		}
	}
	setenv("DARKMAP_DUMP_THREAD", "1", 1);
	int rc = run_dump("-m", plain, "/dev/full", e2);
	result("dump_two_threads_dev_full", rc == 3, "exit status not 3");
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		result("cleanup", 0, cmd);
	return failures ? 1 : 0;
}
