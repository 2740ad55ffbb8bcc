#!/usr/bin/env bash
# A damaged PEER_INDEX_TABLE costs only what its damage destroyed (issue 9): hand-built files
# (tests/golden/damaged_pit.py, one damage each: peer count, view name length, a cut, a zero run
# over its end, its type, its time) against the lines and errors computed there from what was written.
. "$(dirname "$0")/../lib.sh"
command -v python3 >/dev/null || { skip dump_pit "python3 absent"; exit 0; }
python3 "$ROOT/tests/golden/damaged_pit.py" "$TMP"
for c in count big vlen trunc zero type time; do
	"$DARKMAP" dump -m "$TMP/$c.mrt" >"$TMP/$c.got" 2>"$TMP/$c.stderr"; rc=$?
	# the framing error of the zero run is pinned by tests/unit/test_mrt.c; here the table's own
	grep -o 'offset [0-9]*: .*' "$TMP/$c.stderr" | grep -v 'MRT framing lost' >"$TMP/$c.gerr"
	if [ $rc = 1 ] && cmp -s "$TMP/$c.out" "$TMP/$c.got" && cmp -s "$TMP/$c.err" "$TMP/$c.gerr"; then
		ok "dump_pit:$c"
	else
		nok "dump_pit:$c" "exit $rc; $(diff "$TMP/$c.out" "$TMP/$c.got" | head -3 | tr '\n' ' ') $(diff "$TMP/$c.err" "$TMP/$c.gerr" | head -3 | tr '\n' ' ')"
	fi
done
