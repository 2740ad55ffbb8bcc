/* src/detect/score: truth.tsv parsing (errors name file:line) and the eval rules of
 * docs/eval.md on hand-built truth and events. Every expected number is worked out in the
 * comments from the rules: bin 300 s, threshold 0.8, hard 0.5. */
#include "testutil.h"

#include "base/addr.h"
#include "detect/score.h"

#define T0 1419120000u  /* 2014-12-21 00:00 UTC */
#define D 86400u

static const char HEADER[] = "kind\tstart\tend\tstart_utc\tend_utc\tentity\tfraction\ttolerance\tcollector\tpeer\tnote\n";

static struct sig_entity country(const char *cc)
{
	struct sig_entity e = { .kind = SIG_COUNTRY, .afi = DM_AFI_IPV4 };
	memcpy(e.cc, cc, 2);
	return e;
}

static struct sig_entity asn(uint32_t n)
{
	return (struct sig_entity){ .kind = SIG_ASN, .afi = DM_AFI_IPV4, .asn = n };
}

/* Appends "kind start end - - entity fraction tolerance all all note" to buf. */
static void row(char *buf, size_t n, const char *kind, uint32_t start, uint32_t end, const char *entity,
                const char *fraction, unsigned tol)
{
	size_t l = strlen(buf);
	snprintf(buf + l, n - l, "%s\t%u\t%u\t-\t-\t%s\t%s\t%u\tall\tall\t%s %s\n", kind, start, end, entity, fraction, tol,
	         kind, entity);
}

static struct dm_event event(struct sig_entity e, int type, uint32_t start, uint32_t end, int of_type)
{
	struct dm_event ev;
	memset(&ev, 0, sizeof ev);
	ev.type = (uint8_t)type;
	ev.entity = e;
	ev.start = start;
	ev.end = end;
	ev.of_type = (uint8_t)of_type;
	snprintf(ev.reason, sizeof ev.reason, "test event");
	return ev;
}

/* The truth of the main test: R1..R16 in file order (line 2 is the scenario row). */
static void main_truth(char *t, size_t n)
{
	snprintf(t, n, "# hand-built truth\n%s", HEADER);
	row(t, n, "scenario", T0, T0 + 10 * D, "all", "-", 0);
	row(t, n, "outage", T0 + 3600, T0 + 7200, "KP", "1.0000", 0);                        /* R1 */
	row(t, n, "outage", T0 + D, T0 + D + 3600, "KP", "1.0000", 0);                       /* R2 */
	row(t, n, "outage", T0 + 2 * D, T0 + 2 * D + 3600, "KP", "1.0000", 0);               /* R3 */
	row(t, n, "instability", T0 + 2 * D + 43200, T0 + 3 * D, "KP", "-", 0);              /* R4 */
	row(t, n, "outage", T0 + 3 * D + 36000, T0 + 3 * D + 50400, "EG", "0.4000", 0);      /* R5 */
	row(t, n, "outage", T0 + 3 * D + 50400, T0 + 3 * D + 72000, "EG", "1.0000", 0);      /* R6 */
	row(t, n, "outage", T0 + 4 * D, T0 + 4 * D + 7200, "IR", "1.0000", 600);             /* R7 */
	row(t, n, "outage", T0 + 5 * D, T0 + 5 * D + 3600, "AS8452", "0.6000", 0);           /* R8 */
	row(t, n, "outage", T0 + 6 * D, T0 + 6 * D + 3600, "EG", "0.1500", 0);               /* R9 */
	row(t, n, "outage", T0 + 6 * D, T0 + 6 * D + 3600, "CN", "0.2000", 0);               /* R10 */
	row(t, n, "outage", T0 + 7 * D, T0 + 7 * D + 3600, "CN", "0.5000", 0);               /* R11 */
	row(t, n, "outage", T0 + 7 * D + 36000, T0 + 7 * D + 39600, "CN", "0.2001", 0);      /* R12 */
	row(t, n, "outage", T0 + 8 * D, T0 + 8 * D + 3600, "AS64500", "1.0000", 0);          /* R13 */
	row(t, n, "outage", T0 + 9 * D + 43200, T0 + 10 * D, "AS131279", "1.0000", 0);       /* R14 */
	row(t, n, "flap", T0 + D, T0 + D + 200, "CN", "-", 0);                               /* R15 */
	row(t, n, "peer_reset", T0 + D, T0 + D + 1500, "-", "-", 0);                         /* R16 */
}

static void test_score_rules(void **state)
{
	(void)state;
	static char text[8192];
	main_truth(text, sizeof text);
	struct truth t;
	struct dm_error err;
	assert_int_equal(truth_parse("t.tsv", text, strlen(text), &t, &err), 0);
	assert_int_equal(t.n, 17);
	assert_int_equal(t.span_from, T0);
	assert_int_equal(t.span_to, T0 + 10 * D);
	assert_int_equal(t.ignored_kinds, 2);
	assert_int_equal(t.v[7].tolerance, 600);
	assert_true(t.v[5].fraction == 0.4);
	assert_int_equal(t.v[1].line, 4);

	const struct sig_entity KP = country("KP"), EG = country("EG"), IR = country("IR"), CN = country("CN"),
				SY = country("SY"), AS131279 = asn(131279), AS8452 = asn(8452);
	struct sig_entity KP6 = KP, world = { .kind = SIG_GLOBAL, .afi = DM_AFI_IPV4 };
	KP6.afi = DM_AFI_IPV6;
	/* judged: KP EG IR CN SY AS131279 AS8452 = 7 (KP IPv6 and the world are not) */
	struct sig_entity ents[] = { KP, EG, IR, CN, SY, AS131279, AS8452, KP6, world };
	struct dm_event ev[] = {
		/* R1: end +300 = bin exactly: found, 0 / +300 / +300 */
		event(KP, DM_EV_OUTAGE, T0 + 3600, T0 + 7500, 0),
		event(KP, DM_EV_RECOVERY, T0 + 3600, T0 + 7500, DM_EV_OUTAGE),
		/* X1: a partial 200 s after R1 ends: within the bin slack, explained */
		event(KP, DM_EV_PARTIAL, T0 + 7400, T0 + 7700, 0),
		/* R2: start +301, one second beyond the bin: off time */
		event(KP, DM_EV_OUTAGE, T0 + D + 301, T0 + D + 3600, 0),
		/* R3: open row closed by its recovery 301 s early: off time, end -301 */
		event(KP, DM_EV_OUTAGE, T0 + 2 * D, 0, 0),
		event(KP, DM_EV_RECOVERY, T0 + 2 * D, T0 + 2 * D + 3299, DM_EV_OUTAGE),
		/* R4: instability raised inside the window, +6800 s */
		event(KP, DM_EV_INSTABILITY, T0 + 2 * D + 50000, T0 + 3 * D + 1000, 0),
		/* R5, R6: staged: partial (end 0, ended by the escalation), outage (end 0, ended by the
		 * recovery 300 s after the truth) */
		event(EG, DM_EV_PARTIAL, T0 + 3 * D + 36000, 0, 0),
		event(EG, DM_EV_OUTAGE, T0 + 3 * D + 50400, 0, DM_EV_PARTIAL),
		event(EG, DM_EV_RECOVERY, T0 + 3 * D + 50400, T0 + 3 * D + 72300, DM_EV_OUTAGE),
		/* R7: tolerance 600 + bin 300 = 900: start +900, end -900, duration -1800: found */
		event(IR, DM_EV_OUTAGE, T0 + 4 * D + 900, T0 + 4 * D + 6300, 0),
		/* R11: fraction 0.5 is a partial (v = 0.5 B is not < 0.5 B) */
		event(CN, DM_EV_PARTIAL, T0 + 7 * D, T0 + 7 * D + 3600, 0),
		/* R12: fraction 0.2001 wants a partial; an outage at the exact times is the wrong type */
		event(CN, DM_EV_OUTAGE, T0 + 7 * D + 36000, T0 + 7 * D + 39600, 0),
		/* R14: still open at the end of input: end = span end, error 0 */
		event(AS131279, DM_EV_OUTAGE, T0 + 9 * D + 43200, 0, 0),
		/* X2: CN outage during CN's flap row: explained */
		event(CN, DM_EV_OUTAGE, T0 + D + 100, T0 + D + 700, 0),
		/* false: SY has no truth row; KP 8 days in, far from every KP row; SY instability open */
		event(SY, DM_EV_OUTAGE, T0 + D + 1000, T0 + D + 2000, 0),
		event(KP, DM_EV_OUTAGE, T0 + 8 * D, T0 + 8 * D + 1200, 0),
		event(SY, DM_EV_INSTABILITY, T0 + 9 * D, 0, 0),
		/* not judged: IPv6; not an alert: data quality */
		event(KP6, DM_EV_OUTAGE, T0 + 5 * D, T0 + 5 * D + 600, 0),
		event(SY, DM_EV_UNKNOWN, T0 + 2 * D, T0 + 2 * D + 600, 0),
	};
	struct score_opts o;
	score_opts_default(&o);
	struct score s;
	assert_int_equal(score_run(&t, ev, sizeof ev / sizeof ev[0], ents, sizeof ents / sizeof ents[0], &o, &s, &err), 0);

	/* 14 scored rows: the outage and instability rows with an entity (R1..R14) */
	assert_int_equal(s.nrows, 14);
	static const struct {
		int status, expected, required;
		long matched;
		int64_t se, ee, de;
		int open;
	} want[14] = {
		{ SCORE_FOUND, DM_EV_OUTAGE, 1, 0, 0, 300, 300, 0 },            /* R1 */
		{ SCORE_OFF_TIME, DM_EV_OUTAGE, 1, 3, 301, 0, -301, 0 },        /* R2 */
		{ SCORE_OFF_TIME, DM_EV_OUTAGE, 1, 4, 0, -301, -301, 0 },       /* R3 */
		{ SCORE_FOUND, DM_EV_INSTABILITY, 1, 6, 6800, 0, 0, 0 },        /* R4 */
		{ SCORE_FOUND, DM_EV_PARTIAL, 1, 7, 0, 0, 0, 0 },               /* R5 */
		{ SCORE_FOUND, DM_EV_OUTAGE, 1, 8, 0, 300, 300, 0 },            /* R6 */
		{ SCORE_FOUND, DM_EV_OUTAGE, 1, 10, 900, -900, -1800, 0 },      /* R7 */
		{ SCORE_MISSED, DM_EV_OUTAGE, 1, -1, 0, 0, 0, 0 },              /* R8 */
		{ SCORE_NOT_REQUIRED, DM_EV_PARTIAL, 0, -1, 0, 0, 0, 0 },       /* R9: 0.15 */
		{ SCORE_NOT_REQUIRED, DM_EV_PARTIAL, 0, -1, 0, 0, 0, 0 },       /* R10: 0.2 */
		{ SCORE_FOUND, DM_EV_PARTIAL, 1, 11, 0, 0, 0, 0 },              /* R11 */
		{ SCORE_WRONG_TYPE, DM_EV_PARTIAL, 1, 12, 0, 0, 0, 0 },         /* R12 */
		{ SCORE_NO_SERIES, DM_EV_OUTAGE, 1, -1, 0, 0, 0, 0 },           /* R13 */
		{ SCORE_FOUND, DM_EV_OUTAGE, 1, 13, 0, 0, 0, 1 },               /* R14 */
	};
	for (size_t i = 0; i < 14; i++) {
		const struct score_row *r = &s.rows[i];
		print_message("row %zu (line %u)\n", i + 1, t.v[r->truth].line);
		assert_int_equal(r->truth, i + 1);
		assert_int_equal(r->status, want[i].status);
		assert_int_equal(r->expected, want[i].expected);
		assert_int_equal(r->required, want[i].required);
		assert_int_equal(r->matched, want[i].matched);
		assert_int_equal(r->start_err, want[i].se);
		assert_int_equal(r->end_err, want[i].ee);
		assert_int_equal(r->dur_err, want[i].de);
		assert_int_equal(r->got_open, want[i].open);
	}
	assert_int_equal(s.rows[0].allowed, 300);
	assert_int_equal(s.rows[6].allowed, 900);
	assert_int_equal(s.rows[3].allowed, 0);
	assert_int_equal(s.rows[4].got_end, T0 + 3 * D + 50400);     /* the partial ended by the escalation */
	assert_int_equal(s.rows[5].got_end, T0 + 3 * D + 72300);     /* the outage ended by its recovery */
	assert_int_equal(s.rows[13].got_end, T0 + 10 * D);           /* open: the span end */
	assert_int_equal(s.rows[11].got_type, DM_EV_OUTAGE);

	/* required 12 = found 7 (R1 R4 R5 R6 R7 R11 R14) + off time 2 + missed 1 + wrong type 1 + no series 1 */
	assert_int_equal(s.required, 12);
	assert_int_equal(s.found, 7);
	assert_int_equal(s.off_time, 2);
	assert_int_equal(s.missed, 1);
	assert_int_equal(s.wrong_type, 1);
	assert_int_equal(s.no_series, 1);
	/* maxima over found outage/partial rows: R7's 900 / 900 / 1800 (R4's +6800 is instability) */
	assert_int_equal(s.start_err_max, 900);
	assert_int_equal(s.end_err_max, 900);
	assert_int_equal(s.dur_err_max, 1800);

	/* alerts on judged entities: 20 events - 3 recoveries - 1 unknown - 1 IPv6 = 15 */
	assert_int_equal(s.alerts, 15);
	assert_int_equal(s.nfalse, 3);
	assert_int_equal(s.falses[0].event, 15);
	assert_int_equal(s.falses[0].start, T0 + D + 1000);
	assert_int_equal(s.falses[0].end, T0 + D + 2000);
	assert_string_equal(s.falses[0].entity.cc, "SY");
	assert_int_equal(s.falses[1].event, 16);
	assert_string_equal(s.falses[1].entity.cc, "KP");
	assert_int_equal(s.falses[1].type, DM_EV_OUTAGE);
	assert_int_equal(s.falses[2].event, 17);
	assert_int_equal(s.falses[2].type, DM_EV_INSTABILITY);
	assert_int_equal(s.falses[2].open, 1);
	assert_int_equal(s.falses[2].end, T0 + 10 * D);
	assert_int_equal(s.entities, 7);
	assert_true(s.entity_days == 70.0);
	assert_true(s.false_per_entity_day == 3.0 / 70.0);
	score_free(&s);

	/* at bin 60 R1's +300 end is 240 s too late and R7's allowance is 660 */
	o.bin = 60;
	assert_int_equal(score_run(&t, ev, sizeof ev / sizeof ev[0], ents, sizeof ents / sizeof ents[0], &o, &s, &err), 0);
	assert_int_equal(s.rows[0].status, SCORE_OFF_TIME);
	assert_int_equal(s.rows[6].status, SCORE_OFF_TIME);
	assert_int_equal(s.rows[6].allowed, 660);
	assert_int_equal(s.found, 4);   /* R4 R5 R11 R14 */
	score_free(&s);

	/* at threshold 0.95 R9 (0.15) is required, a partial, and nothing was detected */
	o.bin = 300;
	o.threshold = 0.95;
	assert_int_equal(score_run(&t, ev, sizeof ev / sizeof ev[0], ents, sizeof ents / sizeof ents[0], &o, &s, &err), 0);
	assert_int_equal(s.rows[8].status, SCORE_MISSED);
	assert_int_equal(s.rows[9].status, SCORE_MISSED);
	assert_int_equal(s.required, 14);
	score_free(&s);
	truth_free(&t);
}

/* Everything detected right: the counts an `ok` run shows. */
static void test_score_clean(void **state)
{
	(void)state;
	char text[2048];
	snprintf(text, sizeof text, "%s", HEADER);
	row(text, sizeof text, "scenario", T0, T0 + 2 * D, "all", "-", 0);
	row(text, sizeof text, "outage", T0 + 3600, T0 + 7200, "KP", "1.0000", 0);
	struct truth t;
	struct dm_error err;
	assert_int_equal(truth_parse("t.tsv", text, strlen(text), &t, &err), 0);
	struct sig_entity ents[] = { country("KP"), country("CN") };
	struct dm_event ev[] = { event(ents[0], DM_EV_OUTAGE, T0 + 3600, T0 + 7200, 0) };
	struct score_opts o;
	score_opts_default(&o);
	struct score s;
	assert_int_equal(score_run(&t, ev, 1, ents, 2, &o, &s, &err), 0);
	assert_int_equal(s.required, 1);
	assert_int_equal(s.found, 1);
	assert_int_equal(s.nfalse, 0);
	assert_true(s.entity_days == 4.0);
	assert_true(s.false_per_entity_day == 0.0);
	score_free(&s);
	/* no events at all: missed, nothing false */
	assert_int_equal(score_run(&t, NULL, 0, ents, 2, &o, &s, &err), 0);
	assert_int_equal(s.rows[0].status, SCORE_MISSED);
	assert_int_equal(s.found, 0);
	score_free(&s);
	truth_free(&t);

	/* no scenario row: the span comes from the options, else it is an error */
	snprintf(text, sizeof text, "%s", HEADER);
	row(text, sizeof text, "outage", T0 + 3600, T0 + 7200, "KP", "1.0000", 0);
	assert_int_equal(truth_parse("t.tsv", text, strlen(text), &t, &err), 0);
	assert_int_equal(score_run(&t, ev, 1, ents, 2, &o, &s, &err), DM_ERR_BAD_VALUE);
	assert_string_equal(err.what, "no time span: the truth has no scenario row and none was given");
	o.span_from = T0;
	o.span_to = T0 + D;
	assert_int_equal(score_run(&t, ev, 1, ents, 2, &o, &s, &err), 0);
	assert_true(s.entity_days == 2.0);
	assert_int_equal(s.found, 1);
	score_free(&s);
	truth_free(&t);
}

/* A new normal closes the open outage it declares permanent (so the outage's end is the new
 * normal's end) and is an alert like any other: explained by a truth row, else false. */
static void test_score_newnormal(void **state)
{
	(void)state;
	char text[2048];
	snprintf(text, sizeof text, "%s", HEADER);
	row(text, sizeof text, "scenario", T0, T0 + 30 * D, "all", "-", 0);
	row(text, sizeof text, "outage", T0 + D, T0 + 25 * D, "KP", "1.0000", 0);
	struct truth t;
	struct dm_error err;
	assert_int_equal(truth_parse("t.tsv", text, strlen(text), &t, &err), 0);
	struct sig_entity ents[] = { country("KP"), country("CN") };
	struct dm_event ev[] = {
		event(ents[0], DM_EV_OUTAGE, T0 + D, 0, 0),
		event(ents[0], DM_EV_NEWNORMAL, T0 + D, T0 + 22 * D, DM_EV_OUTAGE),
		event(ents[1], DM_EV_NEWNORMAL, T0 + 2 * D, T0 + 23 * D, DM_EV_PARTIAL),
	};
	struct score_opts o;
	score_opts_default(&o);
	struct score s;
	assert_int_equal(score_run(&t, ev, 3, ents, 2, &o, &s, &err), 0);
	assert_int_equal(s.rows[0].status, SCORE_OFF_TIME);
	assert_int_equal(s.rows[0].got_end, T0 + 22 * D);
	assert_int_equal(s.rows[0].got_open, 0);
	assert_int_equal(s.rows[0].end_err, -3 * (int64_t)D);
	assert_int_equal(s.alerts, 3);
	assert_int_equal(s.nfalse, 1);
	assert_int_equal(s.falses[0].type, DM_EV_NEWNORMAL);
	assert_string_equal(s.falses[0].entity.cc, "CN");
	assert_int_equal(s.falses[0].end, T0 + 23 * D);
	score_free(&s);
	truth_free(&t);
}

/* Consecutive rows of one entity at the same level are one event (egypt-2011: 0.98 of EG lost
 * while one network stays up, then 1.0): the detector reports a change of level, not of depth.
 * An outage shorter than the detector's shortest (n = ceil(min_duration / bin) bins) is not
 * required: a 10-minute outage at 900 s bins may fall between two bin ends. */
static void test_score_merge_and_short(void **state)
{
	(void)state;
	char text[4096];
	snprintf(text, sizeof text, "%s", HEADER);
	row(text, sizeof text, "scenario", T0, T0 + 10 * D, "all", "-", 0);
	row(text, sizeof text, "outage", T0 + D, T0 + 4 * D, "EG", "0.9834", 1800);          /* unit 1 */
	row(text, sizeof text, "outage", T0 + D, T0 + 4 * D, "AS8452", "1.0000", 1800);      /* between */
	row(text, sizeof text, "outage", T0 + 4 * D, T0 + 5 * D + 3600, "EG", "1.0000", 0);  /* unit 1 */
	row(text, sizeof text, "outage", T0 + 5 * D + 3600, T0 + 5 * D + 7200, "EG", "0.4000", 0); /* unit 2 */
	row(text, sizeof text, "outage", T0 + 6 * D, T0 + 6 * D + 3600, "EG", "1.0000", 0);  /* unit 3: gap */
	row(text, sizeof text, "outage", T0 + 7 * D + 360, T0 + 7 * D + 960, "SY", "1.0000", 0); /* 600 s */
	struct truth t;
	struct dm_error err;
	assert_int_equal(truth_parse("t.tsv", text, strlen(text), &t, &err), 0);
	struct sig_entity ents[] = { country("EG"), asn(8452), country("SY") };
	struct dm_event ev[] = {
		event(ents[0], DM_EV_OUTAGE, T0 + D + 300, T0 + 5 * D + 3600, 0),
		event(ents[0], DM_EV_PARTIAL, T0 + 5 * D + 3600, T0 + 5 * D + 7200, DM_EV_OUTAGE),
		event(ents[0], DM_EV_OUTAGE, T0 + 6 * D, T0 + 6 * D + 3600, 0),
		event(ents[1], DM_EV_OUTAGE, T0 + D, T0 + 4 * D, 0),
		event(ents[2], DM_EV_OUTAGE, T0 + 7 * D + 300, T0 + 7 * D + 900, 0),
	};
	struct score_opts o;
	score_opts_default(&o);
	struct score s;
	assert_int_equal(score_run(&t, ev, 5, ents, 3, &o, &s, &err), 0);
	assert_int_equal(s.nrows, 5);
	/* EG 0.9834 + 1.0: one unit, rows 1 and 3, tolerance 1800, the largest share */
	assert_int_equal(s.rows[0].truth, 1);
	assert_int_equal(s.rows[0].truth_last, 3);
	assert_int_equal(s.rows[0].merged, 2);
	assert_int_equal(s.rows[0].start, T0 + D);
	assert_int_equal(s.rows[0].end, T0 + 5 * D + 3600);
	assert_int_equal(s.rows[0].tolerance, 1800);
	assert_true(s.rows[0].fraction == 1.0);
	assert_int_equal(s.rows[0].allowed, 2100);
	assert_int_equal(s.rows[0].status, SCORE_FOUND);
	assert_int_equal(s.rows[0].start_err, 300);
	assert_int_equal(s.rows[0].end_err, 0);
	assert_int_equal(s.rows[1].truth, 2);   /* AS8452 */
	assert_int_equal(s.rows[1].status, SCORE_FOUND);
	/* the 0.4 step is another level: its own unit (a de-escalation) */
	assert_int_equal(s.rows[2].truth, 4);
	assert_int_equal(s.rows[2].merged, 1);
	assert_int_equal(s.rows[2].expected, DM_EV_PARTIAL);
	assert_int_equal(s.rows[2].status, SCORE_FOUND);
	/* not contiguous: not merged */
	assert_int_equal(s.rows[3].truth, 5);
	assert_int_equal(s.rows[3].status, SCORE_FOUND);
	/* 600 s: required at 300 s bins (2 bins = 600 s), found */
	assert_int_equal(s.shortest, 600);
	assert_int_equal(s.rows[4].required, 1);
	assert_int_equal(s.rows[4].status, SCORE_FOUND);
	assert_int_equal(s.required, 5);
	assert_int_equal(s.found, 5);
	assert_int_equal(s.skipped_short, 0);
	score_free(&s);
	/* at 900 s bins it needs 900 s: not required, counted apart, its alert still explained */
	o.bin = 900;
	assert_int_equal(score_run(&t, ev, 5, ents, 3, &o, &s, &err), 0);
	assert_int_equal(s.shortest, 900);
	assert_int_equal(s.rows[4].required, 0);
	assert_int_equal(s.rows[4].why_not, SCORE_WHY_SHORT);
	assert_int_equal(s.rows[4].status, SCORE_NOT_REQUIRED);
	assert_int_equal(s.required, 4);
	assert_int_equal(s.skipped_short, 1);
	assert_int_equal(s.nfalse, 0);
	score_free(&s);
	/* min_duration 1200 at 300 s bins: 4 bins, 1200 s */
	o.bin = 300;
	o.min_duration = 1200;
	assert_int_equal(score_run(&t, ev, 5, ents, 3, &o, &s, &err), 0);
	assert_int_equal(s.shortest, 1200);
	assert_int_equal(s.rows[4].why_not, SCORE_WHY_SHORT);
	score_free(&s);
	truth_free(&t);
}

/* iran-2009: instability before and after an outage, one instability event across both
 * windows: found for both (the second with its negative start error); a third window after the
 * event closed needs an event of its own. */
static void test_score_instability_continues(void **state)
{
	(void)state;
	char text[4096];
	snprintf(text, sizeof text, "%s", HEADER);
	row(text, sizeof text, "scenario", T0, T0 + 10 * D, "all", "-", 0);
	row(text, sizeof text, "instability", T0 + 8 * 3600, T0 + 17 * 3600, "IR", "-", 0);
	row(text, sizeof text, "instability", T0 + 18 * 3600, T0 + 30 * 3600, "IR", "-", 0);
	row(text, sizeof text, "instability", T0 + 3 * D, T0 + 3 * D + 3600, "IR", "-", 0);
	struct truth t;
	struct dm_error err;
	assert_int_equal(truth_parse("t.tsv", text, strlen(text), &t, &err), 0);
	struct sig_entity ents[] = { country("IR") };
	struct dm_event ev[] = { event(ents[0], DM_EV_INSTABILITY, T0 + 9 * 3600, T0 + 35 * 3600, 0) };
	struct score_opts o;
	score_opts_default(&o);
	struct score s;
	assert_int_equal(score_run(&t, ev, 1, ents, 1, &o, &s, &err), 0);
	assert_int_equal(s.rows[0].status, SCORE_FOUND);
	assert_int_equal(s.rows[0].start_err, 3600);
	assert_int_equal(s.rows[1].status, SCORE_FOUND);
	assert_int_equal(s.rows[1].matched, 0);
	assert_int_equal(s.rows[1].start_err, -9 * 3600);
	assert_int_equal(s.rows[2].status, SCORE_MISSED);
	assert_int_equal(s.found, 2);
	assert_int_equal(s.nfalse, 0);
	score_free(&s);
	truth_free(&t);
}

/* Instability of a country that holds a fifth of a flapping AS's networks is not required (the
 * detector's share rule: half of the entity); the AS's own is. An instability alert is
 * explained by a truth event of its entity inside the window it counts (6 h before it):
 * AS64501's outage 1 h before its alert excuses it, AS64502's 7 h before does not. */
static void test_score_instability_share_and_window(void **state)
{
	(void)state;
	char text[4096];
	snprintf(text, sizeof text, "%s", HEADER);
	row(text, sizeof text, "scenario", T0, T0 + 10 * D, "all", "-", 0);
	row(text, sizeof text, "instability", T0 + 8 * 3600, T0 + 17 * 3600, "IR", "0.1844", 0);
	row(text, sizeof text, "instability", T0 + 8 * 3600, T0 + 17 * 3600, "AS12880", "1.0000", 0);
	row(text, sizeof text, "outage", T0 + D, T0 + D + 300, "AS64501", "0.5000", 0);
	row(text, sizeof text, "outage", T0 + 2 * D, T0 + 2 * D + 300, "AS64502", "0.5000", 0);
	struct truth t;
	struct dm_error err;
	assert_int_equal(truth_parse("t.tsv", text, strlen(text), &t, &err), 0);
	struct sig_entity ents[] = { country("IR"), asn(12880), asn(64501), asn(64502) };
	struct dm_event ev[] = {
		event(ents[1], DM_EV_INSTABILITY, T0 + 10 * 3600, T0 + 20 * 3600, 0),
		event(ents[2], DM_EV_INSTABILITY, T0 + D + 3600, T0 + D + 7 * 3600, 0),
		event(ents[3], DM_EV_INSTABILITY, T0 + 2 * D + 7 * 3600, T0 + 2 * D + 13 * 3600, 0),
	};
	for (int i = 0; i < 3; i++)
		ev[i].window = 6 * 3600;
	struct score_opts o;
	score_opts_default(&o);
	struct score s;
	assert_int_equal(score_run(&t, ev, 3, ents, 4, &o, &s, &err), 0);
	assert_int_equal(s.rows[0].status, SCORE_NOT_REQUIRED);
	assert_int_equal(s.rows[0].why_not, SCORE_WHY_SHARE);
	assert_int_equal(s.rows[1].status, SCORE_FOUND);
	assert_int_equal(s.found, 1);
	assert_int_equal(s.nfalse, 1);
	assert_int_equal(s.falses[0].entity.asn, 64502);
	score_free(&s);
	truth_free(&t);
}

/* The nk-2014 truth as the old generator wrote it: no fraction or tolerance columns, entity
 * "KP/AS131279" (one row per entity), readable times checked against the epoch columns. */
static void test_truth_old_format(void **state)
{
	(void)state;
	static const char text[] =
		"# darkmap scenario nk-2014 ground truth (timeline data/scenarios/nk-2014.tsv, seed 1)\n"
		"kind\tstart\tend\tstart_utc\tend_utc\tcollector\tpeer\tentity\tnote\n"
		"scenario\t1418342400\t1419811200\t2014-12-12T00:00:00Z\t2014-12-29T00:00:00Z\tall\tall\t-\tseed=1\n"
		"collector_gap\t1418648400\t1418651100\t2014-12-15T13:00:00Z\t2014-12-15T13:45:00Z\troute-views.sim\tall\t-\tnoise\n"
		"\n"
		"outage\t1419264900\t1419299160\t2014-12-22T16:15:00Z\t2014-12-23T01:46:00Z\tall\tall\tKP/AS131279\t[dyn-who] 9 h 31 min\r\n"
		"flap\t1419121555\t1419121706\t2014-12-21T00:25:55Z\t2014-12-21T00:28:26Z\tall\tall\tKP/AS131279\twithdrawn\n";
	struct truth t;
	struct dm_error err;
	assert_int_equal(truth_parse("truth.tsv", text, strlen(text), &t, &err), 0);
	assert_int_equal(t.n, 6);
	assert_int_equal(t.span_from, 1418342400);
	assert_int_equal(t.span_to, 1419811200);
	assert_int_equal(t.ignored_kinds, 2);
	assert_string_equal(t.v[2].kind, "outage");
	assert_int_equal(t.v[2].entity.kind, SIG_COUNTRY);
	assert_string_equal(t.v[2].entity.cc, "KP");
	assert_int_equal(t.v[3].entity.kind, SIG_ASN);
	assert_int_equal(t.v[3].entity.asn, 131279);
	assert_int_equal(t.v[3].line, 6);
	assert_true(t.v[3].fraction == 1.0);
	assert_int_equal(t.v[3].tolerance, 0);
	assert_string_equal(t.v[3].note, "[dyn-who] 9 h 31 min");
	assert_int_equal(t.v[1].entity.kind, 0);
	truth_free(&t);
}

static void expect_error(const char *body, const char *what)
{
	char text[1024];
	snprintf(text, sizeof text, "%s%s", HEADER, body);
	struct truth t;
	struct dm_error err;
	memset(&err, 0, sizeof err);
	assert_int_equal(truth_parse("x/truth.tsv", text, strlen(text), &t, &err), DM_ERR_BAD_VALUE);
	assert_string_equal(err.what, what);
	assert_int_equal(t.n, 0);
	assert_null(t.v);
}

static void test_truth_errors(void **state)
{
	(void)state;
	expect_error("outtage\t1419264900\t1419299160\t-\t-\tKP\t1\t0\tall\tall\tx\n",
	             "x/truth.tsv:2: unknown kind 'outtage'");
	expect_error("outage\t14192649x0\t1419299160\t-\t-\tKP\t1\t0\tall\tall\tx\n",
	             "x/truth.tsv:2: bad start '14192649x0'");
	expect_error("outage\t1419264900\t1419264900\t-\t-\tKP\t1\t0\tall\tall\tx\n",
	             "x/truth.tsv:2: end 1419264900 is not after start 1419264900");
	expect_error("# c\n\noutage\t1419264900\t1419299160\t2014-12-22T16:16:00Z\t-\tKP\t1\t0\tall\tall\tx\n",
	             "x/truth.tsv:4: start_utc 2014-12-22T16:16:00Z is not start 1419264900");
	expect_error("outage\t1419264900\t1419299160\t-\t-\tKP\t1.5\t0\tall\tall\tx\n",
	             "x/truth.tsv:2: bad fraction '1.5' (0..1)");
	expect_error("outage\t1419264900\t1419299160\t-\t-\tKP\t1\t-5\tall\tall\tx\n",
	             "x/truth.tsv:2: bad tolerance '-5' (seconds, 0..31622400)");
	expect_error("outage\t1419264900\t1419299160\t-\t-\tK1\t1\t0\tall\tall\tx\n",
	             "x/truth.tsv:2: bad entity 'K1' (a country code, ASnnn, all or -)");
	expect_error("outage\t1419264900\t1419299160\t-\t-\tKP/ASx\t1\t0\tall\tall\tx\n",
	             "x/truth.tsv:2: bad entity 'KP/ASx' (a country code, ASnnn, all or -)");
	expect_error("outage\t1419264900\t1419299160\t-\t-\tKP\t1\t0\tall\tx\n",
	             "x/truth.tsv:2: 10 columns, the header has 11");
	expect_error("scenario\t1418342400\t1419811200\t-\t-\tall\t-\t0\tall\tall\tx\n"
	             "scenario\t1418342400\t1419811200\t-\t-\tall\t-\t0\tall\tall\tx\n",
	             "x/truth.tsv:3: a second scenario row");

	struct truth t;
	struct dm_error err;
	const char *nohead = "# only comments\n\n";
	assert_int_equal(truth_parse("t.tsv", nohead, strlen(nohead), &t, &err), DM_ERR_BAD_VALUE);
	assert_string_equal(err.what, "t.tsv: no header line (kind start end ...)");
	const char *badhead = "kind\tbegin\tend\n";
	assert_int_equal(truth_parse("t.tsv", badhead, strlen(badhead), &t, &err), DM_ERR_BAD_VALUE);
	assert_string_equal(err.what, "t.tsv:1: header must name the columns kind, start and end (got 'kind\tbegin\tend')");
	assert_int_equal(truth_load("/nonexistent/truth.tsv", &t, &err), DM_ERR_IO);
	assert_string_equal(err.what, "/nonexistent/truth.tsv: No such file or directory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_score_rules),
		cmocka_unit_test(test_score_clean),
		cmocka_unit_test(test_score_newnormal),
		cmocka_unit_test(test_score_merge_and_short),
		cmocka_unit_test(test_score_instability_continues),
		cmocka_unit_test(test_score_instability_share_and_window),
		cmocka_unit_test(test_truth_old_format),
		cmocka_unit_test(test_truth_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
