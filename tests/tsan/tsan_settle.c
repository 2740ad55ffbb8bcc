/* ThreadSanitizer test of a table's settle on two threads (src/signal/signal.c settle_scan: the
 * mapping's answers of the waiting prefixes looked up by a helper thread, chunk by chunk, while
 * the caller settles the chunks before; forced on with DARKMAP_SYNC_THREAD=1, off with =0), run
 * by tests/integration/tsan.sh: one peer announces 70,000 IPv4 prefixes (a tenth of them across
 * two countries of the striped geography of tests/stripe_geo.h, a seventh withdrawn in the same
 * bin) and 70 IPv6 ones before it is a full feed, so that every event waits for its countries
 * until the bin closes.
 * Checks: the rows of both runs are the same text; each country's announcements, withdrawals
 * and visible prefixes in the first bin against counts made here. One "ok tsan NAME" or
 * "not ok tsan NAME: why" line per check; exit 1 on any failure, 66 on a data race. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rib/rib.h"
#include "signal/signal.h"
#include "tsan_util.h"
#include "../attrs_path.h"
#include "../stripe_geo.h"

enum { N = 70000, BIN = 300 };

struct rows {
	char *text;
	size_t len, cap;
	struct sig_bin first[4];   /* the first bin's IPv4 row of each stripe's country */
};

static void on_row(void *arg, const struct sig_entity *e, const struct sig_bin *b)
{
	struct rows *r = arg;
	char line[256];
	int n = snprintf(line, sizeof line, "%d %d %s %u t=%lld v=%llu s=%llu a=%u w=%u q=%u\n", e->kind, e->afi,
	                 e->kind == SIG_COUNTRY ? e->cc : "-", e->asn, (long long)b->t,
	                 (unsigned long long)b->visible_prefixes, (unsigned long long)b->slash24, b->announcements,
	                 b->withdrawals, b->quality);
	if (r->len + (size_t)n + 1 > r->cap) {
		r->cap = (r->cap + (size_t)n + 1) * 2;
		r->text = realloc(r->text, r->cap);
	}
	memcpy(r->text + r->len, line, (size_t)n + 1);
	r->len += (size_t)n;
	for (int c = 0; c < 4; c++)
		if (e->kind == SIG_COUNTRY && e->afi == DM_AFI_IPV4 && !strcmp(e->cc, STRIPE[c]) && b->t == 900)
			r->first[c] = *b;
}

static void run(const char *threaded, struct rows *out)
{
	setenv("DARKMAP_SYNC_THREAD", threaded, 1);
	struct rib *rib = rib_new();
	struct sig_opts o;
	sig_opts_default(&o);
	o.bin = BIN;
	o.ff_rule = SIG_FF_ABS;
	o.ff_abs[0] = 60000;
	struct sig *s = sig_new(rib, stripe_geo, NULL, &o);
	sig_set_geo4(s, stripe_geo4, stripe_geo4_batch);
	sig_set_emit(s, on_row, out);
	sig_want_countries(s);
	sig_start(s);
	static struct dm_ip ip[1];
	struct attrs_buf ab;
	struct dm_elem e;
	for (uint32_t i = 0; i < N; i++) {
		peer_elem(&e, 'A', 900 + i / 1000, 0, ip);
		stripe_table_prefix(i, &e.prefix);
		e.attrs = path_to(&ab, e.peer_asn, 65000 + i % 8);
		sig_time(s, e.ts);
		sig_elem(s, 0, &e);
		if (i % 7 == 3) {
			e.type = 'W';
			e.attrs = NULL;
			sig_elem(s, 0, &e);
		}
		if (i % 1000 == 999) {   /* an IPv6 /48: settled by the caller (no quick answer) */
			peer_elem(&e, 'A', 900 + i / 1000, 0, ip);
			e.prefix.afi = DM_AFI_IPV6;
			e.prefix.len = 48;
			e.prefix.b[0] = 0x20, e.prefix.b[1] = 0x01, e.prefix.b[2] = 0x0d, e.prefix.b[3] = 0xb8;
			e.prefix.b[4] = (uint8_t)(i / 1000);
			e.attrs = path_to(&ab, e.peer_asn, 65100);
			sig_elem(s, 0, &e);
		}
	}
	peer_elem(&e, 'A', 1210, 0, ip);   /* a bin later: the first one closes */
	stripe_table_prefix(1, &e.prefix);
	e.attrs = path_to(&ab, e.peer_asn, 65001);
	sig_time(s, e.ts);
	sig_elem(s, 0, &e);
	sig_finish(s);
	sig_free(s);
	rib_free(rib);
}

int main(void)
{
	struct rows one = { 0 }, two = { 0 };
	run("0", &one);
	run("1", &two);
	char why[256];
	int ok = one.text && two.text && one.len == two.len && memcmp(one.text, two.text, one.len) == 0;
	snprintf(why, sizeof why, "rows differ: %zu bytes without the thread, %zu with", one.len, two.len);
	result("settle-thread-same-rows", ok, why);
	uint32_t ann[4], wd[4], vis[4];
	stripe_counts(N, ann, wd, vis);
	for (int c = 0; c < 4; c++) {
		const struct sig_bin *b = &two.first[c];
		ok = b->announcements == ann[c] && b->withdrawals == wd[c] && b->visible_prefixes == vis[c];
		snprintf(why, sizeof why, "%s: %u announcements (want %u), %u withdrawals (want %u), %llu visible (want %u)",
		         STRIPE[c], b->announcements, ann[c], b->withdrawals, wd[c],
		         (unsigned long long)b->visible_prefixes, vis[c]);
		char name[64];
		snprintf(name, sizeof name, "settle-thread-counts-%s", STRIPE[c]);
		result(name, ok, why);
	}
	free(one.text);
	free(two.text);
	return failures ? 1 : 0;
}
