import Testing
@testable import NeuralNet

/// Finite-difference checks of every hand-written backward pass. The layers are linear in each
/// single parameter once the ReLU pattern is fixed, so central differences are exact up to float
/// rounding; coordinates whose perturbation flips a ReLU are detected and skipped.
@Suite struct GradientCheckTests {
    /// L = sum_k c_k y_k in Double.
    static func dot(_ y: [Float], _ c: [Float]) -> Double {
        zip(y, c).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    }

    static func centralDifference(eps: Float = 1e-2, _ f: (Float) -> Double) -> Float {
        Float((f(eps) - f(-eps)) / Double(2 * eps))
    }

    @Test func conv2DGradients() {
        let conv = Conv2D(inChannels: 2, outChannels: 3, kernel: 3, stride: 2, inHeight: 7, inWidth: 6, weightOffset: 1)
        let batch = 2
        let params0 = randomFloats(1 + conv.parameterCount, seed: 50)
        let x0 = randomFloats(conv.inputCount(batch: batch), seed: 51)  // NHWC
        let c = randomFloats(conv.outputCount(batch: batch), seed: 52)
        func forward(_ p: [Float], _ x: [Float]) -> [Float] {
            var col = [Float](repeating: 0, count: conv.colCount(batch: batch))
            var y = [Float](repeating: 0, count: conv.outputCount(batch: batch))
            var pw = [Float](repeating: 0, count: conv.weightCount)
            p.withUnsafeBufferPointer { p in x.withUnsafeBufferPointer { x in pw.withUnsafeMutableBufferPointer { pw in
            col.withUnsafeMutableBufferPointer { col in y.withUnsafeMutableBufferPointer { y in
                conv.permuteWeights(parameters: p.base, into: pw.baseAddress!)
                conv.im2col(input: x.base, batch: batch, col: col.baseAddress!)
                conv.forward(col: col.baseAddress!, batch: batch, weights: pw.baseAddress!, bias: p.base + conv.biasOffset,
                             output: y.baseAddress!, relu: false)
            } } } } }
            return y
        }
        var grads = [Float](repeating: 0, count: params0.count)
        var dx = [Float](repeating: 0, count: x0.count)
        var col = [Float](repeating: 0, count: conv.colCount(batch: batch))
        var pw = [Float](repeating: 0, count: conv.weightCount), dpw = pw
        params0.withUnsafeBufferPointer { p in x0.withUnsafeBufferPointer { x in c.withUnsafeBufferPointer { c in
        pw.withUnsafeMutableBufferPointer { pw in dpw.withUnsafeMutableBufferPointer { dpw in
        col.withUnsafeMutableBufferPointer { col in grads.withUnsafeMutableBufferPointer { g in dx.withUnsafeMutableBufferPointer { dx in
            conv.permuteWeights(parameters: p.base, into: pw.baseAddress!)
            conv.im2col(input: x.base, batch: batch, col: col.baseAddress!)
            conv.backwardParameters(col: col.baseAddress!, dOutput: c.base, batch: batch, dWeights: dpw.baseAddress!,
                                    beta: 0, dBias: g.baseAddress! + conv.biasOffset)
            conv.accumulatePermutedGradient(dpw.baseAddress!, into: g.baseAddress!)
            conv.backwardInput(dOutput: c.base, batch: batch, weights: pw.baseAddress!, dCol: col.baseAddress!, dInput: dx.baseAddress!)
        } } } } } } } }
        var fdParams = [Float](repeating: 0, count: params0.count)
        for i in 0..<params0.count {
            fdParams[i] = Self.centralDifference { e in var p = params0; p[i] += e; return Self.dot(forward(p, x0), c) }
        }
        var fdInput = [Float](repeating: 0, count: x0.count)
        for i in 0..<x0.count {
            fdInput[i] = Self.centralDifference { e in var x = x0; x[i] += e; return Self.dot(forward(params0, x), c) }
        }
        #expect(closeness(grads, fdParams, atol: 1e-3, rtol: 1e-3) <= 1)
        #expect(closeness(dx, fdInput, atol: 1e-3, rtol: 1e-3) <= 1)
        #expect(grads[0] == 0)
    }

    @Test func linearGradients() {
        let layer = Linear(inFeatures: 5, outFeatures: 4, weightOffset: 0)
        let batch = 3
        let p0 = randomFloats(layer.parameterCount, seed: 60), x0 = randomFloats(batch * 5, seed: 61)
        let c = randomFloats(batch * 4, seed: 62)
        func forward(_ p: [Float], _ x: [Float]) -> [Float] {
            var y = [Float](repeating: 0, count: batch * 4)
            p.withUnsafeBufferPointer { p in x.withUnsafeBufferPointer { x in y.withUnsafeMutableBufferPointer { y in
                layer.forward(input: x.base, batch: batch, parameters: p.base, output: y.baseAddress!)
            } } }
            return y
        }
        var g = [Float](repeating: 0, count: p0.count), dx = [Float](repeating: 0, count: x0.count)
        p0.withUnsafeBufferPointer { p in x0.withUnsafeBufferPointer { x in c.withUnsafeBufferPointer { c in
        g.withUnsafeMutableBufferPointer { g in dx.withUnsafeMutableBufferPointer { dx in
            layer.backwardParameters(input: x.base, dOutput: c.base, batch: batch, gradients: g.baseAddress!)
            layer.backwardInput(dOutput: c.base, batch: batch, parameters: p.base, dInput: dx.baseAddress!, accumulate: false)
        } } } } }
        let fdP = (0..<p0.count).map { i in Self.centralDifference { e in var p = p0; p[i] += e; return Self.dot(forward(p, x0), c) } }
        let fdX = (0..<x0.count).map { i in Self.centralDifference { e in var x = x0; x[i] += e; return Self.dot(forward(p0, x), c) } }
        #expect(closeness(g, fdP, atol: 1e-3, rtol: 1e-3) <= 1)
        #expect(closeness(dx, fdX, atol: 1e-3, rtol: 1e-3) <= 1)
    }

    @Test func reluAndDuelingGradients() {
        // ReLU away from its kink.
        let x0: [Float] = [-0.7, 0.3, 1.2, -0.05, 0.5, -1.5]
        let c: [Float] = [0.4, -1, 2, 3, 0.5, -0.2]
        func relu(_ x: [Float]) -> [Float] {
            var y = x
            y.withUnsafeMutableBufferPointer { Activations.reluForward($0.baseAddress!, count: $0.count) }
            return y
        }
        var g = c
        let y0 = relu(x0)
        y0.withUnsafeBufferPointer { y in g.withUnsafeMutableBufferPointer { g in
            Activations.reluBackward(output: y.base, gradient: g.baseAddress!, count: 6)
        } }
        let fd = (0..<6).map { i in Self.centralDifference(eps: 1e-3) { e in var x = x0; x[i] += e; return Self.dot(relu(x), c) } }
        #expect(closeness(g, fd, atol: 1e-3, rtol: 1e-3) <= 1)

        // Dueling combination.
        let batch = 2, actions = 4
        let v0 = randomFloats(batch, seed: 70), a0 = randomFloats(batch * actions, seed: 71)
        let cq = randomFloats(batch * actions, seed: 72)
        func dueling(_ v: [Float], _ a: [Float]) -> [Float] {
            var q = [Float](repeating: 0, count: batch * actions)
            v.withUnsafeBufferPointer { v in a.withUnsafeBufferPointer { a in q.withUnsafeMutableBufferPointer { q in
                Activations.duelingForward(value: v.base, advantage: a.base, batch: batch, actions: actions, q: q.baseAddress!)
            } } }
            return q
        }
        var dv = [Float](repeating: 0, count: batch), da = [Float](repeating: 0, count: batch * actions)
        cq.withUnsafeBufferPointer { c in dv.withUnsafeMutableBufferPointer { dv in da.withUnsafeMutableBufferPointer { da in
            Activations.duelingBackward(dq: c.base, batch: batch, actions: actions, dValue: dv.baseAddress!, dAdvantage: da.baseAddress!)
        } } }
        let fdV = (0..<batch).map { i in Self.centralDifference { e in var v = v0; v[i] += e; return Self.dot(dueling(v, a0), cq) } }
        let fdA = (0..<(batch * actions)).map { i in Self.centralDifference { e in var a = a0; a[i] += e; return Self.dot(dueling(v0, a), cq) } }
        #expect(closeness(dv, fdV, atol: 1e-3, rtol: 1e-3) <= 1)
        #expect(closeness(da, fdA, atol: 1e-3, rtol: 1e-3) <= 1)
    }

    @Test(arguments: LossKind.allCases)
    func lossDerivatives(kind: LossKind) {
        for d: Float in [-3, -1.2, -0.6, -0.1, 0.2, 0.9, 1.7, 4] {
            let fd = Self.centralDifference(eps: 1e-2) { e in Double(kind.evaluate(d + e).value) }
            #expect(abs(kind.evaluate(d).derivative - fd) < 1e-3, "\(kind) at \(d)")
        }
        // By hand: Huber 0.5 d^2 inside, |d| - 0.5 outside; MSE d^2.
        #expect(LossKind.huber.evaluate(0.5).value == 0.125)
        #expect(LossKind.huber.evaluate(-3).value == 2.5)
        #expect(LossKind.huber.evaluate(-3).derivative == -1)
        #expect(LossKind.mse.evaluate(-3).value == 9)
    }

    /// The whole network: analytic gradients of L = sum c * q against central differences on every parameter.
    @Test(arguments: [false, true])
    func wholeNetworkGradients(dueling: Bool) {
        let net = QNetwork(config: QNetworkConfig(actions: 3, dueling: dueling), shape: smallShape)
        let batch = QNetwork.conv1ChunkSamples + 1  // a full and a partial conv1 chunk
        let ws = NetworkWorkspace(network: net, capacity: batch, withGradients: true)
        var patch = [Float](repeating: 0, count: net.patchWeightCount)
        var generator = SeededGenerator(seed: 80)
        var p0 = [Float](repeating: 0, count: net.parameterCount)
        p0.withUnsafeMutableBufferPointer { net.initialize($0.baseAddress!, generator: &generator) }
        // Positive biases keep most units alive so every layer gets gradient.
        for t in net.tensors where t.name.hasSuffix(".bias") { for i in 0..<t.count { p0[t.offset + i] = abs(p0[t.offset + i]) + 0.05 } }
        let obs = randomBytes(batch * net.observationBytes, seed: 81)
        let c = randomFloats(batch * 3, seed: 82)

        // Forward; returns q and the ReLU pattern of every hidden unit.
        func forward(_ p: [Float]) -> (q: [Float], mask: [Bool]) {
            p.withUnsafeBufferPointer { p in obs.withUnsafeBufferPointer { o in patch.withUnsafeMutableBufferPointer { pw in
                ws.arena.withBase { base in
                    net.preparePatchWeights(parameters: p.base, into: pw.baseAddress!)
                    net.forward(parameters: p.base, patchWeights: pw.baseAddress!, observations: o.base, batch: batch, workspace: ws, base: base)
                    let q = Array(UnsafeBufferPointer(start: base + ws.q, count: batch * 3))
                    var mask: [Bool] = []
                    for (i, conv) in net.convs.enumerated() {
                        let n = conv.outputCount(batch: batch)
                        mask += (0..<n).map { base[ws.act[i] + $0] > 0 }
                    }
                    for h in ws.hidden { mask += (0..<(batch * net.shape.hidden)).map { base[h + $0] > 0 } }
                    return (q, mask)
                }
            } } }
        }
        let (_, mask0) = forward(p0)
        // Forward at p0, then backward from dq = c into `g` (accumulating, or writing every gradient).
        func backward(into g: inout [Float], accumulate: Bool) {
            p0.withUnsafeBufferPointer { p in obs.withUnsafeBufferPointer { o in c.withUnsafeBufferPointer { c in
            g.withUnsafeMutableBufferPointer { g in patch.withUnsafeMutableBufferPointer { pw in
                ws.arena.withBase { base in
                    net.preparePatchWeights(parameters: p.base, into: pw.baseAddress!)
                    net.forward(parameters: p.base, patchWeights: pw.baseAddress!, observations: o.base, batch: batch, workspace: ws, base: base)
                    (base + ws.dq).update(from: c.base, count: batch * 3)
                    net.backward(parameters: p.base, patchWeights: pw.baseAddress!, gradients: g.baseAddress!, observations: o.base,
                                 batch: batch, workspace: ws, base: base, accumulate: accumulate)
                }
            } } } } }
        }
        var grads = [Float](repeating: 0, count: net.parameterCount)
        backward(into: &grads, accumulate: true)
        // Writing the gradients (the learner's way, no zeroing pass) gives what accumulating into
        // zeros gives, whatever the buffer held before.
        var written = [Float](repeating: .nan, count: net.parameterCount)
        backward(into: &written, accumulate: false)
        #expect(written == grads, "backward(accumulate: false) left a gradient unwritten or wrote another value")

        var checked = 0, skipped = 0
        var perTensorChecked: [String: Int] = [:]
        for t in net.tensors {
            for i in 0..<t.count {
                let j = t.offset + i
                let eps: Float = 1e-3
                var plus = p0; plus[j] += eps
                var minus = p0; minus[j] -= eps
                let fp = forward(plus), fm = forward(minus)
                guard fp.mask == mask0 && fm.mask == mask0 else { skipped += 1; continue }
                let fd = Float((Self.dot(fp.q, c) - Self.dot(fm.q, c)) / Double(2 * eps))
                #expect(abs(grads[j] - fd) <= 2e-4 + 2e-3 * abs(fd), "\(t.name)[\(i)]: analytic \(grads[j]) vs numeric \(fd)")
                checked += 1
                perTensorChecked[t.name, default: 0] += 1
            }
        }
        #expect(checked > 3 * (checked + skipped) / 4, "only \(checked) of \(checked + skipped) coordinates were checkable")
        for t in net.tensors { #expect((perTensorChecked[t.name] ?? 0) > 0, "no coordinate of \(t.name) was checked") }
        // Some gradient in every tensor is non-zero (the check is not vacuous).
        for t in net.tensors { #expect((0..<t.count).contains { grads[t.offset + $0] != 0 }, "\(t.name) has an all-zero gradient") }
    }
}

import ArenaSupport
