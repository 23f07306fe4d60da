// Naive references for every fast kernel: triple-loop GEMM, direct convolution, plain linear layer.
// They work on arrays in PyTorch's layouts (NCHW activations, OIHW weights, [out, in] linear
// weights), accumulate in Double, and are written for clarity, not speed. Tests compare the fast
// kernels (im2col + sgemm over the pixel-major NHWC internal layout) against them.

/// Slow, obviously-correct versions of the kernels, used by the tests.
public enum Reference {
    /// Same contract as `BLAS.gemm`, on arrays: C = alpha * op(A) * op(B) + beta * C (row-major).
    public static func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: [Float], lda: Int, b: [Float], ldb: Int,
        beta: Float, c: inout [Float], ldc: Int
    ) {
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k {
                    let av = transA ? a[p * lda + i] : a[i * lda + p]
                    let bv = transB ? b[j * ldb + p] : b[p * ldb + j]
                    sum += Double(av) * Double(bv)
                }
                let old = beta == 0 ? 0 : Double(beta) * Double(c[i * ldc + j])
                c[i * ldc + j] = Float(Double(alpha) * sum + old)
            }
        }
    }

    /// Direct convolution, no padding. input [N, C, H, W], weight [O, C, K, K], bias [O]
    /// -> output [N, O, OH, OW] with OH = (H - K) / stride + 1.
    public static func conv2dForward(
        input: [Float], batch: Int, channels: Int, height: Int, width: Int,
        weight: [Float], bias: [Float], outChannels: Int, kernel: Int, stride: Int
    ) -> [Float] {
        let oh = (height - kernel) / stride + 1, ow = (width - kernel) / stride + 1
        var out = [Float](repeating: 0, count: batch * outChannels * oh * ow)
        for n in 0..<batch {
            for o in 0..<outChannels {
                for y in 0..<oh {
                    for x in 0..<ow {
                        var sum = Double(bias[o])
                        for c in 0..<channels {
                            for ky in 0..<kernel {
                                for kx in 0..<kernel {
                                    let iv = input[((n * channels + c) * height + y * stride + ky) * width + x * stride + kx]
                                    let wv = weight[((o * channels + c) * kernel + ky) * kernel + kx]
                                    sum += Double(iv) * Double(wv)
                                }
                            }
                        }
                        out[((n * outChannels + o) * oh + y) * ow + x] = Float(sum)
                    }
                }
            }
        }
        return out
    }

    /// Gradients of `conv2dForward` given dL/dOutput [N, O, OH, OW]:
    /// (dInput [N, C, H, W], dWeight [O, C, K, K], dBias [O]).
    public static func conv2dBackward(
        input: [Float], batch: Int, channels: Int, height: Int, width: Int,
        weight: [Float], outChannels: Int, kernel: Int, stride: Int, dOutput: [Float]
    ) -> (dInput: [Float], dWeight: [Float], dBias: [Float]) {
        let oh = (height - kernel) / stride + 1, ow = (width - kernel) / stride + 1
        var dIn = [Double](repeating: 0, count: input.count)
        var dW = [Double](repeating: 0, count: weight.count)
        var dB = [Double](repeating: 0, count: outChannels)
        for n in 0..<batch {
            for o in 0..<outChannels {
                for y in 0..<oh {
                    for x in 0..<ow {
                        let g = Double(dOutput[((n * outChannels + o) * oh + y) * ow + x])
                        dB[o] += g
                        for c in 0..<channels {
                            for ky in 0..<kernel {
                                for kx in 0..<kernel {
                                    let ii = ((n * channels + c) * height + y * stride + ky) * width + x * stride + kx
                                    let wi = ((o * channels + c) * kernel + ky) * kernel + kx
                                    dW[wi] += g * Double(input[ii])
                                    dIn[ii] += g * Double(weight[wi])
                                }
                            }
                        }
                    }
                }
            }
        }
        return (dIn.map { Float($0) }, dW.map { Float($0) }, dB.map { Float($0) })
    }

    /// y [N, out] = x [N, in] * W^T + b with W [out, in].
    public static func linearForward(input: [Float], batch: Int, inFeatures: Int,
                                     weight: [Float], bias: [Float], outFeatures: Int) -> [Float] {
        var out = [Float](repeating: 0, count: batch * outFeatures)
        for n in 0..<batch {
            for o in 0..<outFeatures {
                var sum = Double(bias[o])
                for i in 0..<inFeatures { sum += Double(input[n * inFeatures + i]) * Double(weight[o * inFeatures + i]) }
                out[n * outFeatures + o] = Float(sum)
            }
        }
        return out
    }

    /// Gradients of `linearForward`: (dInput [N, in], dWeight [out, in], dBias [out]).
    public static func linearBackward(input: [Float], batch: Int, inFeatures: Int, weight: [Float],
                                      outFeatures: Int, dOutput: [Float])
        -> (dInput: [Float], dWeight: [Float], dBias: [Float]) {
        var dIn = [Double](repeating: 0, count: input.count)
        var dW = [Double](repeating: 0, count: weight.count)
        var dB = [Double](repeating: 0, count: outFeatures)
        for n in 0..<batch {
            for o in 0..<outFeatures {
                let g = Double(dOutput[n * outFeatures + o])
                dB[o] += g
                for i in 0..<inFeatures {
                    dW[o * inFeatures + i] += g * Double(input[n * inFeatures + i])
                    dIn[n * inFeatures + i] += g * Double(weight[o * inFeatures + i])
                }
            }
        }
        return (dIn.map { Float($0) }, dW.map { Float($0) }, dB.map { Float($0) })
    }
}
