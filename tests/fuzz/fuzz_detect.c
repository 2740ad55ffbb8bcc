/* libFuzzer target: the streaming detector (src/detect) fed series built from the input bytes,
 * three entities interleaved, checked against the invariants every consumer relies on (the
 * same ones tests/unit/test_detect.c test_random_invariants checks on seeded series):
 *   - every event belongs to the entity fed, is raised by that bin, starts no later than it;
 *   - no event ends before it starts; a recovery or new normal closes an open outage/partial
 *     of the type it names, and a level change (escalation, de-escalation) closes the open one;
 *   - unknown and instability events open and close in pairs;
 *   - a bin that is not after the entity's previous one is refused and raises nothing;
 *   - detector_finish returns exactly the events still open, with their starts.
 * Input: 8 option bytes, then 4 bytes per bin: entity and step, level, interruptions, quality. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "base/addr.h"
#include "base/err.h"
#include "detect/detect.h"

struct track {
	struct sig_entity e;
	uint32_t t;                     /* last bin fed (0: none) */
	uint64_t base;
	int out_open, unk_open, inst_open;
	uint8_t out_type;
	uint32_t out_start, unk_start, inst_start;
};

static int same_entity(const struct sig_entity *a, const struct sig_entity *b)
{
	return a->kind == b->kind && a->afi == b->afi && a->asn == b->asn && strcmp(a->cc, b->cc) == 0;
}

static void check_event(struct track *k, const struct sig_bin *b, const struct dm_event *x)
{
	CHECK(same_entity(&x->entity, &k->e));
	CHECK(x->raised == b->t);
	CHECK(x->start <= b->t);
	CHECK(x->end == 0 || x->end >= x->start);
	CHECK(x->severity >= 0 && x->severity <= 1);
	if (b->quality & (SIG_Q_GAP | SIG_Q_PEERS_DROPPED | SIG_Q_NO_DATA))
		CHECK(x->type == DM_EV_UNKNOWN && x->end == 0);   /* a bad bin judges nothing */
	switch (x->type) {
	case DM_EV_OUTAGE:
	case DM_EV_PARTIAL:
		CHECK(x->end == 0);
		if (k->out_open) {       /* a level change closes the open level event */
			CHECK(x->of_type == k->out_type && x->type != k->out_type);
			CHECK(x->prev_start == k->out_start && x->start > k->out_start);
		} else {
			CHECK(x->of_type == 0);
		}
		k->out_open = 1;
		k->out_start = x->start;
		k->out_type = x->type;
		break;
	case DM_EV_RECOVERY:
		CHECK(k->out_open);      /* no recovery without an open outage */
		CHECK(x->of_type == k->out_type && x->start == k->out_start && x->prev_start == k->out_start);
		CHECK(x->end > x->start && x->end <= b->t);
		k->out_open = 0;
		break;
	case DM_EV_NEWNORMAL:
		CHECK(k->out_open);
		CHECK(x->of_type == k->out_type && x->prev_start == k->out_start);
		CHECK(x->start <= k->out_start && x->end == b->t);
		k->out_open = 0;
		break;
	case DM_EV_UNKNOWN:
		if (x->end == 0) {
			CHECK(!k->unk_open);
			k->unk_open = 1;
			k->unk_start = x->start;
		} else {
			CHECK(k->unk_open && x->start == k->unk_start);
			k->unk_open = 0;
		}
		break;
	case DM_EV_INSTABILITY:
		if (x->end == 0) {
			CHECK(!k->inst_open);
			k->inst_open = 1;
			k->inst_start = x->start;
		} else {
			CHECK(k->inst_open && x->start == k->inst_start);
			k->inst_open = 0;
		}
		break;
	default:
		CHECK(0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 8)
		return 0;
	static const uint32_t bins[] = { 60, 300, 900, 3600 };
	struct detect_opts o;
	detect_opts_default(&o);
	o.bin = bins[data[0] & 3];
	o.min_duration = (uint32_t)(data[0] >> 2 & 7) * 300;
	o.recover_duration = (uint32_t)(data[0] >> 5) * 300;
	o.min_history = (uint32_t)(1 + data[1] % 8) * 600;
	/* a short new-normal horizon and baseline so short inputs reach them */
	o.new_normal = o.min_duration + (uint32_t)(1 + data[2] % 16) * 3600;
	o.baseline_window = (uint32_t)(2 + data[3] % 8) * 86400;
	o.inst_window = (uint32_t)(1 + data[4] % 12) * 3600;
	o.inst_min_count = data[4] >> 4;
	o.settle = (uint32_t)(data[5] % 4) * 1800;
	o.threshold = 0.5 + (data[5] >> 2) % 5 * 0.1;
	o.recover = o.threshold + (1 - o.threshold) * (data[5] >> 5) / 8.0;
	o.hard = o.threshold * (data[6] % 4) / 4.0;
	if (o.inst_window < o.bin)
		o.inst_window = o.bin;
	struct detector *d = detector_new(&o);
	if (!d) {
		char why[256];
		CHECK(detect_opts_check(&o, why, sizeof why) != 0);
		return 0;
	}
	struct track tr[3];
	memset(tr, 0, sizeof tr);
	tr[0].e = (struct sig_entity){ .kind = SIG_COUNTRY, .afi = DM_AFI_IPV4, .cc = "KP" };
	tr[1].e = (struct sig_entity){ .kind = SIG_ASN, .afi = DM_AFI_IPV4, .asn = 131279 };
	tr[2].e = (struct sig_entity){ .kind = SIG_COUNTRY, .afi = DM_AFI_IPV6, .cc = "KP" };
	for (int i = 0; i < 3; i++)
		tr[i].base = 1 + (uint64_t)data[7] * (i + 1) * (i == 2 ? 1000003u : 1u);
	const uint32_t t0 = 1418601600u;   /* 2014-12-15 00:00 UTC, aligned to every bin size */
	uint32_t ffp = 40;
	for (size_t off = 8; off + 4 <= size; off += 4) {
		const uint8_t *p = data + off;
		struct track *k = &tr[p[0] % 3];
		uint32_t step = (uint32_t)(p[0] >> 2 & 7);   /* 0: the same bin again (refused) */
		struct sig_bin b;
		memset(&b, 0, sizeof b);
		b.t = k->t ? k->t + step * o.bin : t0 + step * o.bin;
		uint8_t lv = p[1];
		b.slash24 = lv < 160 ? k->base : lv < 224 ? k->base * (lv - 160) / 64 : 0;
		b.visible_prefixes = b.slash24 ? 1 + b.slash24 / 4 : 0;
		b.baseline_slash24 = k->base;
		b.interruptions = p[2] < 200 ? 0 : p[2] - 200u;
		b.quality = (uint8_t)(p[3] < 232 ? 0 : 1u << (p[3] & 3));
		if (p[3] >= 200 && p[3] < 232)
			ffp = (uint16_t)(p[3] - 192);           /* 8 .. 39 full-feed peers */
		else if (p[3] < 8)
			ffp = 40;
		b.full_feed_peers = (uint16_t)ffp;
		b.peers_seeing = b.slash24 ? b.full_feed_peers : 0;
		b.peers_up = (uint16_t)(ffp + 2);
		b.peer_frac = k->base ? (float)((double)b.slash24 / (double)k->base) : 0;
		b.records = 1000;
		b.collectors = 1;
		struct dm_event ev[DETECT_MAX_EVENTS];
		int n = detector_feed(d, &k->e, &b, ev, DETECT_MAX_EVENTS);
		if (k->t && step == 0) {
			CHECK(n == DM_ERR_BAD_VALUE);             /* not after the previous bin */
			continue;
		}
		CHECK(n >= 0 && n <= DETECT_MAX_EVENTS);
		k->t = b.t;
		for (int i = 0; i < n; i++)
			check_event(k, &b, &ev[i]);
	}
	/* every open event is returned by detector_finish, once, with its start */
	int open = 0, got = 0;
	for (int i = 0; i < 3; i++)
		open += tr[i].out_open + tr[i].unk_open + tr[i].inst_open;
	for (;;) {
		struct dm_event fin[DETECT_MAX_EVENTS];
		int n = detector_finish(d, fin, DETECT_MAX_EVENTS);
		CHECK(n >= 0 && n <= DETECT_MAX_EVENTS);
		if (n == 0)
			break;
		for (int i = 0; i < n; i++) {
			struct track *k = NULL;
			for (int j = 0; j < 3; j++)
				if (same_entity(&fin[i].entity, &tr[j].e))
					k = &tr[j];
			CHECK(k && fin[i].end == 0);
			if (fin[i].type == DM_EV_UNKNOWN) {
				CHECK(k->unk_open && fin[i].start == k->unk_start);
				k->unk_open = 0;
			} else if (fin[i].type == DM_EV_INSTABILITY) {
				CHECK(k->inst_open && fin[i].start == k->inst_start);
				k->inst_open = 0;
			} else {
				CHECK(k->out_open && fin[i].type == k->out_type && fin[i].start == k->out_start);
				k->out_open = 0;
			}
			got++;
		}
	}
	CHECK(got == open);
	detector_free(d);
	return 0;
}
