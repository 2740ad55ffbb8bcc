/* MRT archive of a live collector. See archive.h for the layout and the crash rules. */
#include "live/archive.h"

#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/arena.h"
#include "mrt/writer.h"
#include "rib/rib.h"

enum { PATH_MAX_ = 4096, DIR_MAX = 3072, RIB_CLOCK_EVERY = 256 /* prefixes between clock reads in a snapshot */ };

struct job {                      /* a closed file to compress */
	struct job *next;
	char path[];
};

struct archive {
	struct archive_opts o;
	char *root;                   /* DIR/<name> */
	int lock_fd;
	struct mrt_writer *upd;       /* updates file being written, or NULL */
	char upd_path[PATH_MAX_];
	int64_t upd_end;              /* end of its interval */
	int64_t next_rib;             /* when the next snapshot is due (0: none) */
	int64_t last_flush_ms;
	const struct rib *rib;
	uint32_t rib_collector;
	struct wbuf rb;               /* a RIB record being built */
	struct arena arena;
	struct event *timer;
	struct archive_stats st;      /* compressed and errors of the thread: under mu */
	/* compression thread */
	pthread_t thread;
	int thread_on;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *head, **tail;
	int stop;
	uint64_t thread_compressed, thread_errors;
};

void archive_opts_default(struct archive_opts *o)
{
	memset(o, 0, sizeof *o);
	o->rotate = 900;
	o->rib_interval = 7200;
	o->flush_ms = 1000;
	o->comp = DM_COMP_BZIP2;
}

static int64_t now_of(const struct archive *a, uint32_t *usec)
{
	uint32_t u = 0;
	int64_t t;
	if (a->o.clock) {
		t = a->o.clock(a->o.clock_arg, &u);
	} else {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		t = ts.tv_sec;
		u = (uint32_t)(ts.tv_nsec / 1000);
	}
	if (usec)
		*usec = u;
	return t;
}

static int64_t now_ms(const struct archive *a)
{
	uint32_t u;
	int64_t t = now_of(a, &u);
	return t * 1000 + u / 1000;
}

static const char *comp_suffix(enum dm_compression c)
{
	return c == DM_COMP_BZIP2 ? ".bz2" : c == DM_COMP_GZIP ? ".gz" : "";
}

static int exists(const char *p)
{
	struct stat st;
	return lstat(p, &st) == 0;
}

static int mkdirs(char *path)
{
	for (char *s = path + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		int rc = mkdir(path, 0755);
		*s = '/';
		if (rc && errno != EEXIST)
			return -1;
	}
	return mkdir(path, 0755) && errno != EEXIST ? -1 : 0;
}

/* ---- compression thread -------------------------------------------------------------------- */

/* Copies path into a hidden compressed file beside it, fsyncs, renames it to path + suffix and
 * removes path. The plain file stays until the compressed one is complete under its name. */
static int compress_file(const char *path, enum dm_compression comp)
{
	const char *slash = strrchr(path, '/');
	size_t dirlen = slash ? (size_t)(slash - path + 1) : 0;
	char tmp[PATH_MAX_], fin[PATH_MAX_];
	snprintf(tmp, sizeof tmp, "%.*s.%s%s", (int)dirlen, path, path + dirlen, comp_suffix(comp));
	snprintf(fin, sizeof fin, "%s%s", path, comp_suffix(comp));
	FILE *in = fopen(path, "rb");
	if (!in)
		return -1;
	FILE *out = fopen(tmp, "wb");
	if (!out) {
		fclose(in);
		return -1;
	}
	struct dm_error err;
	struct mrt_writer *w = mrt_writer_open_stream(out, comp, &err);
	/* On the heap, not thread-local: every thread of every command (dump's among them) would
	 * clear 64 KB of static TLS at its start, 16 page faults. */
	enum { COPY_BUF = 1 << 16 };
	uint8_t *buf = malloc(COPY_BUF);
	int rc = w && buf ? 0 : -1;
	size_t n;
	while (!rc && (n = fread(buf, 1, COPY_BUF, in)) > 0)
		rc = mrt_write_bytes(w, buf, n, &err);
	free(buf);
	if (ferror(in))
		rc = -1;
	if (w && mrt_writer_close(w, &err))
		rc = -1;
	if (fflush(out) || fsync(fileno(out)))
		rc = -1;
	fclose(out);
	fclose(in);
	if (!rc && rename(tmp, fin))
		rc = -1;
	if (rc) {
		unlink(tmp);
		return -1;
	}
	unlink(path);
	return 0;
}

static void *compress_main(void *arg)
{
	struct archive *a = arg;
	pthread_mutex_lock(&a->mu);
	for (;;) {
		while (!a->head && !a->stop)
			pthread_cond_wait(&a->cv, &a->mu);
		struct job *j = a->head;
		if (!j)
			break;   /* stop, and the queue is empty */
		a->head = j->next;
		if (!a->head)
			a->tail = &a->head;
		pthread_mutex_unlock(&a->mu);
		int rc = compress_file(j->path, a->o.comp);
		free(j);
		pthread_mutex_lock(&a->mu);
		if (rc)
			a->thread_errors++;
		else
			a->thread_compressed++;
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

static void compress_later(struct archive *a, const char *path)
{
	if (a->o.comp == DM_COMP_NONE)
		return;
	size_t n = strlen(path) + 1;
	struct job *j = malloc(sizeof *j + n);
	if (!j) {
		a->st.errors++;
		return;
	}
	memcpy(j->path, path, n);
	j->next = NULL;
	pthread_mutex_lock(&a->mu);
	*a->tail = j;
	a->tail = &j->next;
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
}

/* ---- what a previous run left ------------------------------------------------------------- */

static int has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n >= m && !strcmp(s + n - m, suf);
}

static void recover_dir(struct archive *a, const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	char p[PATH_MAX_], q[PATH_MAX_ + 8];
	while ((de = readdir(d))) {
		const char *n = de->d_name;
		int compressed = has_suffix(n, ".bz2") || has_suffix(n, ".gz");
		snprintf(p, sizeof p, "%s/%s", dir, n);
		if (n[0] == '.' && compressed) {          /* a compression cut by the crash */
			unlink(p);
			a->st.recovered++;
			continue;
		}
		if (n[0] == '.' || compressed || (strncmp(n, "updates.", 8) && strncmp(n, "rib.", 4)))
			continue;
		snprintf(q, sizeof q, "%s.bz2", p);
		int done = exists(q);
		snprintf(q, sizeof q, "%s.gz", p);
		done |= exists(q);
		if (done) {                                /* compressed, then killed before the unlink */
			unlink(p);
			a->st.recovered++;
		} else if (a->o.comp != DM_COMP_NONE) {
			compress_later(a, p);
			a->st.recovered++;
		}
	}
	closedir(d);
}

static void recover(struct archive *a)
{
	DIR *d = opendir(a->root);
	if (!d)
		return;
	struct dirent *de;
	char p[PATH_MAX_];
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof p, "%s/%s/UPDATES", a->root, de->d_name);
		recover_dir(a, p);
		snprintf(p, sizeof p, "%s/%s/RIBS", a->root, de->d_name);
		recover_dir(a, p);
	}
	closedir(d);
}

/* ---- files ----------------------------------------------------------------------------------- */

/* DIR/<name>/YYYY.MM/<sub>/<kind>.YYYYMMDD.HHMM, with .N when a previous run took the name.
 * Creates the folders and the file (O_EXCL). */
static struct mrt_writer *file_create(struct archive *a, const char *sub, const char *kind, int64_t t, char *path,
                                      struct dm_error *err)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	char dir[DIR_MAX];
	snprintf(dir, sizeof dir, "%s/%04d.%02d/%s", a->root, tm.tm_year + 1900, tm.tm_mon + 1, sub);
	if (mkdirs(dir)) {
		dm_fail(err, DM_ERR_IO, 0, "%s: cannot create: %s", dir, strerror(errno));
		return NULL;
	}
	char base[DIR_MAX + 64];
	snprintf(base, sizeof base, "%s/%s.%04d%02d%02d.%02d%02d", dir, kind, tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min);
	for (unsigned n = 0; n < 10000; n++) {
		char q[PATH_MAX_ + 8];
		if (n)
			snprintf(path, PATH_MAX_, "%s.%u", base, n);
		else
			snprintf(path, PATH_MAX_, "%s", base);
		snprintf(q, sizeof q, "%s.bz2", path);
		int taken = exists(path) || exists(q);
		snprintf(q, sizeof q, "%s.gz", path);
		if (taken || exists(q))
			continue;
		struct mrt_writer *w = mrt_writer_create(path, err);
		if (w || err->code != DM_ERR_IO || errno != EEXIST) {
			if (w)
				a->st.files++;
			return w;
		}
	}
	dm_fail(err, DM_ERR_IO, 0, "%s: 10000 names taken", base);
	return NULL;
}

static void flushed(struct archive *a)
{
	a->st.flushes++;
	a->last_flush_ms = now_ms(a);
	if (a->o.on_flush) {
		struct archive_stats s;
		archive_stats(a, &s);
		a->o.on_flush(a->o.flush_arg, &s);
	}
}

static int upd_close(struct archive *a, struct dm_error *err)
{
	if (!a->upd)
		return 0;
	int rc = mrt_writer_flush(a->upd, !a->o.no_sync, err);
	int rc2 = mrt_writer_close(a->upd, rc ? NULL : err);
	a->upd = NULL;
	if (rc || rc2) {
		a->st.errors++;
		return rc ? rc : rc2;
	}
	compress_later(a, a->upd_path);
	return 0;
}

/* The updates file for time t: rotates when t is past the open file's interval. */
static int upd_for(struct archive *a, int64_t t, struct dm_error *err)
{
	struct dm_error ignored;
	if (!err)
		err = &ignored;
	if (a->upd && t < a->upd_end)
		return 0;
	int rc = upd_close(a, err);
	int64_t start = t - t % a->o.rotate;
	a->upd = file_create(a, "UPDATES", "updates", start, a->upd_path, err);
	if (!a->upd) {
		a->upd_path[0] = 0;
		a->st.errors++;
		return err->code;
	}
	a->upd_end = start + a->o.rotate;
	return rc;
}

/* ---- public ---------------------------------------------------------------------------------- */

struct archive *archive_open(const struct archive_opts *o, struct dm_error *err)
{
	struct dm_error ignored;
	if (!err)
		err = &ignored;
	if (!o->dir || !o->name || !o->name[0] || strchr(o->name, '/') || !strcmp(o->name, ".") ||
	    !strcmp(o->name, "..")) {
		dm_fail(err, DM_ERR_BAD_VALUE, 0, "archive: a directory and a collector name without '/' are needed");
		return NULL;
	}
	struct archive *a = calloc(1, sizeof *a);
	if (!a) {
		dm_fail(err, DM_ERR_NOMEM, 0, "archive: out of memory");
		return NULL;
	}
	a->o = *o;
	if (!a->o.rotate)
		a->o.rotate = 900;
	if (!a->o.flush_ms)
		a->o.flush_ms = 1000;
	a->lock_fd = -1;
	a->tail = &a->head;
	wbuf_init(&a->rb);
	arena_init(&a->arena, 16 << 20);
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	size_t n = strlen(o->dir) + strlen(o->name) + 2;
	a->root = malloc(n);
	if (!a->root)
		goto nomem;
	snprintf(a->root, n, "%s/%s", o->dir, o->name);
	if (mkdirs(a->root)) {
		dm_fail(err, DM_ERR_IO, 0, "%s: cannot create: %s", a->root, strerror(errno));
		goto fail;
	}
	char lock[PATH_MAX_];
	snprintf(lock, sizeof lock, "%s/.lock", a->root);
	a->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (a->lock_fd < 0 || flock(a->lock_fd, LOCK_EX | LOCK_NB)) {
		dm_fail(err, DM_ERR_IO, 0, "%s: %s", lock,
		        errno == EWOULDBLOCK ? "another archiver writes here" : strerror(errno));
		goto fail;
	}
	if (pthread_create(&a->thread, NULL, compress_main, a)) {
		dm_fail(err, DM_ERR_IO, 0, "archive: cannot start the compression thread");
		goto fail;
	}
	a->thread_on = 1;
	recover(a);
	int64_t t = now_of(a, NULL);
	if (a->o.rib_interval)
		a->next_rib = t - t % a->o.rib_interval + a->o.rib_interval;
	a->last_flush_ms = now_ms(a);
	return a;
nomem:
	dm_fail(err, DM_ERR_NOMEM, 0, "archive: out of memory");
fail:
	archive_close(a, NULL);
	return NULL;
}

int archive_close(struct archive *a, struct dm_error *err)
{
	struct dm_error ignored;
	if (!err)
		err = &ignored;
	if (!a)
		return 0;
	if (a->timer)
		event_free(a->timer);
	int rc = upd_close(a, err);
	if (a->thread_on) {
		pthread_mutex_lock(&a->mu);
		a->stop = 1;
		pthread_cond_signal(&a->cv);
		pthread_mutex_unlock(&a->mu);
		pthread_join(a->thread, NULL);
	}
	for (struct job *j = a->head, *nx; j; j = nx) {
		nx = j->next;
		free(j);
	}
	if (a->lock_fd >= 0)
		close(a->lock_fd);
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->cv);
	wbuf_free(&a->rb);
	arena_free(&a->arena);
	free(a->root);
	free(a);
	return rc;
}

void archive_stats(const struct archive *a, struct archive_stats *out)
{
	*out = a->st;
	pthread_mutex_lock((pthread_mutex_t *)&a->mu);
	out->compressed = a->thread_compressed;
	out->errors += a->thread_errors;
	pthread_mutex_unlock((pthread_mutex_t *)&a->mu);
}

const char *archive_current(const struct archive *a) { return a->upd ? a->upd_path : ""; }

static int counted(struct archive *a, int rc)
{
	if (rc)
		a->st.errors++;
	else
		a->st.records++;
	return rc;
}

int archive_message(struct archive *a, int64_t ts, uint32_t usec, const struct mrt_session *s, const uint8_t *msg,
                    size_t len, struct dm_error *err)
{
	int rc = upd_for(a, ts, err);
	return a->upd ? counted(a, mrt_write_message(a->upd, (uint32_t)ts, usec, s, msg, len, err)) : rc;
}

int archive_state(struct archive *a, int64_t ts, uint32_t usec, const struct mrt_session *s, uint16_t old_state,
                  uint16_t new_state, struct dm_error *err)
{
	int rc = upd_for(a, ts, err);
	return a->upd ? counted(a, mrt_write_state(a->upd, (uint32_t)ts, usec, s, old_state, new_state, err)) : rc;
}

void archive_rib_source(struct archive *a, const struct rib *r, uint32_t collector)
{
	a->rib = r;
	a->rib_collector = collector;
}

/* The RIB's peer fields the snapshot needs (rib_peer_info). */
static int rib_peer_of(const struct rib *r, uint32_t i, uint32_t collector, struct mrt_peer *out)
{
	struct rib_peer_info p;
	if (rib_peer_info(r, i, &p) || p.collector != collector)
		return 0;
	out->addr = p.addr;
	out->asn = p.asn;
	out->bgp_id = 0;   /* the RIB does not keep it */
	return 1;
}

enum { MAX_PATHS = 64 };

int archive_rib_snapshot(struct archive *a, struct dm_error *err)
{
	struct dm_error ignored;
	if (!err)
		err = &ignored;
	if (!a->rib)
		return 0;
	const struct rib *r = a->rib;
	int64_t t = now_of(a, NULL);
	int64_t slot = a->o.rib_interval ? t - t % a->o.rib_interval : t;
	/* the peers of this collector: their RIB index and their place in the PEER_INDEX_TABLE */
	uint32_t npeer = rib_peer_count(r);
	uint32_t *idx = malloc((npeer ? npeer : 1) * sizeof *idx);
	struct mrt_peer *peers = malloc((npeer ? npeer : 1) * sizeof *peers);
	if (!idx || !peers) {
		free(idx);
		free(peers);
		a->st.errors++;
		return dm_fail(err, DM_ERR_NOMEM, 0, "archive: out of memory");
	}
	uint32_t np = 0;
	for (uint32_t i = 0; i < npeer && np < 0xffff; i++)
		if (rib_peer_of(r, i, a->rib_collector, &peers[np]))
			idx[np++] = i;
	char path[PATH_MAX_];
	struct mrt_writer *w = file_create(a, "RIBS", "rib", slot, path, err);
	int rc = w ? 0 : err->code;
	if (w) {
		struct mrt_peer_index pi = { .collector_id = 0, .npeers = (uint16_t)np, .peers = peers };
		snprintf(pi.view, sizeof pi.view, "%s", a->o.name);
		a->rb.len = 0;
		rc = mrt_encode_peer_index(&a->rb, (uint32_t)t, &pi, err);
		if (!rc)
			rc = mrt_write_bytes(w, a->rb.p, a->rb.len, err);
		if (!rc)
			a->st.rib_records++;
	}
	uint32_t seq = 0;
	struct rib_path paths[MAX_PATHS];
	for (uint32_t pfx = 0; !rc && pfx < rib_prefix_count(r); pfx++) {
		if (pfx % RIB_CLOCK_EVERY == 0 && now_ms(a) - a->last_flush_ms >= a->o.flush_ms) {
			if ((rc = mrt_writer_flush(w, !a->o.no_sync, err)))
				break;
			flushed(a);
		}
		/* ADD-PATH form when a peer holds more than one path or a path id (RFC 8050 §4.3) */
		int addpath = 0, any = 0;
		for (uint32_t k = 0; k < np && !addpath; k++) {
			int n = rib_route_paths(r, idx[k], pfx, paths, MAX_PATHS);
			any |= n > 0;
			addpath = n > 1 || (n == 1 && paths[0].path_id != 0);
		}
		if (!any && !addpath)
			continue;
		a->rb.len = 0;
		const struct dm_prefix pv = rib_prefix(r, pfx);
		size_t start = mrt_rib_begin(&a->rb, (uint32_t)t, addpath, seq, &pv);
		uint32_t ne = 0;
		for (uint32_t k = 0; k < np; k++) {
			int n = rib_route_paths(r, idx[k], pfx, paths, MAX_PATHS);
			if (n > MAX_PATHS)
				n = MAX_PATHS;
			for (int j = 1; j < n; j++)   /* by path id: the same table writes the same bytes */
				for (int i = j; i > 0 && paths[i - 1].path_id > paths[i].path_id; i--) {
					struct rib_path tp = paths[i];
					paths[i] = paths[i - 1];
					paths[i - 1] = tp;
				}
			for (int j = 0; j < n && j < MAX_PATHS && ne < 0xffff; j++) {
				const struct rib_attr *at = rib_attr_get(r, paths[j].attr);
				size_t alen_at = a->rb.len;
				arena_reset(&a->arena);
				/* the entry with an empty block, then the block in RIB form appended and its
				 * length patched: no second buffer */
				mrt_rib_entry(&a->rb, addpath, (uint16_t)k, (uint32_t)t, paths[j].path_id, NULL, 0);
				size_t blk = a->rb.len;
				if (bgp_attrs_rib_form(&a->rb, rib_attr_raw(at), at->raw_len, at->asn_size, NULL, &a->arena, err) ||
				    a->rb.len - blk > 0xffff) {
					a->rb.len = alen_at;
					a->st.errors++;
					continue;
				}
				wbuf_set_u16(&a->rb, blk - 2, (uint16_t)(a->rb.len - blk));
				ne++;
			}
		}
		if ((rc = mrt_rib_end(&a->rb, start, (uint16_t)ne, err)))
			break;
		seq++;
		if ((rc = mrt_write_bytes(w, a->rb.p, a->rb.len, err)))
			break;
		a->st.rib_records++;
	}
	if (w) {
		int rc2 = mrt_writer_flush(w, !a->o.no_sync, rc ? NULL : err);
		if (!rc2)
			flushed(a);
		int rc3 = mrt_writer_close(w, rc || rc2 ? NULL : err);
		rc = rc ? rc : rc2 ? rc2 : rc3;
		if (!rc)
			compress_later(a, path);
	}
	if (rc)
		a->st.errors++;
	free(idx);
	free(peers);
	return rc;
}

int archive_tick(struct archive *a, struct dm_error *err)
{
	struct dm_error ignored;
	if (!err)
		err = &ignored;
	int64_t t = now_of(a, NULL);
	int rc = 0;
	if (a->upd && t >= a->upd_end) {
		rc = upd_close(a, err);
		flushed(a);
	} else if (a->upd && now_ms(a) - a->last_flush_ms >= a->o.flush_ms) {
		rc = mrt_writer_flush(a->upd, !a->o.no_sync, err);
		if (rc)
			a->st.errors++;
		else
			flushed(a);
	}
	if (a->next_rib && t >= a->next_rib) {
		a->next_rib = t - t % a->o.rib_interval + a->o.rib_interval;
		int rc2 = archive_rib_snapshot(a, rc ? NULL : err);
		rc = rc ? rc : rc2;
	}
	return rc;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct archive *a = arg;
	struct dm_error err;
	archive_tick(a, &err);   /* failures are counted in st.errors */
}

int archive_attach(struct archive *a, struct event_base *base)
{
	a->timer = event_new(base, -1, EV_PERSIST, on_timer, a);
	if (!a->timer)
		return -1;
	struct timeval tv = { a->o.flush_ms / 1000, (a->o.flush_ms % 1000) * 1000 };
	return event_add(a->timer, &tv);
}
