/* Whether a core is free for a helper thread (decompression, a second decoding thread). */
#ifndef DM_BASE_CPU_H
#define DM_BASE_CPU_H

/* 1 when the machine has two or more cores and one is free: the 1-minute load average leaves
 * more than half a core, or no task of another process is runnable right now. */
int dm_core_free(void);

#endif
