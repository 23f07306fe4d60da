import Testing
@testable import NeuralNet

/// The second thread for element-wise work changes nothing but speed.
@Suite struct WorkerThreadTests {
    @Test func halvesCoverTheRangeOnce() {
        for count in [0, 1, 2, 3, 15, 16, 17, 100, 1_000_003] {
            for align in [1, 4, 16] {
                let a = half(0, of: count, align: align), b = half(1, of: count, align: align)
                #expect(a.lowerBound == 0 && a.upperBound == b.lowerBound && b.upperBound == count)
                #expect(a.upperBound % align == 0 || a.upperBound == count)
            }
        }
        let worker = WorkerThread()
        var hits = [Int](repeating: 0, count: 1001)
        hits.withUnsafeMutableBufferPointer { h in
            let base = h.baseAddress!
            for _ in 0..<50 { splitWork(worker, count: 1001) { r in for i in r { base[i] += 1 } } }
        }
        #expect(hits.allSatisfy { $0 == 50 })
    }

    @Test func piecesCoverTheRangeOnceForAnyPartCount() {
        for count in [0, 1, 2, 5, 17, 32, 1_000_003] {
            for parts in [2, 3, 4, 7] {
                for align in [1, 16] {
                    let pieces = (0..<parts).map { piece($0, of: count, parts: parts, align: align) }
                    #expect(pieces.first?.lowerBound == 0 && pieces.last?.upperBound == count)
                    for i in 1..<parts {
                        #expect(pieces[i - 1].upperBound == pieces[i].lowerBound)
                        #expect(pieces[i].lowerBound % align == 0 || pieces[i].lowerBound == count)
                    }
                    if align == 1 { #expect(pieces.allSatisfy { $0.count <= (count + parts - 1) / parts }) }
                }
                // Two parts are the halves.
                #expect(piece(0, of: count, parts: 2, align: 16) == half(0, of: count, align: 16))
            }
        }
        let pool = WorkerThread(parts: 4)
        var hits = [Int](repeating: 0, count: 1001)
        hits.withUnsafeMutableBufferPointer { h in
            let base = h.baseAddress!
            for _ in 0..<50 { splitWork(pool, count: 1001) { r in for i in r { base[i] += 1 } } }
        }
        #expect(hits.allSatisfy { $0 == 50 })
    }

    @Test(arguments: [false, true])
    func forwardAndBackwardAreBitIdenticalWithTheWorker(dueling: Bool) {
        let net = QNetwork(config: QNetworkConfig(actions: 3, dueling: dueling), shape: smallShape)
        let batch = 7
        var generator = SeededGenerator(seed: 90)
        var params = [Float](repeating: 0, count: net.parameterCount)
        params.withUnsafeMutableBufferPointer { net.initialize($0.baseAddress!, generator: &generator) }
        let obs = randomBytes(batch * net.observationBytes, seed: 91)
        let dq = randomFloats(batch * 3, seed: 92)
        let worker = WorkerThread()
        func run(_ w: WorkerThread?) -> (q: [Float], grads: [Float]) {
            let ws = NetworkWorkspace(network: net, capacity: batch, withGradients: true)
            var patch = [Float](repeating: 0, count: net.patchWeightCount)
            var grads = [Float](repeating: 0, count: net.parameterCount)
            var q: [Float] = []
            params.withUnsafeBufferPointer { p in obs.withUnsafeBufferPointer { o in dq.withUnsafeBufferPointer { d in
            patch.withUnsafeMutableBufferPointer { pw in grads.withUnsafeMutableBufferPointer { g in
                ws.arena.withBase { base in
                    net.preparePatchWeights(parameters: p.base, into: pw.baseAddress!)
                    net.forward(parameters: p.base, patchWeights: pw.baseAddress!, observations: o.base, batch: batch,
                                workspace: ws, base: base, worker: w)
                    q = Array(UnsafeBufferPointer(start: base + ws.q, count: batch * 3))
                    (base + ws.dq).update(from: d.base, count: batch * 3)
                    net.backward(parameters: p.base, patchWeights: pw.baseAddress!, gradients: g.baseAddress!,
                                 observations: o.base, batch: batch, workspace: ws, base: base, worker: w)
                }
            } } } } }
            return (q, grads)
        }
        let single = run(nil), split = run(worker)
        #expect(single.q == split.q)
        #expect(single.grads == split.grads)
        #expect(single.grads.contains { $0 != 0 })
    }
}

import ArenaSupport
