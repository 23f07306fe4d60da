import Foundation
import Testing
@testable import NeuralNet

/// The bf16 GEMM (AVX512_BF16, bf16 products with fp32 accumulation) and the learner built on it.
/// On a CPU without AVX512_BF16 the path must say so and refuse; on one with it, the numbers must
/// be those of the rounded operands, deterministic, and resumable bit-exactly.
@Suite struct BF16Tests {
    @Test func withoutAVX512BF16ThePathRefusesWithASentence() {
        #expect(Precision.fp32.isSupported && Precision.fp32.unsupportedReason == nil)
        if BLAS.bf16Supported {
            #expect(Precision.bf16.isSupported && Precision.bf16.unsupportedReason == nil)
        } else {
            let reason = Precision.bf16.unsupportedReason ?? ""
            #expect(reason.contains("AVX512_BF16") && reason.contains("fp32"), "\(reason)")
        }
    }

    @Test func roundingIsToNearestEven() {
        // 1 + 2^-8 lies halfway between two bf16 values (1 and 1 + 2^-7): ties go to the even one (1).
        let halfway = Float(bitPattern: 0x3F80_8000), above = Float(bitPattern: 0x3F80_8001)
        let r = BLAS.roundedToBF16([1, halfway, above, -2.5, 0])
        #expect(r == [1, 1, Float(bitPattern: 0x3F81_0000), -2.5, 0])
    }

    /// Weights packed once (PackedLinearWeights) give the bits of packing in each GEMM, for the
    /// forward and the input-gradient GEMMs, across the 256-k and 512-n block boundaries.
    @Test(.enabled(if: BLAS.bf16Supported, "needs a CPU with AVX512_BF16"),
          arguments: [(3, 7, 5), (16, 3136, 512), (32, 600, 33), (7, 300, 1030)])
    func packedWeightsGiveTheSameBits(shape: (Int, Int, Int)) {
        let (batch, inputs, outputs) = shape
        let layer = Linear(inFeatures: inputs, outFeatures: outputs, weightOffset: 5)
        let parameters = randomFloats(5 + layer.parameterCount, seed: 41)
        let x = randomFloats(batch * inputs, seed: 42), dy = randomFloats(batch * outputs, seed: 43)
        let packed = PackedLinearWeights(linears: [layer], withInputGradients: true)
        parameters.withUnsafeBufferPointer { p in packed.pack(parameters: p.base, worker: nil) }
        func run(_ usePacked: Bool) -> (y: [Float], dx: [Float]) {
            var y = [Float](repeating: .nan, count: batch * outputs), dx = randomFloats(batch * inputs, seed: 44)
            parameters.withUnsafeBufferPointer { p in x.withUnsafeBufferPointer { x in dy.withUnsafeBufferPointer { dy in
            y.withUnsafeMutableBufferPointer { y in dx.withUnsafeMutableBufferPointer { dx in
                layer.forward(input: x.base, batch: batch, parameters: p.base, output: y.baseAddress!, relu: true,
                              precision: .bf16, packed: usePacked ? packed.forward(0) : nil)
                layer.backwardInput(dOutput: dy.base, batch: batch, parameters: p.base, dInput: dx.baseAddress!,
                                    accumulate: true, precision: .bf16, packed: usePacked ? packed.inputGradient(0) : nil)
            } } } } }
            return (y, dx)
        }
        let onTheFly = run(false), prepacked = run(true)
        #expect(prepacked.y == onTheFly.y, "forward: packed weights changed the bits")
        #expect(prepacked.dx == onTheFly.dx, "input gradient: packed weights changed the bits")
        #expect(onTheFly.y.allSatisfy(\.isFinite) && onTheFly.dx.contains { $0 != 0 })
    }

    /// Packing split over a worker's parts, block by block, writes the words of packing on one
    /// thread: the plain head's layers (one large, one small) and the dueling head's four.
    @Test(.enabled(if: BLAS.bf16Supported, "needs a CPU with AVX512_BF16"),
          arguments: [[(3136, 512), (512, 6)], [(3136, 512), (3136, 512), (512, 1), (512, 18)], [(600, 33), (70, 1030)]])
    func packingSplitOverThreadsWritesTheSameWords(shapes: [(inputs: Int, outputs: Int)]) {
        var offset = 3
        let layers = shapes.map { s in
            defer { offset += s.inputs * s.outputs + s.outputs }
            return Linear(inFeatures: s.inputs, outFeatures: s.outputs, weightOffset: offset)
        }
        let parameters = randomFloats(offset, seed: 45)
        func packed(parts: Int) -> [UInt32] {
            let packs = PackedLinearWeights(linears: layers, withInputGradients: true)
            let worker = parts > 1 ? WorkerThread(parts: parts) : nil
            parameters.withUnsafeBufferPointer { p in packs.pack(parameters: p.base, worker: worker) }
            return packs.words
        }
        let one = packed(parts: 1)
        #expect(one.contains { $0 != 0 })
        for parts in [2, 3] { #expect(packed(parts: parts) == one, "\(parts) parts packed other words") }
    }

    /// Every transpose combination, ragged sizes (tails of the 12 x 32 tile, odd k, k across the
    /// 256-block boundary), alpha/beta, leading dimensions wider than the matrices.
    @Test(.enabled(if: BLAS.bf16Supported, "needs a CPU with AVX512_BF16"),
          arguments: [(1, 1, 1), (13, 33, 3), (12, 32, 256), (25, 70, 257), (100, 17, 513), (97, 130, 300), (5, 6, 40)])
    func gemmMatchesTheReferenceOnTheRoundedOperands(shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        var differsFromFP32 = false
        for transA in [false, true] {
            for transB in [false, true] {
                for (alpha, beta) in [(Float(1), Float(0)), (0.5, 1.5)] {
                    let lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 2, ldc = n + 1
                    let a = randomFloats((transA ? k : m) * lda, seed: UInt64(m * 31 + k))
                    let b = randomFloats((transB ? n : k) * ldb, seed: UInt64(n * 17 + k))
                    // beta 0 must not read C: NaN there would poison the result.
                    let c0 = beta == 0 ? [Float](repeating: .nan, count: m * ldc) : randomFloats(m * ldc, seed: 9)
                    var c = c0
                    a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
                        BLAS.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: pa.baseAddress!, lda: lda,
                                  b: pb.baseAddress!, ldb: ldb, beta: beta, c: pc.baseAddress!, ldc: ldc, precision: .bf16)
                    } } }
                    var want = c0.map { $0.isNaN ? 0 : $0 }
                    Reference.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                                   a: BLAS.roundedToBF16(a), lda: lda, b: BLAS.roundedToBF16(b), ldb: ldb,
                                   beta: beta, c: &want, ldc: ldc)
                    var exact = want
                    Reference.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                                   b: b, ldb: ldb, beta: beta, c: &exact, ldc: ldc)
                    for i in 0..<m {
                        for j in 0..<n {
                            let got = c[i * ldc + j], ref = want[i * ldc + j]
                            #expect(abs(got - ref) <= 2e-6 * Float(k) + 1e-5 * abs(ref),
                                    "C[\(i)][\(j)] \(got) vs \(ref) (transA \(transA), transB \(transB))")
                            if abs(got - exact[i * ldc + j]) > 1e-4 { differsFromFP32 = true }
                        }
                        // The padding column past n is never written.
                        #expect(c[i * ldc + n].isNaN == c0[i * ldc + n].isNaN && (c0[i * ldc + n].isNaN || c[i * ldc + n] == c0[i * ldc + n]))
                    }
                }
            }
        }
        // Rounding really happened (the products were not taken in fp32), except for 1 x 1 x 1.
        if k > 1 { #expect(differsFromFP32) }
    }

    static func learner(_ precision: Precision, lanes: Int = 2, seed: UInt64 = 4) -> QLearner {
        QLearner(network: QNetworkConfig(actions: 3, dueling: true), shape: smallShape, optimizer: .adam(lr: 1e-3),
                 loss: .huber, batchSize: 6, doubleDQN: true, gradientClipNorm: 10, lanes: lanes, precision: precision, seed: seed)
    }

    @Test(.enabled(if: BLAS.bf16Supported, "needs a CPU with AVX512_BF16"))
    func aBF16LearnerIsDeterministicResumesBitExactlyAndTracksFP32() throws {
        let a = Self.learner(.bf16), b = Self.learner(.bf16), f = Self.learner(.fp32)
        #expect(a.precision == .bf16 && f.precision == .fp32)
        let batch = a.makeBatch()
        var lossGap: Float = 0, anyDifference = false
        for step in 0..<6 {
            QLearnerTests.fill(batch, actions: 3, seed: UInt64(500 + step))
            let sa = a.update(batch), sb = b.update(batch), sf = f.update(batch)
            #expect(sa == sb)
            lossGap = max(lossGap, abs(sa.loss - sf.loss) / max(abs(sf.loss), 1e-3))
            if sa.loss != sf.loss { anyDifference = true }
        }
        #expect(a.exportState() == b.exportState())
        #expect(anyDifference, "bf16 gave fp32's numbers bit for bit: the bf16 path was not taken")
        #expect(lossGap < 0.05, "bf16 loss strays \(lossGap) from fp32's")
        // Resume: a fresh bf16 learner restored from the state continues with the same bits.
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("state.safetensors")
        try a.saveState(to: url)
        let c = Self.learner(.bf16, seed: 99)
        try c.restoreState(from: url)
        for step in 0..<4 {
            QLearnerTests.fill(batch, actions: 3, seed: UInt64(600 + step))
            #expect(a.update(batch) == c.update(batch))
            // A target sync between updates: the target's packed weights must follow it.
            if step == 1 { a.syncTarget(); c.syncTarget() }
        }
        #expect(a.exportState() == c.exportState())
        // And a learner restored after the sync (packing both networks afresh) agrees with one
        // that carried its packs across it.
        let d = Self.learner(.bf16, seed: 98)
        try d.restoreState(a.exportState())
        QLearnerTests.fill(batch, actions: 3, seed: 700)
        #expect(a.update(batch) == d.update(batch))
        #expect(a.exportState() == d.exportState())
    }
}
