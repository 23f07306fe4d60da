import Foundation
import Testing
import ArenaSupport
@testable import Agent

@Suite struct ReplayCheckpointTests {
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("agent-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test(arguments: [false, true])
    func restoredMemorySamplesAndContinuesExactly(prioritized: Bool) throws {
        let per = PrioritizedReplayConfig(enabled: prioritized, alpha: 0.5, betaStart: 0.4, betaSteps: 100, epsilon: 1e-3)
        var a = try ReplayPair(capacity: 30, stackDepth: 4, nStep: 3, prioritized: per, seed: 17)
        ReplayMemoryTests.runScript(&a, operations: 75, seed: 4) { _, _ in }   // wrapped more than twice
        let batch = ReplayBatch(size: 8, stackDepth: 4, frameSize: TinyFrames.size)
        a.memory.sample(into: batch)
        a.memory.updatePriorities(indices: batch.indices, tdErrors: (0..<8).map { Float($0) / 3 })
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try a.memory.save(to: dir)

        var b = try ReplayPair(capacity: 30, stackDepth: 4, nStep: 3, prioritized: per, seed: 999)
        try b.memory.restore(from: dir)
        b.naive = a.naive
        #expect(b.mismatches().isEmpty)
        #expect(b.memory.generator == a.memory.generator)
        #expect(b.memory.maxPriority == a.memory.maxPriority && b.memory.count == a.memory.count)
        #expect(b.memory.priorityTotal == a.memory.priorityTotal)
        let other = ReplayBatch(size: 8, stackDepth: 4, frameSize: TinyFrames.size)
        for round in 0..<6 {
            a.memory.sample(into: batch, beta: 0.6); b.memory.sample(into: other, beta: 0.6)
            #expect(batch.indices == other.indices && batch.observations == other.observations
                    && batch.nextObservations == other.nextObservations && batch.weights == other.weights
                    && batch.returns == other.returns && batch.discounts == other.discounts)
            let errors = (0..<8).map { Float(round + $0) / 5 }
            a.memory.updatePriorities(indices: batch.indices, tdErrors: errors)
            b.memory.updatePriorities(indices: other.indices, tdErrors: errors)
            a.append(action: round, reward: 1); b.append(action: round, reward: 1)
        }
        #expect(b.mismatches().isEmpty)
    }

    @Test func aMismatchedConfigurationOrDamagedFileIsAClearError() throws {
        var a = try ReplayPair(capacity: 12, stackDepth: 4, nStep: 1)
        ReplayMemoryTests.runScript(&a, operations: 20, seed: 1) { _, _ in }
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try a.memory.save(to: dir)

        let other = try ReplayPair(capacity: 13, stackDepth: 4, nStep: 1)
        let mismatch = #expect(throws: CheckpointReadError.self) { try other.memory.restore(from: dir) }
        #expect(mismatch?.description.contains("capacity 12") == true)

        let file = dir.appendingPathComponent(ReplayMemory.checkpointFileName)
        let bytes = try Data(contentsOf: file)
        try bytes.prefix(bytes.count - 2).write(to: file)
        let fresh = try ReplayPair(capacity: 12, stackDepth: 4, nStep: 1)
        let torn = #expect(throws: CheckpointReadError.self) { try fresh.memory.restore(from: dir) }
        #expect(torn?.description.contains("ends early") == true)

        try Data("not a replay".utf8).write(to: file)
        #expect(throws: CheckpointReadError.self) { try fresh.memory.restore(from: dir) }
        try FileManager.default.removeItem(at: file)
        let missing = #expect(throws: CheckpointReadError.self) { try fresh.memory.restore(from: dir) }
        #expect(missing?.description.contains("does not exist") == true)
    }

    /// A full memory's own resident pages (mincore, immune to other tests allocating meanwhile)
    /// fit the budget: 7056 frame bytes plus metadata under 7.3 KB per transition. The
    /// process-wide figure (/proc/self/statm) is measured by `arena bench agent`, not asserted here.
    @Test func residentBytesPerTransitionFitTheBudget() throws {
        let transitions = 20_000, episodeLength = 1_000, frameSize = 84 * 84
        var config = ReplayConfiguration(capacity: transitions + transitions / episodeLength, frameSize: frameSize)
        config.prioritized.enabled = true
        let memory = try ReplayMemory(config, generator: SeededGenerator(seed: 0, stream: "replay-footprint"))
        var frame = [UInt8](repeating: 0, count: frameSize)
        var t = 0
        frame.withUnsafeMutableBufferPointer { buffer in
            func fill() {
                // Different bytes every frame, so every page of the mapping is touched.
                for k in Swift.stride(from: 0, to: frameSize, by: 64) { buffer[k] = UInt8(truncatingIfNeeded: t &+ k) }
                t += 1
            }
            for _ in 0..<(transitions / episodeLength) {
                fill()
                memory.startEpisode(frame: UnsafeBufferPointer(buffer))
                for step in 0..<episodeLength {
                    fill()
                    memory.append(action: step % 18, reward: 0, nextFrame: UnsafeBufferPointer(buffer),
                                  terminated: step == episodeLength - 1, truncated: false)
                }
            }
        }
        #expect(memory.count == transitions)
        let perTransition = Double(memory.storageResidentBytes()) / Double(transitions)
        #expect(perTransition >= 7_056, "\(perTransition) bytes per transition")
        #expect(perTransition < 7_300, "\(perTransition) bytes per transition")
    }

    @Test func anEmptyMemoryIsNotResident() throws {
        let memory = try ReplayMemory(ReplayConfiguration(capacity: 100_000), generator: SeededGenerator(seed: 1))
        #expect(memory.storageResidentBytes() < 100_000 * 64, "only the per-slot arrays, not 706 MB of frames")
    }
}
