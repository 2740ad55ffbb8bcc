#!/usr/bin/env bash
# The MRT archive (src/live/archive.c) through tests/live/archive_driver (what it writes is
# described there; the expected lines are computed here from that description, independently):
#  1. round trip: updates and a RIB snapshot, compressed at close, read back by Debian's
#     bgpdump -m and by darkmap dump -m: both equal the expected lines;
#  2. kill -9 in the middle of the RIB table (the driver stalls there with unflushed records):
#     every record flushed before the kill is in the files and decodes cleanly, in order, and
#     the files end on whole records;
#  3. restart in the same folder: the files of the killed run are not touched (compressed, their
#     bytes unchanged), the new run writes NAME.1 files, complete;
#  4. kill -9 at an unchosen moment: what was flushed is there, at most the last record cut.
source "$(dirname "$0")/../lib.sh"
DRIVER=$ROOT/build/asan/tests/live/archive_driver
[ -x "$DRIVER" ] || { skip archive_crash "$DRIVER not built (make unit-bins)"; exit 0; }
command -v bgpdump >/dev/null || { skip archive_crash "bgpdump not installed"; exit 0; }
NUPD=1000
NPFX=20000

# expected bgpdump -m lines: updates (u) and RIB (r), from the driver's description
want() {  # UPDATES PREFIXES: writes $TMP/want_u and $TMP/want_r
python3 - "$1" "$2" "$TMP" <<'EOF'
import sys
nupd, npfx, tmp = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
t0 = 1419264060
with open(tmp + '/want_u', 'w') as f:
    f.write('BGP4MP_ET|%d.000000|STATE|192.0.2.1|65001|5|6\n' % t0)
    f.write('BGP4MP_ET|%d.000000|STATE|2001:db8::2|4200000002|5|6\n' % t0)
    for i in range(nupd):
        ms = t0 * 1000 + (i + 1) * 10
        f.write('BGP4MP_ET|%d.%06d|A|192.0.2.1|65001|100.%d.%d.0/24|65001 65100|IGP|192.0.2.1|0|0||NAG||\n'
                % (ms // 1000, ms % 1000 * 1000, i // 256 % 256, i % 256))
trib = (t0 * 1000 + nupd * 10) // 1000
with open(tmp + '/want_r', 'w') as f:
    for i in range(npfx):
        p = '10.%d.%d.0/24' % (i // 256 % 256, i % 256)
        f.write('TABLE_DUMP2|%d|B|192.0.2.1|65001|%s|65001 %d|IGP|192.0.2.2|0|0||NAG||\n' % (trib, p, 64512 + i % 1000))
        if i % 2 == 0:
            f.write('TABLE_DUMP2|%d|B|2001:db8::2|4200000002|%s|4200000002 65010|IGP|192.0.2.2|0|0||NAG||\n' % (trib, p))
EOF
}
want $NUPD $NPFX
U=crash-test/2014.12/UPDATES/updates.20141222.1600
R=crash-test/2014.12/RIBS/rib.20141222.1600

# same_lines NAME FILE WANT: bgpdump -m and darkmap dump -m of FILE both equal WANT
same_lines() {
	bgpdump -m "$2" 2>/dev/null >"$TMP/bd"
	"$DARKMAP" dump -m "$2" >"$TMP/dm" 2>"$TMP/dm.err"
	if ! cmp -s "$TMP/bd" "$3"; then
		nok "$1" "bgpdump -m differs from the expected lines: $(diff "$3" "$TMP/bd" | head -4 | tr '\n' ' ')"
	elif ! cmp -s "$TMP/dm" "$3" || ! grep -q ' 0 errors' "$TMP/dm.err"; then
		nok "$1" "darkmap dump -m differs: $(diff "$3" "$TMP/dm" | head -4 | tr '\n' ' ') $(head -2 "$TMP/dm.err")"
	else
		ok "$1"
	fi
}

# 1. round trip
"$DRIVER" "$TMP/a" $NUPD $NPFX >"$TMP/a.out" 2>"$TMP/a.err" || nok archive_roundtrip "driver failed: $(head -3 "$TMP/a.err")"
same_lines archive_roundtrip_updates "$TMP/a/$U.bz2" "$TMP/want_u"
same_lines archive_roundtrip_rib "$TMP/a/$R.bz2" "$TMP/want_r"

# 2. kill -9 mid-table
"$DRIVER" "$TMP/b" $NUPD $NPFX stall >"$TMP/b.out" 2>"$TMP/b.err" &
pid=$!
for _ in $(seq 600); do grep -q '^stalled' "$TMP/b.out" && break; sleep 0.1; done
if ! grep -q '^stalled' "$TMP/b.out"; then
	kill -9 $pid 2>/dev/null
	nok archive_kill9 "the driver never reached the table's third flush: $(tail -2 "$TMP/b.err")"
	exit 0
fi
kill -9 $pid
wait $pid 2>/dev/null
read -r _ rec_flushed rib_flushed < <(grep '^flushed' "$TMP/b.out" | tail -1)
# the files of the killed run: plain (never compressed), whole records
for f in "$U" "$R"; do
	[ -f "$TMP/b/$f" ] || { nok archive_kill9 "$f missing after the kill: $(find "$TMP/b" -type f | tr '\n' ' ')"; exit 0; }
done
bgpdump -m "$TMP/b/$U" 2>/dev/null >"$TMP/bu"
"$DARKMAP" dump -m "$TMP/b/$R" >"$TMP/dr" 2>"$TMP/dr.err"
bgpdump -m "$TMP/b/$R" 2>/dev/null >"$TMP/br"
nrib=$(cut -d'|' -f6 "$TMP/br" | uniq | wc -l)   # RIB records (one per prefix) that survived
n=$(wc -l <"$TMP/br")
# every update record was flushed before the table began: all there
if ! cmp -s "$TMP/bu" "$TMP/want_u"; then
	nok archive_kill9_updates "updates after kill -9 differ: $(wc -l <"$TMP/bu") lines: $(diff "$TMP/want_u" "$TMP/bu" | head -3 | tr '\n' ' ')"
else
	ok archive_kill9_updates
fi
# the RIB: at least what was flushed (rib records - the PEER_INDEX_TABLE), not all of it (the
# kill came mid-table), exactly the first lines of the table, and darkmap reads it without error
if [ "$nrib" -lt $((rib_flushed - 1)) ] || [ "$n" -ge "$(wc -l <"$TMP/want_r")" ]; then
	nok archive_kill9_rib "$nrib prefixes survived, $((rib_flushed - 1)) were flushed, $n lines of $(wc -l <"$TMP/want_r")"
elif ! head -n "$n" "$TMP/want_r" | cmp -s - "$TMP/br" || ! cmp -s "$TMP/br" "$TMP/dr" || ! grep -q ' 0 errors' "$TMP/dr.err"; then
	nok archive_kill9_rib "the surviving table is not the table's first $n lines: $(head -n "$n" "$TMP/want_r" | diff - "$TMP/br" | head -3 | tr '\n' ' ') $(head -2 "$TMP/dr.err")"
else
	ok "archive_kill9_rib: $nrib prefixes survived, $((rib_flushed - 1)) flushed before the kill"
fi
sum_u=$(sha256sum <"$TMP/b/$U")
sum_r=$(sha256sum <"$TMP/b/$R")

# 3. restart in the same folder
"$DRIVER" "$TMP/b" $NUPD $NPFX >"$TMP/c.out" 2>"$TMP/c.err" || nok archive_restart "driver failed: $(head -3 "$TMP/c.err")"
if [ "$(bzcat "$TMP/b/$U.bz2" | sha256sum)" = "$sum_u" ] && [ "$(bzcat "$TMP/b/$R.bz2" | sha256sum)" = "$sum_r" ] &&
	[ ! -e "$TMP/b/$U" ] && [ ! -e "$TMP/b/$R" ] && [ -z "$(find "$TMP/b" -name '.*.bz2')" ]; then
	ok archive_restart_kept
else
	nok archive_restart_kept "the killed run's files changed or were not compressed: $(find "$TMP/b" -type f | tr '\n' ' ')"
fi
same_lines archive_restart_updates "$TMP/b/$U.1.bz2" "$TMP/want_u"
same_lines archive_restart_rib "$TMP/b/$R.1.bz2" "$TMP/want_r"

# 4. kill -9 at an unchosen moment (no stall): as soon as the first flush of the table is
#    reported, wherever the writer then is; the same, except that the kill may cut the record
#    being written: darkmap reads every record before it and reports the cut one as truncated,
#    nothing else. (A fixed delay missed the run on fast machines: it had ended.)
want $NUPD 65536
"$DRIVER" "$TMP/d" $NUPD 65536 >"$TMP/d.out" 2>"$TMP/d.err" &
pid=$!
for _ in $(seq 400); do
	awk '$1 == "flushed" && $3 > 0 { f = 1 } END { exit !f }' "$TMP/d.out" 2>/dev/null && break
	kill -0 $pid 2>/dev/null || break
	sleep 0.05
done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
read -r _ rec_flushed rib_flushed < <(grep '^flushed' "$TMP/d.out" | tail -1)
if [ -f "$TMP/d/$R.bz2" ]; then
	skip archive_kill9_any "the run ended before the kill (flushed ${rec_flushed:-0}/${rib_flushed:-0})"
elif [ ! -f "$TMP/d/$R" ]; then
	# killed before the table: the updates file holds at least what was flushed
	"$DARKMAP" dump -m "$TMP/d/$U" >"$TMP/du" 2>"$TMP/du.err"
	n=$(wc -l <"$TMP/du")
	errs=$(sed -n 's/.* \([0-9][0-9]*\) errors\{0,1\}, .*/\1/p' "$TMP/du.err" | tail -1)
	if [ "$n" -ge "${rec_flushed:-0}" ] && head -n "$n" "$TMP/want_u" | cmp -s - "$TMP/du" &&
		{ [ "$errs" = 0 ] || { [ "$errs" = 1 ] && grep -q truncated "$TMP/du.err"; }; }; then
		ok "archive_kill9_any: killed in the updates, $n records survived, ${rec_flushed:-0} flushed, $errs cut record"
	else
		nok archive_kill9_any "updates: $n lines, ${rec_flushed:-0} flushed, $errs errors: $(tail -1 "$TMP/du.err")"
	fi
else
	"$DARKMAP" dump -m "$TMP/d/$R" >"$TMP/dr" 2>"$TMP/dr.err"
	n=$(wc -l <"$TMP/dr")
	nrib=$(cut -d'|' -f6 "$TMP/dr" | uniq | wc -l)
	errs=$(sed -n 's/.* \([0-9][0-9]*\) errors\{0,1\}, .*/\1/p' "$TMP/dr.err" | tail -1)
	if [ "$nrib" -ge $((rib_flushed - 1)) ] && head -n "$n" "$TMP/want_r" | cmp -s - "$TMP/dr" &&
		{ [ "$errs" = 0 ] || { [ "$errs" = 1 ] && grep -q truncated "$TMP/dr.err"; }; }; then
		ok "archive_kill9_any: killed in the table, $nrib prefixes survived, $((rib_flushed - 1)) flushed, $errs cut record"
	else
		nok archive_kill9_any "$nrib prefixes survived, $((rib_flushed - 1)) flushed, $errs errors: $(grep -v '^darkmap dump: 1 file' "$TMP/dr.err" | head -2)"
	fi
fi
