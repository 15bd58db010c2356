/*
 * black76.c - Black-76 prices and Greeks, single and batch; coin Greeks of
 * inverse options; the normal distribution.  See cpo/black76.h.
 *
 * The batch is written with GCC vector types rather than left to the
 * auto-vectoriser, which gives up on this loop under the default
 * -fmath-errno and -ftrapping-math.  The kernel is the template
 * black76_kern.h, compiled here for vectors and in black76_impl.h for
 * double.  Three vector instances, chosen at run time by what the CPU
 * runs: 2 doubles (portable; SSE2 on x86-64), 4 (AVX2) and 8 (AVX-512
 * F+DQ), through function-level target attributes, so the build needs no
 * -march flag.  Only IEEE basic operations and exact bit manipulations,
 * no FMA contraction (C11 mode): every path and the single call give
 * bit-identical results (tests/check_black76.c checks it).  The last
 * partial vector goes through a copy padded with a dummy option.
 */
#include "cpo/black76.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "black76_impl.h"
#include "cpo/error.h"
#include "cpo/instrument.h"

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define HAVE_X86_PATHS 1
#else
#define HAVE_X86_PATHS 0
#endif

/* Vector helpers are static inline: no vector crosses a call boundary. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

/*
 * One instance of the kernels and of the batch loop for a vector type of
 * LANES doubles: types NAME##_v/_m/_u, functions NAME##_*.  ATTR is
 * added to every function (the target of the AVX2 instance).
 */
#define B76_KERNEL(NAME)                                                          \
    B76_KDECL NAME##_v NAME##_sel(NAME##_m m, NAME##_v a, NAME##_v b)             \
    {                                                                             \
        return (NAME##_v)(((NAME##_m)a & m) | ((NAME##_m)b & ~m));                \
    }                                                                             \
    B76_KDECL int NAME##_any(NAME##_m m)                                          \
    {                                                                             \
        int64_t a = 0;                                                            \
        for (int j = 0; j < (int)(sizeof m / sizeof m[0]); j++)                   \
            a |= m[j];                                                            \
        return a != 0;                                                            \
    }

/* --- the portable instance: 2 doubles (one SSE2 register) ------------------- */

typedef double v2_v __attribute__((vector_size(16)));
typedef int64_t v2_m __attribute__((vector_size(16)));
typedef uint64_t v2_u __attribute__((vector_size(16)));
#define B76_KDECL B76_INLINE
B76_KERNEL(v2)

B76_KDECL v2_v v2_sqrt(v2_v x)
{
#if defined(__SSE2__)
    return (v2_v)_mm_sqrt_pd((__m128d)x);
#else
    x[0] = sqrt(x[0]);
    x[1] = sqrt(x[1]);
    return x;
#endif
}

#define B76_T v2_v
#define B76_U v2_u
#define B76_M v2_m
#define B76_FN(name) v2_##name
#define B76_SEL(m, a, b) v2_sel((m), (a), (b))
#define B76_NOT(m) (~(m))
#define B76_SPLAT(c) ((v2_v){0.0, 0.0} + (double)(c))
#define B76_BITS(x) ((v2_u)(x))
#define B76_FROMBITS(u) ((v2_v)(u))
#define B76_SQRT(x) v2_sqrt(x)
#define B76_ABS(x) ((v2_v)((v2_u)(x) & UINT64_C(0x7fffffffffffffff)))
#define B76_ANY(m) v2_any(m)
#include "black76_kern.h"
#undef B76_T
#undef B76_U
#undef B76_M
#undef B76_FN
#undef B76_SEL
#undef B76_SPLAT
#undef B76_BITS
#undef B76_FROMBITS
#undef B76_SQRT
#undef B76_ABS
#undef B76_ANY

/*
 * NAME##_lanes: LANES options from the arrays (unaligned loads) at offset
 * at, results stored there; returns how many were invalid.
 */
#define B76_LANES(NAME, LANES)                                                            \
    B76_KDECL int NAME##_lanes(const double *F, const double *K, const double *T,         \
                               const double *R, const double *V, const int8_t *W,         \
                               double *const out[8], size_t at)                           \
    {                                                                                     \
        NAME##_v f, k, t, r, v, o[8];                                                     \
        NAME##_m w;                                                                       \
        memcpy(&f, F, sizeof f);                                                          \
        memcpy(&k, K, sizeof k);                                                          \
        memcpy(&t, T, sizeof t);                                                          \
        memcpy(&r, R, sizeof r);                                                          \
        memcpy(&v, V, sizeof v);                                                          \
        for (int j = 0; j < LANES; j++)                                                   \
            w[j] = W[j];                                                                  \
        NAME##_m bad = NAME##_price(f, k, t, r, v, w == CPO_RIGHT_CALL, w == CPO_RIGHT_PUT, o); \
        for (int c = 0; c < 8; c++)                                                       \
            memcpy(out[c] + at, &o[c], sizeof o[c]);                                      \
        int nbad = 0;                                                                     \
        for (int j = 0; j < LANES; j++)                                                   \
            nbad -= (int)bad[j];                                                          \
        return nbad;                                                                      \
    }

B76_LANES(v2, 2)
#undef B76_KDECL

/* --- the x86-64 instances: AVX2 (4 doubles), AVX-512 (8 doubles) ------------ */

#if HAVE_X86_PATHS
/* AVX2 */
typedef double v4_v __attribute__((vector_size(32)));
typedef int64_t v4_m __attribute__((vector_size(32)));
typedef uint64_t v4_u __attribute__((vector_size(32)));
#define B76_KDECL B76_INLINE __attribute__((target("avx2")))
B76_KERNEL(v4)

B76_KDECL v4_v v4_sqrt(v4_v x)
{
    return (v4_v)_mm256_sqrt_pd((__m256d)x);
}

#define B76_T v4_v
#define B76_U v4_u
#define B76_M v4_m
#define B76_FN(name) v4_##name
#define B76_SEL(m, a, b) v4_sel((m), (a), (b))
#define B76_SPLAT(c) ((v4_v){0.0} + (double)(c))
#define B76_BITS(x) ((v4_u)(x))
#define B76_FROMBITS(u) ((v4_v)(u))
#define B76_SQRT(x) v4_sqrt(x)
#define B76_ABS(x) ((v4_v)((v4_u)(x) & UINT64_C(0x7fffffffffffffff)))
#define B76_ANY(m) v4_any(m)
#include "black76_kern.h"
B76_LANES(v4, 4)
#undef B76_KDECL
#undef B76_T
#undef B76_U
#undef B76_M
#undef B76_FN
#undef B76_SEL
#undef B76_SPLAT
#undef B76_BITS
#undef B76_FROMBITS
#undef B76_SQRT
#undef B76_ABS
#undef B76_ANY

/* AVX-512 (F for the arithmetic, DQ for the 64-bit integer and logic forms) */
typedef double v8_v __attribute__((vector_size(64)));
typedef int64_t v8_m __attribute__((vector_size(64)));
typedef uint64_t v8_u __attribute__((vector_size(64)));
#define B76_KDECL B76_INLINE __attribute__((target("avx512f,avx512dq")))
B76_KERNEL(v8)

B76_KDECL v8_v v8_sqrt(v8_v x)
{
    return (v8_v)_mm512_sqrt_pd((__m512d)x);
}

#define B76_T v8_v
#define B76_U v8_u
#define B76_M v8_m
#define B76_FN(name) v8_##name
#define B76_SEL(m, a, b) v8_sel((m), (a), (b))
#define B76_SPLAT(c) ((v8_v){0.0} + (double)(c))
#define B76_BITS(x) ((v8_u)(x))
#define B76_FROMBITS(u) ((v8_v)(u))
#define B76_SQRT(x) v8_sqrt(x)
#define B76_ABS(x) ((v8_v)((v8_u)(x) & UINT64_C(0x7fffffffffffffff)))
#define B76_ANY(m) v8_any(m)
#include "black76_kern.h"
B76_LANES(v8, 8)
#undef B76_KDECL
#endif

/* --- the batch ------------------------------------------------------------------ */

/*
 * The batch loop for one instance: full vectors straight from the arrays,
 * the last partial one through a copy padded with a valid dummy option.
 */
#define B76_BATCH(NAME, LANES)                                                              \
    {                                                                                       \
        static const double zeros[LANES];                                                   \
        double *const dst[8] = {out->price, out->delta, out->gamma, out->vega,              \
                                out->theta, out->rho,   out->vanna, out->volga};            \
        size_t bad = 0, i = 0;                                                              \
        for (; i + LANES <= n; i += LANES)                                                  \
            bad += (size_t)NAME##_lanes(fwd + i, strike + i, t_years + i,                   \
                                        rate ? rate + i : zeros, vol + i, right + i, dst, i); \
        if (i < n) {                                                                        \
            size_t m = n - i;                                                               \
            double F[LANES], K[LANES], T[LANES], R[LANES], V[LANES], o[8][LANES];           \
            int8_t W[LANES];                                                                \
            double *const tmp[8] = {o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7]};        \
            for (size_t j = 0; j < LANES; j++) {                                            \
                int in = j < m;                                                             \
                F[j] = in ? fwd[i + j] : 1.0;                                               \
                K[j] = in ? strike[i + j] : 1.0;                                            \
                T[j] = in ? t_years[i + j] : 1.0;                                           \
                R[j] = in && rate ? rate[i + j] : 0.0;                                      \
                V[j] = in ? vol[i + j] : 1.0;                                               \
                W[j] = in ? right[i + j] : (int8_t)CPO_RIGHT_CALL;                          \
            }                                                                               \
            bad += (size_t)NAME##_lanes(F, K, T, R, V, W, tmp, 0);                          \
            for (int c = 0; c < 8; c++)                                                     \
                memcpy(dst[c] + i, o[c], m * sizeof(double));                               \
        }                                                                                   \
        return bad;                                                                         \
    }

static size_t batch_v2(size_t n, const double *fwd, const double *strike,
                       const double *t_years, const double *rate, const double *vol,
                       const int8_t *right, const cpo_black76_cols *out)
B76_BATCH(v2, 2)

#if HAVE_X86_PATHS
__attribute__((target("avx2"))) static size_t
batch_v4(size_t n, const double *fwd, const double *strike, const double *t_years,
         const double *rate, const double *vol, const int8_t *right, const cpo_black76_cols *out)
B76_BATCH(v4, 4)

__attribute__((target("avx512f,avx512dq"))) static size_t
batch_v8(size_t n, const double *fwd, const double *strike, const double *t_years,
         const double *rate, const double *vol, const int8_t *right, const cpo_black76_cols *out)
B76_BATCH(v8, 8)
#endif

/* The best code path this CPU runs: 2 AVX-512, 1 AVX2, 0 portable. */
int cpo_black76_isa_best(void)
{
#if HAVE_X86_PATHS
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq"))
        return 2;
    if (__builtin_cpu_supports("avx2"))
        return 1;
#endif
    return 0;
}

size_t cpo_black76_batch_isa(int isa, size_t n, const double *fwd, const double *strike,
                             const double *t_years, const double *rate, const double *vol,
                             const int8_t *right, const cpo_black76_cols *out)
{
    int best = cpo_black76_isa_best();
    if (isa < 0)
        isa = best;
    if (isa > best)
        return (size_t)-1;
#if HAVE_X86_PATHS
    if (isa == 2)
        return batch_v8(n, fwd, strike, t_years, rate, vol, right, out);
    if (isa == 1)
        return batch_v4(n, fwd, strike, t_years, rate, vol, right, out);
#endif
    return batch_v2(n, fwd, strike, t_years, rate, vol, right, out);
}

size_t cpo_black76_batch(size_t n, const double *fwd, const double *strike,
                         const double *t_years, const double *rate, const double *vol,
                         const int8_t *right, const cpo_black76_cols *out)
{
    return cpo_black76_batch_isa(-1, n, fwd, strike, t_years, rate, vol, right, out);
}

int cpo_black76(const cpo_black76_in *in, cpo_black76_out *out)
{
    double o[8];
    int bad = b76s_price(in->fwd, in->strike, in->t_years, in->rate, in->vol,
                         in->right == CPO_RIGHT_CALL, in->right == CPO_RIGHT_PUT, o);
    out->price = o[0];
    out->delta = o[1];
    out->gamma = o[2];
    out->vega = o[3];
    out->theta = o[4];
    out->rho = o[5];
    out->vanna = o[6];
    out->volga = o[7];
    return bad ? CPO_EINVAL : 0;
}

int cpo_black76_coin_greeks(const cpo_black76_out *usd, double fwd, double index,
                            double coin_px, cpo_black76_coin *out)
{
    if (!(index > 0.0 && index <= DBL_MAX && fwd > 0.0 && fwd <= DBL_MAX && coin_px > 0.0 &&
          coin_px <= DBL_MAX)) {
        out->price = out->delta = out->gamma = out->vega = out->theta = out->rho = NAN;
        out->vanna = out->volga = out->delta_index = out->gamma_index = NAN;
        out->delta_account = NAN;
        return CPO_EINVAL;
    }
    double I = index, P = coin_px, g = fwd / index, p = coin_px / index;
    double c = usd->price / P;
    double di = usd->delta * g;
    double m = di - c * p; /* I dc/dI times p */
    out->delta_index = di;
    out->gamma_index = usd->gamma * g * g;
    out->price = c;
    out->delta = m / P;
    out->gamma = (out->gamma_index - 2.0 * m / I) / P;
    out->vega = usd->vega / P;
    out->theta = usd->theta / P;
    out->rho = usd->rho / P;
    out->vanna = (usd->vanna * g - usd->vega / I) / P;
    out->volga = usd->volga / P;
    out->delta_account = m / p;
    return 0;
}

/* --- the normal distribution ------------------------------------------------ */

double cpo_black76_norm_cdf(double x)
{
    double y = fabs(x);
    y = y > B76_YMAX ? B76_YMAX : y;
    double q = b76s_tail(y, b76s_exp_mhalfsq(y));
    return x > 0.0 ? 1.0 - q : q;
}

double cpo_black76_norm_pdf(double x)
{
    double y = fabs(x);
    y = y > B76_YMAX ? B76_YMAX : y;
    return b76s_exp_mhalfsq(y) * B76_INV_SQRT_2PI;
}
