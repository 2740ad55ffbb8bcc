/* libFuzzer target: the truth.tsv decoder (src/detect/score, read by `darkmap eval` from files
 * a scenario or a person wrote) and the scoring over what it accepted, against a few events
 * built from the input's own bytes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/addr.h"
#include "detect/score.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct truth t;
	struct dm_error err;
	if (truth_parse("fuzz.tsv", (const char *)data, size, &t, &err))
		return 0;
	/* events on the entities the truth names, at times taken from its rows */
	struct dm_event ev[8];
	struct sig_entity ents[8];
	size_t n = 0;
	for (size_t i = 0; i < t.n && n < 8; i++) {
		if (!t.v[i].entity.kind)
			continue;
		memset(&ev[n], 0, sizeof ev[n]);
		ev[n].type = (uint8_t)(1 + (t.v[i].start + i) % 6);
		ev[n].entity = ents[n] = t.v[i].entity;
		ev[n].start = t.v[i].start;
		ev[n].end = i % 3 ? t.v[i].end : 0;
		ev[n].of_type = (uint8_t)(i % 3);
		ev[n].window = 21600;
		n++;
	}
	struct score_opts o;
	score_opts_default(&o);
	o.bin = 60 + (uint32_t)(size % 1800);
	struct score s;
	if (score_run(&t, ev, n, ents, n, &o, &s, &err) == 0)
		score_free(&s);
	truth_free(&t);
	return 0;
}
