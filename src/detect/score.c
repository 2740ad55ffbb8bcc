/* Scoring detected events against truth.tsv. Rules: docs/eval.md (SPEC D of issue 8). */
#include "detect/score.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/addr.h"
#include "base/time.h"

/* Kinds a truth file may hold. Only outage and instability rows are scored; every row with an
 * entity explains the alerts of that entity that overlap it. */
static const char *const known_kinds[] = { "scenario", "outage",   "instability",   "flap",  "reorigin",
                                           "upstream", "peer_reset", "collector_gap", "churn" };

/* Fractions in truth.tsv have 4 decimals: compare with a margin far below that. */
#define FRACTION_EPS 1e-9

void truth_free(struct truth *t)
{
	free(t->v);
	memset(t, 0, sizeof *t);
}

/* "KP" (any case), "AS131279"; "all", "-" or "" give kind 0. Returns 0 or -1. */
static int parse_entity(const char *s, size_t n, struct sig_entity *e)
{
	memset(e, 0, sizeof *e);
	if (n == 0 || (n == 1 && s[0] == '-') || (n == 3 && !strncmp(s, "all", 3)))
		return 0;
	if (n == 2 && ((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z') && ((s[1] | 0x20) >= 'a' && (s[1] | 0x20) <= 'z')) {
		e->kind = SIG_COUNTRY;
		e->afi = DM_AFI_IPV4;
		e->cc[0] = (char)(s[0] & ~0x20);
		e->cc[1] = (char)(s[1] & ~0x20);
		return 0;
	}
	if (n > 2 && n <= 12 && (s[0] | 0x20) == 'a' && (s[1] | 0x20) == 's') {
		uint64_t v = 0;
		for (size_t i = 2; i < n; i++) {
			if (s[i] < '0' || s[i] > '9')
				return -1;
			v = v * 10 + (uint64_t)(s[i] - '0');
		}
		if (v > UINT32_MAX)
			return -1;
		e->kind = SIG_ASN;
		e->afi = DM_AFI_IPV4;
		e->asn = (uint32_t)v;
		return 0;
	}
	return -1;
}

const char *score_entity_name(const struct sig_entity *e, char *buf, size_t len)
{
	if (e->kind == SIG_COUNTRY)
		snprintf(buf, len, "%s", e->cc);
	else if (e->kind == SIG_ASN)
		snprintf(buf, len, "AS%u", e->asn);
	else if (e->kind == SIG_GLOBAL)
		snprintf(buf, len, "global");
	else
		snprintf(buf, len, "-");
	return buf;
}

static int entity_cmp(const struct sig_entity *a, const struct sig_entity *b)
{
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if (a->afi != b->afi)
		return a->afi < b->afi ? -1 : 1;
	int c = strcmp(a->cc, b->cc);
	if (c)
		return c < 0 ? -1 : 1;
	return a->asn < b->asn ? -1 : a->asn > b->asn;
}

enum { MAX_COLS = 32 };

/* Column indices by header name; -1 when absent. */
struct cols {
	int kind, start, end, start_utc, end_utc, entity, fraction, tolerance, note;
	int n;
};

struct field {
	const char *p;
	size_t n;
};

static int split_tabs(const char *p, size_t n, struct field *f, int max)
{
	int k = 0;
	size_t a = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || p[i] == '\t') {
			if (k == max)
				return max + 1;
			f[k].p = p + a;
			f[k].n = i - a;
			k++;
			a = i + 1;
		}
	}
	return k;
}

static int field_is(const struct field *f, const char *s)
{
	return f->n == strlen(s) && !memcmp(f->p, s, f->n);
}

/* Copies a field into a NUL-terminated buffer (truncated). */
static const char *field_str(const struct field *f, char *buf, size_t len)
{
	size_t n = f->n < len - 1 ? f->n : len - 1;
	memcpy(buf, f->p, n);
	buf[n] = 0;
	return buf;
}

static int add_row(struct truth *t, size_t *cap, const struct truth_row *r)
{
	if (t->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		struct truth_row *m = realloc(t->v, nc * sizeof *m);
		if (!m)
			return -1;
		t->v = m;
		*cap = nc;
	}
	t->v[t->n++] = *r;
	return 0;
}

#define FAIL(...)                                                                                                      \
	do {                                                                                                           \
		truth_free(t);                                                                                         \
		return dm_fail(err, DM_ERR_BAD_VALUE, line, __VA_ARGS__);                                              \
	} while (0)

int truth_parse(const char *name, const char *text, size_t len, struct truth *t, struct dm_error *err)
{
	memset(t, 0, sizeof *t);
	struct cols c = { -1, -1, -1, -1, -1, -1, -1, -1, -1, 0 };
	int have_header = 0, have_span = 0;
	size_t cap = 0;
	unsigned line = 0;
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		const char *next = nl ? nl + 1 : end;
		line++;
		size_t n = (size_t)(le - p);
		if (n && p[n - 1] == '\r')
			n--;
		const char *s = p;
		p = next;
		size_t blank = 0;
		while (blank < n && (s[blank] == ' ' || s[blank] == '\t'))
			blank++;
		if (blank == n || s[0] == '#')
			continue;
		struct field f[MAX_COLS + 1];
		int nf = split_tabs(s, n, f, MAX_COLS);
		if (nf > MAX_COLS)
			FAIL("%s:%u: more than %d columns", name, line, MAX_COLS);
		char buf[256];
		if (!have_header) {
			int *slot;
			for (int i = 0; i < nf; i++) {
				slot = field_is(&f[i], "kind")        ? &c.kind
				       : field_is(&f[i], "start")     ? &c.start
				       : field_is(&f[i], "end")       ? &c.end
				       : field_is(&f[i], "start_utc") ? &c.start_utc
				       : field_is(&f[i], "end_utc")   ? &c.end_utc
				       : field_is(&f[i], "entity")    ? &c.entity
				       : field_is(&f[i], "fraction")  ? &c.fraction
				       : field_is(&f[i], "tolerance") ? &c.tolerance
				       : field_is(&f[i], "note")      ? &c.note
				                                      : NULL;
				if (slot && *slot >= 0)
					FAIL("%s:%u: column '%s' twice in the header", name, line, field_str(&f[i], buf, sizeof buf));
				if (slot)
					*slot = i;
			}
			if (c.kind < 0 || c.start < 0 || c.end < 0)
				FAIL("%s:%u: header must name the columns kind, start and end (got '%s')", name, line,
				     field_str(&(struct field){ s, n }, buf, 120));
			c.n = nf;
			have_header = 1;
			continue;
		}
		if (nf != c.n)
			FAIL("%s:%u: %d columns, the header has %d", name, line, nf, c.n);
		struct truth_row r;
		memset(&r, 0, sizeof r);
		r.line = line;
		r.fraction = 1;
		field_str(&f[c.kind], r.kind, sizeof r.kind);
		size_t k = 0;
		while (k < sizeof known_kinds / sizeof known_kinds[0] && !field_is(&f[c.kind], known_kinds[k]))
			k++;
		if (k == sizeof known_kinds / sizeof known_kinds[0])
			FAIL("%s:%u: unknown kind '%s'", name, line, field_str(&f[c.kind], buf, 64));
		if (dm_time_parse(field_str(&f[c.start], buf, sizeof buf), &r.start))
			FAIL("%s:%u: bad start '%s'", name, line, buf);
		if (dm_time_parse(field_str(&f[c.end], buf, sizeof buf), &r.end))
			FAIL("%s:%u: bad end '%s'", name, line, buf);
		if (r.end <= r.start)
			FAIL("%s:%u: end %u is not after start %u", name, line, r.end, r.start);
		/* the readable copies must say the same as the epoch columns */
		const int utc[2] = { c.start_utc, c.end_utc };
		for (int i = 0; i < 2; i++) {
			uint32_t v;
			if (utc[i] < 0 || f[utc[i]].n == 0 || field_is(&f[utc[i]], "-"))
				continue;
			if (dm_time_parse(field_str(&f[utc[i]], buf, sizeof buf), &v))
				FAIL("%s:%u: bad %s '%s'", name, line, i ? "end_utc" : "start_utc", buf);
			if (v != (i ? r.end : r.start))
				FAIL("%s:%u: %s %s is not %s %u", name, line, i ? "end_utc" : "start_utc", buf,
				     i ? "end" : "start", i ? r.end : r.start);
		}
		if (c.fraction >= 0 && f[c.fraction].n && !field_is(&f[c.fraction], "-")) {
			char *e;
			field_str(&f[c.fraction], buf, sizeof buf);
			errno = 0;
			r.fraction = strtod(buf, &e);
			if (*e || e == buf || errno || !(r.fraction >= 0 && r.fraction <= 1))
				FAIL("%s:%u: bad fraction '%s' (0..1)", name, line, buf);
		}
		if (c.tolerance >= 0 && f[c.tolerance].n && !field_is(&f[c.tolerance], "-")) {
			char *e;
			field_str(&f[c.tolerance], buf, sizeof buf);
			errno = 0;
			unsigned long long v = strtoull(buf, &e, 10);
			if (*e || e == buf || errno || buf[0] == '-' || v > 86400ULL * 366)
				FAIL("%s:%u: bad tolerance '%s' (seconds, 0..31622400)", name, line, buf);
			r.tolerance = (uint32_t)v;
		}
		if (c.note >= 0)
			field_str(&f[c.note], r.note, sizeof r.note);
		if (strcmp(r.kind, "scenario") && strcmp(r.kind, "outage") && strcmp(r.kind, "instability"))
			t->ignored_kinds++;
		if (!strcmp(r.kind, "scenario")) {
			if (have_span)
				FAIL("%s:%u: a second scenario row", name, line);
			have_span = 1;
			t->span_from = r.start;
			t->span_to = r.end;
		}
		/* one row per entity: "KP/AS131279" (old files) gives two */
		const struct field *ef = c.entity >= 0 ? &f[c.entity] : &(struct field){ "", 0 };
		size_t a = 0;
		for (size_t i = 0; i <= ef->n; i++) {
			if (i < ef->n && ef->p[i] != '/')
				continue;
			if (parse_entity(ef->p + a, i - a, &r.entity))
				FAIL("%s:%u: bad entity '%s' (a country code, ASnnn, all or -)", name, line,
				     field_str(ef, buf, 64));
			if (add_row(t, &cap, &r)) {
				truth_free(t);
				return dm_fail(err, DM_ERR_NOMEM, line, "%s: out of memory", name);
			}
			a = i + 1;
		}
	}
	if (!have_header) {
		truth_free(t);
		return dm_fail(err, DM_ERR_BAD_VALUE, 0, "%s: no header line (kind start end ...)", name);
	}
	return 0;
}
#undef FAIL

int truth_load(const char *path, struct truth *t, struct dm_error *err)
{
	memset(t, 0, sizeof *t);
	FILE *f = fopen(path, "rb");
	if (!f)
		return dm_fail(err, DM_ERR_IO, 0, "%s: %s", path, strerror(errno));
	char *buf = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (cap - len < 65536) {
			cap = cap ? cap * 2 : 65536;
			char *m = realloc(buf, cap);
			if (!m) {
				free(buf);
				fclose(f);
				return dm_fail(err, DM_ERR_NOMEM, 0, "%s: out of memory", path);
			}
			buf = m;
		}
		size_t got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		return dm_fail(err, DM_ERR_IO, len, "%s: read error", path);
	}
	int rc = truth_parse(path, buf, len, t, err);
	free(buf);
	return rc;
}

void score_opts_default(struct score_opts *o)
{
	memset(o, 0, sizeof *o);
	o->bin = 300;
	o->threshold = 0.8;
	o->hard = 0.5;
	o->min_duration = 600;
	o->inst_share = 0.5;
}

void score_free(struct score *s)
{
	free(s->rows);
	free(s->falses);
	memset(s, 0, sizeof *s);
}

const char *score_status_name(int status)
{
	switch (status) {
	case SCORE_FOUND: return "found";
	case SCORE_WRONG_TYPE: return "wrong_type";
	case SCORE_OFF_TIME: return "off_time";
	case SCORE_MISSED: return "missed";
	case SCORE_NO_SERIES: return "no_series";
	case SCORE_NOT_REQUIRED: return "not_required";
	}
	return "?";
}

static int is_episode(uint8_t type)
{
	return type == DM_EV_OUTAGE || type == DM_EV_PARTIAL;
}

/* An alert is every opening event: outage, partial, instability and any later kind (the
 * detector's "newnormal"); recoveries close events and unknown is data quality, not an alert. */
static int is_alert(uint8_t type)
{
	return type != DM_EV_RECOVERY && type != DM_EV_UNKNOWN;
}

/* Shared by the passes: events ordered by (entity, start), each with its resolved end. */
struct ctx {
	const struct dm_event *ev;
	size_t nev;
	size_t *ord;          /* event indices by entity, then start */
	uint32_t *end;        /* resolved end per event (index by event) */
	uint8_t *open;
	uint32_t span_to;
};

static int ord_cmp(const void *a, const void *b, void *arg)
{
	const struct dm_event *ev = arg;
	const struct dm_event *x = &ev[*(const size_t *)a], *y = &ev[*(const size_t *)b];
	int c = entity_cmp(&x->entity, &y->entity);
	if (c)
		return c;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

/* First position in ord of entity e's events, and how many there are. */
static size_t ctx_find(const struct ctx *c, const struct sig_entity *e, size_t *count)
{
	size_t lo = 0, hi = c->nev;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (entity_cmp(&c->ev[c->ord[mid]].entity, e) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t k = lo;
	while (k < c->nev && !entity_cmp(&c->ev[c->ord[k]].entity, e))
		k++;
	*count = k - lo;
	return lo;
}

/* The end of an outage/partial row whose own end is 0 (the store normally sets it when the
 * closing event comes): the entity has one outage state at a time, so the next transition ends
 * it: the end of the first recovery or new normal ending after its start, or the start of the
 * next outage/partial (an escalation or de-escalation). None: open at the
 * end of input. Instability still open: open. Other events without an end are instants. */
static void resolve_ends(struct ctx *c)
{
	for (size_t i = 0; i < c->nev;) {
		size_t n;
		size_t first = ctx_find(c, &c->ev[c->ord[i]].entity, &n);
		for (size_t a = first; a < first + n; a++) {
			size_t ia = c->ord[a];
			const struct dm_event *e = &c->ev[ia];
			c->open[ia] = 0;
			c->end[ia] = e->end;
			if (e->end)
				continue;
			if (e->type == DM_EV_INSTABILITY) {
				c->end[ia] = c->span_to;
				c->open[ia] = 1;
				continue;
			}
			if (!is_episode(e->type)) {
				c->end[ia] = e->start;
				continue;
			}
			uint32_t best = 0;
			for (size_t b = first; b < first + n; b++) {
				const struct dm_event *x = &c->ev[c->ord[b]];
				uint32_t t = 0;
				if ((x->type == DM_EV_RECOVERY || x->type == DM_EV_NEWNORMAL) && x->end > e->start)
					t = x->end;
				else if (is_episode(x->type) && x->start > e->start)
					t = x->start;
				if (t && (!best || t < best))
					best = t;
			}
			if (best) {
				c->end[ia] = best;
			} else {
				c->end[ia] = c->span_to > e->start ? c->span_to : e->start;
				c->open[ia] = 1;
			}
		}
		i = first + n;
	}
}

static int64_t iabs64(int64_t v)
{
	return v < 0 ? -v : v;
}

static void set_match(struct score_row *r, const struct ctx *c, size_t ie)
{
	const struct dm_event *e = &c->ev[ie];
	r->matched = (long)ie;
	r->got_type = e->type;
	r->got_start = e->start;
	r->got_end = c->end[ie];
	r->got_open = c->open[ie];
	r->start_err = (int64_t)e->start - (int64_t)r->start;
	if (r->expected == DM_EV_INSTABILITY) {
		r->end_err = r->dur_err = 0;
	} else {
		r->end_err = (int64_t)r->got_end - (int64_t)r->end;
		r->dur_err = ((int64_t)r->got_end - e->start) - ((int64_t)r->end - (int64_t)r->start);
	}
}

/* Outage row: the best event of the entity: within tolerance and of the expected type, else
 * within tolerance of the other type, else the overlapping one with the smallest errors. */
static void match_outage(struct score_row *r, const struct ctx *c, size_t first, size_t n)
{
	int best_rank = 0;
	int64_t best_cost = 0;
	for (size_t k = first; k < first + n; k++) {
		size_t ie = c->ord[k];
		const struct dm_event *e = &c->ev[ie];
		if (!is_episode(e->type))
			continue;
		int64_t se = (int64_t)e->start - (int64_t)r->start, ee = (int64_t)c->end[ie] - (int64_t)r->end;
		int in_time = iabs64(se) <= r->allowed && iabs64(ee) <= r->allowed;
		int overlaps = (int64_t)e->start <= (int64_t)r->end + r->allowed &&
		               (int64_t)c->end[ie] >= (int64_t)r->start - (int64_t)r->allowed;
		int rank = in_time ? (e->type == r->expected ? 3 : 2) : overlaps ? 1 : 0;
		int64_t cost = iabs64(se) + iabs64(ee);
		if (rank && (rank > best_rank || (rank == best_rank && cost < best_cost))) {
			best_rank = rank;
			best_cost = cost;
			set_match(r, c, ie);
		}
	}
	if (r->required)
		r->status = best_rank == 3 ? SCORE_FOUND : best_rank == 2 ? SCORE_WRONG_TYPE : best_rank == 1 ? SCORE_OFF_TIME : SCORE_MISSED;
}

/* Instability row: the first instability event of the entity starting inside [start, end];
 * else the nearest overlapping one, for the report. */
static void match_instability(struct score_row *r, const struct ctx *c, size_t first, size_t n)
{
	int best_rank = 0;
	int64_t best_cost = 0;
	for (size_t k = first; k < first + n; k++) {
		size_t ie = c->ord[k];
		const struct dm_event *e = &c->ev[ie];
		if (e->type != DM_EV_INSTABILITY)
			continue;
		int inside = e->start >= (int64_t)r->start && e->start <= (int64_t)r->end;
		int overlaps = e->start <= (int64_t)r->end && c->end[ie] >= (int64_t)r->start;
		int rank = inside ? 2 : overlaps ? 1 : 0;
		int64_t cost = iabs64((int64_t)e->start - (int64_t)r->start);
		if (rank && (rank > best_rank || (rank == best_rank && cost < best_cost))) {
			best_rank = rank;
			best_cost = cost;
			set_match(r, c, ie);
		}
	}
	r->status = best_rank == 2 ? SCORE_FOUND : best_rank == 1 ? SCORE_OFF_TIME : SCORE_MISSED;
}

static int judged(const struct sig_entity *e)
{
	return e->afi == DM_AFI_IPV4 && (e->kind == SIG_COUNTRY || e->kind == SIG_ASN);
}

static int ent_qsort_cmp(const void *a, const void *b)
{
	return entity_cmp(a, b);
}

/* False alerts in time order, then by entity. */
static int false_cmp(const void *a, const void *b)
{
	const struct score_false *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	int c = entity_cmp(&x->entity, &y->entity);
	if (c)
		return c;
	return x->type < y->type ? -1 : x->type > y->type;
}

int score_run(const struct truth *t, const struct dm_event *ev, size_t nev, const struct sig_entity *ents,
              size_t nents, const struct score_opts *o, struct score *out, struct dm_error *err)
{
	memset(out, 0, sizeof *out);
	out->span_from = t->span_to ? t->span_from : o->span_from;
	out->span_to = t->span_to ? t->span_to : o->span_to;
	out->start_err_max = out->end_err_max = out->dur_err_max = 0;
	if (out->span_to <= out->span_from)
		return dm_fail(err, DM_ERR_BAD_VALUE, 0, "no time span: the truth has no scenario row and none was given");

	struct sig_entity *je = malloc((nents ? nents : 1) * sizeof *je);
	struct ctx c = { ev, nev, malloc((nev ? nev : 1) * sizeof(size_t)), malloc((nev ? nev : 1) * sizeof(uint32_t)),
		         malloc(nev ? nev : 1), out->span_to };
	out->rows = malloc((t->n ? t->n : 1) * sizeof *out->rows);
	if (!je || !c.ord || !c.end || !c.open || !out->rows)
		goto nomem;
	size_t nje = 0;
	for (size_t i = 0; i < nents; i++)
		if (judged(&ents[i]))
			je[nje++] = ents[i];
	qsort(je, nje, sizeof *je, ent_qsort_cmp);
	size_t w = 0;
	for (size_t i = 0; i < nje; i++)
		if (!w || entity_cmp(&je[w - 1], &je[i]))
			je[w++] = je[i];
	nje = w;
	out->entities = nje;

	for (size_t i = 0; i < nev; i++)
		c.ord[i] = i;
	qsort_r(c.ord, nev, sizeof *c.ord, ord_cmp, (void *)ev);
	resolve_ends(&c);

	/* Scored units: each outage or instability row of a country or AS, except that consecutive
	 * outage rows of one entity at the same expected level (0.98 then 1.0 lost: both "outage")
	 * are one unit, because the detector reports changes of level, not of depth. */
	for (size_t i = 0; i < t->n; i++) {
		const struct truth_row *tr = &t->v[i];
		int outage = !strcmp(tr->kind, "outage"), inst = !strcmp(tr->kind, "instability");
		if (!tr->entity.kind || (!outage && !inst))
			continue;
		/* the detector's own rule: partial when v < threshold x B, i.e. lost share
		 * f > 1 - threshold; outage when f > 1 - hard (docs/eval.md) */
		int share = outage && tr->fraction > 1 - o->threshold + FRACTION_EPS;
		/* instability of an entity is required when at least the detector's share of it
		 * flaps (docs/detect.md rule 9): a country holding a few of a flapping AS's prefixes
		 * is not unstable as a whole */
		int inst_share = inst && tr->fraction + FRACTION_EPS >= o->inst_share;
		uint8_t expected = inst ? DM_EV_INSTABILITY
		                        : tr->fraction > 1 - o->hard + FRACTION_EPS ? DM_EV_OUTAGE : DM_EV_PARTIAL;
		struct score_row *u = NULL;
		for (size_t k = out->nrows; share && k-- > 0;) {
			struct score_row *x = &out->rows[k];
			if (x->why_not != SCORE_WHY_SHARE && x->expected == expected && x->end == tr->start &&
			    !entity_cmp(&t->v[x->truth].entity, &tr->entity)) {
				u = x;
				break;
			}
		}
		if (u) {
			u->end = tr->end;
			u->truth_last = i;
			u->merged++;
			if (tr->fraction > u->fraction)
				u->fraction = tr->fraction;
			if (tr->tolerance > u->tolerance)
				u->tolerance = tr->tolerance;
			continue;
		}
		struct score_row *r = &out->rows[out->nrows++];
		memset(r, 0, sizeof *r);
		r->truth = r->truth_last = i;
		r->merged = 1;
		r->matched = -1;
		r->expected = expected;
		r->start = tr->start;
		r->end = tr->end;
		r->fraction = tr->fraction;
		r->tolerance = tr->tolerance;
		if ((outage && !share) || (inst && !inst_share))
			r->why_not = SCORE_WHY_SHARE;
	}
	/* An outage shorter than the detector can raise is not required: it needs
	 * n = max(1, ceil(min_duration / bin)) bins below the threshold, and the signal samples each
	 * bin at its end, so only an outage lasting n bins is sure to cover n bin ends. */
	uint32_t nbins_min = o->min_duration ? (o->min_duration + o->bin - 1) / o->bin : 1;
	uint64_t need = (uint64_t)(nbins_min ? nbins_min : 1) * o->bin;
	out->shortest = (uint32_t)need;
	for (size_t k = 0; k < out->nrows; k++) {
		struct score_row *r = &out->rows[k];
		const struct truth_row *tr = &t->v[r->truth];
		if (r->expected != DM_EV_INSTABILITY) {
			r->allowed = o->bin + r->tolerance;
			if (!r->why_not && (uint64_t)(r->end - r->start) < need)
				r->why_not = SCORE_WHY_SHORT;
		}
		r->required = !r->why_not;
		int has_series = bsearch(&tr->entity, je, nje, sizeof *je, ent_qsort_cmp) != NULL;
		size_t n, first = ctx_find(&c, &tr->entity, &n);
		if (r->expected == DM_EV_INSTABILITY) {
			match_instability(r, &c, first, n);
			/* Two windows of one entity (before and after an outage, whose bins the
			 * detector does not count) seen as one instability: the event found for the
			 * earlier window, still open when this one starts, finds this one too. */
			for (size_t q = k; r->status != SCORE_FOUND && q-- > 0;) {
				const struct score_row *x = &out->rows[q];
				if (x->expected == DM_EV_INSTABILITY && x->status == SCORE_FOUND &&
				    !entity_cmp(&t->v[x->truth].entity, &tr->entity) && c.end[x->matched] >= r->start) {
					set_match(r, &c, (size_t)x->matched);
					r->status = SCORE_FOUND;
				}
			}
		} else {
			match_outage(r, &c, first, n);
		}
		if (!r->required) {
			r->status = SCORE_NOT_REQUIRED;
			if (r->why_not == SCORE_WHY_SHARE)
				out->skipped_share++;
			else
				out->skipped_short++;
			continue;
		}
		if (!has_series)
			r->status = SCORE_NO_SERIES;
		out->required++;
		switch (r->status) {
		case SCORE_FOUND:
			out->found++;
			if (r->expected != DM_EV_INSTABILITY) {
				if (iabs64(r->start_err) > out->start_err_max)
					out->start_err_max = iabs64(r->start_err);
				if (iabs64(r->end_err) > out->end_err_max)
					out->end_err_max = iabs64(r->end_err);
				if (iabs64(r->dur_err) > out->dur_err_max)
					out->dur_err_max = iabs64(r->dur_err);
			}
			break;
		case SCORE_WRONG_TYPE: out->wrong_type++; break;
		case SCORE_OFF_TIME: out->off_time++; break;
		case SCORE_MISSED: out->missed++; break;
		case SCORE_NO_SERIES: out->no_series++; break;
		}
	}

	/* False alerts: alerts of judged entities that no truth row of the entity overlaps. */
	size_t capf = 0;
	for (size_t k = 0; k < nev; k++) {
		size_t ie = c.ord[k];
		const struct dm_event *e = &ev[ie];
		if (!is_alert(e->type) || !bsearch(&e->entity, je, nje, sizeof *je, ent_qsort_cmp))
			continue;
		out->alerts++;
		int explained = 0;
		for (size_t i = 0; i < t->n && !explained; i++) {
			const struct truth_row *tr = &t->v[i];
			if (!tr->entity.kind || entity_cmp(&tr->entity, &e->entity))
				continue;
			int64_t slack = (int64_t)o->bin + tr->tolerance;
			/* instability is raised from the interruptions of the window before it: an
			 * event of the entity in that window explains it */
			int64_t from = (int64_t)e->start - (e->type == DM_EV_INSTABILITY ? (int64_t)e->window : 0);
			explained = from <= (int64_t)tr->end + slack && (int64_t)c.end[ie] >= (int64_t)tr->start - slack;
		}
		if (explained)
			continue;
		if (out->nfalse == capf) {
			capf = capf ? capf * 2 : 16;
			struct score_false *m = realloc(out->falses, capf * sizeof *m);
			if (!m)
				goto nomem;
			out->falses = m;
		}
		struct score_false *f = &out->falses[out->nfalse++];
		f->event = ie;
		f->entity = e->entity;
		f->type = e->type;
		f->start = e->start;
		f->end = c.end[ie];
		f->open = c.open[ie];
	}
	if (out->nfalse > 1)
		qsort(out->falses, out->nfalse, sizeof *out->falses, false_cmp);
	out->entity_days = (double)nje * (double)(out->span_to - out->span_from) / 86400.0;
	out->false_per_entity_day = out->entity_days > 0 ? (double)out->nfalse / out->entity_days : 0;
	free(je);
	free(c.ord);
	free(c.end);
	free(c.open);
	return 0;
nomem:
	free(je);
	free(c.ord);
	free(c.end);
	free(c.open);
	score_free(out);
	return dm_fail(err, DM_ERR_NOMEM, 0, "out of memory");
}
