/* Plots of one entity's visibility series with cairo (PNG or SVG by file suffix): the 2014
 * observers' three graphs on one page, sharing a UTC time axis:
 *   (a) visible /24s (IPv6: /48s) per bin, baseline dashed, outages shaded, instability marked;
 *   (b) the share of full-feed peers seeing the entity (peers_seeing / full_feed_peers) and
 *       peer_frac (mean share of its baseline /24s each full-feed peer sees);
 *   (c) interruptions per hour as bars ("increasing frequency of interruptions").
 * Bins whose data quality is flagged (sig_bin.quality != 0) are drawn in a grey band labelled
 * "unknown", the series line grey over them. plot_data_build returns exactly what is drawn, so
 * tests can compare the plotted points with the stored series. */
#ifndef DM_OUT_PLOT_H
#define DM_OUT_PLOT_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "detect/event.h"
#include "signal/series.h"

enum { PLOT_DEFAULT_WIDTH = 1200, PLOT_DEFAULT_HEIGHT = 600 };

struct plot_spec {
	struct sig_entity entity;
	const char *entity_name;  /* "North Korea", "STAR-KP"; NULL: code only */
	const char *title;        /* NULL: "KP (North Korea), IPv4: visibility, FROM to TO UTC" */
	uint32_t from, to;        /* [from, to) UTC seconds; both 0: the bins' extent */
	int width, height;        /* pixels (PNG) or CSS px (SVG); 0: 1200 x 600 */
	uint32_t bin_seconds;     /* 0: the smallest step between consecutive bins (300 if < 2) */
};

/* One plotted bin, in time order: the values drawn in panels (a) and (b). */
struct plot_row {
	uint32_t t;                  /* bin start; the bin spans [t, t + bin_seconds) */
	uint64_t slash24;            /* panel (a) */
	uint64_t baseline_slash24;   /* panel (a), dashed */
	double seeing_frac;          /* panel (b): peers_seeing / full_feed_peers; NAN when 0 peers */
	double peer_frac;            /* panel (b): (double)sig_bin.peer_frac; NAN when 0 peers */
	uint32_t interruptions;      /* summed into the bars of panel (c) */
	uint8_t quality;             /* != 0: grey, "unknown" */
};

/* One bar of panel (c): interruptions of the bins starting in [start, start + width). */
struct plot_bar {
	uint32_t start, width;       /* width: 3600 s, or whole hours when the range is long */
	uint32_t interruptions;
	double per_hour;             /* interruptions * 3600 / width */
};

enum plot_span_kind {
	PLOT_SPAN_OUTAGE = 1,        /* DM_EV_OUTAGE: red */
	PLOT_SPAN_PARTIAL = 2,       /* DM_EV_PARTIAL: orange */
	PLOT_SPAN_INSTABILITY = 4,   /* DM_EV_INSTABILITY: purple band */
	PLOT_SPAN_UNKNOWN = 5,       /* DM_EV_UNKNOWN event: grey */
	PLOT_SPAN_QUALITY = 6,       /* a run of bins with quality != 0: grey, "unknown" */
	PLOT_SPAN_RECOVERY = 7,      /* DM_EV_RECOVERY: a marker at `end` (start = outage start) */
};

/* A shaded interval, clipped to [from, to); for RECOVERY, start..end is the outage it ends. */
struct plot_span {
	uint32_t start, end;
	uint8_t kind;                /* enum plot_span_kind */
	uint8_t quality;             /* PLOT_SPAN_QUALITY: OR of the bins' flags */
};

struct plot_data {
	uint32_t from, to, bin_seconds;
	struct plot_row *rows;
	size_t nrows;
	struct plot_bar *bars;
	size_t nbars;
	struct plot_span *spans;
	size_t nspans;
};

/* bins sorted by t (as store_get_bins returns them); bins outside [from, to) are ignored. */
int plot_data_build(const struct plot_spec *spec, const struct sig_bin *bins, size_t n,
                    const struct dm_event *ev, size_t nev, struct plot_data *out,
                    struct dm_error *err);
void plot_data_free(struct plot_data *d);

/* The plotted rows as CSV (header "t,utc,slash24,baseline_slash24,seeing_frac,peer_frac,
 * interruptions,quality"; fractions with 17 significant digits, empty when NAN) to path,
 * or to stdout when path is "-". */
int plot_data_write_csv(const struct plot_data *d, const char *path, struct dm_error *err);

/* Draws to path: ".png" or ".svg" (case-insensitive) chooses the format. */
int plot_entity(const char *path, const struct plot_spec *spec, const struct sig_bin *bins,
                size_t n, const struct dm_event *ev, size_t nev, struct dm_error *err);

/* ---- Labels of panel (a): placed so that no two overlap ---- */

struct plot_box {
	double x, y, w, h;           /* pixels; y downwards */
};

/* One label to place: its preferred box, a second x to try (NAN: none; a recovery label goes
 * left of its marker when the right has no room), and up to rows positions row_step pixels
 * apart (negative: upwards). placed and box are the result. */
struct plot_label {
	struct plot_box want;
	double alt_x;
	double row_step;
	int rows;
	int placed;
	struct plot_box box;
};

/* 1 when the boxes share interior (touching edges do not count). */
int plot_box_overlap(const struct plot_box *a, const struct plot_box *b);

/* Places the labels in order (earlier ones have priority). For each row k in 0..rows-1 it tries
 * want moved down by k * row_step, then the same at alt_x; x is moved to stay inside bounds;
 * the first box inside bounds that overlaps no keep-out box and no label placed before is
 * taken. Labels with no such box are dropped (placed = 0). Returns the number dropped. */
size_t plot_place_labels(struct plot_label *l, size_t n, const struct plot_box *keep,
                         size_t nkeep, const struct plot_box *bounds);

enum { PLOT_LABELS_MAX = 256 };

/* Where the labels of panel (a) went: their boxes (the white background each label is drawn
 * on; its text lies inside) and the count dropped ("+N more" is one of the boxes). */
struct plot_label_report {
	size_t nplaced, ndropped;
	struct plot_box box[PLOT_LABELS_MAX];
	char text[PLOT_LABELS_MAX][64];
};

/* plot_entity, with panel (a)'s labels drawn or not (draw_labels 0: for tests comparing
 * images), and their placement reported when rep is not NULL. */
int plot_entity_labels(const char *path, const struct plot_spec *spec, const struct sig_bin *bins,
                       size_t n, const struct dm_event *ev, size_t nev, int draw_labels,
                       struct plot_label_report *rep, struct dm_error *err);

/* Frees cairo's and fontconfig's process-wide caches so leak checkers see a clean exit. Call
 * once, after the last plot. */
void plot_release_fonts(void);

#endif
