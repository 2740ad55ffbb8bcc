#!/usr/bin/env bash
# `darkmap dump -M` against the installed bgpdump's `bgpdump -M` (run here; no stored -M
# references exist), on files where -m matches byte for byte: TABLE_DUMP, TABLE_DUMP_V2 (IPv6,
# ADD-PATH), BGP4MP (IPv4/IPv6, MP_REACH, ADD-PATH) and BGP4MP_ET with microseconds.
. "$(dirname "$0")/../lib.sh"
if ! have_data mrt; then skip dump_bgpdump_M "../shared/data/mrt absent"; exit 0; fi
if ! command -v bgpdump >/dev/null; then skip dump_bgpdump_M "bgpdump not installed"; exit 0; fi
cd "$DATA/mrt" || exit 1
for f in bview.20020722.2337.gz bview.ipv4_unicast_add_path.gz quagga_rib updates.20160811.1600.gz \
         updates.20070211.0141.gz bird-mrtdump_bgp updates.et-header.2015.gz; do
	bgpdump -M "$f" >"$TMP/$f.M.ref" 2>/dev/null
	"$DARKMAP" dump -M "$f" >"$TMP/$f.M.out" 2>/dev/null; rc=$?
	if [ $rc = 0 ] && [ -s "$TMP/$f.M.ref" ] && cmp -s "$TMP/$f.M.ref" "$TMP/$f.M.out"; then
		ok "dump_bgpdump_M:$f"
	else
		nok "dump_bgpdump_M:$f" "exit $rc, $(diff "$TMP/$f.M.ref" "$TMP/$f.M.out" | grep -c '^[<>]') differing lines"
	fi
done
