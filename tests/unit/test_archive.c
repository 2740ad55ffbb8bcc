/* src/live/archive: raw BGP messages and state changes in, MRT files out, read back with the MRT
 * decoder into exact element lines; rotation and compression on a synthetic clock; a writer that
 * dies without closing (the crash rules); RIB snapshots (ADD-PATH form, 2-byte blocks turned into
 * the 4-byte RIB form). The UPDATEs are built byte by byte from RFC 4271 §4.3. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "live/archive.h"
#include "mrt/elem.h"
#include "mrt/reader.h"
#include "mrt/writer.h"
#include "rib/rib.h"

#define T0 1419264000   /* 2014-12-22 16:00:00 UTC, an even hour */

struct fake_clock {
	int64_t t;
};

static int64_t fake_now(void *arg, uint32_t *usec)
{
	*usec = 0;
	return ((struct fake_clock *)arg)->t;
}

static struct dm_ip IP(const char *s)
{
	struct dm_ip ip;
	assert_int_equal(dm_ip_parse(s, &ip), 0);
	return ip;
}

static void prefix(struct wbuf *b, const char *s, int addpath, uint32_t id)
{
	struct dm_prefix p;
	assert_int_equal(dm_prefix_parse(s, &p), 0);
	if (addpath)
		wbuf_u32(b, id);
	bgp_prefix_encode(b, &p);
}

/* Attribute block: ORIGIN IGP, AS_PATH one AS_SEQUENCE (asn_size bytes each), NEXT_HOP
 * 192.0.2.1, and with as4 an AS4_PATH (RFC 6793) of the same length. */
static void attrs(struct wbuf *b, int asn_size, const uint32_t *path, int n, const uint32_t *as4)
{
	static const uint8_t origin[] = { 0x40, 1, 1, 0 }, nh[] = { 0x40, 3, 4, 192, 0, 2, 1 };
	wbuf_put(b, origin, sizeof origin);
	wbuf_u8(b, 0x40);
	wbuf_u8(b, 2);
	wbuf_u8(b, (uint8_t)(2 + n * asn_size));
	wbuf_u8(b, 2);
	wbuf_u8(b, (uint8_t)n);
	for (int i = 0; i < n; i++)
		asn_size == 2 ? wbuf_u16(b, (uint16_t)path[i]) : wbuf_u32(b, path[i]);
	wbuf_put(b, nh, sizeof nh);
	if (as4) {
		wbuf_u8(b, 0xc0);
		wbuf_u8(b, 17);
		wbuf_u8(b, (uint8_t)(2 + n * 4));
		wbuf_u8(b, 2);
		wbuf_u8(b, (uint8_t)n);
		for (int i = 0; i < n; i++)
			wbuf_u32(b, as4[i]);
	}
}

/* A whole UPDATE: withdrawn w (or NULL), announced a (or NULL) with the attributes above. */
static void update(struct wbuf *b, const char *w, const char *a, int asn_size, int addpath, const uint32_t *path,
                   int n)
{
	b->len = 0;
	for (int i = 0; i < 16; i++)
		wbuf_u8(b, 0xff);
	wbuf_u16(b, 0);
	wbuf_u8(b, BGP_MSG_UPDATE);
	size_t wl = b->len;
	wbuf_u16(b, 0);
	if (w)
		prefix(b, w, addpath, 9);
	wbuf_set_u16(b, wl, (uint16_t)(b->len - wl - 2));
	size_t al = b->len;
	wbuf_u16(b, 0);
	if (a)
		attrs(b, asn_size, path, n, NULL);
	wbuf_set_u16(b, al, (uint16_t)(b->len - al - 2));
	if (a)
		prefix(b, a, addpath, 5);
	wbuf_set_u16(b, 16, (uint16_t)b->len);
}

static struct mrt_session session(const char *peer, uint32_t asn, int as4, int addpath)
{
	struct mrt_session s = { .peer_as = asn, .local_as = 64496, .afi = DM_AFI_IPV4, .peer_ip = IP(peer),
	                         .local_ip = IP("192.0.2.254"), .as4 = (uint8_t)as4, .addpath = (uint8_t)addpath };
	return s;
}

/* Every element of an MRT file as "type|ts|peer|AS|prefix|path|id" lines (S: old->new). */
static char lines[8192];

static void elem_line(const struct dm_elem *e, void *arg)
{
	char ip[DM_IP_STRLEN], pf[DM_PREFIX_STRLEN];
	size_t n = strlen(lines);
	dm_ip_fmt(e->peer_ip, ip);
	if (e->type == DM_ELEM_STATE) {
		snprintf(lines + n, sizeof lines - n, "S|%u|%s|%u|%u->%u\n", (unsigned)e->ts, ip, e->peer_asn,
		         e->old_state, e->new_state);
		return;
	}
	dm_prefix_fmt(&e->prefix, pf);
	n += (size_t)snprintf(lines + n, sizeof lines - n, "%c|%u|%s|%u|%s|", e->type, (unsigned)e->ts, ip, e->peer_asn,
	                      pf);
	if (e->attrs)
		for (unsigned i = 0; i < e->attrs->path.nseg; i++)
			for (unsigned k = 0; k < e->attrs->path.seg[i].count; k++)
				n += (size_t)snprintf(lines + n, sizeof lines - n, "%s%u", i || k ? " " : "",
				                      e->attrs->path.seg[i].asn[k]);
	if (e->has_path_id)
		n += (size_t)snprintf(lines + n, sizeof lines - n, "|id %u", e->path_id);
	snprintf(lines + n, sizeof lines - n, "\n");
}

/* Reads path into `lines`; returns the number of records (-1: cannot open); *errors counts
 * records that did not decode. */
static int read_back(const char *path, int *errors)
{
	struct dm_error err;
	struct mrt_reader *r = mrt_reader_open(path, &err);
	lines[0] = 0;
	*errors = 0;
	if (!r)
		return -1;
	struct mrt_ctx ctx;
	mrt_ctx_init(&ctx);
	struct mrt_hdr h;
	const uint8_t *body;
	struct mrt_rec rec;
	int n = 0, rc;
	while ((rc = mrt_reader_next(r, &h, &body, &err)) != 0) {
		if (rc < 0 || mrt_decode(&ctx, &h, body, &rec, &err) < 0) {
			(*errors)++;
			continue;
		}
		n++;
		mrt_elems(&ctx, &rec, elem_line, NULL);
	}
	mrt_ctx_free(&ctx);
	mrt_reader_close(r);
	return n;
}

static void check_file(const char *dir, const char *rel, int records, const char *want)
{
	char p[1024];
	snprintf(p, sizeof p, "%s/%s", dir, rel);
	int errors;
	int n = read_back(p, &errors);
	if (n != records || errors || strcmp(lines, want)) {
		fprintf(stderr, "%s: %d records (want %d), %d errors\ngot:\n%swant:\n%s", rel, n, records, errors, lines,
		        want);
		fail();
	}
}

static int there(const char *dir, const char *rel)
{
	char p[1024];
	struct stat st;
	snprintf(p, sizeof p, "%s/%s", dir, rel);
	return stat(p, &st) == 0;
}

static char *tmpdir(void)
{
	char *d = strdup("/tmp/darkmap-archive.XXXXXX");
	assert_non_null(mkdtemp(d));
	return d;
}

static void rmtree(char *d)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
	assert_int_equal(system(cmd), 0);
	free(d);
}

static struct archive_opts opts(const char *dir, struct fake_clock *c)
{
	struct archive_opts o;
	archive_opts_default(&o);
	o.dir = dir;
	o.name = "live-test";
	o.rib_interval = 0;
	o.comp = DM_COMP_GZIP;
	o.no_sync = 1;
	o.clock = fake_now;
	o.clock_arg = c;
	return o;
}

static const uint32_t path1[] = { 65001, 4200000000u }, path2[] = { 65002, 64512 }, path3[] = { 65003 };

static void test_rotate_roundtrip(void **state)
{
	char *dir = tmpdir();
	struct fake_clock c = { T0 };
	struct archive_opts o = opts(dir, &c);
	struct dm_error err;
	struct archive *a = archive_open(&o, &err);
	assert_non_null(a);
	struct mrt_session s1 = session("192.0.2.1", 65001, 1, 0), s2 = session("192.0.2.2", 65002, 0, 0),
	                   s3 = session("192.0.2.3", 65003, 1, 1);
	struct wbuf m;
	wbuf_init(&m);
	assert_int_equal(archive_state(a, T0, 0, &s1, 5, 6, &err), 0);
	update(&m, NULL, "10.0.0.0/8", 4, 0, path1, 2);
	assert_int_equal(archive_message(a, T0 + 1, 0, &s1, m.p, m.len, &err), 0);
	update(&m, NULL, "10.2.0.0/16", 2, 0, path2, 2);   /* 2-byte session: BGP4MP MESSAGE */
	assert_int_equal(archive_message(a, T0 + 2, 0, &s2, m.p, m.len, &err), 0);
	update(&m, "10.9.0.0/16", "10.3.0.0/16", 4, 1, path3, 1);   /* ADD-PATH: MESSAGE_AS4_ADDPATH */
	assert_int_equal(archive_message(a, T0 + 3, 0, &s3, m.p, m.len, &err), 0);
	assert_true(there(dir, "live-test/2014.12/UPDATES/updates.20141222.1600"));
	c.t = T0 + 900;   /* 16:15: the 16:00 file is closed and queued for compression */
	assert_int_equal(archive_tick(a, &err), 0);
	assert_string_equal(archive_current(a), "");
	update(&m, "10.0.0.0/8", NULL, 4, 0, NULL, 0);
	assert_int_equal(archive_message(a, T0 + 901, 0, &s1, m.p, m.len, &err), 0);
	assert_int_equal(archive_close(a, &err), 0);
	assert_false(there(dir, "live-test/2014.12/UPDATES/updates.20141222.1600"));
	assert_false(there(dir, "live-test/2014.12/UPDATES/updates.20141222.1615"));
	check_file(dir, "live-test/2014.12/UPDATES/updates.20141222.1600.gz", 4,
	           "S|1419264000|192.0.2.1|65001|5->6\n"
	           "A|1419264001|192.0.2.1|65001|10.0.0.0/8|65001 4200000000\n"
	           "A|1419264002|192.0.2.2|65002|10.2.0.0/16|65002 64512\n"
	           "W|1419264003|192.0.2.3|65003|10.9.0.0/16||id 9\n"
	           "A|1419264003|192.0.2.3|65003|10.3.0.0/16|65003|id 5\n");
	check_file(dir, "live-test/2014.12/UPDATES/updates.20141222.1615.gz", 1,
	           "W|1419264901|192.0.2.1|65001|10.0.0.0/8|\n");
	wbuf_free(&m);
	rmtree(dir);
}

/* A writer that dies without closing (as kill -9 would: buffered records lost, no compression):
 * what it flushed is there, the next run leaves the file's bytes alone, writes NAME.1 and
 * compresses the old file. */
static void test_crash_never_overwrites(void **state)
{
	char *dir = tmpdir();
	struct fake_clock c = { T0 + 10 };
	struct archive_opts o = opts(dir, &c);
	struct wbuf m;
	wbuf_init(&m);
	struct mrt_session s1 = session("192.0.2.1", 65001, 1, 0);
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		struct dm_error err;
		struct archive *a = archive_open(&o, &err);
		if (!a)
			_exit(2);
		static const char *pf[] = { "10.0.0.0/8", "10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16", "10.4.0.0/16" };
		for (int i = 0; i < 5; i++) {
			if (i == 3) {          /* the first three are flushed */
				c.t += 1;
				archive_tick(a, &err);
			}
			update(&m, NULL, pf[i], 4, 0, path1, 2);
			archive_message(a, c.t, 0, &s1, m.p, m.len, &err);
		}
		_exit(0);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	static const char *first =
		"A|1419264010|192.0.2.1|65001|10.0.0.0/8|65001 4200000000\n"
		"A|1419264010|192.0.2.1|65001|10.1.0.0/16|65001 4200000000\n"
		"A|1419264010|192.0.2.1|65001|10.2.0.0/16|65001 4200000000\n";
	check_file(dir, "live-test/2014.12/UPDATES/updates.20141222.1600", 3, first);

	/* the child's clock moved on in its own memory: this run starts again at 16:00:10 */
	struct dm_error err;
	struct archive *a = archive_open(&o, &err);
	assert_non_null(a);
	update(&m, NULL, "10.5.0.0/16", 4, 0, path1, 2);
	assert_int_equal(archive_message(a, c.t, 0, &s1, m.p, m.len, &err), 0);
	assert_int_equal(archive_close(a, &err), 0);
	check_file(dir, "live-test/2014.12/UPDATES/updates.20141222.1600.gz", 3, first);
	check_file(dir, "live-test/2014.12/UPDATES/updates.20141222.1600.1.gz", 1,
	           "A|1419264010|192.0.2.1|65001|10.5.0.0/16|65001 4200000000\n");
	assert_false(there(dir, "live-test/2014.12/UPDATES/updates.20141222.1600"));
	wbuf_free(&m);
	rmtree(dir);
}

/* A second archiver on the same folder is refused (the lock). */
static void test_lock(void **state)
{
	char *dir = tmpdir();
	struct fake_clock c = { T0 };
	struct archive_opts o = opts(dir, &c);
	struct dm_error err;
	struct archive *a = archive_open(&o, &err);
	assert_non_null(a);
	assert_null(archive_open(&o, &err));
	assert_int_equal(err.code, DM_ERR_IO);
	assert_non_null(strstr(err.what, "another archiver"));
	archive_close(a, NULL);
	rmtree(dir);
}

/* Interns the attributes of a block built by attrs() into r. */
static uint32_t intern(struct rib *r, struct arena *ar, int asn_size, const uint32_t *path, int n, const uint32_t *as4)
{
	struct wbuf b;
	wbuf_init(&b);
	attrs(&b, asn_size, path, n, as4);
	struct bgp_ctx ctx = { .asn_size = (uint8_t)asn_size };
	struct bgp_attrs at;
	struct cur c = cur_make(b.p, b.len);
	assert_int_equal(bgp_attrs_decode(&c, &ctx, ar, &at, NULL), 0);
	uint32_t id = rib_attr_intern(r, &at);
	wbuf_free(&b);   /* interning copied the bytes */
	return id;
}

static void route(struct rib *r, uint32_t peer, const char *p, uint32_t path_id, uint32_t attr)
{
	struct dm_prefix x;
	assert_int_equal(dm_prefix_parse(p, &x), 0);
	rib_attr_ref(r, attr);
	assert_int_equal(rib_route_set(r, peer, rib_prefix_find_or_add(r, &x), path_id, attr), 0);
}

static void test_rib_snapshot(void **state)
{
	char *dir = tmpdir();
	struct fake_clock c = { T0 + 7200 + 5 };
	struct archive_opts o = opts(dir, &c);
	o.rib_interval = 7200;
	struct rib *r = rib_new();
	struct arena ar;
	arena_init(&ar, 1 << 20);
	uint32_t coll = rib_collector_find_or_add(r, "live-test"), other = rib_collector_find_or_add(r, "other");
	struct dm_ip a1 = IP("192.0.2.1"), a2 = IP("2001:db8::2"), a3 = IP("192.0.2.9");
	uint32_t p1 = rib_peer_find_or_add(r, coll, &a1, 65001), p2 = rib_peer_find_or_add(r, coll, &a2, 65002),
	         p3 = rib_peer_find_or_add(r, other, &a3, 65009);
	static const uint32_t trans[] = { 65002, 23456 }, real[] = { 65002, 4200000002u };
	uint32_t x1 = intern(r, &ar, 4, path1, 2, NULL), x2 = intern(r, &ar, 2, trans, 2, real),
	         x3 = intern(r, &ar, 4, path3, 1, NULL);
	route(r, p1, "10.0.0.0/8", 0, x1);
	route(r, p1, "10.1.0.0/16", 1, x1);    /* two paths: the ADD-PATH form */
	route(r, p1, "10.1.0.0/16", 2, x3);
	route(r, p2, "10.3.0.0/16", 0, x2);    /* a 2-byte block with AS4_PATH */
	route(r, p2, "2001:db8:100::/40", 0, x3);
	route(r, p3, "10.0.0.0/8", 0, x3);     /* another collector's peer: not in this archive */
	rib_attr_unref(r, x1);
	rib_attr_unref(r, x2);
	rib_attr_unref(r, x3);
	struct dm_error err;
	struct archive *a = archive_open(&o, &err);
	assert_non_null(a);
	archive_rib_source(a, r, coll);
	c.t = T0 + 14400 + 3;   /* 20:00:03: a snapshot is due */
	assert_int_equal(archive_tick(a, &err), 0);
	assert_int_equal(archive_close(a, &err), 0);
	check_file(dir, "live-test/2014.12/RIBS/rib.20141222.2000.gz", 5,
	           "R|1419278403|192.0.2.1|65001|10.0.0.0/8|65001 4200000000\n"
	           "R|1419278403|192.0.2.1|65001|10.1.0.0/16|65001 4200000000|id 1\n"
	           "R|1419278403|192.0.2.1|65001|10.1.0.0/16|65003|id 2\n"
	           "R|1419278403|2001:db8::2|65002|10.3.0.0/16|65002 4200000002\n"
	           "R|1419278403|2001:db8::2|65002|2001:db8:100::/40|65003\n");
	arena_free(&ar);
	rib_free(r);
	rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rotate_roundtrip),
		cmocka_unit_test(test_crash_never_overwrites),
		cmocka_unit_test(test_lock),
		cmocka_unit_test(test_rib_snapshot),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
