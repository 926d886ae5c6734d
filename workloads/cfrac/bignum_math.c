/* bignum_math.c: roots, gcd, modular powers and primality (see bignum_math.h).
 * Written plainly on top of bignum.h: each step allocates its result, like the
 * rest of cfrac. None of this is on the hot path of the factoring loop. */
#include "bignum_math.h"

bignum *bn_sqrt(const bignum *a)
{
    if (bn_is_zero(a))
        return bn_from_u64(0);
    /* Newton from above: start at 2^ceil(bits/2) >= sqrt(a); the iterates
     * decrease strictly until they reach floor(sqrt(a)). */
    bignum *one = bn_from_u64(1);
    bignum *x = bn_shift_left(one, (bn_bit_length(a) + 1) / 2);
    bn_release(one);
    for (;;) {
        bignum *q = bn_div(a, x);
        bignum *sum = bn_add(x, q);
        bignum *next = bn_div_small(sum, 2);
        bn_release(q);
        bn_release(sum);
        if (bn_compare(next, x) >= 0) {
            bn_release(next);
            return x;
        }
        bn_assign(&x, next);
    }
}

bignum *bn_pow(const bignum *a, unsigned e)
{
    bignum *result = bn_from_u64(1);
    for (unsigned i = 0; i < e; i++)
        bn_assign(&result, bn_mul(result, a));
    return result;
}

bignum *bn_root(const bignum *a, unsigned e)
{
    /* Binary search, one bit at a time from the top: the root of a b-bit number
     * has at most ceil(b / e) bits. */
    unsigned root_bits = (bn_bit_length(a) + e - 1) / e;
    bignum *root = bn_from_u64(0);
    bignum *one = bn_from_u64(1);
    for (unsigned bit = root_bits; bit-- > 0;) {
        bignum *step = bn_shift_left(one, bit);
        bignum *candidate = bn_add(root, step);
        bignum *power = bn_pow(candidate, e);
        if (bn_compare(power, a) <= 0)
            bn_assign(&root, candidate);
        else
            bn_release(candidate);
        bn_release(power);
        bn_release(step);
    }
    bn_release(one);
    return root;
}

bignum *bn_powmod(const bignum *base, const bignum *exponent, const bignum *m)
{
    bignum *result = bn_from_u64(1);
    bignum *b = bn_mod(base, m);
    unsigned bits = bn_bit_length(exponent);
    for (unsigned i = 0; i < bits; i++) {
        if (bn_bit(exponent, i)) {
            bignum *product = bn_mul(result, b);
            bn_assign(&result, bn_mod(product, m));
            bn_release(product);
        }
        if (i + 1 < bits) {
            bignum *square = bn_mul(b, b);
            bn_assign(&b, bn_mod(square, m));
            bn_release(square);
        }
    }
    bn_release(b);
    bn_assign(&result, bn_mod(result, m));
    return result;
}

bignum *bn_gcd(const bignum *a, const bignum *b)
{
    bignum *x = bn_retain((bignum *)a), *y = bn_retain((bignum *)b);
    while (!bn_is_zero(y)) {
        bignum *r = bn_mod(x, y);
        bn_release(x);
        x = y;
        y = r;
    }
    bn_release(y);
    return x;
}

static const unsigned witness_primes[] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37};
#define WITNESS_COUNT (sizeof witness_primes / sizeof witness_primes[0])

/* One Miller-Rabin round: does witness a prove n (odd, n - 1 = d * 2^s) composite? */
static bool proves_composite(const bignum *n, const bignum *n_minus_1, const bignum *d,
                             unsigned s, unsigned a)
{
    bignum *base = bn_from_u64(a);
    bignum *x = bn_powmod(base, d, n);
    bn_release(base);
    bool composite = !(bn_is_one(x) || bn_compare(x, n_minus_1) == 0);
    for (unsigned i = 1; i < s && composite; i++) {
        bignum *square = bn_mul(x, x);
        bn_assign(&x, bn_mod(square, n));
        bn_release(square);
        if (bn_compare(x, n_minus_1) == 0)
            composite = false;
        else if (bn_is_one(x))
            break; /* a non-trivial square root of 1: composite */
    }
    bn_release(x);
    return composite;
}

bool bn_is_probable_prime(const bignum *n)
{
    if (bn_compare_u64(n, 2) < 0)
        return false;
    for (unsigned i = 0; i < WITNESS_COUNT; i++) {
        if (bn_compare_u64(n, witness_primes[i]) == 0)
            return true;
        if (bn_mod_small(n, witness_primes[i]) == 0)
            return false;
    }
    bignum *one = bn_from_u64(1);
    bignum *n_minus_1 = bn_sub(n, one);
    bn_release(one);
    bignum *d = bn_retain(n_minus_1);
    unsigned s = 0;
    while (!bn_is_odd(d)) {
        bn_assign(&d, bn_div_small(d, 2));
        s++;
    }
    bool prime = true;
    for (unsigned i = 0; i < WITNESS_COUNT && prime; i++)
        prime = !proves_composite(n, n_minus_1, d, s, witness_primes[i]);
    bn_release(d);
    bn_release(n_minus_1);
    return prime;
}
