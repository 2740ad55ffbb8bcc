#!/usr/bin/env bash
# `darkmap scenario` on bad input: clear message naming the file and line, exit 2, no crash;
# malformed table lines are counted and skipped.
source "$(dirname "$0")/../lib.sh"
d=$TMP/scenario_errors
rm -rf "$d"; mkdir -p "$d"

expect_usage() {  # name expected-stderr-substring args...
	local name=$1 want=$2; shift 2
	"$DARKMAP" scenario "$@" >"$d/out" 2>"$d/err"; local rc=$?
	if [ $rc = 2 ] && grep -qF -- "$want" "$d/err"; then ok "$name"
	else nok "$name" "exit $rc, stderr: $(head -c 300 "$d/err")"; fi
}

printf '# test\noutage\t2014-12-22T16:15:00Z\t2014-12-22T16:00:00Z\tKP\tend before start\n' >"$d/bad.tsv"
expect_usage scenario_bad_timeline_row "$d/bad.tsv: line 2" nk-2014 --out "$d/o1" --timeline "$d/bad.tsv" --world 10
printf 'outage\tyesterday\t2014-12-22T16:00:00Z\tKP\n' >"$d/bad2.tsv"
expect_usage scenario_bad_timeline_time "$d/bad2.tsv: line 1" nk-2014 --out "$d/o1" --timeline "$d/bad2.tsv" --world 10
expect_usage scenario_missing_timeline "$d/none.tsv" nk-2014 --out "$d/o1" --timeline "$d/none.tsv"
expect_usage scenario_missing_table "$d/none.gz: cannot read" nk-2014 --out "$d/o1" --table "$d/none.gz"
expect_usage scenario_too_many_peers "bad option value '41'" nk-2014 --out "$d/o1" --peers 41
expect_usage scenario_unaligned_from "15-minute boundary" nk-2014 --out "$d/o1" --from 2014-12-12T00:07
expect_usage scenario_bad_time "bad option value '2014-13-01'" nk-2014 --out "$d/o1" --from 2014-13-01
expect_usage scenario_unknown_name "unknown scenario 'nk-2015'" nk-2015 --out "$d/o1"
expect_usage scenario_no_out "--out DIR is required" nk-2014

# A table with malformed lines: 2 skipped and counted; the good line + KP's four /24s kept.
printf '; comment\ngarbage\n10.0.0.0/8\tx\n1.0.0.0/24\t13335\n' >"$d/table.dat"
"$DARKMAP" scenario nk-2014 --out "$d/o2" --table "$d/table.dat" --asnames "$d/none.json" \
	--peers 2 --churn 0 --from 2014-12-22T16:00 --to 2014-12-22T17:00 >"$d/out" 2>"$d/err"; rc=$?
if [ $rc = 0 ] && grep -qF "table.dat: 2 malformed lines skipped" "$d/err" &&
	grep -qP '^table\t.*\tprefixes=5\tkp_prefixes=4$' "$d/out"; then
	ok scenario_table_bad_lines
else
	nok scenario_table_bad_lines "exit $rc: $(head -c 300 "$d/err") / $(grep ^table "$d/out")"
fi
# The directory now holds a scenario: a second run into it is refused.
expect_usage scenario_refuses_existing "already holds a scenario" nk-2014 --out "$d/o2" --world 10
exit 0
