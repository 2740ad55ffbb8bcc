/* src/geo: loaders, longest-match lookups, prefix split by country, AS names.
 * Exact values come from the real files in ../shared/data (line numbers given) and from
 * arithmetic on their lines written out beside each check. Run from the repository root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "geo/geo_impl.h"   /* the mapping index: geo_index_write / geo_index_attach */

static char data_dir[1024];
static char tmp_dir[256];

static const char *data(const char *rel, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s", data_dir, rel);
	return access(buf, R_OK) == 0 ? buf : NULL;
}

static const char *write_tmp(const char *name, const char *text, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s", tmp_dir, name);
	FILE *f = fopen(buf, "wb");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return buf;
}

static struct dm_prefix pfx(const char *s)
{
	struct dm_prefix p;
	assert_int_equal(dm_prefix_parse(s, &p), 0);
	dm_prefix_mask(&p);
	return p;
}

static struct dm_ip ip(const char *s)
{
	struct dm_ip a;
	assert_int_equal(dm_ip_parse(s, &a), 0);
	return a;
}

/* Asserts the shares of a prefix equal "CC n, CC n, ..." exactly. */
static void check_split(const struct geo_db *g, long src, const char *prefix, const char *want)
{
	struct geo_share sh[32];
	struct dm_prefix p = pfx(prefix);
	int n = src < 0 ? geo_prefix_countries(g, &p, sh, 32)
	                : geo_source_prefix_countries(g, (size_t)src, &p, sh, 32);
	char got[512] = "";
	for (int i = 0; i < n; i++) {
		char one[40];
		snprintf(one, sizeof one, "%s%s %llu", i ? ", " : "", sh[i].cc,
		         (unsigned long long)sh[i].addrs);
		strcat(got, one);
	}
	if (strcmp(got, want))
		fail_msg("%s: got \"%s\", want \"%s\"", prefix, got, want);
}

#define NEED(var, rel)                                                         \
	char var##_buf[1200];                                                  \
	const char *var = data(rel, var##_buf, sizeof var##_buf);              \
	if (!var) {                                                            \
		print_message("skip: %s/%s absent\n", data_dir, rel);          \
		skip();                                                        \
	}

/* delegated-apnic-20140701 line 16457: apnic|KP|ipv4|175.45.176.0|1024|20091221|allocated,
 * line 4640: apnic|KP|asn|131279|1|20091221|allocated. */
static void test_rir_kp(void **state)
{
	(void)state;
	NEED(path, "rir/delegated-apnic-20140701");
	struct geo_db *g = geo_db_new();
	struct dm_error err;
	assert_int_equal(geo_load_rir(g, path, &err), 0);
	assert_int_equal(geo_nsources(g), 1);
	assert_string_equal(geo_source_name(g, 0), "rir:delegated-apnic-20140701");
	const struct geo_source_info *si = geo_source_info(g, 0);
	/* header "2|apnic|20140701|33307|...": its summary lines say asn 5746, ipv4 24065,
	 * ipv6 3496 (5746 + 24065 + 3496 = 33307) */
	assert_int_equal(si->n_ipv4, 24065);
	assert_int_equal(si->n_ipv6, 3496);
	assert_int_equal(si->n_asn, 5746);
	assert_int_equal(si->n_bad, 0);

	geo_cc cc;
	const char *src;
	struct dm_ip a = ip("175.45.177.1");
	assert_int_equal(geo_ip_country(g, &a, cc, &src), 0);
	assert_string_equal(cc, "KP");
	assert_string_equal(src, "rir:delegated-apnic-20140701");
	struct geo_ip_hit h;
	assert_int_equal(geo_source_ip(g, 0, &a, &h), 0);
	assert_int_equal(h.plen, 22);
	assert_int_equal(h.line, 16457);
	assert_string_equal(h.record, "apnic|KP|ipv4|175.45.176.0|1024|20091221|allocated");
	check_split(g, -1, "175.45.176.0/22", "KP 1024");
	check_split(g, -1, "175.45.178.0/24", "KP 256");

	assert_int_equal(geo_as_country(g, 131279, cc), 0);
	assert_string_equal(cc, "KP");
	struct geo_as_hit ah;
	assert_int_equal(geo_source_as(g, 0, 131279, &ah), 0);
	assert_int_equal(ah.line, 4640);
	assert_string_equal(ah.record, "apnic|KP|asn|131279|1|20091221|allocated");
	assert_null(geo_as_name(g, 131279));   /* RIR files carry no names */
	assert_string_equal(geo_country_name(cc), "North Korea");
	geo_db_free(g);
}

/* delegated-apnic-20140701 lines 5778-5781:
 *   apnic|AU|ipv4|1.0.0.0|256 / apnic|CN|ipv4|1.0.1.0|256 / apnic|CN|ipv4|1.0.2.0|512 /
 *   apnic|AU|ipv4|1.0.4.0|1024
 * 1.0.0.0/22 = 1.0.0.0-1.0.3.255: AU 256 (1.0.0.0/24), CN 256 + 512 = 768.
 * 1.0.0.0/21 adds 1.0.4.0-1.0.7.255 (AU 1024): AU 1280, CN 768. */
static void test_rir_split_apnic(void **state)
{
	(void)state;
	NEED(path, "rir/delegated-apnic-20140701");
	struct geo_db *g = geo_db_new();
	struct dm_error err;
	assert_int_equal(geo_load_rir(g, path, &err), 0);
	check_split(g, -1, "1.0.0.0/22", "CN 768, AU 256");
	check_split(g, -1, "1.0.0.0/21", "AU 1280, CN 768");
	geo_db_free(g);
}

/* Non-power-of-two counts, delegated-afrinic-20140630 lines 2389-2393:
 *   2389 afrinic|MU|ipv4|196.1.0.0|256    -> 196.1.0.0-196.1.0.255
 *   2390 afrinic|KE|ipv4|196.1.4.0|256    -> 196.1.4.0-196.1.4.255
 *   2391 afrinic|MU|ipv4|196.1.7.0|256    -> 196.1.7.0-196.1.7.255
 *   2392 afrinic|ZA|ipv4|196.1.8.0|1792   -> 196.1.8.0-196.1.14.255 (7 x 256, not a CIDR block)
 *   2393 afrinic|AO|ipv4|196.1.15.0|256   -> 196.1.15.0-196.1.15.255
 * 196.1.8.0/21 (2048): ZA 1792, AO 256.
 * 196.1.0.0/20 (4096): ZA 1792; uncovered 196.1.1.0-196.1.3.255 (768) + 196.1.5.0-196.1.6.255
 * (512) = ZZ 1280; MU 256 + 256 = 512; AO 256; KE 256 (ties in code order). Sum 4096. */
static void test_rir_split_afrinic(void **state)
{
	(void)state;
	NEED(path, "rir/delegated-afrinic-20140630");
	struct geo_db *g = geo_db_new();
	struct dm_error err;
	assert_int_equal(geo_load_rir(g, path, &err), 0);
	check_split(g, -1, "196.1.8.0/21", "ZA 1792, AO 256");
	check_split(g, -1, "196.1.0.0/20", "ZA 1792, ZZ 1280, MU 512, AO 256, KE 256");
	/* max 2: only the two largest shares */
	struct geo_share two[2];
	struct dm_prefix p20 = pfx("196.1.0.0/20");
	assert_int_equal(geo_prefix_countries(g, &p20, two, 2), 2);
	assert_string_equal(two[0].cc, "ZA");
	assert_int_equal(two[0].addrs, 1792);
	assert_string_equal(two[1].cc, "ZZ");
	assert_int_equal(two[1].addrs, 1280);
	assert_int_equal(geo_prefix_countries(g, &p20, two, 0), 0);
	struct dm_ip a = ip("196.1.14.255");
	struct geo_ip_hit h;
	assert_int_equal(geo_source_ip(g, 0, &a, &h), 0);
	assert_string_equal(h.cc, "ZA");
	assert_int_equal(h.plen, -1);      /* 1792 addresses: no single CIDR block */
	assert_string_equal(h.record, "afrinic|ZA|ipv4|196.1.8.0|1792|19930804|assigned");

	/* IPv6, lines 3656-3658: TZ 2001:43f8::/48, TZ 2001:43f8:1::/48, KE 2001:43f8:10::/48.
	 * 2001:43f8::/43 holds 2^(64-43) = 2097152 /64s; a /48 is 2^16 = 65536 /64s:
	 * TZ 131072, KE 65536, ZZ 2097152 - 196608 = 1900544. */
	check_split(g, -1, "2001:43f8::/43", "ZZ 1900544, TZ 131072, KE 65536");
	/* line 3763: afrinic|GN|ipv6|2c0f:f600::|32: a /32 is 2^32 /64s */
	check_split(g, -1, "2c0f:f600::/32", "GN 4294967296");
	check_split(g, -1, "2c0f:f600:1:2::/64", "GN 1");
	check_split(g, -1, "2c0f:f600::1/128", "GN 1");
	geo_cc cc;
	a = ip("2001:43f8:10::77");
	assert_int_equal(geo_ip_country(g, &a, cc, NULL), 0);
	assert_string_equal(cc, "KE");
	geo_db_free(g);
}

/* The extended format (8th field opaque-id, empty cc for reserved/available space). */
static void test_rir_extended(void **state)
{
	(void)state;
	NEED(path, "rir/delegated-apnic-extended-20160131");
	struct geo_db *g = geo_db_new();
	struct dm_error err;
	assert_int_equal(geo_load_rir(g, path, &err), 0);
	const struct geo_source_info *si = geo_source_info(g, 0);
	assert_int_equal(si->n_bad, 0);
	assert_true(si->n_skipped > 0);
	check_split(g, -1, "175.45.176.0/22", "KP 1024");
	geo_cc cc;
	assert_int_equal(geo_as_country(g, 131279, cc), 0);
	assert_string_equal(cc, "KP");
	geo_db_free(g);
}

/* asnames.json.gz: "131279": "STAR-KP Ryugyong-dong, KP" (data/asn/PROVENANCE.md). */
static void test_asnames(void **state)
{
	(void)state;
	NEED(path, "asn/asnames.json.gz");
	struct geo_db *g = geo_db_new();
	struct dm_error err;
	assert_int_equal(geo_load_asnames(g, path, &err), 0);
	assert_string_equal(geo_source_name(g, 0), "names:asnames.json.gz");
	assert_int_equal(geo_source_info(g, 0)->n_names, 77586);
	assert_string_equal(geo_as_name(g, 131279), "STAR-KP Ryugyong-dong, KP");
	assert_string_equal(geo_as_name(g, 4837), "CHINA169-BACKBONE CNCGROUP China169 Backbone, CN");
	geo_cc cc;
	assert_int_equal(geo_as_country(g, 131279, cc), 0);   /* from the trailing ", KP" */
	assert_string_equal(cc, "KP");
	assert_null(geo_as_name(g, 4294967295u));
	geo_db_free(g);
}

/* RIR and names together: AS131279 -> KP (RIR) and its name (names file). */
static void test_as_combined(void **state)
{
	(void)state;
	NEED(rir, "rir/delegated-apnic-20140701");
	NEED(names, "asn/asnames.json.gz");
	struct geo_db *g = geo_db_new();
	struct dm_error err;
	assert_int_equal(geo_load_rir(g, rir, &err), 0);
	assert_int_equal(geo_load_asnames(g, names, &err), 0);
	geo_cc cc;
	assert_int_equal(geo_as_country(g, 131279, cc), 0);
	assert_string_equal(cc, "KP");
	assert_string_equal(geo_as_name(g, 131279), "STAR-KP Ryugyong-dong, KP");
	struct geo_as_hit h;
	assert_int_equal(geo_source_as(g, 1, 131279, &h), 0);
	assert_string_equal(h.name, "STAR-KP Ryugyong-dong, KP");
	geo_db_free(g);
}

static void test_rir_malformed(void **state)
{
	(void)state;
	char path[512], want[1400];
	write_tmp("delegated-test", "2|apnic|20140701|11|19830613|20140630|+1000\n"
	          "apnic|*|ipv4|*|3|summary\n"
	          "apnic|KP|ipv4|175.45.176.0|1024|20091221|allocated\n"
	          "apnic|KP|ipv4|175.45.176|1024|20091221|allocated\n"
	          "apnic|CN|ipv4|1.0.1.0|25x|20110414|allocated\n"
	          "apnic|KP|asn|131279|1|20091221|allocated\n"
	          "apnic|KP|ipv6|2001:db8::|129|20091221|allocated\n"
	          "garbage line without separators\n"
	          "apnic|kp|ipv4|10.0.0.0|256|20091221|allocated\n"
	          "apnic|KP|ipv5|10.0.0.0|256|20091221|allocated\n"
	          "apnic||ipv4|10.0.0.0|256||available\n"
	          "apnic|JP|ipv4|255.255.255.0|512|20091221|allocated\n"
	          "apnic|JP|ipv6|2001:db8::1|32|20091221|allocated\r\n",
	          path, sizeof path);
	struct geo_db *g = geo_db_new();
	struct dm_error err;
	assert_int_equal(geo_load_rir(g, path, &err), 0);
	const struct geo_source_info *si = geo_source_info(g, 0);
	assert_int_equal(si->n_ipv4, 1);
	assert_int_equal(si->n_ipv6, 0);
	assert_int_equal(si->n_asn, 1);
	assert_int_equal(si->n_skipped, 1);
	assert_int_equal(si->n_bad, 8);
	assert_int_equal(si->n_problems, 8);
	static const char *const msgs[] = {
		"4: ipv4 start '175.45.176' is not an IPv4 address",
		"5: ipv4 count '25x' is not an address count from 1.0.1.0",
		"7: ipv6 prefix length '129' is not 0..128",
		"8: expected 7 or 8 '|'-separated fields, found 1",
		"9: country code 'kp' is not two capital letters",
		"10: unknown type 'ipv5'",
		"12: ipv4 count '512' is not an address count from 255.255.255.0",
		"13: ipv6 start '2001:db8::1' has bits set past /32",
	};
	for (int i = 0; i < 8; i++) {
		snprintf(want, sizeof want, "%s:%s", path, msgs[i]);
		assert_string_equal(si->problems[i], want);
	}
	check_split(g, -1, "175.45.176.0/22", "KP 1024");
	geo_db_free(g);
}

static void test_missing_and_unusable(void **state)
{
	(void)state;
	struct geo_db *g = geo_db_new();
	struct dm_error err;
	assert_int_equal(geo_load_rir(g, "/nonexistent/delegated-x", &err), DM_ERR_IO);
	assert_string_equal(err.what, "/nonexistent/delegated-x: No such file or directory");
	assert_int_equal(geo_load_range_csv(g, "/nonexistent/x.csv", &err), DM_ERR_IO);
	assert_int_equal(geo_load_asnames(g, "/nonexistent/x.json", &err), DM_ERR_IO);
	assert_int_equal(geo_load_mmdb(g, "/nonexistent/x.mmdb", &err), DM_ERR_IO);
	assert_string_equal(err.what, "/nonexistent/x.mmdb: Error opening the specified MaxMind DB "
	                              "file: No such file or directory");

	char path[512], want[1400];
	/* Not a statistics file at all: an error, no source added. */
	write_tmp("junk", "hello\nworld|x\n", path, sizeof path);
	assert_int_equal(geo_load_rir(g, path, &err), DM_ERR_BAD_VALUE);
	snprintf(want, sizeof want, "%s: no usable delegated-statistics lines (2 malformed; first: "
	         "%s:1: expected 7 or 8 '|'-separated fields, found 1)", path, path);
	assert_string_equal(err.what, want);
	assert_int_equal(geo_load_mmdb(g, path, &err), DM_ERR_BAD_VALUE);
	assert_int_equal(geo_load_range_csv(g, path, &err), DM_ERR_BAD_VALUE);
	/* JSON that does not parse: file:line:column */
	write_tmp("bad.json", "{\"1\": \"A\",\n \"2\": }\n", path, sizeof path);
	assert_int_equal(geo_load_asnames(g, path, &err), DM_ERR_BAD_VALUE);
	snprintf(want, sizeof want, "%s:2:7:", path);
	assert_memory_equal(err.what, want, strlen(want));
	/* Binary bytes: no crash, an error */
	char bin[300];
	for (int i = 0; i < 299; i++)
		bin[i] = (char)(i * 37 % 255 + 1);
	bin[299] = 0;
	write_tmp("bin", bin, path, sizeof path);
	assert_true(geo_load_rir(g, path, &err) < 0);
	assert_true(geo_load_range_csv(g, path, &err) < 0);
	assert_true(geo_load_asnames(g, path, &err) < 0);
	assert_int_equal(geo_nsources(g), 0);

	/* A gzip file cut in the middle: read error with its offset, not a short table. */
	char gz[600], cmd[1400];
	write_tmp("big", "", path, sizeof path);
	FILE *f = fopen(path, "w");
	for (int i = 0; i < 20000; i++)
		fprintf(f, "apnic|KP|ipv4|10.%d.%d.0|256|20091221|allocated\n", i / 256, i % 256);
	fclose(f);
	snprintf(gz, sizeof gz, "%s.gz", path);
	snprintf(cmd, sizeof cmd, "gzip -c '%s' | head -c 20000 > '%s'", path, gz);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(geo_load_rir(g, gz, &err), DM_ERR_IO);
	assert_non_null(strstr(err.what, "read failed"));
	assert_int_equal(geo_nsources(g), 0);
	geo_db_free(g);
}

/* Nested and overlapping ranges in one source: the most specific wins; sources in order. */
static void test_ranges_longest_match(void **state)
{
	(void)state;
	char a[512], b[512], want[1400];
	write_tmp("ranges-a.csv", "ip_range_start,ip_range_end,country_code\n"
	          "10.0.0.0,10.255.255.255,US\n"
	          "10.1.0.0,10.1.255.255,CA\n"           /* nested: CA wins inside */
	          "10.1.2.0,10.1.2.127,MX\n"             /* nested twice */
	          "1.0.1.0,1.0.3.255\n"                  /* line 5: 2 fields */
	          "1.0.4.0,1.0.3.255,AU\n"               /* line 6: empty range */
	          "\"11.0.0.0\",11.0.0.255,de\n"          /* quoted, lower-case code */
	          "11.0.1.0,11.0.1.255,A1\n"             /* line 8: bad code */
	          "167772160,167772415,ZZ\n"             /* unknown: skipped */
	          "2001:db8::,2001:db8:0:ffff:ffff:ffff:ffff:ffff,JP\n",
	          a, sizeof a);
	write_tmp("ranges-b.csv", "9.0.0.0,10.0.0.255,FR\n"
	          "42540766411283801782723599580828532736,42540766411285010708543214210003238911,NL\n",
	          b, sizeof b);
	struct geo_db *g = geo_db_new();
	struct dm_error err;
	assert_int_equal(geo_load_range_csv(g, a, &err), 0);
	assert_int_equal(geo_load_range_csv(g, b, &err), 0);
	assert_int_equal(geo_nsources(g), 2);
	assert_string_equal(geo_source_name(g, 0), "csv:ranges-a.csv");
	const struct geo_source_info *si = geo_source_info(g, 0);
	assert_int_equal(si->n_ipv4, 4);
	assert_int_equal(si->n_ipv6, 1);
	assert_int_equal(si->n_bad, 3);
	assert_int_equal(si->n_skipped, 1);
	snprintf(want, sizeof want, "%s:5: expected 3 fields first,last,country, found 2", a);
	assert_string_equal(si->problems[0], want);
	snprintf(want, sizeof want, "%s:6: range 1.0.4.0-1.0.3.255 is empty or mixes address families", a);
	assert_string_equal(si->problems[1], want);
	snprintf(want, sizeof want, "%s:8: country code 'A1' is not two letters", a);
	assert_string_equal(si->problems[2], want);

	geo_cc cc;
	const char *src;
	struct dm_ip x = ip("10.1.2.3");
	assert_int_equal(geo_ip_country(g, &x, cc, &src), 0);
	assert_string_equal(cc, "MX");
	x = ip("10.1.2.200");
	assert_int_equal(geo_ip_country(g, &x, cc, &src), 0);
	assert_string_equal(cc, "CA");
	x = ip("9.1.1.1");             /* only source b covers it */
	assert_int_equal(geo_ip_country(g, &x, cc, &src), 0);
	assert_string_equal(cc, "FR");
	assert_string_equal(src, "csv:ranges-b.csv");
	x = ip("10.0.0.1");            /* both cover it: the first loaded answers */
	assert_int_equal(geo_ip_country(g, &x, cc, &src), 0);
	assert_string_equal(cc, "US");
	x = ip("12.0.0.1");
	assert_int_equal(geo_ip_country(g, &x, cc, &src), -1);
	assert_string_equal(cc, "ZZ");
	assert_string_equal(src, "");
	/* 10.0.0.0/8 = 16777216: CA /16 65536 minus MX 128 = 65408, MX 128, US the rest
	 * 16777216 - 65536 = 16711680. */
	check_split(g, -1, "10.0.0.0/8", "US 16711680, CA 65408, MX 128");
	/* 8.0.0.0/6 = 8.0.0.0-11.255.255.255 (67108864): source a: US 16711680, CA 65408, MX 128,
	 * DE 256 (11.0.0.0/24); the rest goes to source b: FR 9.0.0.0-9.255.255.255 = 16777216
	 * (10.0.0.0/24 of b is under a's US); uncovered: 8/8 (16777216) + 11/8 less 256
	 * (16776960) = ZZ 33554176. */
	check_split(g, -1, "8.0.0.0/6", "ZZ 33554176, FR 16777216, US 16711680, CA 65408, DE 256, MX 128");
	check_split(g, 1, "10.0.0.0/23", "FR 256, ZZ 256");
	/* A prefix inside one segment of the first source asked is answered without splitting
	 * (geo.c split4_one, issue 12); one that is not falls to the split: segment edges, nested
	 * segments, a gap of source a that source b covers, a /32 at each side of a boundary,
	 * nothing at all, and one source asked alone. */
	check_split(g, -1, "10.1.2.0/25", "MX 128");
	check_split(g, -1, "10.1.2.128/25", "CA 128");
	check_split(g, -1, "10.1.2.0/24", "CA 128, MX 128");
	check_split(g, -1, "10.0.255.255/32", "US 1");
	check_split(g, -1, "10.1.0.0/32", "CA 1");
	check_split(g, -1, "10.1.0.0/16", "CA 65408, MX 128");
	check_split(g, -1, "11.0.0.0/24", "DE 256");
	check_split(g, -1, "11.0.0.0/23", "DE 256, ZZ 256");   /* ties: by code */
	check_split(g, -1, "9.255.255.255/32", "FR 1");
	check_split(g, -1, "12.0.0.0/8", "ZZ 16777216");
	check_split(g, 1, "9.1.0.0/16", "FR 65536");
	check_split(g, 1, "10.0.0.0/24", "FR 256");
	/* The numeric IPv6 range of b is 2001:db8:1::/48 (42540766411283801782723599580828532736 =
	 * 0x20010db8000100000000000000000000, python3 int(ipaddress.ip_address('2001:db8:1::'))): 65536 /64s. a's JP is 2001:db8::/48. */
	check_split(g, -1, "2001:db8::/47", "JP 65536, NL 65536");
	/* An IPv4 address is not in the IPv6 table and vice versa. */
	x = ip("::a00:1");
	assert_int_equal(geo_ip_country(g, &x, cc, NULL), -1);
	geo_db_free(g);
}

/* Non-power-of-two ranges from a CSV partially overlapping each other: the smaller range wins
 * where they overlap, each keeps the rest. */
static void test_ranges_partial_overlap(void **state)
{
	(void)state;
	char a[512];
	write_tmp("overlap.csv", "20.0.0.0,20.0.2.255,SE\n"      /* 768 */
	          "20.0.2.0,20.0.3.127,NO\n",                      /* 384: smaller, wins 20.0.2.x */
	          a, sizeof a);
	struct geo_db *g = geo_db_new();
	struct dm_error err;
	assert_int_equal(geo_load_range_csv(g, a, &err), 0);
	/* 20.0.0.0/22: SE 20.0.0.0-20.0.1.255 = 512, NO 20.0.2.0-20.0.3.127 = 384, ZZ 128 */
	check_split(g, -1, "20.0.0.0/22", "SE 512, NO 384, ZZ 128");
	geo_db_free(g);
}

static void test_names_csv(void **state)
{
	(void)state;
	char a[512], want[1400];
	write_tmp("names.csv", "asn,name\n"
	          "131279,STAR-KP Ryugyong-dong, KP\n"     /* 3 fields: third is the country */
	          "AS4837,\"CHINA169-BACKBONE CHINA UNICOM China169 Backbone, CN\"\n"
	          "x1,foo\n"
	          "1.0.0.0,1.0.0.255,13335,\"Cloudflare, Inc.\"\n"
	          "131279,second name ignored\n",
	          a, sizeof a);
	struct geo_db *g = geo_db_new();
	struct dm_error err;
	assert_int_equal(geo_load_asnames(g, a, &err), 0);
	assert_string_equal(geo_as_name(g, 131279), "STAR-KP Ryugyong-dong");
	assert_string_equal(geo_as_name(g, 4837), "CHINA169-BACKBONE CHINA UNICOM China169 Backbone, CN");
	assert_string_equal(geo_as_name(g, 13335), "Cloudflare, Inc.");
	geo_cc cc;
	assert_int_equal(geo_as_country(g, 131279, cc), 0);
	assert_string_equal(cc, "KP");
	assert_int_equal(geo_as_country(g, 4837, cc), 0);
	assert_string_equal(cc, "CN");
	assert_int_equal(geo_as_country(g, 13335, cc), -1);
	const struct geo_source_info *si = geo_source_info(g, 0);
	assert_int_equal(si->n_names, 3);
	assert_int_equal(si->n_bad, 1);
	snprintf(want, sizeof want, "%s:4: 'x1' is not an AS number", a);
	assert_string_equal(si->problems[0], want);
	geo_db_free(g);
}

/* npm @ip-location-db packages (installed by scripts/bootstrap from package.json). */
static void test_npm_sources(void **state)
{
	(void)state;
	const char *v4 = "node_modules/@ip-location-db/geo-whois-asn-country/geo-whois-asn-country-ipv4.csv";
	const char *v6 = "node_modules/@ip-location-db/geo-whois-asn-country/geo-whois-asn-country-ipv6.csv";
	const char *mm = "node_modules/@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb";
	const char *an = "node_modules/@ip-location-db/asn/asn-ipv4.csv";
	if (access(v4, R_OK) || access(v6, R_OK) || access(mm, R_OK) || access(an, R_OK)) {
		print_message("skip: node_modules/@ip-location-db absent (scripts/bootstrap installs it)\n");
		skip();
	}
	struct geo_db *g = geo_db_new();
	struct dm_error err;
	assert_int_equal(geo_load_range_csv(g, v4, &err), 0);
	assert_int_equal(geo_load_range_csv(g, v6, &err), 0);
	assert_int_equal(geo_load_mmdb(g, mm, &err), 0);
	assert_int_equal(geo_load_asnames(g, an, &err), 0);
	assert_int_equal(geo_nsources(g), 3);
	/* one source for both CSVs, named by the package's own package.json */
	assert_memory_equal(geo_source_name(g, 0), "csv:@ip-location-db/geo-whois-asn-country@", 42);
	assert_memory_equal(geo_source_name(g, 1),
	                    "mmdb:@ip-location-db/geo-whois-asn-country-mmdb@", 48);
	assert_memory_equal(geo_source_name(g, 2), "names:@ip-location-db/asn@", 26);
	assert_int_equal(geo_source_info(g, 0)->n_bad, 0);
	assert_true(geo_source_info(g, 0)->n_ipv4 > 0 && geo_source_info(g, 0)->n_ipv6 > 0);

	/* The package's CSV line "175.45.176.0,175.45.179.255,KP" and its mmdb agree. */
	struct dm_ip a = ip("175.45.177.1");
	struct geo_ip_hit h;
	assert_int_equal(geo_source_ip(g, 0, &a, &h), 0);
	assert_string_equal(h.cc, "KP");
	assert_int_equal(h.plen, 22);
	assert_int_equal(geo_source_ip(g, 1, &a, &h), 0);
	assert_string_equal(h.cc, "KP");
	assert_int_equal(h.plen, 22);
	check_split(g, 1, "175.45.176.0/22", "KP 1024");
	/* CSV lines 1-2 of the IPv4 file: 1.0.0.0-1.0.0.255 AU, 1.0.1.0-1.0.3.255 CN */
	check_split(g, 0, "1.0.0.0/22", "CN 768, AU 256");
	check_split(g, 1, "1.0.0.0/22", "CN 768, AU 256");

	/* Two independent paths over the same data must split a big prefix identically: the CSV
	 * through darkmap's interval tables, the mmdb through libmaxminddb's tree. (Not in all of
	 * IPv6: in 2a00::/12 the package's own two forms disagree on 10 ranges, e.g. CSV line
	 * 128038 "2a01:b740:1df0::-2a01:b740:1dff:ffff:ffff:ffff:ffff:ffff,NL" while the mmdb has
	 * IE for 2a01:b740:1df8::/45; its README warns of data bugs in the npm releases.) */
	static const char *const big[] = { "41.0.0.0/8", "2.0.0.0/8", "175.0.0.0/8", "2001:200::/23" };
	for (size_t k = 0; k < sizeof big / sizeof big[0]; k++) {
		struct geo_share s0[64], s1[64];
		struct dm_prefix p = pfx(big[k]);
		int n0 = geo_source_prefix_countries(g, 0, &p, s0, 64);
		int n1 = geo_source_prefix_countries(g, 1, &p, s1, 64);
		assert_true(n0 > 1);
		assert_int_equal(n0, n1);
		for (int i = 0; i < n0; i++) {
			assert_string_equal(s0[i].cc, s1[i].cc);
			assert_true(s0[i].addrs == s1[i].addrs);
		}
	}
	/* ip-location-db/asn line "175.45.176.0,175.45.179.255,131279,Star Joint Venture Co. Ltd." */
	assert_string_equal(geo_as_name(g, 131279), "Star Joint Venture Co. Ltd.");
	assert_string_equal(geo_as_name(g, 13335), "Cloudflare, Inc.");
	geo_db_free(g);
}

/* The two views, on hand-made files. Registration: an RIR line KP 175.45.176.0/22 and a
 * whois-named CSV (registration by its name) with 10.0.0.0/24 CN. Geolocation: a CSV placing
 * 175.45.176.0-175.45.177.255 in KP and 175.45.178.0/24 in IT, leaving 175.45.179.0/24 to
 * registration, and 10.0.0.0/25 in US. Loaded geolocation first (as the defaults are):
 *   175.45.176.0/22  geolocation KP 512, IT 256, ZZ 256 | registration KP 1024
 *                    combined KP 768 (512 + the 256 registration fills), IT 256
 *                    disagreement: IT's 256 addresses, which registration places in KP
 *   10.0.0.0/24      geolocation US 128, ZZ 128 | registration CN 256 | combined CN 128, US 128
 *                    disagreement: CN 128 (10.0.0.0/25). */
static void test_views(void **state)
{
	(void)state;
	char a[512], b[512], c[512];
	write_tmp("geoloc.csv", "175.45.176.0,175.45.177.255,KP\n175.45.178.0,175.45.178.255,IT\n"
	                        "10.0.0.0,10.0.0.127,US\n", a, sizeof a);
	write_tmp("delegated-test-20140701", "test|KP|ipv4|175.45.176.0|1024|20091221|allocated\n",
	          b, sizeof b);
	write_tmp("geo-whois-test.csv", "10.0.0.0,10.0.0.255,CN\n", c, sizeof c);
	struct geo_db *g = geo_db_new();
	struct dm_error err;
	assert_int_equal(geo_load_range_csv(g, a, &err), 0);
	assert_int_equal(geo_load_rir(g, b, &err), 0);
	assert_int_equal(geo_load_range_csv(g, c, &err), 0);
	assert_int_equal(geo_source_info(g, 0)->view, GEO_VIEW_GEOLOCATION);
	assert_int_equal(geo_source_info(g, 1)->view, GEO_VIEW_REGISTRATION);
	assert_int_equal(geo_source_info(g, 2)->view, GEO_VIEW_REGISTRATION);

	struct geo_share gs[8], rs[8], ds[8];
	int ng, nr;
	struct dm_prefix p = pfx("175.45.176.0/22");
	assert_int_equal(geo_prefix_views(g, &p, gs, &ng, rs, &nr, 8), 0);
	assert_int_equal(ng, 3);
	assert_string_equal(gs[0].cc, "KP");
	assert_true(gs[0].addrs == 512);
	assert_string_equal(gs[1].cc, "IT");   /* equal counts: by code */
	assert_true(gs[1].addrs == 256);
	assert_string_equal(gs[2].cc, "ZZ");
	assert_true(gs[2].addrs == 256);
	assert_int_equal(nr, 1);
	assert_string_equal(rs[0].cc, "KP");
	assert_true(rs[0].addrs == 1024);
	check_split(g, -1, "175.45.176.0/22", "KP 768, IT 256");
	assert_int_equal(geo_prefix_disagreement(g, &p, ds, 8), 1);
	assert_string_equal(ds[0].cc, "KP");
	assert_true(ds[0].addrs == 256);

	p = pfx("10.0.0.0/24");
	assert_int_equal(geo_prefix_views(g, &p, gs, &ng, rs, &nr, 8), 0);
	assert_int_equal(ng, 2);
	assert_string_equal(gs[0].cc, "US");
	assert_string_equal(gs[1].cc, "ZZ");
	assert_int_equal(nr, 1);
	assert_string_equal(rs[0].cc, "CN");
	assert_true(rs[0].addrs == 256);
	check_split(g, -1, "10.0.0.0/24", "CN 128, US 128");
	assert_int_equal(geo_prefix_disagreement(g, &p, ds, 8), 1);
	assert_string_equal(ds[0].cc, "CN");
	assert_true(ds[0].addrs == 128);
	/* Agreement: no share. */
	p = pfx("175.45.176.0/23");
	assert_int_equal(geo_prefix_disagreement(g, &p, ds, 8), 0);
	/* By pair: the /22's 256 IT/KP addresses; 10.0.0.0/24's 128 US/CN; a /16 holding both. */
	struct geo_differ df[8];
	p = pfx("175.45.176.0/22");
	assert_int_equal(geo_prefix_differ(g, &p, df, 8), 1);
	assert_string_equal(df[0].geoloc, "IT");
	assert_string_equal(df[0].reg, "KP");
	assert_true(df[0].addrs == 256);
	p = pfx("0.0.0.0/0");
	assert_int_equal(geo_prefix_differ(g, &p, df, 8), 2);
	assert_string_equal(df[0].geoloc, "IT");
	assert_true(df[0].addrs == 256);
	assert_string_equal(df[1].geoloc, "US");
	assert_string_equal(df[1].reg, "CN");
	assert_true(df[1].addrs == 128);

	geo_cc cc;
	const char *src;
	struct dm_ip x = ip("175.45.178.1");
	assert_int_equal(geo_ip_view_country(g, GEO_VIEW_GEOLOCATION, &x, cc, &src), 0);
	assert_string_equal(cc, "IT");
	assert_string_equal(src, "csv:geoloc.csv");
	assert_int_equal(geo_ip_view_country(g, GEO_VIEW_REGISTRATION, &x, cc, &src), 0);
	assert_string_equal(cc, "KP");
	assert_string_equal(src, "rir:delegated-test-20140701");
	x = ip("175.45.179.1");
	assert_int_equal(geo_ip_view_country(g, GEO_VIEW_GEOLOCATION, &x, cc, &src), -1);
	assert_string_equal(cc, "ZZ");
	assert_int_equal(geo_ip_view_country(g, GEO_VIEW_NONE, &x, cc, &src), 0);
	assert_string_equal(cc, "KP");
	geo_db_free(g);

	/* Only one view loaded: the other gives no share, and nothing disagrees. */
	g = geo_db_new();
	assert_int_equal(geo_load_rir(g, b, &err), 0);
	p = pfx("175.45.176.0/22");
	assert_int_equal(geo_prefix_views(g, &p, gs, &ng, rs, &nr, 8), 0);
	assert_int_equal(ng, 0);
	assert_int_equal(nr, 1);
	assert_int_equal(geo_prefix_disagreement(g, &p, ds, 8), 0);
	geo_db_free(g);
}

/* The default geolocation, npm's @ip-location-db/dbip-country, against the 2014 APNIC file.
 * dbip-country-ipv4.csv lines 237592-237594: "175.45.176.0,175.45.177.255,KP",
 * "175.45.178.0,175.45.178.255,IT", "175.45.179.0,175.45.179.255,KP"; delegated-apnic-20140701
 * line 16457 gives the /22 to KP. So geolocation KP 768, IT 256; registration KP 1024. */
static void test_dbip_views(void **state)
{
	(void)state;
	const char *v4 = "node_modules/@ip-location-db/dbip-country/dbip-country-ipv4.csv";
	if (access(v4, R_OK)) {
		print_message("skip: node_modules/@ip-location-db/dbip-country absent (scripts/bootstrap installs it)\n");
		skip();
	}
	NEED(apnic, "rir/delegated-apnic-20140701");
	struct geo_db *g = geo_db_new();
	struct dm_error err;
	assert_int_equal(geo_load_range_csv(g, v4, &err), 0);
	assert_int_equal(geo_load_rir(g, apnic, &err), 0);
	assert_memory_equal(geo_source_name(g, 0), "csv:@ip-location-db/dbip-country@", 33);
	assert_int_equal(geo_source_info(g, 0)->view, GEO_VIEW_GEOLOCATION);
	struct dm_ip x = ip("175.45.178.1");
	struct geo_ip_hit h;
	assert_int_equal(geo_source_ip(g, 0, &x, &h), 0);
	assert_string_equal(h.cc, "IT");
	assert_int_equal(h.line, 237593);
	struct geo_share gs[8], rs[8], ds[8];
	int ng, nr;
	struct dm_prefix p = pfx("175.45.176.0/22");
	assert_int_equal(geo_prefix_views(g, &p, gs, &ng, rs, &nr, 8), 0);
	assert_int_equal(ng, 2);
	assert_string_equal(gs[0].cc, "KP");
	assert_true(gs[0].addrs == 768);
	assert_string_equal(gs[1].cc, "IT");
	assert_true(gs[1].addrs == 256);
	assert_int_equal(nr, 1);
	assert_true(rs[0].addrs == 1024);
	assert_int_equal(geo_prefix_disagreement(g, &p, ds, 8), 1);
	assert_string_equal(ds[0].cc, "KP");
	assert_true(ds[0].addrs == 256);
	geo_db_free(g);
}

/* geo_load_defaults_at: the DB-IP snapshot (package version 2.3.2026060120: 1 June 2026) is
 * used for data from 2 years (GEO_GEOLOC_VALID = 732 days) before it on. With python3's
 * calendar.timegm: 2026-06-01 is 1780272000, the limit 1780272000 - 732 * 86400 = 1717027200
 * (2024-05-30); 2014-12-22 is 1419206400, older: registration only. 0 means now. */
static void test_defaults_by_date(void **state)
{
	(void)state;
	const char *v4 = "node_modules/@ip-location-db/dbip-country/package.json";
	if (access(v4, R_OK)) {
		print_message("skip: node_modules/@ip-location-db/dbip-country absent (scripts/bootstrap installs it)\n");
		skip();
	}
	static const struct { int64_t when; int dbip; } cases[] = {
		{ 0, 1 }, { 1419206400, 0 }, { 1717027199, 0 }, { 1717027200, 1 }, { 1780272000, 1 },
	};
	unsetenv("DARKMAP_GEO");
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		struct geo_db *g = geo_db_new();
		struct dm_error err;
		assert_true(geo_load_defaults_at(g, cases[k].when, &err) >= 1);
		int found = 0;
		for (size_t i = 0; i < geo_nsources(g); i++)
			found |= !strncmp(geo_source_name(g, i), "csv:@ip-location-db/dbip-country@", 33);
		if (found != cases[k].dbip)
			fail_msg("when %lld: dbip loaded %d, want %d", (long long)cases[k].when, found, cases[k].dbip);
		if (found)   /* first: geolocation answers before registration */
			assert_memory_equal(geo_source_name(g, 0), "csv:@ip-location-db/dbip-country@", 33);
		geo_db_free(g);
	}
	/* DARKMAP_GEO overrides the date both ways. */
	struct geo_db *g = geo_db_new();
	struct dm_error err;
	setenv("DARKMAP_GEO", "geolocation,registration", 1);
	assert_true(geo_load_defaults_at(g, 1419206400, &err) >= 1);
	assert_memory_equal(geo_source_name(g, 0), "csv:@ip-location-db/dbip-country@", 33);
	geo_db_free(g);
	g = geo_db_new();
	setenv("DARKMAP_GEO", "registration", 1);
	assert_true(geo_load_defaults_at(g, 0, &err) >= 0);
	for (size_t i = 0; i < geo_nsources(g); i++)
		assert_null(strstr(geo_source_name(g, i), "dbip"));
	geo_db_free(g);
	g = geo_db_new();
	setenv("DARKMAP_GEO", "bogus", 1);
	assert_int_equal(geo_load_defaults_at(g, 0, &err), DM_ERR_BAD_VALUE);
	assert_string_equal(err.what, "DARKMAP_GEO='bogus': expected 'registration' or 'geolocation,registration' (the default)");
	geo_db_free(g);
	unsetenv("DARKMAP_GEO");
}

static void test_country_names(void **state)
{
	(void)state;
	assert_string_equal(geo_country_name("KP"), "North Korea");
	assert_string_equal(geo_country_name("kp"), "North Korea");
	assert_string_equal(geo_country_name("KR"), "South Korea");
	assert_string_equal(geo_country_name("US"), "United States");
	assert_string_equal(geo_country_name("EU"), "European Union");
	assert_string_equal(geo_country_name("ZZ"), "Unknown");
	assert_string_equal(geo_country_name("AD"), "Andorra");
	assert_string_equal(geo_country_name("ZW"), "Zimbabwe");
	assert_null(geo_country_name("XX"));
	assert_null(geo_country_name("K"));
	assert_null(geo_country_name("KPX"));
	assert_null(geo_country_name(NULL));
}

static void test_empty_db(void **state)
{
	(void)state;
	struct geo_db *g = geo_db_new();
	check_split(g, -1, "0.0.0.0/0", "ZZ 4294967296");
	check_split(g, -1, "::/0", "ZZ 18446744073709551615");
	check_split(g, -1, "2001:db8::/32", "ZZ 4294967296");
	geo_cc cc;
	assert_int_equal(geo_as_country(g, 1, cc), -1);
	assert_string_equal(cc, "ZZ");
	assert_null(geo_as_name(g, 1));
	assert_int_equal(geo_nsources(g), 0);
	assert_null(geo_source_name(g, 0));
	geo_db_free(g);
}

/* Found by fuzz_parse: an mmdb whose search tree points back at itself (node_count 29, most
 * records 0) answers /32 for every address, and geo_prefix_countries(0.0.0.0/0) made 2^32
 * lookups. A walk stops after 2 x node_count + 2 pieces (more than any valid tree has leaves). */
static void test_mmdb_cyclic_tree(void **state)
{
	(void)state;
	static const unsigned char db[] = {
		  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1d,
		  0x00, 0x00, 0x3e, 0x00, 0x00, 0x09, 0x00, 0x00, 0x1d, 0x00, 0x00, 0x1d,
		  0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x5f, 0x63, 0x6f, 0x64,
		  0x65, 0x42, 0x43, 0x4e, 0xe1, 0x4c, 0x63, 0x6f, 0x75, 0x6e, 0x74, 0x72,
		  0x79, 0x5f, 0x63, 0x6f, 0x64, 0x65, 0x42, 0x41, 0x55, 0xe1, 0x4c, 0x63,
		  0x6f, 0x75, 0x6e, 0x74, 0x72, 0x79, 0x5f, 0x63, 0x6f, 0x64, 0x65, 0x42,
		  0x4b, 0x50, 0xab, 0xcd, 0xef, 0x4d, 0x61, 0x78, 0x4d, 0x69, 0x6e, 0x64,
		  0x2e, 0x63, 0x6f, 0x6d, 0xe9, 0x4a, 0x6e, 0x6f, 0x64, 0x65, 0x5f, 0x63,
		  0x6f, 0x75, 0x6e, 0x74, 0xc1, 0x1d, 0x4b, 0x72, 0x65, 0x63, 0x6f, 0x72,
		  0x64, 0x5f, 0x73, 0x69, 0x7a, 0x65, 0xa1, 0x18, 0x4a, 0x69, 0x70, 0x5f,
		  0x76, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e, 0xa1, 0x04, 0x4d, 0x64, 0x61,
		  0x74, 0x61, 0x62, 0x61, 0x73, 0x65, 0x5f, 0x74, 0x79, 0x70, 0x65, 0x4c,
		  0x64, 0x61, 0x72, 0x6b, 0x6d, 0x61, 0x70, 0x2d, 0x66, 0x75, 0x7a, 0x7a,
		  0x49, 0x6c, 0x61, 0x6e, 0x67, 0x75, 0x61, 0x67, 0x65, 0x73, 0x00, 0x04,
		  0x5b, 0x62, 0x69, 0x6e, 0x61, 0x72, 0x79, 0x5f, 0x66, 0x6f, 0x72, 0x6d,
		  0x61, 0x74, 0x5f, 0x6d, 0x61, 0x6a, 0x6f, 0x72, 0x5f, 0x76, 0x65, 0x72,
		  0x73, 0x69, 0x6f, 0x6e, 0xa1, 0x02, 0x5b, 0x62, 0x69, 0x6e, 0x61, 0x72,
		  0x79, 0x5f, 0x66, 0x6f, 0x72, 0x6d, 0x61, 0x74, 0x5f, 0x6d, 0x69, 0x6e,
		  0x6f, 0x72, 0x5f, 0x76, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e, 0xa0, 0x4b,
		  0x62, 0x75, 0x69, 0x6c, 0x64, 0x5f, 0x65, 0x70, 0x6f, 0x63, 0x68, 0x04,
		  0x02, 0x65, 0x53, 0xf1, 0x00, 0x4b, 0x64, 0x65, 0x73, 0x63, 0x72, 0x69,
		  0x70, 0x74, 0x69, 0x6f, 0x6e, 0xe0
	};
	char path[512];
	snprintf(path, sizeof path, "%s/cyclic.mmdb", tmp_dir);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(db, 1, sizeof db, f), sizeof db);
	fclose(f);
	struct geo_db *g = geo_db_new();
	struct dm_error err;
	assert_int_equal(geo_load_mmdb(g, path, &err), 0);
	struct geo_share sh[4];
	struct dm_prefix all = pfx("0.0.0.0/0");
	time_t t0 = time(NULL);
	int n = geo_prefix_countries(g, &all, sh, 4);
	assert_true(time(NULL) - t0 < 5);
	assert_true(n >= 1);
	uint64_t sum = 0;
	for (int i = 0; i < n && i < 4; i++)
		sum += sh[i].addrs;
	assert_true(sum == 4294967296ull);   /* every address accounted for, the rest as ZZ */
	geo_db_free(g);
	unlink(path);
}

/* ---- the mapping index (geo_index.c) ---- */

/* A small database of every kind the defaults hold: RIR (IPv4, IPv6, AS lines, a malformed
 * line kept as a problem), a range CSV (geolocation view), AS names. */
static struct geo_db *index_db(void)
{
	char a[512], b[512], c[512];
	write_tmp("delegated-test-20140701",
	          "2|apnic|20140701|4|19830613|20140630|+1000\n"
	          "apnic|KP|ipv4|175.45.176.0|1024|20091221|allocated\n"
	          "apnic|AU|ipv4|1.1.1.0|256|20110811|assigned\n"
	          "apnic|JP|ipv6|2001:db8::|32|20100101|allocated\n"
	          "apnic|KP|asn|131279|1|20091221|allocated\n"
	          "apnic|XX|ipv4|bad|x|y|z\n", a, sizeof a);
	write_tmp("ranges.csv", "175.45.176.0,175.45.177.255,KP\n1.0.0.0,1.0.0.255,AU\n2001:db8::,2001:db8::ffff,DE\n",
	          b, sizeof b);
	write_tmp("names.csv", "asn,name\n131279,STAR-KP Ryugyong-dong, KP\n4837,CHINA169, CN\n", c, sizeof c);
	struct geo_db *g = geo_db_new();
	struct dm_error err;
	assert_int_equal(geo_load_range_csv(g, b, &err), 0);
	assert_int_equal(geo_load_rir(g, a, &err), 0);
	assert_int_equal(geo_load_asnames(g, c, &err), 0);
	return g;
}

static unsigned char *index_image(const struct geo_db *g, const char *key, size_t *len)
{
	char path[512];
	snprintf(path, sizeof path, "%s/test.idx", tmp_dir);
	struct dm_error err;
	assert_int_equal(geo_index_write(g, path, key, &err), 0);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *buf = malloc(*len);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, *len, f), *len);
	fclose(f);
	unlink(path);
	return buf;
}

/* A file of the same name as one loaded before, in tmp_dir/more (sub: that folder, more: the
 * file): a loader adds it to the source of that name. */
static void write_more(const char *name, const char *text, char sub[512], char more[600])
{
	snprintf(sub, 512, "%s/more", tmp_dir);
	mkdir(sub, 0755);
	snprintf(more, 600, "%s/%s", sub, name);
	FILE *f = fopen(more, "wb");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Every answer of a and b for the probes, as one text (equal text: equal answers). */
static void index_answers(const struct geo_db *g, char *out, size_t n)
{
	static const char *const ips[] = { "175.45.177.1", "175.45.178.1", "1.1.1.1", "1.0.0.7", "8.8.8.8",
		                           "2001:db8::1", "2001:db8:1::1" };
	static const char *const pfxs[] = { "175.45.176.0/22", "1.0.0.0/15", "0.0.0.0/0", "2001:db8::/32" };
	size_t k = 0;
	out[0] = 0;
#define ADD(...) k += (size_t)snprintf(out + k, k < n ? n - k : 0, __VA_ARGS__)
	for (size_t s = 0; s < geo_nsources(g); s++) {
		const struct geo_source_info *si = geo_source_info(g, s);
		ADD("%s|%s|%d|%d|%zu %zu %zu %zu %zu %zu %zu\n", si->name, si->detail ? si->detail : "-", si->kind,
		    si->view, si->n_ipv4, si->n_ipv6, si->n_asn, si->n_names, si->n_skipped, si->n_bad, si->n_problems);
		for (size_t p = 0; p < si->n_problems; p++)
			ADD("  %s\n", si->problems[p]);
	}
	for (size_t i = 0; i < sizeof ips / sizeof ips[0]; i++) {
		struct dm_ip a = ip(ips[i]);
		geo_cc cc;
		const char *src;
		geo_ip_country(g, &a, cc, &src);
		ADD("%s %s %s\n", ips[i], cc, src);
		for (size_t s = 0; s < geo_nsources(g); s++) {
			struct geo_ip_hit h;
			if (geo_source_ip(g, s, &a, &h) == 0) {
				char f[DM_IP_STRLEN], l[DM_IP_STRLEN];
				dm_ip_fmt(&h.first, f);
				dm_ip_fmt(&h.last, l);
				ADD("  %zu %s %s-%s /%d line %u %s\n", s, h.cc, f, l, h.plen, h.line, h.record);
			}
		}
	}
	for (size_t i = 0; i < sizeof pfxs / sizeof pfxs[0]; i++) {
		struct dm_prefix p = pfx(pfxs[i]);
		struct geo_share sh[8];
		int m = geo_prefix_countries(g, &p, sh, 8);
		ADD("%s", pfxs[i]);
		for (int j = 0; j < m; j++)
			ADD(" %s %llu", sh[j].cc, (unsigned long long)sh[j].addrs);
		ADD("\n");
	}
	static const uint32_t asns[] = { 131279, 4837, 1 };
	for (size_t i = 0; i < 3; i++) {
		geo_cc cc;
		const char *nm = geo_as_name(g, asns[i]);
		int r = geo_as_country(g, asns[i], cc);
		ADD("AS%u %s %d %s\n", asns[i], nm ? nm : "-", r, cc);
		for (size_t s = 0; s < geo_nsources(g); s++) {
			struct geo_as_hit h;
			if (geo_source_as(g, s, asns[i], &h) == 0)
				ADD("  %zu %s %s %u-%u %s\n", s, h.cc, h.name ? h.name : "-", h.first, h.last, h.record);
		}
	}
#undef ADD
	assert_true(k < n);
}

/* An index answers as the sources it was written from; another key or a view left out
 * are honoured. */
static void test_index_roundtrip(void **state)
{
	(void)state;
	struct geo_db *g = index_db();
	size_t len;
	unsigned char *img = index_image(g, "key one", &len);
	static char want[16384], got[16384];
	index_answers(g, want, sizeof want);
	assert_non_null(strstr(want, "175.45.177.1 KP csv:ranges.csv"));
	assert_non_null(strstr(want, "apnic|KP|ipv4|175.45.176.0|1024|20091221|allocated"));
	struct geo_db *m = geo_db_new();
	struct dm_error err;
	assert_int_equal(geo_index_attach(m, img, len, "key one", 0, &err), 0);
	assert_int_equal(geo_nsources(m), 3);
	index_answers(m, got, sizeof got);
	assert_string_equal(got, want);
	geo_db_free(m);
	/* built from other files: refused */
	m = geo_db_new();
	assert_true(geo_index_attach(m, img, len, "key two", 0, &err) < 0);
	assert_int_equal(geo_nsources(m), 0);
	/* the geolocation view left out (old data): the CSV source is not attached */
	assert_int_equal(geo_index_attach(m, img, len, NULL, GEO_VIEW_GEOLOCATION, &err), 0);
	assert_int_equal(geo_nsources(m), 2);
	assert_string_equal(geo_source_name(m, 0), "rir:delegated-test-20140701");
	geo_db_free(m);
	/* a loader adding to a mapped source copies it off the image first */
	m = geo_db_new();
	assert_int_equal(geo_index_attach(m, img, len, NULL, 0, &err), 0);
	char sub[512], more[600];
	write_more("ranges.csv", "10.0.0.0,10.0.0.255,DE\n", sub, more);
	assert_int_equal(geo_load_range_csv(m, more, &err), 0);
	assert_int_equal(geo_nsources(m), 3);
	memset(img, 0, len);    /* nothing of the copied source may still point here */
	struct dm_ip a = ip("10.0.0.1"), k = ip("175.45.177.1");
	geo_cc cc;
	const char *src;
	assert_int_equal(geo_ip_country(m, &a, cc, &src), 0);
	assert_string_equal(cc, "DE");
	assert_string_equal(src, "csv:ranges.csv");
	assert_int_equal(geo_ip_country(m, &k, cc, &src), 0);
	assert_string_equal(cc, "KP");
	assert_int_equal(geo_source_info(m, 0)->n_ipv4, 3);
	geo_db_free(m);
	unlink(more);
	rmdir(sub);
	free(img);
	geo_db_free(g);
}

/* A damaged image: every truncation is refused and leaves the database as it was; a byte
 * changed anywhere either is refused or answers without reading outside the image (ASan). */
static void test_index_damaged(void **state)
{
	(void)state;
	struct geo_db *g = index_db();
	size_t len;
	unsigned char *img = index_image(g, "k", &len);
	struct dm_error err;
	static char got[16384];
	for (size_t cut = 0; cut < len; cut += cut < 4096 ? 1 : 4093) {
		struct geo_db *m = geo_db_new();
		unsigned char *part = malloc(cut ? cut : 1);
		memcpy(part, img, cut);
		assert_true(geo_index_attach(m, part, cut, NULL, 0, &err) < 0);
		assert_int_equal(geo_nsources(m), 0);
		geo_db_free(m);
		free(part);
	}
	int refused = 0, taken = 0;
	unsigned char *bad = malloc(len);
	memcpy(bad, img, len);
	for (size_t i = 0; i < len; i += i < 4096 ? 1 : 997) {
		unsigned char x = i & 1 ? 0xff : 0x80;
		bad[i] ^= x;
		struct geo_db *m = geo_db_new();
		if (geo_index_attach(m, bad, len, NULL, 0, &err) == 0) {
			taken++;
			index_answers(m, got, sizeof got);
		} else {
			refused++;
			assert_int_equal(geo_nsources(m), 0);
		}
		geo_db_free(m);
		bad[i] ^= x;
	}
	/* the same changes with the checksum made right again: the checks behind it refuse
	 * what lies outside the image; what they take answers without reading outside it */
	int resealed = 0;
	for (size_t i = 0; i < 4096 && i < len; i++) {
		unsigned char x = i & 1 ? 0xff : 0x80;
		bad[i] ^= x;
		geo_index_reseal(bad, len);
		struct geo_db *m = geo_db_new();
		if (geo_index_attach(m, bad, len, NULL, 0, &err) == 0)
			index_answers(m, got, sizeof got);
		else
			resealed++;
		geo_db_free(m);
		bad[i] ^= x;
	}
	assert_true(resealed > 100);
	geo_index_reseal(bad, len);
	/* the header and source table are summed: a change there is always refused */
	bad[70] ^= 1;
	struct geo_db *m = geo_db_new();
	assert_true(geo_index_attach(m, bad, len, NULL, 0, &err) < 0);
	assert_non_null(strstr(err.what, "checksum"));
	geo_db_free(m);
	free(bad);
	assert_true(refused > 1000 && taken > 100);
	free(img);
	geo_db_free(g);
}

/* ---- the flattened views (geo_flat.c) ---- */

/* A range CSV (geolocation) and an RIR file (registration) with gaps between and around them. */
static struct geo_db *flat_db(void)
{
	char a[512], b[512];
	write_tmp("delegated-flat-20140701",
	          "2|apnic|20140701|2|19830613|20140630|+1000\n"
	          "apnic|KP|ipv4|10.1.0.0|512|20091221|allocated\n"
	          "apnic|JP|ipv4|10.2.0.0|65536|20100101|allocated\n", a, sizeof a);
	write_tmp("flat.csv", "10.0.0.0,10.0.255.255,DE\n10.1.0.0,10.1.0.255,FR\n2001:db8::,2001:db8::ffff,NL\n",
	          b, sizeof b);
	struct geo_db *g = geo_db_new();
	struct dm_error err;
	assert_int_equal(geo_load_range_csv(g, b, &err), 0);
	assert_int_equal(geo_load_rir(g, a, &err), 0);
	return g;
}

static uint32_t v4(const char *s)
{
	struct dm_ip a = ip(s);
	return (uint32_t)a.b[0] << 24 | (uint32_t)a.b[1] << 16 | (uint32_t)a.b[2] << 8 | a.b[3];
}

/* Equal shares, field by field (a share's padding is not written). */
static void same_shares(const struct geo_share *a, int na, const struct geo_share *b, int nb)
{
	assert_int_equal(na, nb);
	for (int i = 0; i < na; i++) {
		assert_string_equal(a[i].cc, b[i].cc);
		assert_int_equal(a[i].addrs, b[i].addrs);
	}
}

/* Each flattened segment, counted by hand from the two files: every source through view 0
 * (the CSV first, the RIR file in its gaps) and the registration view alone. */
static void test_flat_segments(void **state)
{
	(void)state;
	struct geo_db *g = flat_db();
	struct geo_flat f;
	assert_int_equal(geo_flat_build(g, 0, &f), 0);
	/* IPv4: none | DE 10.0/16 | FR 10.1.0/24 | KP 10.1.1/24 (RIR) | none | JP 10.2/16 | none */
	assert_int_equal(f.n4, 7);
	assert_int_equal(f.nsrc, 2);
	assert_int_equal(f.views, 1);
	/* IPv6: none | NL 2001:db8::/112 | none */
	assert_int_equal(f.n6, 3);
	/* five countries, one segment each: indexes by code */
	assert_int_equal(f.cctab[0], 0);
	assert_int_equal(f.cctab[1], CC_PACK('D', 'E'));
	assert_int_equal(f.cctab[2], CC_PACK('F', 'R'));
	assert_int_equal(f.cctab[3], CC_PACK('J', 'P'));
	assert_int_equal(f.cctab[4], CC_PACK('K', 'P'));
	assert_int_equal(f.cctab[5], CC_PACK('N', 'L'));
	assert_int_equal(f.cctab[6], GEO_FLAT_ASK);
	uint16_t cc;
	assert_int_equal(geo_flat_seg4(&f, v4("10.1.0.7"), UINT32_MAX, &cc), v4("10.1.0.255"));
	assert_int_equal(cc, CC_PACK('F', 'R'));
	assert_int_equal(geo_flat_seg4(&f, v4("10.1.1.0"), UINT32_MAX, &cc), v4("10.1.1.255"));
	assert_int_equal(cc, CC_PACK('K', 'P'));
	assert_int_equal(geo_flat_seg4(&f, v4("10.1.200.1"), UINT32_MAX, &cc), v4("10.1.255.255"));
	assert_int_equal(cc, 0);
	/* segments over many /16s: their ends found through the buckets */
	assert_int_equal(geo_flat_seg4(&f, v4("0.0.0.1"), UINT32_MAX, &cc), v4("9.255.255.255"));
	assert_int_equal(cc, 0);
	assert_int_equal(geo_flat_seg4(&f, v4("10.3.0.0"), UINT32_MAX, &cc), v4("255.255.255.255"));
	assert_int_equal(cc, 0);
	/* asked no further than its /16: the /16's end, not the search for the segment's */
	assert_int_equal(geo_flat_seg4(&f, v4("0.0.0.1"), v4("0.0.0.255"), &cc), v4("0.0.255.255"));
	assert_int_equal(geo_flat_seg4(&f, v4("0.0.0.1"), v4("0.1.0.0"), &cc), v4("9.255.255.255"));
	assert_int_equal(geo_flat_seg4(&f, v4("10.2.3.4"), UINT32_MAX, &cc), v4("10.2.255.255"));
	assert_int_equal(cc, CC_PACK('J', 'P'));
	assert_int_equal(geo_flat_seg4(&f, v4("9.5.0.0"), UINT32_MAX, &cc), v4("9.255.255.255"));
	assert_int_equal(cc, 0);
	assert_int_equal(geo_flat_seg4(&f, v4("255.255.255.255"), UINT32_MAX, &cc), v4("255.255.255.255"));
	assert_int_equal(cc, 0);
	/* the walk: every segment once, in order, each as the search answers it */
	static const char *const ends[] = { "9.255.255.255", "10.0.255.255", "10.1.0.255", "10.1.1.255",
	                                    "10.1.255.255", "10.2.255.255", "255.255.255.255" };
	static const uint16_t ccs[] = { 0, CC_PACK('D', 'E'), CC_PACK('F', 'R'), CC_PACK('K', 'P'), 0,
	                                CC_PACK('J', 'P'), 0 };
	struct geo_walk4 w = { GEO_WALK4_START, 0 };
	uint32_t x = v4("0.0.0.1");
	for (size_t i = 0; i < 7; i++) {
		assert_int_equal(geo_flat_walk4(&f, &w, x, UINT32_MAX, &cc), v4(ends[i]));
		assert_int_equal(cc, ccs[i]);
		x = v4(ends[i]) + 1;
	}
	/* asked no further than need: what the search answers (the /16's end), then on from there */
	w.i = GEO_WALK4_START;
	assert_int_equal(geo_flat_walk4(&f, &w, v4("0.0.0.1"), v4("0.0.0.255"), &cc), v4("0.0.255.255"));
	assert_int_equal(geo_flat_walk4(&f, &w, v4("0.1.0.0"), v4("10.0.0.9"), &cc), v4("9.255.255.255"));
	assert_int_equal(cc, 0);
	assert_int_equal(geo_flat_walk4(&f, &w, v4("10.0.0.0"), v4("10.0.0.9"), &cc), v4("10.0.255.255"));
	assert_int_equal(cc, CC_PACK('D', 'E'));
	w.i = GEO_WALK4_START;
	assert_int_equal(geo_flat_walk4(&f, &w, v4("9.0.0.0"), v4("10.1.0.9"), &cc), v4("9.255.255.255"));
	assert_int_equal(geo_flat_walk4(&f, &w, v4("10.0.0.0"), v4("10.1.0.9"), &cc), v4("10.0.255.255"));
	assert_int_equal(cc, CC_PACK('D', 'E'));
	assert_int_equal(geo_flat_walk4(&f, &w, v4("10.1.0.0"), v4("10.1.0.9"), &cc), v4("10.1.0.255"));
	assert_int_equal(cc, CC_PACK('F', 'R'));
	/* damaged buckets (pointing back, past the end): an answer >= x every step, the walk ends */
	uint32_t bad[65537];
	memcpy(bad, f.bucket4, sizeof bad);
	for (size_t k = 0; k < 65537; k += 97)
		bad[k] = (uint32_t)((k * 2654435761u) % 11);
	struct geo_flat d = f;
	d.bucket4 = bad;
	w.i = GEO_WALK4_START;
	size_t steps = 0;
	for (uint32_t y = 0;; steps++) {
		uint32_t e = geo_flat_walk4(&d, &w, y, UINT32_MAX, &cc);
		assert_true(e >= y);
		if (e == UINT32_MAX)
			break;
		y = e + 1;
	}
	assert_true(steps < 70000);
	struct dm_ip a = ip("2001:db8::1"), z = ip("2001:db8::ffff");
	assert_true(geo_flat_seg6(&f, geo_ip_u128(&a), &cc) == geo_ip_u128(&z));
	assert_int_equal(cc, CC_PACK('N', 'L'));
	geo_flat_free(&f);
	/* the registration view: none | KP 10.1.0.0/23 | none | JP | none */
	assert_int_equal(geo_flat_build(g, GEO_VIEW_REGISTRATION, &f), 0);
	assert_int_equal(f.n4, 5);
	assert_int_equal(f.n6, 1);
	assert_int_equal(f.views, 1u << GEO_VIEW_REGISTRATION);
	assert_int_equal(geo_flat_seg4(&f, v4("10.1.0.7"), UINT32_MAX, &cc), v4("10.1.1.255"));
	assert_int_equal(cc, CC_PACK('K', 'P'));
	geo_flat_free(&f);
	geo_db_free(g);
}

/* Through the index the view-0 split reads the flattened view, not the sources: with the
 * CSV source's own table overwritten in the image, the split still answers from the flat
 * view while the source, asked alone, reads the damage; every answer else is the heap
 * database's. A source a loader adds to drops the views. */
static void test_flat_used(void **state)
{
	(void)state;
	struct geo_db *g = flat_db();
	size_t len;
	unsigned char *img = index_image(g, "flat", &len);
	struct geo_db *m = geo_db_new();
	struct dm_error err;
	assert_int_equal(geo_index_attach(m, img, len, "flat", 0, &err), 0);
	assert_int_equal(m->flat[0].nsrc, 2);
	assert_int_equal(m->flat[1].nsrc, 2);
	assert_int_equal(geo_flattened(m), 1);
	assert_int_equal(geo_flattened(g), 0);  /* the heap database: its sources one by one */
	static const char *const probes[] = { "10.0.0.0/8", "10.1.0.0/23", "10.1.0.0/16", "10.0.0.0/15",
		                              "10.1.1.128/25", "9.0.0.0/8", "0.0.0.0/0", "2001:db8::/32",
		                              "2001:db8::/120", "::/0" };
	for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
		struct dm_prefix p = pfx(probes[i]);
		struct geo_share want[8], got[8], wr[8], gr[8], wg[8], gg[8];
		same_shares(want, geo_prefix_countries(g, &p, want, 8), got, geo_prefix_countries(m, &p, got, 8));
		int nwg, nwr, ngg, ngr;
		geo_prefix_views(g, &p, wg, &nwg, wr, &nwr, 8);
		geo_prefix_views(m, &p, gg, &ngg, gr, &ngr, 8);
		same_shares(wr, nwr, gr, ngr);
		same_shares(wg, nwg, gg, ngg);
	}
	/* by hand: 10.1.0.0/16 = FR 256 (CSV) + KP 256 (RIR, where the CSV has nothing) + ZZ rest */
	check_split(m, -1, "10.1.0.0/16", "ZZ 65024, FR 256, KP 256");
	/* the quick IPv4 answer: a range inside one segment with a country, else 0 (ask the split) */
	assert_int_equal(geo_range4_country(m, v4("10.0.0.0"), v4("10.0.255.255")), CC_PACK('D', 'E'));
	assert_int_equal(geo_range4_country(m, v4("10.0.7.0"), v4("10.0.7.255")), CC_PACK('D', 'E'));
	assert_int_equal(geo_range4_country(m, v4("10.1.0.0"), v4("10.1.0.255")), CC_PACK('F', 'R'));
	assert_int_equal(geo_range4_country(m, v4("10.1.1.128"), v4("10.1.1.255")), CC_PACK('K', 'P'));
	assert_int_equal(geo_range4_country(m, v4("10.2.3.0"), v4("10.2.3.255")), CC_PACK('J', 'P'));
	assert_int_equal(geo_range4_country(m, v4("10.1.0.0"), v4("10.1.1.255")), 0);   /* FR and KP */
	assert_int_equal(geo_range4_country(m, v4("10.0.0.0"), v4("10.1.255.255")), 0);
	assert_int_equal(geo_range4_country(m, v4("9.0.0.0"), v4("9.255.255.255")), 0);  /* no source */
	assert_int_equal(geo_range4_country(m, v4("10.1.2.0"), v4("10.1.2.255")), 0);
	assert_int_equal(geo_range4_country(g, v4("10.0.7.0"), v4("10.0.7.255")), 0);    /* no flat view */
	/* the CSV source's country table overwritten in the image */
	struct geo_source *csv = m->src[0];
	assert_int_equal(csv->v4.nseg, 2);
	memset((unsigned char *)csv->v4.segcc, 'X', csv->v4.nseg * sizeof *csv->v4.segcc);
	check_split(m, 0, "10.0.0.0/24", "XX 256");         /* the source alone reads its table */
	check_split(m, -1, "10.0.0.0/24", "DE 256");        /* the split reads the flat view */
	memcpy((unsigned char *)csv->v4.segcc, (const unsigned char *)g->src[0]->v4.segcc,
	       csv->v4.nseg * sizeof *csv->v4.segcc);
	/* a loader adding to the CSV source (same name): the views go, the image is not read */
	char sub[512], more[600];
	write_more("flat.csv", "10.3.0.0,10.3.0.255,SE\n", sub, more);
	assert_int_equal(geo_load_range_csv(m, more, &err), 0);
	assert_int_equal(m->flat[0].nsrc, 0);
	assert_int_equal(m->flat[1].nsrc, 0);
	assert_int_equal(geo_flattened(m), 0);
	memset(img, 0, len);
	check_split(m, -1, "10.0.0.0/24", "DE 256");
	check_split(m, -1, "10.3.0.0/24", "SE 256");
	unlink(more);
	rmdir(sub);
	geo_db_free(m);
	/* the geolocation view left out: the registration view answers view 0 too */
	m = geo_db_new();
	free(img);
	img = index_image(g, "flat", &len);
	assert_int_equal(geo_index_attach(m, img, len, NULL, GEO_VIEW_GEOLOCATION, &err), 0);
	assert_int_equal(geo_nsources(m), 1);
	assert_int_equal(m->flat[0].nsrc, 0);
	assert_int_equal(m->flat[1].nsrc, 1);
	assert_int_equal(m->flat[1].views, 1u | 1u << GEO_VIEW_REGISTRATION);
	check_split(m, -1, "10.1.0.0/16", "ZZ 65024, KP 512");
	geo_db_free(m);
	free(img);
	geo_db_free(g);
}

/* More countries than a flattened view's table holds (300 codes, one /24 each): the 254 it
 * holds answer from it, the others through the sources; every split equals the heap
 * database's, and each /24 is its own code whole. */
static void test_flat_many_countries(void **state)
{
	(void)state;
	static char csv[300 * 40];
	size_t k = 0;
	for (int i = 0; i < 300; i++)
		k += (size_t)snprintf(csv + k, sizeof csv - k, "10.%d.%d.0,10.%d.%d.255,%c%c\n", i / 256, i % 256,
		                      i / 256, i % 256, 'A' + i / 26, 'A' + i % 26);
	char path[512];
	write_tmp("many.csv", csv, path, sizeof path);
	struct geo_db *g = geo_db_new();
	struct dm_error err;
	assert_int_equal(geo_load_range_csv(g, path, &err), 0);
	size_t len;
	unsigned char *img = index_image(g, "many", &len);
	struct geo_db *m = geo_db_new();
	assert_int_equal(geo_index_attach(m, img, len, "many", 0, &err), 0);
	const struct geo_flat *f = &m->flat[0];
	assert_int_equal(f->nsrc, 1);
	assert_int_equal(f->cctab[1], CC_PACK('A', 'A'));
	assert_int_equal(f->cctab[254], CC_PACK('J', 'T'));   /* the 254th code: 253 = 9 * 26 + 19 */
	assert_int_equal(f->cctab[255], GEO_FLAT_ASK);
	size_t asked = 0;
	for (size_t i = 0; i < f->n4; i++)
		asked += f->cc4[i] == 255;
	assert_int_equal(asked, 1);     /* JU..LN: 46 neighbours, one segment */
	for (int i = 0; i < 300; i += 7) {
		char pf[32], want[32];
		snprintf(pf, sizeof pf, "10.%d.%d.0/24", i / 256, i % 256);
		snprintf(want, sizeof want, "%c%c 256", 'A' + i / 26, 'A' + i % 26);
		check_split(m, -1, pf, want);
	}
	check_split(m, -1, "10.1.43.0/24", "LN 256");
	/* a code past the table: the quick answer leaves it to the sources */
	assert_int_equal(geo_range4_country(m, v4("10.0.7.0"), v4("10.0.7.255")), CC_PACK('A', 'H'));
	assert_int_equal(geo_range4_country(m, v4("10.1.4.0"), v4("10.1.4.255")), 0);   /* KA: asked */
	check_split(m, -1, "10.1.4.0/24", "KA 256");
	/* the walk answers what the search answers, piece by piece, over ranges of every size */
	uint32_t r = 12345;
	for (int t = 0; t < 3000; t++) {
		r = r * 1103515245u + 12345u;
		uint32_t lo = v4("9.255.0.0") + (r >> 8) % (3u << 16);
		r = r * 1103515245u + 12345u;
		uint32_t hi = lo + (t % 3 == 0 ? (r >> 4) : (r >> 16) % 4096u);
		if (hi < lo)
			hi = UINT32_MAX;
		struct geo_walk4 w = { GEO_WALK4_START, 0 };
		for (uint32_t pos = lo;; ) {
			uint16_t c1, c2;
			uint32_t e1 = geo_flat_seg4(f, pos, hi, &c1), e2 = geo_flat_walk4(f, &w, pos, hi, &c2);
			assert_int_equal(c1, c2);
			assert_int_equal(e1 < hi ? e1 : hi, e2 < hi ? e2 : hi);
			if (e1 >= hi)
				break;
			pos = e1 + 1;
		}
	}
	/* the batch answers as the quick answer does, range by range (batches shorter and longer
	 * than its look-ahead), and none without a flattened view */
	static uint32_t blo[600], bhi[600];
	static uint16_t bcc[600];
	for (int t = 0; t < 600; t++) {
		r = r * 1103515245u + 12345u;
		blo[t] = v4("10.0.0.0") + ((r >> 8) % 300u << 8);   /* one of the file's /24s */
		bhi[t] = blo[t] + (t % 5 == 0 ? 65535u : 255u);
	}
	size_t sizes[] = { 1, 7, 16, 600 };
	for (size_t z = 0; z < 4; z++) {
		memset(bcc, 0xee, sizeof bcc);
		geo_range4_countries(m, blo, bhi, bcc, sizes[z]);
		for (size_t t = 0; t < sizes[z]; t++)
			assert_int_equal(bcc[t], geo_range4_country(m, blo[t], bhi[t]));
		assert_int_equal(bcc[sizes[z] < 600 ? sizes[z] : 599], sizes[z] < 600 ? 0xeeee : geo_range4_country(m, blo[599], bhi[599]));
	}
	size_t some = 0;
	for (size_t t = 0; t < 600; t++)
		some += bcc[t] != 0;
	assert_true(some > 300);   /* the /24s with a code inside the table */
	geo_range4_countries(g, blo, bhi, bcc, 600);
	for (size_t t = 0; t < 600; t++)
		assert_int_equal(bcc[t], 0);
	static const char *const wide[] = { "10.0.0.0/15", "10.0.0.0/16", "10.1.0.0/16", "10.0.254.0/23", "0.0.0.0/0" };
	for (size_t i = 0; i < sizeof wide / sizeof wide[0]; i++) {
		struct dm_prefix p = pfx(wide[i]);
		struct geo_share want[300], got[300];
		same_shares(want, geo_prefix_countries(g, &p, want, 300), got, geo_prefix_countries(m, &p, got, 300));
	}
	geo_db_free(m);
	free(img);
	geo_db_free(g);
}

int main(void)
{
	const char *d = getenv("DARKMAP_DATA");
	snprintf(data_dir, sizeof data_dir, "%s", d && *d ? d : "../shared/data");
	snprintf(tmp_dir, sizeof tmp_dir, "/tmp/test_geo.XXXXXX");
	if (!mkdtemp(tmp_dir))
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rir_kp),
		cmocka_unit_test(test_rir_split_apnic),
		cmocka_unit_test(test_rir_split_afrinic),
		cmocka_unit_test(test_rir_extended),
		cmocka_unit_test(test_asnames),
		cmocka_unit_test(test_as_combined),
		cmocka_unit_test(test_rir_malformed),
		cmocka_unit_test(test_missing_and_unusable),
		cmocka_unit_test(test_ranges_longest_match),
		cmocka_unit_test(test_ranges_partial_overlap),
		cmocka_unit_test(test_names_csv),
		cmocka_unit_test(test_npm_sources),
		cmocka_unit_test(test_views),
		cmocka_unit_test(test_dbip_views),
		cmocka_unit_test(test_defaults_by_date),
		cmocka_unit_test(test_country_names),
		cmocka_unit_test(test_empty_db),
		cmocka_unit_test(test_mmdb_cyclic_tree),
		cmocka_unit_test(test_index_roundtrip),
		cmocka_unit_test(test_index_damaged),
		cmocka_unit_test(test_flat_segments),
		cmocka_unit_test(test_flat_used),
		cmocka_unit_test(test_flat_many_countries),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
	if (system(cmd) != 0)
		rc = rc ? rc : 1;
	return rc;
}
