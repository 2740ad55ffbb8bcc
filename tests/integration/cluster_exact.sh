#!/usr/bin/env bash
# The cut and the exact merge (docs/scale.md), in one process: `darkmap cluster local --parts N`
# cuts the elements of the NK-2014 scenario by address range into N partitions (each its own
# RIB and signal; the full-feed set chosen from the summed table sizes) and merges their
# per-bin partial results. The single process (`darkmap replay`) is the independent source:
# the series rows, the visibility changes and the detector's events must be the same, row for
# row, at 1, 3 and 16 partitions, over three windows of the scenario that exercise what does
# not decompose by address range: the KP flaps and hard outage (interruptions, peer_frac,
# peers_seeing), route-views.sim's missing update files (the gap flag and records: only the
# control partition counts them) and one full-feed peer's session reset (peers_up, the
# full-feed set and SIG_Q_PEERS_DROPPED, broadcast to every partition).
. "$(dirname "$0")/../lib.sh"
BIN=${CLUSTER_DARKMAP:-$DARKMAP}
sorted() { { IFS= read -r h; echo "$h"; sort; } <"$1"; }

window() {  # name from to
	local d=$TMP/$1
	"$BIN" scenario nk-2014 --out "$d" --from "$2" --to "$3" --world 3000 --peers 8 >"$d.log" 2>&1 ||
		{ nok "cluster_exact_$1" "darkmap scenario failed: $(tail -2 "$d.log")"; return; }
	local opts=(-q --csv --rows countries --asn 131279 --detect --all)
	if ! "$BIN" replay "${opts[@]}" --changes "$d.ch1" --json "$d.ev1" "$d" >"$d.csv1" 2>"$d.err1"; then
		[ $? -le 1 ] || { nok "cluster_exact_$1" "replay failed: $(tail -2 "$d.err1")"; return; }
	fi
	local rows; rows=$(($(wc -l <"$d.csv1") - 1))
	[ "$rows" -gt 50 ] || { nok "cluster_exact_$1" "the single process wrote $rows rows"; return; }
	# the window holds what it is there to exercise (else equality would prove little)
	case $1 in
	outage) awk -F, 'NR > 1 && $15 > 0 { f = 1 } END { exit !f }' "$d.csv1" ;;
	gap) grep -q ',gap,\|+gap,' "$d.csv1" ;;
	reset) grep -q ',peers-dropped,' "$d.csv1" ;;
	esac || { nok "cluster_exact_$1" "replay's series lacks what the window should show"; return; }
	for n in 1 3 16; do
		if ! "$BIN" cluster local --parts $n "${opts[@]}" --changes "$d.chn" --json "$d.evn" "$d" >"$d.csvn" 2>"$d.errn"; then
			[ $? -le 1 ] || { nok "cluster_exact_${1}_$n" "cluster local failed: $(tail -2 "$d.errn")"; continue; }
		fi
		if cmp -s <(sorted "$d.csv1") <(sorted "$d.csvn"); then
			ok "cluster_exact_${1}_${n}_rows"
		else
			nok "cluster_exact_${1}_${n}_rows" "series differ from replay's ($rows rows): $(diff <(sorted "$d.csv1") <(sorted "$d.csvn") | head -3 | tr '\n' ' ')"
		fi
		if [ "$(wc -l <"$d.ch1")" -gt 1 ] || [ "$1" = outage ]; then
			if cmp -s <(sorted "$d.ch1") <(sorted "$d.chn"); then
				ok "cluster_exact_${1}_${n}_changes"
			else
				nok "cluster_exact_${1}_${n}_changes" "$(diff <(sorted "$d.ch1") <(sorted "$d.chn") | head -3 | tr '\n' ' ')"
			fi
		fi
		if cmp -s <(sort "$d.ev1") <(sort "$d.evn"); then
			ok "cluster_exact_${1}_${n}_events"
		else
			nok "cluster_exact_${1}_${n}_events" "$(diff <(sort "$d.ev1") <(sort "$d.evn") | head -3 | tr '\n' ' ')"
		fi
	done
}

window outage 2014-12-22T12:00Z 2014-12-23T04:00Z
window gap 2014-12-15T12:00Z 2014-12-15T15:00Z
window reset 2014-12-17T09:00Z 2014-12-17T10:30Z
