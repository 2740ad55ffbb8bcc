#define _DEFAULT_SOURCE
#include "base/cpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int dm_core_free(void)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	double load;
	if (cores < 2)
		return 0;
	if (getloadavg(&load, 1) != 1 || load < (double)cores - 0.5)
		return 1;
	/* The average lags by a minute: a machine that was busy and is idle now (a build just
	 * ended, the run before this one in a benchmark) reads as busy for a minute after. The
	 * count of tasks runnable now (/proc/loadavg, ours included) says so at once: with no other
	 * task running, both our threads have a core. */
	FILE *f = fopen("/proc/loadavg", "r");
	int running = 0, total = 0;
	int got = f && fscanf(f, "%*f %*f %*f %d/%d", &running, &total) == 2;
	if (f)
		fclose(f);
	return got && running - 1 <= cores - 2;
}
