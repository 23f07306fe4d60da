// Conv2D: valid (unpadded) 2-D convolution, forward and backward by hand, im2col + sgemm.
//
// Dimension legend
//   N  batch            C  input channels     H, W    input height, width
//   O  output channels  K  kernel size (KxK)  S       stride
//   OH = (H - K) / S + 1, OW = (W - K) / S + 1,  P = OH * OW   output pixels per sample
//   R  = C * K * K      patch length (weights of one output channel)
// Layouts
//   weight  [O, C, K, K]  (OIHW, PyTorch's; the flat parameter buffer always holds this)  bias [O]
//   public activations (files, references): NCHW [N, C, H, W]
//   internal activations: pixel-major NHWC [N, H, W, C], so a patch row is K runs of K*C
//   contiguous floats and one GEMM covers the whole batch:
//     col    [N*P, R]   row (n, y, x) holds the patch under output pixel (y, x) of sample n,
//                       in (ky, kx, c) order for NHWC float input,
//                       in (c, ky, kx) order (= OIHW) for the NCHW uint8 observations of conv1
//     output [N*P, O] = col [N*P, R] * Wk^T [R, O] + b   (NHWC again, for the next layer)
//   Wk [O, R] is the weight in the patch order: OIHW itself for conv1, a permuted copy
//   (`permuteWeights`) for NHWC inputs; its gradient is scattered back to OIHW.
// Nature DQN shapes (N = 32):
//   conv1 4x84x84  -> 20x20x32  K 8 S 4  R 256  col [12800, 256]
//   conv2 20x20x32 -> 9x9x64    K 4 S 2  R 512  col [2592, 512]
//   conv3 9x9x64   -> 7x7x64    K 3 S 1  R 576  col [1568, 576]
// Backward: parameter gradients ACCUMULATE into the gradient buffer, or are written (the learner:
// no zeroing pass);
// the input gradient is WRITTEN (it is a workspace, not a parameter).

import CKernels

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
    /// R: patch length.
    public var patchRows: Int { inChannels * kernel * kernel }
    /// P: output pixels per sample.
    public var outPixels: Int { outHeight * outWidth }
    public var inPixels: Int { inHeight * inWidth }
    /// Floats of the patch matrix for `batch` samples.
    public func colCount(batch: Int) -> Int { patchRows * batch * outPixels }
    public func outputCount(batch: Int) -> Int { outChannels * batch * outPixels }
    public func inputCount(batch: Int) -> Int { inChannels * batch * inPixels }

    // MARK: Weight order

    /// Wk[o][(ky*K + kx)*C + c] = W[o][c][ky][kx]: the weight in NHWC patch order.
    func permuteWeights(parameters: UnsafePointer<Float>, into wk: UnsafeMutablePointer<Float>) {
        let w = parameters + weightOffset, kk = kernel * kernel
        for o in 0..<outChannels {
            for c in 0..<inChannels {
                for k in 0..<kk {
                    // safe because: o*R + k*C + c < O*R and o*R + c*K*K + k < O*R.
                    wk[o * patchRows + k * inChannels + c] = w[o * patchRows + c * kk + k]
                }
            }
        }
    }

    /// grad W[o][c][ky][kx] += dWk[o][(ky*K + kx)*C + c] (or =, without `accumulate`).
    func accumulatePermutedGradient(_ dwk: UnsafePointer<Float>, into gradients: UnsafeMutablePointer<Float>,
                                    accumulate: Bool = true) {
        let g = gradients + weightOffset, kk = kernel * kernel
        for o in 0..<outChannels {
            for c in 0..<inChannels {
                if accumulate {
                    for k in 0..<kk { g[o * patchRows + c * kk + k] += dwk[o * patchRows + k * inChannels + c] }
                } else {
                    for k in 0..<kk { g[o * patchRows + c * kk + k] = dwk[o * patchRows + k * inChannels + c] }
                }
            }
        }
    }

    // MARK: Patches

    /// Patch matrix [N*P, R] from an NHWC float input, patch order (ky, kx, c).
    func im2col(input: UnsafePointer<Float>, batch: Int, col: UnsafeMutablePointer<Float>) {
        let run = kernel * inChannels
        var row = col
        for n in 0..<batch {
            for y in 0..<outHeight {
                for x in 0..<outWidth {
                    let corner = input + ((n * inHeight + y * stride) * inWidth + x * stride) * inChannels
                    for ky in 0..<kernel {
                        // safe because: pixels (y*S + ky, x*S ... x*S + K-1) lie inside the
                        // H x W input, and `row` advances by R per output pixel (N*P rows).
                        (row + ky * run).update(from: corner + ky * inWidth * inChannels, count: run)
                    }
                    row += patchRows
                }
            }
        }
    }

    /// Patch matrix [N*P, R] from NCHW uint8 observations [N, C, H, W] in (c, ky, kx) order
    /// (OIHW's), as raw 0...255 floats: the 1/255 scaling rides on the GEMM's alpha.
    func im2col(observations: UnsafePointer<UInt8>, batch: Int, col: UnsafeMutablePointer<Float>) {
        // safe because: the observations hold N*C*H*W bytes and col N*P*R floats (the kernel
        // writes exactly those rows, the loop below's order).
        arena_patches_u8(observations, Int32(batch), Int32(inChannels), Int32(inHeight), Int32(inWidth), Int32(kernel),
                         Int32(stride), col)
    }

    /// `im2col(observations:)` as a Swift loop: the reference the C kernel is tested against.
    func im2colLoop(observations: UnsafePointer<UInt8>, batch: Int, col: UnsafeMutablePointer<Float>) {
        var row = col
        for n in 0..<batch {
            let sample = observations + n * inChannels * inPixels
            for y in 0..<outHeight {
                for x in 0..<outWidth {
                    var dst = row
                    for c in 0..<inChannels {
                        let corner = sample + (c * inHeight + y * stride) * inWidth + x * stride
                        for ky in 0..<kernel {
                            // safe because: as above; the observations hold N*C*H*W bytes.
                            let src = corner + ky * inWidth
                            Vectorized.widen(src, to: dst, count: kernel)
                            dst += kernel
                        }
                    }
                    row += patchRows
                }
            }
        }
    }

    /// `im2col` with the samples split between the caller and `worker`.
    func im2colSplit(input: UnsafePointer<Float>, batch: Int, col: UnsafeMutablePointer<Float>, worker: WorkerThread?) {
        splitWork(worker, count: batch) { s in
            im2col(input: input + s.lowerBound * inPixels * inChannels, batch: s.count,
                   col: col + s.lowerBound * outPixels * patchRows)
        }
    }

    /// `im2col(observations:)` with the samples split between the caller and `worker`.
    func im2colSplit(observations: UnsafePointer<UInt8>, batch: Int, col: UnsafeMutablePointer<Float>, worker: WorkerThread?) {
        splitWork(worker, count: batch) { s in
            im2col(observations: observations + s.lowerBound * inPixels * inChannels, batch: s.count,
                   col: col + s.lowerBound * outPixels * patchRows)
        }
    }

    // MARK: Forward and backward

    /// output [N*P, O] = inputScale * col * Wk^T + b, then ReLU when `relu`.
    func forward(col: UnsafePointer<Float>, batch: Int, weights wk: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                 output: UnsafeMutablePointer<Float>, inputScale: Float = 1, relu: Bool, precision: Precision = .fp32) {
        let rows = batch * outPixels
        BLAS.gemm(transA: false, transB: true, m: rows, n: outChannels, k: patchRows,
                  alpha: inputScale, a: col, lda: patchRows, b: wk, ldb: patchRows,
                  beta: 0, c: output, ldc: outChannels, precision: precision)
        Activations.addBias(bias, rows: rows, columns: outChannels, to: output, relu: relu)
    }

    /// dWk [O, R] = inputScale * dOut^T * col + beta * dWk; grad b += column sums of dOut (=,
    /// without `accumulateBias`).
    func backwardParameters(col: UnsafePointer<Float>, dOutput: UnsafePointer<Float>, batch: Int,
                            dWeights: UnsafeMutablePointer<Float>, beta: Float, dBias: UnsafeMutablePointer<Float>,
                            accumulateBias: Bool = true, inputScale: Float = 1, precision: Precision = .fp32) {
        let rows = batch * outPixels
        BLAS.gemm(transA: true, transB: false, m: outChannels, n: patchRows, k: rows,
                  alpha: inputScale, a: dOutput, lda: outChannels, b: col, ldb: patchRows,
                  beta: beta, c: dWeights, ldc: patchRows, precision: precision)
        Activations.columnSums(dOutput, rows: rows, columns: outChannels, into: dBias, accumulate: accumulateBias)
    }

    /// dInput [N, H, W, C] (NHWC, written) from dOutput [N*P, O], through dCol = dOut * Wk
    /// and col2im. `dCol` is scratch of colCount(batch) floats (the forward's col buffer can be
    /// reused once `backwardParameters` has consumed it).
    func backwardInput(dOutput: UnsafePointer<Float>, batch: Int, weights wk: UnsafePointer<Float>,
                       dCol: UnsafeMutablePointer<Float>, dInput: UnsafeMutablePointer<Float>,
                       worker: WorkerThread? = nil, precision: Precision = .fp32) {
        let rows = batch * outPixels
        BLAS.gemm(transA: false, transB: false, m: rows, n: patchRows, k: outChannels,
                  alpha: 1, a: dOutput, lda: outChannels, b: wk, ldb: patchRows,
                  beta: 0, c: dCol, ldc: patchRows, precision: precision)
        // Samples own disjoint slices of dCol and dInput, so halves can run side by side.
        splitWork(worker, count: batch) { samples in
            col2im(dCol: dCol + samples.lowerBound * outPixels * patchRows, batch: samples.count,
                   dInput: dInput + samples.lowerBound * inPixels * inChannels)
        }
    }

    /// dInput [N, H, W, C] (written) from dCol [N*P, R] in (ky, kx, c) order.
    func col2im(dCol: UnsafePointer<Float>, batch: Int, dInput: UnsafeMutablePointer<Float>) {
        dInput.update(repeating: 0, count: inputCount(batch: batch))
        let run = kernel * inChannels
        var row = dCol
        for n in 0..<batch {
            for y in 0..<outHeight {
                for x in 0..<outWidth {
                    let corner = dInput + ((n * inHeight + y * stride) * inWidth + x * stride) * inChannels
                    for ky in 0..<kernel {
                        // safe because: the mirror of im2col's indices.
                        Vectorized.add(row + ky * run, to: corner + ky * inWidth * inChannels, count: run)
                    }
                    row += patchRows
                }
            }
        }
    }
}
