#!/usr/bin/env bash
# darkmap feed -> darkmap collect on loopback: a real RouteViews RIB (47 peers, 270,005 routes)
# played into one session per archived peer; the routes collect holds must be exactly what
# bgpdump -m reads from the same file (bgpdump's own output, stored beside it), peer addresses
# mapped to the sessions' loopback sources. Also: a second copy-mode run (--copies 3).
source "$(dirname "$0")/../lib.sh"
NAME=live_feed_collect
RIB=$DATA/mrt/rib.20140523.0600_firstMB.bz2
if [ ! -f "$RIB" ] || [ ! -f "$RIB.bgpdump-m.xz" ]; then
	skip $NAME "$RIB (and its .bgpdump-m.xz) absent"
	exit 0
fi
CPID= FPID=
cleanup() { for p in $FPID $CPID; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap 'cleanup; rm -rf "$TMP"' EXIT

# Waits (up to $3 s) until file $1 has $2 lines matching $4.
wait_lines() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		local c
		c=$(grep -c -- "$4" "$1" 2>/dev/null)
		[ "${c:-0}" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# run NAME FEED_ARGS...: collect + feed, state dump once every session sent End-of-RIB
run() {
	local tag=$1
	shift
	rm -f "$TMP/port" "$TMP/state"
	"$DARKMAP" collect --listen 127.0.0.1:0 --peer 127.0.0.0/8,any --state "$TMP/state" \
		--port-file "$TMP/port" 2>"$TMP/$tag.collect.err" &
	CPID=$!
	wait_lines "$TMP/port" 1 30 . || { nok "$NAME $tag" "collect did not start: $(tail -3 "$TMP/$tag.collect.err")"; return 1; }
	"$DARKMAP" feed --to "127.0.0.1:$(cat "$TMP/port")" --hold -1 "$@" "$RIB" 2>"$TMP/$tag.feed.err" &
	FPID=$!
	wait_lines "$TMP/$tag.feed.err" 1 300 'UPDATEs' ||
		{ nok "$NAME $tag" "feed did not finish: $(tail -3 "$TMP/$tag.feed.err")"; return 1; }
	local n
	n=$(sed -n 's/^darkmap feed: \([0-9]*\) sessions.*/\1/p' "$TMP/$tag.feed.err")
	wait_lines "$TMP/$tag.collect.err" "$n" 300 'End-of-RIB IPv6' ||
		{ nok "$NAME $tag" "collect saw no End-of-RIB from all $n sessions"; return 1; }
	kill -USR1 $CPID
	wait_lines "$TMP/state" 1 30 . || { nok "$NAME $tag" "no state file"; return 1; }
	cp "$TMP/state" "$TMP/$tag.state"   # renamed into place whole; at exit it is written again
	kill $FPID; wait $FPID 2>/dev/null; FPID=
	kill $CPID; wait $CPID; local rc=$?; CPID=
	[ $rc = 0 ] || { nok "$NAME $tag" "collect exit $rc: $(tail -3 "$TMP/$tag.collect.err")"; return 1; }
	return 0
}

# expected: bgpdump's lines, fields from the peer on, the archived peer address replaced by the
# session's source address (feed names each session's peer on stderr)
expect() {   # $1 = feed stderr, $2 = copies (0: one session per peer)
	xzcat "$RIB.bgpdump-m.xz" | awk -F'|' -v OFS='|' -v map="$1" -v copies="$2" '
		BEGIN { while ((getline l < map) > 0) if (l ~ / plays peer /) {
				split(l, w, " "); k = w[9] "|" substr(w[10], 3); src[k] = src[k] " " w[6] } }
		{ k = $4 "|" $5; if (!(k in src)) next
		  m = split(substr(src[k], 2), s, " ")
		  for (i = 1; i <= m; i++) { $4 = s[i]; line = $4; for (f = 5; f <= NF; f++) line = line "|" $f; print line } }' |
		LC_ALL=C sort
}

if run peers; then
	tag=peers
	expect "$TMP/peers.feed.err" 0 >"$TMP/want"
	LC_ALL=C sort "$TMP/$tag.state" >"$TMP/got"
	if [ "$(wc -l <"$TMP/want")" = 270005 ] && cmp -s "$TMP/want" "$TMP/got"; then
		ok "$NAME one session per archived peer: 270005 routes as bgpdump reads them"
	else
		mkdir -p "$KEEP/$NAME" && cp "$TMP/want" "$TMP/got" "$TMP"/*.err "$KEEP/$NAME/"
		nok "$NAME one session per archived peer" "want $(wc -l <"$TMP/want") routes, got $(wc -l <"$TMP/got"); $(diff "$TMP/want" "$TMP/got" | head -4 | tr '\n' ' ')"
	fi
fi

if run copies --copies 3 --peer-index 1; then
	tag=copies
	expect "$TMP/copies.feed.err" 3 >"$TMP/want"
	LC_ALL=C sort "$TMP/$tag.state" >"$TMP/got"
	if [ -s "$TMP/want" ] && cmp -s "$TMP/want" "$TMP/got"; then
		ok "$NAME --copies 3: $(wc -l <"$TMP/got") routes, each copy the peer's table"
	else
		mkdir -p "$KEEP/$NAME-copies" && cp "$TMP/want" "$TMP/got" "$TMP"/*.err "$KEEP/$NAME-copies/"
		nok "$NAME --copies 3" "want $(wc -l <"$TMP/want") routes, got $(wc -l <"$TMP/got")"
	fi
fi
