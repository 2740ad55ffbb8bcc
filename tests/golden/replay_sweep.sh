#!/usr/bin/env bash
# A table's first close counts coverage without building the trie (src/signal/signal.c sweep:
# the queued prefixes in address order with a stack of the prefixes covering each); the trie is
# built when a later change first needs it, with those prefixes already visible. Both must give
# what the build at the close gives (DARKMAP_SWEEP=0): the CSV, the change log and the summary
# (all but times and memory), byte for byte, on
#   1. a generated nk-2014 stream (RIB dumps, then updates that withdraw and bring back visible
#      prefixes bin after bin), with and without the mapping;
#   2. real files (../shared/data/mrt): a one-peer table transfer (one close), the 2002 RIS
#      bview (a RIB), RIS updates of 2024 (IPv4 and IPv6 tables, several bins).
. "$(dirname "$0")/../lib.sh"

same() {  # name, replay arguments...
	local name=$1 mode
	shift
	for mode in 1 0; do
		DARKMAP_SWEEP=$mode "$DARKMAP" replay --csv --changes "$TMP/$name.$mode.ch" "$@" >"$TMP/$name.$mode.csv" 2>"$TMP/$name.$mode.err"
		echo "exit $?" >>"$TMP/$name.$mode.csv"
		grep -vE 'wall|MB|records/s' "$TMP/$name.$mode.err" >"$TMP/$name.$mode.sum"
	done
	local rows changes
	rows=$(wc -l <"$TMP/$name.1.csv")
	changes=$(wc -l <"$TMP/$name.1.ch")
	if ! cmp -s "$TMP/$name.1.csv" "$TMP/$name.0.csv"; then
		nok "replay_sweep_$name" "CSV differs: $(diff "$TMP/$name.0.csv" "$TMP/$name.1.csv" | head -4 | tr '\n' ' ')"
	elif ! cmp -s "$TMP/$name.1.ch" "$TMP/$name.0.ch"; then
		nok "replay_sweep_$name" "change log differs: $(diff "$TMP/$name.0.ch" "$TMP/$name.1.ch" | head -4 | tr '\n' ' ')"
	elif ! cmp -s "$TMP/$name.1.sum" "$TMP/$name.0.sum"; then
		nok "replay_sweep_$name" "summary differs: $(diff "$TMP/$name.0.sum" "$TMP/$name.1.sum" | head -4 | tr '\n' ' ')"
	elif [ "$rows" -lt 3 ]; then
		nok "replay_sweep_$name" "only $rows CSV lines: nothing compared"
	else
		ok "replay_sweep_$name ($rows CSV lines, $changes changes)"
	fi
}

if "$DARKMAP" scenario nk-2014 --out "$TMP/nk" --from 2014-12-22T12:00Z --to 2014-12-23T04:00Z --world 3000 \
	--peers 8 >"$TMP/nk.log" 2>&1; then
	same nk2014 "$TMP/nk"
	same nk2014_no_geo --no-geo "$TMP/nk"
	# the stream must reach the deferred build: changes of visible prefixes after the first close
	n=$(wc -l <"$TMP/nk2014.1.ch")
	if [ "$n" -gt 10 ]; then ok "replay_sweep_nk2014_changes_after_first_close ($n)"; else
		nok replay_sweep_nk2014_changes_after_first_close "$n change rows"; fi
else
	nok replay_sweep_nk2014 "darkmap scenario failed: $(tail -2 "$TMP/nk.log" | tr '\n' ' ')"
fi

for f in updates.et-header.2015.gz bview.20020722.2337.gz rrc01.updates.20241001.0055.gz; do
	if have_data "mrt/$f"; then
		same "${f%%.gz}_no_geo" --no-geo "$DATA/mrt/$f"
	else
		skip "replay_sweep_$f" "$DATA/mrt/$f: absent"
	fi
done
