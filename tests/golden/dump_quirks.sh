#!/usr/bin/env bash
# bgpdump -m rules the real archives do not reach, on a hand-made MRT file: tests/golden/expect/
# quirks.mrt (written by quirks.py, which describes each record) against Debian bgpdump 1.6.2's
# output quirks.mrt.bgpdump-m. Where bgpdump is wrong darkmap differs, and the exact difference
# is quirks.diff (reasons in expect/README.md). When bgpdump is installed the test also checks
# that quirks.py still writes the committed file and that bgpdump still prints the committed text.
. "$(dirname "$0")/../lib.sh"
E=$ROOT/tests/golden/expect
"$DARKMAP" dump -m "$E/quirks.mrt" >"$TMP/q.out" 2>"$TMP/q.err"; rc=$?
diff "$E/quirks.mrt.bgpdump-m" "$TMP/q.out" >"$TMP/q.diff"
# Record 12 (ORIGIN 5) is reported as a bad attribute; the route is still printed, like bgpdump.
grep -E 'offset [0-9]+: |errors by kind' "$TMP/q.err" | sed "s|$E/||" >"$TMP/q.errlines"
if [ $rc = 1 ] && cmp -s "$TMP/q.diff" "$E/quirks.diff" && cmp -s "$TMP/q.errlines" "$E/quirks.stderr"; then
	ok dump_quirks
else
	nok dump_quirks "exit $rc; $(diff "$E/quirks.diff" "$TMP/q.diff" | head -4 | tr '\n' ' ') $(diff "$E/quirks.stderr" "$TMP/q.errlines" | head -2 | tr '\n' ' ')"
fi
if command -v bgpdump >/dev/null && command -v python3 >/dev/null; then
	python3 "$E/quirks.py" "$TMP/q.mrt"
	# Record 22's line holds bytes bgpdump reads past its buffer: they change between runs.
	bgpdump -m "$TMP/q.mrt" 2>/dev/null | grep -v '^BGP4MP|1400000022|' >"$TMP/q.bgpdump"
	if cmp -s "$TMP/q.mrt" "$E/quirks.mrt" && grep -v '^BGP4MP|1400000022|' "$E/quirks.mrt.bgpdump-m" | cmp -s - "$TMP/q.bgpdump"; then
		ok dump_quirks:reference
	else
		nok dump_quirks:reference "quirks.py or bgpdump output changed"
	fi
else
	skip dump_quirks:reference "bgpdump or python3 absent"
fi
