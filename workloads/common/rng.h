/* rng.h: a small deterministic random generator for the workloads.
 *
 * Each thread owns its own state, so the sequence a thread draws depends only on
 * the seed it was given (never on scheduling) and drawing costs no shared memory
 * traffic that would blur the allocator's own figures. The generator is
 * splitmix64: one add, two multiplies, good enough statistics for choosing sizes
 * and slots, and every seed (including 0) is valid.
 */
#ifndef WORKLOADS_RNG_H
#define WORKLOADS_RNG_H

#include <stdint.h>

typedef struct rng {
    uint64_t state;
} rng_t;

/* Golden-ratio increment of splitmix64. */
#define RNG_INCREMENT 0x9e3779b97f4a7c15ULL

static inline rng_t rng_seeded(uint64_t seed, uint64_t stream)
{
    /* Different streams (threads) of one seed start far apart. */
    rng_t r = {seed ^ (stream * 0xd1b54a32d192ed03ULL)};
    return r;
}

static inline uint64_t rng_next(rng_t *r)
{
    uint64_t z = (r->state += RNG_INCREMENT);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, bound) for bound >= 1; the modulo bias is below 2^-40 for the
 * bounds used here (at most a few million), far below anything measurable. */
static inline uint64_t rng_below(rng_t *r, uint64_t bound)
{
    return rng_next(r) % bound;
}

#endif
