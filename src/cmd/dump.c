/* darkmap dump: decode MRT archives and print bgpdump -m / -M lines or JSON elements.
 * Errors never stop the run: each one is a line on stderr naming the file and byte offset, the
 * record is skipped and counted, decoding goes on; the exit status says whether any happened. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "base/obuf.h"
#include "cmd/cmds.h"
#include "mrt/elem.h"
#include "mrt/mrt.h"
#include "mrt/reader.h"
#include "out/bgpdump.h"
#include "out/json.h"

static const char USAGE[] =
	"usage: darkmap dump [-m | -M | --json] [--progress] [-q] FILE...\n"
	"\n"
	"Decode MRT archives (RFC 6396: TABLE_DUMP, TABLE_DUMP_V2, BGP4MP, BGP4MP_ET, the\n"
	"deprecated BGP type; gzip, bzip2, xz, zstd or plain, detected from the content) and\n"
	"print one line per route event. FILE '-' reads standard input; several files are read\n"
	"one after the other, each with its own PEER_INDEX_TABLE.\n"
	"\n"
	"output:\n"
	"  -m          bgpdump -m lines (the default), byte-identical to bgpdump 1.6.2:\n"
	"              TYPE|TIME|A/W/B|PEER|PEER_AS|PREFIX|AS_PATH|ORIGIN|NEXT_HOP|LOCAL_PREF|\n"
	"              MED|COMMUNITIES|AG/NAG|AGGREGATOR|  and  TYPE|TIME|STATE|PEER|AS|OLD|NEW\n"
	"  -M          bgpdump -M lines: MM/DD/YY HH:MM:SS times, routes end after ORIGIN\n"
	"  --json      JSON Lines, one object per element (BGPStream-style fields: type,\n"
	"              timestamp, collector, peer_address, peer_asn, prefix, path_id, next_hop,\n"
	"              as_path, origin_asns, origin, med, local_pref, communities,\n"
	"              extended_communities, large_communities, aggregator, atomic_aggregate,\n"
	"              old_state, new_state)\n"
	"\n"
	"options:\n"
	"  --progress  on a terminal, show percent done and throughput on stderr\n"
	"  -q          no per-error messages and no summary (the exit status still tells)\n"
	"  -h, --help  this text\n"
	"\n"
	"Problems in the data (truncated records, impossible lengths, lost framing, bad\n"
	"attributes) are reported on stderr as 'FILE: offset N: what', at most 20 per kind\n"
	"before they are only counted; the record is skipped and decoding goes on. A summary\n"
	"(files, records, lines, errors by kind) ends the run on stderr.\n"
	"\n"
	"exit status: 0 no problem, 1 some data could not be read, 2 usage error, 3 the output\n"
	"could not be written (a full disk, a closed pipe): the error names what failed.\n";

enum { OUT_M = 'm', OUT_BIG_M = 'M', OUT_JSON = 'j' };

struct dump {
	int out;
	int progress;          /* redraw a progress line on stderr */
	int quiet;
	struct obuf o;
	/* counters over all files */
	uint64_t files, records, lines, errors;
	uint64_t by_kind[DM_ERR_COUNT_];
	/* progress state */
	double t_start, t_last;
	uint64_t bytes_done;   /* decompressed bytes of finished files */
};

struct elem_arg {
	struct obuf *o;
	const struct json_src *src;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One problem: counted by kind always, printed unless rate-limited or -q. */
static void report(struct dump *d, const char *name, const struct dm_error *err)
{
	int kind = -(int)err->code;
	if (kind <= 0 || kind >= DM_ERR_COUNT_)
		kind = -(int)DM_ERR_BAD_VALUE;
	d->errors++;
	d->by_kind[kind]++;
	if (d->progress)
		fputs("\r\033[K", stderr);
	dm_log_rl(kind, "%s: offset %" PRIu64 ": %s", name, err->offset, err->what);
}

/* The problems of a record beyond the ones kept with their text: counted, never printed. */
static void count_unkept(struct dump *d, const struct mrt_rec *rec)
{
	d->errors += rec->nwarn_unkept;
	for (int k = 1; k < DM_ERR_COUNT_; k++) {
		d->by_kind[k] += rec->warn_unkept[k];
		dm_log_rl_skip(k, rec->warn_unkept[k]);
	}
}

static void draw_progress(struct dump *d, struct mrt_reader *r, const char *name)
{
	double t = now();
	if (t - d->t_last < 0.25)
		return;
	d->t_last = t;
	double el = t - d->t_start;
	uint64_t in = mrt_reader_compressed_offset(r), size = mrt_reader_file_size(r);
	uint64_t out = d->bytes_done + mrt_reader_offset(r);
	char pct[16] = "";
	if (size)
		snprintf(pct, sizeof pct, "%5.1f%% ", 100.0 * (double)in / (double)size);
	fprintf(stderr, "\r\033[K%s: %s%.1f MB read, %.1f MB/s decoded, %" PRIu64 " records", name,
	        pct, in / 1e6, el > 0 ? out / 1e6 / el : 0.0, d->records);
}

static void on_elem(const struct dm_elem *e, void *arg)
{
	struct elem_arg *a = arg;
	json_elem(a->o, a->src, e);
}

static const char *base_name(const char *path)
{
	if (!strcmp(path, "-"))
		return "stdin";
	const char *s = strrchr(path, '/');
	return s && s[1] ? s + 1 : path;
}

static void dump_file(struct dump *d, const char *path)
{
	struct dm_error err;
	memset(&err, 0, sizeof err);
	const char *shown = strcmp(path, "-") ? path : "(stdin)";
	struct mrt_reader *r = mrt_reader_open(path, &err);
	d->files++;
	if (!r) {
		d->errors++;
		d->by_kind[-(int)DM_ERR_IO]++;
		if (!d->quiet)
			fprintf(stderr, "darkmap: %s: %s\n", shown, err.what[0] ? err.what : "cannot open");
		return;
	}
	struct mrt_ctx ctx;
	mrt_ctx_init(&ctx);
	struct json_src src;
	json_src_init(&src, base_name(path), &ctx);
	struct elem_arg ea = { &d->o, &src };
	int mode = d->out == OUT_BIG_M ? BGPDUMP_MODE_BIG_M : BGPDUMP_MODE_M;
	unsigned tick = 0;
	int stuck = 0;
	uint64_t last_err_off = UINT64_MAX;

	for (;;) {
		struct mrt_hdr hdr;
		const uint8_t *body;
		int rc = mrt_reader_next(r, &hdr, &body, &err);
		if (rc == 0)
			break;
		if (rc < 0) {
			report(d, shown, &err);
			/* The reader promises progress after an error; guard against a reader bug
			 * looping on the same spot rather than spinning forever. */
			uint64_t off = mrt_reader_offset(r);
			if (off == last_err_off && ++stuck > 3)
				break;
			last_err_off = off;
			continue;
		}
		stuck = 0;
		d->records++;
		struct mrt_rec rec;
		int dr = mrt_decode(&ctx, &hdr, body, &rec, &err);
		if (dr < 0) {
			report(d, shown, &err);
			continue;
		}
		for (unsigned i = 0; i < rec.nwarn; i++)
			report(d, shown, &rec.warn[i]);
		if (rec.nwarn_unkept)
			count_unkept(d, &rec);
		if (d->out == OUT_JSON)
			d->lines += mrt_elems(&ctx, &rec, on_elem, &ea);
		else
			d->lines += bgpdump_m_record(&d->o, &ctx, &rec, mode);
		if (d->o.failed)
			break;   /* stdout is gone (EPIPE, ENOSPC): nothing more to do */
		if (d->progress && !(++tick & 1023))
			draw_progress(d, r, shown);
	}
	const char *note = mrt_reader_note(r);
	if (note)   /* not an error (zero padding after the compressed data) */
		dm_log_rl(DM_ERR_COUNT_, "%s: note: %s", shown, note);
	d->bytes_done += mrt_reader_offset(r);
	mrt_ctx_free(&ctx);
	mrt_reader_close(r);
	if (d->progress)
		fputs("\r\033[K", stderr);
}

static void summary(const struct dump *d, double seconds)
{
	fprintf(stderr, "darkmap dump: %" PRIu64 " file%s, %" PRIu64 " records, %" PRIu64 " %s, %"
	        PRIu64 " error%s, %.2f s\n", d->files, d->files == 1 ? "" : "s", d->records,
	        d->lines, d->out == OUT_JSON ? "elements" : "lines", d->errors,
	        d->errors == 1 ? "" : "s", seconds);
	if (!d->errors)
		return;
	fputs("darkmap dump: errors by kind:", stderr);
	const char *sep = " ";
	for (int k = 1; k < DM_ERR_COUNT_; k++) {
		if (!d->by_kind[k])
			continue;
		fprintf(stderr, "%s%s %" PRIu64, sep, dm_err_name((enum dm_err) - k), d->by_kind[k]);
		sep = ", ";
	}
	fputc('\n', stderr);
}

int cmd_dump(int argc, char **argv)
{
	struct dump d;
	memset(&d, 0, sizeof d);
	d.out = OUT_M;
	int nfiles = 0, opts_done = 0;
	char **files = calloc((size_t)argc + 1, sizeof *files);
	if (!files)
		return EXIT_FAILURE_;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (opts_done || a[0] != '-' || !strcmp(a, "-")) {
			files[nfiles++] = argv[i];
		} else if (!strcmp(a, "--")) {
			opts_done = 1;
		} else if (!strcmp(a, "-m")) {
			d.out = OUT_M;
		} else if (!strcmp(a, "-M")) {
			d.out = OUT_BIG_M;
		} else if (!strcmp(a, "--json") || !strcmp(a, "-j")) {
			d.out = OUT_JSON;
		} else if (!strcmp(a, "--progress")) {
			d.progress = 1;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			d.quiet = 1;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(USAGE, stdout);
			free(files);
			return EXIT_OK;
		} else {
			fprintf(stderr, "darkmap dump: unknown option '%s'\n\n%s", a, USAGE);
			free(files);
			return EXIT_USAGE;
		}
	}
	if (!nfiles) {
		fprintf(stderr, "darkmap dump: no input file (use '-' for standard input)\n\n%s", USAGE);
		free(files);
		return EXIT_USAGE;
	}
	d.progress = d.progress && !d.quiet && isatty(2);
	dm_log_quiet = d.quiet;
	obuf_init_fd(&d.o, 1);
	d.t_start = d.t_last = now();
	for (int i = 0; i < nfiles && !d.o.failed; i++)
		dump_file(&d, files[i]);
	int werr = obuf_free(&d.o);
	free(files);
	if (!d.quiet)
		dm_log_flush_suppressed();
	if (werr) {
		/* The output is incomplete: no summary that reads like a success, even with -q. */
		fprintf(stderr, "darkmap dump: writing standard output failed: %s; output incomplete (%" PRIu64
		        " records read, %" PRIu64 " %s formatted, not all written)\n", strerror(werr), d.records, d.lines,
		        d.out == OUT_JSON ? "elements" : "lines");
		return EXIT_FAILURE_;
	}
	if (!d.quiet)
		summary(&d, now() - d.t_start);
	return d.errors ? EXIT_DATA_ERRORS : EXIT_OK;
}
