// bfloat16 GEMM for CPUs with AVX512_BF16 (Intel Cooper Lake and later, AMD Zen 4 and later):
// VDPBF16PS multiplies pairs of bf16 values and adds both products to fp32 lanes, twice the
// multiply-adds per instruction of an fp32 FMA. The structure is the classic one (GotoBLAS):
// blocks of B packed into 32-column panels, blocks of A into 12-row panels, a 12 x 32 register
// tile (24 accumulators) per micro-kernel call. Operands are rounded to bf16 while packing; the
// accumulation and C stay fp32.
//
// Compiled for the baseline x86-64 target; only the functions marked with `target(...)` use
// AVX-512, and they are reached only after arena_bf16_gemm_supported() said yes.
#include "CKernels.h"
#include <immintrin.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MR 12          // rows of the register tile
#define NR 32          // columns of the register tile (two zmm of 16 fp32)
#define KC 256         // k per block (even)
#define KCP (KC / 2)   // bf16 pairs per block row
#define MC 96          // rows of A per packed block (a multiple of MR): 96 x 256 bf16 = 48 KB
#define NC 512         // columns of B per packed block (a multiple of NR): 256 x 512 bf16 = 256 KB

#if defined(__x86_64__)
#define KERNEL_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

int arena_bf16_gemm_supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
}

// Per-thread packing buffers: every lane of the learner runs on its own thread.
static _Thread_local uint32_t *packedA;   // [MC / MR panels][MR rows][KCP pairs]
static _Thread_local uint32_t *threadPackedB;   // [NC / NR panels][KCP pairs][NR columns]

static int ensureBuffers(void) {
    if (!packedA) packedA = aligned_alloc(64, sizeof(uint32_t) * MC * KCP);
    if (!threadPackedB) threadPackedB = aligned_alloc(64, sizeof(uint32_t) * NC * KCP);
    return packedA && threadPackedB ? 0 : -1;
}

static inline __mmask16 maskFor(int count) {
    return count >= 16 ? (__mmask16)0xFFFF : count <= 0 ? (__mmask16)0 : (__mmask16)((1u << count) - 1);
}

// Two vectors x, y of 16 floats -> 16 uint32 lanes, lane i = bf16(x[i]) | bf16(y[i]) << 16.
KERNEL_TARGET static inline __m512i pairUp(__m512 x, __m512 y) {
    const __m512i order = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
                                           23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    __m512i words = (__m512i)_mm512_cvtne2ps_pbh(y, x);   // x's 16 bf16 below y's
    return _mm512_permutexvar_epi16(order, words);
}

// A block: rows [i0, i0 + mc) of op(A), k in [p0, p0 + kc), into MR-row panels of KCP pairs each
// (row r of a panel at r * KCP); rows past mc and the pair past an odd kc are zero.
KERNEL_TARGET static void packA(int transA, const float *a, int lda, int i0, int mc, int p0, int kc) {
    const int kp = (kc + 1) / 2;
    const int panels = (mc + MR - 1) / MR;
    memset(packedA, 0, sizeof(uint32_t) * (size_t)panels * MR * KCP);
    if (!transA) {
        for (int i = 0; i < mc; i++) {
            const float *src = a + (size_t)(i0 + i) * lda + p0;
            uint32_t *dst = packedA + (size_t)(i / MR) * MR * KCP + (i % MR) * KCP;
            for (int q = 0; q < kc; q += 32) {
                __m512 lo = _mm512_maskz_loadu_ps(maskFor(kc - q), src + q);
                __m512 hi = _mm512_maskz_loadu_ps(maskFor(kc - q - 16), src + q + 16);
                __m512i words = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
                int pairs = (kc - q + 1) / 2; if (pairs > 16) pairs = 16;
                _mm512_mask_storeu_epi32(dst + q / 2, maskFor(pairs), words);
            }
        }
    } else {
        // op(A)[i][kk] = a[kk * lda + i]: stored rows kk and kk + 1 give the pairs of 16 rows at once.
        uint32_t lanes[16] __attribute__((aligned(64)));
        for (int p = 0; p < kp; p++) {
            const float *row0 = a + (size_t)(p0 + 2 * p) * lda + i0;
            const float *row1 = row0 + lda;
            const int second = 2 * p + 1 < kc;
            for (int i = 0; i < mc; i += 16) {
                __mmask16 m = maskFor(mc - i);
                __m512 x = _mm512_maskz_loadu_ps(m, row0 + i);
                __m512 y = second ? _mm512_maskz_loadu_ps(m, row1 + i) : _mm512_setzero_ps();
                _mm512_store_si512(lanes, pairUp(x, y));
                int count = mc - i < 16 ? mc - i : 16;
                for (int j = 0; j < count; j++) {
                    int r = i + j;
                    packedA[(size_t)(r / MR) * MR * KCP + (r % MR) * KCP + p] = lanes[j];
                }
            }
        }
    }
    (void)kp;
}

// In place: r[i] lane j <- r[j] lane i (16 x 16 matrix of 32-bit lanes).
KERNEL_TARGET static inline void transpose16(__m512i r[16]) {
    __m512i t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
        r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
        r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
        r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    // Now r[4g + s] holds, in each 128-bit block c, row (4c.. of group g) ... combine blocks.
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_i32x4(r[i], r[i + 4], 0x88);        // blocks 0,2 of r[i] | 0,2 of r[i+4]
        t[i + 4] = _mm512_shuffle_i32x4(r[i], r[i + 4], 0xdd);    // blocks 1,3
        t[i + 8] = _mm512_shuffle_i32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_i32x4(r[i + 8], r[i + 12], 0xdd);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0xdd);
        r[i + 4] = _mm512_shuffle_i32x4(t[i + 4], t[i + 12], 0x88);
        r[i + 12] = _mm512_shuffle_i32x4(t[i + 4], t[i + 12], 0xdd);
    }
}

// B block: k in [p0, p0 + kc), columns [j0, j0 + nc) of op(B), into NR-column panels laid out
// [pair][column]; columns past nc and the pair past an odd kc are zero.
KERNEL_TARGET static void packB(int transB, const float *b, int ldb, int p0, int kc, int j0, int nc, uint32_t *packedB) {
    const int kp = (kc + 1) / 2;
    const int panels = (nc + NR - 1) / NR;
    if (!transB) {
        for (int jp = 0; jp < panels; jp++) {
            uint32_t *dst = packedB + (size_t)jp * kp * NR;
            const int cols = nc - jp * NR;
            for (int p = 0; p < kp; p++) {
                const float *row0 = b + (size_t)(p0 + 2 * p) * ldb + j0 + jp * NR;
                const float *row1 = row0 + ldb;
                const int second = 2 * p + 1 < kc;
                for (int h = 0; h < NR; h += 16) {
                    __mmask16 m = maskFor(cols - h);
                    __m512 x = _mm512_maskz_loadu_ps(m, row0 + h);
                    __m512 y = second ? _mm512_maskz_loadu_ps(m, row1 + h) : _mm512_setzero_ps();
                    _mm512_store_si512(dst + p * NR + h, pairUp(x, y));
                }
            }
        }
    } else {
        // op(B)[kk][j] = b[j * ldb + kk]: a stored row gives one column's pairs in order; 16 columns
        // x 16 pairs at a time are turned into 16 pair rows by a 16 x 16 transpose of 32-bit lanes.
        uint32_t lanes[16] __attribute__((aligned(64)));
        memset(packedB, 0, sizeof(uint32_t) * (size_t)panels * kp * NR);
        int j = 0;
        for (; j + 16 <= nc; j += 16) {
            uint32_t *dst = packedB + (size_t)(j / NR) * kp * NR + (j % NR);
            for (int q = 0; q < kc; q += 32) {
                __m512i r[16];
                for (int t = 0; t < 16; t++) {
                    const float *src = b + (size_t)(j0 + j + t) * ldb + p0 + q;
                    __m512 lo = _mm512_maskz_loadu_ps(maskFor(kc - q), src);
                    __m512 hi = _mm512_maskz_loadu_ps(maskFor(kc - q - 16), src + 16);
                    r[t] = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
                }
                transpose16(r);
                int pairs = (kc - q + 1) / 2; if (pairs > 16) pairs = 16;
                for (int t = 0; t < pairs; t++) _mm512_storeu_si512(dst + (size_t)(q / 2 + t) * NR, r[t]);
            }
        }
        for (; j < nc; j++) {
            const float *src = b + (size_t)(j0 + j) * ldb + p0;
            uint32_t *dst = packedB + (size_t)(j / NR) * kp * NR + (j % NR);
            for (int q = 0; q < kc; q += 32) {
                __m512 lo = _mm512_maskz_loadu_ps(maskFor(kc - q), src + q);
                __m512 hi = _mm512_maskz_loadu_ps(maskFor(kc - q - 16), src + q + 16);
                _mm512_store_si512(lanes, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
                int pairs = (kc - q + 1) / 2; if (pairs > 16) pairs = 16;
                for (int t = 0; t < pairs; t++) dst[(size_t)(q / 2 + t) * NR] = lanes[t];
            }
        }
    }
}

// C tile [mr x nr] (at most MR x NR): first block: alpha * AB + beta * C (C unread when beta == 0);
// later blocks: C + alpha * AB.
KERNEL_TARGET static void microKernel(int kp, const uint32_t *restrict pa, const uint32_t *restrict pb,
                                      float *c, int ldc, int mr, int nr, float alpha, float beta, int first) {
    __m512 acc[MR][2];
#pragma clang loop unroll(full)
    for (int r = 0; r < MR; r++) { acc[r][0] = _mm512_setzero_ps(); acc[r][1] = _mm512_setzero_ps(); }
    for (int p = 0; p < kp; p++) {
        __m512bh b0 = (__m512bh)_mm512_load_si512(pb + p * NR);
        __m512bh b1 = (__m512bh)_mm512_load_si512(pb + p * NR + 16);
#pragma clang loop unroll(full)
        for (int r = 0; r < MR; r++) {
            __m512bh av = (__m512bh)_mm512_set1_epi32((int)pa[r * KCP + p]);
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], av, b0);
            acc[r][1] = _mm512_dpbf16_ps(acc[r][1], av, b1);
        }
    }
    const __mmask16 m0 = maskFor(nr), m1 = maskFor(nr - 16);
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma clang loop unroll(full)
    for (int r = 0; r < MR; r++) {
        if (r < mr) {
            float *row = c + (size_t)r * ldc;
            __m512 v0 = _mm512_mul_ps(va, acc[r][0]), v1 = _mm512_mul_ps(va, acc[r][1]);
            if (!first) {
                v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, row));
                v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, row + 16));
            } else if (beta != 0) {
                v0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, row), v0);
                v1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, row + 16), v1);
            }
            _mm512_mask_storeu_ps(row, m0, v0);
            _mm512_mask_storeu_ps(row + 16, m1, v1);
        }
    }
}

// Pair rows of the packed block of op(B) for columns [j0, j0 + nc) and k in [p0, p0 + kc): the
// blocks follow each other in the GEMM's loop order (column blocks, then k blocks), so a whole
// op(B) packed once (arena_bf16_pack_b) is read block by block as it would have been packed.
static inline long blockWords(int kc, int nc) { return (long)((nc + NR - 1) / NR) * ((kc + 1) / 2) * NR; }

// With `prepacked`, op(B) comes from there (b unread); otherwise each block is packed on the fly.
KERNEL_TARGET static void gemmBF16(int transA, int transB, int m, int n, int k, float alpha,
                                   const float *a, int lda, const float *b, int ldb, const uint32_t *prepacked,
                                   float beta, float *c, int ldc) {
    for (int j0 = 0; j0 < n; j0 += NC) {
        const int nc = n - j0 < NC ? n - j0 : NC;
        for (int p0 = 0; p0 < k; p0 += KC) {
            const int kc = k - p0 < KC ? k - p0 : KC;
            const int kp = (kc + 1) / 2;
            const uint32_t *packedB = prepacked;
            if (prepacked) {
                prepacked += blockWords(kc, nc);
            } else {
                packB(transB, b, ldb, p0, kc, j0, nc, threadPackedB);
                packedB = threadPackedB;
            }
            for (int i0 = 0; i0 < m; i0 += MC) {
                const int mc = m - i0 < MC ? m - i0 : MC;
                packA(transA, a, lda, i0, mc, p0, kc);
                for (int jr = 0; jr < nc; jr += NR) {
                    for (int ir = 0; ir < mc; ir += MR) {
                        microKernel(kp, packedA + (size_t)(ir / MR) * MR * KCP, packedB + (size_t)(jr / NR) * kp * NR,
                                    c + (size_t)(i0 + ir) * ldc + j0 + jr, ldc,
                                    mc - ir < MR ? mc - ir : MR, nc - jr < NR ? nc - jr : NR,
                                    alpha, beta, p0 == 0);
                    }
                }
            }
        }
    }
}

int arena_gemm_bf16(int transA, int transB, int m, int n, int k, float alpha, const float *a, int lda,
                    const float *b, int ldb, float beta, float *c, int ldc) {
    if (m <= 0 || n <= 0) return 0;
    if (k <= 0) {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) c[(size_t)i * ldc + j] = beta == 0 ? 0 : beta * c[(size_t)i * ldc + j];
        return 0;
    }
    if (ensureBuffers() != 0) return -1;
    gemmBF16(transA, transB, m, n, k, alpha, a, lda, b, ldb, 0, beta, c, ldc);
    return 0;
}

long arena_bf16_packed_b_words(int n, int k) {
    long words = 0;
    for (int j0 = 0; j0 < n; j0 += NC)
        for (int p0 = 0; p0 < k; p0 += KC) words += blockWords(k - p0 < KC ? k - p0 : KC, n - j0 < NC ? n - j0 : NC);
    return words;
}

void arena_bf16_pack_b(int transB, int n, int k, const float *b, int ldb, uint32_t *packed) {
    arena_bf16_pack_b_part(transB, n, k, b, ldb, packed, 0, 0, 1);
}

int arena_bf16_pack_b_part(int transB, int n, int k, const float *b, int ldb, uint32_t *packed,
                           int first, int part, int parts) {
    int block = first;
    for (int j0 = 0; j0 < n; j0 += NC) {
        const int nc = n - j0 < NC ? n - j0 : NC;
        for (int p0 = 0; p0 < k; p0 += KC, block++) {
            const int kc = k - p0 < KC ? k - p0 : KC;
            if (block % parts == part) packB(transB, b, ldb, p0, kc, j0, nc, packed);
            packed += blockWords(kc, nc);
        }
    }
    return block - first;
}

int arena_gemm_bf16_packed_b(int transA, int m, int n, int k, float alpha, const float *a, int lda,
                             const uint32_t *packedB, float beta, float *c, int ldc) {
    if (m <= 0 || n <= 0) return 0;
    if (k <= 0) return arena_gemm_bf16(transA, 0, m, n, k, alpha, a, lda, 0, 0, beta, c, ldc);
    if (ensureBuffers() != 0) return -1;
    gemmBF16(transA, 0, m, n, k, alpha, a, lda, 0, 0, packedB, beta, c, ldc);
    return 0;
}

KERNEL_TARGET static void roundBF16(const float *in, float *out, long count) {
    for (long i = 0; i < count; i += 16) {
        __mmask16 m = maskFor(count - i > 16 ? 16 : (int)(count - i));
        __m512 x = _mm512_maskz_loadu_ps(m, in + i);
        __m256i h = (__m256i)_mm512_cvtneps_pbh(x);
        __m512 back = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
        _mm512_mask_storeu_ps(out + i, m, back);
    }
}

void arena_round_to_bf16(const float *in, float *out, long count) {
    if (arena_bf16_gemm_supported()) { roundBF16(in, out, count); return; }
    for (long i = 0; i < count; i++) {   // the same rounding in integers (no AVX512_BF16 needed)
        uint32_t u; memcpy(&u, &in[i], 4);
        if ((u & 0x7fffffffu) > 0x7f800000u) u = (u | 0x00400000u) & 0xffff0000u;   // NaN stays NaN
        else u = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
        memcpy(&out[i], &u, 4);
    }
}

#else
int arena_bf16_gemm_supported(void) { return 0; }
int arena_gemm_bf16(int transA, int transB, int m, int n, int k, float alpha, const float *a, int lda,
                    const float *b, int ldb, float beta, float *c, int ldc) {
    (void)transA; (void)transB; (void)m; (void)n; (void)k; (void)alpha; (void)a; (void)lda;
    (void)b; (void)ldb; (void)beta; (void)c; (void)ldc;
    return -1;
}
void arena_round_to_bf16(const float *in, float *out, long count) {
    for (long i = 0; i < count; i++) out[i] = in[i];
}
long arena_bf16_packed_b_words(int n, int k) { (void)n; (void)k; return 0; }
void arena_bf16_pack_b(int transB, int n, int k, const float *b, int ldb, uint32_t *packed) {
    (void)transB; (void)n; (void)k; (void)b; (void)ldb; (void)packed;
}
int arena_bf16_pack_b_part(int transB, int n, int k, const float *b, int ldb, uint32_t *packed,
                           int first, int part, int parts) {
    (void)transB; (void)n; (void)k; (void)b; (void)ldb; (void)packed; (void)first; (void)part; (void)parts;
    return 0;
}
int arena_gemm_bf16_packed_b(int transA, int m, int n, int k, float alpha, const float *a, int lda,
                             const uint32_t *packedB, float beta, float *c, int ldc) {
    (void)transA; (void)m; (void)n; (void)k; (void)alpha; (void)a; (void)lda; (void)packedB; (void)beta; (void)c; (void)ldc;
    return -1;
}
#endif
