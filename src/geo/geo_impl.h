/* Internals shared by the geo loaders and lookups. Not for other modules. */
#ifndef DM_GEO_IMPL_H
#define DM_GEO_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "geo/geo.h"

__extension__ typedef unsigned __int128 u128;
#define U128_MAX (~(u128)0)

/* The first of v[0, n) that is >= key, or n (v sorted; any contents give an index <= n). */
static inline size_t u128_first_ge(const u128 *v, size_t n, u128 key)
{
	size_t a = 0, b = n;
	while (a < b) {
		size_t m = a + (b - a) / 2;
		if (v[m] < key)
			a = m + 1;
		else
			b = m;
	}
	return a;
}

/* Country code packed in 16 bits: 'K' << 8 | 'P'. */
#define CC_PACK(a, b) ((uint16_t)((unsigned)(uint8_t)(a) << 8 | (uint8_t)(b)))
#define CC_ZZ CC_PACK('Z', 'Z')

enum rir_status { ST_NONE = 0, ST_ALLOCATED, ST_ASSIGNED, ST_OTHER };

/* One input line's address range, as loaded (lines with non-CIDR counts stay one range). */
struct geo_rec {
	u128 lo, hi;
	uint32_t line;
	uint32_t date;      /* RIR yyyymmdd, 0 when absent */
	uint16_t cc;
	uint8_t status;     /* enum rir_status */
};

/* One address family of one source: the loaded ranges and, built from them, the flattened
 * segments: sorted, disjoint, each owned by the most specific range covering it. */
struct geo_fam {
	int v6;
	struct geo_rec *rec;
	size_t nrec, caprec;
	size_t nseg;
	uint32_t *lo4, *hi4;        /* IPv4 segments */
	u128 *lo6, *hi6;            /* IPv6 segments */
	uint16_t *segcc;
	uint32_t *segrec;           /* index into rec */
	uint32_t *bucket4;          /* IPv4: 65537 entries, first segment with hi >= k << 16 */
};

struct geo_asrec {
	uint32_t first, last;
	uint32_t line, date;
	uint16_t cc;
	uint8_t status;
};

struct geo_asname {
	uint32_t asn;
	uint32_t off;       /* into names pool */
	uint16_t cc;        /* trailing ", CC" of a pyasn name; 0 when none */
};

struct geo_source {
	struct geo_source_info info;
	char registry[16];          /* RIR: "apnic" */
	struct geo_fam v4, v6;
	/* RIR asn lines, sorted by first */
	struct geo_asrec *as;
	size_t nas, capas;
	/* AS names: entries + open-addressing hash asn -> entry index + 1 */
	struct geo_asname *names;
	size_t nnames, capnames;
	uint32_t *hkey, *hval;
	size_t hcap;
	char *pool;
	size_t npool, cappool;
	void *mmdb;                 /* MMDB_s * */
	int mmdb_v6;                /* database is IPv6 (IPv4 under ::/96) */
	/* Arrays and strings point into a mapped index file (geo_index.c): not ours to free or
	 * grow; geo_source_own copies them to the heap before a loader adds to the source. */
	int mapped;
};

/* The database's sources [0, nsrc) seen through some views, flattened: one partition of each
 * family's address space, each segment with the country of the first source that covers it
 * (what split answers), 0 where none does. The mapping index holds two (every source; the
 * registration view), so that a prefix's split reads one table where it went down the list of
 * sources for every address the first one leaves out: a one-table replay touched 6 MB of
 * registration tables that way for the few prefixes that reach a gap (issue 12). An IPv4
 * segment's end is kept in 16 bits: the /16 it ends in is told by bucket4 (geo_flat_seg4). */
#define GEO_FLAT_ASK 0xffff   /* no CC_PACK of two letters */
struct geo_flat {
	unsigned views;             /* 1 << view for each view it answers (view 0: every source) */
	size_t nsrc;                /* 0: none */
	size_t n4, n6;
	const uint32_t *bucket4;    /* 65537: the segment holding the start of each /16, then n4 */
	const uint16_t *end4;       /* the low 16 bits of each IPv4 segment's last address */
	const uint8_t *cc4, *cc6;   /* each segment's country, an index into cctab */
	uint16_t cctab[256];        /* CC_PACK; 0: no source covers it; GEO_FLAT_ASK: ask them */
	const u128 *end6;           /* each IPv6 segment's last address */
	void *heap;                 /* the one block holding the arrays when built, not mapped */
};

struct geo_db {
	struct geo_source **src;
	size_t nsrc, capsrc;
	struct geo_flat flat[2];    /* mapped from the index; flat[k].nsrc 0 when not */
	void *map;                  /* the mapped index file the mapped sources point into */
	size_t maplen;
};

/* geo.c */
struct geo_source *geo_source_new(const char *name, enum geo_kind kind);
void geo_source_free(struct geo_source *s);
int geo_db_add(struct geo_db *g, struct geo_source *s);
/* Drops g's flattened views: a source of theirs is about to change. */
void geo_db_unflatten(struct geo_db *g);
struct geo_source *geo_db_find(struct geo_db *g, const char *name, enum geo_kind kind);
char *geo_strdup(const char *s);
void geo_problem(struct geo_source *s, const char *path, uint32_t line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int geo_fam_push(struct geo_fam *f, const struct geo_rec *r);
int geo_fam_build(struct geo_fam *f);
int geo_as_push(struct geo_source *s, const struct geo_asrec *r);
void geo_as_build(struct geo_source *s);
int geo_name_add(struct geo_source *s, uint32_t asn, const char *name, size_t len, uint16_t cc);
u128 geo_ip_u128(const struct dm_ip *ip);
void geo_u128_ip(u128 v, int v6, struct dm_ip *ip);

int geo_source_own(struct geo_source *s);

/* geo_index.c: the binary index of the default sources (docs/geo.md "The mapping index").
 * geo_index_write writes every source of g (none of them mmdb) to path, with key (the text
 * naming the inputs it was built from); geo_index_attach checks an index image of len bytes
 * and adds to g the sources it holds (but those of skip_view, when not 0), pointing into
 * buf, when its key equals key (NULL: any key). 0 when attached, a negative enum dm_err when
 * the image is damaged, of another format version or of another key; never reads outside
 * buf. */
int geo_index_write(const struct geo_db *g, const char *path, const char *key, struct dm_error *err);
int geo_index_attach(struct geo_db *g, const void *buf, size_t len, const char *key, int skip_view,
                     struct dm_error *err);
void geo_index_reseal(void *buf, size_t len);   /* the checksum made right again (fuzzing) */

/* geo.c: [lo, hi] of one family split by sources from..to-1 seen through view (0: every
 * source), each piece handed to fn in address order; uncovered pieces get cc 0 when
 * uncovered0, else ZZ. */
typedef void (*geo_piece_fn)(void *ctx, u128 lo, u128 hi, uint16_t cc);
void geo_split_pieces(const struct geo_db *g, size_t from, size_t to, int view, int v6, u128 lo, u128 hi,
                      int uncovered0, geo_piece_fn fn, void *ctx);

/* geo_flat.c: the flattened sources [0, g->nsrc) of g through view (0 or a view), built on the
 * heap (geo_flat_free frees it): 0, or -1 (out of memory, an mmdb source). */
int geo_flat_build(const struct geo_db *g, int view, struct geo_flat *f);
void geo_flat_free(struct geo_flat *f);
/* The segment of f holding the address x: its last address (>= x), or when that lies past
 * need some address in it >= need (the walk asks no further: the bucket search that finds
 * where a long segment ends is left out); and its country (0: no source covers it;
 * GEO_FLAT_ASK: a country past f's table, the sources know). Any array contents, damaged ones
 * included, give some answer inside the arrays. */
uint32_t geo_flat_seg4(const struct geo_flat *f, uint32_t x, uint32_t need, uint16_t *cc);
/* The IPv4 segments one after another, as geo_flat_seg4 answers them: the first call (w->i
 * GEO_WALK4_START) for x, each next one for the address after the end it answered (x): the
 * next segment is an index step where geo_flat_seg4 searched its /16 again (an answer cut at
 * need: the next call searches). The same answers up to need; on damaged arrays, some answer
 * >= x inside them (geo_flat_seg4's, the walk begun again). */
#define GEO_WALK4_START SIZE_MAX
struct geo_walk4 {
	size_t i;       /* the segment answered last */
	uint32_t k;     /* the /16 its answer ended in */
};
uint32_t geo_flat_walk4(const struct geo_flat *f, struct geo_walk4 *w, uint32_t x, uint32_t need, uint16_t *cc);
u128 geo_flat_seg6(const struct geo_flat *f, u128 x, uint16_t *cc);

/* geo_mmdb.c: walk [lo, hi] of one family through an mmdb source; calls back per covered piece. */
int geo_mmdb_walk(const struct geo_source *s, int v6, u128 lo, u128 hi, geo_piece_fn covered,
                  geo_piece_fn gap, void *ctx);
int geo_mmdb_ip(const struct geo_source *s, const struct dm_ip *ip, struct geo_ip_hit *hit);
void geo_mmdb_close(struct geo_source *s);

/* geo_default.c: UTC seconds of a yyyymmdd date, 0 when it is not one. */
int64_t geo_date_seconds(unsigned long yyyymmdd);

/* geo_load.c */
int geo_slurp(const char *path, char **buf, size_t *len, struct dm_error *err);
/* "name@version" from the npm package.json beside path (malloc'd), or NULL. */
char *geo_npm_package_id(const char *path);

#endif
