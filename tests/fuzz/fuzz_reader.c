/* libFuzzer target: the input layer end to end: magic-byte detection, decompression (gzip,
 * bzip2, xz, zstd: truncated and corrupt streams), MRT framing with resynchronisation. The
 * input is handed over as a file (memfd), exactly as a user's file would be. Seeds: the first
 * records of the real archives recompressed in each format (tests/fuzz/seed.py). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mrt/mrt.h"
#include "mrt/reader.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* Inline decompression: with two cores the reader would start a decompression thread
	 * (and allocate its 2 MB ring) per input. The thread is covered by the unit tests and the
	 * TSan build (tests/tsan/). */
	setenv("DARKMAP_DECOMPRESS_THREAD", "0", 1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz", 0);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	struct dm_error err;
	struct mrt_reader *r = mrt_reader_open(path, &err);
	if (r) {
		struct mrt_ctx ctx;
		mrt_ctx_init(&ctx);
		struct mrt_hdr h;
		const uint8_t *body;
		int rc, n = 0;
		/* At most 4 MB of decompressed input: 70 KB of bzip2 can expand to gigabytes, and
		 * decoding them would only repeat what the first megabytes reach. */
		while ((rc = mrt_reader_next(r, &h, &body, &err)) != 0 && n++ < 100000 &&
		       mrt_reader_offset(r) < (4u << 20)) {
			if (rc < 0)
				continue;
			struct mrt_rec rec;
			mrt_decode(&ctx, &h, body, &rec, &err);
		}
		mrt_ctx_free(&ctx);
		mrt_reader_close(r);
	}
	close(fd);
	return 0;
}
