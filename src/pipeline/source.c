/* The MRT archive source of the pipeline (darkmap replay): inputs named on the command line or
 * found in RouteViews / RIS folder trees, RIB dumps loaded first, then every collector's update
 * files merged in timestamp order, each record's elements fed to the pipeline. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/log.h"
#include "base/time.h"
#include "io/reader.h"
#include "mrt/elem.h"
#include "mrt/reader.h"
#include "pipeline/pipeline_impl.h"

/* ---------- inputs ---------- */

struct input {
	char *path;
	char *collector;
	int rib;
	uint32_t ftime;        /* time from the file name; 0 unknown */
	uint64_t size;
};

struct inputs {
	struct input *v;
	size_t n, cap;
};

static int input_add(struct inputs *in, const char *path, const char *collector, int rib, uint32_t ftime)
{
	if (in->n == in->cap) {
		size_t c = in->cap ? in->cap * 2 : 16;
		struct input *v = realloc(in->v, c * sizeof *v);
		if (!v)
			return -1;
		in->v = v;
		in->cap = c;
	}
	struct input *x = &in->v[in->n++];
	x->path = strdup(path);
	x->collector = strdup(collector);
	x->rib = rib;
	x->ftime = ftime;
	struct stat st;
	x->size = stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
	return x->path && x->collector ? 0 : -1;
}

static void inputs_free(struct inputs *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].path);
		free(l->v[i].collector);
	}
	free(l->v);
	memset(l, 0, sizeof *l);
}

static int all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

/* "YYYYMMDD.HHMM" or unix seconds after the kind token. */
static uint32_t name_time(const char *s)
{
	if (all_digits(s, 8) && s[8] == '.' && all_digits(s + 9, 4)) {
		struct tm tm;
		memset(&tm, 0, sizeof tm);
		tm.tm_year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0') - 1900;
		tm.tm_mon = (s[4] - '0') * 10 + (s[5] - '0') - 1;
		tm.tm_mday = (s[6] - '0') * 10 + (s[7] - '0');
		tm.tm_hour = (s[9] - '0') * 10 + (s[10] - '0');
		tm.tm_min = (s[11] - '0') * 10 + (s[12] - '0');
		return (uint32_t)timegm(&tm);
	}
	if (all_digits(s, 9)) {
		char *end;
		unsigned long v = strtoul(s, &end, 10);
		if (end - s <= 10)
			return (uint32_t)v;
	}
	return 0;
}

/* What a file name says: kind (1 RIB, 0 updates, -1 neither), time, collector prefix. */
static int name_kind(const char *base, uint32_t *t, char *coll, size_t ncoll)
{
	static const struct { const char *tok; int rib; } toks[] = {
		{ "bview.", 1 }, { "rib.", 1 }, { "rib6.", 1 }, { "updates.", 0 },
	};
	for (size_t k = 0; k < sizeof toks / sizeof toks[0]; k++) {
		const char *p = base;
		while ((p = strstr(p, toks[k].tok))) {
			if (p == base || p[-1] == '.') {
				*t = name_time(p + strlen(toks[k].tok));
				size_t n = (size_t)(p - base);
				coll[0] = 0;
				if (n > 1 && n < ncoll) {
					const char *c = base;
					if (!strncmp(c, "ris.", 4) || !strncmp(c, "routeviews.", 11))
						c = strchr(c, '.') + 1;
					size_t m = (size_t)(p - 1 - c);
					if (m > 0 && m < ncoll) {
						memcpy(coll, c, m);
						coll[m] = 0;
					}
				}
				return toks[k].rib;
			}
			p++;
		}
	}
	*t = 0;
	coll[0] = 0;
	return -1;
}

/* Collector from the directory part of a path: an rrc* or route-views* component, or the
 * component above "bgpdata" (RouteViews), else "". */
static void path_collector(const char *path, char *out, size_t n)
{
	out[0] = 0;
	char buf[4096];
	snprintf(buf, sizeof buf, "%s", path);
	char *comp[128];
	int nc = 0;
	for (char *tok = strtok(buf, "/"); tok && nc < 128; tok = strtok(NULL, "/"))
		comp[nc++] = tok;
	for (int i = nc - 2; i >= 0; i--) {
		const char *c = comp[i];
		if (!strncmp(c, "rrc", 3) || !strncmp(c, "route-views", 11)) {
			snprintf(out, n, "%s", c);
			return;
		}
		if (!strcmp(c, "bgpdata")) {
			snprintf(out, n, "%s", i > 0 ? comp[i - 1] : "route-views2");
			return;
		}
	}
}

static void file_collector(const char *path, char *out, size_t n)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	uint32_t t;
	char c[128];
	name_kind(base, &t, c, sizeof c);
	if (c[0]) {
		snprintf(out, n, "%s", c);
		return;
	}
	path_collector(path, out, n);
}

static void walk_dir(const char *dir, int depth, struct inputs *out)
{
	if (depth > 8)
		return;
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char p[4096];
		snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
		struct stat st;
		if (stat(p, &st))
			continue;
		if (S_ISDIR(st.st_mode)) {
			walk_dir(p, depth + 1, out);
			continue;
		}
		uint32_t t;
		char c[128];
		int kind = name_kind(de->d_name, &t, c, sizeof c);
		if (kind < 0 || !t)
			continue;
		char coll[128];
		if (!c[0])
			path_collector(p, coll, sizeof coll);
		else
			snprintf(coll, sizeof coll, "%s", c);
		input_add(out, p, coll, kind, t);
	}
	closedir(d);
}

static int cmp_input(const void *a, const void *b)
{
	const struct input *x = a, *y = b;
	int c = strcmp(x->collector, y->collector);
	if (c)
		return c;
	if (x->ftime != y->ftime)
		return x->ftime < y->ftime ? -1 : 1;
	return strcmp(x->path, y->path);
}

/* From the files found in directories, per collector: the RIB (the latest at or before --from,
 * else the first one) and the update files from the RIB's time (or --from) up to --to. */
static void pick_from_dirs(struct inputs *found, uint32_t from, uint32_t to, struct inputs *out)
{
	if (!found->n)
		return;
	qsort(found->v, found->n, sizeof *found->v, cmp_input);
	for (size_t i = 0; i < found->n;) {
		size_t j = i;
		while (j < found->n && !strcmp(found->v[j].collector, found->v[i].collector))
			j++;
		const struct input *rib = NULL;
		for (size_t k = i; k < j; k++) {   /* the latest RIB at or before --from */
			const struct input *x = &found->v[k];
			if (x->rib && from && x->ftime <= from && (!rib || x->ftime > rib->ftime))
				rib = x;
		}
		for (size_t k = i; k < j && !rib; k++) {   /* else the first one (in range) */
			const struct input *x = &found->v[k];
			if (x->rib && (!to || x->ftime < to))
				rib = x;
		}
		uint32_t start = rib ? rib->ftime : from;
		if (rib)
			input_add(out, rib->path, rib->collector, 1, rib->ftime);
		for (size_t k = i; k < j; k++) {
			const struct input *x = &found->v[k];
			if (x->rib)
				continue;
			/* an update file covers [ftime, ftime + 15 min): keep the one holding `start` */
			if (start && x->ftime + 900 <= start)
				continue;
			if (to && x->ftime >= to)
				continue;
			input_add(out, x->path, x->collector, 0, x->ftime);
		}
		i = j;
	}
}

static void on_elem(const struct dm_elem *e, void *arg)
{
	struct pipeline *R = arg;
	pl_elem(R, R->cur_coll, e);
}

static void on_prefix_prefetch(const struct dm_prefix *p, void *arg)
{
	struct pipeline *R = arg;
	rib_prefetch(R->rib, p);
}

static void on_elem_count(const struct dm_elem *e, void *arg)
{
	(void)e;
	((struct pipeline *)arg)->elems++;
}

/* Multicast routes are not part of the unicast table (RFC 4760 SAFI 2): skip records that only
 * carry them. */
static int multicast_only(const struct mrt_rec *rec)
{
	if (rec->kind == MRT_K_RIB)
		return rec->u.rib.safi == DM_SAFI_MULTICAST;
	if (rec->kind != MRT_K_MESSAGE || rec->u.msg.msg.type != BGP_MSG_UPDATE)
		return 0;
	const struct bgp_update *u = &rec->u.msg.msg.u.update;
	const struct bgp_attrs *a = &u->attrs;
	int mp = (a->present & BGP_ATTR_BIT(BGP_ATTR_MP_REACH_NLRI)) && a->mp_reach.safi == DM_SAFI_MULTICAST;
	int mpu = (a->present & BGP_ATTR_BIT(BGP_ATTR_MP_UNREACH_NLRI)) && a->mp_unreach.safi == DM_SAFI_MULTICAST;
	return (mp || mpu) && u->announced.n == 0 && u->withdrawn.n == 0 &&
	       !(a->present & BGP_ATTR_BIT(BGP_ATTR_MP_REACH_NLRI) && a->mp_reach.safi != DM_SAFI_MULTICAST) &&
	       !(a->present & BGP_ATTR_BIT(BGP_ATTR_MP_UNREACH_NLRI) && a->mp_unreach.safi != DM_SAFI_MULTICAST);
}

static void apply_record(struct pipeline *R, struct mrt_ctx *ctx, struct mrt_rec *rec, const char *file)
{
	pl_time(R, rec->hdr.ts);
	pl_record(R, R->cur_coll);
	/* Lazy RIB entries (mrt.h, lazy_rib_attrs = MRT_LAZY_RIB_RAW): each block is looked up by its
	 * bytes among the sets made from RIB entries that decoded cleanly; equal bytes decode alike
	 * (a RIB entry's context is fixed: 4-byte AS numbers, the record's family only for
	 * MP_(UN)REACH_NLRI, which keys are without), so a block found needs neither framing nor
	 * decoding (issue 12: framing every block was 14% of a full-scale load). A block not found
	 * is decoded now, in entry order, before the record's warnings are reported: a found block
	 * would have decoded without a problem, so the warnings are eager decoding's. An IPv6
	 * record's blocks hold MP_REACH_NLRI (their next hop), which no key holds: they are framed
	 * first and looked up by their bytes without it, as before. The sets found are held
	 * (rib_pin_begin) until the record's elements are applied: an earlier entry replacing a
	 * set's last route must not let it go. */
	uint32_t *pin = NULL;
	if (rec->kind == MRT_K_RIB && ctx->lazy_rib_attrs && !R->lazy_hint)
		R->lazy_hint = calloc(65536, sizeof *R->lazy_hint);   /* MRT peer indexes are 16-bit */
	if (rec->kind == MRT_K_RIB && ctx->lazy_rib_attrs) {
		pin = rib_pin_begin(R->rib, rec->u.rib.n);
		/* the record's framed blocks looked up together (rib_attr_find_lazy_n: their cache misses
		 * overlap), each first against the set its MRT peer's last entry stood for */
		enum { B = 64 };
		const struct bgp_attrs *blk[B];
		uint32_t idx[B], hint[B], found[B];
		if (rec->u.rib.has_prefix)   /* its hash slot's miss overlaps the lookups' (a new prefix) */
			rib_prefetch(R->rib, &rec->u.rib.prefix);
		int v6 = rec->u.rib.afi == DM_AFI_IPV6;
		for (uint32_t i = 0; i < rec->u.rib.n;) {
			uint32_t m = 0;
			for (; i < rec->u.rib.n && m < B; i++) {
				const struct mrt_rib_entry *en = &rec->u.rib.e[i];
				if (en->attrs.lazy != BGP_ATTRS_INDEXED && en->attrs.lazy != BGP_ATTRS_RAW)
					continue;
				if (v6 && en->attrs.lazy == BGP_ATTRS_RAW)
					mrt_rib_entry_frame(ctx, rec, i);   /* a failure stays RAW: no key equals it */
				blk[m] = &en->attrs;
				hint[m] = R->lazy_hint ? R->lazy_hint[en->peer_index] : 0;
				idx[m++] = i;
			}
			if (pin)
				rib_attr_find_lazy_n(R->rib, blk, hint, found, m);
			else   /* out of memory: nothing can be held, every block is decoded */
				memset(found, 0, m * sizeof *found);
			for (uint32_t k = 0; k < m; k++) {
				struct mrt_rib_entry *en = &rec->u.rib.e[idx[k]];
				if ((en->attrs.rib_set = found[k])) {
					pin[idx[k]] = found[k];
					if (R->lazy_hint)
						R->lazy_hint[en->peer_index] = found[k];
				} else {
					mrt_rib_entry_decode(ctx, rec, idx[k]);
				}
			}
		}
	}
	for (uint32_t i = 0; i < rec->nwarn; i++)
		pl_report(R, file, &rec->warn[i], 1);
	for (int k = 1; rec->nwarn_unkept && k < DM_ERR_COUNT_; k++) {   /* counted, not printed */
		R->warn[k] += rec->warn_unkept[k];
		dm_log_rl_skip(k, rec->warn_unkept[k]);
		R->data_errors = 1;
	}
	if (multicast_only(rec)) {
		R->skipped_multicast++;
		if (pin)
			rib_pin_end(R->rib);
		return;
	}
	/* Framed attribute blocks (mrt.h, lazy_attrs): no path is decoded here (replay_ctx_init). */
	/* An UPDATE's prefixes first as hints: a table transfer's new prefixes each miss the prefix
	 * hash (about 80% of rib_prefix_find_or_add, issue 12); a second walk of the NLRI costs less
	 * than the misses it overlaps. */
	if (rec->kind == MRT_K_MESSAGE && rec->u.msg.msg.type == BGP_MSG_UPDATE && !rec->u.msg.s.local &&
	    !R->decode_only && !R->tapped) {
		if (rec->u.msg.msg.u.update.announced.n)   /* IPv4 NLRI: the block is its own key */
			sig_as_prefetch(R->sig, rib_attr_prefetch(R->rib, &rec->u.msg.msg.u.update.attrs));
		bgp_update_prefixes(&rec->u.msg.msg.u.update, on_prefix_prefetch, R);
	}
	mrt_elems(ctx, rec, R->decode_only ? on_elem_count : on_elem, R);
	if (pin)
		rib_pin_end(R->rib);
}

/* Reads one record of a reader into rec; 1 ok, 0 end. Errors are reported and skipped. */
static int next_record(struct pipeline *R, struct mrt_reader *rd, struct mrt_ctx *ctx, struct mrt_rec *rec,
                       const char *file)
{
	for (;;) {
		struct mrt_hdr *hdr = &rec->hdr;   /* read into rec: mrt_decode copies nothing (mrt.h) */
		const uint8_t *body;
		struct dm_error err;
		memset(&err, 0, sizeof err);
		int rc = mrt_reader_next(rd, hdr, &body, &err);
		if (rc == 0)
			return 0;
		if (rc < 0) {
			pl_report(R, file, &err, 0);
			if (rc == DM_ERR_TRUNCATED || rc == DM_ERR_IO) {
				char **t = realloc(R->truncated, (R->ntruncated + 1) * sizeof *t);
				if (t) {
					R->truncated = t;
					char buf[512];
					snprintf(buf, sizeof buf, "%s: %s at offset %llu: records before it were used",
					         file, rc == DM_ERR_TRUNCATED ? "truncated" : "unreadable",
					         (unsigned long long)err.offset);
					t[R->ntruncated++] = strdup(buf);
				}
			}
			continue;
		}
		memset(&err, 0, sizeof err);
		rc = mrt_decode(ctx, hdr, body, rec, &err);
		if (rc < 0) {
			pl_report(R, file, &err, 0);
			sig_record(R->sig, R->cur_coll);   /* a record was there: no gap */
			continue;
		}
		return 1;
	}
}

/* A decoding context as replay wants it: attributes framed, not decoded, where the RIB takes
 * them (decode-only counts need every decode). The RIB reads a new set's path and origin AS from
 * the block's checked bytes (rib.c flatten_path, bgp_attrs_origin_as), so paths stay undecoded
 * (BGP_LAZY_FRAME: decoding every UPDATE's path was 6% of decoding an update file, 14% of the
 * 2002 RIB, callgrind, issue 12); a cluster's tap sends each element's decoded path (cluster/cut.c):
 * decoded as they are checked there (BGP_LAZY_PATHS). */
static void replay_ctx_init(const struct pipeline *R, struct mrt_ctx *ctx)
{
	mrt_ctx_init(ctx);
	ctx->lazy_rib_attrs = !R->decode_only && R->rib ? MRT_LAZY_RIB_RAW : 0;
	ctx->lazy_attrs = !ctx->lazy_rib_attrs ? 0 : R->tapped ? BGP_LAZY_PATHS : BGP_LAZY_FRAME;
}

static void load_rib(struct pipeline *R, const struct input *in)
{
	struct dm_error err;
	memset(&err, 0, sizeof err);
	struct mrt_reader *rd = mrt_reader_open(in->path, &err);
	if (!rd) {
		pl_report(R, in->path, &err, 0);
		return;
	}
	R->cur_coll = pl_collector(R, in->collector);
	struct mrt_ctx ctx;
	replay_ctx_init(R, &ctx);
	struct mrt_rec rec;
	uint64_t n = 0;
	int64_t last = 0;
	while (!R->stop && next_record(R, rd, &ctx, &rec, in->path)) {
		apply_record(R, &ctx, &rec, in->path);
		if (rec.hdr.ts > last)
			last = rec.hdr.ts;
		if ((++n & 0x3fff) == 0)
			pl_progress(R, in->path, mrt_reader_compressed_offset(rd), 0);
	}
	struct rib_time *t = last ? realloc(R->ribt, (R->nribt + 1) * sizeof *t) : NULL;
	if (t) {
		R->ribt = t;
		t[R->nribt++] = (struct rib_time){ in->path, R->cur_coll, last };
	}
	R->bytes_done += in->size;
	if (mrt_reader_note(rd))   /* not an error (zero padding after the compressed data) */
		dm_log_rl(DM_ERR_COUNT_, "%s: note: %s", in->path, mrt_reader_note(rd));
	mrt_ctx_free(&ctx);
	mrt_reader_close(rd);
}

/* ---------- synthetic full-scale table (benchmark of the RIB and the signal) ---------- */

/* Every prefix of a prefix->origin table (pyasn IPASN format: "prefix<TAB>asn" lines, ";"
 * comments, any compression), held by n peers, fed as RIB elements in the order of a
 * TABLE_DUMP_V2 dump (prefix by prefix, every peer). Peer p (AS 64512+p, 10.255.p.1) reaches
 * origin O through one of 8 transit ASes chosen by (p, O): path "64512+p T O", ORIGIN IGP,
 * NEXT_HOP the peer. This gives each peer one attribute set per (transit, origin) pair, as many
 * as a real peer has distinct paths to within a small factor. Returns elements fed. */
static uint64_t synthetic_table(struct pipeline *R, const char *path, uint32_t npeers, uint32_t ts)
{
	struct dm_error err;
	memset(&err, 0, sizeof err);
	struct dm_reader *rd = dm_reader_open(path, &err);
	if (!rd) {
		pl_report(R, path, &err, 0);
		return 0;
	}
	size_t cap = 1 << 20, len = 0;
	char *text = malloc(cap);
	for (;;) {
		if (!text)
			break;
		if (cap - len < 65536) {
			char *t = realloc(text, cap * 2);
			if (!t) {
				free(text);
				text = NULL;
				break;
			}
			text = t;
			cap *= 2;
		}
		ssize_t n = dm_reader_read(rd, text + len, cap - len - 1, &err);
		if (n < 0)
			pl_report(R, path, &err, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	dm_reader_close(rd);
	if (!text)
		return 0;
	text[len] = 0;
	static const uint32_t transit[8] = { 174, 701, 1299, 2914, 3257, 3356, 6453, 6762 };
	R->cur_coll = pl_collector(R, "synthetic");
	struct dm_ip *ips = calloc(npeers, sizeof *ips);
	if (!ips) {
		free(text);
		return 0;
	}
	for (uint32_t p = 0; p < npeers; p++) {
		ips[p].afi = DM_AFI_IPV4;
		ips[p].b[0] = 10;
		ips[p].b[1] = 255;
		ips[p].b[2] = (uint8_t)(p >> 8);
		ips[p].b[3] = (uint8_t)(p + 1);
	}
	uint64_t fed = 0;
	pl_time(R, ts);
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		char *tab = strchr(line, '\t');
		if (line[0] == ';' || !tab)
			continue;
		*tab = 0;
		struct dm_elem e;
		memset(&e, 0, sizeof e);
		if (dm_prefix_parse(line, &e.prefix))
			continue;
		uint32_t origin = (uint32_t)strtoul(tab + 1, NULL, 10);
		e.type = DM_ELEM_RIB;
		e.ts = ts;
		for (uint32_t p = 0; p < npeers; p++) {
			uint32_t asn[3] = { 64512 + p, transit[(origin * 2654435761u + p * 40503u) >> 29], origin };
			struct as_seg seg = { AS_SEQUENCE, 3, asn };
			struct bgp_attrs a;
			memset(&a, 0, sizeof a);
			a.path.seg = &seg;
			a.path.nseg = 1;
			a.path.asn_size = 4;
			uint8_t raw[40];
			size_t o = 0;
			raw[o++] = 0x40; raw[o++] = BGP_ATTR_ORIGIN; raw[o++] = 1; raw[o++] = BGP_ORIGIN_IGP;
			raw[o++] = 0x40; raw[o++] = BGP_ATTR_AS_PATH; raw[o++] = 14; raw[o++] = AS_SEQUENCE; raw[o++] = 3;
			for (int k = 0; k < 3; k++) {
				raw[o++] = (uint8_t)(asn[k] >> 24); raw[o++] = (uint8_t)(asn[k] >> 16);
				raw[o++] = (uint8_t)(asn[k] >> 8); raw[o++] = (uint8_t)asn[k];
			}
			raw[o++] = 0x40; raw[o++] = BGP_ATTR_NEXT_HOP; raw[o++] = 4;
			memcpy(raw + o, ips[p].b, 4);
			o += 4;
			a.raw = raw;
			a.raw_len = (uint32_t)o;
			e.peer_ip = &ips[p];
			e.peer_asn = 64512 + p;
			e.attrs = &a;
			pl_elem(R, R->cur_coll, &e);
			fed++;
		}
	}
	free(ips);
	free(text);
	return fed;
}

/* A collector's update files, read in order, as one time-sorted stream. */
struct stream {
	uint32_t coll;
	const struct input **files;
	size_t nfiles, next;
	struct mrt_reader *rd;
	const char *path;
	struct mrt_ctx ctx;
	struct mrt_rec rec;
	uint32_t order;
	int started;
	uint32_t nrec;           /* records read from the open file, s->rec included (pl_position) */
};

static int stream_advance(struct pipeline *R, struct stream *s)
{
	for (;;) {
		if (s->rd) {
			R->cur_coll = s->coll;
			if (next_record(R, s->rd, &s->ctx, &s->rec, s->path)) {
				s->nrec++;
				return 1;
			}
			R->bytes_done += s->files[s->next - 1]->size;
			if (mrt_reader_note(s->rd))   /* not an error (zero padding after the data) */
				dm_log_rl(DM_ERR_COUNT_, "%s: note: %s", s->path, mrt_reader_note(s->rd));
			mrt_reader_close(s->rd);
			s->rd = NULL;
		}
		if (s->next >= s->nfiles)
			return 0;
		const struct input *in = s->files[s->next++];
		struct dm_error err;
		memset(&err, 0, sizeof err);
		s->nrec = 0;
		s->rd = mrt_reader_open(in->path, &err);
		s->path = in->path;
		if (!s->rd)
			pl_report(R, in->path, &err, 0);
	}
}

/* A RIB older than the updates that follow it holds routes withdrawn in between, which no
 * update will ever remove: warn when it is more than a day older than the first update record
 * of its collector (of any collector when its own has none). h: streams with a record. */
static void stale_rib_check(const struct pipeline *R, struct stream *const *h, size_t nh)
{
	for (size_t i = 0; i < R->nribt; i++) {
		const struct rib_time *rt = &R->ribt[i];
		int64_t own = 0, any = 0;
		for (size_t k = 0; k < nh; k++) {
			int64_t ts = h[k]->rec.hdr.ts;
			if (!any || ts < any)
				any = ts;
			if (h[k]->coll == rt->coll && (!own || ts < own))
				own = ts;
		}
		int64_t first = own ? own : any;
		if (!first || first <= rt->ts || first - rt->ts <= 86400)
			continue;
		int64_t d = first - rt->ts;
		char age[32], t0[32], t1[32];
		if (d >= 2 * 86400)
			snprintf(age, sizeof age, "%lld days", (long long)(d / 86400));
		else
			snprintf(age, sizeof age, "%lld h", (long long)(d / 3600));
		dm_time_fmt(rt->ts, DM_TIME_ISO, t0);
		dm_time_fmt(first, DM_TIME_ISO, t1);
		fprintf(stderr, "replay: warning: RIB %s older than its updates: routes withdrawn in between are still "
		        "counted; give a RIB from the start of the period (%s: %s; first update: %s)\n",
		        age, rt->path, t0, t1);
	}
}

static int stream_less(const struct stream *a, const struct stream *b)
{
	if (a->rec.hdr.ts != b->rec.hdr.ts)
		return a->rec.hdr.ts < b->rec.hdr.ts;
	if (a->rec.hdr.usec != b->rec.hdr.usec)
		return a->rec.hdr.usec < b->rec.hdr.usec;
	return a->order < b->order;
}

static void heap_down(struct stream **h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < n && stream_less(h[l], h[m]))
			m = l;
		if (l + 1 < n && stream_less(h[l + 1], h[m]))
			m = l + 1;
		if (m == i)
			return;
		struct stream *t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

/* pl_resume: the stream at pos (file, record, begun), its reader on that record. The records
 * before it are read again and dropped: the reader state (decompression, mrt_ctx) is then the
 * one the job before had. 0, or -1 when the files do not hold that position. */
static int stream_resume(struct pipeline *R, struct stream *s, const uint32_t *pos)
{
	s->started = pos[2] != 0;
	if (pos[0] == UINT32_MAX) {
		s->next = s->nfiles;
		return 0;
	}
	if (pos[0] >= s->nfiles)
		return -1;
	s->next = pos[0];
	if (!stream_advance(R, s) || s->next != pos[0] + 1)
		return -1;
	while (s->nrec <= pos[1])
		if (!stream_advance(R, s) || s->next != pos[0] + 1)
			return -1;
	return 0;
}

int pl_position(const struct pipeline *R, uint32_t *pos, size_t max)
{
	const struct stream *st = R->streams;
	if (!st || max < 3 * R->nstreams)
		return -1;
	for (size_t k = 0; k < R->nstreams; k++) {
		const struct stream *s = &st[k];
		pos[3 * k] = s->rd ? (uint32_t)(s->next - 1) : UINT32_MAX;
		pos[3 * k + 1] = s->rd ? s->nrec - 1 : 0;
		pos[3 * k + 2] = (uint32_t)s->started;
	}
	return (int)R->nstreams;
}

void pl_resume(struct pipeline *R, const uint32_t *pos, size_t nstreams)
{
	R->resume = pos;
	R->nresume = nstreams;
}

int pl_resume_failed(const struct pipeline *R) { return R->resume_failed; }
void pl_stop(struct pipeline *R) { R->stop = 1; }

static void replay_updates(struct pipeline *R, const struct inputs *in)
{
	/* group update inputs by collector, in time order (cmp_input sorted them) */
	size_t ns = 0;
	struct stream *st = calloc(in->n + 1, sizeof *st);
	struct stream **heap = calloc(in->n + 1, sizeof *heap);
	const struct input **files = calloc(in->n + 1, sizeof *files);
	if (!st || !heap || !files)
		goto out;
	size_t nf = 0;
	for (size_t i = 0; i < in->n; i++) {
		if (in->v[i].rib)
			continue;
		uint32_t c = pl_collector(R, in->v[i].collector);
		struct stream *s = NULL;
		for (size_t k = 0; k < ns; k++)
			if (st[k].coll == c)
				s = &st[k];
		if (!s) {
			s = &st[ns];
			s->coll = c;
			s->order = (uint32_t)ns;
			s->files = files + nf;
			ns++;
		}
		/* files of one collector are contiguous after sorting */
		files[nf++] = &in->v[i];
		s->nfiles++;
	}
	size_t nh = 0;
	if (R->resume && R->nresume != ns) {
		fprintf(stderr, "%s: resume: %zu update streams, the position names %zu\n", R->name, ns, R->nresume);
		R->resume_failed = 1;
		goto out;
	}
	for (size_t k = 0; k < ns; k++) {
		replay_ctx_init(R, &st[k].ctx);
		if (R->resume && stream_resume(R, &st[k], R->resume + 3 * k)) {
			fprintf(stderr, "%s: resume: %s holds no record %u\n", R->name, st[k].files[0]->path,
			        R->resume[3 * k + 1]);
			R->resume_failed = R->stop = 1;
		}
		if (R->resume ? st[k].rd != NULL : stream_advance(R, &st[k]))
			heap[nh++] = &st[k];
	}
	R->streams = st;
	R->nstreams = ns;
	stale_rib_check(R, heap, nh);
	for (size_t i = nh / 2; i-- > 0;)
		heap_down(heap, nh, i);
	uint64_t n = 0;
	while (nh && !R->stop) {
		struct stream *s = heap[0];
		R->cur_coll = s->coll;
		if (!s->started) {   /* its input runs from its first record on: close earlier bins first */
			pl_time(R, s->rec.hdr.ts);
			pl_collector_active(R, s->coll, 1);
			s->started = 1;
		}
		apply_record(R, &s->ctx, &s->rec, s->path);
		if ((++n & 0x3fff) == 0)
			pl_progress(R, s->path, s->rd ? mrt_reader_compressed_offset(s->rd) : 0, 0);
		if (!stream_advance(R, s)) {
			pl_collector_active(R, s->coll, 0);
			heap[0] = heap[--nh];
		}
		heap_down(heap, nh, 0);
	}
	R->streams = NULL;
	R->nstreams = 0;
	for (size_t k = 0; k < ns; k++) {
		if (st[k].rd)   /* left open when the run stopped early (R->stop) */
			mrt_reader_close(st[k].rd);
		mrt_ctx_free(&st[k].ctx);
	}
out:
	free(st);
	free(heap);
	free(files);
}


/* ---------- the source's public face ---------- */

struct pl_inputs {
	struct inputs ribs, files, dirs, all;
};

struct pl_inputs *pl_inputs_new(void) { return calloc(1, sizeof(struct pl_inputs)); }

void pl_inputs_free(struct pl_inputs *in)
{
	if (!in)
		return;
	inputs_free(&in->ribs);
	inputs_free(&in->files);
	inputs_free(&in->dirs);
	inputs_free(&in->all);
	free(in);
}

int pl_inputs_add(struct pl_inputs *in, const char *path, int rib)
{
	char c[128];
	if (rib) {
		file_collector(path, c, sizeof c);
		return input_add(&in->ribs, path, c, 1, 0);
	}
	struct stat st;
	if (stat(path, &st))
		return -1;
	if (S_ISDIR(st.st_mode)) {
		walk_dir(path, 0, &in->dirs);
		return 0;
	}
	const char *b = strrchr(path, '/');
	uint32_t t;
	int kind = name_kind(b ? b + 1 : path, &t, c, sizeof c);
	file_collector(path, c, sizeof c);
	return input_add(&in->files, path, c, kind == 1, t);
}

size_t pl_inputs_finish(struct pl_inputs *in, int64_t from, int64_t to)
{
	pick_from_dirs(&in->dirs, (uint32_t)from, (uint32_t)to, &in->all);
	for (size_t i = 0; i < in->ribs.n; i++)
		input_add(&in->all, in->ribs.v[i].path, in->ribs.v[i].collector, 1, in->ribs.v[i].ftime);
	for (size_t i = 0; i < in->files.n; i++)
		input_add(&in->all, in->files.v[i].path, in->files.v[i].collector, in->files.v[i].rib, in->files.v[i].ftime);
	if (in->all.n)
		qsort(in->all.v, in->all.n, sizeof *in->all.v, cmp_input);
	return in->all.n;
}

size_t pl_inputs_dirs(const struct pl_inputs *in) { return in->dirs.n; }

int64_t pl_inputs_first_time(const struct pl_inputs *in)
{
	int64_t when = 0;
	for (size_t i = 0; i < in->all.n; i++)
		if (in->all.v[i].ftime && (!when || in->all.v[i].ftime < when))
			when = in->all.v[i].ftime;
	return when;
}

int64_t pl_inputs_last_time(const struct pl_inputs *in)
{
	int64_t last = 0;
	for (size_t i = 0; i < in->all.n; i++)
		if (in->all.v[i].ftime > last)
			last = in->all.v[i].ftime;
	return last;
}

void pl_replay(struct pipeline *R, const struct pl_inputs *pin)
{
	const struct inputs *in = &pin->all;
	int bad = 0;
	for (size_t i = 0; R->db && !R->db_failed && !bad && i < in->n; i++) {
		char key[64];
		snprintf(key, sizeof key, "%s.input.%zu", R->name, i);
		bad = store_put_meta(R->db, key, in->v[i].path);
	}
	if (bad)
		pl_db_fail(R, "write (meta)");
	for (size_t i = 0; i < in->n; i++)
		R->bytes_total += in->v[i].size;
	clock_gettime(CLOCK_MONOTONIC, &R->t0);
	if (R->o.synth && !R->resume) {
		uint32_t np = R->o.synth_peers ? R->o.synth_peers : 40;
		/* stamped --synthetic-time, or 2014-05-13 06:00 (the pyasn table's RIB) */
		uint32_t ts = R->o.synth_time ? R->o.synth_time : 1399960800;
		rib_reserve(R->rib, 600000);
		double c1 = pl_cpu_s();
		uint64_t n = synthetic_table(R, R->o.synth, np, ts);
		double dt = pl_cpu_s() - c1;
		fprintf(stderr, "%s: synthetic table: %u peers x %u prefixes = %llu elements in %.2f s CPU "
		        "(%.2f M elements/s per core, parsing the table included)\n", R->name,
		        np, rib_prefix_count(R->rib), (unsigned long long)n, dt, dt > 0 ? (double)n / dt / 1e6 : 0);
	}
	for (size_t i = 0; i < in->n && !R->resume; i++)   /* a resumed job's RIBs are in its snapshots */
		if (in->v[i].rib)
			load_rib(R, &in->v[i]);
	double c2 = pl_cpu_s();
	pl_start(R);
	if (R->o.synth)
		fprintf(stderr, "%s: full-feed selection and signal state from scratch: %.2f s CPU\n", R->name,
		        pl_cpu_s() - c2);
	replay_updates(R, in);
}
