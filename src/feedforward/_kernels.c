/* The update rules of feedforward.optimizers as single loops, one element at a time.
 *
 * Each loop repeats its NumPy rule's float operations in the same order, and the build turns off
 * fused multiply-add (-ffp-contract=off) and fast-math, so the two paths agree to the last bit;
 * the docstrings of the optimizers hold the math. l2 is the folded weight decay (g + l2 * p).
 * An unused slot arrives as p and is never touched. The functions are called through ctypes
 * (feedforward.kernels); the module object exists only so that setuptools builds this file.
 */
#include <Python.h>
#include <math.h>
#include <stddef.h>

/* An AVX2 version beside the baseline (SSE2) one, picked when the library loads: the loops are
 * bound by their divisions and square roots, which AVX2 does eight at a time. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define CLONES __attribute__((target_clones("avx2", "default")))
#else
#define CLONES
#endif

/* Flush subnormal numbers to zero while a loop runs (x86's FTZ and DAZ bits), then restore the
 * caller's mode. Adam's first moment of a weight whose gradient is mostly zero (an MNIST border
 * pixel) decays by beta_1 per step through the subnormal range, and on Intel CPUs every operation
 * on a subnormal costs about a hundred cycles: a 60,000-row epoch at batch 32 took twice as long.
 * The price is that a value below the smallest normal number (1.2e-38 in float32) becomes 0,
 * where the NumPy rule keeps it. */
#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#define FLUSH_BEGIN unsigned int mxcsr_ = _mm_getcsr(); _mm_setcsr(mxcsr_ | 0x8040);
#define FLUSH_END _mm_setcsr(mxcsr_);
#else
#define FLUSH_BEGIN
#define FLUSH_END
#endif

/* The gradient with the folded L2 decay, g + l2 * w, as the NumPy rules compute it */
#define DECAYED(w) (l2 != 0 ? (w) * l2 + g[i] : g[i])

/* Adam's two moments, stored; leaves mi and vi for the step */
#define MOMENTS(T)                                                                                 \
    T mi = m[i] + (gi - m[i]) * b1_c;                                                              \
    T vi = v[i] * b2 + gi * gi * b2_c;                                                             \
    m[i] = mi;                                                                                     \
    v[i] = vi;

/* np.maximum: a NaN on either side wins */
#define MAXIMUM(a, b) ((a) != (a) ? (a) : (b) != (b) ? (b) : (a) >= (b) ? (a) : (b))

#define RULES(T, SUF, SQRT, FABS)                                                                  \
CLONES void ff_sgd_##SUF(ptrdiff_t n, T *restrict p, const T *restrict g, T *restrict b,           \
                         T l2, T lr, T mu, int nesterov) {                                         \
    FLUSH_BEGIN                                                                                    \
    for (ptrdiff_t i = 0; i < n; i++) {                                                            \
        T gi = DECAYED(p[i]);                                                                      \
        if (mu != 0) {                                                                             \
            T bi = b[i] * mu + gi;                                                                 \
            b[i] = bi;                                                                             \
            gi = nesterov ? bi * mu + gi : bi;                                                     \
        }                                                                                          \
        p[i] -= gi * lr;                                                                           \
    }                                                                                              \
    FLUSH_END                                                                                      \
}                                                                                                  \
CLONES void ff_adagrad_##SUF(ptrdiff_t n, T *restrict p, const T *restrict g, T *restrict s, T l2, \
                      T lr, T eps) {                                                               \
    FLUSH_BEGIN                                                                                    \
    for (ptrdiff_t i = 0; i < n; i++) {                                                            \
        T gi = DECAYED(p[i]);                                                                      \
        T si = s[i] + gi * gi;                                                                     \
        s[i] = si;                                                                                 \
        p[i] -= gi / (SQRT(si) + eps) * lr;                                                        \
    }                                                                                              \
    FLUSH_END                                                                                      \
}                                                                                                  \
CLONES void ff_adadelta_##SUF(ptrdiff_t n, T *restrict p, const T *restrict g, T *restrict v,      \
                       T *restrict u, T l2, T lr, T rho, T rho_c, T eps) {                         \
    FLUSH_BEGIN                                                                                    \
    for (ptrdiff_t i = 0; i < n; i++) {                                                            \
        T gi = DECAYED(p[i]);                                                                      \
        T vi = v[i] * rho + gi * gi * rho_c;                                                       \
        v[i] = vi;                                                                                 \
        T delta = SQRT(u[i] + eps) / SQRT(vi + eps) * gi;                                          \
        u[i] = u[i] * rho + delta * delta * rho_c;                                                 \
        p[i] -= delta * lr;                                                                        \
    }                                                                                              \
    FLUSH_END                                                                                      \
}                                                                                                  \
CLONES void ff_rmsprop_##SUF(ptrdiff_t n, T *restrict p, const T *restrict g, T *restrict v,       \
                      T *restrict ga, T *restrict b, T l2, T lr, T rho, T rho_c, T mu, T eps,      \
                      int centered) {                                                              \
    FLUSH_BEGIN                                                                                    \
    for (ptrdiff_t i = 0; i < n; i++) {                                                            \
        T gi = DECAYED(p[i]);                                                                      \
        T vi = v[i] * rho + gi * gi * rho_c;                                                       \
        v[i] = vi;                                                                                 \
        if (centered) {                                                                            \
            T gai = ga[i] + (gi - ga[i]) * rho_c;                                                  \
            ga[i] = gai;                                                                           \
            vi = vi - gai * gai;                                                                   \
        }                                                                                          \
        T d = gi / (SQRT(vi) + eps);                                                               \
        if (mu != 0) {                                                                             \
            d = b[i] * mu + d;                                                                     \
            b[i] = d;                                                                              \
        }                                                                                          \
        p[i] -= d * lr;                                                                            \
    }                                                                                              \
    FLUSH_END                                                                                      \
}                                                                                                  \
CLONES void ff_adam_##SUF(ptrdiff_t n, T *restrict p, const T *restrict g, T *restrict m,          \
                   T *restrict v, T *restrict v_max, T l2, T decay, T b1_c, T b2, T b2_c,          \
                   T inv_bc2_sqrt, T eps, T step, int amsgrad) {                                   \
    FLUSH_BEGIN                                                                                    \
    for (ptrdiff_t i = 0; i < n; i++) {                                                            \
        T pi = decay != 1 ? p[i] * decay : p[i];                                                   \
        T gi = DECAYED(pi);                                                                        \
        MOMENTS(T)                                                                                 \
        if (amsgrad) {                                                                             \
            vi = MAXIMUM(v_max[i], vi);                                                            \
            v_max[i] = vi;                                                                         \
        }                                                                                          \
        p[i] = pi - mi / (SQRT(vi) * inv_bc2_sqrt + eps) * step;                                   \
    }                                                                                              \
    FLUSH_END                                                                                      \
}                                                                                                  \
CLONES void ff_adamax_##SUF(ptrdiff_t n, T *restrict p, const T *restrict g, T *restrict m,        \
                     T *restrict u, T l2, T b1_c, T b2, T eps, T step) {                           \
    FLUSH_BEGIN                                                                                    \
    for (ptrdiff_t i = 0; i < n; i++) {                                                            \
        T gi = DECAYED(p[i]);                                                                      \
        T mi = m[i] + (gi - m[i]) * b1_c;                                                          \
        T ui = u[i] * b2, ai = FABS(gi) + eps;                                                     \
        ui = MAXIMUM(ui, ai);                                                                      \
        m[i] = mi;                                                                                 \
        u[i] = ui;                                                                                 \
        p[i] -= mi / ui * step;                                                                    \
    }                                                                                              \
    FLUSH_END                                                                                      \
}                                                                                                  \
CLONES void ff_nadam_##SUF(ptrdiff_t n, T *restrict p, const T *restrict g, T *restrict m,         \
                    T *restrict v, T l2, T b1_c, T b2, T b2_c, T inv_bc2_sqrt, T eps, T c_g,       \
                    T c_m) {                                                                       \
    FLUSH_BEGIN                                                                                    \
    for (ptrdiff_t i = 0; i < n; i++) {                                                            \
        T gi = DECAYED(p[i]);                                                                      \
        MOMENTS(T)                                                                                 \
        T d = SQRT(vi) * inv_bc2_sqrt + eps;                                                       \
        p[i] = p[i] - gi / d * c_g - mi / d * c_m;                                                 \
    }                                                                                              \
    FLUSH_END                                                                                      \
}

RULES(float, f32, sqrtf, fabsf)
RULES(double, f64, sqrt, fabs)

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_kernels", NULL, -1, NULL};

PyMODINIT_FUNC PyInit__kernels(void) { return PyModule_Create(&module); }
