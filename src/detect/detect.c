/* Streaming outage / instability / data-quality detector. Rules: docs/detect.md.
 *
 * The baseline is learnt from normal bins only and frozen while an event is open, so an outage
 * of any length is measured against the level it fell from; a level that lasts new_normal is
 * declared as such (an event), never silently learnt. Every guard is a duration.
 *
 * Memory per entity is proportional to how often its values change, not to the window: the
 * 7-day history is kept as runs of equal values (a stable entity is one run), and the moving
 * median is read from a sorted (value, count) multiset of that history. Values are 64-bit
 * (IPv6 /48 counts pass 2^32). */
#include "detect/detect.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/addr.h"
#include "base/err.h"
#include "base/ring.h"
#include "base/time.h"

/* ---- run-length queue: the last `cap_bins` values pushed, oldest first ---- */

struct run {
	uint64_t v;
	uint32_t n;
};

struct rlq {
	struct run *r;
	uint32_t head, len, cap;   /* circular buffer of runs */
	uint64_t count;            /* values held (sum of run lengths) */
	uint64_t sum;              /* sum of values held */
};

static int rlq_push(struct rlq *q, uint64_t v)
{
	if (q->len) {
		struct run *last = &q->r[(q->head + q->len - 1) % q->cap];
		if (last->v == v && last->n < UINT32_MAX) {
			last->n++;
			q->count++;
			q->sum += v;
			return 0;
		}
	}
	if (q->len == q->cap) {
		uint32_t ncap = q->cap ? q->cap * 2 : 4;
		struct run *nr = dm_ring_grown(q->r, q->cap, q->head, q->len, sizeof *nr, ncap);
		if (!nr)
			return DM_ERR_NOMEM;
		free(q->r);
		q->r = nr;
		q->cap = ncap;
		q->head = 0;
	}
	q->r[(q->head + q->len) % q->cap] = (struct run){v, 1};
	q->len++;
	q->count++;
	q->sum += v;
	return 0;
}

/* Removes the oldest value and returns it (queue must not be empty). */
static uint64_t rlq_pop(struct rlq *q)
{
	struct run *first = &q->r[q->head];
	uint64_t v = first->v;
	if (--first->n == 0) {
		q->head = (q->head + 1) % q->cap;
		q->len--;
	}
	q->count--;
	q->sum -= v;
	return v;
}

static void rlq_free(struct rlq *q)
{
	free(q->r);
	memset(q, 0, sizeof *q);
}

/* ---- moving median: the last `bins` values, as runs plus a sorted multiset ---- */

struct movmed {
	struct rlq q;
	struct run *ms;            /* sorted by v ascending; n = occurrences in q */
	uint32_t ms_len, ms_cap;
	uint32_t bins;             /* window length in values */
};

static uint32_t ms_find(const struct movmed *m, uint64_t v)
{
	uint32_t lo = 0, hi = m->ms_len;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (m->ms[mid].v < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int movmed_push(struct movmed *m, uint64_t v)
{
	if (rlq_push(&m->q, v) < 0)
		return DM_ERR_NOMEM;
	uint32_t i = ms_find(m, v);
	if (i < m->ms_len && m->ms[i].v == v) {
		m->ms[i].n++;
	} else {
		if (m->ms_len == m->ms_cap) {
			uint32_t ncap = m->ms_cap ? m->ms_cap * 2 : 4;
			struct run *nm = realloc(m->ms, ncap * sizeof *nm);
			if (!nm)
				return DM_ERR_NOMEM;
			m->ms = nm;
			m->ms_cap = ncap;
		}
		memmove(&m->ms[i + 1], &m->ms[i], (m->ms_len - i) * sizeof *m->ms);
		m->ms[i] = (struct run){v, 1};
		m->ms_len++;
	}
	if (m->q.count > m->bins) {
		uint64_t old = rlq_pop(&m->q);
		uint32_t j = ms_find(m, old);
		if (--m->ms[j].n == 0) {
			memmove(&m->ms[j], &m->ms[j + 1], (m->ms_len - j - 1) * sizeof *m->ms);
			m->ms_len--;
		}
	}
	return 0;
}

/* k-th smallest value held, k from 0. */
static uint64_t movmed_kth(const struct movmed *m, uint64_t k)
{
	uint64_t acc = 0;
	for (uint32_t i = 0; i < m->ms_len; i++) {
		acc += m->ms[i].n;
		if (k < acc)
			return m->ms[i].v;
	}
	return m->ms_len ? m->ms[m->ms_len - 1].v : 0;
}

/* The ordinary median: middle value, or the mean of the two middle values. */
static double movmed_median(const struct movmed *m)
{
	uint64_t n = m->q.count;
	if (n == 0)
		return 0;
	if (n % 2)
		return (double)movmed_kth(m, n / 2);
	return ((double)movmed_kth(m, n / 2 - 1) + (double)movmed_kth(m, n / 2)) / 2.0;
}

static void movmed_clear(struct movmed *m)
{
	m->q.head = m->q.len = 0;
	m->q.count = m->q.sum = 0;
	m->ms_len = 0;
}

static void movmed_free(struct movmed *m)
{
	rlq_free(&m->q);
	free(m->ms);
	m->ms = NULL;
	m->ms_len = m->ms_cap = 0;
}

/* ---- per-entity state ---- */

enum level { LV_NORMAL = 0 };   /* otherwise DM_EV_PARTIAL or DM_EV_OUTAGE */

/* A run of consecutive good bins at one candidate level (pending raise or level change). */
struct run_of {
	uint8_t level;
	uint32_t bins;
	int64_t start;
	/* from normal: the run's last stretch at one level (a run may go partial -> outage) */
	uint8_t seg_level;
	uint32_t seg_bins;
	int64_t seg_start;
};

struct ent {
	struct sig_entity key;
	int64_t last_t;
	uint8_t seen;
	int64_t judged_from;      /* first bin judged, 0 while in warm-up */

	struct movmed hist;        /* slash24 of normal bins (frozen while an event is open) */
	struct movmed ffp;         /* full_feed_peers of every bin that has any */
	struct rlq win, base;      /* interruptions: last inst_bins counted bins, and the ones before */

	/* outage state machine */
	uint8_t level;             /* LV_NORMAL, DM_EV_PARTIAL, DM_EV_OUTAGE */
	struct run_of pend;        /* normal: run below threshold; in an event: run at another level */
	uint32_t rec_bins;
	int64_t rec_start;
	int64_t ep_start;          /* first bin of the episode */
	int64_t cur_start;         /* first bin of the current level's event */
	double frozen;             /* the baseline when the episode was raised */
	double ep_sev;             /* worst severity during the episode */
	uint16_t ep_peers_lost, ep_ffp;
	uint64_t ep_min;           /* lowest slash24 during the episode */
	int64_t settle_until;      /* interruptions before this are restoration, not instability */

	/* unknown (data quality) */
	uint8_t unk_open, unk_quality;
	int64_t unk_start;
	uint16_t unk_ffp;          /* full-feed peers at the unknown bin */

	/* instability */
	uint8_t inst_open;
	int64_t inst_start;
	uint32_t inst_max;
	double inst_base;
};

struct detector {
	struct detect_opts o;
	uint32_t base_bins, inst_bins, peers_bins;
	uint32_t hist_need, dur_need, rec_need;   /* guards in bins, from their durations */
	struct ent **ents;
	size_t n, cap;
	uint32_t *slots;           /* open addressing, index + 1 into ents; 0 empty */
	size_t nslots;
	size_t finish_next;        /* detector_finish cursor */
	int finish_phase;
};

void detect_opts_default(struct detect_opts *o)
{
	memset(o, 0, sizeof *o);
	o->bin = 300;
	o->threshold = 0.8;
	o->recover = 0.9;
	o->hard = 0.5;
	o->baseline_window = 7 * 86400;
	o->min_history = 3600;
	o->min_duration = 600;
	o->recover_duration = 0;
	o->new_normal = 21 * 86400;
	o->settle = 3600;
	o->peers_floor = 0.9;
	o->peers_window = 86400;
	o->inst_window = 6 * 3600;
	o->inst_factor = 3.0;
	o->inst_min_count = 5;
	o->inst_min_share = 0.5;
}

/* Bins a duration covers: ceil(seconds / bin), at least 1. */
static uint32_t dur_bins(uint32_t seconds, uint32_t bin)
{
	uint32_t n = seconds / bin + (seconds % bin != 0);
	return n ? n : 1;
}

int detect_opts_check(const struct detect_opts *o, char *why, size_t n)
{
#define REFUSE(...)                                                                                                    \
	do {                                                                                                           \
		snprintf(why, n, __VA_ARGS__);                                                                         \
		return -1;                                                                                             \
	} while (0)
	if (!o)
		REFUSE("no options");
	if (o->bin == 0)
		REFUSE("bin must be at least 1 s");
	if (!(o->threshold > 0 && o->threshold <= 1))
		REFUSE("threshold %g: must be in (0, 1]", o->threshold);
	if (!(o->hard >= 0 && o->hard <= o->threshold))
		REFUSE("hard %g: must be in [0, threshold %g] (a full outage is deeper than a partial one)", o->hard,
		       o->threshold);
	if (!(o->recover >= o->threshold && o->recover <= 1))
		REFUSE("recover %g: must be in [threshold %g, 1] (an entity recovers at or above the level that "
		       "raised its outage)", o->recover, o->threshold);
	if (!(o->peers_floor >= 0 && o->peers_floor <= 1))
		REFUSE("peers floor %g: must be in [0, 1]", o->peers_floor);
	if (!(o->inst_factor >= 0))
		REFUSE("instability factor %g: must be >= 0", o->inst_factor);
	if (!(o->inst_min_share >= 0))
		REFUSE("instability share %g: must be >= 0", o->inst_min_share);
	if (o->inst_window < o->bin)
		REFUSE("instability window %u s: must be at least one bin (%u s)", o->inst_window, o->bin);
	if (o->baseline_window / o->bin <= o->inst_window / o->bin)
		REFUSE("baseline window %u s: must be longer than the instability window %u s", o->baseline_window,
		       o->inst_window);
	if (o->new_normal <= o->min_duration)
		REFUSE("new normal after %u s: must be longer than the minimum outage duration %u s", o->new_normal,
		       o->min_duration);
#undef REFUSE
	if (n)
		why[0] = 0;
	return 0;
}

struct detector *detector_new(const struct detect_opts *o)
{
	char why[160];
	if (detect_opts_check(o, why, sizeof why))
		return NULL;
	struct detector *d = calloc(1, sizeof *d);
	if (!d)
		return NULL;
	d->o = *o;
	d->base_bins = o->baseline_window / o->bin;
	d->inst_bins = o->inst_window / o->bin;
	d->peers_bins = o->peers_window / o->bin ? o->peers_window / o->bin : 1;
	d->hist_need = dur_bins(o->min_history, o->bin);
	d->dur_need = dur_bins(o->min_duration, o->bin);
	d->rec_need = dur_bins(o->recover_duration, o->bin);
	return d;
}

void detector_free(struct detector *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		struct ent *e = d->ents[i];
		movmed_free(&e->hist);
		movmed_free(&e->ffp);
		rlq_free(&e->win);
		rlq_free(&e->base);
		free(e);
	}
	free(d->ents);
	free(d->slots);
	free(d);
}

static int ent_same(const struct sig_entity *a, const struct sig_entity *b)
{
	if (a->kind != b->kind || a->afi != b->afi)
		return 0;
	if (a->kind == SIG_COUNTRY)
		return a->cc[0] == b->cc[0] && a->cc[1] == b->cc[1];
	if (a->kind == SIG_ASN)
		return a->asn == b->asn;
	return 1;
}

static uint64_t ent_hash(const struct sig_entity *e)
{
	uint64_t h = (uint64_t)e->kind << 56 | (uint64_t)e->afi << 48;
	if (e->kind == SIG_COUNTRY)
		h |= (uint64_t)(uint8_t)e->cc[0] << 8 | (uint8_t)e->cc[1];
	else if (e->kind == SIG_ASN)
		h |= e->asn;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

static int slots_grow(struct detector *d)
{
	size_t ns = d->nslots ? d->nslots * 2 : 64;
	uint32_t *s = calloc(ns, sizeof *s);
	if (!s)
		return DM_ERR_NOMEM;
	for (size_t i = 0; i < d->n; i++) {
		size_t j = ent_hash(&d->ents[i]->key) & (ns - 1);
		while (s[j])
			j = (j + 1) & (ns - 1);
		s[j] = (uint32_t)(i + 1);
	}
	free(d->slots);
	d->slots = s;
	d->nslots = ns;
	return 0;
}

static struct ent *ent_find_or_add(struct detector *d, const struct sig_entity *k)
{
	if ((d->n + 1) * 2 > d->nslots && slots_grow(d) < 0)
		return NULL;
	size_t j = ent_hash(k) & (d->nslots - 1);
	while (d->slots[j]) {
		struct ent *e = d->ents[d->slots[j] - 1];
		if (ent_same(&e->key, k))
			return e;
		j = (j + 1) & (d->nslots - 1);
	}
	if (d->n == d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 64;
		struct ent **ne = realloc(d->ents, ncap * sizeof *ne);
		if (!ne)
			return NULL;
		d->ents = ne;
		d->cap = ncap;
	}
	struct ent *e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	e->key = *k;
	e->hist.bins = d->base_bins;
	e->ffp.bins = d->peers_bins;
	d->ents[d->n] = e;
	d->slots[j] = (uint32_t)(d->n + 1);
	d->n++;
	return e;
}

/* ---- events ---- */

const char *dm_event_type_name(int type)
{
	switch (type) {
	case DM_EV_OUTAGE: return "outage";
	case DM_EV_PARTIAL: return "partial";
	case DM_EV_RECOVERY: return "recovery";
	case DM_EV_INSTABILITY: return "instability";
	case DM_EV_UNKNOWN: return "unknown";
	case DM_EV_NEWNORMAL: return "newnormal";
	}
	return "?";
}

static uint64_t round_u64(double x)
{
	return x <= 0 ? 0 : x >= 1.8e19 ? UINT64_MAX : (uint64_t)llround(x);
}

static const char *unit(const struct sig_entity *e)
{
	return e->afi == DM_AFI_IPV6 ? "/48s" : "/24s";
}

static uint16_t peers_lost_of(const struct sig_bin *b)
{
	return b->peers_seeing < b->full_feed_peers ? (uint16_t)(b->full_feed_peers - b->peers_seeing) : 0;
}

static void ev_init(struct dm_event *ev, int type, const struct ent *e, const struct sig_bin *b)
{
	memset(ev, 0, sizeof *ev);
	ev->type = (uint8_t)type;
	ev->entity = e->key;
	ev->raised = b->t;
	ev->slash24 = b->slash24;
	ev->full_feed_peers = b->full_feed_peers;
	ev->peers_lost = peers_lost_of(b);
	ev->quality = b->quality;
	ev->baseline_slash24 = round_u64(e->level != LV_NORMAL ? e->frozen : movmed_median(&e->hist));
}

static double lost_fraction(uint64_t v, double base)
{
	if (base <= 0 || (double)v >= base)
		return 0;
	return 1.0 - (double)v / base;
}

const char *dm_quality_words(uint8_t q, char *buf, size_t n)
{
	static const struct {
		uint8_t bit;
		const char *word;
	} w[] = {
		{SIG_Q_GAP, "collector gap"},
		{SIG_Q_PEERS_DROPPED, "full-feed peers dropped"},
		{SIG_Q_NO_DATA, "no data"},
		{SIG_Q_FF_CHANGED, "full-feed set changed"},
	};
	size_t len = 0;
	if (!n)
		return buf;
	buf[0] = 0;
	for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) {
		if (!(q & w[i].bit) || len >= n)
			continue;
		int k = snprintf(buf + len, n - len, "%s%s", len ? ", " : "", w[i].word);
		if (k > 0)
			len += (size_t)k;
	}
	return buf;
}

/* Appends *ev to out when room is left; returns the new count. */
static int emit(struct dm_event *out, int max, int n, const struct dm_event *ev)
{
	if (n < max)
		out[n] = *ev;
	return n + 1;
}

static int feed_bad(struct detector *d, struct ent *e, const struct sig_bin *b, uint8_t q, double ffp_med,
                    struct dm_event *out, int max)
{
	if (e->unk_open) {
		e->unk_quality |= q;
		return 0;
	}
	if (!e->judged_from)
		return 0;   /* warm-up (e.g. bins before the first RIB): nothing to be unsure about yet */
	e->unk_open = 1;
	e->unk_quality = q;
	e->unk_start = b->t;
	e->unk_ffp = b->full_feed_peers;
	struct dm_event ev;
	ev_init(&ev, DM_EV_UNKNOWN, e, b);
	ev.start = b->t;
	ev.quality = q;
	char qt[96];
	dm_quality_words(q, qt, sizeof qt);
	if (q & SIG_Q_PEERS_DROPPED && ffp_med > 0)
		snprintf(ev.reason, sizeof ev.reason,
		         "data quality: %s (%u full-feed peers, moving median %g): state unknown, not judged",
		         qt, b->full_feed_peers, ffp_med);
	else
		snprintf(ev.reason, sizeof ev.reason, "data quality: %s: state unknown, not judged", qt);
	return emit(out, max, 0, &ev);
}

/* The level a good bin shows against baseline B. In an event, anything under the recovery
 * line is still at least partial (hysteresis between threshold and recover). */
static int bin_level(const struct detect_opts *o, int in_event, uint64_t v, double base)
{
	double x = (double)v;
	if (x < o->hard * base)
		return DM_EV_OUTAGE;
	if (x < (in_event ? o->recover : o->threshold) * base)
		return DM_EV_PARTIAL;
	return LV_NORMAL;
}

/* From normal: a run of consecutive bins below threshold. It raises at the level of its first
 * stretch, dated from the run's start; its last stretch, when at another level, is carried as
 * the pending level change, so a run partial -> outage (or the reverse) gives the partial from
 * its start and the escalation from when the outage began, as a finer bin would. */
static void pend_step(struct run_of *r, int level, int64_t t)
{
	if (r->bins++ == 0) {
		r->level = r->seg_level = (uint8_t)level;
		r->start = r->seg_start = t;
		r->seg_bins = 1;
	} else if (level != r->seg_level) {
		r->seg_level = (uint8_t)level;
		r->seg_start = t;
		r->seg_bins = 1;
	} else {
		r->seg_bins++;
	}
}

/* Why a level event was raised: "visible /24s 0 < 0.5 x baseline 4 ... for 10 min[; was ...]". */
static void level_reason(const struct detector *d, const struct ent *e, struct dm_event *ev, uint64_t v,
                         int level, int was, int64_t was_start)
{
	const struct detect_opts *o = &d->o;
	double line = level == DM_EV_OUTAGE ? o->hard : was ? o->recover : o->threshold;
	char ts[32];
	int n = snprintf(ev->reason, sizeof ev->reason,
	                 "visible %s %llu < %g x baseline %g (median of normal bins, frozen at the episode's "
	                 "start) for %u min", unit(&e->key), (unsigned long long)v, line, e->frozen,
	                 d->dur_need * o->bin / 60);
	if (was && n > 0 && (size_t)n < sizeof ev->reason)
		snprintf(ev->reason + n, sizeof ev->reason - (size_t)n, "; %s since %s",
		         was == DM_EV_PARTIAL ? "escalated from a partial outage" : "de-escalated from a full outage",
		         dm_time_fmt(was_start, DM_TIME_UTC, ts));
}

static int feed_outage(struct detector *d, struct ent *e, const struct sig_bin *b, double base,
                       struct dm_event *out, int max, int n, int *counted)
{
	const struct detect_opts *o = &d->o;
	uint64_t v = b->slash24;
	double sev = lost_fraction(v, base);
	uint16_t plost = peers_lost_of(b);
	struct dm_event ev;

	if (e->level == LV_NORMAL) {
		int lvl = bin_level(o, 0, v, base);
		if (lvl == LV_NORMAL) {
			e->pend.bins = 0;
			return n;
		}
		pend_step(&e->pend, lvl, b->t);
		*counted = 0;   /* a pending bin is not a normal bin: it stays out of the baseline */
		if (e->pend.bins < d->dur_need)
			return n;
		e->frozen = base;
		e->level = e->pend.level;
		e->ep_start = e->cur_start = e->pend.start;
		e->ep_sev = sev;
		e->ep_peers_lost = plost;
		e->ep_ffp = b->full_feed_peers;
		e->ep_min = v;
		e->rec_bins = 0;
		if (e->pend.seg_level != e->level) {
			/* the run's last stretch is already at another level: pending from its start */
			e->pend.level = e->pend.seg_level;
			e->pend.start = e->pend.seg_start;
			e->pend.bins = e->pend.seg_bins;
		} else {
			e->pend.bins = 0;
		}
		ev_init(&ev, e->level, e, b);
		ev.start = ev.episode_start = e->cur_start;
		ev.severity = sev;
		level_reason(d, e, &ev, v, e->level, 0, 0);
		return emit(out, max, n, &ev);
	}

	/* In an episode: frozen baseline. */
	*counted = 0;
	base = e->frozen;
	sev = lost_fraction(v, base);
	if (sev > e->ep_sev)
		e->ep_sev = sev;
	if (plost > e->ep_peers_lost) {
		e->ep_peers_lost = plost;
		e->ep_ffp = b->full_feed_peers;
	}
	if (v < e->ep_min)
		e->ep_min = v;
	int lvl = bin_level(o, 1, v, base);
	if (lvl == LV_NORMAL) {
		e->pend.bins = 0;
		if (e->rec_bins++ == 0)
			e->rec_start = b->t;
		if (e->rec_bins < d->rec_need)
			return n;
		ev_init(&ev, DM_EV_RECOVERY, e, b);
		ev.of_type = e->level;
		ev.start = ev.prev_start = e->cur_start;
		ev.episode_start = e->ep_start;
		ev.end = e->rec_start;
		ev.baseline_slash24 = round_u64(base);
		ev.severity = e->ep_sev;
		ev.peers_lost = e->ep_peers_lost;
		ev.full_feed_peers = e->ep_ffp;
		snprintf(ev.reason, sizeof ev.reason,
		         "visible %s %llu >= %g x baseline %g for %u min; lowest during the episode: %llu",
		         unit(&e->key), (unsigned long long)v, o->recover, base, d->rec_need * o->bin / 60,
		         (unsigned long long)e->ep_min);
		e->level = LV_NORMAL;
		e->rec_bins = 0;
		e->settle_until = b->t + o->settle;
		return emit(out, max, n, &ev);
	}
	e->rec_bins = 0;
	if (b->t - e->ep_start >= o->new_normal) {
		/* Not a recovery and not an outage any more: a lasting change, said as such. */
		char ts[32];
		ev_init(&ev, DM_EV_NEWNORMAL, e, b);
		ev.of_type = e->level;
		ev.prev_start = e->cur_start;
		ev.episode_start = ev.start = e->ep_start;
		ev.end = b->t;
		ev.baseline_slash24 = round_u64(base);
		ev.severity = sev;
		snprintf(ev.reason, sizeof ev.reason,
		         "visible %s %llu, below %g x baseline %g since %s for %u d: the baseline is now learnt "
		         "again from this level", unit(&e->key), (unsigned long long)v, o->recover, base,
		         dm_time_fmt(e->ep_start, DM_TIME_UTC, ts), o->new_normal / 86400);
		e->level = LV_NORMAL;
		e->pend.bins = 0;
		movmed_clear(&e->hist);
		e->judged_from = 0;   /* warm-up again: stated by detector_coverage */
		return emit(out, max, n, &ev);
	}
	if (lvl == e->level) {
		e->pend.bins = 0;
		return n;
	}
	/* At another level: escalation (partial -> outage) or de-escalation (outage -> partial)
	 * once it lasts min_duration. */
	if (e->pend.bins == 0 || e->pend.level != lvl) {
		e->pend.level = (uint8_t)lvl;
		e->pend.bins = 1;
		e->pend.start = b->t;
	} else {
		e->pend.bins++;
	}
	if (e->pend.bins < d->dur_need)
		return n;
	uint8_t was = e->level;
	int64_t was_start = e->cur_start;
	e->level = (uint8_t)lvl;
	e->cur_start = e->pend.start;
	e->pend.bins = 0;
	ev_init(&ev, lvl, e, b);
	ev.of_type = was;
	ev.start = e->cur_start;
	ev.prev_start = was_start;
	ev.episode_start = e->ep_start;
	ev.severity = sev;
	level_reason(d, e, &ev, v, lvl, was, was_start);
	return emit(out, max, n, &ev);
}

static int feed_instability(struct detector *d, struct ent *e, const struct sig_bin *b,
                            struct dm_event *out, int max, int n)
{
	const struct detect_opts *o = &d->o;
	if (rlq_push(&e->win, b->interruptions) < 0)
		return DM_ERR_NOMEM;
	if (e->win.count > d->inst_bins) {
		if (rlq_push(&e->base, rlq_pop(&e->win)) < 0)
			return DM_ERR_NOMEM;
		if (e->base.count > d->base_bins - d->inst_bins)
			rlq_pop(&e->base);
	}
	if (e->base.count < d->inst_bins)
		return n;   /* less than one window of earlier history: no baseline yet */
	uint64_t c = e->win.sum;
	double bc = (double)e->base.sum * d->inst_bins / (double)e->base.count;
	double raise = fmax(fmax((double)o->inst_min_count, o->inst_factor * bc),
	                    o->inst_min_share * (double)b->visible_prefixes);
	double hours = o->inst_window / 3600.0;
	struct dm_event ev;
	if (!e->inst_open && (double)c >= raise) {
		e->inst_open = 1;
		e->inst_start = b->t;
		e->inst_max = (uint32_t)c;
		e->inst_base = bc;
		ev_init(&ev, DM_EV_INSTABILITY, e, b);
		ev.start = b->t;
		ev.window = o->inst_window;
		ev.interruptions = (uint32_t)c;
		ev.rate = (double)c / hours;
		ev.baseline_rate = bc / hours;
		ev.severity = c > 0 ? 1.0 - bc / (double)c : 0;
		snprintf(ev.reason, sizeof ev.reason,
		         "%llu interruptions in the last %u counted bins >= max(%u, %g x baseline %.2f per window, "
		         "%g x %llu visible prefixes)", (unsigned long long)c, d->inst_bins, o->inst_min_count,
		         o->inst_factor, bc, o->inst_min_share, (unsigned long long)b->visible_prefixes);
		return emit(out, max, n, &ev);
	}
	if (e->inst_open) {
		if (c > e->inst_max)
			e->inst_max = (uint32_t)c;
		if ((double)c < raise / 2) {
			e->inst_open = 0;
			ev_init(&ev, DM_EV_INSTABILITY, e, b);
			ev.of_type = DM_EV_INSTABILITY;
			ev.start = e->inst_start;
			ev.end = b->t;
			ev.window = o->inst_window;
			ev.interruptions = (uint32_t)c;
			ev.rate = (double)c / hours;
			ev.baseline_rate = bc / hours;
			snprintf(ev.reason, sizeof ev.reason,
			         "%llu interruptions in the last %u counted bins < half of max(%u, %g x baseline %.2f, "
			         "%g x %llu visible prefixes); peak %u", (unsigned long long)c, d->inst_bins, o->inst_min_count,
			         o->inst_factor, bc, o->inst_min_share, (unsigned long long)b->visible_prefixes, e->inst_max);
			return emit(out, max, n, &ev);
		}
	}
	return n;
}

int detector_feed(struct detector *d, const struct sig_entity *k, const struct sig_bin *b,
                  struct dm_event *out, int max)
{
	struct ent *e = ent_find_or_add(d, k);
	if (!e)
		return DM_ERR_NOMEM;
	if (e->seen && b->t <= e->last_t)
		return DM_ERR_BAD_VALUE;
	e->seen = 1;
	e->last_t = b->t;

	/* Data quality: the signal's flags, or full-feed peers below a share of their median. */
	uint8_t q = b->quality & (SIG_Q_GAP | SIG_Q_PEERS_DROPPED | SIG_Q_NO_DATA | SIG_Q_FF_CHANGED);
	double ffp_med = movmed_median(&e->ffp);
	if (b->full_feed_peers == 0)
		q |= SIG_Q_NO_DATA;
	else if (e->ffp.q.count > 0 && b->full_feed_peers < d->o.peers_floor * ffp_med)
		q |= SIG_Q_PEERS_DROPPED;
	if (b->full_feed_peers > 0 && movmed_push(&e->ffp, b->full_feed_peers) < 0)
		return DM_ERR_NOMEM;
	if (q)
		return feed_bad(d, e, b, q, ffp_med, out, max);

	int n = 0;
	struct dm_event ev;
	if (e->unk_open) {
		ev_init(&ev, DM_EV_UNKNOWN, e, b);
		ev.of_type = DM_EV_UNKNOWN;
		ev.start = e->unk_start;
		ev.end = b->t;
		ev.quality = e->unk_quality;
		char qt[96];
		snprintf(ev.reason, sizeof ev.reason, "data quality restored (was: %s)",
		         dm_quality_words(e->unk_quality, qt, sizeof qt));
		n = emit(out, max, n, &ev);
		e->unk_open = 0;
	}
	/* A bin is "normal" (enters the baseline, counts for instability) unless it is pending,
	 * in an episode, or the episode's recovery bin. */
	int counted = 1;
	int was_event = e->level != LV_NORMAL;
	if (e->hist.q.count >= d->hist_need) {
		double base = movmed_median(&e->hist);
		if (base > 0 || was_event) {
			if (!e->judged_from)
				e->judged_from = b->t;
			n = feed_outage(d, e, b, base, out, max, n, &counted);
		}
	}
	if (counted && movmed_push(&e->hist, b->slash24) < 0)
		return DM_ERR_NOMEM;
	/* Instability counts interruptions while the entity is not in an outage: a restoration
	 * (every prefix coming back at once) and its stragglers are a recovery, not instability. */
	if (counted && !was_event && b->t >= e->settle_until)
		n = feed_instability(d, e, b, out, max, n);
	if (n < 0)
		return n;
	return n < max ? n : max;
}

static int open_event(const struct detector *d, const struct ent *e, int what, struct dm_event *ev)
{
	memset(ev, 0, sizeof *ev);
	ev->entity = e->key;
	ev->raised = e->last_t;
	switch (what) {
	case 0:
		if (e->level == LV_NORMAL)
			return 0;
		ev->type = e->level;
		ev->start = e->cur_start;
		ev->episode_start = e->ep_start;
		ev->baseline_slash24 = round_u64(e->frozen);
		ev->severity = e->ep_sev;
		ev->peers_lost = e->ep_peers_lost;
		ev->full_feed_peers = e->ep_ffp;
		ev->slash24 = e->ep_min;
		break;
	case 1:
		if (!e->inst_open)
			return 0;
		ev->type = DM_EV_INSTABILITY;
		ev->start = e->inst_start;
		ev->window = d->o.inst_window;
		ev->interruptions = e->inst_max;
		ev->baseline_rate = e->inst_base / (d->o.inst_window / 3600.0);
		ev->rate = e->inst_max / (d->o.inst_window / 3600.0);
		break;
	case 2:
		if (!e->unk_open)
			return 0;
		ev->type = DM_EV_UNKNOWN;
		ev->start = e->unk_start;
		ev->quality = e->unk_quality;
		ev->full_feed_peers = e->unk_ffp;
		break;
	default:
		return 0;
	}
	snprintf(ev->reason, sizeof ev->reason, "open at end of input (last bin %lld)", (long long)e->last_t);
	return 1;
}

int detector_finish(struct detector *d, struct dm_event *out, int max)
{
	int n = 0;
	while (n < max && d->finish_next < d->n) {
		const struct ent *e = d->ents[d->finish_next];
		if (open_event(d, e, d->finish_phase, &out[n]))
			n++;
		if (++d->finish_phase == 3) {
			d->finish_phase = 0;
			d->finish_next++;
		}
	}
	return n;
}

void detector_coverage(const struct detector *d, struct detect_coverage *c)
{
	memset(c, 0, sizeof *c);
	c->entities = d->n;
	c->need_history = d->hist_need;
	for (size_t i = 0; i < d->n; i++) {
		const struct ent *e = d->ents[i];
		if (e->last_t > c->last_t)
			c->last_t = e->last_t;
		if (e->judged_from) {
			c->judged++;
			if (!c->first_judged || e->judged_from < c->first_judged)
				c->first_judged = e->judged_from;
		}
		if (e->hist.q.count > c->best_history)
			c->best_history = (uint32_t)(e->hist.q.count < UINT32_MAX ? e->hist.q.count : UINT32_MAX);
	}
}

size_t detector_entities(const struct detector *d)
{
	return d->n;
}

size_t detector_bytes(const struct detector *d)
{
	size_t b = sizeof *d + d->cap * sizeof *d->ents + d->nslots * sizeof *d->slots;
	for (size_t i = 0; i < d->n; i++) {
		const struct ent *e = d->ents[i];
		b += sizeof *e;
		b += (e->hist.q.cap + e->hist.ms_cap + e->ffp.q.cap + e->ffp.ms_cap + e->win.cap + e->base.cap) *
		     sizeof(struct run);
	}
	return b;
}
