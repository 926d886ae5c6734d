/* mleak: mimalloc-bench's test of memory kept for threads that are gone
 * (Daan Leijen, 2019).
 *
 *   mleak [-v] [iterations]
 *   standard: mleak 5 (the suite's "mleak10") and mleak 50 ("mleak100")
 *
 * Runs iterations x 100 rounds. Each round starts 10 threads and joins them;
 * each thread allocates one small object (calloc of 16 pointers, 128 bytes),
 * swaps it into a random one of 1000 shared slots and frees whatever object was
 * there before, which another thread, usually long dead, allocated. So objects
 * outlive the thread that made them and are freed by a different one.
 *
 * What leaks: nothing, on the program's side. At most 1000 objects (125 KiB)
 * are live at any moment, and the last ones are freed at the end; the rest of
 * its allocations are one 80-byte thread array per round, freed at the end of
 * the round. What the test exposes is memory the *allocator* keeps: heaps,
 * caches or arenas of exited threads that are never reused or returned, and
 * pages pinned by one surviving object each. An allocator that handles this
 * well stays near its start-up footprint however many rounds run; one that
 * does not grows with the number of threads created. The figure of interest
 * is therefore the peak RSS (compare mleak 5 with mleak 50); the wall time is
 * recorded too. -v prints the RSS after every tenth of the rounds, on stderr,
 * to show the growth over time.
 *
 * Deterministic: the original draws slots with rand() from all threads at once
 * (a data race); here thread t of round r draws its slot from its own stream
 * (fixed seed, stream r x 10 + t), so the set of slots each round touches is
 * fixed. Which thread of a round reaches a shared slot first still depends on
 * scheduling, but the counts of every kind of call are fixed: per round 10 + 1
 * callocs and 10 + 1 frees (the first frees of empty slots are free(NULL), as
 * the original's), then 1000 frees at the end.
 *
 * Prints, as the original, `Using 10 threads with 100*I iterations`.
 *
 * Self-checks: every object carries its maker's identity and a check word,
 * verified at its free; objects made = objects freed by threads + objects left
 * in the slots at the end; any failure prints a message and exits 1.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/cli.h"
#include "../common/rng.h"

static const char usage[] = "[-v] [iterations]";

#define THREADS 10
#define ROUNDS_PER_ITERATION 100
#define SLOTS (THREADS * ROUNDS_PER_ITERATION) /* the original's TRANSFERS */
#define OBJECT_WORDS 16                        /* calloc(16, sizeof(void *)) */
#define DEFAULT_ITERATIONS 10
#define MAX_ITERATIONS 100000
#define SEED 0x1ce4e5b9                        /* the original's srand() seed */
#define PROGRESS_STEPS 10
#define CHECK_WORD_KEY 0x6d6c65616b6d6c65ull

static _Atomic(uintptr_t *) slots[SLOTS];

typedef struct thread_result {
    uint64_t round;
    unsigned index;
    unsigned freed_objects; /* 0 or 1: was the slot occupied */
    unsigned damaged;
} thread_result;

static uintptr_t check_word(uintptr_t identity) { return identity ^ CHECK_WORD_KEY; }

static void *one_thread(void *arg)
{
    thread_result *r = arg;
    rng_t rng = rng_seeded(SEED, r->round * THREADS + r->index);
    uintptr_t *object = calloc(OBJECT_WORDS, sizeof(void *));
    if (object == NULL)
        cli_fail(EXIT_CHECK_FAILED, "out of memory allocating an object");
    uintptr_t identity = (uintptr_t)(r->round * THREADS + r->index + 1);
    object[0] = identity;
    object[OBJECT_WORDS - 1] = check_word(identity);
    size_t slot = (size_t)rng_below(&rng, SLOTS);
    uintptr_t *previous = atomic_exchange(&slots[slot], object);
    if (previous != NULL) {
        r->freed_objects = 1;
        if (previous[OBJECT_WORDS - 1] != check_word(previous[0]))
            r->damaged = 1;
    }
    free(previous);
    return NULL;
}

/* The original's run_os_threads: a calloc'ed array of thread handles per round. */
static void run_round(uint64_t round, uint64_t *freed_by_threads, uint64_t *damaged)
{
    pthread_t *threads = calloc(THREADS, sizeof(pthread_t));
    if (threads == NULL)
        cli_fail(EXIT_CHECK_FAILED, "out of memory allocating the thread array");
    thread_result results[THREADS];
    for (unsigned t = 0; t < THREADS; t++) {
        results[t] = (thread_result){.round = round, .index = t};
        if (pthread_create(&threads[t], NULL, one_thread, &results[t]) != 0)
            cli_fail(EXIT_CHECK_FAILED, "could not start thread %u of round %llu", t,
                     (unsigned long long)round);
    }
    for (unsigned t = 0; t < THREADS; t++) {
        pthread_join(threads[t], NULL);
        *freed_by_threads += results[t].freed_objects;
        *damaged += results[t].damaged;
    }
    free(threads);
}

/* Resident set size from /proc/self/statm, read without stdio so that watching
 * the heap does not allocate from it. 0 when unavailable. */
static unsigned long long rss_kib(void)
{
    char text[128];
    int fd = open("/proc/self/statm", O_RDONLY);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0)
        return 0;
    text[n] = '\0';
    unsigned long long total_pages, resident_pages;
    if (sscanf(text, "%llu %llu", &total_pages, &resident_pages) != 2)
        return 0;
    return resident_pages * (unsigned long long)sysconf(_SC_PAGESIZE) / 1024;
}

int main(int argc, char **argv)
{
    cli_set_program("mleak");
    int first = 1;
    int verbose = argc > 1 && strcmp(argv[1], "-v") == 0;
    first += verbose;
    if (argc - first > 1)
        cli_usage_error(usage, "expected at most 1 number of iterations, got %d arguments",
                        argc - first);
    long long iterations = DEFAULT_ITERATIONS;
    if (argc - first == 1)
        iterations = cli_parse_integer(argv[first], "iterations", 1, MAX_ITERATIONS);

    printf("Using %d threads with %d*%lld iterations\n", THREADS, ROUNDS_PER_ITERATION,
           iterations);
    fflush(stdout);
    uint64_t rounds = (uint64_t)iterations * ROUNDS_PER_ITERATION;
    uint64_t freed_by_threads = 0, damaged = 0;
    for (uint64_t round = 0; round < rounds; round++) {
        run_round(round, &freed_by_threads, &damaged);
        if (verbose && (round + 1) * PROGRESS_STEPS % rounds < PROGRESS_STEPS)
            fprintf(stderr, "mleak: %llu of %llu rounds, rss %llu KiB\n",
                    (unsigned long long)(round + 1), (unsigned long long)rounds, rss_kib());
    }
    uint64_t left_in_slots = 0;
    for (size_t s = 0; s < SLOTS; s++) {
        uintptr_t *object = atomic_load(&slots[s]);
        if (object == NULL)
            continue;
        left_in_slots++;
        if (object[OBJECT_WORDS - 1] != check_word(object[0]))
            damaged++;
        free(object);
    }
    if (damaged != 0)
        cli_fail(EXIT_CHECK_FAILED, "check failed: %llu objects were damaged while allocated",
                 (unsigned long long)damaged);
    uint64_t made = rounds * THREADS;
    if (freed_by_threads + left_in_slots != made)
        cli_fail(EXIT_CHECK_FAILED,
                 "check failed: %llu objects made, but %llu freed by threads + %llu left",
                 (unsigned long long)made, (unsigned long long)freed_by_threads,
                 (unsigned long long)left_in_slots);
    return 0;
}
