/* The update rules of feedforward.optimizers as single loops, one element at a time.
 *
 * Each loop repeats its NumPy rule's float operations in the same order, and the build turns off
 * fused multiply-add (-ffp-contract=off) and fast-math, so the two paths agree to the last bit;
 * the docstrings of the optimizers hold the math. l2 is the folded weight decay (g + l2 * p).
 * An unused slot arrives as p and is never touched. The update rules are called through ctypes
 * (feedforward.kernels); the layers' passes at the end are the module's functions.
 */
#include <Python.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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

/* ---- The layers' element-wise passes, called as Python functions (METH_FASTCALL: a tenth of a
 * ctypes call, which counts in a one-row predict). Each repeats NumPy's float operations, so the
 * results are NumPy's to the last bit, subnormals included (no flushing here). */

/* np.maximum(v, 0): NaN propagates; for -0.0 NumPy returns the second operand, +0.0 */
#define RELU(v) ((v) != (v) ? (v) : (v) > 0 ? (v) : 0)

/* z = z + b (by row, when b is given), then y = act(z): 0 linear, 1 relu, 2 leaky relu with
 * slope alpha (np.where(z > 0, z, alpha * z)). y may be z. */
/* One row at a time, each kind in its own loop of selects (no branch, which mispredicted on a
 * ReLU's zeros), so that the compiler turns the loops into vector code, with a scalar version
 * for overlapping arrays; AVX2 beside SSE2 (CLONES). */
#define BIAS_ACT(T)                                                                                \
static void add_row_##T(ptrdiff_t n, T *a, const T *b) {                         \
    for (ptrdiff_t j = 0; j < n; j++) a[j] += b[j];                                                \
}                                                                                                  \
static void relu_row_##T(ptrdiff_t n, const T *z, T *y) {                        \
    for (ptrdiff_t j = 0; j < n; j++) y[j] = RELU(z[j]);                                           \
}                                                                                                  \
static void leaky_row_##T(ptrdiff_t n, const T *z, T *y, T alpha) {              \
    for (ptrdiff_t j = 0; j < n; j++) y[j] = z[j] > 0 ? z[j] : alpha * z[j];                       \
}                                                                                                  \
static void mask_row_##T(ptrdiff_t n, const T *g, const T *y, T *o) {   \
    for (ptrdiff_t j = 0; j < n; j++) o[j] = g[j] * (y[j] > 0 ? (T)1 : (T)0);                       \
}                                                                                                  \
CLONES static void bias_act_##T(ptrdiff_t rows, ptrdiff_t cols, T *z, const T *b, T *y, int kind,         \
                         T alpha) {                                                                \
    for (ptrdiff_t r = 0; r < rows; r++) {                                                         \
        T *zr = z + r * cols, *yr = y + r * cols;                                                  \
        if (b) add_row_##T(cols, zr, b);                                                           \
        if (kind == 1) relu_row_##T(cols, zr, yr);                                                 \
        else if (kind == 2) leaky_row_##T(cols, zr, yr, alpha);                                    \
        else if (yr != zr) memcpy(yr, zr, cols * sizeof(T));                                       \
    }                                                                                              \
}                                                                                                  \
/* out = g * (y > 0), the ReLU's backward; with s, also s = out.sum(axis=0), row after row as     \
 * NumPy sums a C-contiguous array over its first axis (of two columns or more). out may be g. */  \
CLONES static void relu_grad_##T(ptrdiff_t rows, ptrdiff_t cols, const T *g, const T *y, T *out, T *s) {  \
    for (ptrdiff_t r = 0; r < rows; r++) {                                                         \
        T *o = out + r * cols;                                                                     \
        mask_row_##T(cols, g + r * cols, y + r * cols, o);                                         \
        if (s && r == 0) memcpy(s, o, cols * sizeof(T)); /* NumPy starts from the first row */    \
        else if (s) add_row_##T(cols, s, o);                                                       \
    }                                                                                              \
}                                                                                                  \
/* NumPy's pairwise sum of a contiguous row (loops_utils.h.src), in its order to the last bit:   \
 * the sum of a row over its last axis, as softmax takes it */                                    \
static T pairwise_##T(const T *a, ptrdiff_t n) {                                                   \
    if (n < 8) {                                                                                   \
        T res = -0.0;                                                                              \
        for (ptrdiff_t i = 0; i < n; i++) res += a[i];                                             \
        return res;                                                                                \
    }                                                                                              \
    if (n <= 128) {                                                                                \
        T r[8];                                                                                    \
        ptrdiff_t i;                                                                               \
        for (int j = 0; j < 8; j++) r[j] = a[j];                                                   \
        for (i = 8; i < n - (n % 8); i += 8)                                                       \
            for (int j = 0; j < 8; j++) r[j] += a[i + j];                                          \
        T res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));                 \
        for (; i < n; i++) res += a[i];                                                            \
        return res;                                                                                \
    }                                                                                              \
    ptrdiff_t n2 = n / 2;                                                                          \
    n2 -= n2 % 8;                                                                                  \
    return pairwise_##T(a, n2) + pairwise_##T(a + n2, n - n2);                                     \
}                                                                                                  \
/* softmax by rows around NumPy's exp: stage 0 y = z - max(z) (a NaN wins, as in np.max),        \
 * stage 1 y = y / sum(y) */                                                                       \
static void softmax_##T(ptrdiff_t rows, ptrdiff_t cols, const T *z, T *y, int stage) {             \
    for (ptrdiff_t r = 0; r < rows; r++) {                                                         \
        const T *zr = z + r * cols;                                                                \
        T *yr = y + r * cols;                                                                      \
        if (stage == 0) {                                                                          \
            T m = zr[0];                                                                           \
            for (ptrdiff_t j = 1; j < cols && m == m; j++)                                         \
                m = zr[j] != zr[j] ? zr[j] : zr[j] > m ? zr[j] : m;                                \
            for (ptrdiff_t j = 0; j < cols; j++) yr[j] = zr[j] - m;                                \
        } else {                                                                                   \
            T s = pairwise_##T(yr, cols);                                                          \
            for (ptrdiff_t j = 0; j < cols; j++) yr[j] = yr[j] / s;                                \
        }                                                                                          \
    }                                                                                              \
}

BIAS_ACT(float)
BIAS_ACT(double)

/* The memory of an array argument (None gives buf NULL): C-contiguous, writable when asked */
static int take(PyObject *obj, Py_buffer *view, int writable) {
    view->buf = NULL;
    view->obj = NULL;
    if (obj == Py_None) return 0;
    return PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT |
                              (writable ? PyBUF_WRITABLE : 0));
}

static void give(Py_buffer *views, int count) {
    for (int i = 0; i < count; i++)
        if (views[i].obj) PyBuffer_Release(&views[i]);
}

/* Every view holds a multiple of cols elements of one float type, the first size elements (or
 * cols for the vectors); returns the item size, or 0 with a ValueError set */
static Py_ssize_t check_views(Py_buffer *v, int count, int vectors_from, Py_ssize_t cols) {
    Py_ssize_t item = v[0].itemsize;
    if ((item != 4 && item != 8) || v[0].format == NULL || strchr("fd", v[0].format[0]) == NULL ||
        cols <= 0 || v[0].len % (cols * item) != 0) {
        PyErr_SetString(PyExc_ValueError, "expected float32 or float64 rows of cols values");
        return 0;
    }
    for (int i = 1; i < count; i++) {
        if (!v[i].buf) continue;
        Py_ssize_t want = i >= vectors_from ? cols * item : v[0].len;
        if (v[i].itemsize != item || v[i].len != want || v[i].format[0] != v[0].format[0]) {
            PyErr_SetString(PyExc_ValueError, "arrays of different types or sizes");
            return 0;
        }
    }
    return item;
}

/* softmax(z, y, cols, stage): see softmax_T; y may be z */
static PyObject *py_softmax(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "softmax takes 4 arguments");
        return NULL;
    }
    Py_ssize_t cols = PyLong_AsSsize_t(args[2]);
    int stage = (int)PyLong_AsLong(args[3]);
    if (PyErr_Occurred()) return NULL;
    Py_buffer v[2];
    int ok = take(args[0], &v[0], 0) == 0;
    ok = ok && take(args[1], &v[1], 1) == 0;
    Py_ssize_t item = ok ? check_views(v, 2, 2, cols) : 0;
    if (item && !v[1].buf) {
        PyErr_SetString(PyExc_ValueError, "y is required");
        item = 0;
    }
    if (item) {
        ptrdiff_t rows = v[0].len / (cols * item);
        Py_BEGIN_ALLOW_THREADS
        if (item == 4)
            softmax_float(rows, cols, v[0].buf, v[1].buf, stage);
        else
            softmax_double(rows, cols, v[0].buf, v[1].buf, stage);
        Py_END_ALLOW_THREADS
    }
    give(v, 2);
    if (!item) return NULL;
    Py_RETURN_NONE;
}

/* bias_act(z, b, y, cols, kind, alpha): see BIAS_ACT; b may be None */
static PyObject *py_bias_act(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError, "bias_act takes 6 arguments");
        return NULL;
    }
    Py_ssize_t cols = PyLong_AsSsize_t(args[3]);
    int kind = (int)PyLong_AsLong(args[4]);
    double alpha = PyFloat_AsDouble(args[5]);
    if (PyErr_Occurred()) return NULL;
    Py_buffer v[3];
    int ok = take(args[0], &v[0], 1) == 0; /* z, y, then the vector b */
    ok = ok && take(args[2], &v[1], 1) == 0;
    ok = ok && take(args[1], &v[2], 0) == 0;
    Py_ssize_t item = ok ? check_views(v, 3, 2, cols) : 0;
    if (item && !v[1].buf) {
        PyErr_SetString(PyExc_ValueError, "y is required");
        item = 0;
    }
    if (item) {
        ptrdiff_t rows = v[0].len / (cols * item);
        Py_BEGIN_ALLOW_THREADS
        if (item == 4)
            bias_act_float(rows, cols, v[0].buf, v[2].buf, v[1].buf, kind, (float)alpha);
        else
            bias_act_double(rows, cols, v[0].buf, v[2].buf, v[1].buf, kind, alpha);
        Py_END_ALLOW_THREADS
    }
    give(v, 3);
    if (!item) return NULL;
    Py_RETURN_NONE;
}

/* relu_grad(g, y, out, s, cols): see BIAS_ACT; s may be None */
static PyObject *py_relu_grad(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "relu_grad takes 5 arguments");
        return NULL;
    }
    Py_ssize_t cols = PyLong_AsSsize_t(args[4]);
    if (PyErr_Occurred()) return NULL;
    Py_buffer v[4];
    int ok = take(args[0], &v[0], 0) == 0;
    ok = ok && take(args[1], &v[1], 0) == 0;
    ok = ok && take(args[2], &v[2], 1) == 0;
    ok = ok && take(args[3], &v[3], 1) == 0;
    Py_ssize_t item = ok ? check_views(v, 4, 3, cols) : 0;
    if (item && (!v[1].buf || !v[2].buf)) {
        PyErr_SetString(PyExc_ValueError, "y and out are required");
        item = 0;
    }
    if (item) {
        ptrdiff_t rows = v[0].len / (cols * item);
        Py_BEGIN_ALLOW_THREADS
        if (item == 4)
            relu_grad_float(rows, cols, v[0].buf, v[1].buf, v[2].buf, v[3].buf);
        else
            relu_grad_double(rows, cols, v[0].buf, v[1].buf, v[2].buf, v[3].buf);
        Py_END_ALLOW_THREADS
    }
    give(v, 4);
    if (!item) return NULL;
    Py_RETURN_NONE;
}

/* Whether n floats are finite, from their bits (exponent all ones: NaN or inf): integer
 * compares in blocks vectorize, where isfinite with an early exit per element did not. */
typedef uint32_t __attribute__((may_alias)) bits32;
typedef uint64_t __attribute__((may_alias)) bits64;
#define FINITE(W, MASK)                                                                            \
CLONES static int finite_##W(const bits##W *b, ptrdiff_t n) {                                      \
    for (ptrdiff_t i = 0; i < n; i += 4096) {                                                      \
        ptrdiff_t end = n - i < 4096 ? n : i + 4096;                                               \
        int bad = 0;                                                                               \
        for (ptrdiff_t j = i; j < end; j++) bad |= (b[j] & (MASK)) == (MASK);                      \
        if (bad) return 0;                                                                         \
    }                                                                                              \
    return 1;                                                                                      \
}
FINITE(32, 0x7f800000u)
FINITE(64, 0x7ff0000000000000ull)

/* all_finite(a): whether a float array holds no NaN or inf (np.isfinite(a).all()) */
static PyObject *py_all_finite(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 1) {
        PyErr_SetString(PyExc_TypeError, "all_finite takes 1 argument");
        return NULL;
    }
    Py_buffer v;
    if (take(args[0], &v, 0) != 0) return NULL;
    if (!v.buf || !v.format || (v.itemsize != 4 && v.itemsize != 8) ||
        strchr("fd", v.format[0]) == NULL) {
        give(&v, 1);
        PyErr_SetString(PyExc_ValueError, "expected a float32 or float64 array");
        return NULL;
    }
    Py_ssize_t n = v.len / v.itemsize;
    int finite = v.itemsize == 4 ? finite_32(v.buf, n) : finite_64(v.buf, n);
    give(&v, 1);
    return PyBool_FromLong(finite);
}

static PyMethodDef methods[] = {
    {"all_finite", (PyCFunction)(void (*)(void))py_all_finite, METH_FASTCALL, NULL},
    {"bias_act", (PyCFunction)(void (*)(void))py_bias_act, METH_FASTCALL, NULL},
    {"relu_grad", (PyCFunction)(void (*)(void))py_relu_grad, METH_FASTCALL, NULL},
    {"softmax", (PyCFunction)(void (*)(void))py_softmax, METH_FASTCALL, NULL},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_kernels", NULL, -1, methods};

PyMODINIT_FUNC PyInit__kernels(void) { return PyModule_Create(&module); }
