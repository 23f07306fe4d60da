// The learner's element-wise passes over the flat parameter buffers (P = 1.7M-3.4M floats),
// written once for AVX-512F, once for AVX2 and once in plain C, chosen at run time.
//
// Every path gives the same bits as the plain loop: additions and multiplications are separate
// (no fused multiply-add: FP_CONTRACT is off in this file), and sqrt and division are correctly
// rounded at any vector width. The sums of squares keep the plain loop's order exactly (four
// running Double sums, element i into sum i mod 4, then the tail), so the gradient norm does not
// depend on the path either.
#include "CKernels.h"
#include "vector_level.h"
#include <math.h>
#include <stdint.h>

#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)

#if defined(__x86_64__)
#include <immintrin.h>
#define AVX512 __attribute__((target("avx512f")))
#define AVX2 __attribute__((target("avx2")))

static int pathChosen = -1;   // 2: AVX-512F, 1: AVX2, 0: plain
int arenaVectorLevel(void) {
    if (pathChosen < 0) {
        __builtin_cpu_init();
        pathChosen = __builtin_cpu_supports("avx512f") ? 2 : __builtin_cpu_supports("avx2") ? 1 : 0;
    }
    return pathChosen;
}
#endif

int arena_optimizer_use_path(int level) {
#if defined(__x86_64__)
    pathChosen = -1;
    const int best = arenaVectorLevel();
    pathChosen = level < 0 || level > best ? best : level;
    return pathChosen;
#else
    (void)level;
    return 0;
#endif
}

const char *arena_optimizer_path(void) {
#if defined(__x86_64__)
    switch (arenaVectorLevel()) {
    case 2: return "avx512f";
    case 1: return "avx2";
    }
#endif
    return "plain";
}

// MARK: Subnormals

// The moments of a weight that stops getting gradient (a unit whose ReLU no longer fires) decay
// geometrically through the subnormal range, below 1.2e-38: m1 by beta1 a step, m2 by beta2
// (0.999: some 16k steps in that range). On Intel cores each vector instruction with a subnormal
// operand or result takes a microcode assist of a hundred cycles or more: in the Breakout run's
// checkpoint at 108k agent steps 1.4M of the 3.3M first moments were subnormal, and the step took
// a quarter of the process's CPU time. So the steps below run with flush-to-zero and
// denormals-are-zero, set on entry and the caller's MXCSR restored on exit (the GEMMs and
// everything else keep IEEE subnormals). What changes is confined to magnitudes below 1.2e-38:
// such a moment, gradient or parameter is read as 0 and such a result stored as 0. With Adam's
// epsilon at 1e-8 or more, a subnormal m2 leaves the denominator's bits as they were, and an
// update made of a subnormal m1 is below half an ulp of any parameter above ~2e-27 in magnitude,
// so parameters come out the same bits unless they are that close to 0 already (checked on that
// checkpoint: the same weights SHA-256 with and without after 1,404 updates; BENCHMARKS.md).
#if defined(__x86_64__)
static inline unsigned int flushSubnormals(void) {
    const unsigned int saved = _mm_getcsr();
    _mm_setcsr(saved | 0x8040);   // FTZ (bit 15) and DAZ (bit 6)
    return saved;
}
#endif

// MARK: Adam

static void adamPlain(long i, long count, float *p, float *g, float *m1, float *m2, float scale, float stepSize,
                      float beta1, float beta2, float bias2Sqrt, float epsilon) {
    const float c1 = 1 - beta1, c2 = 1 - beta2;
    for (; i < count; i++) {
        float gi = g[i];
        if (scale != 1) { gi = gi * scale; g[i] = gi; }
        const float m = beta1 * m1[i] + c1 * gi;
        const float v = beta2 * m2[i] + c2 * gi * gi;
        m1[i] = m;
        m2[i] = v;
        p[i] = p[i] - stepSize * m / (sqrtf(v) / bias2Sqrt + epsilon);
    }
}

#if defined(__x86_64__)
AVX512 static long adam512(long count, float *p, float *g, float *m1, float *m2, float scale, float stepSize,
                           float beta1, float beta2, float bias2Sqrt, float epsilon) {
    const __m512 b1 = _mm512_set1_ps(beta1), c1 = _mm512_set1_ps(1 - beta1);
    const __m512 b2 = _mm512_set1_ps(beta2), c2 = _mm512_set1_ps(1 - beta2);
    const __m512 s = _mm512_set1_ps(stepSize), bs = _mm512_set1_ps(bias2Sqrt), e = _mm512_set1_ps(epsilon);
    const __m512 k = _mm512_set1_ps(scale);
    const int scaled = scale != 1;
    long i = 0;
    for (; i + 16 <= count; i += 16) {
        __m512 gi = _mm512_loadu_ps(g + i);
        if (scaled) { gi = _mm512_mul_ps(gi, k); _mm512_storeu_ps(g + i, gi); }
        const __m512 m = _mm512_add_ps(_mm512_mul_ps(b1, _mm512_loadu_ps(m1 + i)), _mm512_mul_ps(c1, gi));
        const __m512 v = _mm512_add_ps(_mm512_mul_ps(b2, _mm512_loadu_ps(m2 + i)), _mm512_mul_ps(_mm512_mul_ps(c2, gi), gi));
        _mm512_storeu_ps(m1 + i, m);
        _mm512_storeu_ps(m2 + i, v);
        const __m512 denom = _mm512_add_ps(_mm512_div_ps(_mm512_sqrt_ps(v), bs), e);
        _mm512_storeu_ps(p + i, _mm512_sub_ps(_mm512_loadu_ps(p + i), _mm512_div_ps(_mm512_mul_ps(s, m), denom)));
    }
    return i;
}

AVX2 static long adam256(long count, float *p, float *g, float *m1, float *m2, float scale, float stepSize,
                         float beta1, float beta2, float bias2Sqrt, float epsilon) {
    const __m256 b1 = _mm256_set1_ps(beta1), c1 = _mm256_set1_ps(1 - beta1);
    const __m256 b2 = _mm256_set1_ps(beta2), c2 = _mm256_set1_ps(1 - beta2);
    const __m256 s = _mm256_set1_ps(stepSize), bs = _mm256_set1_ps(bias2Sqrt), e = _mm256_set1_ps(epsilon);
    const __m256 k = _mm256_set1_ps(scale);
    const int scaled = scale != 1;
    long i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 gi = _mm256_loadu_ps(g + i);
        if (scaled) { gi = _mm256_mul_ps(gi, k); _mm256_storeu_ps(g + i, gi); }
        const __m256 m = _mm256_add_ps(_mm256_mul_ps(b1, _mm256_loadu_ps(m1 + i)), _mm256_mul_ps(c1, gi));
        const __m256 v = _mm256_add_ps(_mm256_mul_ps(b2, _mm256_loadu_ps(m2 + i)), _mm256_mul_ps(_mm256_mul_ps(c2, gi), gi));
        _mm256_storeu_ps(m1 + i, m);
        _mm256_storeu_ps(m2 + i, v);
        const __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(v), bs), e);
        _mm256_storeu_ps(p + i, _mm256_sub_ps(_mm256_loadu_ps(p + i), _mm256_div_ps(_mm256_mul_ps(s, m), denom)));
    }
    return i;
}
#endif

void arena_adam_step(float *p, float *g, float *m1, float *m2, long count, float gradientScale, float stepSize,
                     float beta1, float beta2, float bias2Sqrt, float epsilon) {
    long i = 0;
#if defined(__x86_64__)
    const unsigned int csr = flushSubnormals();
    switch (arenaVectorLevel()) {
    case 2: i = adam512(count, p, g, m1, m2, gradientScale, stepSize, beta1, beta2, bias2Sqrt, epsilon); break;
    case 1: i = adam256(count, p, g, m1, m2, gradientScale, stepSize, beta1, beta2, bias2Sqrt, epsilon); break;
    }
#endif
    adamPlain(i, count, p, g, m1, m2, gradientScale, stepSize, beta1, beta2, bias2Sqrt, epsilon);
#if defined(__x86_64__)
    _mm_setcsr(csr);
#endif
}

// MARK: Centered RMSProp

static void rmspropPlain(long i, long count, float *p, float *g, float *m1, float *m2, float scale, float lr,
                         float decay, float epsilon) {
    const float oneMinus = 1 - decay;
    for (; i < count; i++) {
        float gi = g[i];
        if (scale != 1) { gi = gi * scale; g[i] = gi; }
        const float avg = decay * m1[i] + oneMinus * gi;
        const float sq = decay * m2[i] + oneMinus * gi * gi;
        m1[i] = avg;
        m2[i] = sq;
        p[i] = p[i] - lr * gi / sqrtf(sq - avg * avg + epsilon);
    }
}

#if defined(__x86_64__)
AVX512 static long rmsprop512(long count, float *p, float *g, float *m1, float *m2, float scale, float lr,
                              float decay, float epsilon) {
    const __m512 d = _mm512_set1_ps(decay), o = _mm512_set1_ps(1 - decay), l = _mm512_set1_ps(lr);
    const __m512 e = _mm512_set1_ps(epsilon), k = _mm512_set1_ps(scale);
    const int scaled = scale != 1;
    long i = 0;
    for (; i + 16 <= count; i += 16) {
        __m512 gi = _mm512_loadu_ps(g + i);
        if (scaled) { gi = _mm512_mul_ps(gi, k); _mm512_storeu_ps(g + i, gi); }
        const __m512 avg = _mm512_add_ps(_mm512_mul_ps(d, _mm512_loadu_ps(m1 + i)), _mm512_mul_ps(o, gi));
        const __m512 sq = _mm512_add_ps(_mm512_mul_ps(d, _mm512_loadu_ps(m2 + i)), _mm512_mul_ps(_mm512_mul_ps(o, gi), gi));
        _mm512_storeu_ps(m1 + i, avg);
        _mm512_storeu_ps(m2 + i, sq);
        const __m512 denom = _mm512_sqrt_ps(_mm512_add_ps(_mm512_sub_ps(sq, _mm512_mul_ps(avg, avg)), e));
        _mm512_storeu_ps(p + i, _mm512_sub_ps(_mm512_loadu_ps(p + i), _mm512_div_ps(_mm512_mul_ps(l, gi), denom)));
    }
    return i;
}

AVX2 static long rmsprop256(long count, float *p, float *g, float *m1, float *m2, float scale, float lr,
                            float decay, float epsilon) {
    const __m256 d = _mm256_set1_ps(decay), o = _mm256_set1_ps(1 - decay), l = _mm256_set1_ps(lr);
    const __m256 e = _mm256_set1_ps(epsilon), k = _mm256_set1_ps(scale);
    const int scaled = scale != 1;
    long i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 gi = _mm256_loadu_ps(g + i);
        if (scaled) { gi = _mm256_mul_ps(gi, k); _mm256_storeu_ps(g + i, gi); }
        const __m256 avg = _mm256_add_ps(_mm256_mul_ps(d, _mm256_loadu_ps(m1 + i)), _mm256_mul_ps(o, gi));
        const __m256 sq = _mm256_add_ps(_mm256_mul_ps(d, _mm256_loadu_ps(m2 + i)), _mm256_mul_ps(_mm256_mul_ps(o, gi), gi));
        _mm256_storeu_ps(m1 + i, avg);
        _mm256_storeu_ps(m2 + i, sq);
        const __m256 denom = _mm256_sqrt_ps(_mm256_add_ps(_mm256_sub_ps(sq, _mm256_mul_ps(avg, avg)), e));
        _mm256_storeu_ps(p + i, _mm256_sub_ps(_mm256_loadu_ps(p + i), _mm256_div_ps(_mm256_mul_ps(l, gi), denom)));
    }
    return i;
}
#endif

void arena_rmsprop_centered_step(float *p, float *g, float *m1, float *m2, long count, float gradientScale,
                                 float lr, float decay, float epsilon) {
    long i = 0;
#if defined(__x86_64__)
    const unsigned int csr = flushSubnormals();
    switch (arenaVectorLevel()) {
    case 2: i = rmsprop512(count, p, g, m1, m2, gradientScale, lr, decay, epsilon); break;
    case 1: i = rmsprop256(count, p, g, m1, m2, gradientScale, lr, decay, epsilon); break;
    }
#endif
    rmspropPlain(i, count, p, g, m1, m2, gradientScale, lr, decay, epsilon);
#if defined(__x86_64__)
    _mm_setcsr(csr);
#endif
}

// MARK: Lane sums and sums of squares

// g[i] += rest[l * stride + i] for l = 0 ..< extra in that order (when extra > 0), then the sum of
// g[i]^2 (each square in float, then added in double, element i into running sum i mod 4).
// Without `squares` only the lane sums.
static double sumPlain(long i, long count, float *g, const float *rest, long stride, int extra, double s[4]) {
    if (!s) {
        for (; i < count; i++) {
            float x = g[i];
            for (int l = 0; l < extra; l++) x = x + rest[l * stride + i];
            g[i] = x;
        }
        return 0;
    }
    for (; i + 4 <= count; i += 4) {
        for (int t = 0; t < 4; t++) {
            float x = g[i + t];
            for (int l = 0; l < extra; l++) x = x + rest[l * stride + i + t];
            if (extra > 0) g[i + t] = x;
            s[t] += (double)(x * x);
        }
    }
    double sum = s[0] + s[1] + s[2] + s[3];
    for (; i < count; i++) {
        float x = g[i];
        for (int l = 0; l < extra; l++) x = x + rest[l * stride + i];
        if (extra > 0) g[i] = x;
        sum += (double)(x * x);
    }
    return sum;
}

#if defined(__x86_64__)
// Both AVX paths keep the four running sums in one ymm of doubles, fed four floats at a time in
// order (the dependency chain is the plain loop's; the loads and lane sums overlap with it).
AVX512 static long sum512(long count, float *g, const float *rest, long stride, int extra, double s[4]) {
    __m256d acc = _mm256_loadu_pd(s);
    long i = 0;
    for (; i + 16 <= count; i += 16) {
        __m512 x = _mm512_loadu_ps(g + i);
        for (int l = 0; l < extra; l++) x = _mm512_add_ps(x, _mm512_loadu_ps(rest + l * stride + i));
        if (extra > 0) _mm512_storeu_ps(g + i, x);
        const __m512 sq = _mm512_mul_ps(x, x);
        acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm512_extractf32x4_ps(sq, 0)));
        acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm512_extractf32x4_ps(sq, 1)));
        acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm512_extractf32x4_ps(sq, 2)));
        acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm512_extractf32x4_ps(sq, 3)));
    }
    _mm256_storeu_pd(s, acc);
    return i;
}

AVX2 static long sum256(long count, float *g, const float *rest, long stride, int extra, double s[4]) {
    __m256d acc = _mm256_loadu_pd(s);
    long i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 x = _mm256_loadu_ps(g + i);
        for (int l = 0; l < extra; l++) x = _mm256_add_ps(x, _mm256_loadu_ps(rest + l * stride + i));
        if (extra > 0) _mm256_storeu_ps(g + i, x);
        const __m256 sq = _mm256_mul_ps(x, x);
        acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_castps256_ps128(sq)));
        acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_extractf128_ps(sq, 1)));
    }
    _mm256_storeu_pd(s, acc);
    return i;
}
#endif

#if defined(__x86_64__)
AVX512 static long lanes512(long count, float *g, const float *rest, long stride, int extra) {
    long i = 0;
    for (; i + 16 <= count; i += 16) {
        __m512 x = _mm512_loadu_ps(g + i);
        for (int l = 0; l < extra; l++) x = _mm512_add_ps(x, _mm512_loadu_ps(rest + l * stride + i));
        _mm512_storeu_ps(g + i, x);
    }
    return i;
}
#endif

double arena_sum_lanes_and_squares(float *g, const float *rest, long stride, int extraLanes, long count, int squares) {
    double s[4] = {0, 0, 0, 0};
    long i = 0;
    if (!squares && extraLanes <= 0) return 0;
#if defined(__x86_64__)
    switch (arenaVectorLevel()) {
    case 2: i = squares ? sum512(count, g, rest, stride, extraLanes, s) : lanes512(count, g, rest, stride, extraLanes); break;
    case 1: if (squares) i = sum256(count, g, rest, stride, extraLanes, s); break;
    }
#endif
    return sumPlain(i, count, g, rest, stride, extraLanes, squares ? s : 0);
}
