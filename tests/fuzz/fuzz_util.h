/* CHECK, shared by the fuzz targets that check a model or invariants: a violation aborts, and
 * libFuzzer keeps the input as a finding. */
#ifndef DM_FUZZ_UTIL_H
#define DM_FUZZ_UTIL_H

#include <stdlib.h>

#define CHECK(c)                                                                                      \
	do {                                                                                          \
		if (!(c))                                                                             \
			abort();                                                                      \
	} while (0)

#endif
