import Testing
import CKernels
@testable import NeuralNet

/// The optimizers against independent Double-precision implementations of their formulas.
@Suite struct OptimizerTests {
    static func run(_ config: OptimizerConfig, steps: Int) -> (fast: [Float], reference: [Double]) {
        let count = 9
        var p = randomFloats(count, seed: 90)
        var m1 = [Float](repeating: 0, count: count), m2 = m1
        var rp = p.map(Double.init), rm1 = [Double](repeating: 0, count: count), rm2 = rm1
        for s in 1...steps {
            let g = randomFloats(count, scale: 0.5, seed: UInt64(100 + s))
            p.withUnsafeMutableBufferPointer { p in g.withUnsafeBufferPointer { g in
            m1.withUnsafeMutableBufferPointer { m1 in m2.withUnsafeMutableBufferPointer { m2 in
                Optimizer.step(config, step: s, parameters: p.baseAddress!, gradients: UnsafeMutablePointer(mutating: g.base),
                               moment1: m1.baseAddress!, moment2: m2.baseAddress!, count: count)
            } } } }
            for i in 0..<count {
                let gi = Double(g[i])
                switch config {
                case let .rmspropCentered(lr, decay, eps):
                    let d = Double(decay)
                    rm1[i] = d * rm1[i] + (1 - d) * gi
                    rm2[i] = d * rm2[i] + (1 - d) * gi * gi
                    rp[i] -= Double(lr) * gi / (rm2[i] - rm1[i] * rm1[i] + Double(eps)).squareRoot()
                case let .adam(lr, b1f, b2f, eps):
                    let b1 = Double(b1f), b2 = Double(b2f)
                    rm1[i] = b1 * rm1[i] + (1 - b1) * gi
                    rm2[i] = b2 * rm2[i] + (1 - b2) * gi * gi
                    let mhat = rm1[i] / (1 - pow(b1, Double(s))), vhat = rm2[i] / (1 - pow(b2, Double(s)))
                    rp[i] -= Double(lr) * mhat / (vhat.squareRoot() + Double(eps))
                }
            }
        }
        return (p, rp)
    }

    @Test(arguments: [OptimizerConfig.nature2015, .adam(lr: 1e-3), .adam(lr: 6.25e-5, beta1: 0.9, beta2: 0.999, epsilon: 1.5e-4)])
    func matchesFormula(config: OptimizerConfig) {
        let (fast, reference) = Self.run(config, steps: 25)
        for i in fast.indices {
            #expect(abs(Double(fast[i]) - reference[i]) <= 1e-6 + 1e-5 * abs(reference[i]))
        }
    }

    @Test func firstStepsByHand() {
        // Centered RMSProp, one step from zero moments: g_avg = 0.05 g, sq = 0.05 g^2,
        // step = lr * g / sqrt(0.05 g^2 - 0.0025 g^2 + 0.01). With g = 2: sqrt(0.2 - 0.01 + 0.01) = sqrt(0.2).
        var p: [Float] = [1], m1: [Float] = [0], m2: [Float] = [0]
        let g: [Float] = [2]
        p.withUnsafeMutableBufferPointer { p in g.withUnsafeBufferPointer { g in
        m1.withUnsafeMutableBufferPointer { m1 in m2.withUnsafeMutableBufferPointer { m2 in
            Optimizer.step(.nature2015, step: 1, parameters: p.baseAddress!, gradients: UnsafeMutablePointer(mutating: g.base),
                           moment1: m1.baseAddress!, moment2: m2.baseAddress!, count: 1)
        } } } }
        #expect(abs(p[0] - (1 - 2.5e-4 * 2 / Float(0.2).squareRoot())) < 1e-7)
        #expect(abs(m1[0] - 0.1) < 1e-7 && abs(m2[0] - 0.2) < 1e-7)
        // Adam's first step is lr * g / (|g| + eps) (bias correction cancels).
        var q: [Float] = [1, 1], a1: [Float] = [0, 0], a2: [Float] = [0, 0]
        let h: [Float] = [3, -0.5]
        q.withUnsafeMutableBufferPointer { q in h.withUnsafeBufferPointer { h in
        a1.withUnsafeMutableBufferPointer { a1 in a2.withUnsafeMutableBufferPointer { a2 in
            Optimizer.step(.adam(lr: 0.01), step: 1, parameters: q.baseAddress!, gradients: UnsafeMutablePointer(mutating: h.base),
                           moment1: a1.baseAddress!, moment2: a2.baseAddress!, count: 2)
        } } } }
        #expect(abs(q[0] - 0.99) < 1e-6 && abs(q[1] - 1.01) < 1e-6)
    }

    @Test func clippingScalesToTheMaximumNorm() {
        var g: [Float] = [3, 4, 0, 0, 0]  // norm 5
        let norm = g.withUnsafeMutableBufferPointer { Optimizer.clip($0.baseAddress!, count: 5, maxNorm: 1) }
        #expect(norm == 5)
        #expect(abs(g[0] - 0.6) < 1e-5 && abs(g[1] - 0.8) < 1e-5)
        var small: [Float] = [0.3, 0.4]
        _ = small.withUnsafeMutableBufferPointer { Optimizer.clip($0.baseAddress!, count: 2, maxNorm: 1) }
        #expect(small == [0.3, 0.4])
    }

    /// The scalar formulas the vector paths must match bit for bit (the loops the project had
    /// before CKernels/optimizer.c; Swift does not fuse multiply-adds).
    static func scalarStep(_ config: OptimizerConfig, step: Int, p: inout [Float], g: inout [Float], m1: inout [Float],
                           m2: inout [Float], scale: Float) {
        for i in p.indices {
            if scale != 1 { g[i] *= scale }
            let gi = g[i]
            switch config {
            case let .rmspropCentered(lr, decay, epsilon):
                let avg = decay * m1[i] + (1 - decay) * gi
                let sq = decay * m2[i] + (1 - decay) * gi * gi
                m1[i] = avg; m2[i] = sq
                p[i] -= lr * gi / (sq - avg * avg + epsilon).squareRoot()
            case let .adam(lr, beta1, beta2, epsilon):
                let t = Float(step)
                let stepSize = lr / (1 - pow(beta1, t)), bias2Sqrt = (1 - pow(beta2, t)).squareRoot()
                let m = beta1 * m1[i] + (1 - beta1) * gi
                let v = beta2 * m2[i] + (1 - beta2) * gi * gi
                m1[i] = m; m2[i] = v
                p[i] -= stepSize * m / (v.squareRoot() / bias2Sqrt + epsilon)
            }
        }
    }

    @Test(arguments: [OptimizerConfig.nature2015, .adam(lr: 1e-4, epsilon: 1.5e-4)], [Float(1), 0.37])
    func everyVectorPathGivesTheScalarBits(config: OptimizerConfig, scale: Float) {
        let count = 1000 + 13  // a tail on every path
        var reference: (p: [Float], g: [Float], m1: [Float], m2: [Float])?
        defer { _ = arena_optimizer_use_path(-1) }
        for level in Int32(0)...2 {
            // Levels beyond this CPU fall back to its best, which is then checked twice.
            _ = arena_optimizer_use_path(level)
            var p = randomFloats(count, seed: 7), m1 = randomFloats(count, scale: 0.01, seed: 8)
            var m2 = randomFloats(count, scale: 0.001, seed: 9).map(abs), g = [Float]()
            for s in 1...3 {
                g = randomFloats(count, scale: 0.5, seed: UInt64(20 + s))
                p.withUnsafeMutableBufferPointer { p in g.withUnsafeMutableBufferPointer { g in
                m1.withUnsafeMutableBufferPointer { m1 in m2.withUnsafeMutableBufferPointer { m2 in
                    Optimizer.step(config, step: s, parameters: p.baseAddress!, gradients: g.baseAddress!,
                                   moment1: m1.baseAddress!, moment2: m2.baseAddress!, count: count, gradientScale: scale)
                } } } }
            }
            if reference == nil {
                var rp = randomFloats(count, seed: 7), rm1 = randomFloats(count, scale: 0.01, seed: 8)
                var rm2 = randomFloats(count, scale: 0.001, seed: 9).map(abs), rg = [Float]()
                for s in 1...3 {
                    rg = randomFloats(count, scale: 0.5, seed: UInt64(20 + s))
                    Self.scalarStep(config, step: s, p: &rp, g: &rg, m1: &rm1, m2: &rm2, scale: scale)
                }
                reference = (rp, rg, rm1, rm2)
            }
            let path = Optimizer.vectorPath
            #expect(p == reference!.p && m1 == reference!.m1 && m2 == reference!.m2, "path \(path): other bits than the scalar loop")
            #expect(g == reference!.g, "path \(path): the stored (clipped) gradients differ")
        }
    }

    @Test func laneSumsAndSquaresKeepTheirOrderOnEveryPath() {
        let count = 777, lanes = 3
        let rest = randomFloats((lanes - 1) * count, seed: 31)
        // The reference: lanes added in order, then four running Double sums by index mod 4.
        var expected = randomFloats(count, seed: 30)
        for i in 0..<count { for l in 0..<(lanes - 1) { expected[i] += rest[l * count + i] } }
        var sums = [0.0, 0.0, 0.0, 0.0]
        var i = 0
        while i + 4 <= count { for t in 0..<4 { sums[t] += Double(expected[i + t] * expected[i + t]) }; i += 4 }
        var expectedSum = sums[0] + sums[1] + sums[2] + sums[3]
        while i < count { expectedSum += Double(expected[i] * expected[i]); i += 1 }
        defer { _ = arena_optimizer_use_path(-1) }
        for level in Int32(0)...2 {
            _ = arena_optimizer_use_path(level)
            for squares in [true, false] {
                var g = randomFloats(count, seed: 30)
                let sum = g.withUnsafeMutableBufferPointer { g in rest.withUnsafeBufferPointer { r in
                    Optimizer.sumLanes(g.baseAddress!, rest: r.base, stride: count, extraLanes: lanes - 1, count: count, squares: squares)
                } }
                #expect(g == expected, "path \(Optimizer.vectorPath): lane sums differ")
                #expect(sum == (squares ? expectedSum : 0), "path \(Optimizer.vectorPath): sum of squares \(sum), expected \(expectedSum)")
            }
        }
    }

    /// Subnormal moments (a weight that no longer gets gradient) cost a microcode assist per
    /// vector instruction on Intel cores, so the steps flush them: the moments become 0 on every
    /// path, the parameters keep their bits, and the caller's floating-point mode is restored.
    @Test(arguments: [OptimizerConfig.adam(lr: 1e-4, epsilon: 1e-8), .nature2015])
    func subnormalMomentsAreFlushedOnEveryPathAndTheCallersModeIsRestored(config: OptimizerConfig) {
        let count = 64 + 5
        let subnormal = Float.leastNormalMagnitude / 8
        #expect(subnormal.isSubnormal)
        defer { _ = arena_optimizer_use_path(-1) }
        for level in Int32(0)...2 {
            _ = arena_optimizer_use_path(level)
            let start = randomFloats(count, seed: 41)
            var p = start, g = [Float](repeating: 0, count: count)
            var m1 = [Float](repeating: subnormal, count: count), m2 = [Float](repeating: subnormal, count: count)
            p.withUnsafeMutableBufferPointer { p in g.withUnsafeMutableBufferPointer { g in
            m1.withUnsafeMutableBufferPointer { m1 in m2.withUnsafeMutableBufferPointer { m2 in
                Optimizer.step(config, step: 5, parameters: p.baseAddress!, gradients: g.baseAddress!,
                               moment1: m1.baseAddress!, moment2: m2.baseAddress!, count: count, gradientScale: 1)
            } } } }
            let path = Optimizer.vectorPath
            #expect(m1.allSatisfy { $0 == 0 } && m2.allSatisfy { $0 == 0 }, "path \(path): subnormal moments kept")
            #expect(p == start, "path \(path): a zero gradient with flushed moments moved the parameters")
            // After the step this thread computes subnormals again (FTZ/DAZ were for the step only).
            let tiny = atRunTime(Float.leastNormalMagnitude) * atRunTime(0.25)
            #expect(tiny.isSubnormal && (tiny + atRunTime(tiny)).isSubnormal, "path \(path): the caller's MXCSR was not restored")
        }
    }

    @Test func validationNamesTheBadValue() {
        #expect(OptimizerConfig.nature2015.validationError == nil)
        #expect(OptimizerConfig.rmspropCentered(lr: -1, decay: 0.95, epsilon: 0.01).validationError?.contains("-1") == true)
        #expect(OptimizerConfig.adam(lr: 1e-4, beta1: 1.5, beta2: 0.999, epsilon: 1e-8).validationError?.contains("beta1") == true)
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// `value`, out of the compiler's sight, so that arithmetic on it happens at run time.
@inline(never) func atRunTime(_ value: Float) -> Float { value }
