/*
 * Vigil's PDQ core: luma conversion, Jarosz (tent) filter, decimation to 64x64,
 * the image-domain quality metric and the 64->16 DCT, all in float32.
 *
 * Why hand-written: the reference binding (the `pdqhash` package) spends most of
 * its time in a scalar, latency-bound running-sum filter and in float64 luma
 * conversion through numpy temporaries. This file computes the very same
 * arithmetic (every float32 add, subtract, multiply and divide in the same
 * order, so the output is bit-identical), but runs the running sums of many
 * rows or columns side by side so that the compiler can vectorise them.
 * It is built with -ffp-contract=off and without -ffast-math: no fused
 * multiply-add, no reassociation, or the result would stop being exact.
 *
 * Written from the published algorithm description (PDQ hashing paper and the
 * reference's documented behaviour); bit-exactness is checked by the test suite
 * against `pdqhash` and by a pure-numpy twin in vigil.signals.pdq_numpy.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 16

/* The two hot loops get an AVX2 clone, picked at load time on CPUs that have it
 * (GCC function multiversioning); AVX2 has no FMA, so results stay bit-identical. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define HOT __attribute__((target_clones("avx2", "default")))
#else
#define HOT
#endif

static float dct_matrix[16 * 64];

static void init_dct_matrix(void)
{
    const float scale = (float)sqrt(2.0 / 64.0);
    const double pi = 3.14159265358979323846;
    for (size_t i = 0; i < 16; i++) {
        for (size_t j = 0; j < 64; j++) {
            double angle = (pi / 2.0 / 64.0) * (double)(i + 1) * (double)(2 * j + 1);
            dct_matrix[i * 64 + j] = (float)((double)scale * cos(angle));
        }
    }
}

static int window_size(int old_dim, int new_dim)
{
    return (old_dim + 2 * new_dim - 1) / (2 * new_dim);
}

/* Box filter down the columns of a row-major nrows x ncols matrix, all columns
 * at once. `sum` is scratch of ncols floats. Same phases as a one-dimensional
 * running-sum box filter with a window clipped at both ends. */
HOT static void box_down_columns(const float *in, float *out, int nrows, int ncols,
                             int full_window, float *sum)
{
    int half = (full_window + 2) / 2;
    int p1 = half - 1, p2 = full_window - half + 1, p3 = nrows - full_window, p4 = half - 1;
    int li = 0, ri = 0, oi = 0, count = 0;
    memset(sum, 0, sizeof(float) * (size_t)ncols);
    for (int n = 0; n < p1; n++, ri++) {
        const float *a = in + (size_t)ri * ncols;
        for (int j = 0; j < ncols; j++) sum[j] += a[j];
        count++;
    }
    for (int n = 0; n < p2; n++, ri++, oi++) {
        const float *a = in + (size_t)ri * ncols;
        float *o = out + (size_t)oi * ncols;
        count++;
        float c = (float)count;
        for (int j = 0; j < ncols; j++) { sum[j] += a[j]; o[j] = sum[j] / c; }
    }
    for (int n = 0; n < p3; n++, ri++, li++, oi++) {
        const float *a = in + (size_t)ri * ncols;
        const float *b = in + (size_t)li * ncols;
        float *o = out + (size_t)oi * ncols;
        float c = (float)count;
        for (int j = 0; j < ncols; j++) {
            float s = sum[j] + a[j];
            s = s - b[j];
            sum[j] = s;
            o[j] = s / c;
        }
    }
    for (int n = 0; n < p4; n++, li++, oi++) {
        const float *b = in + (size_t)li * ncols;
        float *o = out + (size_t)oi * ncols;
        count--;
        float c = (float)count;
        for (int j = 0; j < ncols; j++) { sum[j] -= b[j]; o[j] = sum[j] / c; }
    }
}

/* Box filter along the rows: blocks of BLOCK rows are transposed into a small
 * buffer, filtered down its columns, and transposed back. */
static void box_along_rows(const float *in, float *out, int nrows, int ncols,
                           int full_window, float *t1, float *t2, float *sum)
{
    for (int r0 = 0; r0 < nrows; r0 += BLOCK) {
        int nb = nrows - r0 < BLOCK ? nrows - r0 : BLOCK;
        for (int r = 0; r < nb; r++) {
            const float *src = in + (size_t)(r0 + r) * ncols;
            for (int c = 0; c < ncols; c++) t1[(size_t)c * nb + r] = src[c];
        }
        box_down_columns(t1, t2, ncols, nb, full_window, sum);
        for (int r = 0; r < nb; r++) {
            float *dst = out + (size_t)(r0 + r) * ncols;
            for (int c = 0; c < ncols; c++) dst[c] = t2[(size_t)c * nb + r];
        }
    }
}

static int quality_metric(const float b[64][64])
{
    int gradient_sum = 0;
    for (int i = 0; i < 63; i++)
        for (int j = 0; j < 64; j++) {
            int d = (int)(((b[i][j] - b[i + 1][j]) * 100.0f) / 255.0f);
            gradient_sum += abs(d);
        }
    for (int i = 0; i < 64; i++)
        for (int j = 0; j < 63; j++) {
            int d = (int)(((b[i][j] - b[i][j + 1]) * 100.0f) / 255.0f);
            gradient_sum += abs(d);
        }
    int q = gradient_sum / 90;
    return q > 100 ? 100 : q;
}

static void dct_64_to_16(const float a[64][64], float out[16][16])
{
    float t[16][64];
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 64; j++) {
            float s = 0.0f;
            for (int k = 0; k < 64; k++) s += dct_matrix[i * 64 + k] * a[k][j];
            t[i][j] = s;
        }
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 16; j++) {
            float s = 0.0f;
            for (int k = 0; k < 64; k++) s += t[i][k] * dct_matrix[j * 64 + k];
            out[i][j] = s;
        }
}

/* luma_mode 0: as the pdqhash binding does (float64 sum, then float32).
 * luma_mode 1: as the C++ reference's fillFloatLumaFromRGB (float32), which vPDQ uses. */
HOT static void luma_from_rgb(const unsigned char *rgb, float *luma, size_t npix, int luma_mode)
{
    if (luma_mode == 0) {
        for (size_t p = 0; p < npix; p++) {
            const unsigned char *q = rgb + 3 * p;
            double y = (double)q[0] * 0.299 + (double)q[1] * 0.587;
            y = y + (double)q[2] * 0.114;
            luma[p] = (float)y;
        }
    } else {
        const float cr = 0.299f, cg = 0.587f, cb = 0.114f;
        for (size_t p = 0; p < npix; p++) {
            const unsigned char *q = rgb + 3 * p;
            float y = cr * (float)q[0] + cg * (float)q[1];
            y = y + cb * (float)q[2];
            luma[p] = y;
        }
    }
}

/* The whole pipeline from luma to the 16x16 DCT; returns quality, or -1 on
 * allocation failure. `luma` is overwritten. */
static int dct_from_luma(float *luma, int h, int w, float out[16][16])
{
    float b64[64][64];
    if (h == 64 && w == 64) {
        memcpy(b64, luma, sizeof(b64));
    } else {
        size_t n = (size_t)h * w;
        int longest = h > w ? h : w;
        float *buf = malloc(sizeof(float) * n);
        float *t1 = malloc(sizeof(float) * (size_t)longest * BLOCK);
        float *t2 = malloc(sizeof(float) * (size_t)longest * BLOCK);
        float *sum = malloc(sizeof(float) * (size_t)(w > BLOCK ? w : BLOCK));
        if (!buf || !t1 || !t2 || !sum) {
            free(buf); free(t1); free(t2); free(sum);
            return -1;
        }
        int wr = window_size(w, 64), wc = window_size(h, 64);
        for (int pass = 0; pass < 2; pass++) {
            box_along_rows(luma, buf, h, w, wr, t1, t2, sum);
            box_down_columns(buf, luma, h, w, wc, sum);
        }
        for (int i = 0; i < 64; i++) {
            int si = (int)(((i + 0.5) * h) / 64);
            for (int j = 0; j < 64; j++) {
                int sj = (int)(((j + 0.5) * w) / 64);
                b64[i][j] = luma[(size_t)si * w + sj];
            }
        }
        free(buf); free(t1); free(t2); free(sum);
    }
    int q = quality_metric((const float (*)[64])b64);
    dct_64_to_16((const float (*)[64])b64, out);
    return q;
}

/* Release the caller's buffer and return (DCT bytes, quality), or MemoryError for q < 0. */
static PyObject *dct_result(Py_buffer *view, float out[16][16], int q)
{
    PyBuffer_Release(view);
    if (q < 0) return PyErr_NoMemory();
    return Py_BuildValue("y#i", (const char *)out, (Py_ssize_t)(sizeof(float) * 16 * 16), q);
}

static PyObject *py_dct16(PyObject *self, PyObject *args)
{
    Py_buffer view;
    int h, w, luma_mode;
    if (!PyArg_ParseTuple(args, "y*iii", &view, &h, &w, &luma_mode)) return NULL;
    if (h < 1 || w < 1 || (size_t)view.len != (size_t)h * (size_t)w * 3u) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "buffer must hold height*width*3 bytes of RGB");
        return NULL;
    }
    size_t n = (size_t)h * w;
    float *luma = malloc(sizeof(float) * n);
    if (!luma) { PyBuffer_Release(&view); return PyErr_NoMemory(); }
    float out[16][16];
    int q;
    Py_BEGIN_ALLOW_THREADS
    luma_from_rgb((const unsigned char *)view.buf, luma, n, luma_mode);
    q = dct_from_luma(luma, h, w, out);
    Py_END_ALLOW_THREADS
    free(luma);
    return dct_result(&view, out, q);
}

/* Luma straight from an 8-bit plane (a video frame's or a JPEG's Y channel), with
 * `stride` bytes between rows. Limited-range Y (black 16, white 235) is stretched
 * to 0-255 so that the quality metric sees the contrast the RGB image has; with
 * BT.601 weights the RGB-derived luma *is* Y, so this skips the colour conversion
 * (fast modes only: rounding and clipping of the RGB pixels make a bit or two of
 * difference against the exact path). */
HOT static void luma_from_plane(const unsigned char *plane, Py_ssize_t stride, float *luma,
                                int h, int w, int black, int white)
{
    const float scale = 255.0f / (float)(white - black), offset = (float)black;
    for (int i = 0; i < h; i++) {
        const unsigned char *row = plane + (size_t)i * (size_t)stride;
        float *out = luma + (size_t)i * w;
        if (black == 0 && white == 255)
            for (int j = 0; j < w; j++) out[j] = (float)row[j];
        else
            for (int j = 0; j < w; j++) out[j] = ((float)row[j] - offset) * scale;
    }
}

/* Fast modes only: the Jarosz filter evaluated at the 64x64 points PDQ keeps.
 *
 * The reference filters every pixel (box along rows, down columns, twice) and then
 * keeps 4,096 of them. The two box passes along one axis are one linear filter (a
 * clipped tent), and the axes are separable, so each kept value is a weighted sum
 * over a (2w-1) x (2w-1) neighbourhood: evaluated directly from the 8-bit plane it
 * costs about a quarter of the full filter on a 1080p frame and needs no
 * float copy of the image. The sums run in another order than the reference's, so
 * a DCT coefficient next to the median can flip: 0-2 bits against the full filter. */
static int tent_taps(int n, int full_window, int o, float *taps, double *scratch, int *first)
{
    int half = (full_window + 2) / 2, before = full_window - half, after = half - 1;
    int ilo = o - before < 0 ? 0 : o - before, ihi = o + after > n - 1 ? n - 1 : o + after;
    int xlo = ilo - before < 0 ? 0 : ilo - before, xhi = ihi + after > n - 1 ? n - 1 : ihi + after;
    int len = xhi - xlo + 1;
    double outer = (double)(ihi - ilo + 1);
    for (int t = 0; t < len; t++) scratch[t] = 0.0;
    for (int i = ilo; i <= ihi; i++) {
        int lo = i - before < 0 ? 0 : i - before, hi = i + after > n - 1 ? n - 1 : i + after;
        double wgt = 1.0 / (outer * (double)(hi - lo + 1));
        for (int x = lo; x <= hi; x++) scratch[x - xlo] += wgt;
    }
    for (int t = 0; t < len; t++) taps[t] = (float)scratch[t];
    *first = xlo;
    return len;
}

HOT static void rows_at_points(const unsigned char *row, const float *taps, const int *first,
                               const int *len, int stride_taps, float *out)
{
    for (int j = 0; j < 64; j++) {
        const float *wt = taps + (size_t)j * stride_taps;
        const unsigned char *p = row + first[j];
        float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
        int t = 0, n = len[j];
        for (; t + 4 <= n; t += 4) {
            a0 += wt[t] * (float)p[t];
            a1 += wt[t + 1] * (float)p[t + 1];
            a2 += wt[t + 2] * (float)p[t + 2];
            a3 += wt[t + 3] * (float)p[t + 3];
        }
        for (; t < n; t++) a0 += wt[t] * (float)p[t];
        out[j] = (a0 + a1) + (a2 + a3);
    }
}

static int dct_from_plane_sampled(const unsigned char *plane, Py_ssize_t stride, int h, int w,
                                  int black, int white, float out[16][16])
{
    float b64[64][64];
    int wr = window_size(w, 64), wc = window_size(h, 64);
    int mr = 2 * wr + 1, mc = 2 * wc + 1, longest = mr > mc ? mr : mc;
    float *rtaps = malloc(sizeof(float) * 64 * (size_t)mr);
    float *ctaps = malloc(sizeof(float) * 64 * (size_t)mc);
    double *scratch = malloc(sizeof(double) * (size_t)longest);
    float *rows = malloc(sizeof(float) * 64 * (size_t)h);
    unsigned char *need = calloc((size_t)h, 1);
    int rfirst[64], rlen[64], cfirst[64], clen[64];
    if (!rtaps || !ctaps || !scratch || !rows || !need) {
        free(rtaps); free(ctaps); free(scratch); free(rows); free(need);
        return -1;
    }
    for (int j = 0; j < 64; j++) {
        int sj = (int)(((j + 0.5) * w) / 64);
        rlen[j] = tent_taps(w, wr, sj, rtaps + (size_t)j * mr, scratch, &rfirst[j]);
    }
    for (int i = 0; i < 64; i++) {
        int si = (int)(((i + 0.5) * h) / 64);
        clen[i] = tent_taps(h, wc, si, ctaps + (size_t)i * mc, scratch, &cfirst[i]);
        for (int t = 0; t < clen[i]; t++) need[cfirst[i] + t] = 1;
    }
    for (int y = 0; y < h; y++)
        if (need[y])
            rows_at_points(plane + (size_t)y * (size_t)stride, rtaps, rfirst, rlen, mr,
                           rows + (size_t)y * 64);
    const float scale = 255.0f / (float)(white - black), offset = (float)black;
    for (int i = 0; i < 64; i++) {
        float acc[64] = {0};
        const float *wt = ctaps + (size_t)i * mc;
        for (int t = 0; t < clen[i]; t++) {
            const float *r = rows + (size_t)(cfirst[i] + t) * 64;
            for (int j = 0; j < 64; j++) acc[j] += wt[t] * r[j];
        }
        for (int j = 0; j < 64; j++)
            b64[i][j] = (black == 0 && white == 255) ? acc[j] : (acc[j] - offset) * scale;
    }
    free(rtaps); free(ctaps); free(scratch); free(rows); free(need);
    int q = quality_metric((const float (*)[64])b64);
    dct_64_to_16((const float (*)[64])b64, out);
    return q;
}

static PyObject *py_dct16_plane(PyObject *self, PyObject *args)
{
    Py_buffer view;
    int h, w, black, white, sampled = 0;
    Py_ssize_t stride;
    if (!PyArg_ParseTuple(args, "y*iinii|p", &view, &h, &w, &stride, &black, &white, &sampled))
        return NULL;
    if (h < 1 || w < 1 || stride < w || black < 0 || white > 255 || white <= black
        || (size_t)view.len < (size_t)(h - 1) * (size_t)stride + (size_t)w) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError,
                        "plane must hold height rows of stride bytes, stride >= width, "
                        "0 <= black < white <= 255");
        return NULL;
    }
    float out[16][16];
    int q;
    if (sampled && !(h == 64 && w == 64)) {
        Py_BEGIN_ALLOW_THREADS
        q = dct_from_plane_sampled((const unsigned char *)view.buf, stride, h, w, black, white, out);
        Py_END_ALLOW_THREADS
        return dct_result(&view, out, q);
    }
    float *luma = malloc(sizeof(float) * (size_t)h * w);
    if (!luma) { PyBuffer_Release(&view); return PyErr_NoMemory(); }
    Py_BEGIN_ALLOW_THREADS
    luma_from_plane((const unsigned char *)view.buf, stride, luma, h, w, black, white);
    q = dct_from_luma(luma, h, w, out);
    Py_END_ALLOW_THREADS
    free(luma);
    return dct_result(&view, out, q);
}

static PyMethodDef methods[] = {
    {"dct16", py_dct16, METH_VARARGS,
     "dct16(rgb, height, width, luma_mode) -> (bytes of 16x16 float32 DCT, quality)"},
    {"dct16_plane", py_dct16_plane, METH_VARARGS,
     "dct16_plane(plane, height, width, stride, black, white, sampled=False) -> (DCT bytes, quality)"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_pdqcore",
                                    "Vigil's exact PDQ core (see the C source for why).", -1, methods};

PyMODINIT_FUNC PyInit__pdqcore(void)
{
    init_dct_matrix();
    return PyModule_Create(&module);
}
