/* Plots with cairo: three stacked panels on one UTC time axis (see plot.h). Everything drawn
 * comes from struct plot_data, which plot_data_build computes and tests read back. */
#include "out/plot.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cairo-svg.h>
#include <cairo.h>
#include <dlfcn.h>

#include "base/addr.h"

/* --- data ---------------------------------------------------------------------------------- */

void plot_data_free(struct plot_data *d)
{
	if (!d)
		return;
	free(d->rows);
	free(d->bars);
	free(d->spans);
	memset(d, 0, sizeof *d);
}

static int add_span(struct plot_data *d, size_t *cap, uint32_t start, uint32_t end, uint8_t kind,
                    uint8_t quality)
{
	if (d->nspans == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		struct plot_span *n = realloc(d->spans, *cap * sizeof *n);
		if (!n)
			return -1;
		d->spans = n;
	}
	d->spans[d->nspans++] = (struct plot_span){ start, end, kind, quality };
	return 0;
}

/* Bars of one hour while they stay >= ~2.5 px wide at 1200 px; whole hours beyond. */
static uint32_t bar_width(uint32_t range)
{
	static const uint32_t hours[] = { 1, 2, 3, 6, 12, 24, 48, 168 };
	for (size_t i = 0; i < sizeof hours / sizeof hours[0]; i++)
		if (range / (hours[i] * 3600u) <= 400)
			return hours[i] * 3600u;
	return 168 * 3600u * (range / (168 * 3600u * 400) + 1);
}

int plot_data_build(const struct plot_spec *spec, const struct sig_bin *bins, size_t n,
                    const struct dm_event *ev, size_t nev, struct plot_data *d,
                    struct dm_error *err)
{
	memset(d, 0, sizeof *d);
	for (size_t i = 1; i < n; i++)
		if (bins[i].t <= bins[i - 1].t)
			return dm_fail(err, DM_ERR_BAD_VALUE, 0,
			               "plot: bins not in increasing time order at index %zu (t %lld after %lld)",
			               i, (long long)bins[i].t, (long long)bins[i - 1].t);
	uint32_t bin = spec->bin_seconds;
	if (!bin) {
		for (size_t i = 1; i < n; i++)
			if (!bin || bins[i].t - bins[i - 1].t < bin)
				bin = bins[i].t - bins[i - 1].t;
		if (!bin)
			bin = 300;
	}
	uint32_t from = spec->from, to = spec->to;
	if (!from && !to) {
		if (!n)
			return dm_fail(err, DM_ERR_BAD_VALUE, 0, "plot: no bins and no time range");
		from = bins[0].t;
		to = bins[n - 1].t + bin;
	}
	if (to <= from)
		return dm_fail(err, DM_ERR_BAD_VALUE, 0, "plot: empty time range [%u, %u)", from, to);
	d->from = from;
	d->to = to;
	d->bin_seconds = bin;

	size_t first = 0, last = n;
	while (first < n && bins[first].t < from)
		first++;
	while (last > first && bins[last - 1].t >= to)
		last--;
	d->nrows = last - first;
	if (d->nrows && !(d->rows = calloc(d->nrows, sizeof *d->rows)))
		goto nomem;
	for (size_t i = 0; i < d->nrows; i++) {
		const struct sig_bin *b = &bins[first + i];
		struct plot_row *r = &d->rows[i];
		r->t = b->t;
		r->slash24 = b->slash24;
		r->baseline_slash24 = b->baseline_slash24;
		r->seeing_frac = b->full_feed_peers ? (double)b->peers_seeing / b->full_feed_peers : NAN;
		r->peer_frac = b->full_feed_peers ? (double)b->peer_frac : NAN;
		r->interruptions = b->interruptions;
		r->quality = b->quality;
	}

	/* Bars aligned to UTC hours (multiples of the width from the epoch). */
	uint32_t w = bar_width(to - from);
	uint32_t b0 = from / w * w;
	d->nbars = (to - b0 + w - 1) / w;
	if (!(d->bars = calloc(d->nbars, sizeof *d->bars)))
		goto nomem;
	for (size_t k = 0; k < d->nbars; k++) {
		d->bars[k].start = b0 + (uint32_t)k * w;
		d->bars[k].width = w;
	}
	for (size_t i = 0; i < d->nrows; i++)
		d->bars[(d->rows[i].t - b0) / w].interruptions += d->rows[i].interruptions;
	for (size_t k = 0; k < d->nbars; k++)
		d->bars[k].per_hour = d->bars[k].interruptions * 3600.0 / w;

	size_t cap = 0;
	for (size_t i = 0; i < nev; i++) {
		const struct dm_event *e = &ev[i];
		uint32_t end = e->end;
		if (!end && e->type != DM_EV_RECOVERY) {
			/* docs/detect.md: an event opens with end 0 and is closed by a later event with
			 * the same start: the same type with end set (drawn itself, so the open one is
			 * skipped), or for an outage/partial a recovery whose of_type names it. */
			int closed_by_same = 0;
			for (size_t j = 0; j < nev && !end && !closed_by_same; j++) {
				const struct dm_event *c = &ev[j];
				if (j == i || c->start != e->start || !c->end)
					continue;
				if (c->type == e->type)
					closed_by_same = 1;
				else if (c->type == DM_EV_RECOVERY &&
				         (c->of_type == e->type ||
				          (!c->of_type && (e->type == DM_EV_OUTAGE || e->type == DM_EV_PARTIAL))))
					end = c->end;
			}
			if (closed_by_same)
				continue;
		}
		if (!end)
			end = to;
		if (e->type == DM_EV_RECOVERY) {
			uint32_t at = e->end > e->start ? e->end : e->start;
			if (at >= from && at < to && add_span(d, &cap, e->start, at, PLOT_SPAN_RECOVERY, 0))
				goto nomem;
			continue;
		}
		uint8_t kind = e->type == DM_EV_OUTAGE        ? PLOT_SPAN_OUTAGE
		               : e->type == DM_EV_PARTIAL     ? PLOT_SPAN_PARTIAL
		               : e->type == DM_EV_INSTABILITY ? PLOT_SPAN_INSTABILITY
		               : e->type == DM_EV_UNKNOWN     ? PLOT_SPAN_UNKNOWN
		                                              : 0;
		if (!kind || e->start >= to || (end <= from && e->start < from))
			continue;
		uint32_t s = e->start < from ? from : e->start;
		if (end > to)
			end = to;
		if (end < s)
			end = s;
		if (add_span(d, &cap, s, end, kind, e->quality))
			goto nomem;
	}
	/* Runs of consecutive flagged bins become one grey span. */
	for (size_t i = 0; i < d->nrows;) {
		if (!d->rows[i].quality) {
			i++;
			continue;
		}
		size_t j = i;
		uint8_t q = d->rows[i].quality;
		while (j + 1 < d->nrows && d->rows[j + 1].quality && d->rows[j + 1].t == d->rows[j].t + bin)
			q |= d->rows[++j].quality;
		uint32_t end = d->rows[j].t + bin > to ? to : d->rows[j].t + bin;
		if (add_span(d, &cap, d->rows[i].t, end, PLOT_SPAN_QUALITY, q))
			goto nomem;
		i = j + 1;
	}
	return 0;
nomem:
	plot_data_free(d);
	return dm_fail(err, DM_ERR_NOMEM, 0, "plot: out of memory");
}

/* --- drawing helpers ----------------------------------------------------------------------- */

struct rgb {
	double r, g, b;
};
static const struct rgb C_LINE = { 0.10, 0.33, 0.65 };      /* visible /24s */
static const struct rgb C_PEERS = { 0.10, 0.33, 0.65 };     /* peers seeing */
static const struct rgb C_PFRAC = { 0.90, 0.50, 0.05 };     /* peer_frac */
static const struct rgb C_BARS = { 0.55, 0.15, 0.15 };      /* interruptions */
static const struct rgb C_OUTAGE = { 0.85, 0.10, 0.10 };
static const struct rgb C_PARTIAL = { 0.98, 0.60, 0.10 };
static const struct rgb C_INSTAB = { 0.50, 0.20, 0.70 };
static const struct rgb C_UNKNOWN = { 0.55, 0.55, 0.55 };
static const struct rgb C_RECOVERY = { 0.10, 0.55, 0.20 };
static const struct rgb C_TEXT = { 0.10, 0.10, 0.10 };
static const struct rgb C_GRID = { 0.88, 0.88, 0.88 };

static void set_rgb(cairo_t *cr, struct rgb c, double alpha)
{
	cairo_set_source_rgba(cr, c.r, c.g, c.b, alpha);
}

/* Text anchored at (x, y): ax 0 left / 0.5 centre / 1 right; ay 0 top / 0.5 middle / 1 baseline. */
static double text(cairo_t *cr, double x, double y, double ax, double ay, const char *s)
{
	cairo_text_extents_t te;
	cairo_font_extents_t fe;
	cairo_text_extents(cr, s, &te);
	cairo_font_extents(cr, &fe);
	double h = fe.ascent;
	cairo_move_to(cr, x - ax * te.x_advance, y + (1 - ay) * h);
	cairo_show_text(cr, s);
	return te.x_advance;
}

static void font(cairo_t *cr, double size, int bold)
{
	cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
	                       bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_font_size(cr, size);
}

/* "Nice" step for about `want` ticks over [0, max]: 1, 2 or 5 x 10^k, at least min_step. */
static double nice_step(double max, int want, double min_step)
{
	double raw = max / want;
	double p = pow(10, floor(log10(raw > 0 ? raw : 1)));
	double step = raw <= p ? p : raw <= 2 * p ? 2 * p : raw <= 5 * p ? 5 * p : 10 * p;
	return step < min_step ? min_step : step;
}

/* Top of a y axis: the data maximum v below the legend strip (a fraction of the panel),
 * rounded up to a whole tick step (about five ticks, >= min_step). */
static double headroom(double v, double strip_frac, double min_step, double *step)
{
	double need = (v > 0 ? v : 1) / (1 - strip_frac);
	*step = nice_step(need, 5, min_step);
	return ceil(need / *step - 1e-9) * *step;
}

struct panel {
	double x, y, w, h;           /* device units */
	double ymax;
	uint32_t from, to;
};

static double px(const struct panel *p, double t)
{
	return p->x + (t - p->from) / (double)(p->to - p->from) * p->w;
}

static double py(const struct panel *p, double v)
{
	return p->y + p->h - v / p->ymax * p->h;
}

static void shade(cairo_t *cr, const struct panel *p, uint32_t a, uint32_t b, struct rgb c,
                  double alpha, double top, double height)
{
	double x0 = px(p, a), x1 = px(p, b);
	if (x1 - x0 < 1.5) {   /* keep a very short event visible */
		double m = (x0 + x1) / 2;
		x0 = m - 0.75;
		x1 = m + 0.75;
	}
	set_rgb(cr, c, alpha);
	cairo_rectangle(cr, x0, top, x1 - x0, height);
	cairo_fill(cr);
}

/* Event and data-quality shading common to every panel. */
static void shade_spans(cairo_t *cr, const struct panel *p, const struct plot_data *d, int main)
{
	for (size_t i = 0; i < d->nspans; i++) {
		const struct plot_span *s = &d->spans[i];
		switch (s->kind) {
		case PLOT_SPAN_OUTAGE:
			shade(cr, p, s->start, s->end, C_OUTAGE, main ? 0.22 : 0.12, p->y, p->h);
			break;
		case PLOT_SPAN_PARTIAL:
			shade(cr, p, s->start, s->end, C_PARTIAL, main ? 0.25 : 0.14, p->y, p->h);
			break;
		case PLOT_SPAN_INSTABILITY:
			shade(cr, p, s->start, s->end, C_INSTAB, 0.08, p->y, p->h);
			if (main)
				shade(cr, p, s->start, s->end, C_INSTAB, 0.75, p->y, 6);
			break;
		case PLOT_SPAN_UNKNOWN:
		case PLOT_SPAN_QUALITY:
			shade(cr, p, s->start, s->end, C_UNKNOWN, 0.30, p->y, p->h);
			break;
		}
	}
}

static void grid_y(cairo_t *cr, const struct panel *p, double step, double fs, int percent)
{
	char buf[32];
	font(cr, fs, 0);
	double top = percent ? 1.0 : p->ymax;
	for (double v = 0; v <= top + step * 1e-9; v += step) {
		double y = round(py(p, v)) + 0.5;
		set_rgb(cr, C_GRID, 1);
		cairo_set_line_width(cr, 1);
		cairo_move_to(cr, p->x, y);
		cairo_line_to(cr, p->x + p->w, y);
		cairo_stroke(cr);
		if (percent)
			snprintf(buf, sizeof buf, "%.0f%%", v * 100);
		else if (step >= 1)
			snprintf(buf, sizeof buf, "%.0f", v);
		else
			snprintf(buf, sizeof buf, "%.1f", v);
		set_rgb(cr, C_TEXT, 1);
		text(cr, p->x - 6, y, 1, 0.5, buf);
	}
}

static void y_label(cairo_t *cr, const struct panel *p, double x, double fs, const char *s)
{
	font(cr, fs, 0);
	set_rgb(cr, C_TEXT, 1);
	cairo_save(cr);
	cairo_translate(cr, x, p->y + p->h / 2);
	cairo_rotate(cr, -M_PI / 2);
	text(cr, 0, 0, 0.5, 0.5, s);
	cairo_restore(cr);
}

static void frame(cairo_t *cr, const struct panel *p)
{
	cairo_set_source_rgb(cr, 0.35, 0.35, 0.35);
	cairo_set_line_width(cr, 1);
	cairo_rectangle(cr, round(p->x) + 0.5, round(p->y) + 0.5, round(p->w), round(p->h));
	cairo_stroke(cr);
}

/* Time axis: the smallest "round" step that leaves >= ~95 px between labels. */
static uint32_t time_step(uint32_t range, double width)
{
	static const uint32_t steps[] = { 60,    300,   600,   900,    1800,   3600,   7200,
		                          10800, 21600, 43200, 86400, 172800, 604800 };
	int max_ticks = (int)(width / 95);
	if (max_ticks < 2)
		max_ticks = 2;
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
		if (range / steps[i] <= (uint32_t)max_ticks)
			return steps[i];
	return 604800 * (range / (604800u * (uint32_t)max_ticks) + 1);
}

/* Month ticks for ranges of more than ~8 weeks: 1, 2, 3, 6 or 12 months, first of the month. */
static size_t month_ticks(uint32_t from, uint32_t to, double width, uint32_t *out, size_t max)
{
	static const int months[] = { 1, 2, 3, 6, 12, 24, 60, 120 };
	int max_ticks = (int)(width / 95) < 2 ? 2 : (int)(width / 95);
	double span_months = (to - from) / (86400 * 30.44);
	int m = 120;
	for (size_t i = 0; i < sizeof months / sizeof months[0]; i++)
		if (span_months / months[i] <= max_ticks) {
			m = months[i];
			break;
		}
	time_t tt = from;
	struct tm tm;
	gmtime_r(&tt, &tm);
	int y = tm.tm_year, mo = tm.tm_mon - tm.tm_mon % (m < 12 ? m : 12);
	size_t n = 0;
	while (n < max) {
		struct tm k = { .tm_year = y, .tm_mon = mo, .tm_mday = 1 };
		time_t t = timegm(&k);
		if (t >= (time_t)to || t > (time_t)UINT32_MAX)
			break;
		if (t >= (time_t)from)
			out[n++] = (uint32_t)t;
		mo += m;
		y += mo / 12;
		mo %= 12;
	}
	return n;
}

static void grid_x(cairo_t *cr, const struct panel *top, const struct panel *bottom,
                   const struct plot_data *d, double fs)
{
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
		                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	uint32_t ticks[256];
	size_t nt = 0;
	uint32_t step = time_step(d->to - d->from, bottom->w);
	int monthly = step > 604800;
	if (monthly) {
		nt = month_ticks(d->from, d->to, bottom->w, ticks, 256);
	} else {
		for (uint64_t t = ((uint64_t)d->from + step - 1) / step * step; t < d->to && nt < 256;
		     t += step)
			ticks[nt++] = (uint32_t)t;
	}
	int last_day = -1;
	font(cr, fs, 0);
	for (size_t i = 0; i < nt; i++) {
		uint32_t t = ticks[i];
		double x = round(px(bottom, t)) + 0.5;
		set_rgb(cr, C_GRID, 1);
		cairo_set_line_width(cr, 1);
		cairo_move_to(cr, x, top->y);
		cairo_line_to(cr, x, bottom->y + bottom->h);
		cairo_stroke(cr);
		set_rgb(cr, C_TEXT, 1);
		cairo_move_to(cr, x, bottom->y + bottom->h);
		cairo_line_to(cr, x, bottom->y + bottom->h + 4);
		cairo_stroke(cr);
		time_t tt = t;
		struct tm tm;
		gmtime_r(&tt, &tm);
		char buf[32];
		double ly = bottom->y + bottom->h + 7;
		if (monthly) {
			snprintf(buf, sizeof buf, "%s %d", mon[tm.tm_mon], tm.tm_year + 1900);
			text(cr, x, ly, 0.5, 0, buf);
		} else if (step < 86400) {
			snprintf(buf, sizeof buf, "%02d:%02d", tm.tm_hour, tm.tm_min);
			text(cr, x, ly, 0.5, 0, buf);
			if (tm.tm_yday != last_day) {
				snprintf(buf, sizeof buf, "%s %d", mon[tm.tm_mon], tm.tm_mday);
				font(cr, fs, 1);
				text(cr, x, ly + fs * 1.25, 0.5, 0, buf);
				font(cr, fs, 0);
				last_day = tm.tm_yday;
			}
		} else {
			snprintf(buf, sizeof buf, "%s %d", mon[tm.tm_mon], tm.tm_mday);
			text(cr, x, ly, 0.5, 0, buf);
		}
	}
}

/* A path that collapses the points falling in one pixel column into that column's min..max:
 * a year of 300 s bins is 105,120 steps over ~1,100 px, and cairo's stroker would spend
 * seconds on segments nobody can see. Below one point per pixel it draws every point. */
struct pen {
	cairo_t *cr;
	int have;
	double cx, lo, hi, last;
};

static void pen_flush(struct pen *pn)
{
	if (!pn->have)
		return;
	if (pn->hi > pn->lo) {
		cairo_line_to(pn->cr, pn->cx, pn->lo);
		cairo_line_to(pn->cr, pn->cx, pn->hi);
		cairo_line_to(pn->cr, pn->cx, pn->last);
	}
	pn->have = 0;
}

static void pen_to(struct pen *pn, double x, double y, int move)
{
	if (!move && pn->have && floor(x) == floor(pn->cx)) {
		pn->lo = fmin(pn->lo, y);
		pn->hi = fmax(pn->hi, y);
		pn->last = y;
		return;
	}
	pen_flush(pn);
	if (move)
		cairo_move_to(pn->cr, x, y);
	else
		cairo_line_to(pn->cr, x, y);
	pn->have = 1;
	pn->cx = x;
	pn->lo = pn->hi = pn->last = y;
}

/* A step line of one row field: horizontal over [t, t + bin), vertical joins between adjacent
 * bins, a break where bins are missing or the value is NAN. grey_quality: flagged bins grey. */
static void step_line(cairo_t *cr, const struct panel *p, const struct plot_data *d,
                      double (*get)(const struct plot_row *), struct rgb c, double lw,
                      int dashed, int grey_quality)
{
	cairo_set_line_width(cr, lw);
	cairo_set_line_join(cr, CAIRO_LINE_JOIN_MITER);
	double dash[] = { 5, 3 };
	cairo_set_dash(cr, dash, dashed ? 2 : 0, 0);
	for (int pass = 0; pass < 2; pass++) {   /* 0: good bins in colour, 1: flagged in grey */
		struct pen pn = { .cr = cr };
		int open = 0;
		double prev_y = 0;
		uint32_t prev_end = 0;
		for (size_t i = 0; i < d->nrows; i++) {
			const struct plot_row *r = &d->rows[i];
			double v = get(r);
			int mine = grey_quality ? (pass == (r->quality != 0)) : pass == 0;
			if (!mine || isnan(v)) {
				open = 0;
				continue;
			}
			uint32_t end = r->t + d->bin_seconds > d->to ? d->to : r->t + d->bin_seconds;
			double y = py(p, v);
			if (open && prev_end == r->t) {
				pen_to(&pn, px(p, r->t), prev_y, 0);
				pen_to(&pn, px(p, r->t), y, 0);
			} else {
				pen_to(&pn, px(p, r->t), y, 1);
			}
			pen_to(&pn, px(p, end), y, 0);
			open = 1;
			prev_y = y;
			prev_end = end;
		}
		pen_flush(&pn);
		if (pass == 0)
			set_rgb(cr, c, 1);
		else
			set_rgb(cr, C_UNKNOWN, 1);
		cairo_stroke(cr);
	}
	cairo_set_dash(cr, dash, 0, 0);
}

static double get_slash24(const struct plot_row *r) { return r->slash24; }
static double get_baseline(const struct plot_row *r) { return r->baseline_slash24; }
static double get_seeing(const struct plot_row *r) { return r->seeing_frac; }
static double get_pfrac(const struct plot_row *r) { return r->peer_frac; }

struct legend_item {
	const char *label;
	struct rgb c;
	int style;   /* 0 line, 1 dashed line, 2 box */
	double alpha;
};

/* Legend in a row at the top right inside the panel, on a white background. legend_box gives
 * the rectangle it covers (the labels keep out of it). */
static struct plot_box legend_box(cairo_t *cr, const struct panel *p, const struct legend_item *it,
                                  int n, double fs)
{
	font(cr, fs, 0);
	double sw = fs * 1.8, gap = fs * 0.5, pad = fs * 0.4, total = pad;
	for (int i = 0; i < n; i++) {
		cairo_text_extents_t te;
		cairo_text_extents(cr, it[i].label, &te);
		total += sw + gap + te.x_advance + fs;
	}
	struct plot_box b = { p->x + p->w - total - 4, p->y + 9, total, fs * 1.5 };
	return b;
}

static void legend(cairo_t *cr, const struct panel *p, const struct legend_item *it, int n,
                   double fs)
{
	struct plot_box lb = legend_box(cr, p, it, n, fs);
	double sw = fs * 1.8, gap = fs * 0.5, pad = fs * 0.4;
	double x = lb.x, y = lb.y, h = lb.h;
	cairo_set_source_rgba(cr, 1, 1, 1, 0.85);
	cairo_rectangle(cr, x, y, lb.w, h);
	cairo_fill(cr);
	x += pad;
	double my = y + h / 2;
	for (int i = 0; i < n; i++) {
		if (it[i].style == 2) {
			set_rgb(cr, it[i].c, it[i].alpha);
			cairo_rectangle(cr, x, my - fs * 0.45, sw, fs * 0.9);
			cairo_fill(cr);
		} else {
			double dash[] = { 5, 3 };
			cairo_set_dash(cr, dash, it[i].style == 1 ? 2 : 0, 0);
			set_rgb(cr, it[i].c, 1);
			cairo_set_line_width(cr, 2);
			cairo_move_to(cr, x, my);
			cairo_line_to(cr, x + sw, my);
			cairo_stroke(cr);
			cairo_set_dash(cr, dash, 0, 0);
		}
		x += sw + gap;
		set_rgb(cr, C_TEXT, 1);
		x += text(cr, x, my, 0, 0.5, it[i].label) + fs;
	}
}

/* ---- Label placement (no two labels overlap) ---- */

int plot_box_overlap(const struct plot_box *a, const struct plot_box *b)
{
	return a->x < b->x + b->w && b->x < a->x + a->w && a->y < b->y + b->h && b->y < a->y + a->h;
}

static int box_inside(const struct plot_box *b, const struct plot_box *in)
{
	return b->x >= in->x && b->y >= in->y && b->x + b->w <= in->x + in->w &&
	       b->y + b->h <= in->y + in->h;
}

/* One candidate position: x moved into bounds, then free of keep-outs and placed labels? */
static int try_box(struct plot_box *b, const struct plot_box *keep, size_t nkeep,
                   const struct plot_label *l, size_t nl, const struct plot_box *bounds)
{
	if (b->x + b->w > bounds->x + bounds->w)
		b->x = bounds->x + bounds->w - b->w;
	if (b->x < bounds->x)
		b->x = bounds->x;
	if (!box_inside(b, bounds))
		return 0;
	for (size_t k = 0; k < nkeep; k++)
		if (plot_box_overlap(b, &keep[k]))
			return 0;
	for (size_t j = 0; j < nl; j++)
		if (l[j].placed && plot_box_overlap(b, &l[j].box))
			return 0;
	return 1;
}

size_t plot_place_labels(struct plot_label *l, size_t n, const struct plot_box *keep, size_t nkeep,
                         const struct plot_box *bounds)
{
	size_t dropped = 0;
	for (size_t i = 0; i < n; i++) {
		l[i].placed = 0;
		for (int row = 0; row < (l[i].rows > 0 ? l[i].rows : 1) && !l[i].placed; row++)
			for (int alt = 0; alt < 2 && !l[i].placed; alt++) {
				if (alt && isnan(l[i].alt_x))
					continue;
				struct plot_box b = l[i].want;
				b.x = alt ? l[i].alt_x : b.x;
				b.y += row * l[i].row_step;
				if (try_box(&b, keep, nkeep, l, i, bounds)) {
					l[i].box = b;
					l[i].placed = 1;
				}
			}
		dropped += !l[i].placed;
	}
	return dropped;
}

static void fmt_utc(uint32_t t, char *buf, size_t len)
{
	time_t tt = t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M", &tm);
}

static void default_title(const struct plot_spec *spec, const struct plot_data *d, char *buf,
                          size_t len)
{
	char code[16], a[32], b[32];
	const struct sig_entity *e = &spec->entity;
	if (e->kind == SIG_COUNTRY)
		snprintf(code, sizeof code, "%.2s", e->cc);
	else if (e->kind == SIG_ASN)
		snprintf(code, sizeof code, "AS%u", e->asn);
	else
		snprintf(code, sizeof code, "global");
	fmt_utc(d->from, a, sizeof a);
	fmt_utc(d->to, b, sizeof b);
	if (spec->entity_name && spec->entity_name[0])
		snprintf(buf, len, "%s (%s), %s: BGP visibility, %s to %s UTC", code, spec->entity_name,
		         e->afi == DM_AFI_IPV6 ? "IPv6" : "IPv4", a, b);
	else
		snprintf(buf, len, "%s, %s: BGP visibility, %s to %s UTC", code,
		         e->afi == DM_AFI_IPV6 ? "IPv6" : "IPv4", a, b);
}

static void fmt_duration(uint32_t s, char *buf, size_t len)
{
	if (s >= 86400)
		snprintf(buf, len, "%u d %u h", s / 86400, s % 86400 / 3600);
	else if (s >= 3600 && s % 3600 / 60 == 0)
		snprintf(buf, len, "%u h", s / 3600);
	else if (s >= 3600)
		snprintf(buf, len, "%u h %u min", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%u min", s / 60);
}

/* A label of panel (a) before placement. */
struct pending {
	char text[64];
	struct rgb c;
};

static void place_and_draw_labels(cairo_t *cr, const struct panel *a, const struct plot_data *d,
                                  double s, double fs, const struct plot_box *keep, int draw_labels,
                                  struct plot_label_report *rep)
{
	enum { MAXL = PLOT_LABELS_MAX };
	static struct plot_label lab[MAXL];    /* one plot at a time: draw() is not reentrant anyway */
	static struct pending pend[MAXL];
	size_t n = 0, over = 0;
	font(cr, fs, 0);
	cairo_font_extents_t fe;
	cairo_font_extents(cr, &fe);
	double pad = fmax(2, 2 * s), h = fe.ascent + fe.descent + 2 * pad;
	double bottom = a->y + a->h - 12 * s;   /* lowest row: its baseline, above the markers */
	struct plot_box bounds = { a->x + 1, a->y + 1, a->w - 2, a->h - 2 };
	/* Priority: outage and partial starts and recoveries in time order, then instability,
	 * then "no data" runs; a label that finds no room is dropped, the later ones first. */
	for (int pass = 0; pass < 3; pass++)
		for (size_t i = 0; i < d->nspans; i++) {
			const struct plot_span *sp = &d->spans[i];
			double x0 = px(a, sp->start), x1 = px(a, sp->end);
			int k = sp->kind;
			int mine = pass == 0 ? (k == PLOT_SPAN_OUTAGE || k == PLOT_SPAN_PARTIAL ||
			                        (k == PLOT_SPAN_RECOVERY && sp->end > sp->start))
			           : pass == 1 ? k == PLOT_SPAN_INSTABILITY
			                       : (k == PLOT_SPAN_QUALITY || k == PLOT_SPAN_UNKNOWN);
			if (!mine)
				continue;
			if ((k == PLOT_SPAN_OUTAGE || k == PLOT_SPAN_PARTIAL || k == PLOT_SPAN_INSTABILITY) &&
			    sp->start <= d->from)
				continue;   /* began before the window: its start is not on the plot */
			if (n == MAXL) {
				over++;
				continue;
			}
			struct plot_label *l = &lab[n];
			struct pending *pe = &pend[n];
			char hm[8];
			time_t tt = sp->start;
			struct tm tm;
			gmtime_r(&tt, &tm);
			strftime(hm, sizeof hm, "%H:%M", &tm);
			l->alt_x = NAN;
			l->rows = 3;
			l->row_step = -(h + 1);
			if (k == PLOT_SPAN_RECOVERY) {
				char dur[48];
				fmt_duration(sp->end - sp->start, dur, sizeof dur);
				snprintf(pe->text, sizeof pe->text, "back after %s", dur);
				pe->c = C_RECOVERY;
			} else if (k == PLOT_SPAN_INSTABILITY) {
				snprintf(pe->text, sizeof pe->text, "unstable from %s", hm);
				pe->c = C_INSTAB;
			} else if (k == PLOT_SPAN_OUTAGE || k == PLOT_SPAN_PARTIAL) {
				snprintf(pe->text, sizeof pe->text, "%s from %s",
				         k == PLOT_SPAN_OUTAGE ? "outage" : "partial outage", hm);
				pe->c = C_OUTAGE;
			} else {
				snprintf(pe->text, sizeof pe->text, "no data");
				pe->c = C_TEXT;
			}
			cairo_text_extents_t te;
			cairo_text_extents(cr, pe->text, &te);
			double w = te.x_advance + 2 * pad;
			if ((k == PLOT_SPAN_OUTAGE || k == PLOT_SPAN_PARTIAL) && x1 - x0 < w + 4)
				continue;   /* a short outage is named by its recovery label alone */
			if ((k == PLOT_SPAN_QUALITY || k == PLOT_SPAN_UNKNOWN) && x1 - x0 < w)
				continue;   /* too narrow to say so inside it */
			l->want.w = w;
			l->want.h = h;
			if (k == PLOT_SPAN_RECOVERY) {           /* right of its marker, else left */
				l->want.x = x1 + 4 * s;
				l->alt_x = x1 - 4 * s - w;
				l->want.y = bottom - fe.ascent - pad;
			} else if (k == PLOT_SPAN_INSTABILITY) { /* under the top edge, rows downwards */
				l->want.x = x0 + 2 * s;
				l->want.y = a->y + 8 * s;
				l->row_step = h + 1;
			} else if (k == PLOT_SPAN_OUTAGE || k == PLOT_SPAN_PARTIAL) {
				l->want.x = x0 + 2 * s;
				l->want.y = bottom - fe.ascent - pad;
			} else {                                 /* "no data": centred, bottom row only */
				l->want.x = (x0 + x1) / 2 - w / 2;
				l->want.y = a->y + a->h - 3 - h;
				l->rows = 1;
			}
			n++;
		}
	size_t dropped = plot_place_labels(lab, n, keep, 1, &bounds) + over;
	/* "+N more": placed like a label against all the others; if even it finds no room, the
	 * last placed label gives way to it. */
	struct plot_label more = { 0 };
	char more_text[32] = "";
	while (dropped) {
		snprintf(more_text, sizeof more_text, "+%zu more", dropped);
		cairo_text_extents_t te;
		cairo_text_extents(cr, more_text, &te);
		more.want = (struct plot_box){ bounds.x + bounds.w - te.x_advance - 2 * pad - 2,
			                       bottom - fe.ascent - pad, te.x_advance + 2 * pad, h };
		more.alt_x = bounds.x + 2;
		more.rows = 3;
		more.row_step = -(h + 1);
		struct plot_box all[MAXL + 1];
		size_t na = 0;
		all[na++] = *keep;
		for (size_t i = 0; i < n; i++)
			if (lab[i].placed)
				all[na++] = lab[i].box;
		if (plot_place_labels(&more, 1, all, na, &bounds) == 0)
			break;
		size_t last = n;
		while (last > 0 && !lab[last - 1].placed)
			last--;
		if (!last) {
			more.placed = 0;
			break;
		}
		lab[last - 1].placed = 0;
		dropped++;
	}
	if (rep) {
		rep->nplaced = 0;
		rep->ndropped = dropped;
	}
	for (size_t i = 0; i <= n; i++) {
		const struct plot_label *l = i < n ? &lab[i] : &more;
		const char *t = i < n ? pend[i].text : more_text;
		if (!l->placed)
			continue;
		if (rep && rep->nplaced < PLOT_LABELS_MAX) {
			rep->box[rep->nplaced] = l->box;
			snprintf(rep->text[rep->nplaced], sizeof rep->text[0], "%.63s", t);
			rep->nplaced++;
		}
		if (!draw_labels)
			continue;
		cairo_set_source_rgba(cr, 1, 1, 1, 0.8);
		cairo_rectangle(cr, l->box.x, l->box.y, l->box.w, l->box.h);
		cairo_fill(cr);
		set_rgb(cr, i < n ? pend[i].c : C_TEXT, 1);
		cairo_move_to(cr, l->box.x + pad, l->box.y + pad + fe.ascent);
		cairo_show_text(cr, t);
	}
}

static void draw(cairo_t *cr, const struct plot_spec *spec, const struct plot_data *d, int width,
                 int height, int draw_labels, struct plot_label_report *rep)
{
	double s = fmin(width / (double)PLOT_DEFAULT_WIDTH, height / (double)PLOT_DEFAULT_HEIGHT);
	if (s < 0.5)
		s = 0.5;
	double fs = 12 * s, ml = 78 * s, mr = 18 * s, mt = 38 * s, mb = 46 * s, gap = 12 * s;
	int v6 = spec->entity.afi == DM_AFI_IPV6;

	cairo_set_source_rgb(cr, 1, 1, 1);
	cairo_paint(cr);

	char title[512];
	if (spec->title)
		snprintf(title, sizeof title, "%s", spec->title);
	else
		default_title(spec, d, title, sizeof title);
	font(cr, 15 * s, 1);
	set_rgb(cr, C_TEXT, 1);
	text(cr, ml, 12 * s, 0, 0, title);

	double avail = height - mt - mb - 2 * gap;
	struct panel a = { ml, mt, width - ml - mr, avail * 0.46, 1, d->from, d->to };
	struct panel b = { ml, a.y + a.h + gap, a.w, avail * 0.24, 1, d->from, d->to };
	struct panel c = { ml, b.y + b.h + gap, a.w, avail * 0.30, 1, d->from, d->to };

	/* y ranges: each panel keeps its legend's strip (top ~30 px) clear of data. */
	double vmax = 0, bmax = 0;
	for (size_t i = 0; i < d->nrows; i++) {
		vmax = fmax(vmax, d->rows[i].slash24);
		vmax = fmax(vmax, d->rows[i].baseline_slash24);
	}
	for (size_t k = 0; k < d->nbars; k++)
		bmax = fmax(bmax, d->bars[k].per_hour);
	double strip = 9 + fs * 1.5 + 6;
	double astep, cstep;
	a.ymax = headroom(vmax, strip / a.h, 1, &astep);
	b.ymax = 1.0 / (1 - strip / b.h);   /* ticks 0..100 % only */
	c.ymax = headroom(bmax, strip / c.h, bmax >= 1 || bmax == 0 ? 1 : 0.1, &cstep);

	/* Clip every panel's content to its frame. */
	const struct panel *panels[] = { &a, &b, &c };
	for (int i = 0; i < 3; i++) {
		cairo_save(cr);
		cairo_rectangle(cr, panels[i]->x, panels[i]->y, panels[i]->w, panels[i]->h);
		cairo_clip(cr);
		shade_spans(cr, panels[i], d, i == 0);
		cairo_restore(cr);
	}
	grid_y(cr, &a, astep, fs, 0);
	grid_y(cr, &b, 0.25, fs, 1);
	grid_y(cr, &c, cstep, fs, 0);
	grid_x(cr, &a, &c, d, fs);

	/* (a) visible /24s */
	cairo_save(cr);
	cairo_rectangle(cr, a.x, a.y - 2, a.w, a.h + 4);
	cairo_clip(cr);
	step_line(cr, &a, d, get_baseline, C_UNKNOWN, 1.3 * s, 1, 0);
	step_line(cr, &a, d, get_slash24, C_LINE, 2.2 * s, 0, 1);
	cairo_restore(cr);
	/* Recovery markers, then every label of panel (a) placed so that none overlaps another or
	 * the legend: stacked in up to three rows, flipped to the left of a marker near the right
	 * edge, or dropped and counted in a "+N more" note. */
	for (size_t i = 0; i < d->nspans; i++) {
		const struct plot_span *sp = &d->spans[i];
		if (sp->kind != PLOT_SPAN_RECOVERY)
			continue;
		double x1 = px(&a, sp->end);
		set_rgb(cr, C_RECOVERY, 1);
		cairo_move_to(cr, x1, a.y + a.h - 2);
		cairo_line_to(cr, x1 - 5 * s, a.y + a.h - 11 * s);
		cairo_line_to(cr, x1 + 5 * s, a.y + a.h - 11 * s);
		cairo_close_path(cr);
		cairo_fill(cr);
	}
	struct legend_item la[] = {
		{ v6 ? "visible /48 networks" : "visible /24 networks", C_LINE, 0, 1 },
		{ "usual level", C_UNKNOWN, 1, 1 },
		{ "outage", C_OUTAGE, 2, 0.35 },
		{ "partial outage", C_PARTIAL, 2, 0.4 },
		{ "unstable", C_INSTAB, 2, 0.75 },
		{ "no reliable data", C_UNKNOWN, 2, 0.35 },
	};
	struct plot_box keep = legend_box(cr, &a, la, 6, fs * 0.95);
	place_and_draw_labels(cr, &a, d, s, fs * 0.9, &keep, draw_labels, rep);
	/* (b) peers */
	cairo_save(cr);
	cairo_rectangle(cr, b.x, b.y - 2, b.w, b.h + 4);
	cairo_clip(cr);
	step_line(cr, &b, d, get_pfrac, C_PFRAC, 1.6 * s, 1, 1);
	step_line(cr, &b, d, get_seeing, C_PEERS, 2.0 * s, 0, 1);
	cairo_restore(cr);
	/* (c) interruptions per hour */
	cairo_save(cr);
	cairo_rectangle(cr, c.x, c.y, c.w, c.h);
	cairo_clip(cr);
	set_rgb(cr, C_BARS, 0.85);
	for (size_t k = 0; k < d->nbars; k++) {
		if (!d->bars[k].interruptions)
			continue;
		double x0 = px(&c, d->bars[k].start), x1 = px(&c, d->bars[k].start + d->bars[k].width);
		double wbar = x1 - x0 > 3 ? x1 - x0 - 1 : x1 - x0;
		cairo_rectangle(cr, x0, py(&c, d->bars[k].per_hour), wbar,
		                c.y + c.h - py(&c, d->bars[k].per_hour));
	}
	cairo_fill(cr);
	cairo_restore(cr);

	frame(cr, &a);
	frame(cr, &b);
	frame(cr, &c);
	y_label(cr, &a, 16 * s, fs, v6 ? "/48 networks" : "/24 networks");
	y_label(cr, &b, 16 * s, fs, "peers seeing it");
	y_label(cr, &c, 16 * s, fs, "interruptions/hour");
	font(cr, fs, 0);
	set_rgb(cr, C_TEXT, 1);
	text(cr, a.x + a.w, height - 4 * s, 1, 1, "time (UTC)");

	legend(cr, &a, la, 6, fs * 0.95);
	struct legend_item lb[] = {
		{ "share of full-feed peers that see it", C_PEERS, 0, 1 },
		{ "share of its usual /24 networks an average peer sees", C_PFRAC, 1, 1 },
	};
	if (v6)
		lb[1].label = "share of its usual /48 networks an average peer sees";
	legend(cr, &b, lb, 2, fs * 0.95);
	char lc[96];
	unsigned hours = d->nbars ? d->bars[0].width / 3600 : 1;
	if (hours == 1)
		snprintf(lc, sizeof lc, "interruptions per hour (networks withdrawn and back)");
	else
		snprintf(lc, sizeof lc, "interruptions per hour (averaged over %u h)", hours);
	struct legend_item lcs[] = { { lc, C_BARS, 2, 0.85 } };
	legend(cr, &c, lcs, 1, fs * 0.95);
}

static int has_suffix(const char *path, const char *suf)
{
	size_t n = strlen(path), m = strlen(suf);
	return n >= m && !strcasecmp(path + n - m, suf);
}

int plot_entity(const char *path, const struct plot_spec *spec, const struct sig_bin *bins,
                size_t n, const struct dm_event *ev, size_t nev, struct dm_error *err)
{
	return plot_entity_labels(path, spec, bins, n, ev, nev, 1, NULL, err);
}

int plot_entity_labels(const char *path, const struct plot_spec *spec, const struct sig_bin *bins,
                       size_t n, const struct dm_event *ev, size_t nev, int draw_labels,
                       struct plot_label_report *rep, struct dm_error *err)
{
	int svg = has_suffix(path, ".svg");
	if (!svg && !has_suffix(path, ".png"))
		return dm_fail(err, DM_ERR_BAD_VALUE, 0, "%s: output must end in .png or .svg", path);
	int width = spec->width > 0 ? spec->width : PLOT_DEFAULT_WIDTH;
	int height = spec->height > 0 ? spec->height : PLOT_DEFAULT_HEIGHT;
	if (width < 200 || height < 150 || width > 20000 || height > 20000)
		return dm_fail(err, DM_ERR_BAD_VALUE, 0, "%s: size %dx%d outside 200x150..20000x20000",
		               path, width, height);
	struct plot_data d;
	int rc = plot_data_build(spec, bins, n, ev, nev, &d, err);
	if (rc)
		return rc;
	cairo_surface_t *sf;
	if (svg) {
		sf = cairo_svg_surface_create(path, width, height);
		if (cairo_surface_status(sf) == CAIRO_STATUS_SUCCESS)
			cairo_svg_surface_set_document_unit(sf, CAIRO_SVG_UNIT_PX);
	} else {
		sf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
	}
	cairo_status_t st = cairo_surface_status(sf);
	if (st == CAIRO_STATUS_SUCCESS) {
		cairo_t *cr = cairo_create(sf);
		draw(cr, spec, &d, width, height, draw_labels, rep);
		st = cairo_status(cr);
		cairo_destroy(cr);
	}
	if (st == CAIRO_STATUS_SUCCESS) {
		if (svg) {
			cairo_surface_finish(sf);
			st = cairo_surface_status(sf);
		} else {
			st = cairo_surface_write_to_png(sf, path);
		}
	}
	cairo_surface_destroy(sf);
	plot_data_free(&d);
	if (st != CAIRO_STATUS_SUCCESS)
		return dm_fail(err, DM_ERR_IO, 0, "%s: cannot write %s: %s", path, svg ? "SVG" : "PNG",
		               cairo_status_to_string(st));
	return 0;
}

static void csv_frac(FILE *f, double v)
{
	if (!isnan(v))
		fprintf(f, "%.17g", v);
}

int plot_data_write_csv(const struct plot_data *d, const char *path, struct dm_error *err)
{
	int std = !strcmp(path, "-");
	FILE *f = std ? stdout : fopen(path, "w");
	if (!f)
		return dm_fail(err, DM_ERR_IO, 0, "%s: cannot write: %s", path, strerror(errno));
	fputs("t,utc,slash24,baseline_slash24,seeing_frac,peer_frac,interruptions,quality\n", f);
	for (size_t i = 0; i < d->nrows; i++) {
		const struct plot_row *r = &d->rows[i];
		time_t tt = r->t;
		struct tm tm;
		char utc[32];
		gmtime_r(&tt, &tm);
		strftime(utc, sizeof utc, "%Y-%m-%dT%H:%M:%SZ", &tm);
		fprintf(f, "%u,%s,%llu,%llu,", r->t, utc, (unsigned long long)r->slash24,
		        (unsigned long long)r->baseline_slash24);
		csv_frac(f, r->seeing_frac);
		fputc(',', f);
		csv_frac(f, r->peer_frac);
		fprintf(f, ",%u,%u\n", r->interruptions, r->quality);
	}
	int bad = ferror(f);
	if (std)
		bad |= fflush(f) != 0;
	else
		bad |= fclose(f) != 0;
	if (bad)
		return dm_fail(err, DM_ERR_IO, 0, "%s: write failed", path);
	return 0;
}

void plot_release_fonts(void)
{
	cairo_debug_reset_static_data();
	/* fontconfig is cairo's dependency, not ours: look FcFini up rather than link it. */
	void (*fc_fini)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "FcFini");
	if (fc_fini)
		fc_fini();
}
