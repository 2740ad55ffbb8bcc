# make test: every fuzz target for a short bounded time, 10 s each (make fuzz runs longer).
cd "$(dirname "$0")/../.."
FUZZ_SECONDS=${FUZZ_SMOKE_SECONDS:-10} bash tests/fuzz/run
# inputs that once failed a target (tests/fuzz/regress/TARGET/NAME) must pass it now
st=$?
for f in tests/fuzz/regress/*/*; do
	[ -f "$f" ] || continue
	t=$(basename "$(dirname "$f")")
	bin=build/fuzz/tests/fuzz/fuzz_$t
	[ -x "$bin" ] || { echo "skip fuzz_regress:$t/$(basename "$f"): $bin not built"; continue; }
	if "$bin" "$f" >/dev/null 2>&1; then echo "ok fuzz_regress:$t/$(basename "$f")"
	else echo "not ok fuzz_regress:$t/$(basename "$f"): $bin fails on it"; st=1; fi
done
exit $st
