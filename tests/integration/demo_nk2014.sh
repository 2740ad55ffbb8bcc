# make demo's job, checked against the scenario's own ground truth (truth.tsv, written by the
# generator from the cited timeline): every documented KP outage detected with start and end
# within one bin, instability raised before the 22 Dec outage, recoveries with the right
# durations, no alert for any other entity, the collector gap and the peer reset give only
# data-quality (unknown) events. Uses the optimised binary (the ASan one runs the unit tests).
source "$(dirname "$0")/../lib.sh"
BIN=${DEMO_DARKMAP:-$ROOT/build/rel/darkmap}
out=$TMP/demo
if ! "$BIN" demo --out "$out" >"$TMP/demo.log" 2>&1; then
	nok demo_runs "darkmap demo failed: $(tail -5 "$TMP/demo.log")"
	exit 0
fi
ok demo_runs
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
BIN = 300
truth = [l.rstrip('\n').split('\t') for l in open(out + '/scenario/truth.tsv') if not l.startswith('#')]
hdr, rows = truth[0], truth[1:]
T = [dict(zip(hdr, r)) for r in rows]
ev = [json.loads(l) for l in open(out + '/alerts.jsonl')]
def check(name, cond, why=''):
    print(('ok ' if cond else 'not ok ') + name + ('' if cond else ': ' + why))

kp = [e for e in ev if e['entity'] == 'KP' and e['afi'] == 4]
# truth.tsv has one row per entity (SPEC B): KP's rows, and the same periods for AS131279
outages = [t for t in T if t['kind'] == 'outage' and t['entity'] == 'KP']
flaps = [t for t in T if t['kind'] == 'flap' and t['entity'] == 'KP']
as_out = [(t['start'], t['end'], t['fraction']) for t in T if t['kind'] == 'outage' and t['entity'] == 'AS131279']
check('truth_kp_rows', len(outages) == 5 and all(t['fraction'] == '1.0000' and t['tolerance'] == '0' for t in outages),
      'KP outage rows: %s' % [(t['start_utc'], t['fraction']) for t in outages])
check('truth_as131279_rows', as_out == [(t['start'], t['end'], '1.0000') for t in outages],
      'AS131279 rows %s' % as_out)
check('truth_only_kp_entities', {t['entity'] for t in T if t['kind'] in ('outage', 'flap', 'instability')} == {'KP', 'AS131279'},
      'entities %s' % {t['entity'] for t in T})
recs = [e for e in kp if e['type'] == 'recovery' and e.get('ends') in ('outage', 'partial')]
opens = [e for e in kp if e['type'] in ('outage', 'partial') and e['end'] is None]
for t in outages:
    s, e = int(t['start']), int(t['end'])
    m = [r for r in recs if abs(r['start_ts'] - s) <= BIN and abs(r['end_ts'] - e) <= BIN]
    check('kp_outage_%s' % t['start_utc'], len(m) == 1,
          'no recovery within one bin of %s - %s; got %s' % (t['start_utc'], t['end_utc'],
          [(r['start'], r['end']) for r in recs]))
    if m:
        want = e - s
        check('kp_duration_%s' % t['start_utc'], abs(m[0]['duration'] - want) <= BIN,
              'duration %s s, truth %s s' % (m[0]['duration'], want))
# every detected KP outage is a documented outage or one of the generated flaps (>= 2 bin ends)
def overlaps(r, t):
    return r['start_ts'] < int(t['end']) + BIN and r['end_ts'] > int(t['start']) - BIN
extra = [r for r in recs if not any(overlaps(r, t) for t in outages + flaps)]
check('kp_no_spurious_outage', not extra, 'outages matching no truth row: %s' % [(r['start'], r['end']) for r in extra])
unrecovered = [o for o in opens if not any(r['start_ts'] == o['start_ts'] for r in recs)]
check('kp_every_outage_recovers', bool(opens) and not unrecovered,
      'outages without a recovery: %s' % [o['start'] for o in unrecovered])
hard = [t for t in outages if t['start_utc'].startswith('2014-12-22T16:15')][0]
inst = [e for e in kp if e['type'] == 'instability' and e['end'] is None]
check('kp_instability_before_hard_outage', bool(inst) and min(e['start_ts'] for e in inst) < int(hard['start']),
      'instability events: %s' % [e['start'] for e in inst])
nine = [r for r in recs if abs(r['start_ts'] - int(hard['start'])) <= BIN]
check('kp_back_after_9h31', bool(nine) and abs(nine[0]['duration'] - (9 * 3600 + 31 * 60)) <= BIN,
      'recovery: %s' % nine)
alerts = [e for e in ev if e['type'] != 'unknown']
others = [e for e in alerts if e['entity'] not in ('KP', 'AS131279')]
check('no_alert_for_other_entities', not others, '%d alerts, e.g. %s' % (len(others), others[:3]))
unknown = [e for e in ev if e['type'] == 'unknown']
for kind in ('collector_gap', 'peer_reset'):
    t = [x for x in T if x['kind'] == kind][0]
    s, e = int(t['start']), int(t['end'])
    near = [a for a in alerts if a['start_ts'] < e + BIN and (a['end_ts'] or a['start_ts']) > s - BIN]
    check('%s_no_alert' % kind, not near, 'alerts during %s: %s' % (kind, near[:3]))
    u = [x for x in unknown if x['entity'] == 'KP' and abs(x['start_ts'] - s) <= BIN]
    check('%s_is_unknown' % kind, bool(u), 'no unknown event near %s' % t['start_utc'])
PY
for f in kp-2014-12.png kp-2014-12-22.png kp-2014-12.svg index.html darkmap.sqlite; do
	if [ -s "$out/$f" ]; then ok "demo_writes_$f"; else nok "demo_writes_$f" "missing"; fi
done
# make demo ends with the command that serves the demo database and the dashboard's URL, after
# the static page's
if tail -1 "$TMP/demo.log" | grep -qF 'dashboard: http://127.0.0.1:8080/' &&
	tail -2 "$TMP/demo.log" | head -1 | grep -qF "serve --db $(cd "$out" && pwd)/darkmap.sqlite" &&
	grep -q '^static page: file://.*/index.html$' "$TMP/demo.log"; then
	ok demo_ends_with_url
else
	nok demo_ends_with_url "$(tail -3 "$TMP/demo.log" | tr '\n' '|')"
fi
# A directory the user named that holds a demo is not overwritten without --force (out/demo,
# the default, is the demo's own and is replaced: `make demo` twice works).
"$BIN" demo --out "$out" >"$TMP/demo2.log" 2>&1; rc=$?
if [ $rc = 2 ] && grep -qF "$out already holds a demo (use --force to replace it, or another --out)" "$TMP/demo2.log" &&
	[ -s "$out/darkmap.sqlite" ]; then
	ok demo_protects_user_dir
else
	nok demo_protects_user_dir "exit $rc: $(tail -2 "$TMP/demo2.log")"
fi
