// conv1's patch matrix straight from the uint8 observations, as raw 0...255 floats (exact at any
// width): for every sample n and output pixel (y, x), one row of C*K*K floats in (c, ky, kx)
// order. The 8x8 kernel of the Nature network gets vector paths (AVX-512F: two kernel rows, 16
// bytes, per conversion; AVX2: one row of 8), chosen at run time as the optimizer's passes are
// (arenaVectorLevel); other shapes the plain loop.
#include "CKernels.h"
#include "vector_level.h"
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>

#endif

static void patchesPlain(const uint8_t *obs, int batch, int c, int h, int w, int k, int s, float *col) {
    const int oh = (h - k) / s + 1, ow = (w - k) / s + 1;
    for (int n = 0; n < batch; n++) {
        const uint8_t *sample = obs + (size_t)n * c * h * w;
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++)
                for (int ch = 0; ch < c; ch++)
                    for (int ky = 0; ky < k; ky++) {
                        const uint8_t *src = sample + ((size_t)ch * h + y * s + ky) * w + x * s;
                        for (int kx = 0; kx < k; kx++) *col++ = (float)src[kx];
                    }
    }
}

#if defined(__x86_64__)
__attribute__((target("avx512f")))
static void patches8x512(const uint8_t *obs, int batch, int c, int h, int w, int s, float *col) {
    const int oh = (h - 8) / s + 1, ow = (w - 8) / s + 1;
    for (int n = 0; n < batch; n++) {
        const uint8_t *sample = obs + (size_t)n * c * h * w;
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++)
                for (int ch = 0; ch < c; ch++) {
                    const uint8_t *src = sample + ((size_t)ch * h + y * s) * w + x * s;
                    for (int ky = 0; ky < 8; ky += 2, src += 2 * w, col += 16) {
                        uint64_t r0, r1;
                        memcpy(&r0, src, 8);
                        memcpy(&r1, src + w, 8);
                        const __m128i bytes = _mm_set_epi64x((long long)r1, (long long)r0);
                        _mm512_storeu_ps(col, _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(bytes)));
                    }
                }
    }
}

__attribute__((target("avx2")))
static void patches8x256(const uint8_t *obs, int batch, int c, int h, int w, int s, float *col) {
    const int oh = (h - 8) / s + 1, ow = (w - 8) / s + 1;
    for (int n = 0; n < batch; n++) {
        const uint8_t *sample = obs + (size_t)n * c * h * w;
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++)
                for (int ch = 0; ch < c; ch++) {
                    const uint8_t *src = sample + ((size_t)ch * h + y * s) * w + x * s;
                    for (int ky = 0; ky < 8; ky++, src += w, col += 8) {
                        uint64_t r;
                        memcpy(&r, src, 8);
                        const __m128i bytes = _mm_cvtsi64_si128((long long)r);
                        _mm256_storeu_ps(col, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes)));
                    }
                }
    }
}

#endif

void arena_patches_u8(const uint8_t *obs, int batch, int channels, int height, int width, int kernel, int stride,
                      float *col) {
#if defined(__x86_64__)
    const int patchPath = arenaVectorLevel();
    if (kernel == 8 && patchPath == 2) { patches8x512(obs, batch, channels, height, width, stride, col); return; }
    if (kernel == 8 && patchPath == 1) { patches8x256(obs, batch, channels, height, width, stride, col); return; }
#endif
    patchesPlain(obs, batch, channels, height, width, kernel, stride, col);
}
