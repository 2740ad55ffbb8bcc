/* Cores for helper threads (decompression, page populating, a second decoding thread): whether
 * one is free, and which CPUs a helper may run on. */
#ifndef DM_BASE_CPU_H
#define DM_BASE_CPU_H

#include <pthread.h>

/* 1 when the machine has two or more cores and one is free: the 1-minute load average leaves
 * more than half a core, or no task of another process is runnable right now. */
int dm_core_free(void);

/* Its decision over readings of the count of other tasks runnable now (others(arg); -1: none
 * could be read): free when a reading leaves a core, of up to DM_FREE_READS readings gap_us
 * apart (cpu.c says why). For tests. */
enum { DM_FREE_READS = 4 };
int dm_core_free_readings(long cores, int (*others)(void *arg), void *arg, unsigned gap_us);

/* Whether helpers started from now on by dm_helper_create keep off the CPU of the thread that
 * starts them (on: 1) or not (0; also before the first call). DARKMAP_HELPER_CPU=0 makes it
 * always 0. cpu.c says why and for which helpers. */
void dm_helpers_keep_off(int on);

/* pthread_create, the thread kept off the caller's CPU when asked (above) from its start, by
 * its attributes (attr may be NULL; when not, its CPU set may be changed). */
int dm_helper_create(pthread_t *t, pthread_attr_t *attr, void *(*fn)(void *), void *arg);

/* The same, kept off cpu (-1: not kept off). A process allowed only cpu keeps it. For tests. */
int dm_helper_create_off(pthread_t *t, pthread_attr_t *attr, void *(*fn)(void *), void *arg, int cpu);

#endif
