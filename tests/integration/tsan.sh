# The threads under ThreadSanitizer: the decompression thread and the webhook queue
# (tests/tsan/tsan_threads.c), dump's second decoding thread against its one-thread output
# (tests/tsan/tsan_dump.c), the archive's compression thread (tests/tsan/tsan_archive.c),
# serve's snapshot reads beside its event loop while a writer commits (tests/tsan/tsan_snapshot.c),
# collect --serve's server on a thread of its own (tests/tsan/tsan_http_thread.c), a full recompute's
# trie sync and coverage walk on helper threads against the same rows without them
# (tests/tsan/tsan_recompute.c), a table's settle with the mapping's lookups on a helper thread against
# the same rows without it (tests/tsan/tsan_settle.c),
# built by `make tsan-bins` with clang -fsanitize=thread; a few s each.
cd "$(dirname "$0")/../.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
for t in tsan_threads tsan_dump tsan_archive tsan_snapshot tsan_http_thread tsan_recompute tsan_settle; do
	bin=build/tsan/tests/tsan/$t
	if [ ! -x "$bin" ]; then
		echo "skip $t: $bin not built (make tsan-bins needs clang)"
		continue
	fi
	TSAN_OPTIONS=halt_on_error=1:exitcode=66:second_deadlock_stack=1 "$bin" >"$log" 2>&1
	rc=$?
	grep -E '^(ok|not ok|skip) ' "$log"
	if [ $rc != 0 ] || grep -q 'WARNING: ThreadSanitizer' "$log"; then
		echo "not ok $t: exit $rc"
		grep -A12 -m1 'WARNING: ThreadSanitizer' "$log" | sed 's/^/    /'
		status=1
	fi
done
exit $status
