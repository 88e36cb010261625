/*
 * Inner loops of Vigil's PDQ range search (see src/vigil/index/pdq_mih.py).
 *
 * Why C: the numpy version of the same algorithm answers a radius-31 query over
 * 10 M hashes in ~1.2 ms, but spends most of it materialising temporaries
 * (positions, rows, gathered words) and cannot overlap two queries on two cores;
 * it tops out near 500-900 queries/s against a target of 5,000/s on 2 cores.
 * This file walks the same CSR tables with no temporaries, prefetches the
 * candidates' words, and releases the GIL so threads scale across cores.
 * It decides nothing: the probe plan comes from Python, and the numpy path stays
 * as the fallback and as a test oracle.
 *
 * Buffers (all C-contiguous, native endianness):
 *   words   uint64[n][4]  rows, sorted by slot 0
 *   offsets uint32[]      concatenated per-slot CSR offsets (2^bits + 1 each)
 *   perm    uint32[11*n]  row numbers sorted by slots 1..11
 *   queries uint64[q][4]
 *   probe_slot int32[p], probe_flip uint32[p], probe_table int64[p]
 *   budgets int8[12]      per-slot bit budget, -1 when the slot is not probed
 *   limit   optional: stop each query after this many hits (0 = all)
 *   nonempty optional uint64[]: bit t set when bucket t of the concatenated offsets holds
 *           rows; probes of empty buckets then skip their offsets miss (sparse tables)
 * Returns (query int64[], row int64[], distance int32[]) as bytes.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NSLOTS 12
static const int SLOT_WORD[NSLOTS] = {0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3};
static const int SLOT_SHIFT[NSLOTS] = {42, 21, 0, 42, 21, 0, 42, 21, 0, 42, 21, 0};
static const int SLOT_BITS[NSLOTS] = {22, 21, 21, 22, 21, 21, 22, 21, 21, 22, 21, 21};

typedef struct {
    int64_t *q;
    int64_t *row;
    int32_t *dist;
    Py_ssize_t len, cap;
    int failed;
} hits_t;

static void hits_push(hits_t *h, int64_t q, int64_t row, int32_t d) {
    if (h->failed) return;
    if (h->len == h->cap) {
        Py_ssize_t cap = h->cap ? 2 * h->cap : 1024;
        int64_t *nq = realloc(h->q, cap * sizeof(int64_t));
        if (nq) h->q = nq;
        int64_t *nr = realloc(h->row, cap * sizeof(int64_t));
        if (nr) h->row = nr;
        int32_t *nd = realloc(h->dist, cap * sizeof(int32_t));
        if (nd) h->dist = nd;
        if (!nq || !nr || !nd) { h->failed = 1; return; }
        h->cap = cap;
    }
    h->q[h->len] = q;
    h->row[h->len] = row;
    h->dist[h->len] = d;
    h->len++;
}

static inline uint32_t slot_value(const uint64_t *w, int s) {
    return (uint32_t)((w[SLOT_WORD[s]] >> SLOT_SHIFT[s]) & ((1u << SLOT_BITS[s]) - 1u));
}

/* Per-thread scratch: table indices of one query's probes, its candidates and their slots. */
typedef struct {
    int64_t *tab;
    int32_t *tslot; /* slot of each probe kept after the bitmap */
    uint32_t *rlo, *rhi; /* non-empty buckets of one query: [lo, hi) and slot */
    uint8_t *rslot;
    uint32_t *cand;
    uint8_t *cslot;
    size_t cap;
    int failed;
} scratch_t;

static void cand_reserve(scratch_t *sc, size_t need) {
    if (need <= sc->cap || sc->failed) return;
    size_t cap = sc->cap ? sc->cap : 4096;
    while (cap < need) cap *= 2;
    uint32_t *c = realloc(sc->cand, cap * sizeof(uint32_t));
    if (c) sc->cand = c;
    uint8_t *cs = realloc(sc->cslot, cap);
    if (cs) sc->cslot = cs;
    if (!c || !cs) { sc->failed = 1; return; }
    sc->cap = cap;
}

/*
 * The same body twice: once compiled for the POPCNT instruction, once portable.
 *
 * Why two ways. A radius-31 query makes ~2,000 probes and, at 10 M rows, ~7,000
 * candidates; nearly every offsets, perm and words access is a cache miss into
 * hundreds of megabytes and the arithmetic between them is a few instructions, so the
 * time is set by how many misses are in flight at once and how many there are.
 * Sparse tables (a ``nonempty`` bitmap given: Python passes one when at most half the
 * buckets hold rows, e.g. 1 M rows, where 70% are empty) run in passes, each only
 * prefetching for the next: (1) every probe's bit in the 4 MB bitmap, which stays in
 * cache where the 134 MB of offsets do not; (2) the probes of non-empty buckets,
 * prefetching their offsets; (3) each bucket's [lo, hi), prefetching its perm entries
 * (slot 0 needs no perm: rows are sorted by slot 0, so its words are prefetched
 * directly); (4) the candidate rows. At 1 M this cut the CPU time per query from ~49
 * to ~32 us (the passes alone: ~43). Dense tables (10 M: 95% of buckets full) keep
 * the single walk prefetching offsets PF probes and perm PF/2 probes ahead: there the
 * bitmap only costs, and the passes measured 3-5% slower than the walk.
 * Both then verify every candidate's full distance, prefetching words PF rows ahead
 * (prefetching all ~7,000 candidates' words at once was 25% slower at 10 M: the
 * misses queue up and evict each other). ``limit`` > 0 stops a query after that many
 * hits (a yes/no question).
 */
#define PF 16
#define SEARCH_BODY                                                                          \
    for (Py_ssize_t qi = 0; qi < nq && !sc->failed; qi++) {                                 \
        const uint64_t *qw = queries + 4 * qi;                                               \
        uint32_t qkey[NSLOTS];                                                               \
        for (int s = 0; s < NSLOTS; s++) qkey[s] = slot_value(qw, s);                        \
        size_t nc = 0;                                                                       \
        if (nonempty) {                                                                      \
            /* Sparse tables: drop empty buckets, then the passes described above. */        \
            Py_ssize_t nt = 0;                                                               \
            for (Py_ssize_t p = 0; p < np_; p++) {                                           \
                int64_t t = ptable[p] + (int64_t)(qkey[pslot[p]] ^ pflip[p]);                \
                sc->tab[p] = t;                                                              \
                __builtin_prefetch(nonempty + (t >> 6));                                     \
            }                                                                                \
            for (Py_ssize_t p = 0; p < np_; p++) {                                           \
                int64_t t = sc->tab[p];                                                      \
                if (!((nonempty[t >> 6] >> (t & 63)) & 1)) continue;                         \
                sc->tab[nt] = t;                                                             \
                sc->tslot[nt++] = pslot[p];                                                  \
                __builtin_prefetch(offsets + t);                                             \
            }                                                                                \
            Py_ssize_t nr = 0;                                                               \
            size_t total = 0;                                                                \
            for (Py_ssize_t p = 0; p < nt; p++) {                                            \
                uint32_t lo = offsets[sc->tab[p]], hi = offsets[sc->tab[p] + 1];             \
                if (hi == lo) continue;                                                      \
                int s = sc->tslot[p];                                                        \
                sc->rlo[nr] = lo;                                                            \
                sc->rhi[nr] = hi;                                                            \
                sc->rslot[nr++] = (uint8_t)s;                                                \
                total += hi - lo;                                                            \
                if (s) __builtin_prefetch(perm + (size_t)(s - 1) * (size_t)n + lo);         \
                else __builtin_prefetch(words + 4 * (size_t)lo);                             \
            }                                                                                \
            cand_reserve(sc, total);                                                         \
            if (sc->failed) break;                                                           \
            for (Py_ssize_t k = 0; k < nr; k++) {                                            \
                uint32_t lo = sc->rlo[k], hi = sc->rhi[k];                                   \
                int s = sc->rslot[k];                                                        \
                if (s) {                                                                     \
                    const uint32_t *pm = perm + (size_t)(s - 1) * (size_t)n;                 \
                    for (uint32_t j = lo; j < hi; j++) {                                     \
                        sc->cand[nc] = pm[j];                                                \
                        sc->cslot[nc++] = (uint8_t)s;                                        \
                    }                                                                        \
                } else {                                                                     \
                    for (uint32_t j = lo; j < hi; j++) { sc->cand[nc] = j; sc->cslot[nc++] = 0; } \
                }                                                                            \
            }                                                                                \
        } else {                                                                             \
            /* Dense tables: one walk, prefetching offsets PF probes and perm PF/2 ahead. */ \
            for (Py_ssize_t p = 0; p < np_; p++)                                             \
                sc->tab[p] = ptable[p] + (int64_t)(qkey[pslot[p]] ^ pflip[p]);               \
            for (Py_ssize_t p = 0; p < np_; p++) {                                           \
                if (p + PF < np_) __builtin_prefetch(offsets + sc->tab[p + PF]);             \
                if (p + PF / 2 < np_) {                                                      \
                    int s8 = pslot[p + PF / 2];                                              \
                    if (s8) __builtin_prefetch(perm + (size_t)(s8 - 1) * (size_t)n +        \
                                               offsets[sc->tab[p + PF / 2]]);                \
                }                                                                            \
                int s = pslot[p];                                                            \
                uint32_t lo = offsets[sc->tab[p]], hi = offsets[sc->tab[p] + 1];             \
                cand_reserve(sc, nc + (hi - lo));                                            \
                if (sc->failed) break;                                                       \
                if (s) {                                                                     \
                    const uint32_t *pm = perm + (size_t)(s - 1) * (size_t)n;                 \
                    for (uint32_t j = lo; j < hi; j++) {                                     \
                        sc->cand[nc] = pm[j];                                                \
                        sc->cslot[nc++] = (uint8_t)s;                                        \
                    }                                                                        \
                } else {                                                                     \
                    for (uint32_t j = lo; j < hi; j++) { sc->cand[nc] = j; sc->cslot[nc++] = 0; } \
                }                                                                            \
            }                                                                                \
            if (sc->failed) break;                                                           \
        }                                                                                    \
        Py_ssize_t found = 0;                                                                \
        for (size_t i = 0; i < nc; i++) {                                                    \
            if (i + PF < nc) __builtin_prefetch(words + 4 * (size_t)sc->cand[i + PF]);       \
            uint32_t row = sc->cand[i];                                                      \
            const uint64_t *w = words + 4 * (size_t)row;                                     \
            uint64_t x0 = w[0] ^ qw[0], x1 = w[1] ^ qw[1];                                   \
            uint64_t x2 = w[2] ^ qw[2], x3 = w[3] ^ qw[3];                                   \
            int d = __builtin_popcountll(x0) + __builtin_popcountll(x1) +                    \
                    __builtin_popcountll(x2) + __builtin_popcountll(x3);                     \
            if (d > radius) continue;                                                        \
            /* Found through an earlier slot too? Then it is reported there. */              \
            uint64_t x[4] = {x0, x1, x2, x3};                                                \
            int s = sc->cslot[i], dup = 0;                                                   \
            for (int s2 = 0; s2 < s && !dup; s2++)                                           \
                if (budgets[s2] >= 0 && __builtin_popcount(slot_value(x, s2)) <= budgets[s2]) \
                    dup = 1;                                                                 \
            if (dup) continue;                                                               \
            hits_push(h, base + qi, row, d);                                                 \
            if (limit > 0 && ++found >= limit) break;                                        \
        }                                                                                    \
    }

#define SEARCH_ARGS                                                                          \
    const uint64_t *words, Py_ssize_t n, const uint32_t *offsets, const uint32_t *perm,      \
        const uint64_t *queries, Py_ssize_t nq, int radius, const int32_t *pslot,            \
        const uint32_t *pflip, const int64_t *ptable, Py_ssize_t np_, const int8_t *budgets, \
        int64_t base, Py_ssize_t limit, const uint64_t *nonempty, hits_t *h, scratch_t *sc

#if defined(__x86_64__) || defined(__i386__)
#define POPCNT_TARGET __attribute__((target("popcnt")))
#else /* other CPUs: the portable build already uses their popcount instruction */
#define POPCNT_TARGET
#endif

POPCNT_TARGET static void search_popcnt(SEARCH_ARGS) { SEARCH_BODY }
static void search_portable(SEARCH_ARGS) { SEARCH_BODY }

#define SCAN_BODY                                                                            \
    for (Py_ssize_t qi = 0; qi < nq; qi++) {                                                 \
        const uint64_t *qw = queries + 4 * qi;                                               \
        for (Py_ssize_t r = 0; r < n; r++) {                                                 \
            const uint64_t *w = words + 4 * r;                                               \
            int d = __builtin_popcountll(w[0] ^ qw[0]) + __builtin_popcountll(w[1] ^ qw[1]) + \
                    __builtin_popcountll(w[2] ^ qw[2]) + __builtin_popcountll(w[3] ^ qw[3]);  \
            if (d <= radius) hits_push(h, base + qi, r, d);                                  \
        }                                                                                    \
    }

#define SCAN_ARGS                                                                            \
    const uint64_t *words, Py_ssize_t n, const uint64_t *queries, Py_ssize_t nq, int radius, \
        int64_t base, hits_t *h

POPCNT_TARGET static void scan_popcnt(SCAN_ARGS) { SCAN_BODY }
static void scan_portable(SCAN_ARGS) { SCAN_BODY }

static PyObject *hits_result(hits_t *h) {
    PyObject *res = NULL;
    if (h->failed) {
        PyErr_NoMemory();
    } else {
        /* "y#" turns a NULL pointer into None: pass "" when nothing was found. */
        static const char none[1] = {0};
        res = Py_BuildValue("(y#y#y#)", h->len ? (const char *)h->q : none,
                            h->len * (Py_ssize_t)sizeof(int64_t),
                            h->len ? (const char *)h->row : none,
                            h->len * (Py_ssize_t)sizeof(int64_t),
                            h->len ? (const char *)h->dist : none,
                            h->len * (Py_ssize_t)sizeof(int32_t));
    }
    free(h->q);
    free(h->row);
    free(h->dist);
    return res;
}

static int have_popcnt(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("popcnt");
#else
    return 1;
#endif
}

static PyObject *py_search(PyObject *self, PyObject *args) {
    Py_buffer words, offsets, perm, queries, pslot, pflip, ptable, budgets;
    int radius;
    long long base;
    Py_ssize_t limit = 0;
    PyObject *bitmap = Py_None;
    Py_buffer nonempty = {0};
    (void)self;
    if (!PyArg_ParseTuple(args, "y*y*y*y*iy*y*y*y*L|nO", &words, &offsets, &perm, &queries,
                          &radius, &pslot, &pflip, &ptable, &budgets, &base, &limit, &bitmap))
        return NULL;
    if (bitmap != Py_None && PyObject_GetBuffer(bitmap, &nonempty, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(&words);
        PyBuffer_Release(&offsets);
        PyBuffer_Release(&perm);
        PyBuffer_Release(&queries);
        PyBuffer_Release(&pslot);
        PyBuffer_Release(&pflip);
        PyBuffer_Release(&ptable);
        PyBuffer_Release(&budgets);
        return NULL;
    }
    Py_ssize_t n = words.len / 32, nq = queries.len / 32, np_ = pslot.len / 4;
    hits_t h = {0};
    scratch_t sc = {0};
    size_t np1 = np_ ? (size_t)np_ : 1;
    sc.tab = malloc(np1 * sizeof(int64_t));
    sc.tslot = malloc(np1 * sizeof(int32_t));
    sc.rlo = malloc(np1 * sizeof(uint32_t));
    sc.rhi = malloc(np1 * sizeof(uint32_t));
    sc.rslot = malloc(np1);
    if (!sc.tab || !sc.tslot || !sc.rlo || !sc.rhi || !sc.rslot) sc.failed = 1;
    int ok = budgets.len == NSLOTS && pflip.len == np_ * 4 && ptable.len == np_ * 8 &&
             perm.len >= (Py_ssize_t)(NSLOTS - 1) * n * 4 &&
             (!nonempty.buf || nonempty.len * 8 >= offsets.len / 4);
    const uint64_t *ne = nonempty.buf;
    if (ok) {
        Py_BEGIN_ALLOW_THREADS;
        if (have_popcnt())
            search_popcnt(words.buf, n, offsets.buf, perm.buf, queries.buf, nq, radius,
                          pslot.buf, pflip.buf, ptable.buf, np_, budgets.buf, base, limit, ne, &h, &sc);
        else
            search_portable(words.buf, n, offsets.buf, perm.buf, queries.buf, nq, radius,
                            pslot.buf, pflip.buf, ptable.buf, np_, budgets.buf, base, limit, ne, &h, &sc);
        Py_END_ALLOW_THREADS;
    }
    PyBuffer_Release(&words);
    PyBuffer_Release(&offsets);
    PyBuffer_Release(&perm);
    PyBuffer_Release(&queries);
    PyBuffer_Release(&pslot);
    PyBuffer_Release(&pflip);
    PyBuffer_Release(&ptable);
    PyBuffer_Release(&budgets);
    if (nonempty.buf) PyBuffer_Release(&nonempty);
    free(sc.tab);
    free(sc.tslot);
    free(sc.rlo);
    free(sc.rhi);
    free(sc.rslot);
    free(sc.cand);
    free(sc.cslot);
    if (sc.failed) h.failed = 1;
    if (!ok) {
        PyErr_SetString(PyExc_ValueError, "inconsistent buffer sizes");
        return NULL;
    }
    return hits_result(&h);
}

static PyObject *py_scan(PyObject *self, PyObject *args) {
    Py_buffer words, queries;
    int radius;
    long long base;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*y*iL", &words, &queries, &radius, &base)) return NULL;
    Py_ssize_t n = words.len / 32, nq = queries.len / 32;
    hits_t h = {0};
    Py_BEGIN_ALLOW_THREADS;
    if (have_popcnt())
        scan_popcnt(words.buf, n, queries.buf, nq, radius, base, &h);
    else
        scan_portable(words.buf, n, queries.buf, nq, radius, base, &h);
    Py_END_ALLOW_THREADS;
    PyBuffer_Release(&words);
    PyBuffer_Release(&queries);
    return hits_result(&h);
}

/*
 * Stable counting sort of uint32 keys whose CSR offsets are already known: writes the
 * row numbers, grouped by key, into perm (uint32[n]). One pass over the keys with
 * scattered writes, instead of numpy's O(n log n) argsort: ~10x faster at 10 M rows.
 */
static PyObject *py_counting_sort(PyObject *self, PyObject *args) {
    Py_buffer keys, offsets, perm;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*y*w*", &keys, &offsets, &perm)) return NULL;
    Py_ssize_t n = keys.len / 4, nb = offsets.len / 4;
    int ok = perm.len == n * 4 && nb >= 1;
    uint32_t *next = ok ? malloc(nb * sizeof(uint32_t)) : NULL;
    if (ok && next) {
        const uint32_t *k = keys.buf;
        uint32_t *out = perm.buf;
        Py_BEGIN_ALLOW_THREADS;
        memcpy(next, offsets.buf, nb * sizeof(uint32_t));
        for (Py_ssize_t i = 0; i < n; i++) {
            uint32_t key = k[i];
            if ((Py_ssize_t)key + 1 >= nb) { ok = 0; break; }
            out[next[key]++] = (uint32_t)i;
        }
        Py_END_ALLOW_THREADS;
    }
    free(next);
    PyBuffer_Release(&keys);
    PyBuffer_Release(&offsets);
    PyBuffer_Release(&perm);
    if (!ok) {
        PyErr_SetString(PyExc_ValueError, "key out of range or bad buffer sizes");
        return NULL;
    }
    if (!next) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"counting_sort", py_counting_sort, METH_VARARGS, "Stable counting sort into perm."},
    {"search", py_search, METH_VARARGS, "MIH range search over CSR slot tables."},
    {"scan", py_scan, METH_VARARGS, "Brute-force range search."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_mihcore",
                                    "Inner loops of the PDQ range search.", -1, methods,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__mihcore(void) { return PyModule_Create(&module); }
