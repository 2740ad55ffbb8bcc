/* libFuzzer target: the speaker's config parser (docs/live.md syntax) on any text, and the
 * command-line peer and listen forms on its first line. No crash, no leak, and on success
 * every peer is well-formed (a range never active, a local address of the peer's family). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "live/speaker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	struct speaker_conf c;
	char err[256];
	speaker_conf_default(&c);
	if (speaker_conf_parse(&c, text, err, sizeof err) == 0) {
		for (unsigned i = 0; i < c.npeer; i++) {
			const struct speaker_peer_conf *p = &c.peer[i];
			unsigned host = p->range.afi == DM_AFI_IPV6 ? 128 : 32;
			if ((!p->passive && p->range.len != host) || (p->local.afi && p->local.afi != p->range.afi))
				__builtin_trap();
		}
	}
	char *nl = strchr(text, '\n');
	if (nl)
		*nl = 0;
	speaker_conf_add_peer(&c, text, err, sizeof err);
	speaker_conf_add_listen(&c, text, err, sizeof err);
	speaker_conf_free(&c);
	free(text);
	return 0;
}
