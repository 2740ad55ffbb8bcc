/* The merger: every partition's sizes summed and handed back, every partition's rows added
 * into the rows one process emits (cluster.h, docs/scale.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster_impl.h"
#include "signal/change.h"

enum { RING = 8 };   /* barriers in flight: rows of k and k+1 and sizes of k+2 at most */

struct slot {
	uint32_t seq;
	int used;
	uint32_t got;            /* partitions heard */
	uint8_t *have;           /* per partition */
	/* sizes */
	uint64_t *sum;           /* [2 x peer + fam] */
	uint32_t npeers;
	uint64_t rr[2];
	/* rows: each partition's ROWS message, kept until the barrier is merged */
	struct cl_buf *msg;
};

struct brow {                /* one partition's row, parsed */
	struct sig_entity e;
	int64_t t;
	uint32_t part;
	uint64_t v[6];           /* vis, more, ann, wd, intr, cov */
	uint8_t quality;
	uint32_t records;
	uint16_t collectors, silent, joined, left, nff16, up;
	uint32_t nff;
	const uint8_t *pe;       /* nff x (u32 n, u64 units) in the message */
};

struct base {                /* running maximum of an entity's slash24 (signal.c fill_bin) */
	uint64_t key;
	uint64_t base24;
};

struct cl_merge {
	uint32_t nparts;
	struct pipeline *out;
	struct slot sz[RING], rw[RING];
	uint32_t done;           /* barriers merged */
	uint32_t resume;         /* barriers below merged but not handed out (cl_merge_resume) */
	uint32_t sums_next;      /* barriers whose sums went out: sizes of earlier ones are late copies */
	uint64_t rows_out;
	struct base *bt;
	uint32_t bmask, nb;
	struct brow *rows;
	size_t nrows, caprows;
	struct sig_entity *oe;
	struct sig_bin *ob;
	size_t cap_out;
	uint64_t *pe_n, *pe_u;
	uint32_t pe_cap;
	size_t *choff;           /* per partition: where its changes start in its ROWS message */
};

static const uint64_t unit_of[2] = { 256, 65536 };

struct cl_merge *cl_merge_new(uint32_t nparts, struct pipeline *out)
{
	struct cl_merge *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	m->nparts = nparts ? nparts : 1;
	m->out = out;
	m->bmask = 1023;
	m->bt = calloc(m->bmask + 1, sizeof *m->bt);
	m->choff = calloc(m->nparts, sizeof *m->choff);
	if (!m->choff) {
		free(m->bt);
		m->bt = NULL;
	}
	for (int i = 0; i < RING; i++) {
		m->sz[i].have = calloc(m->nparts, 1);
		m->rw[i].have = calloc(m->nparts, 1);
		m->rw[i].msg = calloc(m->nparts, sizeof *m->rw[i].msg);
		if (!m->sz[i].have || !m->rw[i].have || !m->rw[i].msg)
			m->bt = NULL;   /* reported below */
	}
	if (!m->bt) {
		cl_merge_free(m);
		return NULL;
	}
	return m;
}

void cl_merge_free(struct cl_merge *m)
{
	if (!m)
		return;
	for (int i = 0; i < RING; i++) {
		free(m->sz[i].have);
		free(m->sz[i].sum);
		free(m->rw[i].have);
		for (uint32_t p = 0; m->rw[i].msg && p < m->nparts; p++)
			cl_buf_free(&m->rw[i].msg[p]);
		free(m->rw[i].msg);
	}
	free(m->bt);
	free(m->rows);
	free(m->oe);
	free(m->ob);
	free(m->pe_n);
	free(m->pe_u);
	free(m->choff);
	free(m);
}

uint32_t cl_merge_done(const struct cl_merge *m) { return m->done; }
uint64_t cl_merge_progress(const struct cl_merge *m) { return (uint64_t)m->done << 32 | m->sums_next; }

void cl_merge_waiting(const struct cl_merge *m, char *buf, size_t n)
{
	/* a barrier's sizes come in first; once its sums are out, its rows */
	int rows = m->sums_next > m->done;
	uint32_t seq = m->done;
	const struct slot *s = rows ? &m->rw[seq % RING] : &m->sz[seq % RING];
	int open = s->used && s->seq == seq;
	size_t k = 0;
	if (!n)
		return;
	buf[0] = 0;
	k += (size_t)snprintf(buf, n, "barrier %u: the %s of partition(s)", seq, rows ? "rows" : "sizes");
	uint32_t listed = 0;
	for (uint32_t p = 0; p < m->nparts && k < n; p++) {
		if (open && s->have[p])
			continue;
		if (listed++ == 16) {
			k += (size_t)snprintf(buf + k, n - k, " ...");
			break;
		}
		k += (size_t)snprintf(buf + k, n - k, "%s %u", listed > 1 ? "," : "", p);
	}
	if (k < n)
		snprintf(buf + k, n - k, " not in (%u of %u)", open ? s->got : 0, m->nparts);
}
uint64_t cl_merge_rows_out(const struct cl_merge *m) { return m->rows_out; }

static struct slot *slot_for(struct slot *ring, uint32_t nparts, uint32_t seq)
{
	struct slot *s = &ring[seq % RING];
	if (s->used && s->seq != seq)
		return NULL;   /* more than RING barriers in flight: a partition ran far ahead */
	if (!s->used) {
		s->used = 1;
		s->seq = seq;
		s->got = 0;
		memset(s->have, 0, nparts);
	}
	return s;
}

int cl_merge_sizes(struct cl_merge *m, const uint8_t *msg, size_t len, struct cl_buf *sums, struct dm_error *err)
{
	struct cur c = cur_make(msg, len);
	uint8_t kind;
	uint32_t seq, part, np;
	if (cur_u8(&c, &kind) || kind != CL_M_SIZES || cur_u32(&c, &seq) || cur_u32(&c, &part) || cur_u32(&c, &np) ||
	    part >= m->nparts || np > (1u << 24) || cur_left(&c) != (size_t)np * 8 + 16)
		return dm_fail(err, DM_ERR_BAD_VALUE, cur_off(&c), "merger: malformed sizes message");
	if (seq < m->sums_next)
		return 0;   /* a partition's new worker replaying a barrier whose sums are out */
	struct slot *s = slot_for(m->sz, m->nparts, seq);
	if (!s)
		return dm_fail(err, DM_ERR_BAD_VALUE, 0, "merger: sizes of barrier %u while %u is open", seq, m->sz[seq % RING].seq);
	if (s->have[part])
		return 0;   /* the same partition again (a worker that took it over) */
	if (s->got == 0) {
		uint64_t *sum = realloc(s->sum, (size_t)(np ? np : 1) * 2 * sizeof *sum);
		if (!sum)
			return dm_fail(err, DM_ERR_NOMEM, 0, "out of memory");
		s->sum = sum;
		if (np)
			memset(sum, 0, (size_t)np * 2 * sizeof *sum);
		s->npeers = np;
		s->rr[0] = s->rr[1] = 0;
	} else if (np != s->npeers) {
		return dm_fail(err, DM_ERR_BAD_VALUE, 0, "merger: barrier %u: partition %u knows %u peers, others %u", seq,
		               part, np, s->npeers);
	}
	for (uint32_t i = 0; i < 2 * np; i++) {
		uint32_t v = 0;
		cur_u32(&c, &v);
		s->sum[i] += v;
	}
	uint64_t r0 = 0, r1 = 0;
	cur_u64(&c, &r0);
	cur_u64(&c, &r1);
	s->rr[0] += r0;
	s->rr[1] += r1;
	s->have[part] = 1;
	if (++s->got < m->nparts)
		return 0;
	cb_reset(sums);
	cb_u8(sums, CL_M_SUMS);
	cb_u32(sums, seq);
	cb_u32(sums, np);
	for (uint32_t i = 0; i < 2 * np; i++)
		cb_u32(sums, s->sum[i] > UINT32_MAX ? UINT32_MAX : (uint32_t)s->sum[i]);
	cb_u64(sums, s->rr[0]);
	cb_u64(sums, s->rr[1]);
	s->used = 0;
	m->sums_next = seq + 1;   /* in order: a partition's sizes of k + 1 follow the sums of k */
	if (sums->failed)
		return dm_fail(err, DM_ERR_NOMEM, 0, "out of memory");
	return 1;
}

/* Canonical entity order of the merged rows: the world, countries, origin ASes. */
static uint64_t ent_key(const struct sig_entity *e)
{
	unsigned k = e->kind == SIG_GLOBAL ? 0 : e->kind == SIG_COUNTRY ? 1 : 2;
	return (uint64_t)k << 60 | (uint64_t)(e->kind == SIG_ASN ? e->asn : 0) << 24 |
	       (uint64_t)(uint8_t)e->cc[0] << 16 | (uint64_t)(uint8_t)e->cc[1] << 8 | e->afi;
}

static int cmp_brow(const void *a, const void *b)
{
	const struct brow *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	uint64_t kx = ent_key(&x->e), ky = ent_key(&y->e);
	if (kx != ky)
		return kx < ky ? -1 : 1;
	return x->part < y->part ? -1 : x->part > y->part;
}

static uint64_t *base_slot(struct cl_merge *m, uint64_t key)
{
	for (uint32_t h = (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> 40) & m->bmask;; h = (h + 1) & m->bmask) {
		if (m->bt[h].key == key + 1)
			return &m->bt[h].base24;
		if (!m->bt[h].key) {
			if ((m->nb + 1) * 2 > m->bmask + 1) {   /* grow, then look again */
				uint32_t mask = m->bmask * 2 + 1;
				struct base *t = calloc((size_t)mask + 1, sizeof *t);
				if (!t)
					return NULL;
				for (uint32_t i = 0; i <= m->bmask; i++) {
					if (!m->bt[i].key)
						continue;
					uint32_t g = (uint32_t)(((m->bt[i].key - 1) * 0x9e3779b97f4a7c15ull) >> 40) & mask;
					while (t[g].key)
						g = (g + 1) & mask;
					t[g] = m->bt[i];
				}
				free(m->bt);
				m->bt = t;
				m->bmask = mask;
				return base_slot(m, key);
			}
			m->bt[h].key = key + 1;
			m->bt[h].base24 = 0;
			m->nb++;
			return &m->bt[h].base24;
		}
	}
}

static int parse_rows(struct cl_merge *m, uint32_t part, const struct cl_buf *msg, struct dm_error *err)
{
	struct cur c = cur_make(msg->p, msg->n);
	uint8_t kind;
	uint32_t seq, pid, n;
	if (cur_u8(&c, &kind) || cur_u32(&c, &seq) || cur_u32(&c, &pid) || cur_u32(&c, &n))
		return dm_fail(err, DM_ERR_TRUNCATED, cur_off(&c), "merger: rows truncated");
	for (uint32_t i = 0; i < n; i++) {
		if (m->nrows == m->caprows) {
			size_t cap = m->caprows ? m->caprows * 2 : 1024;
			struct brow *r = realloc(m->rows, cap * sizeof *r);
			if (!r)
				return dm_fail(err, DM_ERR_NOMEM, 0, "out of memory");
			m->rows = r;
			m->caprows = cap;
		}
		struct brow *r = &m->rows[m->nrows];
		memset(r, 0, sizeof *r);
		r->part = part;
		int bad = cur_entity(&c, &r->e) || cur_i64(&c, &r->t);
		for (int k = 0; k < 6 && !bad; k++)
			bad = cur_u64(&c, &r->v[k]);
		bad = bad || cur_u8(&c, &r->quality) || cur_u32(&c, &r->records) || cur_u16(&c, &r->collectors) ||
		      cur_u16(&c, &r->silent) || cur_u16(&c, &r->joined) || cur_u16(&c, &r->left) ||
		      cur_u16(&c, &r->nff16) || cur_u16(&c, &r->up) || cur_u32(&c, &r->nff);
		if (bad || r->nff > (1u << 20) || cur_left(&c) < (size_t)r->nff * 12)
			return dm_fail(err, DM_ERR_TRUNCATED, cur_off(&c), "merger: row %u of partition %u truncated", i, part);
		r->pe = c.p;
		cur_skip(&c, (size_t)r->nff * 12);
		m->nrows++;
	}
	uint32_t nch;
	m->choff[part] = cur_off(&c);
	if (cur_u32(&c, &nch) || cur_left(&c) != (size_t)nch * sizeof(struct sig_change))
		return dm_fail(err, DM_ERR_BAD_LENGTH, cur_off(&c), "merger: changes of partition %u", part);
	return 0;
}

struct chord {
	int64_t t;
	size_t i;
};

static int cmp_chord(const void *a, const void *b)
{
	const struct chord *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;   /* same time: partition order, then its own */
}

/* Every partition's rows of one barrier in: add them up and write them. */
static int merge_slot(struct cl_merge *m, struct slot *s, struct dm_error *err)
{
	m->nrows = 0;
	size_t nch = 0;
	for (uint32_t p = 0; p < m->nparts; p++) {
		if (parse_rows(m, p, &s->msg[p], err))
			return -1;
		nch += be32(s->msg[p].p + m->choff[p]);
	}
	int emit = m->done >= m->resume;   /* below: stored by the merger before a restart */
	if (!emit)
		nch = 0;
	/* visibility changes first (one process emits them as elements apply, before the close) */
	if (nch) {
		const struct sig_change **ch = malloc(nch * sizeof *ch);
		if (!ch)
			return dm_fail(err, DM_ERR_NOMEM, 0, "out of memory");
		size_t k = 0;
		for (uint32_t p = 0; p < m->nparts; p++) {
			const struct cl_buf *b = &s->msg[p];
			size_t off = m->choff[p];
			uint32_t nc = be32(b->p + off);
			off += 4;
			/* copies, aligned: the message bytes are not */
			for (uint32_t i = 0; i < nc; i++) {
				struct sig_change *x = malloc(sizeof *x);
				if (!x)
					break;
				memcpy(x, b->p + off + (size_t)i * sizeof *x, sizeof *x);
				ch[k++] = x;
			}
		}
		struct chord *ord = malloc((k ? k : 1) * sizeof *ord);
		if (ord) {
			for (size_t i = 0; i < k; i++) {
				ord[i].t = ch[i]->t;
				ord[i].i = i;
			}
			qsort(ord, k, sizeof *ord, cmp_chord);
			for (size_t i = 0; i < k; i++)
				pl_change(m->out, ch[ord[i].i]);
			free(ord);
		}
		for (size_t i = 0; i < k; i++)
			free((void *)ch[i]);
		free(ch);
	}
	if (m->nrows)
		qsort(m->rows, m->nrows, sizeof *m->rows, cmp_brow);
	/* the control partition's world rows carry the bin-wide fields (records, gap) */
	if (m->cap_out < m->nrows) {
		struct sig_entity *oe = realloc(m->oe, m->nrows * sizeof *oe);
		if (oe)
			m->oe = oe;
		struct sig_bin *ob = realloc(m->ob, m->nrows * sizeof *ob);
		if (ob)
			m->ob = ob;
		if (!oe || !ob)
			return dm_fail(err, DM_ERR_NOMEM, 0, "out of memory");
		m->cap_out = m->nrows;
	}
	size_t nout = 0;
	for (size_t i = 0; i < m->nrows;) {
		size_t j = i;
		while (j < m->nrows && m->rows[j].t == m->rows[i].t && ent_key(&m->rows[j].e) == ent_key(&m->rows[i].e))
			j++;
		const struct brow *r0 = &m->rows[i];
		int fam = r0->e.afi == DM_AFI_IPV6;
		/* the bin-wide fields: the control partition's world row of the family and time */
		const struct brow *w = NULL;
		for (size_t k = i; k-- > 0 && m->rows[k].t == r0->t;)
			if (m->rows[k].part == CL_CONTROL && m->rows[k].e.kind == SIG_GLOBAL && m->rows[k].e.afi == r0->e.afi)
				w = &m->rows[k];
		for (size_t k = i; !w && k < m->nrows && m->rows[k].t == r0->t; k++)
			if (m->rows[k].part == CL_CONTROL && m->rows[k].e.kind == SIG_GLOBAL && m->rows[k].e.afi == r0->e.afi)
				w = &m->rows[k];
		if (!w)
			w = r0;
		uint32_t nff = r0->nff;
		if (nff > m->pe_cap) {
			uint64_t *a = realloc(m->pe_n, nff * sizeof *a), *b = a ? realloc(m->pe_u, nff * sizeof *b) : NULL;
			if (a)
				m->pe_n = a;
			if (!b)
				return dm_fail(err, DM_ERR_NOMEM, 0, "out of memory");
			m->pe_u = b;
			m->pe_cap = nff;
		}
		if (nff) {
			memset(m->pe_n, 0, nff * sizeof *m->pe_n);
			memset(m->pe_u, 0, nff * sizeof *m->pe_u);
		}
		uint64_t v[6] = { 0 };
		for (size_t k = i; k < j; k++) {
			const struct brow *r = &m->rows[k];
			if (r->nff != nff)
				return dm_fail(err, DM_ERR_BAD_VALUE, 0, "merger: partitions disagree on the full-feed peers (%u, %u)",
				               r->nff, nff);
			for (int x = 0; x < 6; x++)
				v[x] += r->v[x];
			for (uint32_t f = 0; f < nff; f++) {
				m->pe_n[f] += be32(r->pe + 12 * f);
				m->pe_u[f] += (uint64_t)be32(r->pe + 12 * f + 4) << 32 | be32(r->pe + 12 * f + 8);
			}
		}
		struct sig_bin *b = &m->ob[nout];
		memset(b, 0, sizeof *b);
		m->oe[nout] = r0->e;
		b->t = r0->t;
		b->visible_prefixes = v[0];
		b->more_specifics = (uint32_t)v[1];
		b->announcements = (uint32_t)v[2];
		b->withdrawals = (uint32_t)v[3];
		b->interruptions = (uint32_t)v[4];
		b->slash24 = (v[5] + unit_of[fam] / 2) / unit_of[fam];
		uint64_t *base = base_slot(m, ent_key(&r0->e));
		if (!base)
			return dm_fail(err, DM_ERR_NOMEM, 0, "out of memory");
		if (b->slash24 > *base)
			*base = b->slash24;
		b->baseline_slash24 = *base;
		uint32_t seeing = 0;
		double sum = 0, bu = (double)*base * (double)unit_of[fam];
		for (uint32_t f = 0; f < nff; f++) {
			seeing += m->pe_n[f] != 0;
			double x = (double)m->pe_u[f] / bu;
			sum += x > 1 ? 1 : x;
		}
		b->peers_seeing = (uint16_t)(seeing > 65535 ? 65535 : seeing);
		/* signal.c ent_frac, the same sum in the same (full-feed set) order */
		b->peer_frac = !nff || !*base ? 0 : (float)(sum / nff);
		b->full_feed_peers = w->nff16;
		b->peers_up = w->up;
		b->quality = w->quality;
		b->records = w->records;
		b->collectors = w->collectors;
		b->collectors_silent = w->silent;
		b->ff_joined = w->joined;
		b->ff_left = w->left;
		nout++;
		i = j;
	}
	if (emit) {
		pl_rows(m->out, m->oe, m->ob, nout);
		m->rows_out += nout;
	}
	return 0;
}

void cl_merge_resume(struct cl_merge *m, uint32_t merged)
{
	m->resume = merged;
}

int cl_merge_rows(struct cl_merge *m, const uint8_t *msg, size_t len, struct dm_error *err)
{
	uint32_t seq, part;
	if (len < 13 || msg[0] != CL_M_ROWS || cl_msg_seq(msg, len, &seq, &part) || part >= m->nparts)
		return dm_fail(err, DM_ERR_BAD_VALUE, 0, "merger: malformed rows message");
	if (seq < m->done)
		return 0;   /* replayed by a partition's new worker: merged already */
	struct slot *s = slot_for(m->rw, m->nparts, seq);
	if (!s)
		return dm_fail(err, DM_ERR_BAD_VALUE, 0, "merger: rows of barrier %u too far ahead", seq);
	if (s->have[part])
		return 0;
	cb_reset(&s->msg[part]);
	cb_bytes(&s->msg[part], msg, len);
	if (s->msg[part].failed)
		return dm_fail(err, DM_ERR_NOMEM, 0, "out of memory");
	s->have[part] = 1;
	s->got++;
	int merged = 0;
	for (;;) {   /* in barrier order */
		struct slot *d = &m->rw[m->done % RING];
		if (!d->used || d->seq != m->done || d->got < m->nparts)
			break;
		if (merge_slot(m, d, err))
			return -1;
		d->used = 0;
		m->done++;
		merged = 1;
	}
	return merged;
}
