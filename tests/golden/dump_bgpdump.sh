#!/usr/bin/env bash
# Golden test: `darkmap dump -m FILE` against Debian bgpdump 1.6.2's `bgpdump -m -v FILE`, stored
# as FILE.bgpdump-m.xz beside every MRT file in ../shared/data/mrt (PROVENANCE.md there).
#  - Files bgpdump reads correctly must match byte for byte, with no error on stderr.
#  - Files where bgpdump fails, stops early or is wrong (PROVENANCE.md) have their exact
#    difference committed as tests/golden/expect/FILE.diff (output of `diff REF DARKMAP`,
#    reviewed by hand; why each one differs is in expect/README.md), and darkmap's error lines
#    ("darkmap: FILE: offset N: what" and the "errors by kind" summary) as
#    tests/golden/expect/FILE.stderr; the exit status must be 1 exactly when errors are expected.
#  - Files whose TABLE_DUMP records bgpdump cannot frame (RIS 2000 bviews: many entries per record,
#    lengths 4 bytes short; it prints one route and stops) have a FILE.reframe: bgpdump's stored
#    lines must be darkmap's first lines, and all of darkmap's output must equal bgpdump's on the
#    file re-framed one entry per record by tests/golden/expect/reframe_td1.py (an independent
#    reader in Python, no darkmap code; FILE.reframe holds the record and entry counts it finds).
#  - One documented rule instead of a long diff: bgpdump prints the peer address in place of the
#    prefix address on type 5 (deprecated BGP) withdrawal lines (two inet_ntoa() results share a
#    static buffer). Those lines are compared with the address of the prefix masked out, after
#    checking that the reference shows exactly that signature (prefix address == peer address)
#    and that the prefix lengths agree.
# `tests/golden/dump_bgpdump.sh --update` rewrites the expect files (review them before committing).
. "$(dirname "$0")/../lib.sh"
EXPECT=$ROOT/tests/golden/expect
UPDATE=0
[ "${1:-}" = --update ] && UPDATE=1

if ! have_data mrt; then
	skip dump_bgpdump "../shared/data/mrt absent"
	exit 0
fi
if [ ! -x "$DARKMAP" ]; then
	nok dump_bgpdump "$DARKMAP not built"
	exit 0
fi
cd "$DATA/mrt" || exit 1

# Error lines of a run: the per-problem lines and the by-kind summary (not the timing line).
error_lines() {
	grep -E '^darkmap: .*: offset [0-9]+: |^darkmap dump: errors by kind:|^darkmap: [0-9]+ more messages' "$1" || true
}

# Type 5 withdrawals: mask the prefix address, after checking bgpdump's signature.
mask_type5_w() {  # $1 = reference, $2 = darkmap output; rewrites both in place; prints problems
	awk -F'|' '$1 == "BGP" && $3 == "W" { split($6, p, "/"); if (p[1] != $4) print "reference line " NR " lacks the type-5 W signature: " $0 }' "$1"
	awk -F'|' 'BEGIN { OFS = "|" } $1 == "BGP" && $3 == "W" { n = split($6, p, "/"); $6 = "ADDR/" p[n] } { print }' "$1" >"$1.m" && mv "$1.m" "$1"
	awk -F'|' 'BEGIN { OFS = "|" } $1 == "BGP" && $3 == "W" { n = split($6, p, "/"); $6 = "ADDR/" p[n] } { print }' "$2" >"$2.m" && mv "$2.m" "$2"
}

for refxz in *.bgpdump-m.xz; do
	f=${refxz%.bgpdump-m.xz}
	name=dump_bgpdump:$f
	ref=$TMP/$f.ref out=$TMP/$f.out err=$TMP/$f.err
	xzcat "$refxz" >"$ref"
	"$DARKMAP" dump -m "$f" >"$out" 2>"$err"
	rc=$?
	if grep -qE 'AddressSanitizer|runtime error|LeakSanitizer' "$err"; then
		nok "$name" "sanitizer report: $(grep -m1 -E 'ERROR|runtime error' "$err")"
		continue
	fi
	problems=$(mask_type5_w "$ref" "$out")
	diff "$ref" "$out" >"$TMP/$f.diff"
	error_lines "$err" >"$TMP/$f.errlines"
	if [ $UPDATE = 1 ]; then
		rm -f "$EXPECT/$f.diff" "$EXPECT/$f.stderr"
		if [ -f "$EXPECT/$f.reframe" ]; then
			:   # checked against bgpdump on the re-framed file: nothing of darkmap's to store
		elif [ "$(wc -l <"$TMP/$f.diff")" -gt 2000 ]; then
			echo "$f: $(wc -l <"$TMP/$f.diff") diff lines, too many to review: needs an independent reference (expect/README.md)"
		elif [ -s "$TMP/$f.diff" ]; then
			cp "$TMP/$f.diff" "$EXPECT/$f.diff"
		fi
		[ -s "$TMP/$f.errlines" ] && cp "$TMP/$f.errlines" "$EXPECT/$f.stderr"
		echo "updated $f: $(wc -l <"$TMP/$f.diff") diff lines, $(wc -l <"$TMP/$f.errlines") error lines"
		continue
	fi
	want_diff=/dev/null want_err=/dev/null want_rc=0
	[ -f "$EXPECT/$f.diff" ] && want_diff=$EXPECT/$f.diff
	[ -f "$EXPECT/$f.stderr" ] && want_err=$EXPECT/$f.stderr want_rc=1
	if [ -f "$EXPECT/$f.reframe" ] && ! command -v bgpdump >/dev/null; then
		skip "$name" "bgpdump not installed (scripts/bootstrap installs it): no independent reference"
		continue
	fi
	if [ -f "$EXPECT/$f.reframe" ]; then
		# bgpdump's stored output must be the start of darkmap's; all of darkmap's must be
		# bgpdump's on the file re-framed one entry per record by an independent reader.
		head -n "$(wc -l <"$ref")" "$out" | diff "$ref" - >"$TMP/$f.diff"
		if ! python3 "$EXPECT/reframe_td1.py" "$f" >"$TMP/$f.reframed" 2>"$TMP/$f.reframe"; then
			problems="reframe_td1.py failed: $(tail -1 "$TMP/$f.reframe")"
		elif ! cmp -s "$TMP/$f.reframe" "$EXPECT/$f.reframe"; then
			problems="re-framing found $(cat "$TMP/$f.reframe"), expected $(cat "$EXPECT/$f.reframe")"
		else
			bgpdump -m "$TMP/$f.reframed" >"$TMP/$f.ref2" 2>/dev/null
			if ! cmp -s "$TMP/$f.ref2" "$out"; then
				problems="differs from bgpdump on the re-framed file ($(wc -l <"$TMP/$f.ref2") lines there, $(wc -l <"$out") here): $(diff "$TMP/$f.ref2" "$out" | grep -m2 '^[<>]' | tr '\n' ' ')"
			fi
		fi
		rm -f "$TMP/$f.reframed" "$TMP/$f.ref2"
	fi
	if [ -n "$problems" ]; then
		nok "$name" "$problems"
	elif ! cmp -s "$TMP/$f.diff" "$want_diff"; then
		nok "$name" "output differs from bgpdump beyond the documented difference: $(diff "$want_diff" "$TMP/$f.diff" | head -3 | tr '\n' ' ')"
	elif ! cmp -s "$TMP/$f.errlines" "$want_err"; then
		nok "$name" "error lines differ: $(diff "$want_err" "$TMP/$f.errlines" | head -3 | tr '\n' ' ')"
	elif [ $rc != $want_rc ]; then
		nok "$name" "exit status $rc, expected $want_rc"
	else
		ok "$name"
	fi
done
