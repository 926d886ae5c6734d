/* cfrac.c: the continued-fraction expansion and the smoothness test (cfrac.h).
 *
 * With M = kN and g = floor(sqrt(M)), the expansion of sqrt(M) runs
 *   q_n = floor((g + P_n) / Q_n)
 *   P_{n+1} = q_n Q_n - P_n
 *   Q_{n+1} = Q_{n-1} + q_n (P_n - P_{n+1})
 *   A_n = q_n A_{n-1} + A_{n-2}  (mod N)
 * from P_1 = g, Q_0 = 1, Q_1 = M - g^2, A_{-1} = 1, A_0 = g, and satisfies
 *   A_{n-1}^2 = (-1)^n Q_n  (mod N)   with 0 < Q_n < 2 sqrt(M).
 * Each Q_n is trial-divided over the factor base; a smooth one is a relation.
 * All of this is done with the bignum library, one allocation per result, as in
 * the original: that stream of small blocks is what the benchmark measures.
 */
#include "cfrac.h"

#include <stdio.h>
#include <stdlib.h>

#include "../common/cli.h"
#include "bignum_math.h"
#include "factor_base.h"
#include "relations.h"

/* How many multipliers to fall back on when an expansion ends (its period is
 * short) before giving up. */
#define MAX_MULTIPLIERS_TRIED 8

/* A cofactor left after the whole factor base is kept as a partial's large
 * prime when it is below this multiple of the largest base prime: bigger ones
 * almost never pair up and would only fill memory. */
#define LARGE_PRIME_MULTIPLE 64u

/* Early abort (Pomerance): with a checkpoints, checkpoint j (1-based) sits after
 * the first j/(a+1) of the factor base, and there the unfactored part of Q_n
 * must have come at least j/(a+1) of the way down from Q_n's largest size to
 * the large-prime bound (in bits). A Q_n that has not is dropped: it is
 * unlikely to end smooth, and finishing its trial division would cost more
 * than the rare relation is worth. (A stricter or log-scaled schedule ran up to
 * 20% faster here, but this one reproduces the original's printed split of the
 * standard number, which makes runs easy to compare.) */
typedef struct abort_plan {
    unsigned count;
    unsigned after_primes[CFRAC_MAX_ABORTS];
    unsigned max_bits[CFRAC_MAX_ABORTS];
} abort_plan;

static abort_plan plan_aborts(unsigned checkpoints, unsigned prime_count, unsigned q_bits,
                              unsigned large_prime_bits)
{
    abort_plan plan = {0};
    /* With Q_n no bigger than a large prime, nothing can be judged early. */
    if (q_bits <= large_prime_bits)
        return plan;
    plan.count = checkpoints;
    unsigned span_bits = q_bits - large_prime_bits;
    for (unsigned j = 1; j <= checkpoints; j++) {
        plan.after_primes[j - 1] = prime_count * j / (checkpoints + 1);
        plan.max_bits[j - 1] = q_bits - span_bits * j / (checkpoints + 1);
    }
    return plan;
}

typedef enum { Q_REJECTED, Q_SMOOTH, Q_PARTIAL } q_outcome;

/* Trial-divide q over the base into powers (column 0 is the sign). */
static q_outcome factor_q(const bignum *q, bool negative, const factor_base *fb,
                          const abort_plan *plan, uint64_t large_prime_limit,
                          fb_power *powers, unsigned *power_count, uint32_t *large_prime,
                          cfrac_stats *stats)
{
    unsigned count = 0, checkpoint = 0;
    if (negative)
        powers[count++] = (fb_power){0, 1};
    bignum *rest = bn_retain((bignum *)q);
    for (unsigned i = 0; i < fb->count && !bn_is_one(rest); i++) {
        /* Several checkpoints may share an index when the base is small. */
        while (checkpoint < plan->count && i == plan->after_primes[checkpoint]) {
            if (bn_bit_length(rest) > plan->max_bits[checkpoint]) {
                stats->early_aborts++;
                bn_release(rest);
                return Q_REJECTED;
            }
            checkpoint++;
        }
        uint32_t p = fb->primes[i];
        if (bn_mod_small(rest, p) != 0)
            continue;
        unsigned exponent = 0;
        do {
            bn_assign(&rest, bn_div_small(rest, p));
            exponent++;
        } while (bn_mod_small(rest, p) == 0);
        powers[count++] = (fb_power){(uint16_t)(i + 1), (uint16_t)exponent};
    }
    *power_count = count;
    q_outcome outcome = Q_REJECTED;
    if (bn_is_one(rest)) {
        outcome = Q_SMOOTH;
    } else if (bn_compare_u64(rest, large_prime_limit) < 0) {
        /* No base prime divides rest and rest < pmax^2, so rest is prime. */
        *large_prime = (uint32_t)bn_to_u64(rest);
        outcome = Q_PARTIAL;
    }
    bn_release(rest);
    return outcome;
}

static void add_relation_stats(cfrac_stats *stats, const relation_stats *r)
{
    stats->full_relations += r->full_relations;
    stats->partials += r->partials;
    stats->partial_pairs += r->partial_pairs;
    stats->factor_attempts += r->factor_attempts;
}

/* Expand sqrt(kN) until a dependency splits N (returns the factor), the
 * expansion's period ends (returns NULL), or a limit is hit (NULL, *give_up). */
static bignum *expand(const bignum *n, const factor_base *fb, const cfrac_options *options,
                      cfrac_stats *stats, bool *give_up)
{
    uint32_t largest_prime = fb->primes[fb->count - 1];
    uint64_t large_prime_limit = (uint64_t)largest_prime * LARGE_PRIME_MULTIPLE;
    if (large_prime_limit > (uint64_t)largest_prime * largest_prime)
        large_prime_limit = (uint64_t)largest_prime * largest_prime;
    unsigned large_prime_bits = 0;
    while ((1ull << large_prime_bits) < large_prime_limit)
        large_prime_bits++;

    bignum *g = bn_sqrt(fb->kn);
    bignum *g_squared = bn_mul(g, g);
    bignum *p_n = bn_retain(g);
    bignum *q_n = bn_sub(fb->kn, g_squared);
    bignum *q_prev = bn_from_u64(1);
    bignum *a_prev = bn_mod(g, n);   /* A_{n-1} */
    bignum *a_prev2 = bn_from_u64(1); /* A_{n-2} */
    bn_release(g_squared);

    unsigned q_bits = bn_bit_length(g) + 1; /* Q_n < 2 sqrt(kN) */
    abort_plan plan = plan_aborts(options->aborts, fb->count, q_bits, large_prime_bits);
    if (options->verbose)
        fprintf(stderr,
                "cfrac: multiplier %u, factor base of %u primes up to %u, large primes "
                "below %llu, Q_n up to %u bits\n",
                fb->multiplier, fb->count, largest_prime, (unsigned long long)large_prime_limit,
                q_bits);

    relation_set *set = relation_set_create(n, fb);
    fb_power *powers = cli_checked_calloc(fb->count + 1u, sizeof(fb_power), "a factorisation");
    bignum *factor = NULL;
    for (uint64_t index = 1;; index++) {
        if (options->max_iterations != 0 && stats->iterations >= options->max_iterations) {
            *give_up = true;
            break;
        }
        if (bn_is_one(q_n))
            break; /* the period ended: from here on the relations repeat */
        stats->iterations++;

        unsigned power_count = 0;
        uint32_t large_prime = 0;
        switch (factor_q(q_n, index % 2 == 1, fb, &plan, large_prime_limit, powers,
                         &power_count, &large_prime, stats)) {
        case Q_SMOOTH:
            factor = relation_set_add_full(set, a_prev, powers, power_count);
            break;
        case Q_PARTIAL:
            factor = relation_set_add_partial(set, a_prev, large_prime, powers, power_count);
            break;
        case Q_REJECTED:
            break;
        }
        if (factor != NULL)
            break;
        if (relation_set_exhausted(set)) {
            *give_up = true;
            break;
        }

        /* One step of the expansion: every intermediate is its own number. */
        bignum *sum_g_p = bn_add(g, p_n);
        bignum *q = bn_div(sum_g_p, q_n);
        bignum *q_times_q = bn_mul(q, q_n);
        bignum *p_next = bn_sub(q_times_q, p_n);
        bignum *p_step = bn_sub(p_n, p_next);
        bignum *q_step = bn_mul(q, p_step);
        bignum *q_next = bn_add(q_prev, q_step);
        bignum *q_times_a = bn_mul(q, a_prev);
        bignum *a_sum = bn_add(q_times_a, a_prev2);
        bignum *a_next = bn_mod(a_sum, n);
        bn_release(sum_g_p);
        bn_release(q);
        bn_release(q_times_q);
        bn_release(p_step);
        bn_release(q_step);
        bn_release(q_times_a);
        bn_release(a_sum);
        bn_assign(&p_n, p_next);
        bn_assign(&q_prev, q_n);
        q_n = q_next;
        bn_assign(&a_prev2, a_prev);
        a_prev = a_next;
    }
    add_relation_stats(stats, relation_set_stats(set));
    free(powers);
    relation_set_free(set);
    bn_release(g);
    bn_release(p_n);
    bn_release(q_n);
    bn_release(q_prev);
    bn_release(a_prev);
    bn_release(a_prev2);
    return factor;
}

bignum *cfrac_find_factor(const bignum *n, const cfrac_options *options, cfrac_stats *stats)
{
    unsigned multipliers[MAX_MULTIPLIERS_TRIED];
    unsigned count = choose_multipliers(n, options->max_multiplier, multipliers,
                                        MAX_MULTIPLIERS_TRIED);
    bignum *factor = NULL;
    bool give_up = false;
    for (unsigned i = 0; i < count && factor == NULL && !give_up; i++) {
        factor_base fb;
        factor_base_build(&fb, n, multipliers[i]);
        stats->multipliers_tried++;
        factor = expand(n, &fb, options, stats, &give_up);
        factor_base_free(&fb);
    }
    return factor;
}
