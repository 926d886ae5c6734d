/* glibc-thread: glibc's malloc micro-benchmark bench-malloc-thread (from glibc's
 * benchtests), as the mimalloc-bench suite runs it.
 *
 *   glibc-thread [threads [seconds]]
 *   standard: glibc-thread N          (2 seconds, as the original's fixed duration)
 *
 * Each thread owns a working set of 1024 slots and, until the time is up,
 * repeats: take the next slot and the next size from two precomputed tables,
 * free the slot's block (nothing the first time round), allocate a block of
 * that size in its place and write every byte of it. The sizes follow an
 * inverse-square distribution over 4..32768 bytes (three in four are 16 bytes
 * or less, one in sixteen over 64); the tables hold 8000 sizes and 4096 slot
 * numbers, drawn once from a fixed seed, and every thread walks both tables
 * from the start, as the original's threads do. With one thread the loop runs
 * on the main thread (the original's main-arena case). A timer signal ends the
 * run; the original uses alarm(2) the same way.
 *
 * Prints, as the original, `I iterations` (I = free+malloc pairs, all threads
 * together, in the fixed time). The suite reads it as the relative time 1e9 / I
 * seconds (lower is better).
 *
 * Self-checks: at every free the block's first and last bytes must still hold
 * what was written; every thread must have done at least one iteration; any
 * failure prints a message and exits 1. The blocks left in the working sets are
 * freed after the time is up (the original leaves them to the exit).
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "../common/cli.h"
#include "../common/rng.h"

static const char usage[] = "[threads [seconds]]";

#define DEFAULT_THREADS 1
#define DEFAULT_SECONDS 2.0   /* the original's BENCHMARK_DURATION */
#define MAX_THREADS 256
#define MAX_SECONDS 3600.0
#define WORKING_SET_SLOTS 1024
#define MIN_BLOCK_SIZE 4
#define MAX_BLOCK_SIZE 32768
#define SIZE_TABLE_ENTRIES 8000
#define SLOT_TABLE_ENTRIES (4 * WORKING_SET_SLOTS)
#define TABLE_SEED 88         /* the original's RAND_SEED (which it never used) */

static uint32_t size_table[SIZE_TABLE_ENTRIES];
static uint32_t slot_table[SLOT_TABLE_ENTRIES];

/* Working sets live here rather than on the heap so that the program's own
 * bookkeeping makes no allocation (the original keeps them on main's stack). */
typedef struct worker {
    uint8_t *blocks[WORKING_SET_SLOTS];
    uint32_t sizes[WORKING_SET_SLOTS];
    uint64_t iterations;
    uint64_t damaged;
    pthread_t thread;
} worker;
static worker workers[MAX_THREADS];

static atomic_bool time_is_up;

static void on_timer(int signal_number)
{
    (void)signal_number;
    atomic_store_explicit(&time_is_up, true, memory_order_relaxed);
}

/* Inverse-square distribution on [MIN, MAX]: the density falls as 1/size^2, so
 * the inverse of the CDF maps a uniform u in [0, 1] to 1 / (1/MIN - u (1/MIN - 1/MAX)). */
static uint32_t inverse_square_size(double u)
{
    double lo = 1.0 / MIN_BLOCK_SIZE, hi = 1.0 / MAX_BLOCK_SIZE;
    return (uint32_t)(1.0 / (lo - u * (lo - hi)));
}

static void fill_tables(void)
{
    rng_t rng = rng_seeded(TABLE_SEED, 0);
    for (size_t i = 0; i < SIZE_TABLE_ENTRIES; i++)
        size_table[i] = inverse_square_size((double)(rng_next(&rng) >> 11) * 0x1p-53);
    for (size_t i = 0; i < SLOT_TABLE_ENTRIES; i++)
        slot_table[i] = (uint32_t)rng_below(&rng, WORKING_SET_SLOTS);
}

static bool block_intact(const uint8_t *p, uint32_t size)
{
    return p[0] == 0 && p[size - 1] == (uint8_t)(size - 1);
}

static void *run_worker(void *arg)
{
    worker *w = arg;
    size_t next_slot = 0, next_size = 0;
    uint64_t iterations = 0, damaged = 0;
    while (!atomic_load_explicit(&time_is_up, memory_order_relaxed)) {
        uint32_t slot = slot_table[next_slot];
        uint32_t size = size_table[next_size];
        next_slot = next_slot + 1 == SLOT_TABLE_ENTRIES ? 0 : next_slot + 1;
        next_size = next_size + 1 == SIZE_TABLE_ENTRIES ? 0 : next_size + 1;
        if (w->blocks[slot] != NULL && !block_intact(w->blocks[slot], w->sizes[slot]))
            damaged++;
        free(w->blocks[slot]);
        uint8_t *p = malloc(size);
        if (p == NULL)
            cli_fail(EXIT_CHECK_FAILED, "out of memory allocating a %u-byte block", size);
        for (uint32_t i = 0; i < size; i++) /* touch it all, as the original */
            p[i] = (uint8_t)i;
        w->blocks[slot] = p;
        w->sizes[slot] = size;
        iterations++;
    }
    w->iterations = iterations;
    w->damaged = damaged;
    return NULL;
}

static void start_timer(double seconds)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_timer;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGALRM, &action, NULL) != 0)
        cli_fail(EXIT_CHECK_FAILED, "could not install the timer's signal handler");
    struct itimerval timer = {{0, 0}, {0, 0}};
    timer.it_value.tv_sec = (time_t)seconds;
    timer.it_value.tv_usec = (suseconds_t)((seconds - (double)timer.it_value.tv_sec) * 1e6);
    if (timer.it_value.tv_sec == 0 && timer.it_value.tv_usec == 0)
        timer.it_value.tv_usec = 1;
    if (setitimer(ITIMER_REAL, &timer, NULL) != 0)
        cli_fail(EXIT_CHECK_FAILED, "could not start the timer");
}

int main(int argc, char **argv)
{
    cli_set_program("glibc-thread");
    if (argc > 3)
        cli_usage_error(usage, "expected at most 2 arguments, got %d", argc - 1);
    unsigned threads = DEFAULT_THREADS;
    double seconds = DEFAULT_SECONDS;
    if (argc > 1)
        threads = (unsigned)cli_parse_integer(argv[1], "threads", 1, MAX_THREADS);
    if (argc > 2)
        seconds = cli_parse_seconds(argv[2], "seconds", MAX_SECONDS);

    fill_tables();
    start_timer(seconds);
    if (threads == 1) {
        run_worker(&workers[0]);
    } else {
        for (unsigned t = 0; t < threads; t++)
            if (pthread_create(&workers[t].thread, NULL, run_worker, &workers[t]) != 0)
                cli_fail(EXIT_CHECK_FAILED, "could not start worker thread %u", t);
        for (unsigned t = 0; t < threads; t++)
            pthread_join(workers[t].thread, NULL);
    }

    uint64_t iterations = 0, damaged = 0;
    for (unsigned t = 0; t < threads; t++) {
        worker *w = &workers[t];
        if (w->iterations == 0)
            cli_fail(EXIT_CHECK_FAILED, "check failed: thread %u did no iteration in %g s", t,
                     seconds);
        iterations += w->iterations;
        damaged += w->damaged;
        for (size_t s = 0; s < WORKING_SET_SLOTS; s++) {
            if (w->blocks[s] != NULL && !block_intact(w->blocks[s], w->sizes[s]))
                damaged++;
            free(w->blocks[s]);
        }
    }
    if (damaged != 0)
        cli_fail(EXIT_CHECK_FAILED, "check failed: %llu blocks were damaged while allocated",
                 (unsigned long long)damaged);
    printf("%llu iterations\n", (unsigned long long)iterations);
    return 0;
}
