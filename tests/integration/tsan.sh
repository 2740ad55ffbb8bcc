# The threads under ThreadSanitizer: the decompression thread and the webhook queue
# (tests/tsan/tsan_threads.c, built by `make tsan-bins` with clang -fsanitize=thread; a few s).
cd "$(dirname "$0")/../.."
bin=build/tsan/tests/tsan/tsan_threads
if [ ! -x "$bin" ]; then
	echo "skip tsan: $bin not built (make tsan-bins needs clang)"
	exit 0
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
TSAN_OPTIONS=halt_on_error=1:exitcode=66:second_deadlock_stack=1 "$bin" >"$log" 2>&1
rc=$?
grep -E '^(ok|not ok|skip) ' "$log"
if [ $rc != 0 ] || grep -q 'WARNING: ThreadSanitizer' "$log"; then
	echo "not ok tsan: exit $rc"
	grep -A12 -m1 'WARNING: ThreadSanitizer' "$log" | sed 's/^/    /'
	exit 1
fi
