/* Whether a core is free for a helper thread (decompression, a second decoding thread). */
#ifndef DM_BASE_CPU_H
#define DM_BASE_CPU_H

/* 1 when the machine has two or more cores and one is free: the 1-minute load average leaves
 * more than half a core, or no task of another process is runnable right now. */
int dm_core_free(void);

/* Its decision over readings of the count of other tasks runnable now (others(arg); -1: none
 * could be read): free when a reading leaves a core, of up to DM_FREE_READS readings gap_us
 * apart (cpu.c says why). For tests. */
enum { DM_FREE_READS = 4 };
int dm_core_free_readings(long cores, int (*others)(void *arg), void *arg, unsigned gap_us);

#endif
