// Hand-written CPU kernels that OpenBLAS does not offer, chosen at run time by what the CPU has.
// Every entry point is safe to call on any x86-64 CPU only after its `_supported` check says yes;
// callers (NeuralNet's BLAS seam) check once and never take a path the CPU cannot run.
#ifndef ARENA_CKERNELS_H
#define ARENA_CKERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when this CPU (and the OS, for the zmm state) can run the AVX512_BF16 kernels below.
int arena_bf16_gemm_supported(void);

/// C[m x n] = alpha * op(A) * op(B) + beta * C, row-major, with the products of op(A) and op(B)
/// taken in bfloat16 (each operand rounded to nearest even from fp32) and accumulated in fp32.
/// op(A) is [m x k] (A stored [k x m] when transA), op(B) is [k x n] (B stored [n x k] when transB).
/// beta == 0 never reads C. Deterministic: the same inputs give the same bits on any thread; the
/// sum over k runs in a fixed order (blocks of 256, pairs in order). Uses per-thread packing
/// buffers (allocated on a thread's first call, about 300 KB).
/// Returns 0, or -1 when the packing buffers could not be allocated (C is then untouched).
int arena_gemm_bf16(int transA, int transB, int m, int n, int k,
                    float alpha, const float *a, int lda,
                    const float *b, int ldb,
                    float beta, float *c, int ldc);

/// 32-bit words of op(B) [k x n] packed for the bf16 GEMM (arena_bf16_pack_b): about n * k / 2.
long arena_bf16_packed_b_words(int n, int k);

/// Packs op(B) [k x n] (B stored [n x k] when transB) once, rounded to bf16, in the order the GEMM
/// reads it, into `packed` (arena_bf16_packed_b_words(n, k) words, 64-byte aligned). For a
/// matrix multiplied many times between changes, such as a layer's weights.
void arena_bf16_pack_b(int transB, int n, int k, const float *b, int ldb, uint32_t *packed);

/// The part `part` of `parts` of arena_bf16_pack_b: its blocks (NC columns x KC rows of op(B))
/// numbered in order from `first`, those whose number is part modulo parts, written where the
/// whole pack puts them. The parts together write every word of the whole pack, each exactly
/// once. Returns the number of blocks (the next pack's `first`, to deal on where this one ends).
int arena_bf16_pack_b_part(int transB, int n, int k, const float *b, int ldb, uint32_t *packed,
                           int first, int part, int parts);

/// arena_gemm_bf16 with op(B) packed by arena_bf16_pack_b: the same bits as packing on the fly.
int arena_gemm_bf16_packed_b(int transA, int m, int n, int k, float alpha, const float *a, int lda,
                             const uint32_t *packedB, float beta, float *c, int ldc);

/// Rounds `count` floats to bfloat16 and back (round to nearest even, as the kernels do):
/// what the bf16 GEMM's operands are after packing. For tests and the reference product.
void arena_round_to_bf16(const float *in, float *out, long count);

// MARK: The optimizer's passes (optimizer.c), on any x86-64 CPU: AVX-512F, AVX2 or plain C, the
// same bits on every path. The two optimizer steps run with subnormals flushed to zero (inputs
// and results below 1.2e-38 are 0; the caller's floating-point mode is restored on return).

/// Which path the functions below take on this CPU: "avx512f", "avx2" or "plain".
const char *arena_optimizer_path(void);

/// For tests: makes the functions below and arena_patches_u8 take path `level` (0 plain, 1 AVX2,
/// 2 AVX-512F), or the best this CPU has when `level` is negative or beyond it; returns the level
/// now in use.
int arena_optimizer_use_path(int level);

/// One Adam step (PyTorch's formula) over `count` parameters: g' = g * gradientScale (stored
/// back into g when gradientScale != 1, the clipped gradient), m1 = beta1 m1 + (1 - beta1) g',
/// m2 = beta2 m2 + (1 - beta2) g'^2, p -= stepSize * m1 / (sqrt(m2) / bias2Sqrt + epsilon).
void arena_adam_step(float *p, float *g, float *m1, float *m2, long count, float gradientScale, float stepSize,
                     float beta1, float beta2, float bias2Sqrt, float epsilon);

/// One step of DeepMind's centered RMSProp (epsilon inside the square root), with the same
/// gradient scaling as arena_adam_step.
void arena_rmsprop_centered_step(float *p, float *g, float *m1, float *m2, long count, float gradientScale,
                                 float lr, float decay, float epsilon);

/// g[i] += rest[l * stride + i] for l = 0 ..< extraLanes in that order; then, with `squares`,
/// returns the sum of g[i]^2 (squares in float, summed in double into four running sums by
/// i mod 4, added, then the tail), else 0.
double arena_sum_lanes_and_squares(float *g, const float *rest, long stride, int extraLanes, long count, int squares);

/// conv1's patch matrix [batch * OH * OW, channels * kernel * kernel] from uint8 observations
/// [batch, channels, height, width] (no padding), rows in (c, ky, kx) order, as raw 0...255
/// floats; OH = (height - kernel) / stride + 1, likewise OW. Vector paths for kernel 8.
void arena_patches_u8(const uint8_t *obs, int batch, int channels, int height, int width, int kernel, int stride,
                      float *col);

#ifdef __cplusplus
}
#endif
#endif
