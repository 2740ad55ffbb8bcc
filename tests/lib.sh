# Shared helpers for shell tests. Each test script prints one line per check:
#   ok NAME | not ok NAME: why | skip NAME: why
# tests/run counts them. Source this file; DARKMAP and ASAN_DARKMAP point at the binaries.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DATA=${DARKMAP_DATA:-$ROOT/../shared/data}
DARKMAP=${DARKMAP:-$ROOT/build/asan/darkmap}
TMP=${TMP_TEST:-$(mktemp -d)}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ok()   { echo "ok $1"; }
nok()  { echo "not ok $1: $2"; }
skip() { echo "skip $1: $2"; }
have_data() { [ -d "$DATA/$1" ] || [ -f "$DATA/$1" ]; }
