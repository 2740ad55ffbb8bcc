#!/usr/bin/env bash
# RFC 7606 the same in every output (issue 9): hand-built UPDATEs, one per class of malformed
# attribute (tests/golden/rfc7606.py: treat-as-withdraw, attribute discard, AFI/SAFI disable,
# session reset), against the -m, -M and --json lines and the error lines computed there from what
# was written. --json prints the elements replay consumes (mrt_elems), so this pins them too.
. "$(dirname "$0")/../lib.sh"
command -v python3 >/dev/null || { skip dump_rfc7606 "python3 absent"; exit 0; }
python3 "$ROOT/tests/golden/rfc7606.py" "$TMP"
cd "$TMP" || exit 1
for mode in m M json; do
	opt=-$mode
	[ $mode = json ] && opt=--json
	"$DARKMAP" dump $opt r.mrt >"got.$mode" 2>"got.$mode.err"; rc=$?
	grep -o 'offset [0-9]*: .*' "got.$mode.err" >"got.$mode.errlines"
	if [ $rc = 1 ] && cmp -s "r.$mode" "got.$mode" && cmp -s r.err "got.$mode.errlines"; then
		ok "dump_rfc7606:$mode"
	else
		nok "dump_rfc7606:$mode" "exit $rc; $(diff "r.$mode" "got.$mode" | head -3 | tr '\n' ' ') $(diff r.err "got.$mode.errlines" | head -3 | tr '\n' ' ')"
	fi
done
