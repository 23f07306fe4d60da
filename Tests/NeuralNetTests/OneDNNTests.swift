import Foundation
import Testing
@testable import NeuralNet

/// The `onednn` kernels: the update's convolutions through oneDNN. The set-up installs libdnnl,
/// so it must be available here; its numbers must be our kernels' within rounding (fp32) or
/// within bf16's error (bf16), deterministic for a lane count, and resumable bit-exactly.
@Suite struct OneDNNTests {
    @Test func oneDNNIsAvailableAndArenaKernelsAlwaysAre() {
        #expect(Kernels.arena.unsupportedReason == nil)
        #expect(Kernels.onednn.unsupportedReason == nil, "\(Kernels.onednn.unsupportedReason ?? "")")
        #expect(OneDNN.version.hasPrefix("2."), "oneDNN \(OneDNN.version)")
    }

    static func learner(_ kernels: Kernels, precision: Precision = .fp32, shape: NetworkShape = smallShape,
                        actions: Int = 3, dueling: Bool = true, double: Bool = true, batch: Int = 6, lanes: Int = 2,
                        seed: UInt64 = 4) -> QLearner {
        QLearner(network: QNetworkConfig(actions: actions, dueling: dueling), shape: shape, optimizer: .adam(lr: 1e-3),
                 loss: .huber, batchSize: batch, doubleDQN: double, gradientClipNorm: 10, lanes: lanes,
                 precision: precision, kernels: kernels, seed: seed)
    }

    /// The largest gap between two gradient vectors, tensor by tensor, relative to the tensor's
    /// largest magnitude in `reference`.
    static func worstRelativeGap(_ got: [Float], _ reference: [Float], tensors: [TensorSpec]) -> (Float, String) {
        var worst: Float = 0, name = ""
        for t in tensors {
            let scale = max(reference[t.offset..<(t.offset + t.count)].map(abs).max() ?? 0, 1e-12)
            for i in t.offset..<(t.offset + t.count) {
                let gap = abs(got[i] - reference[i]) / scale
                if gap > worst { worst = gap; name = t.name }
            }
        }
        return (worst, name)
    }

    /// One update's loss, mean Q and every gradient (before the step), with oneDNN and with ours,
    /// on the small shape (mixed strides, non-square input) and on the Nature network (conv1 on
    /// 4x84x84 frames, the brgconv kernels), one lane and two (an odd batch: uneven lanes).
    @Test(arguments: [(false, 1), (false, 2), (true, 1), (true, 2)])
    func fp32GradientsAreOursWithinRounding(args: (nature: Bool, lanes: Int)) {
        let shape = args.nature ? NetworkShape.nature : smallShape
        let batchSize = args.nature ? 5 : 7
        let ours = Self.learner(.arena, shape: shape, actions: 4, batch: batchSize, lanes: args.lanes)
        let dnn = Self.learner(.onednn, shape: shape, actions: 4, batch: batchSize, lanes: args.lanes)
        #expect(ours.parameters == dnn.parameters)
        let batch = ours.makeBatch()
        QLearnerTests.fill(batch, actions: 4, seed: 77)
        let a = ours.measure(batch), b = dnn.measure(batch)
        #expect(abs(a.loss - b.loss) <= 1e-5 * max(abs(a.loss), 1e-3), "loss \(b.loss) vs \(a.loss)")
        #expect(abs(a.qMean - b.qMean) <= 1e-5 * max(abs(a.qMean), 1e-3), "mean Q \(b.qMean) vs \(a.qMean)")
        let (gap, tensor) = Self.worstRelativeGap(dnn.lastGradients, ours.lastGradients, tensors: ours.tensors)
        #expect(gap < 1e-4, "gradient of \(tensor) strays \(gap) (of its largest magnitude) from our kernels'")
        #expect(ours.lastGradients.contains { $0 != 0 })
    }

    /// Per tensor, the L2 norm of the difference relative to the L2 norm of `reference`; the worst.
    static func worstRelativeNorm(_ got: [Float], _ reference: [Float], tensors: [TensorSpec]) -> (Double, String) {
        var worst = 0.0, name = ""
        for t in tensors {
            var difference = 0.0, norm = 0.0
            for i in t.offset..<(t.offset + t.count) {
                difference += Double(got[i] - reference[i]) * Double(got[i] - reference[i])
                norm += Double(reference[i]) * Double(reference[i])
            }
            let gap = (difference / max(norm, 1e-30)).squareRoot()
            if gap > worst { worst = gap; name = t.name }
        }
        return (worst, name)
    }

    /// bf16 through oneDNN against fp32 through ours: about as close as bf16 through our kernels
    /// is (bf16 keeps 8 bits), and not identical (the bf16 path was taken).
    @Test(.enabled(if: BLAS.bf16Supported, "needs a CPU with AVX512_BF16"))
    func bf16GradientsTrackFP32AsOurBF16Does() {
        let fp32 = Self.learner(.arena, shape: .nature, actions: 4, batch: 8, lanes: 2)
        let oursBF16 = Self.learner(.arena, precision: .bf16, shape: .nature, actions: 4, batch: 8, lanes: 2)
        let dnn = Self.learner(.onednn, precision: .bf16, shape: .nature, actions: 4, batch: 8, lanes: 2)
        let batch = fp32.makeBatch()
        QLearnerTests.fill(batch, actions: 4, seed: 78)
        let a = fp32.measure(batch), b = dnn.measure(batch)
        _ = oursBF16.measure(batch)
        #expect(abs(a.loss - b.loss) <= 0.02 * max(abs(a.loss), 1e-3), "loss \(b.loss) vs \(a.loss)")
        let (gap, tensor) = Self.worstRelativeNorm(dnn.lastGradients, fp32.lastGradients, tensors: fp32.tensors)
        let (ourGap, ourTensor) = Self.worstRelativeNorm(oursBF16.lastGradients, fp32.lastGradients, tensors: fp32.tensors)
        #expect(gap < max(2 * ourGap, 0.01),
                "oneDNN's bf16 gradient of \(tensor) strays \(gap) from fp32's; our bf16's worst is \(ourGap) (\(ourTensor))")
        #expect(gap > 0, "bf16 gave fp32's gradients bit for bit: the bf16 path was not taken")
    }

    @Test(arguments: Precision.allCases.filter(\.isSupported))
    func aOneDNNLearnerIsDeterministicAndResumesBitExactly(precision: Precision) throws {
        let a = Self.learner(.onednn, precision: precision), b = Self.learner(.onednn, precision: precision)
        #expect(a.kernels == .onednn)
        let batch = a.makeBatch()
        for step in 0..<5 {
            QLearnerTests.fill(batch, actions: 3, seed: UInt64(800 + step))
            #expect(a.update(batch) == b.update(batch))
            if step == 2 { a.syncTarget(); b.syncTarget() }
        }
        #expect(a.exportState() == b.exportState())
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("state.safetensors")
        try a.saveState(to: url)
        let c = Self.learner(.onednn, precision: precision, seed: 99)
        try c.restoreState(from: url)
        for step in 0..<3 {
            QLearnerTests.fill(batch, actions: 3, seed: UInt64(900 + step))
            #expect(a.update(batch) == c.update(batch))
        }
        #expect(a.exportState() == c.exportState())
    }

    /// Acting uses our kernels whatever the setting: a oneDNN learner's greedy Q-values are an
    /// arena learner's, bit for bit, on the same parameters.
    @Test func actingStaysOnOurKernels() {
        let ours = Self.learner(.arena, shape: .nature, actions: 4, batch: 4, lanes: 1)
        let dnn = Self.learner(.onednn, shape: .nature, actions: 4, batch: 4, lanes: 1)
        let obs = randomBytes(3 * QLearner.observationBytes, seed: 5)
        #expect(QLearnerTests.q(ours, obs, count: 3) == QLearnerTests.q(dnn, obs, count: 3))
    }

    /// Every set of numerics this CPU runs (our kernels or oneDNN's, fp32 or bf16) learns: the loss
    /// on a fixed batch falls tenfold.
    @Test(arguments: Precision.allCases.filter(\.isSupported).flatMap { p in Kernels.allCases.map { (p, $0) } })
    func learningReducesTheLossWithEveryNumerics(numerics: (Precision, Kernels)) {
        let learner = QLearner(network: QNetworkConfig(actions: 3), shape: smallShape, optimizer: .adam(lr: 3e-3), loss: .mse,
                               batchSize: 6, doubleDQN: false, gradientClipNorm: nil, lanes: 1, precision: numerics.0,
                               kernels: numerics.1, seed: 1)
        let batch = learner.makeBatch()
        QLearnerTests.fill(batch, actions: 3, seed: 21)
        for i in 0..<6 { batch.discounts[i] = 0; batch.rewards[i] = Float(i % 3) }
        let first = learner.update(batch).loss
        var last = first
        for _ in 0..<150 { last = learner.update(batch).loss }
        #expect(last < first / 10, "loss went from \(first) to \(last)")
    }

    /// conv1's frames widened by our AVX-512 kernel give oneDNN's reorder's bits, in the forward
    /// pass (n frames and Double DQN's `more`) and in the weight gradient: on the Nature input and
    /// on 13 x 11 frames (143 pixels: a ragged last group of 16).
    @Test(.enabled(if: BLAS.bf16Supported, "needs a CPU with AVX512_BF16"), arguments: [false, true])
    func ourFrameWideningGivesOneDNNsBits(nature: Bool) throws {
        let shape = nature ? NetworkShape.nature
            : NetworkShape(inputChannels: 4, inputHeight: 13, inputWidth: 11, convs: smallShape.convs, hidden: 3)
        let net = QNetwork(config: QNetworkConfig(actions: 2), shape: shape)
        let c = net.convs[0]
        let (n, more) = (3, 2)
        let frames = randomBytes(n * net.observationBytes, seed: 31), next = randomBytes(more * net.observationBytes, seed: 32)
        let parameters = randomFloats(net.parameterCount, scale: 0.1, seed: 33)
        let outputs = (n + more) * c.outChannels * c.outHeight * c.outWidth
        let dOutput = randomFloats(n * c.outChannels * c.outHeight * c.outWidth, seed: 34)
        func run(reference: Bool) throws -> (y: [Float], g: [Float]) {
            let dnn = try OneDNNConvolutions(network: net, precision: .bf16, withGradients: true)
            dnn.useReferenceWidening(reference)
            var y = [Float](repeating: .nan, count: outputs), g = [Float](repeating: 0, count: net.parameterCount)
            frames.withUnsafeBufferPointer { f in next.withUnsafeBufferPointer { x in parameters.withUnsafeBufferPointer { p in
            dOutput.withUnsafeBufferPointer { d in y.withUnsafeMutableBufferPointer { y in g.withUnsafeMutableBufferPointer { g in
                dnn.forwardFrames(f.base, batch: n, more: x.base, moreCount: more, parameters: p.base, output: y.baseAddress!)
                dnn.weightGradient(0, input: UnsafeRawPointer(f.base), batch: n, dOutput: d.base, gradients: g.baseAddress!,
                                   accumulate: false)
            } } } } } }
            return (y, g)
        }
        let ours = try run(reference: false), reference = try run(reference: true)
        let forwardDiffers = zip(ours.y, reference.y).filter { $0.bitPattern != $1.bitPattern }.count
        let gradientDiffers = zip(ours.g, reference.g).filter { $0.bitPattern != $1.bitPattern }.count
        #expect(forwardDiffers == 0, "forward: our widening changed \(forwardDiffers) of \(outputs) outputs")
        #expect(gradientDiffers == 0, "weight gradient: our widening changed \(gradientDiffers) gradients")
        #expect(reference.y.contains { $0 > 0 } && reference.g.contains { $0 != 0 })
    }
}
