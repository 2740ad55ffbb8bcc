#!/usr/bin/env bash
# The scenario library (data/scenarios/*.tsv, docs/scenarios.md), checked without playing it:
# every event row cites a source key that the file's header defines, every span leaves the
# detector 8 quiet days before the first event, the files stay cheap (peers, sample, churn),
# and every AS a row names originates at least one prefix of the May-2014 table.
# nk-2014 has its own tests (tests/integration/demo_nk2014.sh) and is left out here.
source "$(dirname "$0")/../lib.sh"
table=$DATA/asn/ipasn_20140513.dat.gz
asns=$TMP/scenario_library_asns
if [ -f "$table" ]; then
	zcat "$table" | awk '!/^;/ {print $2}' | sort -u >"$asns"
fi

for f in "$ROOT"/data/scenarios/*.tsv; do
	n=$(basename "$f" .tsv)
	[ "$n" = nk-2014 ] && continue

	# Keys defined in the header ("#  [key] ...") and keys cited by event rows.
	bad=$(awk -F'\t' '
		/^#[ \t]+\[[A-Za-z0-9_-]+\]/ { match($0, /\[[A-Za-z0-9_-]+\]/); def[substr($0, RSTART, RLENGTH)] = 1; next }
		/^#/ || NF < 5 { next }
		$1 == "peer_reset" || $1 == "collector_gap" || $1 == "churn" { next }
		{
			note = $NF; cited = 0
			while (match(note, /\[[A-Za-z0-9_-]+\]/)) {
				k = substr(note, RSTART, RLENGTH); cited++
				if (!(k in def)) printf "line %d cites %s, not defined; ", NR, k
				note = substr(note, RSTART + RLENGTH)
			}
			if (!cited) printf "line %d (%s) cites no source; ", NR, $1
		}' "$f")
	[ -z "$bad" ] && ok "scenario_library_sources_$n" || nok "scenario_library_sources_$n" "$bad"

	# 8 days of baseline before the first event that is not noise.
	span_start=$(awk -F'\t' '$1 == "span" {print $2}' "$f")
	first=$(awk -F'\t' '!/^#/ && NF >= 5 && $1 != "peer_reset" && $1 != "collector_gap" && $1 != "churn" {print $2}' "$f" | sort | head -1)
	if [ -z "$span_start" ] || [ -z "$first" ]; then
		nok "scenario_library_baseline_$n" "no span row or no event row"
	else
		d=$(( ($(date -u -d "${first%Z}" +%s) - $(date -u -d "${span_start%Z}" +%s)) / 86400 ))
		[ "$d" -ge 8 ] && ok "scenario_library_baseline_$n" \
			|| nok "scenario_library_baseline_$n" "$d days before $first"
	fi

	# Cheap: make test plays every file at three bin sizes.
	cost=$(awk -F'\t' '$1 == "peers" && $2 > 6 {print "peers " $2} $1 == "sample" && $2 > 2000 {print "sample " $2}
		$1 == "churn" && NF == 2 && $2 > 100 {print "churn " $2}' "$f")
	[ -z "$cost" ] && ok "scenario_library_cost_$n" || nok "scenario_library_cost_$n" "$cost"

	# Every AS named as a target, in a set or in except= has prefixes in the 2014 table
	# (AS6453 in syria-2012 is named for the record: it originates prefixes, none in SY).
	if [ ! -f "$table" ]; then
		skip "scenario_library_asns_$n" "$table absent"
		continue
	fi
	missing=""
	for a in $(awk -F'\t' '!/^#/ && ($1 == "set" || NF >= 5) {print $0}' "$f" |
		grep -o 'AS[0-9]\+' | sort -u); do
		grep -qx "${a#AS}" "$asns" || missing="$missing $a"
	done
	[ -z "$missing" ] && ok "scenario_library_asns_$n" \
		|| nok "scenario_library_asns_$n" "not in the May-2014 table:$missing"
done
