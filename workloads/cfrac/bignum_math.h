/* bignum_math.h: number theory on cfrac's integers (roots, gcd, primality).
 * Same ownership rules as bignum.h: results are new references, arguments borrowed.
 * Every function here takes non-negative arguments. */
#ifndef CFRAC_BIGNUM_MATH_H
#define CFRAC_BIGNUM_MATH_H

#include "bignum.h"

/* floor(sqrt(a)) */
bignum *bn_sqrt(const bignum *a);
/* floor(a^(1/e)) for e >= 2 */
bignum *bn_root(const bignum *a, unsigned e);
/* a^e */
bignum *bn_pow(const bignum *a, unsigned e);
/* (base^exponent) mod m, m > 1 */
bignum *bn_powmod(const bignum *base, const bignum *exponent, const bignum *m);
bignum *bn_gcd(const bignum *a, const bignum *b);
/* Miller-Rabin with the first twelve primes as bases: exact below 3.3e24 and wrong
 * elsewhere with probability below 4^-12 (deterministic: same answer every run). */
bool bn_is_probable_prime(const bignum *n);

#endif
