/*
 * black76_impl.h - private to quant/pricing/black76.c and iv.c: constants
 * and the scalar instance of the kernels of black76_kern.h (functions
 * b76s_exp, b76s_log, b76s_tail, b76s_price, ...).  black76.c makes the
 * vector instance (b76v_*).
 */
#ifndef CPO_BLACK76_IMPL_H
#define CPO_BLACK76_IMPL_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__)
#define B76_INLINE static inline __attribute__((always_inline))
#else
#define B76_INLINE static inline
/*
 * Private, for the tests and the benchmark: cpo_black76_batch on a chosen
 * code path (0: the portable one, GCC vectors of 2 doubles, SSE2 on
 * x86-64; 1: AVX2, vectors of 4; 2: AVX-512, vectors of 8; -1: the best
 * this CPU runs, which is what cpo_black76_batch uses).  All paths give
 * bit-identical results.  Returns (size_t)-1 if the CPU cannot run it.
 */
#include "cpo/black76.h"
size_t cpo_black76_batch_isa(int isa, size_t n, const double *fwd, const double *strike,
                             const double *t_years, const double *rate, const double *vol,
                             const int8_t *right, const cpo_black76_cols *out);
/* The best path: 2, 1 or 0 as above. */
int cpo_black76_isa_best(void);

#endif

#define B76_INV_SQRT_2PI 0.398942280401432677939946059934 /* 1/sqrt(2 pi) */
#define B76_SQRT_2PI 2.50662827463100050241576528481
#define B76_THRSH 0.66291                 /* Cody: N(-THRSH) ~ 0.25 */
#define B76_ROOT32 5.656854249492380195207 /* sqrt(32) */
#define B76_YMAX 40.0                     /* N(-40) < 1e-349: 0 */

/*
 * Cody's coefficients (ACM TOMS 715, ANORM; the same as in R's pnorm.c
 * and GSL's cdf/gauss.c).
 */
#define B76_A0 2.2352520354606839287
#define B76_A1 161.02823106855587881
#define B76_A2 1067.6894854603709582
#define B76_A3 18154.981253343561249
#define B76_A4 0.065682337918207449113
#define B76_B0 47.20258190468824187
#define B76_B1 976.09855173777669322
#define B76_B2 10260.932208618978205
#define B76_B3 45507.789335026729956
#define B76_C0 0.39894151208813466764
#define B76_C1 8.8831497943883759412
#define B76_C2 93.506656132177855979
#define B76_C3 597.27027639480026226
#define B76_C4 2494.5375852903726711
#define B76_C5 6848.1904505362823326
#define B76_C6 11602.651437647350124
#define B76_C7 9842.7148383839780218
#define B76_C8 1.0765576773720192317e-8
#define B76_D0 22.266688044328115691
#define B76_D1 235.38790178262499861
#define B76_D2 1519.377599407554805
#define B76_D3 6485.558298266760755
#define B76_D4 18615.571640885098091
#define B76_D5 34900.952721145977266
#define B76_D6 38912.003286093271411
#define B76_D7 19685.429676859990727
#define B76_P0 0.21589853405795699
#define B76_P1 0.1274011611602473639
#define B76_P2 0.022235277870649807
#define B76_P3 0.001421619193227893466
#define B76_P4 2.9112874951168792e-5
#define B76_P5 0.02307344176494017303
#define B76_Q0 1.28426009614491121
#define B76_Q1 0.468238212480865118
#define B76_Q2 0.0659881378689285515
#define B76_Q3 0.00378239633202758244
#define B76_Q4 7.29751555083966205e-5

/* --- the scalar instance ---------------------------------------------------- */

B76_INLINE double b76s_from_bits(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

B76_INLINE uint64_t b76s_to_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

#define B76_KDECL B76_INLINE
#define B76_T double
#define B76_U uint64_t
#define B76_M int
#define B76_FN(name) b76s_##name
#define B76_SEL(m, a, b) ((m) ? (a) : (b))
#define B76_NOT(m) (!(m))
#define B76_SPLAT(c) ((double)(c))
#define B76_BITS(x) b76s_to_bits(x)
#define B76_FROMBITS(u) b76s_from_bits(u)
#define B76_SQRT(x) sqrt(x)
#define B76_ABS(x) fabs(x)
#define B76_ANY(m) (m)
#include "black76_kern.h"
#undef B76_KDECL
#undef B76_T
#undef B76_U
#undef B76_M
#undef B76_FN
#undef B76_SEL
#undef B76_NOT
#undef B76_SPLAT
#undef B76_BITS
#undef B76_FROMBITS
#undef B76_SQRT
#undef B76_ABS
#undef B76_ANY

/*
 * Private, for the tests and the benchmark: cpo_black76_batch on a chosen
 * code path (0: the portable one, GCC vectors of 2 doubles, SSE2 on
 * x86-64; 1: AVX2, vectors of 4; 2: AVX-512, vectors of 8; -1: the best
 * this CPU runs, which is what cpo_black76_batch uses).  All paths give
 * bit-identical results.  Returns (size_t)-1 if the CPU cannot run it.
 */
#include "cpo/black76.h"
size_t cpo_black76_batch_isa(int isa, size_t n, const double *fwd, const double *strike,
                             const double *t_years, const double *rate, const double *vol,
                             const int8_t *right, const cpo_black76_cols *out);
/* The best path: 2, 1 or 0 as above. */
int cpo_black76_isa_best(void);

#endif
