# The scenario library end to end: for every data/scenarios/*.tsv, `darkmap scenario` writes the
# archives and truth.tsv, then at bins of 60, 300 and 900 s `replay` (every country, every AS the
# truth names, the world) -> `detect` -> `eval` against the scenario's own truth. One line per
# scenario x bin: ok when every required event is found within tolerance and there is no false
# alert (eval's exit status 0); one line per scenario: ok when the set of events found is the
# same at the three bins. Rules of the scoring: docs/eval.md. Uses the optimised binary.
source "$(dirname "$0")/../lib.sh"
BIN=${LIBRARY_DARKMAP:-$ROOT/build/rel/darkmap}
BINS=${LIBRARY_BINS:-60 300 900}
# 15-minute update files at both collectors: a third of the files of RIS's 5 minutes, the same
# records (each keeps its own timestamp); generating and reading them took 2.7x less time.
RIS_INTERVAL=${LIBRARY_RIS_INTERVAL:-15}
TABLE=$DATA/asn/ipasn_20140513.dat.gz
if [ ! -f "$TABLE" ]; then
	skip scenario_library "$TABLE absent"
	exit 0
fi
if [ ! -x "$BIN" ]; then
	nok scenario_library "$BIN not built (make darkmap)"
	exit 0
fi
now() { date +%s.%N; }
add() { awk -v a="$1" -v b="$2" -v c="$3" 'BEGIN { printf "%.1f", a + c - b }'; }
t_scen=0 t_replay=0 t_detect=0 t_eval=0
t_all=$(now)
# one scenario, end to end; its stage times go to $TMP/results/NAME.times
run_scenario() {
	local f=$1 name out t rc failed
	name=$(basename "$f" .tsv)
	out=$TMP/library/$name
	rm -rf "$out"
	t=$(now)
	if ! "$BIN" scenario "$f" --out "$out" --table "$TABLE" --ris-interval "$RIS_INTERVAL" >"$out.scenario.log" 2>&1 || [ ! -s "$out/truth.tsv" ]; then
		t_scen=$(add "$t_scen" "$t" "$(now)")
		nok "library_${name}" "darkmap scenario $f failed: $(tail -3 "$out.scenario.log" | tr '\n' ' ')"
		echo "$t_scen 0 0 0" >"$TMP/results/$name.times"
		return
	fi
	t_scen=$(add "$t_scen" "$t" "$(now)")
	# every origin AS the truth names (entity column; "KP/AS131279" in old files)
	asn_args=$(awk -F'\t' '
		/^#/ || NF < 3 { next }
		!col { for (i = 1; i <= NF; i++) if ($i == "entity") col = i; next }
		{ n = split($col, e, "/"); for (i = 1; i <= n; i++) if (e[i] ~ /^AS[0-9]+$/) print "--asn " substr(e[i], 3) }
	' "$out/truth.tsv" | sort -u | tr '\n' ' ')
	failed=0
	collectors=()
	for c in "$out"/*/; do collectors+=("${c%/}"); done
	for b in $BINS; do
		db=$out/$b.sqlite
		t=$(now)
		# shellcheck disable=SC2086 # asn_args is a word list
		"$BIN" replay --bin "$b" --db "$db" --rows countries $asn_args -q "${collectors[@]}" >"$out/$b.replay.log" 2>&1
		rc=$?
		t_replay=$(add "$t_replay" "$t" "$(now)")
		if [ $rc -gt 1 ]; then
			failed=1
			nok "library_${name}_bin$b" "replay exit $rc: $(tail -3 "$out/$b.replay.log" | tr '\n' ' ')"
			continue
		fi
		t=$(now)
		"$BIN" detect --db "$db" --quiet --json "$out/$b.alerts.jsonl" >"$out/$b.detect.log" 2>&1
		rc=$?
		t_detect=$(add "$t_detect" "$t" "$(now)")
		if [ $rc != 0 ]; then
			failed=1
			nok "library_${name}_bin$b" "detect exit $rc: $(tail -3 "$out/$b.detect.log" | tr '\n' ' ')"
			continue
		fi
		t=$(now)
		"$BIN" eval --truth "$out/truth.tsv" --db "$db" --json "$out/$b.eval.json" >"$out/$b.eval.txt" 2>"$out/$b.eval.err"
		rc=$?
		t_eval=$(add "$t_eval" "$t" "$(now)")
		# one comment line per scenario and bin: the numbers the README's library table shows
		[ -s "$out/$b.eval.json" ] && python3 - "$out/$b.eval.json" "$name" "$b" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
s = j['summary']
# errors beyond each event's tolerance (the spread of its withdrawals or returns): what must
# stay within one bin
ex = {'start_error': 0, 'end_error': 0}
for e in j['events']:
    if e['required'] and e['found'] and e['kind'] == 'outage':
        for k in ex:
            ex[k] = max(ex[k], abs(e[k] or 0) - e['tolerance'])
print('# library %s bin %s: %d of %d found, start/end error max %d/%d s (beyond the spread: %d/%d s), '
      'duration error max %d s, %d false alerts (%.4f per entity-day)' % (sys.argv[2], sys.argv[3], s['found'],
      s['required'], s['start_error_max'], s['end_error_max'], max(ex['start_error'], 0), max(ex['end_error'], 0),
      s['duration_error_max'], s['false_alerts'], s['false_per_entity_day']))
PY
		case $rc in
		0) ok "library_${name}_bin$b" ;;
		1) failed=1; nok "library_${name}_bin$b" "$(python3 - "$out/$b.eval.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
s = j['summary']
bad = ['%s %s %s %s' % (e['entity'], e['kind'], e['start_utc'][:16], e['status'])
       for e in j['events'] if e['required'] and e['status'] != 'found']
fa = ['%s %s %s' % (a['entity'], a['type'], a['start_utc'][:16]) for a in j['false_alerts']]
print('%d of %d found; not found: %s; %d false alerts: %s' % (s['found'], s['required'],
      ', '.join(bad[:6]) + (' ...' if len(bad) > 6 else ''), len(fa), ', '.join(fa[:6]) + (' ...' if len(fa) > 6 else '')))
PY
)" ;;
		*) failed=1; nok "library_${name}_bin$b" "eval exit $rc: $(tail -3 "$out/$b.eval.err" | tr '\n' ' ')" ;;
		esac
	done
	# the same events found at every bin: (truth line, entity) found or not, over the events
	# required at every bin (an outage shorter than a bin is not required at that bin: said)
	jsons=()
	for b in $BINS; do [ -s "$out/$b.eval.json" ] && jsons+=("$out/$b.eval.json"); done
	if [ ${#jsons[@]} -lt 2 ]; then
		failed=1
		nok "library_${name}_same_across_bins" "fewer than two bins scored"
	else
		why=$(python3 - "${jsons[@]}" <<'PY'
import json, sys
runs = []
for p in sys.argv[1:]:
    j = json.load(open(p))
    runs.append((j['bin'], {(e['line'], e['entity']): e for e in j['events']}))
keys = set(runs[0][1])
common = [k for k in sorted(keys) if all(k in r and r[k]['required'] for _, r in runs)]
some = [k for k in sorted(keys) if any(r[k]['required'] for _, r in runs) and k not in common]
diff = []
for k in common:
    found = ['%d:%s' % (b, 'found' if r[k]['found'] else r[k]['status']) for b, r in runs]
    if len(set(f.split(':')[1] == 'found' for f in found)) > 1:
        diff.append('%s line %d %s' % (k[1], k[0], ' '.join(found)))
for k in some:
    req = ['%d:%s' % (b, r[k]['status'] if r[k]['required'] else 'not required (' + str(r[k]['not_required']) + ')')
           for b, r in runs]
    print('#', 'line %d %s required at some bins only:' % k, ' '.join(req), file=sys.stderr)
print('; '.join(diff))
PY
)
		if [ -z "$why" ]; then ok "library_${name}_same_across_bins"; else failed=1; nok "library_${name}_same_across_bins" "$why"; fi
	fi
	# the archives and the minute-bin databases are large: keep them only to look at a failure,
	# outside TMP (removed when this script exits), in the folder tests/run reports and empties
	if [ $failed = 1 ]; then
		kept=$KEEP/scenario_library/$name
		rm -rf "$kept" && mkdir -p "$kept" && mv "$out" "$out".* "$kept"/ &&
			echo "# $name: files kept in $kept (tests/run removes them at the start of the next run)"
	fi
	rm -rf "$out" "$out".*
	echo "$t_scen $t_replay $t_detect $t_eval" >"$TMP/results/$name.times"
}
# Scenarios run side by side, one per core (LIBRARY_JOBS): each is a chain of single-threaded
# processes, so the library's wall time is its CPU time divided by the cores. Each scenario's
# lines print together, in file order.
njobs=${LIBRARY_JOBS:-$(nproc 2>/dev/null || echo 1)}
mkdir -p "$TMP/library" "$TMP/results"
names=() pids=()
for f in "${LIBRARY_DIR:-$ROOT/data/scenarios}"/*.tsv; do
	while [ "$(jobs -rp | wc -l)" -ge "$njobs" ]; do wait -n 2>/dev/null || true; done
	name=$(basename "$f" .tsv)
	run_scenario "$f" >"$TMP/results/$name.out" 2>&1 &
	names+=("$name") pids+=($!)
done
nscen=${#names[@]}
for i in "${!names[@]}"; do
	wait "${pids[$i]}"
	cat "$TMP/results/${names[$i]}.out"
	read -r a b c d <"$TMP/results/${names[$i]}.times" || continue
	t_scen=$(add "$t_scen" 0 "$a"); t_replay=$(add "$t_replay" 0 "$b")
	t_detect=$(add "$t_detect" 0 "$c"); t_eval=$(add "$t_eval" 0 "$d")
done
echo "# scenario_library: $nscen scenarios x bins $BINS in $(add 0 "$t_all" "$(now)") s" \
	"(summed over scenarios: scenario $t_scen s, replay $t_replay s, detect $t_detect s, eval $t_eval s)"
