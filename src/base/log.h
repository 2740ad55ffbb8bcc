/* stderr logging, rate-limited per message kind so one corrupt peer cannot flood the log
 * (after DM_LOG_BURST messages of a kind, further ones are counted, not printed). */
#ifndef DM_BASE_LOG_H
#define DM_BASE_LOG_H

enum { DM_LOG_BURST = 20 };

extern int dm_log_quiet;     /* 1: warnings suppressed (counts still kept by callers) */
extern int dm_log_burst;     /* per-kind limit; 0 = unlimited */

void dm_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* kind: small integer class (e.g. enum dm_err negated); returns 1 if printed. */
int dm_log_rl(int kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* n messages of a kind not even formatted (counted by the caller): shown as suppressed. */
void dm_log_rl_skip(int kind, unsigned long n);
/* Prints "N more messages of kind K suppressed" lines, if any. */
void dm_log_flush_suppressed(void);

#endif
