# make test: every fuzz target for a short bounded time (make fuzz runs longer).
cd "$(dirname "$0")/../.."
FUZZ_SECONDS=${FUZZ_SMOKE_SECONDS:-15} bash tests/fuzz/run
