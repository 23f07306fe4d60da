import ArenaSupport
import Testing
import TestSupport
@testable import Environment

@Suite struct VectorEnvironmentTests {
    let emulator = EmulatorSettings(stickyActionProbability: 0.25)
    var preprocessing: PreprocessingSettings {
        var p = EvaluationProtocol.nature2015.settings.preprocessing
        p.maxEpisodeFrames = 2_000  // episodes end often, so auto-reset is exercised
        return p
    }

    func runVector(threads: Int, rounds: Int) throws -> (obs: [UInt64], rewards: [Double], ends: Int) {
        let v = try VectorEnvironment(game: "pong", count: 3, emulator: emulator, preprocessing: preprocessing,
                                      seed: 42, threads: threads, romDirectory: testROMDirectory)
        try v.reset()
        var rng = SeededGenerator(seed: 1)
        var obs: [UInt64] = [fingerprint(Array(v.observations))], rewards: [Double] = [], ends = 0
        for _ in 0..<rounds {
            try v.step((0..<3).map { _ in Int(rng.next() % 6) })
            obs.append(fingerprint(Array(v.observations)))
            rewards += v.results.map(\.reward)
            ends += v.results.filter(\.episodeEnded).count
        }
        return (obs, rewards, ends)
    }

    @Test func sameResultsWhateverTheThreads() throws {
        let one = try runVector(threads: 1, rounds: 700)
        let two = try runVector(threads: 2, rounds: 700)
        let three = try runVector(threads: 3, rounds: 700)
        #expect(one.obs == two.obs && one.rewards == two.rewards)
        #expect(two.obs == three.obs && two.rewards == three.rewards)
        #expect(one.ends >= 3)
    }

    @Test func matchesEnvironmentsSteppedOneByOne() throws {
        let v = try VectorEnvironment(game: "pong", count: 2, emulator: emulator, preprocessing: preprocessing,
                                      seed: 7, threads: 2, romDirectory: testROMDirectory)
        let singles = try (0..<2).map {
            try AtariEnvironment(game: "pong", emulator: emulator, preprocessing: preprocessing,
                                 seed: VectorEnvironment.seed(base: 7, index: $0), romDirectory: testROMDirectory)
        }
        var stacks = singles.map { _ in FrameStack(depth: 4, frameSize: 84 * 84) }
        try v.reset()
        for i in 0..<2 {
            try singles[i].reset()
            singles[i].withFrame { stacks[i].reset(with: $0.baseAddress!) }
        }
        var rng = SeededGenerator(seed: 5)
        var expected = [UInt8](repeating: 0, count: 2 * 4 * 84 * 84)
        for _ in 0..<600 {
            let actions = (0..<2).map { _ in Int(rng.next() % 6) }
            try v.step(actions)
            for i in 0..<2 {
                let r = singles[i].step(actions[i])
                #expect(r == v.results[i])
                if r.episodeEnded {
                    try singles[i].reset()
                    singles[i].withFrame { stacks[i].reset(with: $0.baseAddress!) }
                } else {
                    singles[i].withFrame { stacks[i].push($0.baseAddress!) }
                }
                expected.withUnsafeMutableBufferPointer { stacks[i].write(into: $0.baseAddress! + i * 4 * 84 * 84) }
            }
            #expect(Array(v.observations) == expected)
        }
    }

    @Test func badActionsAndSizesAreClearErrors() throws {
        let v = try VectorEnvironment(game: "pong", count: 2, emulator: emulator, preprocessing: preprocessing,
                                      seed: 1, romDirectory: testROMDirectory)
        try v.reset()
        #expect { try v.step([0, 6]) } throws: { "\($0)".contains("Action 6 is out of range") }
        #expect { try v.step([0]) } throws: { "\($0)".contains("Expected 2 actions") }
        #expect(throws: EnvironmentError.self) {
            _ = try VectorEnvironment(game: "pong", count: 0, emulator: emulator, preprocessing: preprocessing, seed: 1)
        }
    }
}
