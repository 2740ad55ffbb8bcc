/* libFuzzer target: the scenario timeline reader (src/scenario/timeline.h, docs/scenario.md).
 * The input is a timeline file, read through a FILE as `darkmap scenario` reads one. Checks on
 * what was accepted: every row has start < end, a fraction and a peers share in (0, 1], a kind
 * the language has, at most TL_MAX_EXCEPT excepted ASes, a set:NAME target resolved to the set
 * of that name (or marked unknown when no set row has it); every error names a line of the
 * file, in file order; after timeline_check_span, a file without errors has every row inside
 * its span. Seeds: the files of data/scenarios (tests/fuzz/run). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "scenario/timeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;   /* fmemopen refuses an empty buffer */
	FILE *f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	/* lines as fgets cuts them (at most 65535 bytes each): an upper bound on line numbers */
	int lines = 1;
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	lines += (int)(size / 65535);
	struct timeline tl;
	memset(&tl, 0, sizeof tl);
	int rc = timeline_read(&tl, f, "fuzz.tsv");
	fclose(f);
	if (rc)
		return 0;   /* out of memory: tl is freed */
	for (int i = 0; i < tl.nerr; i++) {
		CHECK(tl.err[i].line >= 1 && tl.err[i].line <= lines && tl.err[i].msg && tl.err[i].msg[0]);
		CHECK(i == 0 || tl.err[i].line >= tl.err[i - 1].line);
	}
	for (int i = 0; i < tl.nrow; i++) {
		const struct tl_row *r = &tl.row[i];
		CHECK(r->kind >= TL_OUTAGE && r->kind < TL_NKINDS);
		CHECK(r->line >= 1 && r->line <= lines && (i == 0 || r->line > tl.row[i - 1].line));
		CHECK(r->start >= 0 && r->start < r->end && r->end <= UINT32_MAX);
		CHECK(r->fraction > 0 && r->fraction <= 1);
		CHECK(r->peers > 0 && r->peers <= 1);
		CHECK(r->nexcept >= 0 && r->nexcept <= TL_MAX_EXCEPT);
		CHECK(r->target && r->target[0] && r->note);
		if (r->kind == TL_REORIGIN)
			CHECK(r->to != 0);
		if (r->kind == TL_UPSTREAM)
			CHECK(r->via != 0);
		if (r->kind == TL_CHURN)
			CHECK(r->rate > 0);
		if (strncmp(r->target, "set:", 4)) {
			CHECK(r->set == TL_SET_NONE);
			continue;
		}
		/* no row refers to a set that does not exist: the reader found it, or says unknown */
		int found = -1;
		for (int k = 0; k < tl.nset && found < 0; k++)
			if (!strcmp(tl.set[k].name, r->target + 4))
				found = k;
		CHECK(r->set == (found >= 0 ? found : TL_SET_UNKNOWN));
	}
	for (int i = 0; i < tl.nset; i++) {
		CHECK(tl.set[i].items && tl.set[i].items[0]);
		for (int k = 0; k < i; k++)
			CHECK(strcmp(tl.set[i].name, tl.set[k].name));   /* a name is defined once */
	}
	for (int i = 0; i < tl.nadd; i++)
		CHECK(tl.add[i].p.afi == DM_AFI_IPV4 && tl.add[i].p.len >= 8 && tl.add[i].p.len <= 32 &&
		      tl.add[i].origin != 0);
	if (tl.have_span)
		CHECK(tl.from < tl.to);
	if (tl.peers_set)
		CHECK(tl.peers >= 1 && tl.peers <= TL_MAX_PEERS);
	int before = tl.nerr;
	int added = timeline_check_span(&tl);
	if (added >= 0) {
		CHECK(tl.nerr == before + added);
		if (tl.have_span && added == 0)
			for (int i = 0; i < tl.nrow; i++)
				CHECK(tl.row[i].start >= tl.from && tl.row[i].end <= tl.to);
	}
	timeline_free(&tl);
	return 0;
}
