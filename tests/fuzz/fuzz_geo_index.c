/* libFuzzer target: the mapping index loader (src/geo/geo_index.c, geo_index_attach) and the
 * lookups over what it attached. The index file is input like any other: a damaged, truncated
 * or foreign file must be refused or, when its tables are in bounds, answer without reading
 * outside it. The first byte picks the mode:
 *   0: the rest is an index image as read from disk;
 *   1: a valid image (written once from a small RIR file, a range CSV and AS names) patched by
 *      the rest, read as (offset: 3 bytes, value: 1 byte) pairs, then cut to a length taken
 *      from its first pair: damage where the loader's checks are, with the checksum left
 *      wrong or (bit 3 of the first byte) made right again, so that the checks behind it
 *      (array bounds, counts, strings, the AS-name hash) see the damage.
 * After an attach, every lookup the pipeline and `darkmap geo` make is run, then a mapped
 * source is copied to the heap (geo_source_own) and added to, as a loader would. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "geo/geo_impl.h"

static uint8_t *valid;
static size_t nvalid;

static int write_fd(const char *text)
{
	int fd = memfd_create("fuzz_geo_index", 0);
	if (fd >= 0 && write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		close(fd);
		return -1;
	}
	return fd;
}

static void load_text(struct geo_db *g, int kind, const char *text)
{
	int fd = write_fd(text);
	if (fd < 0)
		return;
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	struct dm_error err;
	if (kind == 0)
		geo_load_rir(g, path, &err);
	else if (kind == 1)
		geo_load_range_csv(g, path, &err);
	else
		geo_load_asnames(g, path, &err);
	close(fd);
}

static void make_valid(void)
{
	struct geo_db *g = geo_db_new();
	load_text(g, 0, "2|apnic|20140701|3|19830613|20140630|+1000\n"
	                "apnic|*|ipv4|*|2|summary\n"
	                "apnic|KP|ipv4|175.45.176.0|1024|20091221|allocated\n"
	                "apnic|AU|ipv4|1.1.1.0|256|20110811|assigned\n"
	                "apnic|JP|ipv6|2001:db8::|32|20100101|allocated\n"
	                "apnic|KP|asn|131279|1|20091221|allocated\n"
	                "apnic|XX|ipv4|bad|x|y|z\n");
	load_text(g, 1, "175.45.176.0,175.45.177.255,KP\n1.0.0.0,1.0.0.255,AU\n2001:db8::,2001:db8::ffff,ZZ\n");
	load_text(g, 2, "asn,name\n131279,STAR-KP Ryugyong-dong, KP\n4837,CHINA169, CN\n");
	char path[64];
	int fd = memfd_create("fuzz_geo_index_out", 0);
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	struct dm_error err;
	if (fd >= 0 && geo_index_write(g, path, "fuzz key", &err) == 0) {
		off_t n = lseek(fd, 0, SEEK_END);
		valid = n > 0 ? malloc((size_t)n) : NULL;
		if (valid && pread(fd, valid, (size_t)n, 0) == n)
			nvalid = (size_t)n;
	}
	if (fd >= 0)
		close(fd);
	geo_db_free(g);
}

static void lookups(struct geo_db *g)
{
	static const char *const ips[] = { "175.45.177.1", "1.1.1.1", "0.0.0.0", "255.255.255.255",
		                           "2001:db8::1", "::", "ffff::1" };
	static const char *const pfx[] = { "175.45.176.0/22", "0.0.0.0/0", "1.0.0.0/8", "2001:db8::/32",
		                           "::/0", "2001:db8::/96" };
	for (size_t i = 0; i < sizeof ips / sizeof ips[0]; i++) {
		struct dm_ip a;
		if (dm_ip_parse(ips[i], &a) != 0)
			continue;
		geo_cc cc;
		const char *src;
		geo_ip_country(g, &a, cc, &src);
		geo_ip_view_country(g, GEO_VIEW_REGISTRATION, &a, cc, &src);
		for (size_t s = 0; s < geo_nsources(g); s++) {
			struct geo_ip_hit hit;
			geo_source_ip(g, s, &a, &hit);
		}
	}
	for (size_t i = 0; i < sizeof pfx / sizeof pfx[0]; i++) {
		struct dm_prefix p;
		if (dm_prefix_parse(pfx[i], &p) != 0)
			continue;
		dm_prefix_mask(&p);
		struct geo_share sh[8], reg[8];
		struct geo_differ d[8];
		int n1, n2;
		if (p.afi == DM_AFI_IPV4) {   /* the replay's quick answers, one and in a batch */
			uint32_t lo = (uint32_t)p.b[0] << 24 | (uint32_t)p.b[1] << 16 | (uint32_t)p.b[2] << 8 | p.b[3];
			uint32_t hi = lo | (p.len >= 32 ? 0 : 0xffffffffu >> p.len), los[20], his[20];
			uint16_t cc[20];
			for (int k = 0; k < 20; k++) {
				los[k] = lo + (uint32_t)k * 0x01000100u;
				his[k] = los[k] < lo ? UINT32_MAX : hi + (uint32_t)k * 0x01000100u;
			}
			geo_range4_countries(g, los, his, cc, 20);
			if (cc[0] != geo_range4_country(g, lo, hi))
				abort();
		}
		geo_prefix_countries(g, &p, sh, 8);
		geo_prefix_views(g, &p, sh, &n1, reg, &n2, 8);
		geo_prefix_disagreement(g, &p, sh, 8);
		geo_prefix_differ(g, &p, d, 8);
		for (size_t s = 0; s < geo_nsources(g); s++)
			geo_source_prefix_countries(g, s, &p, sh, 8);
	}
	static const uint32_t asns[] = { 0, 131279, 4837, 4294967295u };
	for (size_t i = 0; i < sizeof asns / sizeof asns[0]; i++) {
		geo_cc cc;
		const char *n = geo_as_name(g, asns[i]);
		if (n)
			(void)strlen(n);
		geo_as_country(g, asns[i], cc);
		for (size_t s = 0; s < geo_nsources(g); s++) {
			struct geo_as_hit hit;
			if (geo_source_as(g, s, asns[i], &hit) == 0 && hit.name)
				(void)strlen(hit.name);
		}
	}
	for (size_t s = 0; s < geo_nsources(g); s++) {
		const struct geo_source_info *si = geo_source_info(g, s);
		(void)strlen(si->name);
		if (si->detail)
			(void)strlen(si->detail);
		for (size_t k = 0; k < si->n_problems; k++)
			(void)strlen(si->problems[k]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (!valid)
		make_valid();
	uint8_t *img;
	size_t len;
	if (data[0] % 2 == 0 || !nvalid) {
		len = size - 1;
		img = malloc(len ? len : 1);   /* malloc'd: aligned as a mapped file is */
		if (!img)
			return 0;
		memcpy(img, data + 1, len);
	} else {
		len = nvalid;
		img = malloc(len);
		if (!img)
			return 0;
		memcpy(img, valid, len);
		for (size_t i = 1; i + 4 <= size; i += 4) {
			size_t off = ((size_t)data[i] << 16 | (size_t)data[i + 1] << 8 | data[i + 2]) % len;
			img[off] = data[i + 3];
		}
		if (size >= 5 && data[4] & 1)   /* cut it short */
			len = ((size_t)data[1] << 16 | (size_t)data[2] << 8 | data[3]) % (len + 1);
		if (data[0] & 8)   /* the checksum made right: the checks behind it see the damage */
			geo_index_reseal(img, len);
	}
	struct geo_db *g = geo_db_new();
	struct dm_error err;
	if (g && geo_index_attach(g, img, len, NULL, (data[0] >> 1 & 3) % 3, &err) == 0) {
		lookups(g);
		if (geo_nsources(g) && geo_source_own(g->src[0]) == 0)
			load_text(g, 1, "10.0.0.0,10.0.0.255,DE\n");
		lookups(g);
	}
	geo_db_free(g);
	free(img);
	return 0;
}
