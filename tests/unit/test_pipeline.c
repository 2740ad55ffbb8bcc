/* src/pipeline: the shared option parser, and the pipeline fed as a live source feeds it
 * (elements and the wall clock, no files): a prefix held by two peers for 2 h, then withdrawn by
 * both, gives bins in the store and, with --detect, a partial outage of its origin AS from the
 * bin of the withdrawal (computed by hand below); a session going down drops the peer's table. */
#include "testutil.h"

#include <unistd.h>

#include "pipeline/pipeline.h"
#include "store/store.h"

static void test_opts(void **st)
{
	(void)st;
	struct pl_opts o;
	pl_opts_default(&o, "test");
	char *argv[] = { "x", "--bin", "60", "--vis", "2", "--detect", "--threshold", "0.7", "--foo", "--db" };
	int argc = 10;
	char why[256];
	int i = 1;
	assert_int_equal(pl_opts_parse(&o, argc, argv, &i, why, sizeof why), 1);
	assert_int_equal(i, 2);
	assert_int_equal(o.sig.bin, 60);
	i = 3;
	assert_int_equal(pl_opts_parse(&o, argc, argv, &i, why, sizeof why), -1);
	assert_string_equal(why, "--vis 2: want a fraction in (0, 1]");
	i = 5;
	assert_int_equal(pl_opts_parse(&o, argc, argv, &i, why, sizeof why), 1);
	assert_int_equal(o.detect, 1);
	i = 6;
	assert_int_equal(pl_opts_parse(&o, argc, argv, &i, why, sizeof why), 1);
	assert_true(o.det.threshold == 0.7);
	i = 8;
	assert_int_equal(pl_opts_parse(&o, argc, argv, &i, why, sizeof why), 0);
	i = 9;
	assert_int_equal(pl_opts_parse(&o, argc, argv, &i, why, sizeof why), -2);
	assert_string_equal(why, "--db needs a value");
	assert_int_equal(pl_opts_check(&o, why, sizeof why), 0);
	assert_int_equal(o.det.bin, 60);
	o.from = 2000;
	o.to = 1000;
	assert_int_equal(pl_opts_check(&o, why, sizeof why), -1);
	assert_string_equal(why, "--to must be after --from");
}

static struct dm_ip peer_ip[2];

static void elem(struct pipeline *p, uint32_t c, char type, int64_t t, int peer, uint16_t state, const char *pfx)
{
	static uint8_t raw[] = { 0x40, 1, 1, 0, 0x40, 2, 10, 2, 2, 0, 0, 0xfb, 0xf4, 0, 0, 0, 100 };
	static uint32_t asn[2] = { 64500, 100 };
	static struct as_seg seg = { AS_SEQUENCE, 2, asn };
	struct bgp_attrs a;
	memset(&a, 0, sizeof a);
	a.path.seg = &seg;
	a.path.nseg = 1;
	a.path.asn_size = 4;
	a.raw = raw;
	a.raw_len = sizeof raw;
	struct dm_elem e;
	memset(&e, 0, sizeof e);
	e.type = type;
	e.ts = t;
	peer_ip[peer].afi = DM_AFI_IPV4;
	peer_ip[peer].b[0] = 192;
	peer_ip[peer].b[3] = (uint8_t)(peer + 1);
	e.peer_ip = &peer_ip[peer];
	e.peer_asn = 64500 + (uint32_t)peer;
	assert_int_equal(dm_prefix_parse(pfx ? pfx : "10.0.0.0/16", &e.prefix), 0);
	if (type == DM_ELEM_ANNOUNCE)
		e.attrs = &a;
	e.old_state = state == DM_BGP_ESTABLISHED ? DM_BGP_IDLE : DM_BGP_ESTABLISHED;
	e.new_state = state;
	pl_time(p, t);
	pl_record(p, c);
	pl_elem(p, c, &e);
}

static void test_live_source(void **st)
{
	(void)st;
	char db[64];
	snprintf(db, sizeof db, "/tmp/dm-test-pipeline-%d.sqlite", (int)getpid());
	unlink(db);
	struct pl_opts o;
	pl_opts_default(&o, "test");
	o.no_geo = 1;
	o.quiet = 1;
	o.detect = 1;
	o.detect_quiet = 1;
	o.db_path = db;
	assert_int_equal(sig_parse_ff_rule("1", &o.sig), 0);   /* a peer with a route is full-feed */
	char why[128];
	assert_int_equal(pl_opts_check(&o, why, sizeof why), 0);
	struct dm_error err;
	int status;
	struct pipeline *p = pl_new(&o, 0, &status, &err);
	assert_non_null(p);
	uint32_t c = pl_collector(p, "live");
	pl_start(p);   /* live: no RIB load */
	const int64_t t0 = 1000000200;   /* = 3333334 x 300: a bin start */
	for (int peer = 0; peer < 2; peer++) {
		elem(p, c, DM_ELEM_STATE, t0, peer, DM_BGP_ESTABLISHED, NULL);
		elem(p, c, DM_ELEM_ANNOUNCE, t0, peer, 0, NULL);
		/* another route that stays: the peers stay full-feed (a table emptied by withdrawals
		 * would change the denominator: data quality, not an outage) */
		elem(p, c, DM_ELEM_ANNOUNCE, t0, peer, 0, "20.0.0.0/16");
	}
	int64_t t = t0;
	for (; t < t0 + 7200; t += 60)   /* the wall clock, every minute */
		pl_time(p, t);
	elem(p, c, DM_ELEM_WITHDRAW, t0 + 7200, 0, 0, NULL);
	elem(p, c, DM_ELEM_WITHDRAW, t0 + 7210, 1, 0, NULL);
	for (t = t0 + 7260; t <= t0 + 9000; t += 60)
		pl_time(p, t);
	assert_int_equal(rib_routes(pl_rib(p)), 2);
	elem(p, c, DM_ELEM_STATE, t0 + 9000, 0, DM_BGP_IDLE, NULL);   /* a session down: table dropped */
	assert_int_equal(rib_peer_up(pl_rib(p), 0), 0);
	assert_int_equal(rib_routes(pl_rib(p)), 1);
	assert_int_equal(pl_finish(p), 0);

	struct store *s = store_open_ro(db, &err);
	assert_non_null(s);
	struct sig_entity as100 = { .kind = SIG_ASN, .afi = DM_AFI_IPV4, .asn = 100 };
	struct sig_bin *b;
	size_t n;
	assert_int_equal(store_get_bins(s, &as100, 0, INT64_MAX, &b, &n), 0);
	/* bins t0 .. t0 + 9000 (the last one closed by pl_finish): 31 */
	assert_int_equal(n, 31);
	assert_int_equal(b[0].t, t0);
	/* AS100 originates 10.0.0.0/16 and 20.0.0.0/16 (the same path): 512 /24s, 256 once
	 * 10.0/16 is withdrawn */
	assert_int_equal(b[0].slash24, 512);
	assert_int_equal(b[23].slash24, 512);   /* t0 + 6900 */
	assert_int_equal(b[24].slash24, 256);   /* t0 + 7200: withdrawn by both peers */
	assert_int_equal(b[24].withdrawals, 2);
	assert_int_equal(b[30].full_feed_peers, 1);   /* t0 + 9000: one session down */
	free(b);
	struct dm_event *ev;
	assert_int_equal(store_get_events(s, &as100, 0, INT64_MAX, &ev, &n), 0);
	/* 256 of 512 = 0.5 x baseline: below --threshold 0.8, not below --hard 0.5: a partial
	 * outage from t0 + 7200, open at the end; then the session down is a data-quality event */
	assert_true(n >= 1);
	assert_int_equal(ev[0].type, DM_EV_PARTIAL);
	assert_int_equal(ev[0].start, t0 + 7200);
	assert_int_equal(ev[0].baseline_slash24, 512);
	assert_int_equal(ev[0].slash24, 256);
	free(ev);
	store_close(s);
	unlink(db);
	char x[80];
	snprintf(x, sizeof x, "%s-wal", db);
	unlink(x);
	snprintf(x, sizeof x, "%s-shm", db);
	unlink(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_opts),
		cmocka_unit_test(test_live_source),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
