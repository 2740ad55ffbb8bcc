/* A partition's own structure: private to src/cluster (part.c, and snap.c that snapshots it). */
#ifndef DM_CLUSTER_PART_IMPL_H
#define DM_CLUSTER_PART_IMPL_H

#include "base/arena.h"
#include "cluster/cluster_impl.h"
#include "rib/rib.h"
#include "signal/signal.h"

struct cl_part {
	uint32_t id;
	struct rib *rib;
	struct sig *sig;
	struct arena ar;             /* one element's decoded attributes */
	uint32_t *sums;              /* the merger's summed sizes of the last barrier */
	uint32_t nsums;
	uint64_t rr[2];
	uint32_t *pe_n;              /* scratch for sig_entity_part */
	uint64_t *pe_units;
	uint32_t pe_cap;
	struct cl_buf *rows;         /* the ROWS message being written (inside cl_part_close) */
	uint32_t nrows;
	struct cl_buf changes;       /* visibility changes since the last barrier */
	uint32_t nchanges;
	uint64_t bad, elems;
};

#endif
