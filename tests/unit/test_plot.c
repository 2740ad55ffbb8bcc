/* src/out/plot: a synthetic KP-like series (4 /24s, 4 -> 0 -> 4 with an outage, a partial
 * outage, rising interruptions, a data-quality gap) goes through the store and into PNG and SVG.
 * Checks: exact image sizes from the PNG IHDR and the SVG root, that the plotted points equal the
 * stored series, hand-computed interruption bars, event spans, and pixel colours at known places. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <math.h>

#include <cairo.h>
#include <cmocka.h>

#include "base/addr.h"
#include "out/plot.h"
#include "store/store.h"

/* Times (UTC), computed with python3 calendar.timegm:
 *   2014-12-21 00:00 1419120000   series start (T0); 864 bins of 300 s = 3 days
 *   2014-12-21 12:00 1419163200   partial outage 12:00-12:30 (3 of 4 /24s)
 *   2014-12-21 18:00 1419184800   instability event start
 *   2014-12-22 06:00 1419228000   collector gap 06:00-06:30 (quality = SIG_Q_GAP)
 *   2014-12-22 16:15 1419264900   outage start (4 -> 0)
 *   2014-12-23 00:00 1419292800
 *   2014-12-23 01:45 1419299100   outage end (0 -> 4) */
enum {
	T0 = 1419120000,
	BIN = 300,
	NBINS = 864,
	PARTIAL_START = 1419163200,
	PARTIAL_END = PARTIAL_START + 1800,
	INSTAB_START = 1419184800,
	GAP_START = 1419228000,
	GAP_END = GAP_START + 1800,
	OUT_START = 1419264900,
	OUT_END = 1419299100,
	T_END = T0 + NBINS * BIN,
};

static const struct sig_entity KP4 = { .kind = SIG_COUNTRY, .afi = DM_AFI_IPV4, .cc = "KP" };
static char dir[64];
static struct sig_bin series[NBINS];
static struct dm_event events[4];

/* Interruptions in the bin starting at T0 + 300 i: from hour 12 to hour 39 the first
 * (h - 12) / 3 bins of each hour have one, so the hourly count rises 0,0,0,1,1,1,2,...,9. */
static uint32_t interruptions_of(int i)
{
	int h = i / 12, k = i % 12;
	if (h < 12 || h >= 40)
		return 0;
	return k < (h - 12) / 3 ? 1u : 0u;
}

static void make_series(void)
{
	for (int i = 0; i < NBINS; i++) {
		struct sig_bin *b = &series[i];
		uint32_t t = T0 + (uint32_t)i * BIN;
		memset(b, 0, sizeof *b);
		b->t = t;
		b->baseline_slash24 = 4;
		b->slash24 = (t >= OUT_START && t < OUT_END) ? 0 : (t >= PARTIAL_START && t < PARTIAL_END) ? 3 : 4;
		b->visible_prefixes = b->slash24;
		b->full_feed_peers = 40;
		b->peers_up = 44;
		b->peers_seeing = b->slash24 ? (uint16_t)(40 - i % 3) : 0;
		b->peer_frac = (float)b->slash24 / 4.0f * (float)b->peers_seeing / 40.0f;
		b->interruptions = interruptions_of(i);
		b->announcements = b->interruptions * 4;
		b->withdrawals = b->interruptions * 4;
		if (t >= GAP_START && t < GAP_END) {
			b->quality = SIG_Q_GAP;
			b->full_feed_peers = 30;
			b->peers_seeing = 30;
		}
	}
	struct dm_event e;
	memset(&e, 0, sizeof e);
	e.entity = KP4;
	e.baseline_slash24 = 4;
	e.full_feed_peers = 40;
	e.type = DM_EV_PARTIAL, e.start = PARTIAL_START, e.end = PARTIAL_END, e.slash24 = 3;
	e.severity = 0.25;
	events[0] = e;
	e.type = DM_EV_INSTABILITY, e.start = INSTAB_START, e.end = OUT_START, e.slash24 = 4;
	e.rate = 6, e.baseline_rate = 0.1, e.severity = 0;
	events[1] = e;
	/* Put open (end 0), as src/detect emits it: the recovery below closes it in the store. */
	e.type = DM_EV_OUTAGE, e.start = OUT_START, e.end = 0, e.slash24 = 0, e.severity = 1;
	e.rate = e.baseline_rate = 0, e.peers_lost = 40;
	snprintf(e.affected, sizeof e.affected, "175.45.176.0/24 175.45.177.0/24 175.45.178.0/24 175.45.179.0/24");
	events[2] = e;
	e.type = DM_EV_RECOVERY;   /* start: the outage's start, end: when it was back */
	e.end = OUT_END;
	e.of_type = DM_EV_OUTAGE;
	snprintf(e.reason, sizeof e.reason, "back after 9 h 30 min");
	events[3] = e;
}

static void path_in_dir(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

/* Writes the series to a store, closes it, reopens read-only and reads it back. */
static void stored_series(struct sig_bin **bins, size_t *n, struct dm_event **ev, size_t *nev)
{
	char p[128];
	struct dm_error err = { 0 };
	path_in_dir(p, sizeof p, "kp.sqlite");
	unlink(p);
	struct store *s = store_open(p, &err);
	assert_non_null(s);
	assert_int_equal(store_begin(s), 0);
	for (int i = 0; i < NBINS; i++)
		assert_int_equal(store_put_bin(s, &KP4, &series[i]), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(store_put_event(s, &events[i]), 0);
	assert_int_equal(store_put_entity_name(s, &KP4, "North Korea"), 0);
	assert_int_equal(store_commit(s), 0);
	store_close(s);
	s = store_open_ro(p, &err);
	assert_non_null(s);
	assert_int_equal(store_get_bins(s, &KP4, T0, T_END, bins, n), 0);
	assert_int_equal(store_get_events(s, &KP4, T0, T_END, ev, nev), 0);
	store_close(s);
	assert_int_equal(*n, NBINS);
	assert_int_equal(*nev, 4);
}

static void test_points_equal_stored_series(void **state)
{
	(void)state;
	struct sig_bin *bins;
	struct dm_event *ev;
	size_t n, nev;
	stored_series(&bins, &n, &ev, &nev);
	struct plot_spec spec = { .entity = KP4, .from = T0, .to = T_END };
	struct plot_data d;
	struct dm_error err = { 0 };
	assert_int_equal(plot_data_build(&spec, bins, n, ev, nev, &d, &err), 0);
	assert_int_equal(d.from, T0);
	assert_int_equal(d.to, T_END);
	assert_int_equal(d.bin_seconds, 300);
	assert_int_equal(d.nrows, NBINS);
	uint64_t total = 0;
	for (size_t i = 0; i < d.nrows; i++) {
		const struct plot_row *r = &d.rows[i];
		const struct sig_bin *b = &series[i];   /* the generated series, not just the read-back */
		assert_int_equal(r->t, b->t);
		assert_int_equal(r->slash24, b->slash24);
		assert_int_equal(r->baseline_slash24, b->baseline_slash24);
		assert_true(r->seeing_frac == (double)b->peers_seeing / b->full_feed_peers);
		assert_true(r->peer_frac == (double)b->peer_frac);
		assert_int_equal(r->interruptions, b->interruptions);
		assert_int_equal(r->quality, b->quality);
		total += r->interruptions;
	}
	/* A few rows by hand: 2014-12-22 16:10 is the last bin before the outage (index 482:
	 * (1419264600 - T0) / 300), 16:15 the first in it; 06:00 the first of the gap (index 360). */
	assert_int_equal(d.rows[482].slash24, 4);
	assert_int_equal(d.rows[483].slash24, 0);
	assert_true(d.rows[483].seeing_frac == 0.0);
	assert_int_equal(d.rows[360].quality, SIG_Q_GAP);
	assert_true(d.rows[360].seeing_frac == 1.0);   /* 30 of 30 */
	assert_true(d.rows[144].seeing_frac == 1.0);   /* index 144 = 12:00, 144 % 3 = 0: 40/40 */
	assert_true(d.rows[145].seeing_frac == 39.0 / 40.0);
	assert_true(d.rows[145].peer_frac == (double)(3.0f / 4.0f * 39.0f / 40.0f));   /* partial */

	/* Bars: 72 hours, one bar each. Hour h (12 <= h < 40) has (h - 12) / 3 interruptions. */
	assert_int_equal(d.nbars, 72);
	uint64_t bar_total = 0;
	for (size_t k = 0; k < d.nbars; k++) {
		assert_int_equal(d.bars[k].start, T0 + 3600 * k);
		assert_int_equal(d.bars[k].width, 3600);
		uint32_t want = k >= 12 && k < 40 ? (uint32_t)(k - 12) / 3 : 0;
		assert_int_equal(d.bars[k].interruptions, want);
		assert_true(d.bars[k].per_hour == (double)want);
		bar_total += d.bars[k].interruptions;
	}
	assert_int_equal(d.bars[15].interruptions, 1);   /* 2014-12-21 15:00 */
	assert_int_equal(d.bars[39].interruptions, 9);   /* 2014-12-22 15:00, the hour before */
	assert_int_equal(bar_total, total);
	assert_int_equal(total, 3 * (0 + 1 + 2 + 3 + 4 + 5 + 6 + 7 + 8) + 9);

	/* Spans: the four events (recovery as a marker) and the gap as a "quality" span. */
	assert_int_equal(d.nspans, 5);
	assert_int_equal(d.spans[0].kind, PLOT_SPAN_PARTIAL);
	assert_int_equal(d.spans[0].start, PARTIAL_START);
	assert_int_equal(d.spans[0].end, PARTIAL_END);
	assert_int_equal(d.spans[1].kind, PLOT_SPAN_INSTABILITY);
	assert_int_equal(d.spans[1].end, OUT_START);
	assert_int_equal(d.spans[2].kind, PLOT_SPAN_OUTAGE);
	assert_int_equal(d.spans[2].start, OUT_START);
	assert_int_equal(d.spans[2].end, OUT_END);
	assert_int_equal(d.spans[3].kind, PLOT_SPAN_RECOVERY);
	assert_int_equal(d.spans[3].end, OUT_END);
	assert_int_equal(d.spans[4].kind, PLOT_SPAN_QUALITY);
	assert_int_equal(d.spans[4].start, GAP_START);
	assert_int_equal(d.spans[4].end, GAP_END);
	assert_int_equal(d.spans[4].quality, SIG_Q_GAP);
	plot_data_free(&d);

	/* A window inside the outage: rows and spans clipped to [2014-12-22 20:00, 2014-12-23 00:00). */
	spec.from = OUT_START + 13500;   /* 20:00 */
	spec.to = 1419292800;            /* 00:00 */
	assert_int_equal(plot_data_build(&spec, bins, n, ev, nev, &d, &err), 0);
	assert_int_equal(d.nrows, 48);
	assert_int_equal(d.rows[0].t, spec.from);
	/* Only the outage: the instability ended at 16:15, the recovery (01:45) is after `to`. */
	assert_int_equal(d.nspans, 1);
	assert_int_equal(d.spans[0].kind, PLOT_SPAN_OUTAGE);
	assert_int_equal(d.spans[0].start, spec.from);
	assert_int_equal(d.spans[0].end, spec.to);
	plot_data_free(&d);
	free(bins);
	free(ev);
}

static void test_window_excludes_past_events(void **state)
{
	(void)state;
	/* Events ending before `from` are not drawn; an ongoing one (end 0) reaches `to`. */
	struct dm_event ev[2];
	memset(ev, 0, sizeof ev);
	ev[0].type = DM_EV_INSTABILITY, ev[0].entity = KP4, ev[0].start = 1000, ev[0].end = 2000;
	ev[1].type = DM_EV_OUTAGE, ev[1].entity = KP4, ev[1].start = 2500, ev[1].end = 0;
	struct sig_bin b[4];
	memset(b, 0, sizeof b);
	for (int i = 0; i < 4; i++)
		b[i].t = 2100 + 300 * (uint32_t)i;
	struct plot_spec spec = { .entity = KP4 };   /* from/to 0: the bins' extent */
	struct plot_data d;
	struct dm_error err = { 0 };
	assert_int_equal(plot_data_build(&spec, b, 4, ev, 2, &d, &err), 0);
	assert_int_equal(d.from, 2100);
	assert_int_equal(d.to, 3300);
	assert_int_equal(d.nspans, 1);
	assert_int_equal(d.spans[0].kind, PLOT_SPAN_OUTAGE);
	assert_int_equal(d.spans[0].start, 2500);
	assert_int_equal(d.spans[0].end, 3300);
	assert_true(isnan(d.rows[0].seeing_frac));   /* 0 full-feed peers: no value, a line break */
	plot_data_free(&d);
}

/* As src/detect emits them: the outage opens with end 0 and a recovery (of_type outage, same
 * start) closes it; an instability opens and a second instability event closes it. */
static void test_open_events_closed_later(void **state)
{
	(void)state;
	struct dm_event ev[4];
	memset(ev, 0, sizeof ev);
	ev[0].type = DM_EV_OUTAGE, ev[0].start = OUT_START, ev[0].end = 0;
	ev[1].type = DM_EV_RECOVERY, ev[1].of_type = DM_EV_OUTAGE, ev[1].start = OUT_START;
	ev[1].end = OUT_END;
	ev[2].type = DM_EV_INSTABILITY, ev[2].start = INSTAB_START, ev[2].end = 0;
	ev[3].type = DM_EV_INSTABILITY, ev[3].start = INSTAB_START, ev[3].end = OUT_START;
	struct plot_spec spec = { .entity = KP4, .from = T0, .to = T_END };
	struct plot_data d;
	struct dm_error err = { 0 };
	assert_int_equal(plot_data_build(&spec, series, NBINS, ev, 4, &d, &err), 0);
	assert_int_equal(d.nspans, 4);   /* outage, recovery marker, one instability, the gap */
	assert_int_equal(d.spans[0].kind, PLOT_SPAN_OUTAGE);
	assert_int_equal(d.spans[0].end, OUT_END);   /* not T_END */
	assert_int_equal(d.spans[1].kind, PLOT_SPAN_RECOVERY);
	assert_int_equal(d.spans[2].kind, PLOT_SPAN_INSTABILITY);
	assert_int_equal(d.spans[2].end, OUT_START);
	assert_int_equal(d.spans[3].kind, PLOT_SPAN_QUALITY);
	plot_data_free(&d);
	/* Without its recovery the outage is ongoing: shaded to the end of the plot. */
	assert_int_equal(plot_data_build(&spec, series, NBINS, ev, 1, &d, &err), 0);
	assert_int_equal(d.spans[0].end, T_END);
	plot_data_free(&d);
}

static void test_errors(void **state)
{
	(void)state;
	struct sig_bin b[2];
	memset(b, 0, sizeof b);
	b[0].t = 600;
	b[1].t = 300;
	struct plot_spec spec = { .entity = KP4 };
	struct plot_data d;
	struct dm_error err = { 0 };
	assert_int_equal(plot_data_build(&spec, b, 2, NULL, 0, &d, &err), DM_ERR_BAD_VALUE);
	assert_non_null(strstr(err.what, "not in increasing time order at index 1"));
	assert_int_equal(plot_data_build(&spec, b, 0, NULL, 0, &d, &err), DM_ERR_BAD_VALUE);
	assert_non_null(strstr(err.what, "no bins"));
	char p[128];
	path_in_dir(p, sizeof p, "x.jpg");
	spec.from = 0, spec.to = 1000;
	b[1].t = 900;
	assert_int_equal(plot_entity(p, &spec, b, 2, NULL, 0, &err), DM_ERR_BAD_VALUE);
	assert_non_null(strstr(err.what, "output must end in .png or .svg"));
	assert_int_equal(plot_entity("/nonexistent-dir/x.png", &spec, b, 2, NULL, 0, &err), DM_ERR_IO);
	assert_non_null(strstr(err.what, "/nonexistent-dir/x.png: cannot write PNG"));
	assert_int_equal(plot_entity("/nonexistent-dir/x.svg", &spec, b, 2, NULL, 0, &err), DM_ERR_IO);
	assert_non_null(strstr(err.what, "cannot write SVG"));
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* PNG signature and IHDR (RFC 2083 / PNG spec: 8-byte signature, then a 13-byte IHDR chunk). */
static void check_png(const char *path, uint32_t w, uint32_t h)
{
	static const unsigned char sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	unsigned char buf[33];
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(buf, 1, sizeof buf, f), sizeof buf);
	fclose(f);
	assert_memory_equal(buf, sig, 8);
	assert_int_equal(be32(buf + 8), 13);
	assert_memory_equal(buf + 12, "IHDR", 4);
	assert_int_equal(be32(buf + 16), w);
	assert_int_equal(be32(buf + 20), h);
}

/* Colour at (x, y) of a PNG, via cairo's own reader. */
static void pixel(const char *path, int x, int y, int *r, int *g, int *b)
{
	cairo_surface_t *s = cairo_image_surface_create_from_png(path);
	assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
	cairo_surface_flush(s);
	const unsigned char *data = cairo_image_surface_get_data(s);
	uint32_t px = *(const uint32_t *)(data + y * cairo_image_surface_get_stride(s) + x * 4);
	*r = px >> 16 & 0xff;
	*g = px >> 8 & 0xff;
	*b = px & 0xff;
	cairo_surface_destroy(s);
}

static void test_png_and_svg_files(void **state)
{
	(void)state;
	struct sig_bin *bins;
	struct dm_event *ev;
	size_t n, nev;
	stored_series(&bins, &n, &ev, &nev);
	struct plot_spec spec = { .entity = KP4, .entity_name = "North Korea", .from = T0, .to = T_END };
	struct dm_error err = { 0 };
	char png[128], svg[128], small[128];
	path_in_dir(png, sizeof png, "kp.png");
	path_in_dir(svg, sizeof svg, "kp.SVG");   /* the suffix is case-insensitive */
	path_in_dir(small, sizeof small, "kp-small.png");
	assert_int_equal(plot_entity(png, &spec, bins, n, ev, nev, &err), 0);
	check_png(png, 1200, 600);
	spec.width = 800, spec.height = 411;
	assert_int_equal(plot_entity(small, &spec, bins, n, ev, nev, &err), 0);
	check_png(small, 800, 411);
	spec.width = spec.height = 0;
	assert_int_equal(plot_entity(svg, &spec, bins, n, ev, nev, &err), 0);

	/* Pixels. Panel (a) spans x 78..1182 for [T0, T0 + 72 h) (margins 78 left, 18 right at
	 * 1200 px), y 38..264; y 151 is its middle. x of hour h: 78 + h / 72 * 1104. */
	int r, g, b;
	/* 2014-12-22 21:00 (hour 45, x 768): inside the outage, shaded red. */
	pixel(png, 768, 151, &r, &g, &b);
	assert_true(r > 230 && g < 215 && b < 215 && g == b);
	/* 2014-12-21 07:00 (hour 7, x 185): no event, white. */
	pixel(png, 185, 151, &r, &g, &b);
	assert_true(r == 255 && g == 255 && b == 255);
	/* 2014-12-22 06:15 (hour 30.25, x 542): the gap, grey over the instability shading: darker
	 * and less coloured than 05:00 (hour 29, x 523), outside the gap. */
	int r2, g2, b2;
	pixel(png, 542, 151, &r, &g, &b);
	pixel(png, 523, 151, &r2, &g2, &b2);
	assert_true(r < r2 - 20 && g < g2 - 20 && b < b2 - 20);
	assert_true(abs(r - g) <= abs(r2 - g2) && abs(b - g) <= abs(b2 - g2));
	/* The /24 line: near the top (4 of 4) at hour 7, at the bottom (0) at hour 45. */
	int y_at[2] = { -1, -1 };
	const int xs[2] = { 185, 768 };
	for (int k = 0; k < 2; k++)
		for (int y = 38; y <= 266 && y_at[k] < 0; y++) {
			pixel(png, xs[k], y, &r, &g, &b);
			if (b > 120 && r < 90 && g < 120)   /* the line's blue (26, 84, 166) */
				y_at[k] = y;
		}
	assert_true(y_at[0] > 38 && y_at[0] < 38 + 226 / 4);   /* 4 /24s: top quarter */
	assert_true(y_at[1] > 264 - 6 && y_at[1] <= 266);      /* 0 /24s: the bottom edge */

	char cmd[512];
	if (system("python3 -c 'import xml.etree.ElementTree' 2>/dev/null") != 0) {
		free(bins);
		free(ev);
		skip();
	}
	snprintf(cmd, sizeof cmd,
	         "python3 -c \"import sys, xml.etree.ElementTree as E; r = E.parse(sys.argv[1]).getroot(); "
	         "sys.exit(0 if (r.tag, r.get('width'), r.get('height'), r.get('viewBox')) == "
	         "('{http://www.w3.org/2000/svg}svg', '1200px', '600px', '0 0 1200 600') else 1)\" '%s'",
	         svg);
	assert_int_equal(system(cmd), 0);
	free(bins);
	free(ev);
}

static void test_csv(void **state)
{
	(void)state;
	struct plot_spec spec = { .entity = KP4, .from = OUT_START - 300, .to = OUT_START + 300 };
	struct plot_data d;
	struct dm_error err = { 0 };
	assert_int_equal(plot_data_build(&spec, series, NBINS, NULL, 0, &d, &err), 0);
	char p[128];
	path_in_dir(p, sizeof p, "rows.csv");
	assert_int_equal(plot_data_write_csv(&d, p, &err), 0);
	plot_data_free(&d);
	char buf[512] = "";
	FILE *f = fopen(p, "r");
	assert_non_null(f);
	size_t got = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[got] = 0;
	/* Index 482 (16:10): 482 % 3 = 2, so 38 of 40 peers; peer_frac = float(1 * 38/40) = 0.95f,
	 * whose double is 0.94999998807907104; hour 40 has no interruptions. Index 483 (16:15): in
	 * the outage, 0 of 40. */
	assert_string_equal(buf,
	                    "t,utc,slash24,baseline_slash24,seeing_frac,peer_frac,interruptions,quality\n"
	                    "1419264600,2014-12-22T16:10:00Z,4,4,0.94999999999999996,0.94999998807907104,0,0\n"
	                    "1419264900,2014-12-22T16:15:00Z,0,4,0,0,0,0\n");
}

static int setup(void **state)
{
	(void)state;
	make_series();
	snprintf(dir, sizeof dir, "/tmp/dm-test-plot-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

/* plot_place_labels on hand-built boxes. Bounds 100 x 50, a legend kept clear at the top right
 * (80..100 x 0..10); labels 10 high, three rows 11 px apart upwards from y 38:
 *   L0 at x 10: free -> (10, 38).   L1 at x 20: hits L0, row 1 -> (20, 27).
 *   L2 at x 25, or x 0: rows 0 and 1 hit L0 / L1 both ways; row 2 -> (25, 16).
 *   L3 at x 85, 30 wide: moved into bounds -> (70, 38).
 *   L4 (60, 5), one row: overlaps the legend -> dropped.
 *   L5 at x 15: hits L0, L1, L2 in rows 0, 1, 2 -> dropped.
 *   L6 (40, 38), one row: touches L0 (ends at 40) and L3 (starts at 70), no overlap -> placed.
 *   L7 60 high: never inside the bounds -> dropped.  3 dropped. */
static void test_place_labels_exact(void **state)
{
	(void)state;
	const struct plot_box bounds = { 0, 0, 100, 50 }, legend = { 80, 0, 20, 10 };
	struct plot_label l[8];
	memset(l, 0, sizeof l);
	const double want[8][5] = {   /* x, y, w, h, rows */
		{ 10, 38, 30, 10, 3 }, { 20, 38, 30, 10, 3 }, { 25, 38, 30, 10, 3 }, { 85, 38, 30, 10, 3 },
		{ 60, 5, 30, 10, 1 },  { 15, 38, 30, 10, 3 }, { 40, 38, 30, 10, 1 }, { -5, 0, 10, 60, 3 },
	};
	for (int i = 0; i < 8; i++) {
		l[i].want = (struct plot_box){ want[i][0], want[i][1], want[i][2], want[i][3] };
		l[i].rows = (int)want[i][4];
		l[i].row_step = -11;
		l[i].alt_x = NAN;
	}
	l[2].alt_x = 0;
	assert_int_equal(plot_place_labels(l, 8, &legend, 1, &bounds), 3);
	const int placed[8] = { 1, 1, 1, 1, 0, 0, 1, 0 };
	const double at[8][2] = { { 10, 38 }, { 20, 27 }, { 25, 16 }, { 70, 38 }, { 0, 0 }, { 0, 0 }, { 40, 38 }, { 0, 0 } };
	for (int i = 0; i < 8; i++) {
		assert_int_equal(l[i].placed, placed[i]);
		if (placed[i]) {
			assert_true(l[i].box.x == at[i][0] && l[i].box.y == at[i][1]);
			assert_true(l[i].box.w == want[i][2] && l[i].box.h == want[i][3]);
		}
	}
	/* Overlap is strict: shared edges are not an overlap, one unit more is. */
	struct plot_box a = { 0, 0, 10, 10 }, b = { 10, 0, 10, 10 }, c = { 9.5, 9.5, 5, 5 };
	assert_false(plot_box_overlap(&a, &b));
	assert_true(plot_box_overlap(&a, &c));
	assert_true(plot_box_overlap(&c, &b));
}

/* Many close outages, rendered: the labels of the PNG never overlap. One day of 300 s bins
 * (2014-12-22, T0 + 86400), 1200 x 600 px:
 *   20 outages of 10 min, one every 30 min from 02:00: 20 recoveries "back after 10 min",
 *     their markers 23 px apart, each label ~105 px wide: most cannot fit in three rows;
 *   one outage 14:00-17:00 (138 px: "outage from 14:00" fits inside) and its recovery;
 *   instability 12:00-14:00 ("unstable from 12:00"); a collector gap 19:00-21:00 ("no data").
 * That is 24 labels. Each must end up placed or counted in "+N more": placed - 1 + dropped =
 * 24. Checked on the image: drawing the labels changes pixels only inside the reported boxes,
 * every box holds text ink, and the boxes are pairwise disjoint. */
enum { D0 = T0 + 86400, DBINS = 288 };

static void test_labels_never_overlap_png(void **state)
{
	(void)state;
	static struct sig_bin b[DBINS];
	struct dm_event ev[48];
	size_t nev = 0;
	memset(ev, 0, sizeof ev);
	for (int i = 0; i < DBINS; i++) {
		uint32_t t = D0 + (uint32_t)i * BIN, h = (t - D0) / 60;   /* minutes of the day */
		memset(&b[i], 0, sizeof b[i]);
		b[i].t = t;
		b[i].baseline_slash24 = 4;
		int down = (h >= 120 && h < 120 + 20 * 30 && (h - 120) % 30 < 10) || (h >= 840 && h < 1020);
		b[i].slash24 = down ? 0 : 4;
		b[i].full_feed_peers = 40;
		b[i].peers_seeing = down ? 0 : 40;
		b[i].peer_frac = down ? 0.0f : 1.0f;
		if (h >= 1140 && h < 1260)
			b[i].quality = SIG_Q_GAP;
	}
	for (int k = 0; k <= 20; k++) {
		uint32_t s = k < 20 ? D0 + 7200 + (uint32_t)k * 1800 : D0 + 14 * 3600;
		uint32_t e = k < 20 ? s + 600 : D0 + 17 * 3600;
		ev[nev].entity = KP4, ev[nev].type = DM_EV_OUTAGE, ev[nev].start = s, ev[nev].end = e;
		nev++;
		ev[nev].entity = KP4, ev[nev].type = DM_EV_RECOVERY, ev[nev].start = s, ev[nev].end = e;
		ev[nev].of_type = DM_EV_OUTAGE;
		nev++;
	}
	ev[nev].entity = KP4, ev[nev].type = DM_EV_INSTABILITY, ev[nev].start = D0 + 12 * 3600;
	ev[nev].end = D0 + 14 * 3600;
	nev++;
	struct plot_spec spec = { .entity = KP4, .entity_name = "North Korea", .from = D0, .to = D0 + 86400 };
	struct dm_error err = { 0 };
	char with[128], without[128];
	path_in_dir(with, sizeof with, "close-labels.png");
	path_in_dir(without, sizeof without, "close-nolabels.png");
	static struct plot_label_report rep, rep2;
	assert_int_equal(plot_entity_labels(with, &spec, b, DBINS, ev, nev, 1, &rep, &err), 0);
	assert_int_equal(plot_entity_labels(without, &spec, b, DBINS, ev, nev, 0, &rep2, &err), 0);
	assert_int_equal(rep.nplaced, rep2.nplaced);   /* the same placement, only not drawn */

	assert_true(rep.ndropped > 0);
	assert_int_equal(rep.nplaced - 1 + rep.ndropped, 24);
	char more[32];
	snprintf(more, sizeof more, "+%zu more", rep.ndropped);
	int have_more = 0, have_outage = 0, have_unstable = 0, have_nodata = 0;
	for (size_t i = 0; i < rep.nplaced; i++) {
		have_more += !strcmp(rep.text[i], more);
		have_outage += !strcmp(rep.text[i], "outage from 14:00");
		have_unstable += !strcmp(rep.text[i], "unstable from 12:00");
		have_nodata += !strcmp(rep.text[i], "no data");
	}
	assert_int_equal(have_more, 1);
	/* Higher-priority labels first: the long outage's is placed; the "+N more" note is. */
	assert_int_equal(have_outage, 1);
	(void)have_unstable;
	(void)have_nodata;
	for (size_t i = 0; i < rep.nplaced; i++)
		for (size_t j = i + 1; j < rep.nplaced; j++)
			assert_false(plot_box_overlap(&rep.box[i], &rep.box[j]));

	cairo_surface_t *A = cairo_image_surface_create_from_png(with);
	cairo_surface_t *B = cairo_image_surface_create_from_png(without);
	assert_int_equal(cairo_surface_status(A), CAIRO_STATUS_SUCCESS);
	assert_int_equal(cairo_surface_status(B), CAIRO_STATUS_SUCCESS);
	int w = cairo_image_surface_get_width(A), h = cairo_image_surface_get_height(A);
	assert_int_equal(w, 1200);
	assert_int_equal(h, cairo_image_surface_get_height(B));
	const unsigned char *pa = cairo_image_surface_get_data(A), *pb = cairo_image_surface_get_data(B);
	int stride = cairo_image_surface_get_stride(A);
	size_t ink[PLOT_LABELS_MAX] = { 0 }, changed = 0, outside = 0;
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			uint32_t ca = *(const uint32_t *)(pa + y * stride + x * 4) & 0xffffff;
			uint32_t cb = *(const uint32_t *)(pb + y * stride + x * 4) & 0xffffff;
			int in = -1;
			for (size_t i = 0; i < rep.nplaced && in < 0; i++) {
				const struct plot_box *q = &rep.box[i];
				if (x + 1 > q->x && x < q->x + q->w && y + 1 > q->y && y < q->y + q->h)
					in = (int)i;
			}
			if (ca != cb) {
				changed++;
				outside += in < 0;
			}
			/* text ink: dark or saturated, never the 80 % white background */
			if (in >= 0 && (int)(ca >> 16 & 0xff) + (int)(ca >> 8 & 0xff) + (int)(ca & 0xff) < 450)
				ink[in]++;
		}
	assert_true(changed > 0);
	assert_int_equal(outside, 0);
	for (size_t i = 0; i < rep.nplaced; i++)
		assert_true(ink[i] >= 20);
	cairo_surface_destroy(A);
	cairo_surface_destroy(B);
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	plot_release_fonts();
	if (getenv("DM_KEEP_PLOTS")) {   /* to look at the pictures */
		fprintf(stderr, "plots kept in %s\n", dir);
		return 0;
	}
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_points_equal_stored_series),
		cmocka_unit_test(test_window_excludes_past_events),
		cmocka_unit_test(test_open_events_closed_later),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_png_and_svg_files),
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_place_labels_exact),
		cmocka_unit_test(test_labels_never_overlap_png),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
