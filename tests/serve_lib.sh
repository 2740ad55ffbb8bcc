# Helpers of the serve tests (tests/integration/serve_*.sh), sourced after tests/lib.sh.
# serve_demo_db: the NK-2014 demo database, made once per test run by `darkmap demo` (as
# `make demo` makes it) and kept in build/test-cache/ while the optimised binary and the
# scenario are unchanged, so the API and browser tests share it. Prints its path.
REL_DARKMAP=${DEMO_DARKMAP:-$ROOT/build/rel/darkmap}
serve_demo_db() {
	local dir=$ROOT/build/test-cache/serve-demo stamp
	stamp=$(cat "$REL_DARKMAP" "$ROOT/data/scenarios/nk-2014.tsv" 2>/dev/null | sha1sum | cut -c1-40)
	if [ -s "$dir/darkmap.sqlite" ] && [ "$(cat "$dir/stamp" 2>/dev/null)" = "$stamp" ]; then
		echo "$dir/darkmap.sqlite"
		return 0
	fi
	rm -rf "$dir"
	mkdir -p "$dir"
	if ! "$REL_DARKMAP" demo --out "$dir/demo" --force >"$dir/demo.log" 2>&1; then
		return 1
	fi
	cp "$dir/demo/darkmap.sqlite" "$dir/darkmap.sqlite"
	rm -rf "$dir/demo/scenario"   # the archives: only the database is reused
	echo "$stamp" >"$dir/stamp"
	echo "$dir/darkmap.sqlite"
}
# serve_start DB [options...]: starts darkmap serve on a free loopback port in the background;
# sets SERVE_PID and SERVE_URL (http://127.0.0.1:PORT/). Returns 1 when it does not come up.
serve_start() {
	local db=$1 pf
	shift
	pf=$(mktemp "$TMP/port.XXXXXX")
	rm -f "$pf"
	"$DARKMAP" serve --db "$db" --port 0 --port-file "$pf" "$@" >"$TMP/serve.out" 2>"$TMP/serve.err" &
	SERVE_PID=$!
	for _ in $(seq 100); do
		[ -s "$pf" ] && break
		kill -0 "$SERVE_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	[ -s "$pf" ] || return 1
	SERVE_URL="http://127.0.0.1:$(cat "$pf")/"
}
# serve_stop: SIGTERM, then the exit status in SERVE_RC (0: a clean stop; the ASan build
# checks for leaks at exit and writes any finding to $TMP/serve.err)
serve_stop() {
	SERVE_RC=
	if [ -n "${SERVE_PID:-}" ]; then
		kill "$SERVE_PID" 2>/dev/null
		wait "$SERVE_PID" 2>/dev/null
		SERVE_RC=$?
	fi
	SERVE_PID=
}
