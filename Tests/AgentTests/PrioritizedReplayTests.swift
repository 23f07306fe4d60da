import Foundation
import Testing
import ArenaSupport
@testable import Agent

@Suite struct SumTreeTests {
    @Test(arguments: [1, 2, 3, 5, 8, 13, 64, 100])
    func innerNodesAreSumsOfTheirLeavesAndFindMatchesALinearScan(capacity: Int) {
        var tree = SumTree(capacity: capacity)
        var leaves = [Double](repeating: 0, count: capacity)
        var g = SeededGenerator(seed: UInt64(capacity))
        for round in 0..<(4 * capacity) {
            let i = Int(g.next() % UInt64(capacity))
            let v = round % 5 == 0 ? 0 : Double(g.next() % 1000) / 7
            tree.set(i, v); leaves[i] = v
        }
        // Every inner node equals the naive sum of the leaves under it.
        for node in 1..<tree.leafBase {
            var lo = node, hi = node
            while lo < tree.leafBase { lo = 2 * lo; hi = 2 * hi + 1 }
            let naive = (lo...hi).map { $0 - tree.leafBase }.filter { $0 < capacity }.reduce(0.0) { $0 + leaves[$1] }
            #expect(abs(tree.nodes[node] - naive) <= 1e-9 * max(1, naive), "node \(node)")
        }
        #expect(abs(tree.total - leaves.reduce(0, +)) <= 1e-9 * max(1, tree.total))
        guard tree.total > 0 else { return }
        // find(u) is the first leaf whose running sum exceeds u.
        for k in 0..<200 {
            let u = tree.total * Double(k) / 200
            var running = 0.0, expected = -1
            for (i, v) in leaves.enumerated() { running += v; if running > u { expected = i; break } }
            let found = tree.find(u)
            #expect(leaves[found] > 0)
            // Rounding can only move the answer across zero-valued leaves or to an exactly-equal boundary.
            if expected >= 0 && found != expected {
                let between = leaves[min(found, expected)..<max(found, expected)].reduce(0, +)
                #expect(between <= 1e-9 * tree.total, "u \(u): found \(found), expected \(expected)")
            }
        }
        #expect(leaves[tree.find(tree.total)] > 0, "u = total still lands on a positive leaf")
        #expect(leaves[tree.find(tree.total.nextUp * 2)] > 0)
        // Rebuilding from the leaves gives the same bits.
        var rebuilt = SumTree(capacity: capacity)
        rebuilt.rebuild(leaves: leaves)
        #expect(rebuilt == tree)
    }

    @Test func samplingProportionsFollowTheLeaves() {
        var tree = SumTree(capacity: 6)
        let values: [Double] = [1, 0, 2, 3, 0, 4]
        for (i, v) in values.enumerated() { tree.set(i, v) }
        var g = SeededGenerator(seed: 8)
        var counts = [Int](repeating: 0, count: 6)
        let draws = 100_000
        for _ in 0..<draws { counts[tree.find(g.nextUnitDouble() * tree.total)] += 1 }
        for (i, v) in values.enumerated() {
            let p = v / 10, expected = p * Double(draws)
            let sigma = (Double(draws) * p * (1 - p)).squareRoot()
            #expect(abs(Double(counts[i]) - expected) <= 5 * sigma + 1e-9, "leaf \(i): \(counts[i]) vs \(expected)")
        }
    }
}

@Suite struct PrioritizedReplayTests {
    static let per = PrioritizedReplayConfig(enabled: true, alpha: 0.6, betaStart: 0.4, betaSteps: 1000, epsilon: 1e-3)

    /// One episode of `n` transitions, all valid with depth 1 and n-step 1 (no wrap).
    static func filled(_ n: Int, capacity: Int = 64, config: PrioritizedReplayConfig = per, seed: UInt64 = 3) throws -> ReplayPair {
        var pair = try ReplayPair(capacity: capacity, stackDepth: 1, nStep: 1, prioritized: config, seed: seed)
        pair.startEpisode()
        for k in 0..<n { pair.append(action: k % 4, reward: Float(k)) }
        return pair
    }

    @Test func newTransitionsGetTheMaxPriorityAndUpdatesFollowTDErrors() throws {
        var pair = try Self.filled(5)
        let alpha = Self.per.alpha, eps = Self.per.epsilon
        for i in 0..<5 { #expect(pair.memory.storedPriority(i) == 1, "max priority starts at 1") }
        pair.memory.updatePriorities(indices: [0, 1, 2], tdErrors: [0.5, -3, 0])
        #expect(abs(pair.memory.storedPriority(0) - Foundation.pow(0.5 + eps, alpha)) < 1e-12)
        #expect(abs(pair.memory.storedPriority(1) - Foundation.pow(3 + eps, alpha)) < 1e-12)
        #expect(abs(pair.memory.storedPriority(2) - Foundation.pow(eps, alpha)) < 1e-12)
        #expect(pair.memory.maxPriority == 3 + eps)
        pair.append(action: 0, reward: 0)
        #expect(abs(pair.memory.storedPriority(5) - Foundation.pow(3 + eps, alpha)) < 1e-12, "new transitions get the max")
        // Stale indices (overwritten since sampled) are ignored; NaN gets the max priority.
        pair.memory.updatePriorities(indices: [-1, 999, 3], tdErrors: [1, 1, .nan])
        #expect(abs(pair.memory.storedPriority(3) - Foundation.pow(3 + eps, alpha)) < 1e-12)
    }

    @Test func samplingIsProportionalToPriorityToTheAlpha() throws {
        let pair = try Self.filled(6, seed: 21)
        let errors: [Float] = [0.1, 1, 2, 0.5, 4, 0.25]
        pair.memory.updatePriorities(indices: Array(0..<6), tdErrors: errors)
        let p = errors.map { Foundation.pow(Double($0) + Self.per.epsilon, Self.per.alpha) }
        let total = p.reduce(0, +)
        let batch = ReplayBatch(size: 50, stackDepth: 1, frameSize: TinyFrames.size)
        var counts = [Int](repeating: 0, count: 6)
        let rounds = 1000
        for _ in 0..<rounds {
            #expect(pair.memory.sample(into: batch, beta: 0.5))
            for b in 0..<batch.size { counts[batch.indices[b]] += 1 }
        }
        let draws = Double(rounds * batch.size)
        for i in 0..<6 {
            let q = p[i] / total, expected = q * draws, sigma = (draws * q * (1 - q)).squareRoot()
            #expect(abs(Double(counts[i]) - expected) < 5 * sigma, "transition \(i): \(counts[i]) vs \(expected)")
        }
    }

    @Test(arguments: [0.0, 0.4, 0.7, 1.0])
    func importanceWeightsAreNormalizedByTheBatchMaximum(beta: Double) throws {
        let pair = try Self.filled(10, seed: 5)
        pair.memory.updatePriorities(indices: Array(0..<10), tdErrors: (0..<10).map { Float($0) * 0.3 })
        let batch = ReplayBatch(size: 16, stackDepth: 1, frameSize: TinyFrames.size)
        #expect(pair.memory.sample(into: batch, beta: beta))
        let stored = (0..<10).map { Foundation.pow(Double($0) * Double(Float(0.3)) + Self.per.epsilon, Self.per.alpha) }
        let total = stored.reduce(0, +)
        let raw = batch.indices.map { Foundation.pow(10 * stored[$0] / total, -beta) }
        let top = raw.max() ?? 1
        for b in 0..<batch.size {
            #expect(abs(Double(batch.weights[b]) - raw[b] / top) < 1e-5, "row \(b)")
        }
        #expect(batch.weights.max() == 1)
    }

    @Test func betaAnnealsLinearlyToOne() throws {
        let pair = try Self.filled(2)
        #expect(pair.memory.beta(atStep: 0) == 0.4)
        #expect(abs(pair.memory.beta(atStep: 500) - 0.7) < 1e-12)
        #expect(pair.memory.beta(atStep: 1000) == 1)
        #expect(pair.memory.beta(atStep: 5000) == 1)
    }

    @Test func overwrittenTransitionsLeaveTheTree() throws {
        var pair = try ReplayPair(capacity: 8, stackDepth: 1, nStep: 1, prioritized: Self.per)
        pair.startEpisode()
        for k in 0..<20 { pair.append(action: 0, reward: Float(k)) }
        let retained = (pair.memory.oldestRetained..<pair.memory.framesWritten).filter { pair.memory.isValid($0) }
        #expect(retained.count == 7)
        #expect(abs(pair.memory.priorityTotal - 7) < 1e-12, "7 transitions at priority 1")
        let batch = ReplayBatch(size: 64, stackDepth: 1, frameSize: TinyFrames.size)
        for _ in 0..<20 {
            pair.memory.sample(into: batch)
            #expect(batch.indices.allSatisfy { retained.contains($0) })
        }
    }
}
