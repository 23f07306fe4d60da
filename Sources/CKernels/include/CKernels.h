// Hand-written CPU kernels that OpenBLAS does not offer, chosen at run time by what the CPU has.
// Every entry point is safe to call on any x86-64 CPU only after its `_supported` check says yes;
// callers (NeuralNet's BLAS seam) check once and never take a path the CPU cannot run.
#ifndef ARENA_CKERNELS_H
#define ARENA_CKERNELS_H

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

/// Rounds `count` floats to bfloat16 and back (round to nearest even, as the kernels do):
/// what the bf16 GEMM's operands are after packing. For tests and the reference product.
void arena_round_to_bf16(const float *in, float *out, long count);

#ifdef __cplusplus
}
#endif
#endif
