/* Detector tests on synthetic series whose expected events are computed by hand from the rules
 * in docs/detect.md (the reasoning is written beside each expectation). Defaults unless said:
 * bin 300 s, threshold 0.8, recover 0.9, hard 0.5, 7-day moving median of normal bins,
 * min_history 1 h, min_duration 10 min, recover_duration 0 (first bin), new normal after 21 d,
 * settle 1 h, peers_floor 0.9, instability window 6 h (72 bins), factor 3, min count 5.
 * Times: 2014-12-15 00:00 UTC = 1418601600. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/addr.h"
#include "base/err.h"
#include "base/obuf.h"
#include "base/ring.h"
#include "detect/detect.h"
#include "out/alert.h"

enum {
	T_DEC15 = 1418601600,   /* 2014-12-15 00:00 UTC */
	T_DEC21 = 1419120000,   /* 2014-12-21 00:00 */
	T_DEC22 = 1419206400,   /* 2014-12-22 00:00 */
	T_DEC24 = 1419379200,   /* 2014-12-24 00:00 */
	H = 3600,
	M = 60,
};

struct evlist {
	struct detector *d;
	struct dm_event ev[64];
	int n;
};

static void feed(struct evlist *r, const struct sig_entity *e, const struct sig_bin *b)
{
	struct dm_event out[DETECT_MAX_EVENTS];
	int k = detector_feed(r->d, e, b, out, DETECT_MAX_EVENTS);
	assert_true(k >= 0);
	for (int i = 0; i < k; i++) {
		assert_true(r->n < 64);
		r->ev[r->n++] = out[i];
	}
}

static struct sig_entity kp(void)
{
	struct sig_entity e = {.kind = SIG_COUNTRY, .afi = DM_AFI_IPV4, .cc = "KP"};
	return e;
}

/* A normal KP bin: 4 /24s seen by all 40 full-feed peers. */
static struct sig_bin normal_bin(uint32_t t)
{
	struct sig_bin b = {.t = t, .visible_prefixes = 4, .slash24 = 4, .baseline_slash24 = 4,
	                    .peers_seeing = 40, .full_feed_peers = 40, .peers_up = 42, .peer_frac = 1.0f};
	return b;
}

static const char *names_country(const char *cc)
{
	return strcmp(cc, "KP") == 0 ? "North Korea" : strcmp(cc, "TW") == 0 ? "Taiwan" : NULL;
}

static const struct alert_names NAMES = {.country_name = names_country};

static void expect_text(const struct dm_event *ev, const char *want)
{
	struct obuf o;
	obuf_init_mem(&o);
	alert_text(&o, ev, &NAMES);
	obuf_putc(&o, 0);
	assert_string_equal(o.buf, want);
	obuf_free(&o);
}

/* ---- the KP shape ----
 * Interruptions (one per listed bin, the signal's per-bin count of completed flaps):
 *   before 21 Dec: at 06:00 and 18:00 each day (2 a day: 0.5 per 6 h, the quiet baseline);
 *   21 Dec 00:00-11:55: every 2 h on the hour (00, 02, 04, 06, 08, 10);
 *   21 Dec 12:00-23:55: every hour;
 *   22 Dec 00:00-16:00: every 30 min (the "increasing instability");
 *   none afterwards.
 * slash24: 4, except one bin at 22 Dec 10:00 (a flap spanning a bin end: 0 for one bin) and
 * the hard outage: withdrawn 22 Dec 16:15:00, back 23 Dec 01:46. The signal measures at the
 * end of each bin, so bins t = 16:15 .. 01:40 read 0 and bin 01:45 (ending 01:50) reads 4.
 * During the outage 2 of 40 full-feed peers keep a stale route (peers_seeing 2). */
static uint32_t kp_interruptions(uint32_t t)
{
	if (t < T_DEC21)
		return (t - T_DEC15) % (12 * H) == 6 * H;
	if (t < T_DEC21 + 12 * H)
		return (t - T_DEC21) % (2 * H) == 0;
	if (t < T_DEC22)
		return (t - T_DEC21) % H == 0;
	if (t <= T_DEC22 + 16 * H)
		return (t - T_DEC22) % (30 * M) == 0;
	return 0;
}

static struct sig_bin kp_bin(uint32_t t, uint32_t down, uint32_t up)
{
	struct sig_bin b = normal_bin(t);
	b.interruptions = kp_interruptions(t);
	if (t == T_DEC22 + 10 * H)
		b.slash24 = b.visible_prefixes = 0;
	if (t >= down && t < up) {
		b.slash24 = b.visible_prefixes = 0;
		b.peers_seeing = 2;
		b.peer_frac = 0.05f;
	}
	return b;
}

static void test_kp_december_2014(void **state)
{
	(void)state;
	struct detect_opts o;
	detect_opts_default(&o);
	struct evlist r = {.d = detector_new(&o)};
	assert_non_null(r.d);
	struct sig_entity e = kp();
	uint32_t down = T_DEC22 + 16 * H + 15 * M, up = T_DEC22 + 24 * H + 1 * H + 45 * M;
	for (uint32_t t = T_DEC15; t < T_DEC24; t += 300) {
		struct sig_bin b = kp_bin(t, down, up);
		feed(&r, &e, &b);
	}
	/* Expected, in order:
	 * 1. INSTABILITY raised 21 Dec 15:00. Window (09:00, 15:00] holds 10, 12, 13, 14, 15 = 5
	 *    interruptions (at 14:00 it held 4). The earlier history is every bin from 15 Dec 00:00
	 *    to 21 Dec 09:00 = 153 h x 12 + 1 = 1837 bins holding 12 + 5 = 17 interruptions, so the
	 *    baseline per window is 17 x 72 / 1837 = 0.666; raise level max(5, 3 x 0.666) = 5.
	 * 2. OUTAGE: bins 16:15 and 16:20 read 0 < 0.5 x median 4; raised by the 2nd (min_duration
	 *    10 min = 2 bins) and dated from the 1st: start 16:15. 38 of 40 peers lost it. The
	 *    single-bin dip at 10:00 raised nothing (5 min < 10 min).
	 * 3. RECOVERY in bin 23 Dec 01:45 (4 >= 0.9 x 4): 16:15 -> 01:45 = 9 h 30 min, within one
	 *    bin of the true 9 h 31 min.
	 * 4. INSTABILITY closes 23 Dec 07:00. Instability counts only bins outside the outage (and
	 *    an hour of settling after it), so the window does not drain during it: the last 72
	 *    counted bins before it are 22 Dec 10:15 - 16:10 (the pending 10:00 dip bin is not
	 *    counted), holding the 12 flaps 10:30 ... 16:00. From 02:45 (recovery + 1 h) each bin
	 *    pushes one flap-free bin in: at 07:00 the window is 14:35 - 16:10 (20 bins) plus 02:45 -
	 *    07:00 (52 bins) and holds 15:00, 15:30, 16:00 = 3 < half the raise level. */
	assert_int_equal(r.n, 4);

	assert_int_equal(r.ev[0].type, DM_EV_INSTABILITY);
	assert_int_equal(r.ev[0].start, T_DEC21 + 15 * H);
	assert_int_equal(r.ev[0].end, 0);
	assert_int_equal(r.ev[0].interruptions, 5);
	assert_int_equal(r.ev[0].window, 6 * H);
	assert_true(r.ev[0].baseline_rate * 6 > 0.6662 && r.ev[0].baseline_rate * 6 < 0.6664);
	expect_text(&r.ev[0], "KP (North Korea): rising instability, 5 interruptions in the last 6 h vs 0.7 baseline\n");

	assert_int_equal(r.ev[1].type, DM_EV_OUTAGE);
	assert_int_equal(r.ev[1].start, down);
	assert_int_equal(r.ev[1].episode_start, down);
	assert_int_equal(r.ev[1].raised, down + 300);
	assert_int_equal(r.ev[1].end, 0);
	assert_int_equal(r.ev[1].baseline_slash24, 4);
	assert_int_equal(r.ev[1].slash24, 0);
	assert_true(r.ev[1].severity == 1.0);
	assert_int_equal(r.ev[1].peers_lost, 38);
	assert_int_equal(r.ev[1].full_feed_peers, 40);
	expect_text(&r.ev[1], "KP (North Korea): 4 of 4 /24s unreachable, withdrawn by 38 of 40 full-feed peers, "
	                      "since 2014-12-22 16:15 UTC\n");
	/* The instability event precedes the outage. */
	assert_true(r.ev[0].start < r.ev[1].start);

	assert_int_equal(r.ev[2].type, DM_EV_RECOVERY);
	assert_int_equal(r.ev[2].of_type, DM_EV_OUTAGE);
	assert_int_equal(r.ev[2].start, down);
	assert_int_equal(r.ev[2].prev_start, down);
	assert_int_equal(r.ev[2].end, up);
	assert_int_equal(r.ev[2].end - r.ev[2].start, 9 * H + 30 * M);
	assert_int_equal(r.ev[2].peers_lost, 38);
	expect_text(&r.ev[2], "KP (North Korea): back after 9 h 30 min (down 2014-12-22 16:15 - 2014-12-23 01:45 UTC)\n");

	assert_int_equal(r.ev[3].type, DM_EV_INSTABILITY);
	assert_int_equal(r.ev[3].start, T_DEC21 + 15 * H);
	assert_int_equal(r.ev[3].end, T_DEC22 + 24 * H + 7 * H);
	assert_int_equal(r.ev[3].interruptions, 3);

	struct dm_event fin[8];
	assert_int_equal(detector_finish(r.d, fin, 8), 0);
	detector_free(r.d);
}

/* With 60 s bins the outage is resolved to the minute: 16:15 -> 01:46 = 9 h 31 min exactly,
 * the published duration. Windows are in seconds, so the defaults still mean 7 days / 6 h. */
static void test_kp_minute_bins(void **state)
{
	(void)state;
	struct detect_opts o;
	detect_opts_default(&o);
	o.bin = 60;
	struct evlist r = {.d = detector_new(&o)};
	assert_non_null(r.d);
	struct sig_entity e = kp();
	uint32_t down = T_DEC22 + 16 * H + 15 * M, up = T_DEC22 + 25 * H + 46 * M;
	for (uint32_t t = T_DEC22; t < T_DEC24; t += 60) {
		struct sig_bin b = normal_bin(t);
		if (t >= down && t < up) {
			b.slash24 = 0;
			b.peers_seeing = 2;
		}
		feed(&r, &e, &b);
	}
	assert_int_equal(r.n, 2);
	assert_int_equal(r.ev[0].type, DM_EV_OUTAGE);
	assert_int_equal(r.ev[0].start, down);
	assert_int_equal(r.ev[1].type, DM_EV_RECOVERY);
	assert_int_equal(r.ev[1].end - r.ev[1].start, 9 * H + 31 * M);
	expect_text(&r.ev[1], "KP (North Korea): back after 9 h 31 min (down 2014-12-22 16:15 - 2014-12-23 01:46 UTC)\n");
	detector_free(r.d);
}

/* 4 -> 3 for one hour: 3 < 0.8 x 4 = 3.2 but 3 >= 0.5 x 4 = 2, so a partial outage; 4 >= 3.6
 * recovers. Severity = 1 - 3/4 = 0.25. */
static void test_partial(void **state)
{
	(void)state;
	struct detect_opts o;
	detect_opts_default(&o);
	struct evlist r = {.d = detector_new(&o)};
	struct sig_entity e = kp();
	uint32_t t0 = T_DEC21, drop = T_DEC22, back = T_DEC22 + H;
	for (uint32_t t = t0; t < T_DEC22 + 3 * H; t += 300) {
		struct sig_bin b = normal_bin(t);
		if (t >= drop && t < back)
			b.slash24 = 3;
		feed(&r, &e, &b);
	}
	assert_int_equal(r.n, 2);
	assert_int_equal(r.ev[0].type, DM_EV_PARTIAL);
	assert_int_equal(r.ev[0].start, drop);
	assert_int_equal(r.ev[0].slash24, 3);
	assert_int_equal(r.ev[0].baseline_slash24, 4);
	assert_true(r.ev[0].severity == 0.25);
	assert_int_equal(r.ev[0].peers_lost, 0);
	expect_text(&r.ev[0], "KP (North Korea): partial outage, 1 of 4 /24s unreachable, since 2014-12-22 00:00 UTC\n");
	assert_int_equal(r.ev[1].type, DM_EV_RECOVERY);
	assert_int_equal(r.ev[1].of_type, DM_EV_PARTIAL);
	assert_int_equal(r.ev[1].start, drop);
	assert_int_equal(r.ev[1].end, back);
	expect_text(&r.ev[1], "KP (North Korea): fully reachable again after 1 h (partly down 2014-12-22 00:00 - "
	                      "2014-12-22 01:00 UTC)\n");
	detector_free(r.d);
}

/* 4 -> 3 (00:00) -> 0 (00:30) -> 3 (00:50) -> 4 (01:00): a partial outage escalating to a
 * full one and de-escalating again, one episode. Each level change is raised once it lasts
 * min_duration (10 min: 2 bins) and is dated from its first bin; each names the event it closes
 * (prev_start, of_type). 3 after the outage is not a recovery (3 < 0.9 x 4), it is partial.
 * The recovery closes the partial (of_type) and carries the episode's start: down 1 h. */
static void test_partial_escalates(void **state)
{
	(void)state;
	struct detect_opts o;
	detect_opts_default(&o);
	struct evlist r = {.d = detector_new(&o)};
	struct sig_entity e = kp();
	for (uint32_t t = T_DEC21; t < T_DEC22 + 2 * H; t += 300) {
		struct sig_bin b = normal_bin(t);
		if (t >= T_DEC22 && t < T_DEC22 + 30 * M)
			b.slash24 = 3;
		else if (t >= T_DEC22 + 30 * M && t < T_DEC22 + 50 * M)
			b.slash24 = 0;
		else if (t >= T_DEC22 + 50 * M && t < T_DEC22 + H)
			b.slash24 = 3;
		feed(&r, &e, &b);
	}
	assert_int_equal(r.n, 4);
	assert_int_equal(r.ev[0].type, DM_EV_PARTIAL);
	assert_int_equal(r.ev[0].start, T_DEC22);
	assert_int_equal(r.ev[0].of_type, 0);
	assert_int_equal(r.ev[1].type, DM_EV_OUTAGE);
	assert_int_equal(r.ev[1].of_type, DM_EV_PARTIAL);
	assert_int_equal(r.ev[1].start, T_DEC22 + 30 * M);
	assert_int_equal(r.ev[1].prev_start, T_DEC22);
	assert_int_equal(r.ev[1].episode_start, T_DEC22);
	assert_int_equal(r.ev[1].raised, T_DEC22 + 35 * M);
	expect_text(&r.ev[1], "KP (North Korea): escalated to a full outage, 4 of 4 /24s unreachable, since "
	                      "2014-12-22 00:30 UTC (down since 2014-12-22 00:00 UTC)\n");
	assert_int_equal(r.ev[2].type, DM_EV_PARTIAL);
	assert_int_equal(r.ev[2].of_type, DM_EV_OUTAGE);
	assert_int_equal(r.ev[2].start, T_DEC22 + 50 * M);
	assert_int_equal(r.ev[2].prev_start, T_DEC22 + 30 * M);
	expect_text(&r.ev[2], "KP (North Korea): partly back, still 1 of 4 /24s unreachable, since "
	                      "2014-12-22 00:50 UTC (down since 2014-12-22 00:00 UTC)\n");
	assert_int_equal(r.ev[3].type, DM_EV_RECOVERY);
	assert_int_equal(r.ev[3].of_type, DM_EV_PARTIAL);
	assert_int_equal(r.ev[3].start, T_DEC22 + 50 * M);
	assert_int_equal(r.ev[3].prev_start, T_DEC22 + 50 * M);
	assert_int_equal(r.ev[3].episode_start, T_DEC22);
	assert_int_equal(r.ev[3].end, T_DEC22 + H);
	assert_true(r.ev[3].severity == 1.0);
	expect_text(&r.ev[3], "KP (North Korea): back after 1 h (down 2014-12-22 00:00 - 2014-12-22 01:00 UTC; "
	                      "partial from 2014-12-22 00:50)\n");
	detector_free(r.d);
}

/* Three bins flagged SIG_Q_GAP in normal data, reading 0 (the worst a gap can look like):
 * judged, they would be an outage (3 bins >= min_bins); flagged, they give one UNKNOWN opening
 * at the first and one closing at the next good bin, and nothing else. The series starts with
 * two SIG_Q_NO_DATA bins (before the RIB): during warm-up (< min_history good bins) nothing is
 * raised, not even unknown. */
static void test_gap_is_unknown(void **state)
{
	(void)state;
	struct detect_opts o;
	detect_opts_default(&o);
	struct evlist r = {.d = detector_new(&o)};
	struct sig_entity e = kp();
	uint32_t gap = T_DEC22 + 10 * H;
	for (uint32_t t = T_DEC21; t < T_DEC22 + 12 * H; t += 300) {
		struct sig_bin b = normal_bin(t);
		if (t < T_DEC21 + 10 * M) {
			b.quality = SIG_Q_NO_DATA;
			b.slash24 = 0;
			b.full_feed_peers = b.peers_seeing = 0;
		}
		if (t >= gap && t < gap + 15 * M) {
			b.quality = SIG_Q_GAP;
			b.slash24 = 0;
			b.peers_seeing = 0;
		}
		feed(&r, &e, &b);
	}
	assert_int_equal(r.n, 2);
	assert_int_equal(r.ev[0].type, DM_EV_UNKNOWN);
	assert_int_equal(r.ev[0].start, gap);
	assert_int_equal(r.ev[0].end, 0);
	assert_int_equal(r.ev[0].quality, SIG_Q_GAP);
	expect_text(&r.ev[0], "KP (North Korea): state unknown since 2014-12-22 10:00 UTC (collector gap), not judged\n");
	assert_int_equal(r.ev[1].type, DM_EV_UNKNOWN);
	assert_int_equal(r.ev[1].start, gap);
	assert_int_equal(r.ev[1].end, gap + 15 * M);
	expect_text(&r.ev[1], "KP (North Korea): data quality restored after 15 min (unknown 2014-12-22 10:00 - "
	                      "2014-12-22 10:15 UTC, collector gap)\n");
	detector_free(r.d);
}

/* Full-feed peers drop 40 -> 20 for three bins with nothing visible and no flag from the signal:
 * 20 < 0.9 x 40 (median of full-feed peers) makes the detector's own peers-dropped rule fire:
 * UNKNOWN, no outage. Then the same with the signal's SIG_Q_PEERS_DROPPED flag and 38 peers. */
static void test_peers_dropped_is_unknown(void **state)
{
	(void)state;
	for (int flagged = 0; flagged < 2; flagged++) {
		struct detect_opts o;
		detect_opts_default(&o);
		struct evlist r = {.d = detector_new(&o)};
		struct sig_entity e = kp();
		uint32_t t1 = T_DEC22 + 10 * H;
		for (uint32_t t = T_DEC21; t < T_DEC22 + 12 * H; t += 300) {
			struct sig_bin b = normal_bin(t);
			if (t >= t1 && t < t1 + 15 * M) {
				b.full_feed_peers = flagged ? 38 : 20;
				b.quality = flagged ? SIG_Q_PEERS_DROPPED : 0;
				b.slash24 = 0;
				b.peers_seeing = 0;
			}
			feed(&r, &e, &b);
		}
		assert_int_equal(r.n, 2);
		assert_int_equal(r.ev[0].type, DM_EV_UNKNOWN);
		assert_int_equal(r.ev[0].quality, SIG_Q_PEERS_DROPPED);
		assert_int_equal(r.ev[0].start, t1);
		assert_int_equal(r.ev[1].type, DM_EV_UNKNOWN);
		assert_int_equal(r.ev[1].end, t1 + 15 * M);
		if (!flagged)
			expect_text(&r.ev[0], "KP (North Korea): state unknown since 2014-12-22 10:00 UTC (full-feed peers "
			                      "dropped, 20 full-feed peers), not judged\n");
		detector_free(r.d);
	}
}

/* One peer of 40 resets for an hour: the signal counts 39 full-feed peers and 39 seeing KP
 * (visibility is >= 50% of the peers present, so slash24 stays 4). 39 >= 0.9 x 40 = 36, the
 * /24 count is unchanged: nothing at all is raised. Also with the peer still counted as
 * full-feed but not seeing (peers_seeing 39 of 40). */
static void test_one_peer_reset_changes_nothing(void **state)
{
	(void)state;
	struct detect_opts o;
	detect_opts_default(&o);
	struct evlist r = {.d = detector_new(&o)};
	struct sig_entity e = kp();
	uint32_t t1 = T_DEC22 + 10 * H;
	for (uint32_t t = T_DEC21; t < T_DEC22 + 14 * H; t += 300) {
		struct sig_bin b = normal_bin(t);
		if (t >= t1 && t < t1 + H) {
			b.full_feed_peers = 39;
			b.peers_seeing = 39;
			b.peers_up = 41;
		} else if (t >= t1 + 2 * H && t < t1 + 3 * H) {
			b.peers_seeing = 39;
		}
		feed(&r, &e, &b);
	}
	assert_int_equal(r.n, 0);
	struct dm_event fin[4];
	assert_int_equal(detector_finish(r.d, fin, 4), 0);
	detector_free(r.d);
}

/* Taiwan-sized entity: 5000 /24s losing 10% (500) for one hour. At threshold 0.8: 4500 >=
 * 0.8 x 5000 = 4000, nothing. At threshold 0.95: 4500 < 4750, an outage event of severity 0.1,
 * typed PARTIAL because 4500 >= 0.5 x 5000; recovery when 5000 >= 0.9 x 5000 again. */
static void test_big_entity_threshold(void **state)
{
	(void)state;
	double thresholds[2] = {0.8, 0.95};
	for (int i = 0; i < 2; i++) {
		struct detect_opts o;
		detect_opts_default(&o);
		o.threshold = thresholds[i];
		o.recover = thresholds[i] > 0.9 ? thresholds[i] : 0.9;
		struct evlist r = {.d = detector_new(&o)};
		assert_non_null(r.d);
		struct sig_entity e = {.kind = SIG_COUNTRY, .afi = DM_AFI_IPV4, .cc = "TW"};
		for (uint32_t t = T_DEC21; t < T_DEC22 + 3 * H; t += 300) {
			struct sig_bin b = normal_bin(t);
			b.slash24 = 5000;
			b.visible_prefixes = 5030;
			if (t >= T_DEC22 && t < T_DEC22 + H)
				b.slash24 = 4500;
			feed(&r, &e, &b);
		}
		if (i == 0) {
			assert_int_equal(r.n, 0);
		} else {
			assert_int_equal(r.n, 2);
			assert_int_equal(r.ev[0].type, DM_EV_PARTIAL);
			assert_int_equal(r.ev[0].start, T_DEC22);
			assert_int_equal(r.ev[0].baseline_slash24, 5000);
			assert_true(r.ev[0].severity > 0.0999999 && r.ev[0].severity < 0.1000001);
			expect_text(&r.ev[0], "TW (Taiwan): partial outage, 500 of 5000 /24s unreachable, since "
			                      "2014-12-22 00:00 UTC\n");
			assert_int_equal(r.ev[1].type, DM_EV_RECOVERY);
			assert_int_equal(r.ev[1].end, T_DEC22 + H);
		}
		detector_free(r.d);
	}
}

/* An outage still open at the end of input is reported by detector_finish; entities are told
 * apart by family (KP IPv6 is separate and stays quiet); a bin not after the previous one is
 * refused. */
static void test_finish_order_and_families(void **state)
{
	(void)state;
	struct detect_opts o;
	detect_opts_default(&o);
	struct evlist r = {.d = detector_new(&o)};
	struct sig_entity e4 = kp(), e6 = kp();
	e6.afi = DM_AFI_IPV6;
	for (uint32_t t = T_DEC21; t < T_DEC22 + H; t += 300) {
		struct sig_bin b = normal_bin(t);
		if (t >= T_DEC22)
			b.slash24 = 0;
		feed(&r, &e4, &b);
		struct sig_bin b6 = normal_bin(t);
		b6.slash24 = 1;
		feed(&r, &e6, &b6);
	}
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ev[0].type, DM_EV_OUTAGE);
	assert_int_equal(r.ev[0].entity.afi, DM_AFI_IPV4);
	struct sig_bin old = normal_bin(T_DEC21);
	struct dm_event out[DETECT_MAX_EVENTS];
	assert_int_equal(detector_feed(r.d, &e4, &old, out, DETECT_MAX_EVENTS), DM_ERR_BAD_VALUE);
	assert_int_equal(detector_entities(r.d), 2);

	struct dm_event fin[1];
	assert_int_equal(detector_finish(r.d, fin, 1), 1);
	assert_int_equal(fin[0].type, DM_EV_OUTAGE);
	assert_int_equal(fin[0].start, T_DEC22);
	assert_int_equal(fin[0].end, 0);
	assert_int_equal(detector_finish(r.d, fin, 1), 0);
	detector_free(r.d);
}

/* Bad options are refused rather than silently clamped. */
static void test_bad_options(void **state)
{
	(void)state;
	struct detect_opts o;
	detect_opts_default(&o);
	o.recover = 0.7;   /* below the threshold: no hysteresis possible */
	assert_null(detector_new(&o));
	detect_opts_default(&o);
	o.inst_window = o.baseline_window;
	assert_null(detector_new(&o));
	detect_opts_default(&o);
	o.bin = 0;
	assert_null(detector_new(&o));
}

/* A stable entity costs one run per history, whatever the window: 2016 bins of 4 are one run. */
static void test_memory_stable_entity(void **state)
{
	(void)state;
	struct detect_opts o;
	detect_opts_default(&o);
	struct evlist r = {.d = detector_new(&o)};
	struct sig_entity e = kp();
	for (uint32_t t = T_DEC15; t < T_DEC24; t += 300) {
		struct sig_bin b = normal_bin(t);
		feed(&r, &e, &b);
	}
	assert_int_equal(r.n, 0);
	assert_true(detector_bytes(r.d) < 4096);
	detector_free(r.d);
}

/* Invariants on random series (fixed seeds): whatever the input, events pair up (an outage or
 * partial is followed by exactly one recovery with the same start, or is still open at the
 * end; unknown and instability open and close alternately with the same start), nothing but
 * an unknown is raised by a bad-quality bin, and no call returns more than DETECT_MAX_EVENTS. */
static uint32_t rnd(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(*s >> 33);
}

static void test_random_invariants(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 20; seed++) {
		uint64_t rs = seed;
		struct detect_opts o;
		detect_opts_default(&o);
		o.min_duration = (1 + seed % 3) * 300;
		o.recover_duration = (1 + seed % 2) * 300;
		struct detector *d = detector_new(&o);
		assert_non_null(d);
		struct sig_entity e = kp();
		uint32_t out_start = 0, unk_start = 0, inst_start = 0;
		uint8_t out_type = 0;
		int out_open = 0, unk_open = 0, inst_open = 0;
		uint32_t base = 1 + rnd(&rs) % 300;
		for (uint32_t i = 0; i < 4000; i++) {
			struct sig_bin b = normal_bin(T_DEC15 + i * 300);
			uint32_t r = rnd(&rs) % 100;
			b.slash24 = r < 80 ? base : r < 90 ? rnd(&rs) % (base + 1) : 0;
			b.interruptions = rnd(&rs) % 100 < (i > 2000 ? 30u : 3u) ? 1 + rnd(&rs) % 3 : 0;
			if (rnd(&rs) % 100 < 3)
				b.quality = (uint8_t)(1u << rnd(&rs) % 3);
			if (rnd(&rs) % 100 < 2)
				b.full_feed_peers = (uint16_t)(rnd(&rs) % 41);
			int bad = b.quality || b.full_feed_peers < 36;
			struct dm_event ev[DETECT_MAX_EVENTS];
			int n = detector_feed(d, &e, &b, ev, DETECT_MAX_EVENTS);
			assert_true(n >= 0 && n <= 3);
			for (int k = 0; k < n; k++) {
				struct dm_event *x = &ev[k];
				assert_int_equal(x->raised, b.t);
				if (bad)
					assert_true(x->type == DM_EV_UNKNOWN && x->end == 0);
				switch (x->type) {
				case DM_EV_OUTAGE:
				case DM_EV_PARTIAL:
					if (out_open) {   /* a level change closes the open level event */
						assert_int_equal(x->of_type, out_type);
						assert_true(x->type != out_type);
						assert_int_equal(x->prev_start, out_start);
						assert_true(x->start > out_start);
					} else {
						assert_int_equal(x->of_type, 0);
					}
					assert_true(x->start <= b.t && x->end == 0);
					out_open = 1;
					out_start = x->start;
					out_type = x->type;
					break;
				case DM_EV_RECOVERY:
					assert_true(out_open);
					assert_int_equal(x->of_type, out_type);
					assert_int_equal(x->start, out_start);
					assert_int_equal(x->prev_start, out_start);
					assert_true(x->end > x->start && x->end <= b.t);
					out_open = 0;
					break;
				case DM_EV_UNKNOWN:
					if (x->end == 0) {
						assert_false(unk_open);
						unk_open = 1;
						unk_start = x->start;
					} else {
						assert_true(unk_open);
						assert_int_equal(x->start, unk_start);
						unk_open = 0;
					}
					break;
				case DM_EV_INSTABILITY:
					if (x->end == 0) {
						assert_false(inst_open);
						inst_open = 1;
						inst_start = x->start;
					} else {
						assert_true(inst_open);
						assert_int_equal(x->start, inst_start);
						inst_open = 0;
					}
					break;
				default:
					fail();
				}
			}
		}
		struct dm_event fin[8];
		int n = detector_finish(d, fin, 8);
		assert_int_equal(n, out_open + unk_open + inst_open);
		for (int k = 0; k < n; k++)
			assert_int_equal(fin[k].start, fin[k].type == DM_EV_UNKNOWN ? unk_start
			                               : fin[k].type == DM_EV_INSTABILITY ? inst_start : out_start);
		detector_free(d);
	}
}

/* Feeds an entity of `base` /24s from `from` for `days` days at `bin` s, with `down` /24s
 * lost in [t0, t1) and `interr` interruptions in the bin that ends the loss (what the signal
 * reports when every prefix comes back at once). */
static void run_series(struct evlist *r, const struct sig_entity *e, uint32_t bin, uint32_t from, uint32_t to,
                       uint32_t base, uint32_t t0, uint32_t t1, uint32_t left, uint32_t interr)
{
	for (uint32_t t = from; t < to; t += bin) {
		struct sig_bin b = normal_bin(t);
		b.slash24 = b.visible_prefixes = base;
		if (t >= t0 && t < t1) {
			b.slash24 = left;
			b.peers_seeing = 0;
		}
		if (t == t1 - t1 % bin)
			b.interruptions = interr;
		feed(r, e, &b);
	}
}

/* A 14-day outage of a country of 9,752 /24s, 93% lost (682 left), after 8 quiet days. The
 * baseline is frozen at 9752 when the outage is raised, so 14 days later the return to 9752
 * is a recovery of 14 d (not "back after 3 d 12 h" while 93% is still dark, as a moving median
 * over every bin gave), and the 9,070 prefixes coming back at once are not instability. */
static void test_long_outage_recovers(void **state)
{
	(void)state;
	struct detect_opts o;
	detect_opts_default(&o);
	struct evlist r = {.d = detector_new(&o)};
	struct sig_entity e = {.kind = SIG_COUNTRY, .afi = DM_AFI_IPV4, .cc = "CN"};
	uint32_t t0 = T_DEC15 + 8 * 86400, t1 = t0 + 14 * 86400;
	run_series(&r, &e, 300, T_DEC15, t1 + 2 * 86400, 9752, t0, t1, 682, 9070);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.ev[0].type, DM_EV_OUTAGE);
	assert_int_equal(r.ev[0].start, t0);
	assert_int_equal(r.ev[0].baseline_slash24, 9752);
	assert_int_equal(r.ev[1].type, DM_EV_RECOVERY);
	assert_int_equal(r.ev[1].start, t0);
	assert_int_equal(r.ev[1].end, t1);
	expect_text(&r.ev[1], "CN: back after 14 d (down 2014-12-23 00:00 - 2015-01-06 00:00 UTC)\n");
	struct dm_event fin[4];
	assert_int_equal(detector_finish(r.d, fin, 4), 0);
	detector_free(r.d);
}

/* An origin AS withdrawn completely for 5 days: its baseline must not fall to 0 (it would never
 * recover); it recovers after 5 d. */
static void test_withdrawn_as_recovers(void **state)
{
	(void)state;
	struct detect_opts o;
	detect_opts_default(&o);
	struct evlist r = {.d = detector_new(&o)};
	struct sig_entity e = {.kind = SIG_ASN, .afi = DM_AFI_IPV4, .asn = 64500};
	uint32_t t0 = T_DEC15 + 2 * 86400, t1 = t0 + 5 * 86400;
	run_series(&r, &e, 300, T_DEC15, t1 + 86400, 12, t0, t1, 0, 12);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.ev[0].type, DM_EV_OUTAGE);
	assert_int_equal(r.ev[1].type, DM_EV_RECOVERY);
	assert_int_equal(r.ev[1].end - r.ev[1].start, 5 * 86400);
	detector_free(r.d);
}

/* A level that lasts new_normal (21 d) is said: a NEWNORMAL event closing the outage, then the
 * baseline is learnt again from the new level (no recovery, no further outage at that level). */
static void test_new_normal(void **state)
{
	(void)state;
	struct detect_opts o;
	detect_opts_default(&o);
	struct evlist r = {.d = detector_new(&o)};
	struct sig_entity e = kp();
	uint32_t t0 = T_DEC15 + 2 * 86400;
	run_series(&r, &e, 300, T_DEC15, t0 + 30 * 86400, 4, t0, t0 + 40 * 86400, 1, 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.ev[0].type, DM_EV_OUTAGE);
	assert_int_equal(r.ev[1].type, DM_EV_NEWNORMAL);
	assert_int_equal(r.ev[1].of_type, DM_EV_OUTAGE);
	assert_int_equal(r.ev[1].prev_start, t0);
	assert_int_equal(r.ev[1].start, t0);
	assert_int_equal(r.ev[1].end, t0 + 21 * 86400);
	expect_text(&r.ev[1], "KP (North Korea): 3 of 4 /24s still unreachable after 21 d (since 2014-12-17 "
	                      "00:00 UTC): taken as the new normal, baseline learnt again from now\n");
	detector_free(r.d);
}

/* The same series at 60, 300, 900 and 1800 s bins gives the same events within one bin: a
 * 45-minute outage (raised at every size: 10 min is 10, 2, 1, 1 bins), a 7-minute dip (not an
 * outage at any size: at 60 s it lasts 7 bins < 10; at 300 s it covers one bin end; at 900 and
 * 1800 s it covers no bin end or one). */
static void test_bin_sizes_agree(void **state)
{
	(void)state;
	uint32_t bins[4] = {60, 300, 900, 1800};
	uint32_t t0 = T_DEC21 + 10 * H, t1 = t0 + 45 * M, dip = T_DEC21 + 14 * H + 2 * M;
	for (int i = 0; i < 4; i++) {
		struct detect_opts o;
		detect_opts_default(&o);
		o.bin = bins[i];
		struct evlist r = {.d = detector_new(&o)};
		struct sig_entity e = kp();
		for (uint32_t t = T_DEC15; t < T_DEC22; t += bins[i]) {
			struct sig_bin b = normal_bin(t);
			uint32_t end = t + bins[i];   /* the signal reads the state at the bin's end */
			if ((end > t0 && end <= t1) || (end > dip && end <= dip + 7 * M))
				b.slash24 = 0;
			feed(&r, &e, &b);
		}
		assert_int_equal(r.n, 2);
		assert_int_equal(r.ev[0].type, DM_EV_OUTAGE);
		assert_true(r.ev[0].start + bins[i] >= t0 && r.ev[0].start <= t0);
		assert_int_equal(r.ev[1].type, DM_EV_RECOVERY);
		assert_true(r.ev[1].end + bins[i] >= t1 && r.ev[1].end <= t1);
		detector_free(r.d);
	}
}

/* A full-feed set change (SIG_Q_FF_CHANGED) is a data-quality event, never an outage, even
 * when the new set sees none of the entity (the "CN 9752 of 9752 unreachable with 0
 * withdrawals" case). */
static void test_ff_change_is_unknown(void **state)
{
	(void)state;
	struct detect_opts o;
	detect_opts_default(&o);
	struct evlist r = {.d = detector_new(&o)};
	struct sig_entity e = kp();
	for (uint32_t t = T_DEC21; t < T_DEC22 + 2 * H; t += 300) {
		struct sig_bin b = normal_bin(t);
		if (t >= T_DEC22 && t < T_DEC22 + H) {
			b.slash24 = 0;
			b.quality = SIG_Q_FF_CHANGED;
		}
		feed(&r, &e, &b);
	}
	assert_int_equal(r.n, 2);
	assert_int_equal(r.ev[0].type, DM_EV_UNKNOWN);
	assert_int_equal(r.ev[0].start, T_DEC22);
	expect_text(&r.ev[0], "KP (North Korea): state unknown since 2014-12-22 00:00 UTC (full-feed set changed), "
	                      "not judged\n");
	assert_int_equal(r.ev[1].type, DM_EV_UNKNOWN);
	assert_int_equal(r.ev[1].end, T_DEC22 + H);
	detector_free(r.d);
}

/* A country of 200 prefixes (200 /24s) of which 12, from an AS that goes down elsewhere, are
 * withdrawn for an hour: 6% is no outage, and their return (12 interruptions at once, against a
 * quiet baseline) is not instability either: 12 < 0.5 x 200 visible prefixes. With 200
 * interruptions in 6 h (every prefix once) it would be. */
static void test_bystander_not_unstable(void **state)
{
	(void)state;
	uint32_t burst[2] = {12, 100};
	for (int i = 0; i < 2; i++) {
		struct detect_opts o;
		detect_opts_default(&o);
		struct evlist r = {.d = detector_new(&o)};
		struct sig_entity e = {.kind = SIG_COUNTRY, .afi = DM_AFI_IPV4, .cc = "DE"};
		uint32_t t0 = T_DEC15 + 3 * 86400;
		for (uint32_t t = T_DEC15; t < t0 + 86400; t += 300) {
			struct sig_bin b = normal_bin(t);
			b.slash24 = b.visible_prefixes = 200;
			if (t >= t0 && t < t0 + H)
				b.slash24 = b.visible_prefixes = 188;
			if (t == t0 + H)
				b.interruptions = burst[i];
			feed(&r, &e, &b);
		}
		assert_int_equal(r.n, i == 0 ? 0 : 2);
		if (i == 1) {
			assert_int_equal(r.ev[0].type, DM_EV_INSTABILITY);
			assert_int_equal(r.ev[0].start, t0 + H);
			assert_int_equal(r.ev[0].interruptions, 100);
		}
		detector_free(r.d);
	}
}

/* A run below threshold that changes level before it lasts min_duration, at 60 s bins: 5 min at
 * outage level then partial (iran-2009: a half of the lost networks back within minutes), and
 * the reverse. The event is raised at the level of the run's first stretch, dated from its
 * start; the last stretch is carried as the pending level change and dated from its own start,
 * so both steps are found within one bin, as at 300 s bins. */
static void test_run_changes_level(void **state)
{
	(void)state;
	for (int rev = 0; rev < 2; rev++) {
		struct detect_opts o;
		detect_opts_default(&o);
		o.bin = 60;
		struct evlist r = {.d = detector_new(&o)};
		struct sig_entity e = {.kind = SIG_ASN, .afi = DM_AFI_IPV4, .asn = 51431};
		uint32_t t0 = T_DEC21 + 17 * H, t1 = t0 + 5 * M, t2 = t0 + H;
		for (uint32_t t = T_DEC21; t < T_DEC22; t += 60) {
			struct sig_bin b = normal_bin(t);
			b.slash24 = 76;
			if (t >= t0 && t < t1)
				b.slash24 = rev ? 60 : 28;
			else if (t >= t1 && t < t2)
				b.slash24 = rev ? 28 : 60;
			feed(&r, &e, &b);
		}
		assert_int_equal(r.n, 3);
		assert_int_equal(r.ev[0].type, rev ? DM_EV_PARTIAL : DM_EV_OUTAGE);
		assert_int_equal(r.ev[0].start, t0);
		assert_int_equal(r.ev[0].raised, t0 + 9 * M);
		assert_int_equal(r.ev[1].type, rev ? DM_EV_OUTAGE : DM_EV_PARTIAL);
		assert_int_equal(r.ev[1].start, t1);
		assert_int_equal(r.ev[1].prev_start, t0);
		assert_int_equal(r.ev[1].raised, t1 + 9 * M);
		assert_int_equal(r.ev[2].type, DM_EV_RECOVERY);
		assert_int_equal(r.ev[2].end, t2);
		detector_free(r.d);
	}
}

/* Option errors name the rule: --threshold 0.95 with the default recover 0.9. */
static void test_option_messages(void **state)
{
	(void)state;
	struct detect_opts o;
	char why[200];
	detect_opts_default(&o);
	assert_int_equal(detect_opts_check(&o, why, sizeof why), 0);
	o.threshold = 0.95;
	assert_int_equal(detect_opts_check(&o, why, sizeof why), -1);
	assert_string_equal(why, "recover 0.9: must be in [threshold 0.95, 1] (an entity recovers at or above the "
	                         "level that raised its outage)");
	assert_null(detector_new(&o));
}

/* No judgement during warm-up, stated by detector_coverage: 15 minutes of data at 300 s bins
 * is 3 of the 12 normal bins needed. */
static void test_coverage_short_data(void **state)
{
	(void)state;
	struct detect_opts o;
	detect_opts_default(&o);
	struct evlist r = {.d = detector_new(&o)};
	struct sig_entity e = kp();
	for (uint32_t t = T_DEC22; t < T_DEC22 + 15 * M; t += 300) {
		struct sig_bin b = normal_bin(t);
		b.slash24 = t == T_DEC22 ? 4 : 0;
		feed(&r, &e, &b);
	}
	assert_int_equal(r.n, 0);
	struct detect_coverage c;
	detector_coverage(r.d, &c);
	assert_int_equal(c.entities, 1);
	assert_int_equal(c.judged, 0);
	assert_int_equal(c.best_history, 3);
	assert_int_equal(c.need_history, 12);
	assert_int_equal(c.first_judged, 0);
	detector_free(r.d);
}

/* The ring growth detect's run queue (and the pipeline's loss log) use: a wrapped ring of 5
 * (head 3: items 30, 40, 0, 10, 20 in order) comes out in order from index 0; an empty one too. */
static void test_ring_grown(void **state)
{
	const int ring[5] = { 0, 10, 20, 30, 40 };
	int *v = dm_ring_grown(ring, 5, 3, 5, sizeof *v, 10);
	assert_non_null(v);
	const int want[5] = { 30, 40, 0, 10, 20 };
	assert_memory_equal(v, want, sizeof want);
	free(v);
	v = dm_ring_grown(ring, 5, 1, 3, sizeof *v, 10);   /* not wrapped: 10, 20, 30 */
	assert_non_null(v);
	const int want3[3] = { 10, 20, 30 };
	assert_memory_equal(v, want3, sizeof want3);
	free(v);
	v = dm_ring_grown(NULL, 0, 0, 0, sizeof *v, 4);
	assert_non_null(v);
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kp_december_2014),
		cmocka_unit_test(test_kp_minute_bins),
		cmocka_unit_test(test_partial),
		cmocka_unit_test(test_partial_escalates),
		cmocka_unit_test(test_gap_is_unknown),
		cmocka_unit_test(test_peers_dropped_is_unknown),
		cmocka_unit_test(test_one_peer_reset_changes_nothing),
		cmocka_unit_test(test_big_entity_threshold),
		cmocka_unit_test(test_finish_order_and_families),
		cmocka_unit_test(test_bad_options),
		cmocka_unit_test(test_memory_stable_entity),
		cmocka_unit_test(test_random_invariants),
		cmocka_unit_test(test_long_outage_recovers),
		cmocka_unit_test(test_withdrawn_as_recovers),
		cmocka_unit_test(test_new_normal),
		cmocka_unit_test(test_bin_sizes_agree),
		cmocka_unit_test(test_ff_change_is_unknown),
		cmocka_unit_test(test_option_messages),
		cmocka_unit_test(test_run_changes_level),
		cmocka_unit_test(test_bystander_not_unstable),
		cmocka_unit_test(test_coverage_short_data),
		cmocka_unit_test(test_ring_grown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
