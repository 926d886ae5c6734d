/* alloc_profile.c: an LD_PRELOAD shim that counts a program's allocations.
 *
 *   LD_PRELOAD=build/workloads/alloc_profile.so build/workloads/cfrac N
 *
 * At exit it prints to stderr (or appends to $ALLOC_PROFILE_OUTPUT) the number
 * of malloc, calloc, realloc and free calls, a histogram of requested sizes in
 * power-of-two classes, and the peak of live usable bytes. It is how the README
 * measures cfrac's allocation profile against the original's; it works for any
 * program run under glibc.
 *
 * It forwards to glibc's own entry points (__libc_malloc and friends) rather
 * than dlsym(RTLD_NEXT): dlsym itself allocates, which would recurse into us.
 */
#include <malloc.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);

/* Size classes: [0,8], [9,16], [17,32], ... , and one for everything larger. */
#define SIZE_CLASSES 16
#define SMALLEST_CLASS_BYTES 8

static atomic_uint_fast64_t malloc_calls, calloc_calls, realloc_calls, free_calls;
static atomic_uint_fast64_t class_counts[SIZE_CLASSES];
static atomic_int_fast64_t live_bytes, peak_live_bytes;

static unsigned size_class(size_t size)
{
    unsigned c = 0;
    size_t top = SMALLEST_CLASS_BYTES;
    while (size > top && c < SIZE_CLASSES - 1) {
        top *= 2;
        c++;
    }
    return c;
}

static void count_request(size_t size)
{
    atomic_fetch_add_explicit(&class_counts[size_class(size)], 1, memory_order_relaxed);
}

static void track_live(void *p, int sign)
{
    if (p == NULL)
        return;
    int_fast64_t delta = sign * (int_fast64_t)malloc_usable_size(p);
    int_fast64_t now = atomic_fetch_add_explicit(&live_bytes, delta, memory_order_relaxed) + delta;
    int_fast64_t peak = atomic_load_explicit(&peak_live_bytes, memory_order_relaxed);
    while (now > peak &&
           !atomic_compare_exchange_weak_explicit(&peak_live_bytes, &peak, now,
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
}

void *malloc(size_t size)
{
    atomic_fetch_add_explicit(&malloc_calls, 1, memory_order_relaxed);
    count_request(size);
    void *p = __libc_malloc(size);
    track_live(p, 1);
    return p;
}

void *calloc(size_t count, size_t size)
{
    atomic_fetch_add_explicit(&calloc_calls, 1, memory_order_relaxed);
    count_request(count * size);
    void *p = __libc_calloc(count, size);
    track_live(p, 1);
    return p;
}

void *realloc(void *old, size_t size)
{
    atomic_fetch_add_explicit(&realloc_calls, 1, memory_order_relaxed);
    count_request(size);
    track_live(old, -1);
    void *p = __libc_realloc(old, size);
    track_live(p != NULL ? p : (size != 0 ? old : NULL), 1);
    return p;
}

void free(void *p)
{
    if (p == NULL)
        return;
    atomic_fetch_add_explicit(&free_calls, 1, memory_order_relaxed);
    track_live(p, -1);
    __libc_free(p);
}

__attribute__((destructor)) static void report(void)
{
    const char *path = getenv("ALLOC_PROFILE_OUTPUT");
    /* Opening a file allocates; the counts are read first so that does not show. */
    uint64_t mallocs = malloc_calls, callocs = calloc_calls, reallocs = realloc_calls;
    uint64_t frees = free_calls, counts[SIZE_CLASSES];
    for (unsigned c = 0; c < SIZE_CLASSES; c++)
        counts[c] = class_counts[c];
    FILE *out = path ? fopen(path, "a") : NULL;
    if (out == NULL)
        out = stderr;
    fprintf(out, "alloc-profile: malloc %llu, calloc %llu, realloc %llu, free %llu\n",
            (unsigned long long)mallocs, (unsigned long long)callocs,
            (unsigned long long)reallocs, (unsigned long long)frees);
    size_t low = 0, high = SMALLEST_CLASS_BYTES;
    for (unsigned c = 0; c < SIZE_CLASSES; c++) {
        if (counts[c] != 0) {
            if (c == SIZE_CLASSES - 1)
                fprintf(out, "alloc-profile: size >%zu: %llu\n", low - 1,
                        (unsigned long long)counts[c]);
            else
                fprintf(out, "alloc-profile: size %zu-%zu: %llu\n", low, high,
                        (unsigned long long)counts[c]);
        }
        low = high + 1;
        high *= 2;
    }
    fprintf(out, "alloc-profile: peak live bytes %lld\n", (long long)peak_live_bytes);
    if (out != stderr)
        fclose(out);
}
