#!/usr/bin/env bash
# A 14-day outage (tests/integration/long/long-outage-14d.tsv, synthetic: the scenario library
# has no documented outage that long) through scenario -> replay -> detect -> eval at bins of
# 60, 300 and 900 s, with the library's harness and rules: found, start and end within one bin,
# the same at every bin size, no false alert.
LIBRARY_DIR="$(cd "$(dirname "$0")" && pwd)/long" exec bash "$(dirname "$0")/scenario_library.sh"
