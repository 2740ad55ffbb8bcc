#!/usr/bin/env bash
# darkmap geo on the real RIR statistics and AS names in ../shared/data: exact output.
# The values are those of the files' own lines (line numbers printed) and hand sums:
#   196.1.0.0/20 (4096 addresses): afrinic lines 2389-2393 give MU 196.1.0.0/24, KE 196.1.4.0/24,
#   MU 196.1.7.0/24, ZA 196.1.8.0+1792, AO 196.1.15.0/24, leaving 196.1.1.0-3.255 (768) and
#   196.1.5.0-6.255 (512) = 1280 uncovered; apnic line 18248 "apnic|IN|ipv4|196.1.1.0|256"
#   covers 256 of them: combined ZA 1792, ZZ 1024, MU 512, AO 256, IN 256, KE 256.
#   2001:43f8::/43 = 2^21 = 2097152 /64s: TZ two /48s (131072), KE one /48 (65536), ZZ the rest.
. "$(dirname "$0")/../lib.sh"
R=$DATA/rir
# The source that answers by default where DB-IP (the default geolocation) is installed.
DBIP=$ROOT/node_modules/@ip-location-db/dbip-country/dbip-country-ipv4.csv
want_src=rir:delegated-apnic-20140701
[ -f "$DBIP" ] && want_src="csv:@ip-location-db/dbip-country@$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "${DBIP%/*}/package.json")"
if ! have_data rir/delegated-apnic-20140701 || ! have_data rir/delegated-afrinic-20140630 ||
   ! have_data asn/asnames.json.gz; then
	for t in geo_cli_kp geo_cli_defaults; do skip $t "../shared/data/rir or asn absent"; done
else
	"$DARKMAP" geo --rir "$R/delegated-apnic-20140701" --rir "$R/delegated-afrinic-20140630" \
		--asnames "$DATA/asn/asnames.json.gz" 175.45.177.1 AS131279 196.1.0.0/20 2001:43f8::/43 \
		>"$TMP/kp.out" 2>"$TMP/kp.err"; rc=$?
	cat >"$TMP/kp.want" <<'WANT'
175.45.177.1
  rir:delegated-apnic-20140701    KP  North Korea     175.45.176.0/22  apnic|KP|ipv4|175.45.176.0|1024|20091221|allocated  (line 16457)
  rir:delegated-afrinic-20140630  --  (no entry)
  => KP North Korea  (rir:delegated-apnic-20140701)

AS131279
  rir:delegated-apnic-20140701    KP  North Korea     apnic|KP|asn|131279|1|20091221|allocated  (line 4640)
  rir:delegated-afrinic-20140630  --  (no entry)
  names:asnames.json.gz           KP  North Korea     "STAR-KP Ryugyong-dong, KP"
  => AS131279 "STAR-KP Ryugyong-dong, KP", country KP North Korea

196.1.0.0/20  (4096 addresses)
  rir:delegated-apnic-20140701    ZZ 3840 (93.75%), IN 256 (6.25%)
  rir:delegated-afrinic-20140630  ZA 1792 (43.75%), ZZ 1280 (31.25%), MU 512 (12.50%), AO 256 (6.25%), KE 256 (6.25%)
  => ZA 1792 (43.75%), ZZ 1024 (25.00%), MU 512 (12.50%), AO 256 (6.25%), IN 256 (6.25%), KE 256 (6.25%)

2001:43f8::/43  (2097152 /64s)
  rir:delegated-apnic-20140701    --  (no entry)
  rir:delegated-afrinic-20140630  ZZ 1900544 (90.62%), TZ 131072 (6.25%), KE 65536 (3.12%)
  => ZZ 1900544 (90.62%), TZ 131072 (6.25%), KE 65536 (3.12%)
WANT
	if [ $rc = 0 ] && diff -u "$TMP/kp.want" "$TMP/kp.out" >"$TMP/kp.diff" && [ ! -s "$TMP/kp.err" ]; then
		ok geo_cli_kp
	else
		nok geo_cli_kp "exit $rc; $(head -c 600 "$TMP/kp.diff") $(head -c 300 "$TMP/kp.err")"
	fi

	# Defaults: DB-IP geolocation when installed, every delegated-* file of $DATA/rir, the
	# whois CSV when installed, asnames. 175.45.177.1 is KP in DB-IP (dbip-country-ipv4.csv line
	# 237592 "175.45.176.0,175.45.177.255,KP") and in APNIC 2014 (line 16457).
	DARKMAP_DATA=$DATA "$DARKMAP" geo 175.45.177.1 AS131279 >"$TMP/def.out" 2>"$TMP/def.err"; rc=$?
	if [ $rc = 0 ] && grep -qx '  => KP North Korea  (rir:delegated-afrinic-20140630)' "$TMP/def.out"; then
		nok geo_cli_defaults "afrinic answered for KP"
	elif [ $rc = 0 ] &&
		grep -q '^  rir:delegated-apnic-extended-20160131 *KP  North Korea     175.45.176.0/22  apnic|KP|ipv4|175.45.176.0|1024|20091221|allocated  (line 18425)$' "$TMP/def.out" &&
		grep -qx "  => KP North Korea  ($want_src)" "$TMP/def.out" &&
		grep -qx '  => AS131279 "STAR-KP Ryugyong-dong, KP", country KP North Korea' "$TMP/def.out" &&
		[ "$(grep -c '^  rir:' "$TMP/def.out")" = "$(( $(ls "$R"/delegated-* | wc -l) * 2 ))" ]; then
		ok geo_cli_defaults
	else
		nok geo_cli_defaults "exit $rc: $(head -c 800 "$TMP/def.out") $(head -c 300 "$TMP/def.err")"
	fi
fi

# The two views with the defaults: DB-IP places 175.45.178.0/24 in Italy (dbip-country-ipv4.csv
# line 237593 "175.45.178.0,175.45.178.255,IT"), the registries in North Korea (APNIC 2014 line
# 16457, the /22). So for the /22: geolocation KP 768, IT 256; registration KP 1024; combined
# (geolocation first) KP 768, IT 256; disagreement 256 addresses, registration says KP.
# DARKMAP_GEO=registration leaves geolocation out: KP 1024 from APNIC 2014.
if [ ! -f "$DBIP" ]; then
	for t in geo_cli_views geo_cli_registration_only geo_cli_bad_view; do skip $t "node_modules/@ip-location-db/dbip-country absent (scripts/bootstrap installs it)"; done
elif ! have_data rir/delegated-apnic-20140701; then
	for t in geo_cli_views geo_cli_registration_only geo_cli_bad_view; do skip $t "../shared/data/rir absent"; done
else
	DARKMAP_DATA=$DATA "$DARKMAP" geo 175.45.178.1 175.45.176.0/22 >"$TMP/v.out" 2>"$TMP/v.err"; rc=$?
	awk '/^  (geolocation|registration):/ { $1 = $1; print } /^  (=>|!!)/ { $1 = $1; print }' "$TMP/v.out" >"$TMP/v.got"
	cat >"$TMP/v.want" <<WANT
geolocation: IT Italy $want_src
registration: KP North Korea rir:delegated-apnic-20140701
=> IT Italy ($want_src)
!! sources disagree: geolocation places it in IT Italy, registration in KP North Korea
geolocation: KP 768 (75.00%), IT 256 (25.00%)
registration: KP 1024 (100.00%)
=> KP 768 (75.00%), IT 256 (25.00%)
!! sources disagree on 256 of 1024 addresses (25.00%): registration places them in KP 256
WANT
	if [ $rc = 0 ] && diff -u "$TMP/v.want" "$TMP/v.got" >"$TMP/v.diff"; then
		ok geo_cli_views
	else
		nok geo_cli_views "exit $rc: $(head -c 800 "$TMP/v.diff") $(head -c 300 "$TMP/v.err")"
	fi
	DARKMAP_GEO=registration DARKMAP_DATA=$DATA "$DARKMAP" geo 175.45.176.0/22 >"$TMP/r.out" 2>&1; rc=$?
	if [ $rc = 0 ] && grep -qx '  => KP 1024 (100.00%)  North Korea' "$TMP/r.out" && ! grep -q dbip "$TMP/r.out"; then
		ok geo_cli_registration_only
	else
		nok geo_cli_registration_only "exit $rc: $(head -c 600 "$TMP/r.out")"
	fi
	DARKMAP_GEO=nonsense "$DARKMAP" geo 1.1.1.1 >/dev/null 2>"$TMP/n.err"; rc=$?
	if [ $rc = 3 ] && grep -qx "darkmap geo: DARKMAP_GEO='nonsense': expected 'registration' or 'geolocation,registration' (the default)" "$TMP/n.err"; then
		ok geo_cli_bad_view
	else
		nok geo_cli_bad_view "exit $rc: $(cat "$TMP/n.err")"
	fi
fi

# Malformed lines: named with file:line on stderr, skipped, exit 1, the good lines still answer.
printf '%s\n' '2|test|20140701|3|19830613|20140630|+1000' \
	'test|KP|ipv4|175.45.176.0|1024|20091221|allocated' \
	'test|KP|ipv4|175.45.176.0|10x24|20091221|allocated' \
	'not a statistics line' \
	'test|KP|asn|131279|1|20091221|allocated' >"$TMP/delegated-bad"
"$DARKMAP" geo --rir "$TMP/delegated-bad" 175.45.177.1 >"$TMP/bad.out" 2>"$TMP/bad.err"; rc=$?
cat >"$TMP/bad.want" <<WANT
darkmap geo: $TMP/delegated-bad:3: ipv4 count '10x24' is not an address count from 175.45.176.0: skipped
darkmap geo: $TMP/delegated-bad:4: expected 7 or 8 '|'-separated fields, found 1: skipped
WANT
if [ $rc = 1 ] && diff -u "$TMP/bad.want" "$TMP/bad.err" >/dev/null &&
	grep -qx '  => KP North Korea  (rir:delegated-bad)' "$TMP/bad.out"; then
	ok geo_cli_malformed
else
	nok geo_cli_malformed "exit $rc: $(cat "$TMP/bad.err") $(cat "$TMP/bad.out")"
fi

# A missing file is a clean error (exit 3, one line), not a crash or an empty answer.
"$DARKMAP" geo --rir "$TMP/no-such-file" 1.2.3.4 >"$TMP/miss.out" 2>"$TMP/miss.err"; rc=$?
if [ $rc = 3 ] && [ "$(cat "$TMP/miss.err")" = "darkmap geo: $TMP/no-such-file: No such file or directory" ] &&
	[ ! -s "$TMP/miss.out" ]; then
	ok geo_cli_missing
else
	nok geo_cli_missing "exit $rc: $(cat "$TMP/miss.err")"
fi

# A query that is neither address, prefix nor AS: usage error.
"$DARKMAP" geo --rir "$TMP/delegated-bad" not-an-address >/dev/null 2>"$TMP/q.err"; rc=$?
if [ $rc = 2 ] && grep -q "'not-an-address' is not an address, a prefix or an AS number" "$TMP/q.err"; then
	ok geo_cli_bad_query
else
	nok geo_cli_bad_query "exit $rc: $(cat "$TMP/q.err")"
fi

# A MaxMind-format database from npm (@ip-location-db/geo-whois-asn-country-mmdb) via libmaxminddb.
MM=$ROOT/node_modules/@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb
if [ -f "$MM" ]; then
	"$DARKMAP" geo --mmdb "$MM" 175.45.177.1 1.0.0.0/22 >"$TMP/mm.out" 2>"$TMP/mm.err"; rc=$?
	if [ $rc = 0 ] && grep -q '^  mmdb:@ip-location-db/geo-whois-asn-country-mmdb@[0-9.]*/geo-whois-asn-country.mmdb  KP  North Korea     175.45.176.0/22$' "$TMP/mm.out" &&
		grep -qx '  => CN 768 (75.00%), AU 256 (25.00%)' "$TMP/mm.out"; then
		ok geo_cli_mmdb
	else
		nok geo_cli_mmdb "exit $rc: $(cat "$TMP/mm.out" "$TMP/mm.err")"
	fi
else
	skip geo_cli_mmdb "node_modules/@ip-location-db absent (scripts/bootstrap installs it)"
fi
"$DARKMAP" geo --mmdb "$TMP/delegated-bad" 1.2.3.4 >/dev/null 2>"$TMP/mmbad.err"; rc=$?
if [ $rc = 3 ] && [ "$(cat "$TMP/mmbad.err")" = "darkmap geo: $TMP/delegated-bad: The MaxMind DB file contains invalid metadata" ]; then
	ok geo_cli_mmdb_invalid
else
	nok geo_cli_mmdb_invalid "exit $rc: $(cat "$TMP/mmbad.err")"
fi
rm -rf "$TMP"
