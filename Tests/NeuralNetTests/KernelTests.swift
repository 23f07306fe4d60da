import Testing
@testable import NeuralNet
import ArenaSupport
import CKernels

/// Fast kernels (sgemm, im2col + sgemm over NHWC) against the naive references.
@Suite struct KernelTests {
    @Test(arguments: [(false, false), (false, true), (true, false), (true, true)])
    func gemmMatchesTripleLoop(trans: (Bool, Bool)) {
        let (ta, tb) = trans
        let m = 7, n = 13, k = 5
        let lda = (ta ? m : k) + 2, ldb = (tb ? k : n) + 1, ldc = n + 3
        let a = randomFloats((ta ? k : m) * lda, seed: 1)
        let b = randomFloats((tb ? n : k) * ldb, seed: 2)
        let c0 = randomFloats(m * ldc, seed: 3)
        var expected = c0
        Reference.gemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.7, a: a, lda: lda, b: b, ldb: ldb,
                       beta: 0.3, c: &expected, ldc: ldc)
        var actual = c0
        a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in actual.withUnsafeMutableBufferPointer { pc in
            BLAS.gemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.7, a: pa.base, lda: lda, b: pb.base, ldb: ldb,
                      beta: 0.3, c: pc.baseAddress!, ldc: ldc)
        } } }
        #expect(closeness(actual, expected) <= 1)
        // The padding columns beyond n are untouched.
        for i in 0..<m { for j in n..<ldc { #expect(actual[i * ldc + j] == c0[i * ldc + j]) } }
    }

    struct ConvCase: CustomTestStringConvertible, Sendable {
        var batch, channels, height, width, out, kernel, stride: Int
        var testDescription: String { "N\(batch) C\(channels) \(height)x\(width) O\(out) K\(kernel) S\(stride)" }
    }

    static let convCases = [
        ConvCase(batch: 1, channels: 1, height: 5, width: 5, out: 1, kernel: 1, stride: 1),
        ConvCase(batch: 3, channels: 2, height: 9, width: 7, out: 5, kernel: 3, stride: 2),
        ConvCase(batch: 2, channels: 3, height: 12, width: 12, out: 4, kernel: 4, stride: 4),
        ConvCase(batch: 5, channels: 4, height: 11, width: 8, out: 3, kernel: 2, stride: 3),
        ConvCase(batch: 2, channels: 4, height: 20, width: 20, out: 6, kernel: 8, stride: 4),  // conv1-like
        ConvCase(batch: 3, channels: 3, height: 9, width: 9, out: 2, kernel: 3, stride: 1),   // conv3-like
    ]

    @Test(arguments: convCases)
    func convMatchesDirectConvolution(c: ConvCase) {
        let offset = 3  // the layer's parameters start inside a bigger flat buffer
        let conv = Conv2D(inChannels: c.channels, outChannels: c.out, kernel: c.kernel, stride: c.stride,
                          inHeight: c.height, inWidth: c.width, weightOffset: offset)
        let params = randomFloats(offset + conv.parameterCount + 2, seed: 10)
        let weight = Array(params[offset..<conv.biasOffset])
        let bias = Array(params[conv.biasOffset..<(conv.biasOffset + c.out)])
        let input = randomFloats(c.batch * c.channels * c.height * c.width, seed: 11)
        let dOut = randomFloats(c.batch * c.out * conv.outPixels, seed: 12)

        let refOut = Reference.conv2dForward(input: input, batch: c.batch, channels: c.channels, height: c.height,
                                             width: c.width, weight: weight, bias: bias, outChannels: c.out,
                                             kernel: c.kernel, stride: c.stride)
        let ref = Reference.conv2dBackward(input: input, batch: c.batch, channels: c.channels, height: c.height,
                                           width: c.width, weight: weight, outChannels: c.out, kernel: c.kernel,
                                           stride: c.stride, dOutput: dOut)

        let inputNH = toNHWC(input, batch: c.batch, channels: c.channels, pixels: conv.inPixels)
        let dOutNH = toNHWC(dOut, batch: c.batch, channels: c.out, pixels: conv.outPixels)
        var col = [Float](repeating: 0, count: conv.colCount(batch: c.batch))
        var out = [Float](repeating: 0, count: conv.outputCount(batch: c.batch))
        var outRelu = out
        var patchWeights = [Float](repeating: 0, count: conv.weightCount)
        var dPatchWeights = [Float](repeating: 0, count: conv.weightCount)
        let grads0 = randomFloats(params.count, seed: 13)  // backward must ACCUMULATE onto these
        var grads = grads0
        var dIn = [Float](repeating: 9, count: conv.inputCount(batch: c.batch))
        params.withUnsafeBufferPointer { p in inputNH.withUnsafeBufferPointer { x in dOutNH.withUnsafeBufferPointer { dy in
        col.withUnsafeMutableBufferPointer { col in out.withUnsafeMutableBufferPointer { y in outRelu.withUnsafeMutableBufferPointer { yr in
        patchWeights.withUnsafeMutableBufferPointer { pw in dPatchWeights.withUnsafeMutableBufferPointer { dpw in
        grads.withUnsafeMutableBufferPointer { g in dIn.withUnsafeMutableBufferPointer { dx in
            conv.permuteWeights(parameters: p.base, into: pw.baseAddress!)
            conv.im2col(input: x.base, batch: c.batch, col: col.baseAddress!)
            conv.forward(col: col.baseAddress!, batch: c.batch, weights: pw.baseAddress!, bias: p.base + conv.biasOffset,
                         output: y.baseAddress!, relu: false)
            conv.forward(col: col.baseAddress!, batch: c.batch, weights: pw.baseAddress!, bias: p.base + conv.biasOffset,
                         output: yr.baseAddress!, relu: true)
            conv.backwardParameters(col: col.baseAddress!, dOutput: dy.base, batch: c.batch, dWeights: dpw.baseAddress!,
                                    beta: 0, dBias: g.baseAddress! + conv.biasOffset)
            conv.accumulatePermutedGradient(dpw.baseAddress!, into: g.baseAddress!)
            conv.backwardInput(dOutput: dy.base, batch: c.batch, weights: pw.baseAddress!, dCol: col.baseAddress!,
                               dInput: dx.baseAddress!)
        } } } } } } } } } }
        #expect(closeness(fromNHWC(out, batch: c.batch, channels: c.out, pixels: conv.outPixels), refOut) <= 1)
        #expect(closeness(fromNHWC(outRelu, batch: c.batch, channels: c.out, pixels: conv.outPixels), refOut.map { max($0, 0) }) <= 1)
        let dW = (0..<conv.weightCount).map { grads[offset + $0] - grads0[offset + $0] }
        let dB = (0..<c.out).map { grads[conv.biasOffset + $0] - grads0[conv.biasOffset + $0] }
        #expect(closeness(dW, ref.dWeight, atol: 1e-4) <= 1)
        #expect(closeness(dB, ref.dBias, atol: 1e-4) <= 1)
        #expect(closeness(fromNHWC(dIn, batch: c.batch, channels: c.channels, pixels: conv.inPixels), ref.dInput) <= 1)
        // Gradients outside the layer's slice are untouched.
        for i in 0..<offset { #expect(grads[i] == grads0[i]) }
        for i in (conv.biasOffset + c.out)..<grads.count { #expect(grads[i] == grads0[i]) }
    }

    /// conv1's patches from uint8 (the C kernel, vector paths for the 8x8 kernel) are the Swift
    /// loop's floats exactly, on the Nature shape and on shapes the plain path takes.
    @Test(arguments: [(4, 84, 84, 8, 4, 3), (4, 20, 24, 8, 2, 2), (3, 11, 9, 3, 2, 2), (1, 8, 8, 8, 1, 1)])
    func uint8PatchesMatchTheLoop(shape: (Int, Int, Int, Int, Int, Int)) {
        let (c, h, w, k, s, batch) = shape
        let conv = Conv2D(inChannels: c, outChannels: 2, kernel: k, stride: s, inHeight: h, inWidth: w, weightOffset: 0)
        var generator = SeededGenerator(seed: UInt64(h * w), stream: "patch-bytes")
        let bytes = (0..<(batch * c * h * w)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        var loop = [Float](repeating: .nan, count: conv.colCount(batch: batch))
        bytes.withUnsafeBufferPointer { x in
            loop.withUnsafeMutableBufferPointer { conv.im2colLoop(observations: x.base, batch: batch, col: $0.baseAddress!) }
        }
        defer { _ = arena_optimizer_use_path(-1) }
        for level in Int32(0)...2 {  // every vector path this CPU has (levels beyond it take its best)
            _ = arena_optimizer_use_path(level)
            var fast = [Float](repeating: .nan, count: conv.colCount(batch: batch))
            bytes.withUnsafeBufferPointer { x in
                fast.withUnsafeMutableBufferPointer { conv.im2col(observations: x.base, batch: batch, col: $0.baseAddress!) }
            }
            #expect(fast == loop, "vector level \(level)")
        }
        #expect(loop.contains(255) || loop.contains { $0 > 200 })
    }

    @Test func uint8InputPathScalesBy255() {
        let conv = Conv2D(inChannels: 2, outChannels: 3, kernel: 4, stride: 3, inHeight: 10, inWidth: 13, weightOffset: 0)
        let batch = 3
        let params = randomFloats(conv.parameterCount, seed: 20)
        let bytes = randomBytes(batch * 2 * 10 * 13, seed: 21)
        let scaled = bytes.map { Float($0) / 255 }
        let ref = Reference.conv2dForward(input: scaled, batch: batch, channels: 2, height: 10, width: 13,
                                          weight: Array(params[0..<conv.weightCount]),
                                          bias: Array(params[conv.weightCount...]), outChannels: 3, kernel: 4, stride: 3)
        var col = [Float](repeating: 0, count: conv.colCount(batch: batch))
        var out = [Float](repeating: 0, count: conv.outputCount(batch: batch))
        params.withUnsafeBufferPointer { p in bytes.withUnsafeBufferPointer { x in
        col.withUnsafeMutableBufferPointer { col in out.withUnsafeMutableBufferPointer { y in
            // The uint8 path's patch order is OIHW's, so the weights are used as stored.
            conv.im2col(observations: x.base, batch: batch, col: col.baseAddress!)
            conv.forward(col: col.baseAddress!, batch: batch, weights: p.base + conv.weightOffset,
                         bias: p.base + conv.biasOffset, output: y.baseAddress!, inputScale: 1 / 255, relu: false)
        } } } }
        #expect(closeness(fromNHWC(out, batch: batch, channels: 3, pixels: conv.outPixels), ref) <= 1)
    }

    @Test(arguments: [(1, 1, 1), (3, 7, 5), (4, 12, 9)])
    func linearMatchesReference(dims: (Int, Int, Int)) {
        let (batch, inF, outF) = dims
        let layer = Linear(inFeatures: inF, outFeatures: outF, weightOffset: 2)
        let params = randomFloats(2 + layer.parameterCount, seed: 30)
        let w = Array(params[2..<layer.biasOffset]), b = Array(params[layer.biasOffset...])
        let x = randomFloats(batch * inF, seed: 31), dy = randomFloats(batch * outF, seed: 32)
        let refY = Reference.linearForward(input: x, batch: batch, inFeatures: inF, weight: w, bias: b, outFeatures: outF)
        let ref = Reference.linearBackward(input: x, batch: batch, inFeatures: inF, weight: w, outFeatures: outF, dOutput: dy)
        var y = [Float](repeating: 0, count: batch * outF)
        let g0 = randomFloats(params.count, seed: 33)
        var g = g0
        let dx0 = randomFloats(batch * inF, seed: 34)
        var dx = dx0
        var dxAcc = dx0
        params.withUnsafeBufferPointer { p in x.withUnsafeBufferPointer { x in dy.withUnsafeBufferPointer { dy in
        y.withUnsafeMutableBufferPointer { y in g.withUnsafeMutableBufferPointer { g in
        dx.withUnsafeMutableBufferPointer { dx in dxAcc.withUnsafeMutableBufferPointer { dxAcc in
            layer.forward(input: x.base, batch: batch, parameters: p.base, output: y.baseAddress!)
            layer.backwardParameters(input: x.base, dOutput: dy.base, batch: batch, gradients: g.baseAddress!)
            layer.backwardInput(dOutput: dy.base, batch: batch, parameters: p.base, dInput: dx.baseAddress!, accumulate: false)
            layer.backwardInput(dOutput: dy.base, batch: batch, parameters: p.base, dInput: dxAcc.baseAddress!, accumulate: true)
        } } } } } } }
        #expect(closeness(y, refY) <= 1)
        #expect(closeness(dx, ref.dInput) <= 1)
        #expect(closeness((0..<dxAcc.count).map { dxAcc[$0] - dx0[$0] }, ref.dInput, atol: 1e-4) <= 1)
        #expect(closeness((0..<layer.weightCount).map { g[2 + $0] - g0[2 + $0] }, ref.dWeight, atol: 1e-4) <= 1)
        #expect(closeness((0..<outF).map { g[layer.biasOffset + $0] - g0[layer.biasOffset + $0] }, ref.dBias, atol: 1e-4) <= 1)
        #expect(g[0] == g0[0] && g[1] == g0[1])
    }

    @Test func duelingCombinesValueAndCenteredAdvantage() {
        let batch = 2, actions = 3
        let v: [Float] = [1, -2], adv: [Float] = [1, 2, 6, 0, 0, 3]
        var q = [Float](repeating: 0, count: 6)
        v.withUnsafeBufferPointer { v in adv.withUnsafeBufferPointer { a in q.withUnsafeMutableBufferPointer { q in
            Activations.duelingForward(value: v.base, advantage: a.base, batch: batch, actions: actions, q: q.baseAddress!)
        } } }
        // By hand: means 3 and 1.
        #expect(q == [-1, 0, 4, -3, -3, 0])
        let dq: [Float] = [1, 0, 2, -1, 1, 3]
        var dv = [Float](repeating: 0, count: 2), da = [Float](repeating: 0, count: 6)
        dq.withUnsafeBufferPointer { g in dv.withUnsafeMutableBufferPointer { dv in da.withUnsafeMutableBufferPointer { da in
            Activations.duelingBackward(dq: g.base, batch: batch, actions: actions, dValue: dv.baseAddress!, dAdvantage: da.baseAddress!)
        } } }
        #expect(dv == [3, 3])
        #expect(da == [0, -1, 1, -2, 0, 2])
    }

    @Test func networkForwardMatchesReferenceComposition() {
        for dueling in [false, true] {
            let learner = QLearner(network: QNetworkConfig(actions: 3, dueling: dueling), shape: smallShape,
                                   optimizer: .nature2015, loss: .huber, batchSize: 4, doubleDQN: false,
                                   gradientClipNorm: nil, seed: 5)
            let net = learner.net
            let p = learner.parameters
            let batch = 3
            let obs = randomBytes(batch * net.observationBytes, seed: 40)
            var q = [Float](repeating: 0, count: batch * 3)
            obs.withUnsafeBufferPointer { o in q.withUnsafeMutableBufferPointer { q in
                learner.qValues(observations: o.base, count: batch, into: q.baseAddress!)
            } }
            let expected = referenceQ(net: net, parameters: p, observations: obs, batch: batch)
            #expect(closeness(q, expected, atol: 1e-5, rtol: 1e-4) <= 1, "dueling \(dueling)")
            // One observation at a time gives the same values.
            var single = [Float](repeating: 0, count: 3)
            obs.withUnsafeBufferPointer { o in single.withUnsafeMutableBufferPointer { s in
                learner.qValues(observation: o.base + net.observationBytes, into: s.baseAddress!)
            } }
            #expect(closeness(single, Array(expected[3..<6])) <= 1)
        }
    }
}

/// The Q-network composed from the naive references, in PyTorch's NCHW layout.
func referenceQ(net: QNetwork, parameters p: [Float], observations: [UInt8], batch: Int) -> [Float] {
    func slice(_ o: Int, _ n: Int) -> [Float] { Array(p[o..<(o + n)]) }
    var x = observations.map { Float($0) / 255 }
    for conv in net.convs {
        x = Reference.conv2dForward(input: x, batch: batch, channels: conv.inChannels, height: conv.inHeight,
                                    width: conv.inWidth, weight: slice(conv.weightOffset, conv.weightCount),
                                    bias: slice(conv.biasOffset, conv.outChannels), outChannels: conv.outChannels,
                                    kernel: conv.kernel, stride: conv.stride).map { max($0, 0) }
    }
    func linear(_ l: Linear, _ input: [Float]) -> [Float] {
        Reference.linearForward(input: input, batch: batch, inFeatures: l.inFeatures,
                                weight: slice(l.weightOffset, l.weightCount), bias: slice(l.biasOffset, l.outFeatures),
                                outFeatures: l.outFeatures)
    }
    let a = net.config.actions
    if net.config.dueling {
        let hv = linear(net.linears[0], x).map { max($0, 0) }
        let ha = linear(net.linears[1], x).map { max($0, 0) }
        let v = linear(net.linears[2], hv), adv = linear(net.linears[3], ha)
        var q = [Float](repeating: 0, count: batch * a)
        for n in 0..<batch {
            let mean = (0..<a).reduce(Float(0)) { $0 + adv[n * a + $1] } / Float(a)
            for j in 0..<a { q[n * a + j] = v[n] + adv[n * a + j] - mean }
        }
        return q
    }
    let h = linear(net.linears[0], x).map { max($0, 0) }
    return linear(net.linears[1], h)
}
