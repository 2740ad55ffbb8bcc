#!/usr/bin/env bash
# Record times that cannot be real are data errors (issue 9: a 43 KB file of records stamped
# 0xFFFFFFFF made `replay --csv` print 8 million rows of 1970 bins). The committed quirks.mrt
# (22 records of 2014) is re-stamped here, record by record, by an independent framing.
. "$(dirname "$0")/../lib.sh"
command -v python3 >/dev/null || { skip dump_time "python3 absent"; exit 0; }
python3 - "$ROOT/tests/golden/expect/quirks.mrt" "$TMP" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
recs, p = [], 0
while p + 12 <= len(d):
    n = struct.unpack(">I", d[p + 8:p + 12])[0]
    recs.append(d[p:p + 12 + n])
    p += 12 + n
assert p == len(d) and len(recs) == 22
bad = b"".join(b"\xff\xff\xff\xff" + r[4:] for r in recs) * 20      # 440 records, 155 KB
open(sys.argv[2] + "/ffff.mrt", "wb").write(bad)
# 1994-12-31 23:59:59, then the real records, then 0: only the real ones stand
early = b"".join(struct.pack(">I", 788918399) + r[4:] for r in recs[:3])
zero = b"".join(b"\0\0\0\0" + r[4:] for r in recs[:2])
open(sys.argv[2] + "/mixed.mrt", "wb").write(early + d + zero)
open(sys.argv[2] + "/sizes", "w").write("%d %d\n" % (len(bad), len(early)))
PY
read -r size early <"$TMP/sizes"
"$DARKMAP" dump -m "$TMP/ffff.mrt" >"$TMP/f.out" 2>"$TMP/f.err"; rc=$?
first=$(grep -m1 'offset 0:' "$TMP/f.err" | sed 's|^darkmap: [^:]*: ||')
want='offset 0: BGP4MP/MESSAGE record time 4294967295 (2106-02-07 06:28:15 UTC) cannot be real (before 1995-01-01 or more than a day after this machine'"'"'s clock): record skipped'
if [ $rc = 1 ] && [ ! -s "$TMP/f.out" ] && [ "$first" = "$want" ] && [ "$size" -gt 43000 ] &&
	grep -q '^darkmap dump: 1 file, 0 records, 0 lines, 440 errors' "$TMP/f.err"; then
	ok dump_time:ffff
else
	nok dump_time:ffff "exit $rc, $(wc -l <"$TMP/f.out") lines, first error '$first', $(grep '^darkmap dump: 1 file' "$TMP/f.err")"
fi
# replay: no row, every record reported; nothing could be replayed: exit 3 (README, Commands)
"$DARKMAP" replay --csv --no-geo "$TMP/ffff.mrt" >"$TMP/r.csv" 2>"$TMP/r.err"; rc=$?
if [ $rc = 3 ] && [ "$(wc -l <"$TMP/r.csv")" = 1 ] && grep -q 'input problems (skipped, counted): bad-value 440' "$TMP/r.err"; then
	ok dump_time:replay
else
	nok dump_time:replay "exit $rc, $(wc -l <"$TMP/r.csv") csv lines, $(grep -c 'cannot be real' "$TMP/r.err") errors shown"
fi
# The real records among implausible ones: exactly quirks.mrt's lines, 5 errors, exit 1
"$DARKMAP" dump -m "$TMP/mixed.mrt" >"$TMP/m.out" 2>"$TMP/m.err"; rc=$?
"$DARKMAP" dump -m "$ROOT/tests/golden/expect/quirks.mrt" >"$TMP/q.out" 2>/dev/null
if [ $rc = 1 ] && cmp -s "$TMP/m.out" "$TMP/q.out" && [ "$(grep -c 'cannot be real' "$TMP/m.err")" = 5 ] &&
	grep -q "offset 0: BGP4MP/MESSAGE record time 788918399 (1994-12-31 23:59:59 UTC)" "$TMP/m.err" &&
	grep -q "offset $((early + $(stat -c %s "$ROOT/tests/golden/expect/quirks.mrt"))): BGP4MP/MESSAGE record time 0 (1970-01-01 00:00:00 UTC)" "$TMP/m.err"; then
	ok dump_time:mixed
else
	nok dump_time:mixed "exit $rc; $(diff "$TMP/q.out" "$TMP/m.out" | head -2 | tr '\n' ' ') $(grep -c 'cannot be real' "$TMP/m.err") time errors"
fi
