#!/usr/bin/env bash
# `darkmap scenario nk-2014` output (data/scenarios/nk-2014.tsv in the scenario language), decoded by the real Debian bgpdump: the RIB holds every
# peer x prefix the generator reported, KP's routes carry the paths of peers.tsv (the PCH peer's
# being the real "3856 2914 1239 4837 131279"), KP is withdrawn by every peer at exactly the
# seconds of data/scenarios/nk-2014.tsv (read here with date(1), independently of the C parser)
# and of truth.tsv's flaps, and re-announced at the end seconds; no other KP withdrawal exists.
source "$(dirname "$0")/../lib.sh"
command -v bgpdump >/dev/null || { skip scenario_bgpdump "bgpdump not installed"; exit 0; }
TL=$ROOT/data/scenarios/nk-2014.tsv
KPRE='^175\.45\.17[6-9]\.0/24$'

rv_file() {  # update file holding second $2 of scenario dir $1
	local f=$(($2 - $2 % 900))
	echo "$1/route-views.sim/bgpdata/$(date -u -d @$f +%Y.%m)/UPDATES/updates.$(date -u -d @$f +%Y%m%d.%H%M).bz2"
}
ris_file() {
	local f=$(($2 - $2 % 300))
	echo "$1/rrc.sim/$(date -u -d @$f +%Y.%m)/updates.$(date -u -d @$f +%Y%m%d.%H%M).gz"
}
decode_at() {  # bgpdump -m of both collectors' files holding second $2
	bgpdump -m "$(rv_file "$1" "$2")" 2>/dev/null
	bgpdump -m "$(ris_file "$1" "$2")" 2>/dev/null
}
kp_lines() {  # kind (W/A) second: KP lines of that kind stamped with that second, on stdin
	awk -F'|' -v k="$1" -v s="$2" -v re="$KPRE" '$3 == k && int($2) == s && $6 ~ re'
}

# ---- 1. a short span around the hard outage, real table when available -------------------
out=$TMP/sc_short
rm -rf "$out"
table=()
if have_data asn/ipasn_20140513.dat.gz; then
	table=(--table "$DATA/asn/ipasn_20140513.dat.gz" --sample 300)
else
	skip scenario_real_table "../shared/data/asn/ipasn_20140513.dat.gz absent (generated table used)"
fi
if ! "$DARKMAP" scenario nk-2014 --out "$out" --from 2014-12-22T12:15 --to 2014-12-23T04:15 \
	--peers 6 --churn 100 "${table[@]}" >"$TMP/short.log" 2>"$TMP/short.err"; then
	nok scenario_short_run "exit $?: $(tail -3 "$TMP/short.err")"
	exit 0
fi
ok scenario_short_run
npeers=6
from=$(date -u -d 2014-12-22T12:15:00Z +%s) to=$(date -u -d 2014-12-23T04:15:00Z +%s)

# RIB counts against what the generator said.
while IFS=$'\t' read -r _ path peers prefixes _; do
	p=${peers#peers=} n=${prefixes#prefixes=}
	bgpdump -m "$path" 2>/dev/null >"$TMP/rib.txt"
	lines=$(wc -l <"$TMP/rib.txt")
	dp=$(cut -d'|' -f6 "$TMP/rib.txt" | sort -u | wc -l)
	dpeer=$(cut -d'|' -f4 "$TMP/rib.txt" | sort -u | wc -l)
	name=scenario_rib_counts_$(basename "$path" | cut -d. -f1)
	if [ "$lines" = $((p * n)) ] && [ "$dp" = "$n" ] && [ "$dpeer" = "$p" ]; then
		ok "$name"
	else
		nok "$name" "bgpdump: $lines lines, $dp prefixes, $dpeer peers; generator: $p peers x $n prefixes"
	fi
	# every peer's KP routes carry its path from peers.tsv
	case $path in *route-views*) coll=route-views.sim ;; *) coll=rrc.sim ;; esac
	bad=""
	while IFS=$'\t' read -r _ ip _ _ kppath; do
		got=$(awk -F'|' -v ip="$ip" -v re="$KPRE" '$4 == ip && $6 ~ re {print $7}' "$TMP/rib.txt" | sort -u)
		cnt=$(awk -F'|' -v ip="$ip" -v re="$KPRE" '$4 == ip && $6 ~ re' "$TMP/rib.txt" | wc -l)
		[ "$cnt" = 4 ] && [ "$got" = "$kppath" ] || bad="$bad peer $ip: $cnt KP routes, path '$got', want '$kppath';"
	done < <(awk -F'\t' -v c="$coll" 'NR > 1 && $1 == c' "$out/peers.tsv")
	[ -z "$bad" ] && ok "${name/counts/kp_paths}" || nok "${name/counts/kp_paths}" "$bad"
done < <(grep '^rib' "$TMP/short.log")

# The real path of the PCH peer, as in updates.et-header.2015.gz.
got=$(bgpdump -m "$out/route-views.sim/bgpdata/2014.12/RIBS/rib.20141222.1215.bz2" 2>/dev/null |
	awk -F'|' '$5 == 3856 && $6 == "175.45.176.0/24" {print $7 "|" $8}')
[ "$got" = "3856 2914 1239 4837 131279|INCOMPLETE" ] && ok scenario_kp_real_path ||
	nok scenario_kp_real_path "got '$got'"

# Every update interval has its file: 16 h = 64 RouteViews-like, 192 RIS-like files.
nrv=$(find "$out/route-views.sim" -name 'updates.*.bz2' | wc -l)
nris=$(find "$out/rrc.sim" -name 'updates.*.gz' | wc -l)
[ "$nrv" = 64 ] && [ "$nris" = 192 ] && ok scenario_file_layout ||
	nok scenario_file_layout "$nrv route-views files (want 64), $nris rrc files (want 192)"

# Outage seconds from the timeline file, flap seconds from truth.tsv.
check_event() {  # name dir down-second up-second peers
	local w a
	w=$(decode_at "$2" "$3" | kp_lines W "$3" | wc -l)
	a=$(decode_at "$2" "$4" | kp_lines A "$4" | wc -l)
	if [ "$w" = $(($5 * 4)) ] && [ "$a" = $(($5 * 4)) ]; then
		ok "$1"
	else
		nok "$1" "$w KP withdrawals at $3 and $a announcements at $4, want $(($5 * 4)) each"
	fi
}
nexpect=0
while IFS=$'\t' read -r kind start end _; do
	s=$(date -u -d "$start" +%s) e=$(date -u -d "$end" +%s)
	[ "$s" -ge "$from" ] && [ "$e" -lt "$to" ] || continue
	check_event "scenario_outage_${start}" "$out" "$s" "$e" $npeers
	nexpect=$((nexpect + 1))
done < <(grep -v '^#' "$TL" | awk -F'\t' '$1 == "outage"')
[ $nexpect = 1 ] && ok scenario_outages_in_span || nok scenario_outages_in_span "$nexpect outages, want 1"
nflap=0
while IFS=$'\t' read -r kind s e _; do
	[ "$s" -ge "$from" ] || continue   # a flap that began before the span (its end is inside)
	nflap=$((nflap + 1))
	[ $nflap -le 3 ] && check_event "scenario_flap_$s" "$out" "$s" "$e" $npeers
done < <(awk -F'\t' '$1 == "flap" && $6 == "KP"' "$out/truth.tsv")
[ $nflap -ge 5 ] && ok scenario_flaps_present || nok scenario_flaps_present "$nflap flaps in 12:15-16:15"

# No KP withdrawal other than at those seconds: count them all.
for f in $(find "$out" -name 'updates.*' | sort); do bgpdump -m "$f" 2>/dev/null; done >"$TMP/all.txt"
allw=$(awk -F'|' -v re="$KPRE" '$3 == "W" && $6 ~ re' "$TMP/all.txt" | wc -l)
[ "$allw" = $(((nflap + nexpect) * npeers * 4)) ] && ok scenario_no_stray_kp_withdrawal ||
	nok scenario_no_stray_kp_withdrawal "$allw KP withdrawals, want $(((nflap + nexpect) * npeers * 4))"
# bgpdump timestamps in the files match the file intervals (RIS: 5 minutes)
bad=$(for f in $(find "$out/rrc.sim" -name 'updates.*.gz' | sort | head -40); do
	st=$(basename "$f" | sed 's/updates\.\([0-9]\{8\}\)\.\([0-9]\{2\}\)\([0-9]\{2\}\)\.gz/\1 \2:\3/')
	s=$(date -u -d "$st" +%s)
	bgpdump -m "$f" 2>/dev/null | awk -F'|' -v s="$s" 'int($2) < s || int($2) >= s + 300 {print FILENAME": "$2}'
done | head -3)
[ -z "$bad" ] && ok scenario_file_intervals || nok scenario_file_intervals "$bad"

# ---- 2. the default span (generated small table): noise, determinism ----------------------
full=$TMP/sc_full
rm -rf "$full" "$out.2" "$out.3"
args=(nk-2014 --world 1000 --churn 20 --peers 4 --seed 7)
if ! "$DARKMAP" scenario "${args[@]}" --out "$full" >"$TMP/full.log" 2>"$TMP/full.err"; then
	nok scenario_full_run "$(tail -3 "$TMP/full.err")"
	exit 0
fi
ok scenario_full_run
# Same seed, same bytes; another seed, other flap times (short span: cheap under ASan).
"$DARKMAP" scenario nk-2014 --from 2014-12-22T12:15 --to 2014-12-23T04:15 --peers 6 --churn 100 \
	"${table[@]}" --out "$out.2" >/dev/null 2>&1
a=$(cd "$out" && find . -type f | sort | xargs md5sum | md5sum)
b=$(cd "$out.2" && find . -type f | sort | xargs md5sum | md5sum)
[ "$a" = "$b" ] && ok scenario_deterministic || nok scenario_deterministic "two runs with the same seed differ"
"$DARKMAP" scenario nk-2014 --from 2014-12-22T12:15 --to 2014-12-23T04:15 --peers 6 --churn 100 \
	"${table[@]}" --seed 8 --out "$out.3" >/dev/null 2>&1
cmp -s "$out/truth.tsv" "$out.3/truth.tsv" && nok scenario_seed_matters "seeds 1 and 8 gave the same truth" ||
	ok scenario_seed_matters

# All five outages at their exact seconds, every peer.
n=0
while IFS=$'\t' read -r kind start end _; do
	s=$(date -u -d "$start" +%s) e=$(date -u -d "$end" +%s)
	check_event "scenario_full_outage_$start" "$full" "$s" "$e" 4
	n=$((n + 1))
done < <(grep -v '^#' "$TL" | awk -F'\t' '$1 == "outage"')
[ $n = 5 ] && ok scenario_timeline_outages || nok scenario_timeline_outages "$n outage rows in $TL, want 5"

# The collector gap: exactly the files of its intervals are absent.
read -r gs ge < <(grep -v '^#' "$TL" | awk -F'\t' '$1 == "collector_gap" && $4 == "route-views.sim" {print $2, $3}')
gs=$(date -u -d "$gs" +%s) ge=$(date -u -d "$ge" +%s)
bad=""
for ((t = gs - 900; t < ge + 900; t += 900)); do
	f=$(rv_file "$full" $t)
	if [ $t -ge $gs ] && [ $t -lt $ge ]; then [ -e "$f" ] && bad="$bad present:$(basename "$f")"
	else [ -e "$f" ] || bad="$bad absent:$(basename "$f")"; fi
done
[ $(((ge - gs) / 900)) = 3 ] && [ -z "$bad" ] && ok scenario_collector_gap || nok scenario_collector_gap "${bad:-gap length}"
grep -q "^collector_gap	$gs	$ge	" "$full/truth.tsv" && ok scenario_truth_gap || nok scenario_truth_gap "no gap row in truth.tsv"

# The peer reset: Established->Idle at start, FSM back to Established at end, then the table.
row=$(awk -F'\t' '$1 == "peer_reset"' "$full/truth.tsv")
rs=$(cut -f2 <<<"$row") re=$(cut -f3 <<<"$row") peer=$(cut -f10 <<<"$row")
ip=${peer%% *}
sent=$(sed -n 's/.*table re-sent: \([0-9]*\) prefixes.*/\1/p' <<<"$row")
want_rs=$(date -u -d "$(grep -v '^#' "$TL" | awk -F'\t' '$1 == "peer_reset" {print $2}')" +%s)
down=$(bgpdump -m "$(ris_file "$full" "$rs")" 2>/dev/null | awk -F'|' -v ip="$ip" -v s="$rs" '$3 == "STATE" && $4 == ip && int($2) == s {print $6 "-" $7}')
up=$(bgpdump -m "$(ris_file "$full" "$re")" 2>/dev/null | awk -F'|' -v ip="$ip" -v s="$re" '$3 == "STATE" && $4 == ip && int($2) == s {printf "%s-%s ", $6, $7}')
[ "$rs" = "$want_rs" ] && [ "$down" = "6-1" ] && [ "$up" = "1-2 2-4 4-5 5-6 " ] && ok scenario_peer_reset_states ||
	nok scenario_peer_reset_states "start $rs (timeline $want_rs), down '$down', up '$up'"
silent=0
for ((t = rs + 300; t < re; t += 300)); do
	c=$(bgpdump -m "$(ris_file "$full" $t)" 2>/dev/null | awk -F'|' -v ip="$ip" '$4 == ip' | wc -l)
	silent=$((silent + c))
done
resent=$(bgpdump -m "$(ris_file "$full" "$re")" 2>/dev/null | awk -F'|' -v ip="$ip" -v s="$re" '$3 == "A" && $4 == ip && int($2) >= s && int($2) <= s + 2' | wc -l)
nprefix=$(sed -n 's/.*\tprefixes=\([0-9]*\)\ttarget_prefixes.*/\1/p' "$TMP/full.log")
if [ "$silent" = 0 ] && [ -n "$sent" ] && [ "$resent" = "$sent" ] && [ "$sent" -gt $((nprefix * 9 / 10)) ]; then
	ok scenario_peer_reset_table
else
	nok scenario_peer_reset_table "$silent records while down; $resent re-announced, truth says '$sent' of $nprefix"
fi

# ---- 3. periodic RIBs during the hard outage show no KP route, before and after it do -------
rib=$TMP/sc_rib
rm -rf "$rib"
if "$DARKMAP" scenario nk-2014 --out "$rib" --from 2014-12-22T14:00 --to 2014-12-23T04:00 --rib-every 2 \
	--world 300 --peers 4 --churn 10 >"$TMP/rib.log" 2>&1; then
	got="" want=""
	for t in 20141222.1400 20141222.1600 20141222.1800 20141223.0000 20141223.0200; do
		got="$got $t:$(bgpdump -m "$rib/route-views.sim/bgpdata/2014.12/RIBS/rib.$t.bz2" 2>/dev/null |
			awk -F'|' -v re="$KPRE" '$6 ~ re' | wc -l)"
		# KP is down at second s when a flap or outage of truth.tsv covers it (the 18:00 and
		# 00:00 dumps fall in the timeline's 16:15-01:46 outage); up: 2 peers x 4 /24s.
		s=$(date -u -d "${t:0:8} ${t:9:2}:${t:11:2}" +%s)
		down=$(awk -F'\t' -v s="$s" '($1 == "flap" || $1 == "outage") && $6 == "KP" && $2 <= s && s < $3' "$rib/truth.tsv" | wc -l)
		want="$want $t:$([ "$down" = 0 ] && echo 8 || echo 0)"
	done
	case "$want" in *20141222.1800:0\ 20141223.0000:0*) ;; *) want="$want (hard outage missing from truth)" ;; esac
	[ "$got" = "$want" ] && ok scenario_periodic_ribs || nok scenario_periodic_ribs "KP routes per RIB:$got, want$want"
else
	nok scenario_periodic_ribs "run failed: $(tail -2 "$TMP/rib.log")"
fi
exit 0
