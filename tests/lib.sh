# Shared helpers for shell tests. Each test script prints one line per check:
#   ok NAME | not ok NAME: why | skip NAME: why
# tests/run counts them. Source this file; DARKMAP and ASAN_DARKMAP point at the binaries.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DATA=${DARKMAP_DATA:-$ROOT/../shared/data}
DARKMAP=${DARKMAP:-$ROOT/build/asan/darkmap}
# TMP: this test's scratch folder. One lib.sh creates is removed when the test exits, passed or
# failed, interrupted or not (a full pass once left about 1 GB in /tmp); one given as TMP_TEST is
# the caller's and is left alone. Files worth keeping after a failure go under KEEP (tests/run
# empties it at the start of a run and names what is left in it at the end).
KEEP=${DARKMAP_TEST_KEEP:-$ROOT/build/test-failures}
if [ -n "${TMP_TEST:-}" ]; then
	TMP=$TMP_TEST
else
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/darkmap-test.XXXXXX")
	trap 'rm -rf "$TMP"' EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ok()   { echo "ok $1"; }
nok()  { echo "not ok $1: $2"; }
skip() { echo "skip $1: $2"; }
have_data() { [ -d "$DATA/$1" ] || [ -f "$DATA/$1" ]; }
# wait_for SECONDS COMMAND...: runs COMMAND every 0.1 s until it succeeds (0) or time runs out (1)
wait_for() {
	local t=$1 i
	shift
	for ((i = 0; i < t * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	# said, so that a wait that always runs out (a test slower than it needs be) shows in the log
	echo "# wait_for: gave up after $t s: $*" >&2
	return 1
}
