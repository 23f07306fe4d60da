import ArenaSupport
import Foundation
import Testing
import TestSupport
@testable import Environment

@Suite struct AtariEnvironmentTests {
    func make(_ game: String = "pong", seed: UInt64 = 1, _ edit: (inout PreprocessingSettings) -> Void = { _ in },
              emulator: EmulatorSettings = EvaluationProtocol.nature2015.settings.emulator) throws -> AtariEnvironment {
        var p = EvaluationProtocol.nature2015.settings.preprocessing
        edit(&p)
        return try AtariEnvironment(game: game, emulator: emulator, preprocessing: p, seed: seed, romDirectory: testROMDirectory)
    }

    /// Runs random actions until the episode ends or `maxSteps`; returns the step results.
    func run(_ env: AtariEnvironment, steps maxSteps: Int, actionSeed: UInt64 = 1) -> [StepResult] {
        var rng = SeededGenerator(seed: actionSeed)
        var out: [StepResult] = []
        for _ in 0..<maxSteps {
            let r = env.step(Int(rng.next() % UInt64(env.actionCount)))
            out.append(r)
            if r.episodeEnded { break }
        }
        return out
    }

    @Test func observationIsMaxOfLastTwoFramesResized() throws {
        // A twin emulator with the same seed, driven frame by frame, must give the same pixels.
        let env = try make(seed: 3) { $0.noopMax = 0; $0.fireOnReset = false }
        let twin = try ArcadeEnvironment(game: "pong", settings: EvaluationProtocol.nature2015.settings.emulator,
                                         seed: 3, romDirectory: testROMDirectory)
        try env.reset()
        try twin.reset()
        let resizer = AreaResizer(sourceHeight: 210, sourceWidth: 160, targetHeight: 84, targetWidth: 84)
        var prev = [UInt8](repeating: 0, count: 210 * 160), last = prev, pooled = prev
        var expected = [UInt8](repeating: 0, count: 84 * 84)
        var rng = SeededGenerator(seed: 11)
        for _ in 0..<50 {
            let a = Int(rng.next() % 6)
            _ = env.step(a)
            for f in 0..<4 {
                _ = twin.act(a)
                if f == 2 { prev.withUnsafeMutableBufferPointer { twin.grayscale(into: $0.baseAddress!) } }
                if f == 3 { last.withUnsafeMutableBufferPointer { twin.grayscale(into: $0.baseAddress!) } }
            }
            for i in 0..<pooled.count { pooled[i] = max(prev[i], last[i]) }
            pooled.withUnsafeBufferPointer { p in
                expected.withUnsafeMutableBufferPointer { resizer.resize(p.baseAddress!, into: $0.baseAddress!) }
            }
            let got = env.withFrame { Array($0) }
            #expect(got == expected)
        }
    }

    @Test func frameSkipAddsRewardsAndCountsFrames() throws {
        let env = try make(seed: 2) { $0.noopMax = 0; $0.fireOnReset = false }
        try env.reset()
        #expect(env.episodeFrames == 0)
        let results = run(env, steps: 100_000)
        #expect(results.last?.terminated == true)
        #expect(env.episodeSteps == results.count)
        #expect(env.episodeFrames <= 4 * results.count && env.episodeFrames > 4 * (results.count - 1))
        #expect(env.episodeReturn == results.reduce(0) { $0 + $1.reward })
        #expect(env.episodeReturn == -21 || env.episodeReturn > -21)  // Pong ends at 21 points
    }

    @Test func noopStartsPlayBetweenOneAndNoopMaxFrames() throws {
        var seen = Set<Int>()
        let env = try make(seed: 4) { $0.noopMax = 30; $0.fireOnReset = false }
        for _ in 0..<40 {
            try env.reset()
            #expect((1...30).contains(env.episodeFrames))
            seen.insert(env.episodeFrames)
        }
        #expect(seen.count > 10)
        let none = try make { $0.noopMax = 0; $0.fireOnReset = false }
        try none.reset()
        #expect(none.episodeFrames == 0)
    }

    @Test func fireOnResetPressesFireOnlyWhereTheGameHasIt() throws {
        let breakout = try make("breakout") { $0.noopMax = 0; $0.fireOnReset = true }
        try breakout.reset()
        #expect(breakout.episodeFrames == 4)
        // Freeway has no FIRE action: nothing is pressed.
        let freeway = try make("freeway") { $0.noopMax = 0; $0.fireOnReset = true }
        try freeway.reset()
        #expect(freeway.episodeFrames == 0)
    }

    /// Breakout's ball waits for FIRE after every lost life. Played with NOOP only, the game ends
    /// (five lives lost) when FIRE follows a lost life, and stands still after the first loss
    /// when it does not.
    @Test func fireAfterALostLifeRelaunchesTheBall() throws {
        func noopsOnly(_ fire: Bool) throws -> (results: [StepResult], frames: Int) {
            let env = try make("breakout", seed: 2) { $0.noopMax = 0; $0.fireOnLifeLoss = fire; $0.maxEpisodeFrames = 12_000 }
            try env.reset()
            var out: [StepResult] = []
            var framesBefore = env.episodeFrames, lossFrames: [Int] = []
            for _ in 0..<3_000 {
                let r = env.step(0)
                out.append(r)
                if r.lifeLost { lossFrames.append(env.episodeFrames - framesBefore) }
                framesBefore = env.episodeFrames
                if r.episodeEnded { break }
            }
            return (out, lossFrames.first ?? 0)
        }
        let fired = try noopsOnly(true)
        let last = try #require(fired.results.last)
        #expect(last.terminated && last.lives == 0)
        #expect(fired.results.filter(\.lifeLost).count == 5)
        // The step that loses a life (the game going on) also plays FIRE's four frames.
        #expect(fired.frames == 8)
        let waiting = try noopsOnly(false)
        #expect(waiting.results.filter(\.lifeLost).count == 1)
        #expect(waiting.results.allSatisfy { !$0.terminated })
        #expect(waiting.frames == 4)
    }

    @Test func truncationAtTheFrameCapIsNotTermination() throws {
        let env = try make(seed: 5) { $0.maxEpisodeFrames = 400; $0.noopMax = 0; $0.fireOnReset = false }
        try env.reset()
        let results = run(env, steps: 10_000)
        let last = try #require(results.last)
        #expect(last.truncated && !last.terminated)
        #expect(env.episodeFrames == 400)
        #expect(results.dropLast().allSatisfy { !$0.episodeEnded })
    }

    @Test func lifeLossIsSignalledButTheGameGoesOn() throws {
        let env = try make("breakout", seed: 6) { $0.noopMax = 0 }
        try env.reset()
        let startLives = env.arcade.lives
        #expect(startLives == 5)
        let results = run(env, steps: 100_000)
        let losses = results.filter(\.lifeLost)
        #expect(losses.count == startLives)
        #expect(results.last?.terminated == true)
        // Every life loss but the last happens mid-game: learning sees a terminal, the game does not.
        let settings = env.preprocessing
        for r in losses.dropLast() {
            #expect(!r.terminated && r.isTerminalForLearning(settings))
        }
        var noSignal = settings
        noSignal.terminalOnLifeLoss = false
        #expect(losses.dropLast().allSatisfy { !$0.isTerminalForLearning(noSignal) })
    }

    @Test func rewardsAreClippedForLearningOnly() throws {
        // Breakout's bricks give up to 7 points: the score keeps them, learning sees 1. (Random
        // play reaches an upper row within the budget on this trajectory, without FIRE after a
        // lost life.)
        let env = try make("breakout", seed: 7) { $0.fireOnLifeLoss = false }
        try env.reset()
        var sawBig = false
        var rng = SeededGenerator(seed: 3)
        for _ in 0..<20_000 {
            let r = env.step(Int(rng.next() % UInt64(env.actionCount)))
            #expect(abs(r.trainingReward) <= 1)
            #expect(r.trainingReward == Float(r.reward.sign == .minus ? -1 : (r.reward == 0 ? 0 : 1)))
            if r.reward > 1 { sawBig = true }
            if r.episodeEnded { try env.reset() }
            if sawBig { break }
        }
        let unclipped = try make("breakout", seed: 7) { $0.clipRewards = false }
        try unclipped.reset()
        _ = unclipped
        #expect(sawBig)
    }

    @Test func sameSeedSameEpisodeDifferentSeedDifferentStarts() throws {
        func trace(_ seed: UInt64) throws -> [UInt64] {
            let env = try make(seed: seed, emulator: EmulatorSettings(stickyActionProbability: 0.25))
            try env.reset()
            var rng = SeededGenerator(seed: 9)
            var out: [UInt64] = []
            for _ in 0..<300 {
                let r = env.step(Int(rng.next() % 6))
                out.append(env.withFrame { fingerprint($0) } &+ UInt64(r.reward + 100))
                if r.episodeEnded { try env.reset() }
            }
            return out
        }
        #expect(try trace(1) == trace(1))
        #expect(try trace(1) != trace(2))
    }

    @Test func savedStateContinuesExactly() throws {
        let env = try make(seed: 8, emulator: EmulatorSettings(stickyActionProbability: 0.25))
        try env.reset()
        _ = run(env, steps: 200)
        let state = try env.saveState()
        let a = run(env, steps: 300, actionSeed: 4).map { [$0.reward, Double($0.lives)] }
        let frameA = env.withFrame { Array($0) }
        let other = try make(seed: 1234, emulator: EmulatorSettings(stickyActionProbability: 0.25))
        try other.restoreState(state)
        let b = run(other, steps: 300, actionSeed: 4).map { [$0.reward, Double($0.lives)] }
        #expect(a == b)
        #expect(frameA == other.withFrame { Array($0) })
    }

    @Test func badSettingsAreRejectedWithTheirValue() {
        #expect { try make { $0.frameSkip = 0 } } throws: { "\($0)".contains("frameSkip must be at least 1, got 0") }
        #expect { try make { $0.noopMax = -1 } } throws: { "\($0)".contains("got -1") }
    }
}
