/* The pipeline: RIB -> signal -> streaming detector -> outputs (pipeline.h). */
#include <ctype.h>
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "base/cpu.h"
#include "base/log.h"
#include "base/obuf.h"
#include "base/ring.h"
#include "base/time.h"
#include "pipeline/pipeline_impl.h"

static void detect_row(struct pipeline *R, const struct sig_entity *e, const struct sig_bin *b);

double pl_cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       (double)ru.ru_stime.tv_usec / 1e6;
}

static double now_s(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static const char *quality_text(uint8_t q, char *buf)
{
	if (!q)
		return "ok";
	buf[0] = 0;
	if (q & SIG_Q_NO_DATA)
		strcat(buf, "no-data+");
	if (q & SIG_Q_PEERS_DROPPED)
		strcat(buf, "peers-dropped+");
	if (q & SIG_Q_GAP)
		strcat(buf, "gap+");
	if (q & SIG_Q_FF_CHANGED)
		strcat(buf, "ff-changed+");
	buf[strlen(buf) - 1] = 0;
	return buf;
}

/* A database write failed: said at once with SQLite's reason, nothing more is written, the run
 * ends with exit 3 (issue 9: a failed commit used to roll a whole batch back silently). */
void pl_db_fail(struct pipeline *R, const char *what)
{
	if (R->db_failed)
		return;
	R->db_failed = 1;
	R->stop = (!R->csv || R->csv_failed) && !R->cf && !R->qf;
	fprintf(stderr, "%sdarkmap %s: database %s failed: %s; %llu rows and %llu visibility changes not "
	        "committed are lost, nothing more is stored\n", R->progress ? "\n" : "", R->name, what, store_errmsg(R->db),
	        (unsigned long long)R->rows_pending, (unsigned long long)R->changes_pending);
}

/* Commits the batch (then opens the next one when again): rows count as stored only here. */
static void db_commit(struct pipeline *R, int again)
{
	if (!R->db || R->db_failed)
		return;
	struct timespec c0, c1;
	clock_gettime(CLOCK_MONOTONIC, &c0);
	if (store_commit(R->db)) {
		pl_db_fail(R, "commit");
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &c1);
	if (R->o.on_commit)
		R->o.on_commit(R->o.commit_arg, (double)(c1.tv_sec - c0.tv_sec) + (c1.tv_nsec - c0.tv_nsec) / 1e9);
	R->rows_db += R->rows_pending;
	R->changes_db += R->changes_pending;
	R->rows_pending = R->changes_pending = 0;
	R->db_uncommitted = 0;
	if (again && store_begin(R->db))
		pl_db_fail(R, "begin");
}

static void emit_row(void *arg, const struct sig_entity *e, const struct sig_bin *b)
{
	struct pipeline *R = arg;
	if ((R->from && b->t + R->bin <= R->from) || (R->to && b->t >= R->to))
		return;
	R->rows++;
	if (b->t + R->bin > R->last_bin_end)
		R->last_bin_end = b->t + R->bin;
	if (R->db && !R->db_failed) {
		if (store_put_bin(R->db, e, b)) {
			pl_db_fail(R, "write (bins)");
		} else {
			R->rows_pending++;
			if (++R->db_uncommitted >= 200000)
				db_commit(R, 1);
		}
	}
	if (R->det)
		detect_row(R, e, b);
	if (!R->csv)
		return;
	if (R->out.failed) {
		if (!R->csv_failed)   /* said once, at once; the run goes on for the other outputs */
			fprintf(stderr, "%sdarkmap %s: writing the CSV to standard output failed: %s\n",
			        R->progress ? "\n" : "", R->name, strerror(R->out.failed));
		R->csv_failed = 1;
		R->stop = (!R->db || R->db_failed) && !R->cf && !R->qf;
		return;
	}
	struct obuf *o = &R->out;
	char tb[32], qb[48];
	obuf_i64(o, b->t);
	obuf_putc(o, ',');
	dm_time_fmt(b->t, DM_TIME_ISO, tb);
	obuf_puts(o, tb);
	obuf_putc(o, ',');
	if (e->kind == SIG_GLOBAL) {
		obuf_puts(o, "global,all,");
	} else if (e->kind == SIG_COUNTRY) {
		obuf_puts(o, "country,");
		obuf_puts(o, e->cc);
		obuf_putc(o, ',');
	} else {
		obuf_puts(o, "asn,");
		obuf_u32(o, e->asn);
		obuf_putc(o, ',');
	}
	obuf_putc(o, e->afi == DM_AFI_IPV6 ? '6' : '4');
	uint64_t v[] = { b->visible_prefixes, b->slash24, b->baseline_slash24, b->peers_seeing,
		         b->full_feed_peers, b->peers_up };
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		obuf_putc(o, ',');
		obuf_u64(o, v[i]);
	}
	obuf_printf(o, ",%.4f", (double)b->peer_frac);
	uint32_t w[] = { b->announcements, b->withdrawals, b->interruptions, b->more_specifics };
	for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) {
		obuf_putc(o, ',');
		obuf_u32(o, w[i]);
	}
	obuf_putc(o, ',');
	obuf_puts(o, quality_text(b->quality, qb));
	obuf_putc(o, ',');
	obuf_u32(o, b->records);
	obuf_putc(o, ',');
	obuf_u32(o, b->ff_joined);
	obuf_putc(o, ',');
	obuf_u32(o, b->ff_left);
	obuf_putc(o, '\n');
}

static void emit_collector(void *arg, int64_t t, uint32_t c, uint64_t records, int active, int gap)
{
	struct pipeline *R = arg;
	if (!R->qf || (R->from && t + R->bin <= R->from) || (R->to && t >= R->to))
		return;
	char tb[32];
	dm_time_fmt(t, DM_TIME_ISO, tb);
	const char *name = rib_collector_name(R->rib, c);
	fprintf(R->qf, "%lld,%s,%s,%llu,%.3f,%d,%d,%d\n", (long long)t, tb, name[0] ? name : "-", (unsigned long long)records,
	        (double)records / R->bin, active, active && !records, gap);
}

/* Without a database the losses of the last day are kept for the alerts' evidence (what
 * carries a loss: alert_evidence_of). A day covers the window of an outage or partial event,
 * raised a few bins after its start; a new-normal event's weeks are not kept (without a
 * database it names no evidence). The cap bounds memory on a full live feed (~200 MB). */
#define LOSS_KEEP_S (24 * 3600)
#define LOSS_KEEP_MAX ((size_t)1 << 20)

static void keep_loss(struct pipeline *R, const struct sig_change *c)
{
	if (c->visible || c->covered || !c->units)
		return;   /* evidence counts losses of /24s (/48s) only */
	while (R->nloss && (R->nloss == LOSS_KEEP_MAX || R->loss[R->losshead].t < c->t - LOSS_KEEP_S)) {
		R->loss_gone_t = R->loss[R->losshead].t;
		R->losshead = (R->losshead + 1) % R->caploss;
		R->nloss--;
	}
	if (R->nloss == R->caploss) {
		size_t cap = R->caploss ? R->caploss * 2 : 1024;
		struct sig_change *v = dm_ring_grown(R->loss, R->caploss, R->losshead, R->nloss, sizeof *v, cap);
		if (!v) {
			R->loss_gone_t = c->t;   /* the log is incomplete from here: no evidence */
			return;
		}
		free(R->loss);
		R->loss = v;
		R->caploss = cap;
		R->losshead = 0;
	}
	R->loss[(R->losshead + R->nloss++) % R->caploss] = *c;
}

/* alert_evidence over the kept losses, in the stores' order: by time, ties in the order made */
static void loss_evidence(struct pipeline *R, struct dm_event *ev)
{
	int64_t from, to;
	alert_evidence_window(ev, R->bin, &from, &to);
	if (R->loss_gone_t >= from || !R->nloss)
		return;   /* the log does not cover the window: nothing rather than a part */
	struct sig_change *ch = malloc(R->nloss * sizeof *ch);
	if (!ch)
		return;
	size_t n = 0;
	for (size_t i = 0; i < R->nloss; i++) {
		const struct sig_change *c = &R->loss[(R->losshead + i) % R->caploss];
		if (c->t >= from && c->t < to && alert_change_of(c, &ev->entity)) {
			/* insertion keeps ties in the order made; changes come nearly in time order */
			size_t j = n++;
			for (; j > 0 && ch[j - 1].t > c->t; j--)
				ch[j] = ch[j - 1];
			ch[j] = *c;
		}
	}
	alert_evidence_of(ev, ch, n, R->names.geo);
	free(ch);
}

static void emit_change(void *arg, const struct sig_change *c)
{
	struct pipeline *R = arg;
	if ((R->from && c->t < R->from) || (R->to && c->t >= R->to))
		return;
	R->changes++;
	if (R->keep_losses)
		keep_loss(R, c);
	if (R->db && !R->db_failed) {
		if (store_put_change(R->db, c))
			pl_db_fail(R, "write (vis_changes)");
		else
			R->changes_pending++;
	}
	if (!R->cf)
		return;
	char tb[32], pfx[DM_PREFIX_STRLEN], ip[DM_IP_STRLEN];
	dm_time_fmt(c->t, DM_TIME_ISO, tb);
	dm_prefix_fmt(&c->prefix, pfx);
	dm_ip_fmt(&c->peer_addr, ip);
	fprintf(R->cf, "%lld,%s,%d,%s,%s,%u,%s,%u,%u,%llu,%u,%u,%u,%s,%s,\"%s\"\n", (long long)c->t, tb,
	        c->prefix.afi == DM_AFI_IPV6 ? 6 : 4, pfx, c->visible ? "on" : "off", c->covered, c->cc, c->origin_asn,
	        c->upstream_asn, (unsigned long long)c->units, c->peers_before, c->full_feed_peers, c->peer_asn, ip,
	        c->collector[0] ? c->collector : "-", c->countries);
}

void pl_report(struct pipeline *R, const char *file, const struct dm_error *err, int warning)
{
	int k = -err->code;
	if (k < 0 || k >= DM_ERR_COUNT_)
		k = 0;
	if (warning)
		R->warn[k]++;
	else
		R->err[k]++;
	R->data_errors = 1;
	dm_log_rl(k, "%s: offset %llu: %s", file, (unsigned long long)err->offset,
	          err->what[0] ? err->what : dm_err_name(err->code));
}

void pl_progress(struct pipeline *R, const char *file, uint64_t file_done, int force)
{
	if (!R->progress)
		return;
	double t = now_s(&R->t0);
	double since = (double)(R->tlast.tv_sec) + (double)R->tlast.tv_nsec / 1e9;
	if (!force && t - since < 0.5)
		return;
	R->tlast.tv_sec = (time_t)t;
	R->tlast.tv_nsec = (long)((t - (double)(time_t)t) * 1e9);
	double done = (double)(R->bytes_done + file_done), total = (double)R->bytes_total;
	double frac = total > 0 ? done / total : 0;
	double eta = frac > 0.001 ? t / frac - t : 0;
	const char *b = strrchr(file, '/');
	fprintf(stderr, "\r%s: %5.1f%%  %.2f M rec/s  %.2f M elem/s  ETA %d:%02d  %-40.40s", R->name, frac * 100,
	        t > 0 ? (double)R->records / t / 1e6 : 0, t > 0 ? (double)R->elems / t / 1e6 : 0,
	        (int)eta / 60, (int)eta % 60, b ? b + 1 : file);
	fflush(stderr);
}

int pl_coll_fit(struct pipeline *R, uint32_t c)
{
	if (c < R->ccap)
		return 0;
	uint32_t n = c + 16;
	uint64_t *a = realloc(R->crecords, n * sizeof *a);
	if (!a)
		return -1;
	R->crecords = a;
	int64_t *f = realloc(R->cfirst, n * sizeof *f);
	if (!f)
		return -1;
	R->cfirst = f;
	int64_t *l = realloc(R->clast, n * sizeof *l);
	if (!l)
		return -1;
	R->clast = l;
	for (uint32_t i = R->ccap; i < n; i++) {
		R->crecords[i] = 0;
		R->cfirst[i] = R->clast[i] = 0;
	}
	R->ccap = n;
	return 0;
}

static int is_rir_file(const char *option, const char *path)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	return !strcmp(option, "--rir") || (!strcmp(option, "--geo") && strstr(b, "delegated"));
}

/* The snapshot date a delegated file name ends with ("delegated-apnic-20140701"), 0 if none. */
static unsigned long rir_date(const char *path)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	size_t l = strlen(b), k = 0;
	while (k < l && isdigit((unsigned char)b[l - 1 - k]))
		k++;
	return k == 8 ? strtoul(b + l - 8, NULL, 10) : 0;
}

static int rir_cmp(const char *x, const char *y)
{
	unsigned long dx = rir_date(x), dy = rir_date(y);
	if (dx != dy)
		return dx < dy ? -1 : 1;
	const char *bx = strrchr(x, '/'), *by = strrchr(y, '/');
	int c = strcmp(bx ? bx + 1 : x, by ? by + 1 : y);
	return c ? c : strcmp(x, y);
}

/* Where two RIR files disagree the one queried first answers (docs/geo.md). So that the answer
 * does not depend on the order of the options, the RIR files among the named sources are put
 * in the order of the default sources: oldest snapshot (the date the name ends with) first,
 * then by file name, then by path. Other sources keep their places. */
static void rir_order(const char **opts, const char **files, int n)
{
	for (int i = 1; i < n; i++) {   /* insertion sort over the RIR entries only */
		if (!is_rir_file(opts[i], files[i]))
			continue;
		for (int j = i; j > 0;) {
			int k = j - 1;
			while (k >= 0 && !is_rir_file(opts[k], files[k]))
				k--;
			if (k < 0 || rir_cmp(files[k], files[j]) <= 0)
				break;
			const char *to = opts[k], *tf = files[k];
			opts[k] = opts[j];
			files[k] = files[j];
			opts[j] = to;
			files[j] = tf;
			j = k;
		}
	}
}

static int load_geo(struct geo_db *g, const char *path, struct dm_error *err)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	int rc;
	size_t n = strlen(b);
	if (strstr(b, "delegated"))
		rc = geo_load_rir(g, path, err);
	else if (n > 5 && !strcmp(b + n - 5, ".mmdb"))
		rc = geo_load_mmdb(g, path, err);
	else if (strstr(b, "asn") && (strstr(b, ".json") || strstr(b, "asn-ip") || strstr(b, "asnames")))
		rc = geo_load_asnames(g, path, err);
	else
		rc = geo_load_range_csv(g, path, err);
	return rc < 0 ? rc : 0;
}

static void peer_text(const struct rib *r, uint32_t p, char *buf, size_t n)
{
	char ip[DM_IP_STRLEN];
	struct rib_peer_info pi;
	if (rib_peer_info(r, p, &pi)) {
		snprintf(buf, n, "?");
		return;
	}
	dm_ip_fmt(&pi.addr, ip);
	const char *c = rib_collector_name(r, pi.collector);
	snprintf(buf, n, "%s AS%u%s%s%s", ip, pi.asn, c[0] ? " (" : "", c, c[0] ? ")" : "");
}

static void summary(struct pipeline *R, const struct sig_entity *want, size_t nwant)
{
	double t = now_s(&R->t0);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	uint64_t routes = rib_routes(R->rib);
	/* bytes/route from the memory in use: the capacity reserved for growth (tables double; a
	 * synthetic table reserves 600,000 prefixes) says nothing about the cost of a route */
	size_t mem = rib_memory_used(R->rib) + sig_memory_used(R->sig);
	size_t reserved = rib_memory(R->rib) + sig_memory(R->sig);
	double cpu = pl_cpu_s();
	fprintf(stderr, "%s: %llu records, %llu elements in %.2f s wall, %.2f s CPU (%.2f M elements/s per core), "
	        "%llu bins, %llu rows", R->name,
	        (unsigned long long)R->records, (unsigned long long)R->elems, t, cpu,
	        cpu > 0 ? (double)R->elems / cpu / 1e6 : 0, (unsigned long long)sig_bins_emitted(R->sig),
	        (unsigned long long)R->rows);
	if (R->db)
		fprintf(stderr, " (%llu stored)", (unsigned long long)R->rows_db);
	if (R->db || R->cf)
		fprintf(stderr, ", %llu visibility changes", (unsigned long long)R->changes);
	fputc('\n', stderr);
	fprintf(stderr, "%s: %u peers, %llu routes, %u prefixes, %u attribute sets; RIB+signal %.1f MB "
	        "(%.1f bytes/route) in use, %.1f MB reserved, peak RSS %.1f MB\n", R->name,
	        rib_peer_count(R->rib), (unsigned long long)routes, rib_prefix_count(R->rib), rib_attr_count(R->rib), (double)mem / 1e6,
	        routes ? (double)mem / (double)routes : 0, (double)reserved / 1e6, (double)ru.ru_maxrss / 1024);
	for (int fam = 0; fam < 2; fam++) {
		struct sig_fam_info fi;
		sig_fam_info(R->sig, fam, &fi);
		if (!fi.largest)
			continue;
		fprintf(stderr, "%s: IPv%d: %u full-feed peers (rule %s: >= %u prefixes to join, leave below %u; "
		        "largest table %u); ", R->name, fam ? 6 : 4, fi.nff, fi.rule, fi.threshold, fi.leave, fi.largest);
		if (fi.nff)
			fprintf(stderr, "visible (seen by >= %u): %llu prefixes, %llu %s\n", fi.need,
			        (unsigned long long)fi.visible, (unsigned long long)fi.slash24, fam ? "/48s" : "/24s");
		else
			fputs("no full-feed peer: nothing judged (no-data)\n", stderr);
	}
	for (uint32_t c = 0; c < rib_collector_count(R->rib); c++) {
		if (pl_coll_fit(R, c) || !R->crecords[c])
			continue;
		uint32_t span = R->clast[c] > R->cfirst[c] ? (uint32_t)(R->clast[c] - R->cfirst[c]) : 0;
		const char *cn = rib_collector_name(R->rib, c);
		fprintf(stderr, "%s: collector %s: %llu records", R->name, cn[0] ? cn : "-",
		        (unsigned long long)R->crecords[c]);
		if (span)
			fprintf(stderr, ", %.1f records/s over %u s", (double)R->crecords[c] / span, span);
		fputc('\n', stderr);
	}
	for (size_t i = 0; i < nwant; i++) {
		struct sig_bin b;
		if (sig_entity_now(R->sig, &want[i], &b) || (!b.visible_prefixes && !b.full_feed_peers))
			continue;
		uint32_t ids[64];
		uint32_t n = sig_entity_peers(R->sig, &want[i], ids, 64);
		char name[32];
		if (want[i].kind == SIG_COUNTRY)
			snprintf(name, sizeof name, "%s", want[i].cc);
		else
			snprintf(name, sizeof name, "AS%u", want[i].asn);
		fprintf(stderr, "%s: %s IPv%d now: %llu visible prefixes, %llu %s, seen by %u of %u full-feed peers%s", R->name,
		        name, want[i].afi == DM_AFI_IPV6 ? 6 : 4, (unsigned long long)b.visible_prefixes,
		        (unsigned long long)b.slash24,
		        want[i].afi == DM_AFI_IPV6 ? "/48s" : "/24s", b.peers_seeing, b.full_feed_peers, n ? ":" : "");
		for (uint32_t k = 0; k < n && k < 64; k++) {
			char pt[160];
			peer_text(R->rib, ids[k], pt, sizeof pt);
			fprintf(stderr, "%s %s", k ? "," : "", pt);
		}
		if (n > 64)
			fprintf(stderr, ", ...");
		fputc('\n', stderr);
	}
	for (size_t i = 0; i < R->ntruncated; i++)
		fprintf(stderr, "%s: %s\n", R->name, R->truncated[i]);
	uint64_t ne = 0, nw = 0;
	for (int k = 0; k < DM_ERR_COUNT_; k++) {
		ne += R->err[k];
		nw += R->warn[k];
	}
	if (ne || nw) {
		fprintf(stderr, "%s: input problems (skipped, counted):", R->name);
		for (int k = 0; k < DM_ERR_COUNT_; k++) {
			if (R->err[k])
				fprintf(stderr, " %s %llu", dm_err_name((enum dm_err) - k), (unsigned long long)R->err[k]);
			if (R->warn[k])
				fprintf(stderr, " %s(entry) %llu", dm_err_name((enum dm_err) - k), (unsigned long long)R->warn[k]);
		}
		fputc('\n', stderr);
	}
	if (sig_dropped(R->sig))
		fprintf(stderr, "%s: not applied (malformed prefix or out of memory): %llu elements\n", R->name,
		        (unsigned long long)sig_dropped(R->sig));
	if (sig_ignored(R->sig))
		fprintf(stderr, "%s: left out (prefix shorter than /8, IPv6 /16): %llu elements\n", R->name,
		        (unsigned long long)sig_ignored(R->sig));
	if (R->skipped_multicast)
		fprintf(stderr, "%s: %llu multicast-only records skipped\n", R->name, (unsigned long long)R->skipped_multicast);
}

/* The --quality and --changes files, closed on a path that stops before the replay. */
static void close_side_files(struct pipeline *R)
{
	if (R->qf)
		fclose(R->qf);
	if (R->cf)
		fclose(R->cf);
	R->qf = R->cf = NULL;
}


/* ---------- streaming detection ---------- */

/* The entities `darkmap detect` judges in a database: every country and origin AS of one family
 * (the rows the pipeline writes: --country / --asn / --rows choose them). */
static int detect_wants(const struct pipeline *R, const struct sig_entity *e)
{
	return e->afi == (R->o.detect_v6 ? DM_AFI_IPV6 : DM_AFI_IPV4) && (e->kind == SIG_COUNTRY || e->kind == SIG_ASN);
}

static void detect_row(struct pipeline *R, const struct sig_entity *e, const struct sig_bin *b)
{
	if (!detect_wants(R, e))
		return;
	struct dm_event ev[DETECT_MAX_EVENTS];
	int got = detector_feed(R->det, e, b, ev, DETECT_MAX_EVENTS);
	for (int j = 0; j < got; j++) {   /* < 0: a bin judged before a restart (pl_new) */
		if (R->nfound == R->capfound) {
			size_t c = R->capfound ? R->capfound * 2 : 64;
			struct pl_found *m = realloc(R->found, c * sizeof *m);
			if (!m) {
				R->data_errors = 1;
				return;
			}
			R->found = m;
			R->capfound = c;
		}
		int64_t t = ev[j].end ? ev[j].end : ev[j].start;   /* as darkmap detect orders them */
		R->found[R->nfound].ev = ev[j];
		R->found[R->nfound].order = (uint64_t)t << 24 | (R->ev_seq++ & 0xffffff);
		R->nfound++;
	}
}

static int cmp_found(const void *a, const void *b)
{
	const struct pl_found *x = a, *y = b;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* The mapping `darkmap detect` names ASes and compares views with: its defaults, loaded when
 * the first event needs them (as detect does). */
static void ev_geo_load(struct pipeline *R, const struct dm_event *ev)
{
	if (R->ev_geo_tried || (ev->entity.kind != SIG_ASN && ev->type != DM_EV_OUTAGE && ev->type != DM_EV_PARTIAL))
		return;
	R->ev_geo_tried = 1;
	struct dm_error gerr;
	R->ev_geo = geo_db_new();
	if (R->ev_geo && geo_load_defaults(R->ev_geo, &gerr) >= 0) {
		R->names.as_name = geo_as_name;
		R->names.geo = R->ev_geo;
	}
}

/* Events of the bins just closed go out: alert lines, JSON, webhook, the events table. */
static void detect_flush(struct pipeline *R)
{
	if (!R->nfound)
		return;
	qsort(R->found, R->nfound, sizeof *R->found, cmp_found);
	for (size_t i = 0; i < R->nfound; i++)
		ev_geo_load(R, &R->found[i].ev);
	for (size_t i = 0; i < R->nfound; i++) {
		struct dm_event *ev = &R->found[i].ev;
		if (ev->type == DM_EV_OUTAGE || ev->type == DM_EV_PARTIAL || ev->type == DM_EV_NEWNORMAL) {
			if (R->db)
				alert_evidence(R->db, ev, R->bin, R->names.geo);
			else if (R->keep_losses)
				loss_evidence(R, ev);
		}
		int is_alert = alert_is_alert(ev);
		if ((unsigned)ev->type < sizeof R->ev_by_type / sizeof R->ev_by_type[0])
			R->ev_by_type[ev->type]++;
		if (is_alert)
			R->alerts++;
		else
			R->unknowns++;
		if (!R->o.detect_quiet && (is_alert || R->o.detect_all)) {
			if (!is_alert)
				obuf_puts(&R->aout, "[data quality] ");
			alert_text(&R->aout, ev, &R->names);
			obuf_flush(&R->aout);   /* a person is waiting for it */
		}
		if (R->jf || (R->o.webhook && is_alert)) {
			R->js.len = 0;
			alert_json(&R->js, ev, &R->names);
			if (R->jf) {
				fwrite(R->js.buf, 1, R->js.len, R->jf);
				fputc('\n', R->jf);
				fflush(R->jf);
			}
			if (R->hook && is_alert) {
				if (webhook_enqueue(R->hook, R->js.buf, R->js.len))
					R->hook_fail++;   /* queue full: counted, said at the end */
			} else if (R->o.webhook && is_alert) {
				struct webhook_result res;
				if (webhook_post(R->o.webhook, R->js.buf, R->js.len, &R->wo, &res)) {
					R->hook_fail++;
					fprintf(stderr, "darkmap %s: %s\n", R->name, res.error);
				}
			}
		}
		if (R->ev_store && !R->db_failed && store_put_event(R->db, ev))
			pl_db_fail(R, "write (events)");
	}
	R->nfound = 0;
}

/* A restart: the bins already stored are fed back to the detector (their events were told
 * then), so its baselines, warm-up and open events are where the last run left them. */
static int detect_reload(struct pipeline *R)
{
	struct sig_entity *ents = NULL;
	size_t nents = 0;
	if (store_list_entities(R->db, &ents, &nents))
		return -1;
	for (size_t i = 0; i < nents; i++) {
		if (!detect_wants(R, &ents[i]))
			continue;
		struct sig_bin *bins = NULL;
		size_t n = 0;
		if (store_get_bins(R->db, &ents[i], 0, INT64_MAX, &bins, &n)) {
			free(ents);
			return -1;
		}
		struct dm_event ev[DETECT_MAX_EVENTS];
		for (size_t k = 0; k < n; k++)
			detector_feed(R->det, &ents[i], &bins[k], ev, DETECT_MAX_EVENTS);
		R->reloaded_bins += n;
		R->reloaded_entities += n > 0;
		free(bins);
	}
	free(ents);
	return 0;
}

static int detect_open(struct pipeline *R, struct dm_error *err)
{
	R->o.det.bin = R->bin;
	R->det = detector_new(&R->o.det);
	if (!R->det)
		return dm_fail(err, DM_ERR_NOMEM, 0, "out of memory");
	R->names.country_name = geo_country_name;
	obuf_init_fd(&R->aout, R->csv ? 2 : 1);   /* stdout carries the CSV: alerts go to stderr */
	obuf_init_mem(&R->js);
	webhook_opts_default(&R->wo);
	if (R->o.webhook && R->o.commit_bins) {   /* live: a slow server must not stall the sessions */
		R->hook = webhook_new(R->o.webhook, &R->wo, 1024, err);
		if (!R->hook)
			return -1;
	}
	if (R->o.detect_json) {
		/* live runs append: a restart keeps the alerts told before it */
		R->jf = strcmp(R->o.detect_json, "-") ? fopen(R->o.detect_json, R->o.commit_bins ? "a" : "w") : stdout;
		if (!R->jf)
			return dm_fail(err, DM_ERR_IO, 0, "--json %s: %s", R->o.detect_json, strerror(errno));
	}
	R->ev_store = R->db && !R->o.detect_no_store;
	if (R->ev_store) {
		/* the rules this run used, for `darkmap eval` and anyone reading the events */
		const struct { const char *key; double v; } rules[] = {
			{"detect_bin", R->o.det.bin}, {"detect_threshold", R->o.det.threshold}, {"detect_hard", R->o.det.hard},
			{"detect_recover", R->o.det.recover}, {"detect_min_duration", R->o.det.min_duration},
			{"detect_inst_share", R->o.det.inst_min_share},
		};
		for (size_t k = 0; k < sizeof rules / sizeof rules[0]; k++) {
			char mv[32];
			snprintf(mv, sizeof mv, "%g", rules[k].v);
			if (!R->db_failed && store_put_meta(R->db, rules[k].key, mv))
				pl_db_fail(R, "write (meta)");
		}
	}
	if (R->db && detect_reload(R))
		return dm_fail(err, DM_ERR_IO, 0, "%s: reloading the stored bins: %s", R->o.db_path, store_errmsg(R->db));
	return 0;
}

/* Events still open at the end: named once (they were told when raised), as detect does. */
static void detect_finish(struct pipeline *R)
{
	detect_flush(R);
	struct alert_open open;
	alert_open_collect(R->det, &open);
	int werr = obuf_free(&R->aout);
	obuf_free(&R->js);
	if (werr) {
		fprintf(stderr, "darkmap %s: writing the alerts failed: %s\n", R->name, strerror(werr));
		R->status = PL_FAILURE;
	}
	if (R->jf) {
		errno = 0;
		int bad = R->jf == stdout ? fflush(R->jf) != 0 || ferror(R->jf) : (ferror(R->jf) | fclose(R->jf)) != 0;
		if (bad) {
			fprintf(stderr, "darkmap %s: writing the JSON to %s failed: %s\n", R->name,
			        R->jf == stdout ? "standard output" : R->o.detect_json, errno ? strerror(errno) : "I/O error");
			R->status = PL_FAILURE;
		}
		R->jf = NULL;
	}
	if (R->hook) {
		struct webhook_stats st;
		webhook_drain(R->hook);
		webhook_stats(R->hook, &st);
		R->hook_fail += (unsigned)(st.failed + st.dropped);
		if (st.failed)
			fprintf(stderr, "darkmap %s: %llu webhook posts failed, the last: %s\n", R->name,
			        (unsigned long long)st.failed, st.last_error);
		webhook_free(R->hook);
		R->hook = NULL;
	}
	fprintf(stderr, "%s: detection: %u alerts, %u data-quality events%s", R->name, R->alerts, R->unknowns,
	        R->hook_fail ? "; some webhook posts failed" : "");
	if (R->reloaded_bins)
		fprintf(stderr, "; baselines reloaded from %llu stored bins of %zu entities",
		        (unsigned long long)R->reloaded_bins, R->reloaded_entities);
	fputc('\n', stderr);
	alert_open_print(stderr, R->name, &open, &R->names);
}

/* ---------- the pipeline ---------- */

static int open_geo(struct pipeline *R, int64_t when, struct dm_error *err)
{
	R->geo = geo_db_new();
	if (R->o.no_geo || !R->geo)
		return 0;
	if (R->o.ngeo) {
		const char *opts[PL_MAX_GEO], *files[PL_MAX_GEO];
		memcpy(opts, R->o.geo_opt, sizeof opts);
		memcpy(files, R->o.geo_file, sizeof files);
		rir_order(opts, files, R->o.ngeo);
		for (int i = 0; i < R->o.ngeo; i++) {
			struct dm_error e;
			memset(&e, 0, sizeof e);
			int r = strcmp(opts[i], "--geo") ? geo_load_option(R->geo, opts[i], files[i], &e)
			                                 : load_geo(R->geo, files[i], &e);
			if (r < 0) {   /* a source named but not usable: replaying would map its space to ZZ */
				const char *what = e.what[0] ? e.what : dm_err_name(e.code);
				if (strstr(what, files[i]))
					return dm_fail(err, DM_ERR_BAD_VALUE, 0, "%s: %s", opts[i], what);
				return dm_fail(err, DM_ERR_BAD_VALUE, 0, "%s %s: %s", opts[i], files[i], what);
			}
		}
	} else {
		struct dm_error e;
		memset(&e, 0, sizeof e);
		/* The mapping of the data's time (docs/geo.md: geolocation only for recent data). */
		if (geo_load_defaults_at(R->geo, when, &e) < 0)
			dm_log("%s: default mapping sources: %s", R->name, e.what);
	}
	if (!geo_nsources(R->geo))
		dm_log("%s: no mapping source loaded: every prefix counts as country ZZ", R->name);
	return 0;
}

static void add_want(struct pipeline *R, const struct sig_entity *e)
{
	R->want[R->nwant++] = *e;
}

static int open_db(struct pipeline *R, struct dm_error *err)
{
	const struct pl_opts *o = &R->o;
	R->db = store_open(o->db_path, err);
	if (!R->db) {
		if (!strstr(err->what, o->db_path)) {
			char w[sizeof err->what];
			snprintf(w, sizeof w, "%s", err->what);
			snprintf(err->what, sizeof err->what, "%.100s: %.97s", o->db_path, w);
		}
		return -1;
	}
	if (store_begin(R->db))
		pl_db_fail(R, "begin");
	/* run-length rows: quiet entities (most of them) cost one row per change, not per bin */
	if (!R->db_failed && store_set_bin(R->db, o->sig.bin))
		pl_db_fail(R, "write (meta)");
	char buf[256], key[64];
	const struct sig_opts *so = &o->sig;
	snprintf(buf, sizeof buf, "bin=%u vis=%g full-feed=%s full-feed-leave=%g gap-min=%u", so->bin, so->vis,
	         so->ff_rule == SIG_FF_AUTO ? "auto" : so->ff_rule == SIG_FF_ABS ? "abs" : so->ff_rule == SIG_FF_REL ? "rel" : "count",
	         so->ff_leave, so->gap_min);
	snprintf(key, sizeof key, "%s.options", R->name);
	int bad = !R->db_failed && store_put_meta(R->db, key, buf);
	for (size_t i = 0; !bad && !R->db_failed && R->geo && i < geo_nsources(R->geo); i++) {
		snprintf(key, sizeof key, "%s.geo.%zu", R->name, i);
		bad = store_put_meta(R->db, key, geo_source_name(R->geo, i));
	}
	if (bad)
		pl_db_fail(R, "write (meta)");
	if (R->db_failed) {   /* nothing could be stored: do not run for nothing */
		err->what[0] = 0;   /* said by pl_db_fail */
		return -2;
	}
	return 0;
}

static void pl_free(struct pipeline *R)
{
	if (!R)
		return;
	sig_free(R->sig);
	rib_free(R->rib);
	free(R->lazy_hint);
	geo_db_free(R->geo);
	geo_db_free(R->ev_geo);
	detector_free(R->det);
	if (R->hook)   /* a pipeline that failed to open */
		webhook_free(R->hook);
	for (size_t i = 0; i < R->ntruncated; i++)
		free(R->truncated[i]);
	free(R->truncated);
	free(R->crecords);
	free(R->cfirst);
	free(R->clast);
	free(R->ribt);
	free(R->want);
	free(R->found);
	free(R->loss);
	free(R);
}

struct pipeline *pl_new(const struct pl_opts *o, int64_t when, int *status, struct dm_error *err)
{
	*status = PL_FAILURE;
	struct pipeline *R = calloc(1, sizeof *R);
	if (!R) {
		dm_fail(err, DM_ERR_NOMEM, 0, "out of memory");
		return NULL;
	}
	R->o = *o;
	R->name = o->name ? o->name : "pipeline";
	R->csv = o->csv;
	R->from = o->from;
	R->to = o->to;
	R->bin = o->sig.bin;
	R->decode_only = o->decode_only;
	R->progress = !o->quiet && (o->progress || isatty(2));
	dm_log_quiet = o->quiet;
	/* The RIB's tables grow by doubling: keep them mmap'd so realloc moves pages (mremap) instead
	 * of copying; a fixed threshold also stops glibc from raising it after a big free. */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	/* this thread does the heavy work; decompression and page populating help it from another
	 * CPU, not from this one (base/cpu.c says what that was worth) */
	dm_helpers_keep_off(1);
	if (open_geo(R, when, err)) {
		*status = PL_USAGE;
		pl_free(R);
		return NULL;
	}
	R->rib = rib_new();
	R->sig = R->rib ? sig_new(R->rib, o->no_geo || !R->geo ? NULL : geo_countries_cb, R->geo, &o->sig) : NULL;
	R->want = calloc(2 * (o->ncc + o->nasn) + 1, sizeof *R->want);
	if (!R->sig || !R->want) {
		dm_fail(err, DM_ERR_NOMEM, 0, "out of memory");
		pl_free(R);
		return NULL;
	}
	if (R->geo && !o->no_geo)
		sig_set_geo4(R->sig, geo_range4_cb, geo_range4_batch_cb);
	sig_set_emit(R->sig, emit_row, R);
	if (o->quality_path) {
		if (!(R->qf = fopen(o->quality_path, "w"))) {
			dm_fail(err, DM_ERR_IO, 0, "--quality %s: %s", o->quality_path, strerror(errno));
			pl_free(R);
			return NULL;
		}
		fputs("t,time,collector,records,records_per_s,active,silent,gap\n", R->qf);
		sig_set_collector_emit(R->sig, emit_collector, R);
	}
	if (o->changes_path) {
		if (!(R->cf = fopen(o->changes_path, "w"))) {
			dm_fail(err, DM_ERR_IO, 0, "--changes %s: %s", o->changes_path, strerror(errno));
			close_side_files(R);
			pl_free(R);
			return NULL;
		}
		fputs("t,time,afi,prefix,change,covered,cc,origin,upstream,units,peers_before,full_feed_peers,"
		      "peer_asn,peer,collector,countries\n", R->cf);
	}
	R->keep_losses = o->detect && !o->db_path;
	if (o->changes_path || o->db_path || R->keep_losses)
		sig_set_change_emit(R->sig, emit_change, R);
	if (o->rows_countries)
		sig_want_countries(R->sig);
	for (size_t i = 0; i < o->ncc; i++) {
		sig_want_country(R->sig, o->want_cc[i]);
		for (int f = 0; f < 2; f++) {
			struct sig_entity e;
			memset(&e, 0, sizeof e);
			e.kind = SIG_COUNTRY;
			e.afi = f ? DM_AFI_IPV6 : DM_AFI_IPV4;
			e.cc[0] = (char)toupper((unsigned char)o->want_cc[i][0]);
			e.cc[1] = (char)toupper((unsigned char)o->want_cc[i][1]);
			add_want(R, &e);
		}
	}
	for (size_t i = 0; i < o->nasn; i++) {
		sig_want_asn(R->sig, o->want_asn[i]);
		for (int f = 0; f < 2; f++) {
			struct sig_entity e;
			memset(&e, 0, sizeof e);
			e.kind = SIG_ASN;
			e.afi = f ? DM_AFI_IPV6 : DM_AFI_IPV4;
			e.asn = o->want_asn[i];
			add_want(R, &e);
		}
	}
	if (o->db_path && open_db(R, err)) {
		if (R->db)
			store_close(R->db);
		close_side_files(R);
		pl_free(R);
		return NULL;
	}
	if (o->detect && detect_open(R, err)) {
		if (R->db)
			store_close(R->db);
		close_side_files(R);
		pl_free(R);
		return NULL;
	}
	if (R->csv) {
		obuf_init_fd(&R->out, 1);
		obuf_puts(&R->out, "t,time,kind,entity,afi,visible_prefixes,slash24,baseline_slash24,peers_seeing,"
		                   "full_feed_peers,peers_up,peer_frac,announcements,withdrawals,interruptions,"
		                   "more_specifics,quality,records,ff_joined,ff_left\n");
	}
	clock_gettime(CLOCK_MONOTONIC, &R->t0);
	*status = PL_OK;
	return R;
}

uint32_t pl_collector(struct pipeline *R, const char *name) { return rib_collector_find_or_add(R->rib, name); }
void pl_collector_active(struct pipeline *R, uint32_t c, int active)
{
	if (R->tapped) {
		R->tap.active(R->tap.arg, c, active);
		return;
	}
	sig_collector_active(R->sig, c, active);
}

void pl_set_tap(struct pipeline *R, const struct pl_tap *tap)
{
	R->tap = *tap;
	R->tapped = 1;
}

void pl_rows(struct pipeline *R, const struct sig_entity *e, const struct sig_bin *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		emit_row(R, &e[i], &b[i]);
	R->ext_rows += n;
	if (R->det)
		detect_flush(R);
}

void pl_change(struct pipeline *R, const struct sig_change *c) { emit_change(R, c); }

int pl_checkpoint(struct pipeline *R, const char *key, const char *value)
{
	if (!R->db)
		return 0;
	if (R->db_failed)
		return -1;
	if (store_put_meta(R->db, key, value)) {
		pl_db_fail(R, "write (meta)");
		return -1;
	}
	db_commit(R, 1);
	return R->db_failed ? -1 : 0;
}

int pl_get_meta(struct pipeline *R, const char *key, char *buf, size_t len)
{
	return R->db ? store_get_meta(R->db, key, buf, len) : 1;
}
struct geo_db *pl_geo(struct pipeline *R) { return R->o.no_geo ? NULL : R->geo; }

void pl_discard(struct pipeline *R)
{
	if (R->db)
		store_close(R->db);
	close_side_files(R);
	if (R->csv)
		obuf_free(&R->out);
	pl_free(R);
}
int pl_stopped(const struct pipeline *R) { return R->stop; }

void pl_stats(const struct pipeline *R, struct pl_stats *out)
{
	memset(out, 0, sizeof *out);
	out->records = R->records;
	out->elems = R->elems;
	out->routes = rib_routes(R->rib);
	memcpy(out->err, R->err, sizeof out->err);
	memcpy(out->events, R->ev_by_type, sizeof out->events);
	out->last_bin_end = R->last_bin_end;
}
struct rib *pl_rib(struct pipeline *R) { return R->rib; }
void pl_input_error(struct pipeline *R, const char *file, const struct dm_error *err, int warning)
{
	pl_report(R, file, err, warning);
}

void pl_elem(struct pipeline *R, uint32_t collector, const struct dm_elem *e)
{
	struct rib_change ch;
	R->elems++;
	if (R->tapped) {
		R->tap.elem(R->tap.arg, collector, e);
		return;
	}
	rib_apply(R->rib, collector, e, &ch);
	sig_apply(R->sig, e, &ch);
}

void pl_record(struct pipeline *R, uint32_t c)
{
	if (R->tapped)
		R->tap.record(R->tap.arg, c);
	else
		sig_record(R->sig, c);
	R->records++;
	if (pl_coll_fit(R, c))
		return;
	int64_t now = R->now;
	R->crecords[c]++;
	if (!R->cfirst[c] || now < R->cfirst[c])
		R->cfirst[c] = now;
	if (now > R->clast[c])
		R->clast[c] = now;
}

void pl_time(struct pipeline *R, int64_t now)
{
	R->now = now;
	if (R->tapped) {
		R->tap.time(R->tap.arg, now);
		return;
	}
	sig_time(R->sig, now);
	if (R->det)
		detect_flush(R);
	if (R->o.commit_bins && (R->rows_pending || R->changes_pending))
		db_commit(R, 1);
}

void pl_start(struct pipeline *R)
{
	if (R->started)
		return;
	R->started = 1;
	if (R->tapped) {
		R->tap.start(R->tap.arg);
		return;
	}
	sig_start(R->sig);
	if (!sig_no_rib(R->sig) || R->ext_rows)   /* a merger's rows come from elsewhere */
		return;
	/* Tables built from updates alone hold only the prefixes that changed: a peer is known
	 * to be full-feed only once it has sent a whole table (a session reset). */
	const struct sig_opts *so = &R->o.sig;
	if (so->ff_rule == SIG_FF_AUTO || so->ff_rule == SIG_FF_ABS)
		fprintf(stderr, "%s: no RIB given: full-feed peers are unknown until a peer's table reaches "
		        "%u IPv4 / %u IPv6 prefixes; bins before are marked no-data and not judged\n", R->name,
		        so->ff_abs[0], so->ff_abs[1]);
	else
		fprintf(stderr, "%s: no RIB given: tables hold only what the updates sent; full-feed rule "
		        "%s as asked\n", R->name, so->ff_rule == SIG_FF_REL ? "rel" : "count");
}

int pl_finish(struct pipeline *R)
{
	int rc = R->status;
	if (!R->started)
		pl_start(R);
	if (R->tapped)
		R->tap.finish(R->tap.arg);
	else
		sig_finish(R->sig);
	if (R->det)
		detect_finish(R);
	if (R->det && R->status)
		rc = R->status;
	if (R->progress) {
		pl_progress(R, "done", 0, 1);
		fputc('\n', stderr);
	}
	int werr = R->csv ? obuf_free(&R->out) : 0;
	if (werr && !R->csv_failed)
		fprintf(stderr, "darkmap %s: writing the CSV to standard output failed: %s\n", R->name, strerror(werr));
	if (werr)
		R->csv_failed = 1;
	/* fclose reports only the last flush: an earlier failed write shows in ferror */
	if (R->cf && (ferror(R->cf) | fclose(R->cf))) {
		fprintf(stderr, "darkmap %s: --changes %s: write failed: %s\n", R->name, R->o.changes_path,
		        errno ? strerror(errno) : "I/O error");
		rc = PL_FAILURE;
	}
	if (R->qf && (ferror(R->qf) | fclose(R->qf))) {
		fprintf(stderr, "darkmap %s: --quality %s: write failed: %s\n", R->name, R->o.quality_path,
		        errno ? strerror(errno) : "I/O error");
		rc = PL_FAILURE;
	}
	R->cf = R->qf = NULL;
	if (R->db) {
		db_commit(R, 1);
		for (size_t i = 0; i < R->nwant && !R->db_failed; i++) {
			const char *name = NULL;
			if (R->want[i].kind == SIG_COUNTRY)
				name = geo_country_name(R->want[i].cc);
			else if (R->geo)
				name = geo_as_name(R->geo, R->want[i].asn);
			if (name && store_put_entity_name(R->db, &R->want[i], name))
				pl_db_fail(R, "write (entity names)");
		}
		db_commit(R, 0);
		store_close(R->db);
	}
	dm_log_flush_suppressed();
	summary(R, R->want, R->nwant);
	if (R->db_failed) {
		fprintf(stderr, "darkmap %s: %s is incomplete: %llu of %llu rows and %llu of %llu visibility changes "
		        "stored (the database write failed, see above)\n", R->name, R->o.db_path, (unsigned long long)R->rows_db,
		        (unsigned long long)R->rows, (unsigned long long)R->changes_db, (unsigned long long)R->changes);
		rc = PL_FAILURE;
	}
	if (R->csv_failed) {
		fprintf(stderr, "darkmap %s: the CSV on standard output is incomplete (the write failed, see above)\n", R->name);
		rc = PL_FAILURE;
	}
	if ((R->data_errors || sig_dropped(R->sig) || R->hook_fail) && rc == PL_OK)
		rc = PL_DATA_ERRORS;
	if (!R->records && !R->o.synth && !R->ext_rows)
		rc = PL_FAILURE;
	/* A process that exits right after (o.exit_after) leaves the pipeline's memory to the
	 * kernel, whose exit takes it back whole anyway: freed first, one array and mapping at a
	 * time (the RIB's and the signal's arrays, the mapping index), pl_free took 3.3-6.5 ms of a
	 * one-table replay's ~150 (3 runs), and pl_finish's end to the exit seen by the parent was
	 * 7.3 ms against 5.8 without it (medians of 15 runs; issue 12). With AddressSanitizer
	 * everything is freed as before, for its leak check. pl_free frees memory only: nothing is
	 * left unwritten or unsent. */
#ifndef __SANITIZE_ADDRESS__
	if (R->o.exit_after)
		return rc;
#endif
	pl_free(R);
	return rc;
}
