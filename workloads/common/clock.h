/* clock.h: wall-clock helpers for the timed workloads. */
#ifndef WORKLOADS_CLOCK_H
#define WORKLOADS_CLOCK_H

#include <time.h>

/* Seconds on the monotonic clock: differences are elapsed wall time, immune to
 * clock adjustments during a run. */
static inline double clock_now_seconds(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec * 1e-9;
}

/* Sleep for a (possibly fractional) number of seconds, resuming after signals. */
static inline void clock_sleep_seconds(double seconds)
{
    struct timespec left;
    left.tv_sec = (time_t)seconds;
    left.tv_nsec = (long)((seconds - (double)left.tv_sec) * 1e9);
    while (nanosleep(&left, &left) != 0) {
    }
}

#endif
