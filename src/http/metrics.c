/* The live collector's Prometheus metrics (http.h "struct http_live_metrics"): names, types and
 * help texts in one place, text exposition format 0.0.4. */
#include <stdio.h>

#include "detect/event.h"
#include "http/http.h"

const double http_db_write_le[HTTP_DB_WRITE_BUCKETS] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	                                                 0.1,   0.25,   0.5,   1,    2.5,   10 };

void http_live_metrics_observe_write(struct http_live_metrics *m, double seconds)
{
	m->db_write_count++;
	m->db_write_sum += seconds;
	for (int i = 0; i < HTTP_DB_WRITE_BUCKETS; i++)
		if (seconds <= http_db_write_le[i]) {
			m->db_write_bucket[i]++;
			break;
		}
}

static const char *const event_types[] = { "", "outage", "partial", "recovery", "instability", "unknown", "newnormal" };

static void family(struct obuf *o, const char *name, const char *type, const char *help)
{
	obuf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void http_live_metrics_format(const struct http_live_metrics *m, struct obuf *o)
{
	family(o, "darkmap_peers_up", "gauge", "BGP and BMP peers with an established session.");
	obuf_printf(o, "darkmap_peers_up %u\n", m->peers_up);
	family(o, "darkmap_routes", "gauge", "Routes in the RIB, every peer's.");
	obuf_printf(o, "darkmap_routes %llu\n", (unsigned long long)m->routes);
	family(o, "darkmap_elements_total", "counter", "BGP announcements and withdrawals applied to the RIB.");
	obuf_printf(o, "darkmap_elements_total %llu\n", (unsigned long long)m->elements_total);
	family(o, "darkmap_decode_errors_total", "counter", "Input errors counted and skipped, by kind.");
	for (int k = 1; k < DM_ERR_COUNT_; k++)
		obuf_printf(o, "darkmap_decode_errors_total{kind=\"%s\"} %llu\n", dm_err_name((enum dm_err)-k),
		            (unsigned long long)m->decode_errors[k]);
	family(o, "darkmap_events_total", "counter", "Events raised by the detector, by type.");
	for (int t = DM_EV_OUTAGE; t <= DM_EV_NEWNORMAL; t++)
		obuf_printf(o, "darkmap_events_total{type=\"%s\"} %llu\n", event_types[t],
		            (unsigned long long)m->events_total[t]);
	family(o, "darkmap_bin_lag_seconds", "gauge", "Wall clock minus the end of the last closed bin.");
	obuf_printf(o, "darkmap_bin_lag_seconds %.9g\n", m->bin_lag_seconds);
	family(o, "darkmap_db_write_seconds", "histogram", "Time to write and commit one closed bin to the database.");
	uint64_t cum = 0;
	for (int i = 0; i < HTTP_DB_WRITE_BUCKETS; i++) {
		cum += m->db_write_bucket[i];
		obuf_printf(o, "darkmap_db_write_seconds_bucket{le=\"%g\"} %llu\n", http_db_write_le[i],
		            (unsigned long long)cum);
	}
	obuf_printf(o, "darkmap_db_write_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)m->db_write_count);
	obuf_printf(o, "darkmap_db_write_seconds_sum %.9g\ndarkmap_db_write_seconds_count %llu\n", m->db_write_sum,
	            (unsigned long long)m->db_write_count);
}
