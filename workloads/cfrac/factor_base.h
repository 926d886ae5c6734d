/* factor_base.h: the multiplier k and the primes cfrac trial-divides by.
 *
 * Every Q_n of the continued fraction of sqrt(kN) divides P^2 - kN, so an odd
 * prime p can divide it only when kN is a square mod p (or p divides kN). The
 * factor base is -1 (the sign, column 0) and the first `count` such primes
 * (columns 1..count). */
#ifndef CFRAC_FACTOR_BASE_H
#define CFRAC_FACTOR_BASE_H

#include <stdint.h>

#include "bignum.h"

typedef struct factor_base {
    unsigned multiplier; /* k */
    bignum *kn;          /* k * N */
    unsigned count;      /* primes in the base; columns are count + 1 with the sign */
    uint32_t *primes;    /* ascending; primes[i] is column i + 1 */
} factor_base;

/* Squarefree multipliers k in [1, max_k] with kN not a perfect square, best first
 * by the Knuth-Schroeppel function (expected contribution of small primes to
 * Q_n's factorisation, minus the cost of kN's larger size). Writes at most
 * max_out of them to out and returns how many. */
unsigned choose_multipliers(const bignum *n, unsigned max_k, unsigned *out, unsigned max_out);

/* A factor base for kN of the size suited to N's size. */
void factor_base_build(factor_base *fb, const bignum *n, unsigned k);
void factor_base_free(factor_base *fb);

#endif
