/* The scenario timeline language (docs/scenario.md), read into a struct timeline: settings,
 * named sets and routes, event rows; every problem an error value with its line. */
#include "scenario/timeline.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/time.h"
#include "geo/geo.h"

static const char *const kind_names[TL_NKINDS] = { "outage", "instability",
                                                   "flap", "reorigin", "upstream", "peer_reset",
                                                   "collector_gap", "churn" };
/* The parameters each kind takes, as they are listed in error messages. */
static const char *const kind_params[TL_NKINDS] = {
	"fraction, spread, restore_spread, except, peers", "first, last, fraction, except, peers",
	"fraction, except, peers", "to, fraction, except", "via, fraction, except", "none",
	"none", "rate",
};

const char *tl_kind_name(enum tl_kind k) { return k < TL_NKINDS ? kind_names[k] : "?"; }

/* Grows *p to n elements of size bytes; on failure *p is kept and tl->nomem set. */
static int grow(struct timeline *tl, void **p, size_t n, size_t size)
{
	void *q = realloc(*p, n * size);
	if (!q) {
		tl->nomem = 1;
		return -1;
	}
	*p = q;
	return 0;
}

static char *dup_or_flag(struct timeline *tl, const char *s)
{
	char *d = strdup(s);
	if (!d)
		tl->nomem = 1;
	return d;
}

/* FILE:LINE: message, kept as a value; the caller prints the list. */
static void sc_err(struct timeline *s, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void sc_err(struct timeline *s, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *msg = malloc((size_t)n + 1);
	if (!msg || grow(s, (void **)&s->err, (size_t)s->nerr + 1, sizeof *s->err)) {
		free(msg);
		s->nomem = 1;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, (size_t)n + 1, fmt, ap);
	va_end(ap);
	s->err[s->nerr++] = (struct tl_error){ .line = line, .msg = msg };
}

/* "1418342400", "2014-12-12", "2014-12-12T00:00", "2014-12-12 00:00:00Z": UTC. */
int tl_parse_time(const char *s, int64_t *out)
{
	uint32_t t;
	if (dm_time_parse(s, &t))
		return -1;
	*out = t;
	return 0;
}

void tl_fmt_iso(int64_t t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* "AS131279" or "131279" -> 131279 (1..2^32-1). */
int tl_parse_asn(const char *s, uint32_t *out)
{
	if (!strncmp(s, "AS", 2) || !strncmp(s, "as", 2))
		s += 2;
	if (*s < '0' || *s > '9')
		return -1;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end || errno || v == 0 || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int parse_num(const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || *end || errno || !(v >= lo && v <= hi))
		return -1;
	*out = v;
	return 0;
}

/* Seconds: "300", "300s", "5m", "2h". */
static int parse_secs(const char *s, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (end == s || errno || v < 0)
		return -1;
	long long mul = !strcmp(end, "") || !strcmp(end, "s") ? 1 : !strcmp(end, "m") ? 60
	                : !strcmp(end, "h") ? 3600 : 0;
	if (!mul || v > 366LL * 86400 / mul)
		return -1;
	*out = v * mul;
	return 0;
}

int tl_is_country_code(const char *s)
{
	return strlen(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z';
}

/* Params "key=value key=value" (or "-"): each key must be one the kind takes. */
static int parse_params(struct timeline *s, struct tl_row *r, char *params)
{
	int bad = 0;
	if (!strcmp(params, "-"))
		*params = 0;
	for (char *tok = strtok(params, " "); tok; tok = strtok(NULL, " ")) {
		char *eq = strchr(tok, '=');
		const char *k = tok, *v = eq ? eq + 1 : "";
		if (eq)
			*eq = 0;
		int ok = 0, known = 1;
		double d;
		switch (r->kind) {
		case TL_OUTAGE: case TL_INSTABILITY: case TL_FLAP: case TL_REORIGIN: case TL_UPSTREAM:
			if (!strcmp(k, "fraction"))
				ok = !parse_num(v, 1e-9, 1, &r->fraction);
			else if (!strcmp(k, "except")) {
				ok = 1;
				char *save = NULL;
				for (char *a = strtok_r((char *)v, ",", &save); a; a = strtok_r(NULL, ",", &save))
					if (r->nexcept == TL_MAX_EXCEPT || tl_parse_asn(a, &r->except[r->nexcept++]))
						ok = 0;
				ok &= r->nexcept > 0;
			} else if (!strcmp(k, "peers") && r->kind != TL_REORIGIN && r->kind != TL_UPSTREAM)
				ok = !parse_num(v, 1e-9, 1, &r->peers);
			else if (!strcmp(k, "spread") && r->kind == TL_OUTAGE)
				ok = !parse_secs(v, &r->spread);
			else if (!strcmp(k, "restore_spread") && r->kind == TL_OUTAGE)
				ok = !parse_secs(v, &r->restore_spread);
			else if (!strcmp(k, "first") && r->kind == TL_INSTABILITY)
				ok = !parse_num(v, 1, 1440, &r->first);
			else if (!strcmp(k, "last") && r->kind == TL_INSTABILITY)
				ok = !parse_num(v, 1, 1440, &r->last);
			else if (!strcmp(k, "to") && r->kind == TL_REORIGIN)
				ok = !tl_parse_asn(v, &r->to);
			else if (!strcmp(k, "via") && r->kind == TL_UPSTREAM)
				ok = !tl_parse_asn(v, &r->via);
			else
				known = 0;
			break;
		case TL_CHURN:
			if (!strcmp(k, "rate"))
				ok = !parse_num(v, 0, 1e6, &d), r->rate = d;
			else
				known = 0;
			break;
		default:
			known = 0;
		}
		if (!known || !eq) {
			sc_err(s, r->line, "bad param '%s%s%s' for %s (takes: %s)", k, eq ? "=" : "", v,
			       kind_names[r->kind], kind_params[r->kind]);
			bad = 1;
		} else if (!ok) {
			sc_err(s, r->line, "bad value in '%s=%s'", k, v);
			bad = 1;
		}
	}
	if (!bad && r->kind == TL_REORIGIN && !r->to) {
		sc_err(s, r->line, "reorigin needs to=ASN");
		bad = 1;
	}
	if (!bad && r->kind == TL_UPSTREAM && !r->via) {
		sc_err(s, r->line, "upstream needs via=ASN");
		bad = 1;
	}
	if (!bad && r->kind == TL_CHURN && r->rate <= 0) {
		sc_err(s, r->line, "churn needs rate=N (events per hour)");
		bad = 1;
	}
	return bad ? -1 : 0;
}

/* The old 5-column form put the note where params now are: a 5th field counts as params only
 * when it is "-" or made of key=value words. */
static int looks_like_params(const char *f)
{
	if (!strcmp(f, "-"))
		return 1;
	if (!*f)
		return 0;
	for (const char *p = f; *p;) {
		size_t w = strcspn(p, " ");
		const char *eq = memchr(p, '=', w);
		if (!eq || eq == p)
			return 0;
		for (const char *c = p; c < eq; c++)
			if (!((*c >= 'a' && *c <= 'z') || *c == '_'))
				return 0;
		p += w;
		while (*p == ' ')
			p++;
	}
	return 1;
}

static const char time_forms[] = "want 2014-12-22T16:15:00Z, 2014-12-22T16:15Z, 2014-12-22 or "
                                 "epoch seconds";

static void setting_row(struct timeline *s, int line, char **f, int nf)
{
	const char *k = f[0];
	char *end;
	if (nf < 2 || !*f[1]) {
		sc_err(s, line, "setting %s needs a value", k);
		return;
	}
	if (!strcmp(k, "name")) {
		snprintf(s->name, sizeof s->name, "%s", f[1]);
	} else if (!strcmp(k, "span")) {
		int64_t from, to;   /* a bad span row leaves an earlier good one as it was */
		if (nf < 3 || tl_parse_time(f[1], &from) || tl_parse_time(f[2], &to)) {
			sc_err(s, line, "bad span: want span<TAB>START<TAB>END (%s)", time_forms);
			return;
		}
		if (to <= from) {
			sc_err(s, line, "bad span: end %s is not after start %s", f[2], f[1]);
			return;
		}
		s->from = from;
		s->to = to;
		s->have_span = 1;
		s->span_line = line;
	} else if (!strcmp(k, "date_shift")) {
		snprintf(s->date_shift, sizeof s->date_shift, "%s", f[1]);
	} else if (!strcmp(k, "peers")) {
		long v = strtol(f[1], &end, 10);
		if (*end || v < 1 || v > TL_MAX_PEERS)
			sc_err(s, line, "bad peers '%s' (1..%d)", f[1], TL_MAX_PEERS);
		else
			s->peers = (int)v, s->peers_set = 1;
	} else if (!strcmp(k, "seed")) {
		errno = 0;
		unsigned long long v = strtoull(f[1], &end, 10);
		if (*end || errno || f[1][0] == '-')
			sc_err(s, line, "bad seed '%s'", f[1]);
		else
			s->seed = v, s->seed_set = 1;
	} else if (!strcmp(k, "churn")) {
		double v;
		if (parse_num(f[1], 0, 1e6, &v))
			sc_err(s, line, "bad churn '%s' (events per hour, >= 0)", f[1]);
		else
			s->churn = v, s->churn_set = 1;
	} else if (!strcmp(k, "sample")) {
		long v = strtol(f[1], &end, 10);
		if (*end || v < 0 || v > 10000000)
			sc_err(s, line, "bad sample '%s' (a count of prefixes)", f[1]);
		else
			s->sample = v, s->sample_set = 1;
	} else if (!strcmp(k, "countries")) {
		for (const char *p = f[1]; *p;) {
			size_t w = strcspn(p, ",");
			char cc[8];
			snprintf(cc, sizeof cc, "%.*s", (int)(w < 7 ? w : 7), p);
			if (!tl_is_country_code(cc) || !geo_country_name(cc)) {
				sc_err(s, line, "bad country '%s' in countries", cc);
				return;
			}
			p += w;
			p += *p == ',';
		}
		snprintf(s->countries, sizeof s->countries, "%s", f[1]);
		s->countries_set = 1;
	} else if (!strcmp(k, "set")) {
		if (nf < 3 || !*f[2]) {
			sc_err(s, line, "set needs set<TAB>NAME<TAB>ITEMS (prefixes and ASns, comma-separated)");
			return;
		}
		/* a longer name would be cut to fit, and two names cut alike would be one set */
		if (strlen(f[1]) >= sizeof s->set[0].name) {
			sc_err(s, line, "set name longer than %zu characters", sizeof s->set[0].name - 1);
			return;
		}
		for (int i = 0; i < s->nset; i++)
			if (!strcmp(s->set[i].name, f[1])) {
				sc_err(s, line, "set %s already defined at line %d", f[1], s->set[i].line);
				return;
			}
		if (grow(s, (void **)&s->set, (size_t)s->nset + 1, sizeof *s->set))
			return;
		struct tl_set *d = &s->set[s->nset];
		snprintf(d->name, sizeof d->name, "%s", f[1]);
		d->line = line;
		if ((d->items = dup_or_flag(s, f[2])))
			s->nset++;
	} else if (!strcmp(k, "route")) {
		uint32_t asn;
		if (nf < 3 || tl_parse_asn(f[2], &asn)) {
			sc_err(s, line, "route needs route<TAB>PREFIX[,PREFIX...]<TAB>ASN");
			return;
		}
		char *save = NULL;
		for (char *p = strtok_r(f[1], ",", &save); p; p = strtok_r(NULL, ",", &save)) {
			struct dm_prefix pf;
			if (dm_prefix_parse(p, &pf) || pf.afi != DM_AFI_IPV4 || pf.len < 8) {
				sc_err(s, line, "bad prefix '%s' (IPv4, /8 or longer)", p);
				return;
			}
			dm_prefix_mask(&pf);
			if (grow(s, (void **)&s->add, (size_t)s->nadd + 1, sizeof *s->add))
				return;
			s->add[s->nadd++] = (struct tl_route){ .p = pf, .origin = asn, .line = line };
		}
	}
}

int timeline_read(struct timeline *s, FILE *f, const char *path)
{
	snprintf(s->path, sizeof s->path, "%s", path);
	char line[65536];
	int lineno = 0;
	static const char *const settings[] = { "name", "span", "date_shift", "peers", "seed", "churn",
	                                        "sample", "countries", "set", "route" };
	while (fgets(line, sizeof line, f)) {
		lineno++;
		line[strcspn(line, "\r\n")] = 0;
		const char *q = line;
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q == '#' || !*q)
			continue;
		char *field[8] = { 0 };
		int nf = 0;
		for (char *p = line; p && nf < 8; nf++) {
			field[nf] = p;
			p = strchr(p, '\t');
			if (p)
				*p++ = 0;
		}
		size_t k;
		for (k = 0; k < sizeof settings / sizeof *settings; k++)
			if (!strcmp(field[0], settings[k]))
				break;
		/* "churn N" sets the background rate; "churn START END all rate=N" is an event */
		if (k < sizeof settings / sizeof *settings && !(!strcmp(field[0], "churn") && nf >= 4)) {
			/* settings may be padded with extra tabs: drop empty fields */
			int m = 0;
			for (int i = 0; i < nf; i++)
				if (*field[i] || i == 0)
					field[m++] = field[i];
			setting_row(s, lineno, field, m);
			continue;
		}
		int kd;
		for (kd = 0; kd < TL_NKINDS; kd++)
			if (!strcmp(field[0], kind_names[kd]))
				break;
		if (kd == TL_NKINDS) {
			sc_err(s, lineno, "unknown kind '%s' (outage, instability, flap, reorigin, upstream, "
			       "peer_reset, collector_gap, churn; settings: name, span, peers, seed, churn, "
			       "sample, countries, set, route)", field[0]);
			continue;
		}
		if (nf < 4 || !*field[3]) {
			sc_err(s, lineno, "%s: want kind<TAB>start<TAB>end<TAB>target[<TAB>params][<TAB>note]",
			       field[0]);
			continue;
		}
		struct tl_row r;
		memset(&r, 0, sizeof r);
		r.kind = (enum tl_kind)kd;
		r.line = lineno;
		r.fraction = 1;
		r.peers = 1;
		r.first = 150;
		r.last = 12;
		if (tl_parse_time(field[1], &r.start)) {
			sc_err(s, lineno, "bad start time '%s' (%s)", field[1], time_forms);
			continue;
		}
		if (tl_parse_time(field[2], &r.end)) {
			sc_err(s, lineno, "bad end time '%s' (%s)", field[2], time_forms);
			continue;
		}
		if (r.end <= r.start) {
			sc_err(s, lineno, "end %s is not after start %s", field[2], field[1]);
			continue;
		}
		const char *params = "-", *note = "";
		if (nf >= 6) {
			params = field[4];
			note = field[5];
		} else if (nf == 5) {
			if (looks_like_params(field[4]))
				params = field[4];
			else
				note = field[4];
		}
		char pbuf[4096];
		snprintf(pbuf, sizeof pbuf, "%s", params);
		if (parse_params(s, &r, pbuf))
			continue;
		r.target = dup_or_flag(s, field[3]);
		r.note = dup_or_flag(s, note);
		if (!r.target || !r.note || grow(s, (void **)&s->row, (size_t)s->nrow + 1, sizeof *s->row)) {
			free(r.target);
			free(r.note);
			continue;
		}
		s->row[s->nrow++] = r;
	}
	/* set:NAME targets name a set row, before or after them */
	for (int i = 0; i < s->nrow; i++) {
		struct tl_row *r = &s->row[i];
		r->set = TL_SET_NONE;
		if (strncmp(r->target, "set:", 4))
			continue;
		r->set = TL_SET_UNKNOWN;
		for (int k = 0; k < s->nset && r->set == TL_SET_UNKNOWN; k++)
			if (!strcmp(s->set[k].name, r->target + 4))
				r->set = k;
	}
	if (s->nomem) {
		timeline_free(s);
		return -1;
	}
	return 0;
}

/* Rows must lie inside the file's span (checked once the span is known: it may come after). */
int timeline_check_span(struct timeline *s)
{
	int n = s->nerr;
	if (!s->have_span)
		return 0;
	for (int i = 0; i < s->nrow; i++) {
		struct tl_row *r = &s->row[i];
		if (r->start < s->from || r->end > s->to) {
			char a[32], b[32], c[32], d[32];
			tl_fmt_iso(r->start, a, sizeof a);
			tl_fmt_iso(r->end, b, sizeof b);
			tl_fmt_iso(s->from, c, sizeof c);
			tl_fmt_iso(s->to, d, sizeof d);
			sc_err(s, r->line, "%s %s .. %s is outside the span %s .. %s (line %d)",
			       kind_names[r->kind], a, b, c, d, s->span_line);
		}
	}
	return s->nomem ? -1 : s->nerr - n;
}

void timeline_free(struct timeline *s)
{
	for (int i = 0; i < s->nrow; i++) {
		free(s->row[i].target);
		free(s->row[i].note);
	}
	for (int i = 0; i < s->nset; i++)
		free(s->set[i].items);
	for (int i = 0; i < s->nerr; i++)
		free(s->err[i].msg);
	free(s->row);
	free(s->set);
	free(s->add);
	free(s->err);
	s->row = NULL, s->set = NULL, s->add = NULL, s->err = NULL;
	s->nrow = s->nset = s->nadd = s->nerr = 0;
}
