// Conv2D: valid (unpadded) 2-D convolution, forward and backward by hand, im2col + sgemm.
//
// Dimension legend
//   N  batch            C  input channels     H, W    input height, width
//   O  output channels  K  kernel size (KxK)  S       stride
//   OH = (H - K) / S + 1, OW = (W - K) / S + 1,  P = OH * OW   output pixels per sample
//   R  = C * K * K      rows of the patch matrix (one per weight of one output channel)
// Layouts
//   weight  [O, C, K, K]  (OIHW, PyTorch's)        bias [O]
//   public activations (files, reference): NCHW  [N, C, H, W]
//   internal activations: channel-major CNHW [C, N, H, W], so one GEMM covers the whole batch:
//     col    [R, N * P]        col[(c*K + ky)*K + kx][n*P + y*OW + x] = in[c][n][y*S + ky][x*S + kx]
//     output [O, N * P] = W [O, R] * col [R, N * P] + b   (already CNHW for the next layer)
// Nature DQN shapes (N = 32):
//   conv1 4x84x84  -> 32x20x20  K 8 S 4  R 256  col [256, 12800]
//   conv2 32x20x20 -> 64x9x9    K 4 S 2  R 512  col [512, 2592]
//   conv3 64x9x9   -> 64x7x7    K 3 S 1  R 576  col [576, 1568]
// Backward: parameter gradients ACCUMULATE into the gradient buffer (zeroing is its own step);
// the input gradient is WRITTEN (it is a workspace, not a parameter).

/// A convolution layer: shapes plus the offset of its weight and bias in the flat parameter buffer.
public struct Conv2D: Sendable, Equatable {
    public let inChannels: Int
    public let outChannels: Int
    public let kernel: Int
    public let stride: Int
    public let inHeight: Int
    public let inWidth: Int
    public let outHeight: Int
    public let outWidth: Int
    /// Offset of `weight` [O, C, K, K] in the flat buffers; `bias` [O] follows it.
    public let weightOffset: Int

    public init(inChannels: Int, outChannels: Int, kernel: Int, stride: Int,
                inHeight: Int, inWidth: Int, weightOffset: Int) {
        precondition(inChannels > 0 && outChannels > 0 && kernel > 0 && stride > 0,
                     "Conv2D needs positive channels, kernel and stride, got C \(inChannels) O \(outChannels) K \(kernel) S \(stride)")
        precondition(inHeight >= kernel && inWidth >= kernel,
                     "Conv2D input \(inHeight)x\(inWidth) is smaller than its kernel \(kernel)")
        self.inChannels = inChannels; self.outChannels = outChannels
        self.kernel = kernel; self.stride = stride
        self.inHeight = inHeight; self.inWidth = inWidth
        self.outHeight = (inHeight - kernel) / stride + 1
        self.outWidth = (inWidth - kernel) / stride + 1
        self.weightOffset = weightOffset
    }

    public var weightCount: Int { outChannels * inChannels * kernel * kernel }
    public var biasOffset: Int { weightOffset + weightCount }
    public var parameterCount: Int { weightCount + outChannels }
    /// R: rows of the patch matrix.
    public var patchRows: Int { inChannels * kernel * kernel }
    /// P: output pixels per sample.
    public var outPixels: Int { outHeight * outWidth }
    public var inPixels: Int { inHeight * inWidth }
    /// Floats of the patch matrix for `batch` samples.
    public func colCount(batch: Int) -> Int { patchRows * batch * outPixels }
    public func outputCount(batch: Int) -> Int { outChannels * batch * outPixels }
    public func inputCount(batch: Int) -> Int { inChannels * batch * inPixels }

    /// Patch matrix from a CNHW float input.
    func im2col(input: UnsafePointer<Float>, batch: Int, col: UnsafeMutablePointer<Float>) {
        let np = batch * outPixels
        for c in 0..<inChannels {
            for ky in 0..<kernel {
                for kx in 0..<kernel {
                    let row = col + ((c * kernel + ky) * kernel + kx) * np
                    var j = 0
                    for n in 0..<batch {
                        let plane = input + (c * batch + n) * inPixels + ky * inWidth + kx
                        for y in 0..<outHeight {
                            // safe because: y*S + ky < H and x*S + kx < W for every x < OW, and
                            // j < N*P; both buffers were sized by inputCount/colCount.
                            let src = plane + y * stride * inWidth
                            if stride == 1 {
                                (row + j).update(from: src, count: outWidth)
                            } else {
                                for x in 0..<outWidth { row[j + x] = src[x * stride] }
                            }
                            j += outWidth
                        }
                    }
                }
            }
        }
    }

    /// Patch matrix from NCHW uint8 observations [N, C, H, W], as raw 0...255 floats: the 1/255
    /// input scaling is folded into the GEMM's alpha (`forward(inputScale:)`).
    func im2col(observations: UnsafePointer<UInt8>, batch: Int, col: UnsafeMutablePointer<Float>) {
        let np = batch * outPixels
        for c in 0..<inChannels {
            for ky in 0..<kernel {
                for kx in 0..<kernel {
                    let row = col + ((c * kernel + ky) * kernel + kx) * np
                    var j = 0
                    for n in 0..<batch {
                        let plane = observations + (n * inChannels + c) * inPixels + ky * inWidth + kx
                        for y in 0..<outHeight {
                            // safe because: as above; the observation buffer holds N*C*H*W bytes.
                            let src = plane + y * stride * inWidth
                            for x in 0..<outWidth { row[j + x] = Float(src[x * stride]) }
                            j += outWidth
                        }
                    }
                }
            }
        }
    }

    /// output [O, N*P] = inputScale * W * col + b.
    func forward(col: UnsafePointer<Float>, batch: Int, parameters: UnsafePointer<Float>,
                 output: UnsafeMutablePointer<Float>, inputScale: Float = 1) {
        let np = batch * outPixels
        BLAS.gemm(transA: false, transB: false, m: outChannels, n: np, k: patchRows,
                  alpha: inputScale, a: parameters + weightOffset, lda: patchRows,
                  b: col, ldb: np, beta: 0, c: output, ldc: np)
        for o in 0..<outChannels {
            let b = parameters[biasOffset + o]
            let row = output + o * np
            for j in 0..<np { row[j] += b }
        }
    }

    /// dW += inputScale * dOut * col^T, db += row sums of dOut.
    func backwardParameters(col: UnsafePointer<Float>, dOutput: UnsafePointer<Float>, batch: Int,
                            gradients: UnsafeMutablePointer<Float>, inputScale: Float = 1) {
        let np = batch * outPixels
        BLAS.gemm(transA: false, transB: true, m: outChannels, n: patchRows, k: np,
                  alpha: inputScale, a: dOutput, lda: np, b: col, ldb: np,
                  beta: 1, c: gradients + weightOffset, ldc: patchRows)
        for o in 0..<outChannels {
            let row = dOutput + o * np
            var sum: Float = 0
            for j in 0..<np { sum += row[j] }
            gradients[biasOffset + o] += sum
        }
    }

    /// dInput [C, N, H, W] (CNHW, written) from dOutput, through dCol = W^T * dOut and col2im.
    /// `dCol` is scratch of colCount(batch) floats (the forward's col buffer can be reused once
    /// `backwardParameters` has consumed it).
    func backwardInput(dOutput: UnsafePointer<Float>, batch: Int, parameters: UnsafePointer<Float>,
                       dCol: UnsafeMutablePointer<Float>, dInput: UnsafeMutablePointer<Float>) {
        let np = batch * outPixels
        BLAS.gemm(transA: true, transB: false, m: patchRows, n: np, k: outChannels,
                  alpha: 1, a: parameters + weightOffset, lda: patchRows,
                  b: dOutput, ldb: np, beta: 0, c: dCol, ldc: np)
        dInput.update(repeating: 0, count: inputCount(batch: batch))
        for c in 0..<inChannels {
            for ky in 0..<kernel {
                for kx in 0..<kernel {
                    let row = UnsafePointer(dCol) + ((c * kernel + ky) * kernel + kx) * np
                    var j = 0
                    for n in 0..<batch {
                        let plane = dInput + (c * batch + n) * inPixels + ky * inWidth + kx
                        for y in 0..<outHeight {
                            // safe because: the mirror of im2col's indices.
                            let dst = plane + y * stride * inWidth
                            for x in 0..<outWidth { dst[x * stride] += row[j + x] }
                            j += outWidth
                        }
                    }
                }
            }
        }
    }
}
