import Foundation
import Testing
import ArenaSupport
@testable import Agent

@Suite struct ReplayMemoryTests {
    /// A random but seeded script of episodes that hits every boundary kind: one-frame episodes,
    /// game-over terminations, life-loss terminations inside an episode, truncations, and
    /// episodes that just stop (a new episode starts with no flag).
    static func runScript(_ pair: inout ReplayPair, operations: Int, seed: UInt64, check: (ReplayPair, Int) -> Void) {
        var g = SeededGenerator(seed: seed, stream: "script")
        pair.startEpisode()
        check(pair, 0)
        var justTruncated = false
        for op in 1...operations {
            let roll = g.next() % 100
            if justTruncated || roll < 12 {
                pair.startEpisode()                      // after truncation, or an episode that just stops
                justTruncated = false
            } else {
                let reward = Float(Int(g.next() % 7) - 3)
                let action = Int(g.next() % 6)
                switch roll {
                case 12..<22: pair.append(action: action, reward: reward, terminated: true)   // game over or life loss
                case 22..<30: pair.append(action: action, reward: reward, truncated: true); justTruncated = true
                default: pair.append(action: action, reward: reward)
                }
            }
            check(pair, op)
        }
    }

    /// Every write-head position of small circular stores, for several stack depths and n, against
    /// the naive model: validity, both stacks, action, n-step return and discount of every index.
    @Test(arguments: [(1, 1), (2, 1), (4, 1), (4, 2), (4, 3), (3, 5)])
    func everyWrapPositionMatchesTheNaiveModel(stackDepth: Int, nStep: Int) throws {
        let minimum = stackDepth + nStep + 1
        for capacity in minimum...(minimum + 6) {
            for seed in UInt64(0)..<4 {
                var pair = try ReplayPair(capacity: capacity, stackDepth: stackDepth, nStep: nStep)
                var failures: [String] = []
                Self.runScript(&pair, operations: 4 * capacity + 9, seed: seed &+ UInt64(capacity) &* 31) { p, op in
                    if failures.isEmpty {
                        failures = p.mismatches().map { "capacity \(capacity) seed \(seed) after op \(op): \($0)" }
                    }
                }
                #expect(failures.isEmpty, "\(failures.prefix(5).joined(separator: "\n"))")
            }
        }
    }

    /// The same walk with prioritized replay on: priorities must not change what is valid.
    @Test func everyWrapPositionWithPrioritizedReplay() throws {
        for capacity in 8...14 {
            var pair = try ReplayPair(capacity: capacity, stackDepth: 4, nStep: 3,
                                      prioritized: PrioritizedReplayConfig(enabled: true))
            var failures: [String] = []
            Self.runScript(&pair, operations: 5 * capacity, seed: UInt64(capacity)) { p, op in
                if failures.isEmpty { failures = p.mismatches().map { "capacity \(capacity) op \(op): \($0)" } }
                // Every retained transition has a positive priority, every other slot zero.
                let retained = (p.naive.oldest..<p.naive.written).filter { p.naive.frames[$0].transition != nil }
                let positive = retained.allSatisfy { p.memory.storedPriority($0) > 0 }
                let sum = retained.reduce(0.0) { $0 + p.memory.storedPriority($1) }
                if !positive || abs(sum - p.memory.priorityTotal) > 1e-9 { failures.append("capacity \(capacity) op \(op): priority total \(p.memory.priorityTotal) vs \(sum)") }
            }
            #expect(failures.isEmpty, "\(failures.prefix(5).joined(separator: "\n"))")
        }
    }

    // MARK: Episode boundaries, by hand

    @Test func stackAtAnEpisodeStartRepeatsTheFirstFrame() throws {
        var pair = try ReplayPair(capacity: 32, stackDepth: 4, nStep: 1)
        pair.startEpisode()                                   // 0
        for _ in 0..<3 { pair.append(action: 1, reward: 1) }  // 1, 2, 3
        pair.append(action: 1, reward: 1, terminated: true)   // 4 (final frame)
        pair.startEpisode()                                   // 5
        pair.append(action: 2, reward: 0)                     // 6
        pair.append(action: 3, reward: 0)                     // 7
        let batch = ReplayBatch(size: 1, stackDepth: 4, frameSize: TinyFrames.size)
        for (i, stack, next) in [(5, [5, 5, 5, 5], [5, 5, 5, 6]), (6, [5, 5, 5, 6], [5, 5, 6, 7]),
                                 (3, [0, 1, 2, 3], [1, 2, 3, 4]), (1, [0, 0, 0, 1], [0, 0, 1, 2])] {
            let w = try #require(pair.memory.window(i))
            pair.memory.fill(batch, row: 0, index: i, window: w)
            #expect(TinyFrames.decodeStack(batch.observations, row: 0, depth: 4) == stack)
            #expect(TinyFrames.decodeStack(batch.nextObservations, row: 0, depth: 4) == next)
        }
        #expect(pair.memory.window(4) == nil, "the final frame starts no transition")
        #expect(pair.mismatches().isEmpty)
    }

    @Test func terminationDoesNotBootstrapAndTruncationDoes() throws {
        var pair = try ReplayPair(capacity: 32, stackDepth: 4, nStep: 1, gamma: 0.5)
        pair.startEpisode()                                    // 0
        pair.append(action: 0, reward: 1)                      // 1
        pair.append(action: 0, reward: 2, terminated: true)    // 2
        pair.startEpisode()                                    // 3
        pair.append(action: 0, reward: 3)                      // 4
        pair.append(action: 0, reward: 4, truncated: true)     // 5: must be stored (bootstrap)
        pair.startEpisode()                                    // 6
        let batch = ReplayBatch(size: 1, stackDepth: 4, frameSize: TinyFrames.size)
        func check(_ i: Int, ret: Float, discount: Float, nextNewest: Int) throws {
            let w = try #require(pair.memory.window(i))
            pair.memory.fill(batch, row: 0, index: i, window: w)
            #expect(batch.returns[0] == ret && batch.discounts[0] == discount, "index \(i)")
            #expect(TinyFrames.decodeStack(batch.nextObservations, row: 0, depth: 4).last == nextNewest)
        }
        try check(1, ret: 2, discount: 0, nextNewest: 2)       // terminated: discount 0
        try check(4, ret: 4, discount: 0.5, nextNewest: 5)     // truncated: gamma, from the stored final frame
        try check(0, ret: 1, discount: 0.5, nextNewest: 1)
    }

    @Test func nStepWindowsStopAtTerminationTruncationAndEpisodeEnd() throws {
        // gamma 0.5 so sums are exact in binary; computed by hand.
        var pair = try ReplayPair(capacity: 64, stackDepth: 2, nStep: 3, gamma: 0.5)
        pair.startEpisode()                                          // 0
        pair.append(action: 0, reward: 8)                            // 0->1
        pair.append(action: 1, reward: 4)                            // 1->2
        pair.append(action: 2, reward: 2, terminated: true)          // 2->3 life loss, episode goes on
        pair.append(action: 3, reward: 16)                           // 3->4
        pair.append(action: 4, reward: 32, truncated: true)          // 4->5
        pair.startEpisode()                                          // 6
        pair.append(action: 5, reward: 64)                           // 6->7, then the episode just stops
        pair.startEpisode()                                          // 8
        pair.append(action: 0, reward: 1)                            // 8->9 (open, window incomplete)
        let batch = ReplayBatch(size: 1, stackDepth: 2, frameSize: TinyFrames.size)
        let cases: [(Int, Float, Float, Int)] = [   // index, return, discount, next frame index
            (0, 8 + 0.5 * 4 + 0.25 * 2, 0, 3),      // stops at the termination
            (1, 4 + 0.5 * 2, 0, 3),
            (2, 2, 0, 3),
            (3, 16 + 0.5 * 32, 0.25, 5),            // stops at the truncation, bootstraps with gamma^2
            (4, 32, 0.5, 5),
            (6, 64, 0.5, 7),                        // episode just stopped: bootstrap from its last frame
        ]
        for (i, ret, discount, next) in cases {
            let w = try #require(pair.memory.window(i), "index \(i)")
            pair.memory.fill(batch, row: 0, index: i, window: w)
            #expect(batch.returns[0] == ret && batch.discounts[0] == discount, "index \(i): \(batch.returns[0]) \(batch.discounts[0])")
            #expect(TinyFrames.decodeStack(batch.nextObservations, row: 0, depth: 2).last == next, "index \(i)")
        }
        // The stack of 3 reaches back across the life loss (same episode), not across episodes.
        pair.memory.fill(batch, row: 0, index: 3, window: try #require(pair.memory.window(3)))
        #expect(TinyFrames.decodeStack(batch.observations, row: 0, depth: 2) == [2, 3])
        #expect(pair.memory.window(8) == nil, "window of 3 steps not complete yet")
        pair.append(action: 0, reward: 1)
        #expect(pair.memory.window(8) == nil)
        pair.append(action: 0, reward: 1)
        #expect(pair.memory.window(8)?.steps == 3)
        #expect(pair.mismatches().isEmpty)
    }

    @Test func stacksThatReachOverwrittenFramesAreNotSampled() throws {
        var pair = try ReplayPair(capacity: 7, stackDepth: 4, nStep: 1)
        pair.startEpisode()
        for _ in 0..<10 { pair.append(action: 0, reward: 0) }   // frames 0...10, retained 4...10
        #expect(pair.memory.oldestRetained == 4)
        #expect(pair.memory.window(6) == nil && pair.memory.window(5) == nil && pair.memory.window(4) == nil)
        #expect(pair.memory.window(7) != nil)                    // stack 4...7
        #expect(pair.mismatches().isEmpty)
    }

    // MARK: Sampling

    @Test func uniformSamplingCoversValidTransitionsEvenly() throws {
        var pair = try ReplayPair(capacity: 40, stackDepth: 4, nStep: 2, seed: 11)
        Self.runScript(&pair, operations: 100, seed: 5) { _, _ in }
        let valid = (pair.naive.oldest..<pair.naive.written).filter { pair.naive.expected($0) != nil }
        #expect(valid.count > 10)
        let batch = ReplayBatch(size: 64, stackDepth: 4, frameSize: TinyFrames.size)
        var counts: [Int: Int] = [:]
        let rounds = 500
        for _ in 0..<rounds {
            #expect(pair.memory.sample(into: batch))
            for b in 0..<batch.size { counts[batch.indices[b], default: 0] += 1 }
        }
        #expect(Set(counts.keys).isSubset(of: Set(valid)), "only valid transitions are drawn")
        let draws = Double(rounds * batch.size), expected = draws / Double(valid.count)
        let sigma = (expected * (1 - 1 / Double(valid.count))).squareRoot()
        for i in valid {
            let c = Double(counts[i, default: 0])
            #expect(abs(c - expected) < 5 * sigma, "index \(i): \(c) draws, expected \(expected)")
        }
        // And the batch rows agree with the naive model.
        for b in 0..<batch.size {
            let e = try #require(pair.naive.expected(batch.indices[b]))
            #expect(TinyFrames.decodeStack(batch.observations, row: b, depth: 4) == e.stack)
            #expect(batch.weights[b] == 1)
        }
    }

    @Test func samplingFailsCleanlyWithNothingValid() throws {
        var pair = try ReplayPair(capacity: 10, stackDepth: 4, nStep: 3)
        let batch = ReplayBatch(size: 4, stackDepth: 4, frameSize: TinyFrames.size)
        #expect(!pair.memory.sample(into: batch))
        pair.startEpisode()
        pair.append(action: 0, reward: 0)             // window of 3 not complete
        #expect(!pair.memory.sample(into: batch))
        pair.append(action: 0, reward: 0, terminated: true)
        #expect(pair.memory.sample(into: batch))
    }

    @Test func sameSeedSameBatches() throws {
        var a = try ReplayPair(capacity: 50, stackDepth: 4, nStep: 3, seed: 9)
        var b = try ReplayPair(capacity: 50, stackDepth: 4, nStep: 3, seed: 9)
        Self.runScript(&a, operations: 120, seed: 2) { _, _ in }
        Self.runScript(&b, operations: 120, seed: 2) { _, _ in }
        let ba = ReplayBatch(size: 16, stackDepth: 4, frameSize: TinyFrames.size)
        let bb = ReplayBatch(size: 16, stackDepth: 4, frameSize: TinyFrames.size)
        for _ in 0..<5 {
            a.memory.sample(into: ba); b.memory.sample(into: bb)
            #expect(ba.indices == bb.indices && ba.observations == bb.observations && ba.returns == bb.returns)
        }
    }
}
