/* libFuzzer target: the mapping-file decoders (RIR delegated statistics, range CSV, AS names)
 * and the lookups over what they loaded. The first byte picks the loader; the rest is the file,
 * handed over as a file (memfd) as a user's would be. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "geo/geo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int fd = memfd_create("fuzz", 0);
	if (fd < 0)
		return 0;
	if (write(fd, data + 1, size - 1) != (ssize_t)(size - 1)) {
		close(fd);
		return 0;
	}
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	struct geo_db *g = geo_db_new();
	struct dm_error err;
	switch (data[0] % 3) {
	case 0: geo_load_rir(g, path, &err); break;
	case 1: geo_load_range_csv(g, path, &err); break;
	default: geo_load_asnames(g, path, &err); break;
	}
	static const char *const probes[] = { "175.45.176.0/22", "0.0.0.0/0", "10.0.0.0/8", "2001:db8::/32", "::/0",
		                              "255.255.255.255/32" };
	for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
		struct dm_prefix p;
		struct geo_share sh[8];
		if (dm_prefix_parse(probes[i], &p) == 0)
			geo_prefix_countries(g, &p, sh, 8);
	}
	geo_cc cc;
	geo_as_name(g, 131279);
	geo_as_country(g, 131279, cc);
	geo_db_free(g);
	close(fd);
	return 0;
}
