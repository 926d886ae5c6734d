/* factor_base.c: Knuth's choice of multiplier and the factor base (factor_base.h). */
#include "factor_base.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include "../common/cli.h"
#include "bignum_math.h"

/* Primes below this bound score a multiplier; larger ones change the score by
 * less than the noise between candidates. */
#define SCORE_PRIME_LIMIT 1000u

/* Factor base size by N's size in decimal digits (interpolated in between).
 * Larger N wants a larger base: Q_n grows like sqrt(N) and needs more primes to
 * be smooth. The sizes are modest on purpose: the standard 44-digit run gets
 * 234 primes, which keeps its profile close to the original's (about 5 million
 * Q_n, tens of millions of small allocations); a base twice as large finishes
 * some 40% sooner with proportionally fewer allocations, a different benchmark. */
static const struct {
    unsigned digits;
    unsigned primes;
} base_size_table[] = {
    {10, 20}, {20, 50}, {30, 110}, {40, 190}, {50, 320}, {60, 500}, {80, 900}, {100, 1500},
};
#define BASE_SIZE_ROWS (sizeof base_size_table / sizeof base_size_table[0])

/* All primes below limit (a sieve of Eratosthenes); the count goes to *count. */
static uint32_t *primes_below(uint32_t limit, unsigned *count)
{
    bool *composite = cli_checked_calloc(limit, sizeof(bool), "the prime sieve");
    uint32_t *primes = cli_checked_calloc(limit / 2 + 1, sizeof(uint32_t), "the prime list");
    unsigned n = 0;
    for (uint32_t i = 2; i < limit; i++) {
        if (composite[i])
            continue;
        primes[n++] = i;
        for (uint64_t j = (uint64_t)i * i; j < limit; j += i)
            composite[j] = true;
    }
    free(composite);
    *count = n;
    return primes;
}

static uint32_t power_mod_u32(uint32_t base, uint32_t exponent, uint32_t m)
{
    uint64_t result = 1, b = base % m;
    while (exponent != 0) {
        if (exponent & 1)
            result = result * b % m;
        b = b * b % m;
        exponent >>= 1;
    }
    return (uint32_t)result;
}

/* Legendre symbol (a / p) for an odd prime p: 1, -1, or 0 when p divides a. */
static int legendre(uint32_t a_mod_p, uint32_t p)
{
    if (a_mod_p == 0)
        return 0;
    return power_mod_u32(a_mod_p, (p - 1) / 2, p) == 1 ? 1 : -1;
}

static bool squarefree(unsigned k)
{
    for (unsigned d = 2; d * d <= k; d++)
        if (k % (d * d) == 0)
            return false;
    return true;
}

static bool is_perfect_square(const bignum *x)
{
    bignum *root = bn_sqrt(x);
    bignum *square = bn_mul(root, root);
    bool exact = bn_compare(square, x) == 0;
    bn_release(root);
    bn_release(square);
    return exact;
}

/* Knuth-Schroeppel: each prime p adds log(p) times the expected exponent of p in
 * a Q_n, so kN that makes many small primes residues wins; log(k)/2 is the price
 * of Q_n growing with sqrt(kN). */
static double knuth_schroeppel_score(const bignum *n, unsigned k, const uint32_t *primes,
                                     unsigned prime_count)
{
    double score = -0.5 * log((double)k);
    uint32_t kn_mod_8 = (uint32_t)((uint64_t)bn_mod_small(n, 8) * k % 8);
    if (kn_mod_8 % 2 == 0)
        score += 0.5 * log(2.0);
    else if (kn_mod_8 == 1)
        score += 2 * log(2.0);
    else if (kn_mod_8 == 5)
        score += log(2.0);
    else
        score += 0.5 * log(2.0);
    for (unsigned i = 1; i < prime_count; i++) {
        uint32_t p = primes[i];
        uint32_t kn_mod_p = (uint32_t)((uint64_t)bn_mod_small(n, p) * k % p);
        int symbol = legendre(kn_mod_p, p);
        if (symbol == 0)
            score += log((double)p) / p;
        else if (symbol == 1)
            score += 2 * log((double)p) / (p - 1);
    }
    return score;
}

unsigned choose_multipliers(const bignum *n, unsigned max_k, unsigned *out, unsigned max_out)
{
    unsigned prime_count;
    uint32_t *primes = primes_below(SCORE_PRIME_LIMIT, &prime_count);
    double *scores = cli_checked_calloc(max_out, sizeof(double), "multiplier scores");
    unsigned found = 0;
    for (unsigned k = 1; k <= max_k; k++) {
        if (!squarefree(k))
            continue;
        bignum *kb = bn_from_u64(k);
        bignum *kn = bn_mul(n, kb);
        bool usable = !is_perfect_square(kn);
        bn_release(kn);
        bn_release(kb);
        if (!usable)
            continue;
        double score = knuth_schroeppel_score(n, k, primes, prime_count);
        /* Insertion into the best-first list (stable: smaller k wins ties). */
        unsigned at = found < max_out ? found : max_out;
        while (at > 0 && scores[at - 1] < score)
            at--;
        if (at >= max_out)
            continue;
        unsigned last = found < max_out ? found : max_out - 1;
        for (unsigned i = last; i > at; i--) {
            out[i] = out[i - 1];
            scores[i] = scores[i - 1];
        }
        out[at] = k;
        scores[at] = score;
        if (found < max_out)
            found++;
    }
    free(scores);
    free(primes);
    return found;
}

static unsigned base_size_for(const bignum *n)
{
    double digits = bn_bit_length(n) * log10(2.0);
    if (digits <= base_size_table[0].digits)
        return base_size_table[0].primes;
    for (unsigned i = 1; i < BASE_SIZE_ROWS; i++) {
        if (digits <= base_size_table[i].digits) {
            double lo_d = base_size_table[i - 1].digits, hi_d = base_size_table[i].digits;
            double lo_p = base_size_table[i - 1].primes, hi_p = base_size_table[i].primes;
            return (unsigned)(lo_p + (hi_p - lo_p) * (digits - lo_d) / (hi_d - lo_d) + 0.5);
        }
    }
    return base_size_table[BASE_SIZE_ROWS - 1].primes;
}

void factor_base_build(factor_base *fb, const bignum *n, unsigned k)
{
    unsigned wanted = base_size_for(n);
    bignum *kb = bn_from_u64(k);
    fb->multiplier = k;
    fb->kn = bn_mul(n, kb);
    bn_release(kb);
    fb->primes = cli_checked_calloc(wanted, sizeof(uint32_t), "the factor base");
    fb->count = 0;
    /* About half of all primes qualify, so primes up to ~4 m log m give m of them;
     * the sieve grows until it has enough. */
    uint32_t limit = 64 + (uint32_t)(4.0 * wanted * log(wanted + 2.0));
    while (fb->count < wanted) {
        unsigned prime_count;
        uint32_t *primes = primes_below(limit, &prime_count);
        fb->count = 0;
        for (unsigned i = 0; i < prime_count && fb->count < wanted; i++) {
            uint32_t p = primes[i];
            /* Trial division divides by one digit (bn_mod_small); the size
             * table keeps every base far below this. */
            if (p >= BN_BASE)
                cli_fail(EXIT_CHECK_FAILED, "internal error: factor base prime %u too large", p);
            if (p == 2 || legendre(bn_mod_small(fb->kn, p), p) >= 0)
                fb->primes[fb->count++] = p;
        }
        free(primes);
        limit *= 2;
    }
}

void factor_base_free(factor_base *fb)
{
    bn_release(fb->kn);
    free(fb->primes);
    fb->kn = NULL;
    fb->primes = NULL;
}
