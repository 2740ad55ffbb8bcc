/* libFuzzer target: a BMP station's input stream (src/live/bmp.c). The first byte chooses how the
 * rest is cut into reads (TCP splits anywhere): whole, or pieces of 1..255 bytes. Every callback
 * touches what it is given, so ASan sees reads of anything the decoder hands out. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "live/bmp.h"

static volatile uint64_t sink;

static void on_init(void *arg, const char *n, const char *d) { sink += strlen(n) + strlen(d); }
static void on_up(void *arg, const struct bmp_peer *p, const struct bgp_msg *s, const struct bgp_msg *r)
{
	sink += p->local_asn + s->u.open.opt_len + r->u.open.opt_len;
}
static void on_down(void *arg, const struct bmp_peer *p, uint8_t reason, const struct bgp_notification *n)
{
	sink += reason + (n ? n->code + n->data_len : 0);
	if (n && n->data_len)
		sink += n->data[n->data_len - 1];
}
static void on_elem(void *arg, const struct bmp_peer *p, int view, const struct dm_elem *e)
{
	sink += e->prefix.len + e->peer_ip->b[0] + (e->attrs ? e->attrs->path.nseg : 0) + (e->next_hop ? e->next_hop->afi : 0);
}
static void on_update(void *arg, const struct bmp_peer *p, int view, const uint8_t *m, size_t len, uint8_t asn_size,
                      uint8_t addpath)
{
	sink += m[len - 1] + asn_size + addpath;
}
static void on_stats(void *arg, const struct bmp_peer *p) { sink += p->stat[7]; }
static void on_term(void *arg, uint16_t reason, const char *info) { sink += reason + strlen(info); }
static void on_error(void *arg, const struct dm_error *e) { sink += e->offset + strlen(e->what); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	static const struct bmp_cb cb = { NULL, on_init, on_up, on_down, on_elem, on_update, on_stats, on_term, on_error };
	struct bmp *b = bmp_new(&cb);
	if (!b)
		return 0;
	size_t step = data[0] ? data[0] : size;
	data++, size--;
	struct dm_error err;
	while (size) {
		size_t n = step < size ? step : size;
		if (bmp_input(b, data, n, 1700000000, 0, &err))
			break;
		data += n, size -= n;
	}
	sink += bmp_counts(b)->elems + bmp_npeers(b);
	bmp_free(b);
	return 0;
}
