/* cfrac.h: the continued-fraction factoring method (Morrison and Brillhart, 1975)
 * with Pomerance's early aborts, large-prime partials and Knuth's multiplier. */
#ifndef CFRAC_CFRAC_H
#define CFRAC_CFRAC_H

#include <stdbool.h>
#include <stdint.h>

#include "bignum.h"

/* Most early-abort checkpoints (-a) supported. */
#define CFRAC_MAX_ABORTS 8

typedef struct cfrac_options {
    unsigned aborts;         /* early-abort checkpoints during trial division (0: none) */
    unsigned max_multiplier; /* largest multiplier k considered */
    uint64_t max_iterations; /* give up after this many Q_n (0: never) */
    bool verbose;            /* report the multiplier and factor base on stderr */
} cfrac_options;

typedef struct cfrac_stats {
    uint64_t iterations;      /* Q_n examined, over every multiplier tried */
    uint64_t early_aborts;    /* Q_n dropped at an early-abort checkpoint */
    uint64_t partials;        /* Q_n smooth apart from one large prime */
    uint64_t partial_pairs;   /* relations made of two partials */
    uint64_t full_relations;  /* Q_n smooth over the factor base */
    uint64_t factor_attempts; /* dependencies found and tried */
    unsigned multipliers_tried;
} cfrac_stats;

/* A proper factor of n (new reference), or NULL when none was found within the
 * limits. n must be composite, odd or divisible by 4, and not a perfect power:
 * for those the congruence of squares never splits N (cfrac_main.c deals with
 * them first). */
bignum *cfrac_find_factor(const bignum *n, const cfrac_options *options, cfrac_stats *stats);

#endif
