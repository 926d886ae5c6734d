/* relations.h: collecting x^2 = y^2 (mod N) from smooth Q_n and splitting N.
 *
 * A relation is x with x^2 congruent (mod N) to a product of factor-base powers
 * (times large_prime^2 for a pair of partials). Relations are reduced one by one
 * by Gaussian elimination over GF(2) on their exponent parities; when a new one
 * reduces to zero, the relations it was combined from multiply to a square on
 * both sides and gcd(x - y, N) is tried as a factor ("factor attempt").
 *
 * A partial is a Q_n that is smooth except for one prime L beyond the base. Two
 * partials with the same L multiply to a relation (L appears squared).
 */
#ifndef CFRAC_RELATIONS_H
#define CFRAC_RELATIONS_H

#include <stdint.h>

#include "bignum.h"
#include "factor_base.h"

/* One factor of a Q_n: column 0 is the sign -1, column i the prime primes[i-1]. */
typedef struct fb_power {
    uint16_t column;
    uint16_t exponent;
} fb_power;

typedef struct relation_stats {
    uint64_t full_relations;    /* Q_n that factored completely over the base */
    uint64_t partials;          /* Q_n smooth apart from one large prime */
    uint64_t partial_pairs;     /* relations made from two partials with one large prime */
    uint64_t factor_attempts;   /* dependencies found, gcd(x - y, N) tried */
} relation_stats;

typedef struct relation_set relation_set;

relation_set *relation_set_create(const bignum *n, const factor_base *fb);
void relation_set_free(relation_set *set);

/* Each returns a non-trivial factor of N when the relation completed a
 * dependency that splits N, NULL otherwise. x is borrowed. */
bignum *relation_set_add_full(relation_set *set, const bignum *x, const fb_power *powers,
                              unsigned power_count);
bignum *relation_set_add_partial(relation_set *set, const bignum *x, uint32_t large_prime,
                                 const fb_power *powers, unsigned power_count);

/* True once so many dependencies failed that N is not going to split this way. */
bool relation_set_exhausted(const relation_set *set);

const relation_stats *relation_set_stats(const relation_set *set);

#endif
