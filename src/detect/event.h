/* Events raised by src/detect from the visibility series: outages, recoveries, rising
 * instability, and data-quality "unknown" states. Stored by src/store, written by src/out. */
#ifndef DM_DETECT_EVENT_H
#define DM_DETECT_EVENT_H

#include <stdint.h>

#include "signal/series.h"

enum dm_event_type {
	DM_EV_OUTAGE = 1,        /* visible /24s fell below threshold x baseline */
	DM_EV_PARTIAL = 2,       /* an outage of part of the entity (e.g. 4 -> 3 of 4 /24s) */
	DM_EV_RECOVERY = 3,      /* end of an outage: duration known */
	DM_EV_INSTABILITY = 4,   /* interruption rate rising above its baseline */
	DM_EV_UNKNOWN = 5,       /* data quality too poor to tell (peers dropped, collector gap) */
	DM_EV_NEWNORMAL = 6,     /* an outage that lasted new_normal is declared the new level */
};

struct dm_event {
	uint8_t type;                 /* enum dm_event_type */
	struct sig_entity entity;
	int64_t start, end;           /* UTC seconds; end 0 while ongoing */
	double severity;              /* 0..1: fraction of baseline lost (x peers share, see README) */
	uint64_t baseline_slash24;    /* baseline the event is measured against (64-bit: IPv6 /48s) */
	uint64_t slash24;             /* value at detection (outage) or at recovery */
	uint16_t peers_lost;          /* full-feed peers that lost the entity's routes */
	uint16_t full_feed_peers;
	double rate, baseline_rate;   /* instability: interruptions/hour now and baseline */
	uint8_t quality;              /* enum sig_quality flags of the bins involved */
	char affected[256];           /* affected prefixes, space separated, truncated with "..." */
	char reason[256];             /* one-line explanation of why the rule fired */
	/* Added by src/detect (docs/detect.md): */
	uint8_t of_type;              /* recovery: type it ends (OUTAGE/PARTIAL); a closing
	                               * instability/unknown event (end != 0) repeats its type */
	int64_t raised;               /* start of the bin whose feed raised the event (>= start) */
	uint32_t window;              /* instability: sliding window, seconds */
	uint32_t interruptions;       /* instability: interruptions in the window */
	/* Staged episodes (docs/detect.md "Episodes"): an outage that becomes partial or the reverse
	 * is one episode of several events. */
	int64_t episode_start;        /* first bin of the whole episode (outage/partial/recovery/newnormal) */
	int64_t prev_start;           /* an event that closes another (escalation, de-escalation,
	                               * recovery, newnormal): the start of the closed one, of type of_type */
	char evidence[512];           /* what carries the loss: origin ASes with shares, upstream last
	                               * seen, mapping disagreement (filled by the caller, not the detector) */
};

#endif
