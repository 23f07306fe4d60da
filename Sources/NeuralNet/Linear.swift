// Linear: fully connected layer, forward and backward by hand over sgemm.
//
// Dimension legend
//   N  batch   I  input features   O  output features
// Layouts (PyTorch's): weight [O, I], bias [O], input [N, I], output [N, O]
//   forward:  y [N, O] = x [N, I] * W^T + b
//   backward: dW [O, I] += dy^T * x,  db [O] += column sums of dy,  dx [N, I] = dy * W
// Nature DQN shapes: fc1 3136 -> 512, fc2 512 -> A (dueling: fc1_value and fc1_advantage
// 3136 -> 512, value 512 -> 1, advantage 512 -> A).
// Parameter gradients ACCUMULATE (or are written, with `accumulate: false`); the input gradient is
// written (or added, with `accumulate`).

/// A fully connected layer: shapes plus the offset of its weight and bias in the flat buffers.
public struct Linear: Sendable, Equatable {
    public let inFeatures: Int
    public let outFeatures: Int
    /// Offset of `weight` [O, I] in the flat buffers; `bias` [O] follows it.
    public let weightOffset: Int

    public init(inFeatures: Int, outFeatures: Int, weightOffset: Int) {
        precondition(inFeatures > 0 && outFeatures > 0,
                     "Linear needs positive sizes, got \(inFeatures) -> \(outFeatures)")
        self.inFeatures = inFeatures; self.outFeatures = outFeatures; self.weightOffset = weightOffset
    }

    public var weightCount: Int { inFeatures * outFeatures }
    public var biasOffset: Int { weightOffset + weightCount }
    public var parameterCount: Int { weightCount + outFeatures }

    /// y = x W^T + b, then ReLU when `relu`. One sample uses gemv (no packing of W).
    /// With bf16 and `packed` (this layer's weights packed for the forward GEMM), the GEMM reads
    /// the packed weights: the same bits.
    func forward(input: UnsafePointer<Float>, batch: Int, parameters: UnsafePointer<Float>,
                 output: UnsafeMutablePointer<Float>, relu: Bool = false, precision: Precision = .fp32,
                 packed: UnsafePointer<UInt32>? = nil) {
        if batch == 1 {
            BLAS.gemv(m: outFeatures, n: inFeatures, alpha: 1, a: parameters + weightOffset, lda: inFeatures,
                      x: input, beta: 0, y: output)
        } else if precision == .bf16, let packed {
            BLAS.gemmBF16(transA: false, m: batch, n: outFeatures, k: inFeatures, alpha: 1, a: input, lda: inFeatures,
                          packedB: packed, beta: 0, c: output, ldc: outFeatures)
        } else {
            BLAS.gemm(transA: false, transB: true, m: batch, n: outFeatures, k: inFeatures,
                      alpha: 1, a: input, lda: inFeatures, b: parameters + weightOffset, ldb: inFeatures,
                      beta: 0, c: output, ldc: outFeatures, precision: precision)
        }
        Activations.addBias(parameters + biasOffset, rows: batch, columns: outFeatures, to: output, relu: relu)
    }

    func backwardParameters(input: UnsafePointer<Float>, dOutput: UnsafePointer<Float>, batch: Int,
                            gradients: UnsafeMutablePointer<Float>, accumulate: Bool = true, precision: Precision = .fp32) {
        BLAS.gemm(transA: true, transB: false, m: outFeatures, n: inFeatures, k: batch,
                  alpha: 1, a: dOutput, lda: outFeatures, b: input, ldb: inFeatures,
                  beta: accumulate ? 1 : 0, c: gradients + weightOffset, ldc: inFeatures, precision: precision)
        Activations.columnSums(dOutput, rows: batch, columns: outFeatures, into: gradients + biasOffset, accumulate: accumulate)
    }

    func backwardInput(dOutput: UnsafePointer<Float>, batch: Int, parameters: UnsafePointer<Float>,
                       dInput: UnsafeMutablePointer<Float>, accumulate: Bool, precision: Precision = .fp32,
                       packed: UnsafePointer<UInt32>? = nil) {
        if precision == .bf16, let packed {
            BLAS.gemmBF16(transA: false, m: batch, n: inFeatures, k: outFeatures, alpha: 1, a: dOutput, lda: outFeatures,
                          packedB: packed, beta: accumulate ? 1 : 0, c: dInput, ldc: inFeatures)
            return
        }
        BLAS.gemm(transA: false, transB: false, m: batch, n: inFeatures, k: outFeatures,
                  alpha: 1, a: dOutput, lda: outFeatures, b: parameters + weightOffset, ldb: inFeatures,
                  beta: accumulate ? 1 : 0, c: dInput, ldc: inFeatures, precision: precision)
    }
}
