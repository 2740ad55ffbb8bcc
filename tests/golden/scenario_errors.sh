#!/usr/bin/env bash
# `darkmap scenario` on bad input: every error class of the scenario language gives exactly one
# message naming the file and line (FILE:LINE: what), exit 2, and nothing is generated;
# bad options and tables are named too; malformed table lines are counted and skipped.
source "$(dirname "$0")/../lib.sh"
d=$TMP/scenario_errors
rm -rf "$d"; mkdir -p "$d"
RIR=$ROOT/tests/golden/scenario/lang.rir
SMALL=(--world 50 --rir "$RIR")

expect_usage() {  # name expected-stderr-line args...: exit 2, that exact line on stderr
	local name=$1 want=$2; shift 2
	rm -rf "$d/o1"
	"$DARKMAP" scenario "$@" >"$d/out" 2>"$d/err"; local rc=$?
	if [ $rc = 2 ] && grep -qxF -- "$want" "$d/err" && [ ! -e "$d/o1" ]; then ok "$name"
	else nok "$name" "exit $rc, stderr: $(head -c 400 "$d/err")"; fi
}
# A scenario file: a span and a route, then the rows given (tab-separated), one per argument.
scen() {  # file rows...
	local f=$d/$1; shift
	{ printf 'span\t2011-01-27T00:00Z\t2011-01-28T00:00Z\n'
	  printf 'route\t41.32.0.0/22,41.32.4.0/24\tAS8452\n'
	  printf '%s\n' "$@"; } >"$f"
	echo "$f"
}
T=$'\t'
row() { local IFS=$'\t'; echo "$*"; }   # fields -> one tab-separated row

f=$(scen kind.tsv "$(row outgage 2011-01-27T02:00Z 2011-01-27T03:00Z EG -)")
expect_usage scenario_err_unknown_kind "$f:3: unknown kind 'outgage' (outage, instability, flap, reorigin, upstream, peer_reset, collector_gap, churn; settings: name, span, peers, seed, churn, sample, countries, set, route)" "$f" --out "$d/o1" "${SMALL[@]}"
f=$(scen time.tsv "$(row outage yesterday 2011-01-27T03:00Z EG -)")
expect_usage scenario_err_bad_time "$f:3: bad start time 'yesterday' (want 2014-12-22T16:15:00Z, 2014-12-22T16:15Z, 2014-12-22 or epoch seconds)" "$f" --out "$d/o1" "${SMALL[@]}"
f=$(scen time2.tsv "$(row outage 2011-01-27T02:00Z 2011-02-30 EG -)")
expect_usage scenario_err_bad_end_time "$f:3: bad end time '2011-02-30' (want 2014-12-22T16:15:00Z, 2014-12-22T16:15Z, 2014-12-22 or epoch seconds)" "$f" --out "$d/o1" "${SMALL[@]}"
f=$(scen order.tsv "$(row outage 2011-01-27T03:00Z 2011-01-27T02:00Z EG -)")
expect_usage scenario_err_end_before_start "$f:3: end 2011-01-27T02:00Z is not after start 2011-01-27T03:00Z" "$f" --out "$d/o1" "${SMALL[@]}"
f=$(scen span.tsv "$(row outage 2011-01-27T22:00Z 2011-01-28T02:00Z EG -)")
expect_usage scenario_err_outside_span "$f:3: outage 2011-01-27T22:00:00Z .. 2011-01-28T02:00:00Z is outside the span 2011-01-27T00:00:00Z .. 2011-01-28T00:00:00Z (line 1)" "$f" --out "$d/o1" "${SMALL[@]}"
f=$(scen fields.tsv "$(row outage 2011-01-27T02:00Z 2011-01-27T03:00Z)")
expect_usage scenario_err_missing_field "$f:3: outage: want kind<TAB>start<TAB>end<TAB>target[<TAB>params][<TAB>note]" "$f" --out "$d/o1" "${SMALL[@]}"
f=$(scen param.tsv "$(row outage 2011-01-27T02:00Z 2011-01-27T03:00Z EG speed=3 note)")
expect_usage scenario_err_bad_param "$f:3: bad param 'speed=3' for outage (takes: fraction, spread, restore_spread, except, peers)" "$f" --out "$d/o1" "${SMALL[@]}"
f=$(scen param2.tsv "$(row flap 2011-01-27T02:00Z 2011-01-27T03:00Z EG spread=60 note)")
expect_usage scenario_err_param_of_other_kind "$f:3: bad param 'spread=60' for flap (takes: fraction, except, peers)" "$f" --out "$d/o1" "${SMALL[@]}"
f=$(scen value.tsv "$(row outage 2011-01-27T02:00Z 2011-01-27T03:00Z EG fraction=1.5 note)")
expect_usage scenario_err_bad_value "$f:3: bad value in 'fraction=1.5'" "$f" --out "$d/o1" "${SMALL[@]}"
f=$(scen value2.tsv "$(row outage 2011-01-27T02:00Z 2011-01-27T03:00Z EG except=ASX note)")
expect_usage scenario_err_bad_except "$f:3: bad value in 'except=ASX'" "$f" --out "$d/o1" "${SMALL[@]}"
f=$(scen to.tsv "$(row reorigin 2011-01-27T02:00Z 2011-01-27T03:00Z AS8452 fraction=0.5 note)")
expect_usage scenario_err_reorigin_without_to "$f:3: reorigin needs to=ASN" "$f" --out "$d/o1" "${SMALL[@]}"
f=$(scen via.tsv "$(row upstream 2011-01-27T02:00Z 2011-01-27T03:00Z AS8452 - note)")
expect_usage scenario_err_upstream_without_via "$f:3: upstream needs via=ASN" "$f" --out "$d/o1" "${SMALL[@]}"
f=$(scen setting.tsv "$(row peers 0)")
expect_usage scenario_err_bad_setting "$f:3: bad peers '0' (1..40)" "$f" --out "$d/o1" "${SMALL[@]}"
f=$(scen setcc.tsv "$(row countries EG,XX)")
expect_usage scenario_err_bad_countries "$f:3: bad country 'XX' in countries" "$f" --out "$d/o1" "${SMALL[@]}"
printf 'outage\t2011-01-27T02:00Z\t2011-01-27T03:00Z\tEG\t-\n' >"$d/nospan.tsv"
expect_usage scenario_err_no_span "$d/nospan.tsv: no span row (span<TAB>START<TAB>END) and no --from/--to" "$d/nospan.tsv" --out "$d/o1" "${SMALL[@]}"
# targets, resolved against the table (the generated one plus the route row, mapped by lang.rir)
f=$(scen cc.tsv "$(row outage 2011-01-27T02:00Z 2011-01-27T03:00Z LY - 'no route in LY')")
expect_usage scenario_err_country_without_prefix "$f:3: unknown target 'LY': no prefix of the table is in LY (by the geo mapping, majority of addresses)" "$f" --out "$d/o1" "${SMALL[@]}"
f=$(scen cc2.tsv "$(row outage 2011-01-27T02:00Z 2011-01-27T03:00Z XX -)")
expect_usage scenario_err_not_a_country "$f:3: unknown target 'XX': not a country code" "$f" --out "$d/o1" "${SMALL[@]}"
f=$(scen as.tsv "$(row outage 2011-01-27T02:00Z 2011-01-27T03:00Z AS64500 -)")
expect_usage scenario_err_as_without_prefix "$f:3: unknown target 'AS64500': AS64500 originates no prefix of the table" "$f" --out "$d/o1" "${SMALL[@]}"
f=$(scen pfx.tsv "$(row flap 2011-01-27T02:00Z 2011-01-27T03:00Z prefix:41.32.0.0/22,198.18.0.0/15 -)")
expect_usage scenario_err_prefix_not_in_table "$f:3: unknown target '198.18.0.0/15': no prefix of the table is inside it" "$f" --out "$d/o1" "${SMALL[@]}"
f=$(scen set.tsv "$(row outage 2011-01-27T02:00Z 2011-01-27T03:00Z set:none -)")
expect_usage scenario_err_unknown_set "$f:3: unknown target 'set:none': no set none defined" "$f" --out "$d/o1" "${SMALL[@]}"
f=$(scen word.tsv "$(row outage 2011-01-27T02:00Z 2011-01-27T03:00Z Egypt -)")
expect_usage scenario_err_unknown_target "$f:3: unknown target 'Egypt' (want a country code, ASn, prefix:P[,P...], set:NAME)" "$f" --out "$d/o1" "${SMALL[@]}"
f=$(scen except.tsv "$(row outage 2011-01-27T02:00Z 2011-01-27T03:00Z AS8452 except=AS8452 -)")
expect_usage scenario_err_all_excepted "$f:3: target AS8452: every prefix is excepted (except=)" "$f" --out "$d/o1" "${SMALL[@]}"
f=$(scen coll.tsv "$(row collector_gap 2011-01-27T02:00Z 2011-01-27T03:00Z rrc00 -)")
expect_usage scenario_err_unknown_collector "$f:3: unknown target 'rrc00' for collector_gap (want route-views.sim, rrc.sim, all)" "$f" --out "$d/o1" "${SMALL[@]}"
f=$(scen peer.tsv "$(row peers 4)" "$(row peer_reset 2011-01-27T02:00Z 2011-01-27T03:00Z rrc.sim/9 -)")
expect_usage scenario_err_unknown_peer "$f:4: unknown target 'rrc.sim/9': rrc.sim has 2 peers (rrc.sim/0 .. rrc.sim/1)" "$f" --out "$d/o1" "${SMALL[@]}"
f=$(scen churn.tsv "$(row churn 2011-01-27T02:00Z 2011-01-27T03:00Z EG rate=100)")
expect_usage scenario_err_churn_target "$f:3: unknown target 'EG' for churn (want all)" "$f" --out "$d/o1" "${SMALL[@]}"
# every bad row is reported, not only the first
f=$(scen many.tsv "$(row outage 2011-01-27T02:00Z 2011-01-27T03:00Z EG fraction=0)" "$(row flap x 2011-01-27T03:00Z EG -)")
"$DARKMAP" scenario "$f" --out "$d/o1" "${SMALL[@]}" >/dev/null 2>"$d/err"; rc=$?
[ $rc = 2 ] && [ "$(cut -d: -f2 "$d/err" | tr '\n' ' ')" = "3 4 " ] && ok scenario_err_all_rows_reported ||
	nok scenario_err_all_rows_reported "exit $rc: $(cat "$d/err")"

# options and files
expect_usage scenario_missing_file "darkmap scenario: $d/none.tsv: No such file or directory" "$d/none.tsv" --out "$d/o1"
expect_usage scenario_missing_table "darkmap scenario: $d/none.gz: cannot read" nk-2014 --out "$d/o1" --table "$d/none.gz"
expect_usage scenario_too_many_peers "darkmap scenario: bad option value '41'" nk-2014 --out "$d/o1" --peers 41
expect_usage scenario_unaligned_from "darkmap scenario: span from --from/--to: start and end must be on a 15-minute boundary" nk-2014 --out "$d/o1" --from 2014-12-12T00:07 "${SMALL[@]}"
expect_usage scenario_bad_time "darkmap scenario: bad option value '2014-13-01'" nk-2014 --out "$d/o1" --from 2014-13-01
expect_usage scenario_unknown_name "darkmap scenario: unknown scenario 'nk-2015' (no data/scenarios/nk-2015.tsv; give a FILE.tsv, or selftest)" nk-2015 --out "$d/o1"
expect_usage scenario_no_out "darkmap scenario: --out DIR is required" nk-2014
expect_usage scenario_table_and_rib "darkmap scenario: --table and --rib both given: one table only" nk-2014 --out "$d/o1" --table x --rib y

# A table with malformed lines: 2 skipped and counted; the good line + KP's four /24s kept.
printf '; comment\ngarbage\n10.0.0.0/8\tx\n1.0.0.0/24\t13335\n' >"$d/table.dat"
"$DARKMAP" scenario nk-2014 --out "$d/o2" --table "$d/table.dat" \
	--peers 2 --churn 0 --from 2014-12-22T16:00 --to 2014-12-22T17:00 >"$d/out" 2>"$d/err"; rc=$?
if [ $rc = 0 ] && grep -qxF "darkmap scenario: $d/table.dat: 2 malformed lines skipped" "$d/err" &&
	grep -qP '^table\t.*\tprefixes=5\ttarget_prefixes=4$' "$d/out"; then
	ok scenario_table_bad_lines
else
	nok scenario_table_bad_lines "exit $rc: $(head -c 300 "$d/err") / $(grep ^table "$d/out")"
fi
# The directory now holds a scenario: a second run into it is refused.
expect_usage scenario_refuses_existing "darkmap scenario: $d/o2 already holds a scenario (use --force or another directory)" nk-2014 --out "$d/o2" --world 10
exit 0
