#!/usr/bin/env bash
# What a new user trips on, stated instead of silently replayed (docs/replay.md):
#   1. a mapping source that cannot be loaded (missing --rir/--geo file, a file that is not one)
#      is an error, exit 2, naming the path: nothing is replayed with everything mapped to ZZ;
#   2. --country with a code darkmap does not know (src/geo/country.c) is an error naming it;
#   3. --help states which RIR file wins when two disagree (the rule itself is checked on real
#      data in replay_exact.sh);
#   4. a RIB more than a day older than its updates gives a warning naming both times (taken
#      here from the bgpdump references);
#   5. the summary's bytes/route counts memory in use, not the capacity reserved (a one-route
#      synthetic table reserves room for 600,000 prefixes).
. "$(dirname "$0")/../lib.sh"
M=$DATA/mrt
mkdir -p "$TMP"

check() {  # name got want
	if [ "$2" = "$3" ]; then ok "$1"; else nok "$1" "got '$2', want '$3'"; fi
}

# ---- 1. mapping sources that cannot be loaded ----
BV=$M/bview.20020722.2337.gz
if ! have_data mrt/bview.20020722.2337.gz; then
	skip replay_missing_source "$BV: absent"
else
	"$DARKMAP" replay --csv --rir "$TMP/none/delegated-x" "$BV" >"$TMP/m.out" 2>"$TMP/m.err"
	check replay_missing_rir_exit "$?" 2
	check replay_missing_rir_message "$(cat "$TMP/m.err")" \
		"darkmap replay: --rir: $TMP/none/delegated-x: No such file or directory"
	check replay_missing_rir_nothing_replayed "$(wc -c <"$TMP/m.out")" 0
	"$DARKMAP" replay --csv --geo "$TMP/none/delegated-y" "$BV" >"$TMP/m.out" 2>"$TMP/m.err"
	check replay_missing_geo_exit "$?" 2
	check replay_missing_geo_message "$(cat "$TMP/m.err")" \
		"darkmap replay: --geo: $TMP/none/delegated-y: No such file or directory"
	printf 'hello\nworld|x\n' >"$TMP/delegated-junk"
	"$DARKMAP" replay --csv --rir "$TMP/delegated-junk" "$BV" >"$TMP/m.out" 2>"$TMP/m.err"
	check replay_unusable_rir_exit "$?" 2
	check replay_unusable_rir_message "$(cat "$TMP/m.err")" \
		"darkmap replay: --rir: $TMP/delegated-junk: no usable delegated-statistics lines (2 malformed; first: $TMP/delegated-junk:1: expected 7 or 8 '|'-separated fields, found 1)"
fi

# ---- 2. --country codes ----
if ! have_data mrt/bview.20020722.2337.gz; then
	skip replay_country_code "$BV: absent"
else
	for cc in XX Q1 kx; do
		"$DARKMAP" replay --no-geo --csv --country "$cc" "$BV" >"$TMP/c.out" 2>"$TMP/c.err"
		check "replay_country_${cc}_exit" "$?" 2
		check "replay_country_${cc}_message" "$(cat "$TMP/c.err")" \
			"darkmap replay: --country $cc: not a country code darkmap knows (ISO 3166-1 alpha-2 such as KP, or ZZ for unmapped space; src/geo/country.c)"
	done
	"$DARKMAP" replay -q --no-geo --csv --country kp --country ZZ "$BV" >"$TMP/c.out" 2>"$TMP/c.err"
	check replay_country_known_exit "$?" 0
	# without a mapping every prefix is ZZ: rows for ZZ; KP (given in lower case) is reported empty
	check replay_country_known_rows "$(awk -F, '$3 == "country" { print $4 }' "$TMP/c.out" | sort -u | tr '\n' ' ')" "ZZ "
	check replay_country_known_summary "$(grep '^replay: KP IPv4' "$TMP/c.err")" \
		"replay: KP IPv4 now: 0 visible prefixes, 0 /24s, seen by 0 of 1 full-feed peers"
fi

# ---- 3. the RIR precedence rule in --help ----
"$DARKMAP" replay --help >"$TMP/h.out"
if grep -q "RIR files are asked" "$TMP/h.out" && grep -q "among themselves oldest snapshot first (the YYYYMMDD their name ends" "$TMP/h.out" &&
	grep -q "where two RIR files disagree, the older snapshot wins" "$TMP/h.out"; then
	ok replay_help_rir_order
else
	nok replay_help_rir_order "$(grep -A6 -- '--geo FILE' "$TMP/h.out")"
fi

# ---- 4. a stale RIB ----
UP=$M/updates.20071015.1505.gz
UP0=$M/updates.20020722.2238.gz
if ! have_data mrt/bview.20020722.2337.gz || ! have_data mrt/updates.20071015.1505.gz || ! have_data mrt/updates.20020722.2238.gz; then
	skip replay_stale_rib "$BV, $UP or $UP0: absent"
else
	rib_ts=$(xzcat "$BV.bgpdump-m.xz" | awk -F'|' '$2 > m { m = $2 } END { print m }')
	upd_ts=$(xzcat "$UP.bgpdump-m.xz" | awk -F'|' 'NR == 1 || $2 < m { m = $2 } END { print m }')
	days=$(((upd_ts - rib_ts) / 86400))
	want="replay: warning: RIB $days days older than its updates: routes withdrawn in between are still counted; give a RIB from the start of the period ($BV: $(date -u -d "@$rib_ts" +%Y-%m-%dT%H:%M:%SZ); first update: $(date -u -d "@$upd_ts" +%Y-%m-%dT%H:%M:%SZ))"
	# one-week bins and one country: the 5 years in between are a few hundred rows
	"$DARKMAP" replay -q --no-geo --bin 604800 --country KP "$BV" "$UP" >/dev/null 2>"$TMP/s.err"
	check replay_stale_rib_exit "$?" 0
	check replay_stale_rib_warning "$(grep warning "$TMP/s.err")" "$want"
	# updates from before the RIB's time (22:38, RIB 23:37): not stale, no warning
	"$DARKMAP" replay -q --no-geo --country KP "$BV" "$UP0" >/dev/null 2>"$TMP/s.err"
	check replay_fresh_rib_no_warning "$(grep -c warning "$TMP/s.err")" 0
fi

# ---- 5. bytes/route from memory in use ----
printf '; one route\n175.45.176.0/24\t131279\n' >"$TMP/one.dat"
"$DARKMAP" replay --no-geo --synthetic-table "$TMP/one.dat" --synthetic-peers 1 >/dev/null 2>"$TMP/b.err"
line=$(grep '^replay: 1 peers' "$TMP/b.err")
# "RIB+signal U MB (B bytes/route) in use, R MB reserved": with one route B is the bytes in use,
# a fixed cost (the country entities) of well under a megabyte; R is the 600,000-prefix reserve
read -r used bpr reserved < <(sed -n 's/.*RIB+signal \([0-9.]*\) MB (\([0-9.]*\) bytes\/route) in use, \([0-9.]*\) MB reserved.*/\1 \2 \3/p' <<<"$line")
if [ -n "$used" ] && awk -v u="$used" -v b="$bpr" -v r="$reserved" 'BEGIN { exit !(b < 1e6 && sprintf("%.1f", b / 1e6) == u && r > 10 * u) }'; then
	ok replay_bytes_per_route_in_use
else
	nok replay_bytes_per_route_in_use "$line"
fi
check replay_bytes_per_route_counts "$(sed -n 's/^replay: \(1 peers, 1 routes, 1 prefixes, 1 attribute sets\);.*/\1/p' <<<"$line")" \
	"1 peers, 1 routes, 1 prefixes, 1 attribute sets"
rm -rf "$TMP"
