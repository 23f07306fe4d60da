// CDNN: a small C API over oneDNN (Debian's libdnnl 2.6) for the Q-network's three convolutions:
// forward (bias and ReLU fused), weight gradient and input gradient, in fp32 or bf16 (bf16
// sources, weights and output gradients; fp32 results, weight gradients and accumulation).
//
// Layouts are the arena's (see NeuralNet/Conv2D.swift): activations and their gradients NHWC
// float [n, H, W, C]; weights and their gradients OIHW float (the flat parameter buffer's);
// conv1 reads the uint8 NCHW frames [n, C, H, W] and scales them by 1/255. oneDNN's own weight
// layouts are reordered into on every call (the weights are small; the frames and activations
// are read as they are).
//
// One handle per layer and per thread that uses it: a handle keeps, per batch size, its
// primitives, scratchpads and conversion buffers, and is not safe to share between threads.
// Every call runs on the calling thread alone (its OpenMP thread count is set to 1), so results
// are deterministic for a given CPU, batch size and precision.
//
// Status convention: 0 = success, -1 = failure with a sentence from arena_dnn_conv_error.
#ifndef CDNN_H
#define CDNN_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

typedef struct arena_dnn_conv arena_dnn_conv;

/// oneDNN's version, e.g. "2.6.3".
const char *arena_dnn_version(void);

/// A convolution of `in_channels` x `height` x `width` inputs into `out_channels` maps with a
/// `kernel` x `kernel` window at `stride`, unpadded. `bf16`: bf16 products; `frames`: the input is
/// uint8 NCHW frames scaled by 1/255 (conv1), else NHWC floats; `input_gradient`: the input
/// gradient will be asked for. NULL on failure, with a sentence in `err`.
arena_dnn_conv *arena_dnn_conv_create(int in_channels, int height, int width, int out_channels, int kernel, int stride,
                                      int bf16, int frames, int input_gradient, char *err, size_t err_len);
void arena_dnn_conv_destroy(arena_dnn_conv *conv);

/// For tests: 1 widens conv1's frames with oneDNN's reorder, 0 (the default) with our kernel where
/// it runs (bf16, 4 channels, AVX-512BW). Both give the same bits.
void arena_dnn_conv_use_reference_widening(arena_dnn_conv *conv, int on);

/// The last failure's sentence ("" when none).
const char *arena_dnn_conv_error(const arena_dnn_conv *conv);

/// Builds the primitives for batch size `n` now (else at its first use). 0 or -1.
int arena_dnn_conv_prepare(arena_dnn_conv *conv, int n);

/// oneDNN's implementation of pass 0 (forward), 1 (weight gradient) or 2 (input gradient) at
/// batch size `n` (prepared), e.g. "brgconv:avx512_core_bf16"; "" when unknown.
const char *arena_dnn_conv_implementation(arena_dnn_conv *conv, int n, int pass);

/// output [n, OH, OW, O] (NHWC float, written) = ReLU(conv(input, weights) + bias).
/// input: NHWC floats, or for frames uint8 NCHW, `n` samples at `input` followed by `more_n`
/// samples at `more` (frames only; NULL and 0 otherwise): one pass over n + more_n samples.
int arena_dnn_conv_forward(arena_dnn_conv *conv, const void *input, int n, const uint8_t *more, int more_n,
                           const float *weights, const float *bias, float *output);

/// Weight and bias gradients from the input of the forward pass (as there) and the gradient of
/// the output after the ReLU's mask (NHWC float [n, OH, OW, O]): written into `d_weights` (OIHW)
/// and `d_bias`, or added to them with `accumulate`.
int arena_dnn_conv_backward_weights(arena_dnn_conv *conv, const void *input, int n, const float *d_output,
                                    float *d_weights, float *d_bias, int accumulate);

/// d_input [n, H, W, C] (NHWC float, written) from d_output [n, OH, OW, O]. Not for frames.
int arena_dnn_conv_backward_data(arena_dnn_conv *conv, int n, const float *d_output, const float *weights,
                                 float *d_input);

#ifdef __cplusplus
}
#endif
#endif
