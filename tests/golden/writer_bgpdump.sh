#!/usr/bin/env bash
# The MRT writer's records, decoded by the real Debian bgpdump (independent decoder).
# `darkmap scenario selftest` writes three small files with known content (see run_selftest in
# src/cmd/scenario.c); the lines below are what those records mean, written by hand:
# KP's real path 3856 2914 1239 4837 131279 (ORIGIN INCOMPLETE, LOCAL_PREF 100, MED 0,
# communities 3856:50800 + NO_EXPORT 0xFFFFFF01), an IPv6 route with a 4-byte peer ASN, an
# AS_SET and MED 42, withdrawals, STATE_CHANGE_AS4; BGP4MP_ET with microseconds and plain BGP4MP.
# 1419264900 = 2014-12-22 16:15:00 UTC.
source "$(dirname "$0")/../lib.sh"
command -v bgpdump >/dev/null || { skip writer_bgpdump "bgpdump not installed"; exit 0; }
out=$TMP/writer_selftest
rm -rf "$out"
if ! "$DARKMAP" scenario selftest --out "$out" >"$TMP/selftest.log" 2>&1; then
	nok writer_selftest "darkmap scenario selftest failed: $(tail -3 "$TMP/selftest.log")"
	exit 0
fi
ok writer_selftest

KP='3856 2914 1239 4837 131279|INCOMPLETE|192.0.2.10|100|0|3856:50800 no-export|NAG||'
V6='4200000001 6939 {64496,64497}|IGP|2001:db8::a|0|42||NAG||'

check() {  # name file expected-lines
	local got
	got=$(bgpdump -m "$2" 2>"$TMP/bgpdump.err")
	if [ "$got" = "$3" ]; then
		ok "$1"
	else
		nok "$1" "bgpdump -m output differs: $(diff <(echo "$3") <(echo "$got") | head -5 | tr '\n' ' ')"
	fi
}

check writer_rib_bz2 "$out/selftest.rib.bz2" "TABLE_DUMP2|1419264900|B|192.0.2.10|3856|175.45.176.0/24|$KP
TABLE_DUMP2|1419264900|B|2001:db8::a|4200000001|2001:db8::/32|$V6"

check writer_updates_et_gz "$out/selftest.updates.gz" "BGP4MP_ET|1419264900.001000|STATE|192.0.2.10|3856|5|6
BGP4MP_ET|1419264900.372152|A|192.0.2.10|3856|175.45.176.0/24|$KP
BGP4MP_ET|1419264900.372152|A|192.0.2.10|3856|175.45.177.0/24|$KP
BGP4MP_ET|1419264900.372152|A|192.0.2.10|3856|175.45.178.0/24|$KP
BGP4MP_ET|1419264900.372152|A|192.0.2.10|3856|175.45.179.0/24|$KP
BGP4MP_ET|1419264901.000005|W|192.0.2.10|3856|175.45.176.0/24
BGP4MP_ET|1419264901.000005|W|192.0.2.10|3856|175.45.177.0/24
BGP4MP_ET|1419264901.000005|W|192.0.2.10|3856|175.45.178.0/24
BGP4MP_ET|1419264901.000005|W|192.0.2.10|3856|175.45.179.0/24
BGP4MP_ET|1419264902.999999|W|2001:db8::a|4200000001|2001:db8:2::/48
BGP4MP_ET|1419264902.999999|A|2001:db8::a|4200000001|2001:db8:1::/48|$V6
BGP4MP_ET|1419264903.000000|STATE|2001:db8::a|4200000001|6|1"

check writer_updates_plain "$out/selftest.updates" "BGP4MP|1419264900|STATE|192.0.2.10|3856|5|6
BGP4MP|1419264900|A|192.0.2.10|3856|175.45.176.0/24|$KP
BGP4MP|1419264900|A|192.0.2.10|3856|175.45.177.0/24|$KP
BGP4MP|1419264900|A|192.0.2.10|3856|175.45.178.0/24|$KP
BGP4MP|1419264900|A|192.0.2.10|3856|175.45.179.0/24|$KP
BGP4MP|1419264901|W|192.0.2.10|3856|175.45.176.0/24
BGP4MP|1419264901|W|192.0.2.10|3856|175.45.177.0/24
BGP4MP|1419264901|W|192.0.2.10|3856|175.45.178.0/24
BGP4MP|1419264901|W|192.0.2.10|3856|175.45.179.0/24
BGP4MP|1419264902|W|2001:db8::a|4200000001|2001:db8:2::/48
BGP4MP|1419264902|A|2001:db8::a|4200000001|2001:db8:1::/48|$V6
BGP4MP|1419264903|STATE|2001:db8::a|4200000001|6|1"

# The compressed files are what their names say (the writer picks by suffix).
magic=$(head -c 3 "$out/selftest.rib.bz2")
[ "$magic" = BZh ] && ok writer_bz2_magic || nok writer_bz2_magic "rib.bz2 starts with '$magic'"
magic=$(od -An -tx1 -N2 "$out/selftest.updates.gz" | tr -d ' ')
[ "$magic" = 1f8b ] && ok writer_gz_magic || nok writer_gz_magic "updates.gz starts with $magic"
exit 0
