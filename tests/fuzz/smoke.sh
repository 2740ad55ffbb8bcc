# make test: every fuzz target for a short bounded time, 10 s each (make fuzz runs longer).
cd "$(dirname "$0")/../.."
FUZZ_SECONDS=${FUZZ_SMOKE_SECONDS:-10} bash tests/fuzz/run
