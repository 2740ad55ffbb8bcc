#!/usr/bin/env bash
# make bench: the machine the ratios were taken on. A ratio against bgpdump moves with the
# machine: on the AMD EPYC (family 26) virtual machines of December 2026 bgpdump ran up to 2.8x
# faster than on those of the sessions before, darkmap's decoding 2.1x, and its replay of one
# full table (50 MB touched, against bgpdump's 2-3 MB) not at all: a 4 KiB page's first touch
# cost 2.7 ms a MB there (bench/touch.c). Printed first by bench/run; alone: bash bench/machine.sh
set -u
cd "$(dirname "$0")/.."
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
fam=$(grep -m1 'cpu family' /proc/cpuinfo | cut -d: -f2 | tr -d ' ')
thp=$(sed -n 's/.*\[\(.*\)\].*/\1/p' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)
echo "== machine: $cpu (family $fam), $(nproc) cores, kernel $(uname -r), transparent huge pages: ${thp:-unknown}"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -x build/rel/bench/touch ]; then
	build/rel/bench/touch 32 | awk '{ v[$1] = $2 } END {
		printf "fresh memory, ms per MB (32 MB mapped and written, median of 5; bench/touch.c): 4 KiB page faults %s, MAP_POPULATE %s, huge pages %s\n", v["4KiB-faults"], v["populate"], v["huge-pages"]
		if ("written-after-helper-populated" in v)
			printf "the writer'"'"'s stores alone, ms per MB, after another thread populated the pages: %s; populated and read a byte of each: %s\n", v["written-after-helper-populated"], v["written-after-helper-populated-and-read"] }'
fi
