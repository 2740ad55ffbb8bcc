#!/usr/bin/env bash
# darkmap replay on real archives, checked against values computed independently here with awk
# from the stored `bgpdump -m` references (Debian bgpdump 1.6.2 output, ../shared/data/mrt):
#   1. RIS bview 2002-07-22 (TABLE_DUMP v1, 36 peers): full-feed peers, visible prefixes, visible
#      /24s, more-specifics, and the AS1853 entry;
#   2. updates.et-header.2015.gz (BGP4MP_ET, one peer, a full table sent after the session came
#      up): the KP entry and AS131279 with the peer that sees them;
#   3. the route-views2 RIB of May 2014 cut after 1 MiB: read up to the cut, truncation reported,
#      not fatal;
#   4. rrc01.updates.20241001.0055.gz without a RIB: the warning, and only no-data rows (no peer's
#      table, built from 5 minutes of updates, reaches 400000 / 10000 prefixes: bgpdump's
#      largest is counted here).
# The awk applies the definitions of docs/replay.md directly: a peer's table = distinct prefixes
# of length >= 8 it holds at the end; full-feed (rule auto, tables < 400000) = >= ceil(0.8 x the
# largest table); visible = held by >= ceil(0.5 x full-feed peers) of them; /24s = size of the
# union of the visible prefixes of length <= 24, counted by merging their /24 intervals.
. "$(dirname "$0")/../lib.sh"
M=$DATA/mrt

# Reads the bgpdump -m lines of a RIB (or an update stream replayed to its end) on stdin and prints
# "nff need visible more slash24" for IPv4, plus per-origin lines "AS origin visible slash24".
AWK_SIGNAL='
function ip2n(s,  a) { split(s, a, "."); return ((a[1] * 256 + a[2]) * 256 + a[3]) * 256 + a[4] }
function ceil(x) { return (x == int(x)) ? x : int(x) + 1 }
{
	if ($3 == "STATE") {                       # session left Established: its table is gone
		if ($6 == 6 && $7 != 6) { p = $4 " " $5; for (k in have) { split(k, q, SUBSEP); if (q[1] == p) delete have[k] } }
		next
	}
	if ($6 ~ /:/) next                         # IPv4 only here
	split($6, a, "/"); if (a[2] + 0 < 8) next  # default routes and shorter: not counted
	p = $4 " " $5
	if ($3 == "W") { delete have[p, $6]; next }
	n = split($7, path, " "); o = path[n]
	have[p, $6] = o
}
END {
	for (k in have) { split(k, q, SUBSEP); size[q[1]]++ }
	max = 0; for (p in size) if (size[p] > max) max = size[p]
	thr = ceil(0.8 * max); nff = 0
	for (p in size) if (size[p] >= thr) { ff[p] = 1; nff++ }
	need = ceil(0.5 * nff)
	for (k in have) { split(k, q, SUBSEP); if (q[1] in ff) { seen[q[2]]++; oseen[q[2], have[k]]++ } }
	vis = 0; more = 0
	for (x in seen) if (seen[x] >= need) {
		vis++; split(x, a, "/")
		if (a[2] + 0 > 24) { more++; continue }
		print "IV", int(ip2n(a[1]) / 256), int(ip2n(a[1]) / 256) + 2 ^ (24 - a[2])
	}
	for (k in oseen) if (oseen[k] >= need) {
		split(k, q, SUBSEP); split(q[1], a, "/"); ovis[q[2]]++
		if (a[2] + 0 <= 24) print "OV", q[2], int(ip2n(a[1]) / 256), int(ip2n(a[1]) / 256) + 2 ^ (24 - a[2])
	}
	for (o in ovis) print "ON", o, ovis[o]
	print "SUM", nff, need, vis, more, thr
}'
# Union of [start, end) intervals (in /24 units) read as "start end" lines, sorted numerically.
AWK_UNION='{ if ($1 >= e) { t += e - s; s = $1; e = $2 } else if ($2 > e) e = $2 } END { t += e - s; print t }'

union() { sort -k1,1n -k2,2n | awk 'NR == 1 { s = $1; e = $2; next } '"$AWK_UNION"; }

csv_field() {  # $1 csv file, $2 kind, $3 entity, $4 column name -> value in the last bin
	awk -F, -v kind="$2" -v ent="$3" -v col="$4" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
		$3 == kind && $4 == ent && $5 == 4 { v = $c[col] } END { print v }' "$1"
}

check() {  # name got want
	if [ "$2" = "$3" ]; then ok "$1"; else nok "$1" "got '$2', want '$3'"; fi
}

# ---- 1. RIS bview 2002 ----
if ! have_data mrt/bview.20020722.2337.gz; then
	skip replay_bview2002 "../shared/data/mrt/bview.20020722.2337.gz absent"
else
	xzcat "$M/bview.20020722.2337.gz.bgpdump-m.xz" | awk -F'|' "$AWK_SIGNAL" >"$TMP/b.awk"
	read -r _ nff need vis more thr < <(grep '^SUM' "$TMP/b.awk")
	s24=$(grep '^IV' "$TMP/b.awk" | cut -d' ' -f2- | union)
	a1853=$(grep '^OV 1853 ' "$TMP/b.awk" | cut -d' ' -f3- | union)
	v1853=$(grep '^ON 1853 ' "$TMP/b.awk" | cut -d' ' -f3)
	"$DARKMAP" replay --no-geo --csv --asn 1853 "$M/bview.20020722.2337.gz" >"$TMP/b.csv" 2>"$TMP/b.err"
	rc=$?
	check replay_bview2002_exit "$rc" 0
	check replay_bview2002_full_feed_peers "$(csv_field "$TMP/b.csv" global all full_feed_peers)" "$nff"
	check replay_bview2002_visible_prefixes "$(csv_field "$TMP/b.csv" global all visible_prefixes)" "$vis"
	check replay_bview2002_slash24 "$(csv_field "$TMP/b.csv" global all slash24)" "$s24"
	check replay_bview2002_more_specifics "$(csv_field "$TMP/b.csv" global all more_specifics)" "$more"
	check replay_bview2002_as1853_prefixes "$(csv_field "$TMP/b.csv" asn 1853 visible_prefixes)" "$v1853"
	check replay_bview2002_as1853_slash24 "$(csv_field "$TMP/b.csv" asn 1853 slash24)" "$a1853"
	if grep -q "IPv4: $nff full-feed peers (rule rel: >= $thr prefixes" "$TMP/b.err"; then
		ok replay_bview2002_rule_reported
	else
		nok replay_bview2002_rule_reported "$(grep IPv4 "$TMP/b.err")"
	fi
	check replay_bview2002_bin "$(awk -F, 'NR == 2 { print $1 "," $2 }' "$TMP/b.csv")" "1027380900,2002-07-22T23:35:00Z"
fi

# ---- 2. KP in updates.et-header.2015.gz ----
APNIC=$DATA/rir/delegated-apnic-20140701
if ! have_data mrt/updates.et-header.2015.gz || ! have_data rir/delegated-apnic-20140701; then
	skip replay_et_kp "../shared/data/mrt/updates.et-header.2015.gz or rir/delegated-apnic-20140701 absent"
else
	xzcat "$M/updates.et-header.2015.gz.bgpdump-m.xz" | awk -F'|' "$AWK_SIGNAL" >"$TMP/e.awk"
	read -r _ nff need vis more thr < <(grep '^SUM' "$TMP/e.awk")
	# KP's address ranges from the same RIR file, as /24 intervals; the visible prefixes that lie
	# inside them (the test fails below if one only overlaps, which this awk does not split)
	awk -F'|' '$2 == "KP" && $3 == "ipv4" { split($4, a, "."); s = (a[1] * 256 + a[2]) * 256 + a[3]; print s, s + $5 / 256 }' \
		"$APNIC" >"$TMP/kp.ranges"
	grep '^IV' "$TMP/e.awk" | cut -d' ' -f2- | awk 'NR == FNR { rs[NR] = $1; re[NR] = $2; n = NR; next }
		{ for (i = 1; i <= n; i++) { if ($1 >= rs[i] && $2 <= re[i]) print; else if ($1 < re[i] && $2 > rs[i]) print "PARTIAL" } }' \
		"$TMP/kp.ranges" - >"$TMP/kp.iv"
	kp_vis=$(grep -vc PARTIAL "$TMP/kp.iv")
	kp_s24=$(grep -v PARTIAL "$TMP/kp.iv" | union)
	as_vis=$(grep '^ON 131279 ' "$TMP/e.awk" | cut -d' ' -f3)
	as_s24=$(grep '^OV 131279 ' "$TMP/e.awk" | cut -d' ' -f3- | union)
	"$DARKMAP" replay --geo "$APNIC" --csv --country KP --asn 131279 "$M/updates.et-header.2015.gz" >"$TMP/e.csv" 2>"$TMP/e.err"
	rc=$?
	check replay_et_exit "$rc" 0
	check replay_et_no_partial "$(grep -c PARTIAL "$TMP/kp.iv")" 0
	check replay_et_full_feed_peers "$(csv_field "$TMP/e.csv" global all full_feed_peers)" "$nff"
	check replay_et_global_visible "$(csv_field "$TMP/e.csv" global all visible_prefixes)" "$vis"
	check replay_et_global_slash24 "$(csv_field "$TMP/e.csv" global all slash24)" "$(grep '^IV' "$TMP/e.awk" | cut -d' ' -f2- | union)"
	check replay_et_kp_visible "$(csv_field "$TMP/e.csv" country KP visible_prefixes)" "$kp_vis"
	check replay_et_kp_slash24 "$(csv_field "$TMP/e.csv" country KP slash24)" "$kp_s24"
	check replay_et_kp_peers "$(csv_field "$TMP/e.csv" country KP peers_seeing)" 1
	# no RIB: the peer becomes full-feed at the bin close where it holds its whole table; the
	# set changed in that bin (from none to one)
	check replay_et_quality "$(csv_field "$TMP/e.csv" global all quality),$(csv_field "$TMP/e.csv" global all ff_joined)" "ff-changed,1"
	if grep -q "^replay: no RIB given: full-feed peers are unknown until a peer's table reaches 400000 IPv4 / 10000 IPv6 prefixes; bins before are marked no-data and not judged\$" "$TMP/e.err"; then
		ok replay_et_no_rib_warning
	else
		nok replay_et_no_rib_warning "$(head -2 "$TMP/e.err")"
	fi
	check replay_et_as131279_visible "$(csv_field "$TMP/e.csv" asn 131279 visible_prefixes)" "$as_vis"
	check replay_et_as131279_slash24 "$(csv_field "$TMP/e.csv" asn 131279 slash24)" "$as_s24"
	# the peer: the one bgpdump shows announcing KP's prefixes
	peer=$(xzcat "$M/updates.et-header.2015.gz.bgpdump-m.xz" | awk -F'|' '$3 == "A" && $7 ~ / 131279$/ { print $4 " AS" $5; exit }')
	for what in "KP IPv4" "AS131279 IPv4"; do
		if grep -q "^replay: $what now: $kp_vis visible prefixes, $kp_s24 /24s, seen by 1 of 1 full-feed peers: $peer\$" "$TMP/e.err"; then
			ok "replay_et_peers_${what%% *}"
		else
			nok "replay_et_peers_${what%% *}" "$(grep "$what" "$TMP/e.err")"
		fi
	done
	check replay_et_kp_announcements "$(awk -F, '$3 == "country" && $4 == "KP" && $5 == 4 { s += $13 } END { print s }' "$TMP/e.csv")" \
		"$(xzcat "$M/updates.et-header.2015.gz.bgpdump-m.xz" | awk -F'|' '$3 == "A" && $6 ~ /^175\.45\.17[6-9]\./' | wc -l)"
fi

# ---- 3. truncated route-views2 RIB of May 2014 ----
if ! have_data mrt/rib.20140523.0600_firstMB.bz2; then
	skip replay_truncated_rib "../shared/data/mrt/rib.20140523.0600_firstMB.bz2 absent"
else
	"$DARKMAP" replay --no-geo --csv --country ZZ "$M/rib.20140523.0600_firstMB.bz2" >"$TMP/t.csv" 2>"$TMP/t.err"
	rc=$?
	check replay_truncated_exit "$rc" 1   # data errors: reported, not fatal
	# bgpdump printed one line per RIB entry before the cut: the same element count
	want=$(xzcat "$M/rib.20140523.0600_firstMB.bz2.bgpdump-m.xz" | wc -l)
	if grep -q "^replay: 9073 records, $want elements" "$TMP/t.err"; then ok replay_truncated_elements; else nok replay_truncated_elements "$(head -3 "$TMP/t.err")"; fi
	if grep -q "rib.20140523.0600_firstMB.bz2: truncated at offset 15273283" "$TMP/t.err"; then
		ok replay_truncated_reported
	else
		nok replay_truncated_reported "$(grep -i trunc "$TMP/t.err")"
	fi
	xzcat "$M/rib.20140523.0600_firstMB.bz2.bgpdump-m.xz" | awk -F'|' "$AWK_SIGNAL" >"$TMP/t.awk"
	read -r _ nff need vis more thr < <(grep '^SUM' "$TMP/t.awk")
	check replay_truncated_full_feed "$(csv_field "$TMP/t.csv" global all full_feed_peers)" "$nff"
	check replay_truncated_visible "$(csv_field "$TMP/t.csv" global all visible_prefixes)" "$vis"
	check replay_truncated_slash24 "$(csv_field "$TMP/t.csv" global all slash24)" "$(grep '^IV' "$TMP/t.awk" | cut -d' ' -f2- | union)"
fi
# ---- 4. a real update file without a RIB ----
if ! have_data mrt/rrc01.updates.20241001.0055.gz; then
	skip replay_no_rib "../shared/data/mrt/rrc01.updates.20241001.0055.gz absent"
else
	largest=$(xzcat "$M/rrc01.updates.20241001.0055.gz.bgpdump-m.xz" | awk -F'|' '$3 == "A" { have[$4, $6] = 1 } $3 == "W" { delete have[$4, $6] }
		END { for (k in have) { split(k, q, SUBSEP); n[q[1], (q[2] ~ /:/)]++ } for (k in n) if (n[k] > m) m = n[k]; print m + 0 }')
	"$DARKMAP" replay --csv --country CN "$M/rrc01.updates.20241001.0055.gz" >"$TMP/n.csv" 2>"$TMP/n.err"
	check replay_no_rib_exit $? 0
	check replay_no_rib_largest_below "$([ "$largest" -gt 0 ] && [ "$largest" -lt 10000 ] && echo yes)" yes
	check replay_no_rib_rows "$(awk -F, 'NR > 1 { n++; if ($17 == "no-data" && $10 == 0 && $6 == 0 && $7 == 0) good++ } END { print n + 0, good + 0 }' "$TMP/n.csv")" "4 4"
	if grep -q "^replay: no RIB given: full-feed peers are unknown until a peer's table reaches 400000 IPv4 / 10000 IPv6 prefixes; bins before are marked no-data and not judged\$" "$TMP/n.err"; then
		ok replay_no_rib_warning
	else
		nok replay_no_rib_warning "$(head -2 "$TMP/n.err")"
	fi
fi
rm -rf "$TMP"
