import Agent
import Environment
import Foundation
import Testing
@testable import Runner
import TestSupport

/// `arena evaluate --value-check`: the realised returns, which states count, and the statistics.
@Suite struct ValueCheckTests {
    /// An episode carrying recorded values and learning rewards (the rest does not matter here).
    static func episode(values: [Float], rewards: [Float], truncated: Bool, ends: [Bool]? = nil) -> EvaluatedEpisode {
        var e = EvaluatedEpisode(score: Double(rewards.reduce(0, +)), length: rewards.count, frames: 4 * rewards.count,
                                 truncated: truncated, environmentSeed: 1, actions: [UInt8](repeating: 0, count: rewards.count),
                                 rewards: rewards, finalStateChecksum: "")
        e.predictedValues = values
        e.learningRewards = rewards
        e.learningEnds = ends
        return e
    }

    @Test func discountedReturnsRunBackwardFromTheLastStep() {
        let g = ValueCheck.discountedReturns(rewards: [1, 0, -1, 2], gamma: 0.5)
        // G3 = 2, G2 = -1 + 0.5 * 2 = 0, G1 = 0 + 0.5 * 0 = 0, G0 = 1 + 0.5 * 0 = 1
        #expect(g == [1, 0, 0, 2])
        #expect(ValueCheck.discountedReturns(rewards: [1, 1, 1], gamma: 0.9) == [1 + 0.9 * (1 + 0.9), 1 + 0.9, 1])
        #expect(ValueCheck.discountedReturns(rewards: [], gamma: 0.99).isEmpty)
    }

    @Test func aLearningEndStopsTheReturnBehindIt() {
        // After step 1 the learning episode ended (a lost life under nature2015): G1 = r1.
        let g = ValueCheck.discountedReturns(rewards: [1, 1, 1, 1], gamma: 0.5, ends: [false, true, false, false])
        #expect(g == [1.5, 1, 1.5, 1])
        // No flags: the whole episode, as before.
        #expect(ValueCheck.discountedReturns(rewards: [1, 1, 1, 1], gamma: 0.5) == [1.875, 1.75, 1.5, 1])
    }

    @Test func aCappedEpisodeKeepsTheStatesWhoseReturnsEndAtALostLife() throws {
        let gamma = 0.5  // horizon 7
        let zeros = [Float](repeating: 0, count: 10), ones = [Float](repeating: 1, count: 10)
        func check(_ endAt: [Int], truncated: Bool = true) throws -> ValueCheck {
            let ends = (0..<10).map { endAt.contains($0) }
            return try #require(ValueCheck.measure(episodes: [Self.episode(values: zeros, rewards: ones, truncated: truncated, ends: ends)],
                                                   gamma: gamma))
        }
        // A life lost after step 4: states 0-4 have whole returns, 5-9 run into the cap and go.
        let late = try check([4])
        #expect(late.states == 5 && late.excludedStates == 5 && late.learningEnds == 1)
        #expect(late.episodes[0].realisedMean == (1.9375 + 1.875 + 1.75 + 1.5 + 1) / 5)
        // After step 1: states 2-9 run into the cap; the last 7 go, state 2 is far enough from it.
        let early = try check([1, 0])
        #expect(early.states == 3 && early.excludedStates == 7 && early.learningEnds == 2)
        // A life lost on the capped step itself: every return ends there, none is left out, and
        // an end on an episode's last step is not counted as ending a return early.
        let last = try check([9])
        #expect(last.states == 10 && last.excludedStates == 0 && last.learningEnds == 0)
        #expect(try check([9], truncated: false).learningEnds == 0)
        #expect(late.sentence.contains("returns end at the 1 lost lives") && !last.sentence.contains("lost lives"))
        // Episodes recorded without the flags: the count is unknown, not 0.
        let old = try #require(ValueCheck.measure(episodes: [Self.episode(values: zeros, rewards: ones, truncated: false)], gamma: gamma))
        #expect(old.learningEnds == nil && old.states == 10)
    }

    /// Evaluation plays without clipping and on through lost lives, but the values were learnt
    /// from the training preprocessing's rewards and episode ends: the value check records those.
    /// Space Invaders scores 5-30 points an invader and has three lives.
    @Test(arguments: [true, false])
    func theValueCheckRecordsRewardsAndEndsAsTrainingSawThem(nature: Bool) throws {
        var settings = EvaluationProtocol.nature2015.settings
        if !nature {
            settings.preprocessing.clipRewards = false
            settings.preprocessing.terminalOnLifeLoss = false
        }
        var config = DQNConfig()
        config.replayCapacity = 1_000
        config.warmupSteps = config.batchSize
        let probe = try AtariEnvironment(game: "space_invaders", emulator: settings.emulator,
                                         preprocessing: settings.evaluationPreprocessing, seed: 1, romDirectory: testROMDirectory)
        let agent = try DQNAgent(config: config, actionCount: probe.actionCount, seed: 3).evaluationCopy(epsilon: 1, seed: 5)
        let played = try Evaluator.run(agent: agent, game: "space_invaders", settings: settings, episodes: 1, runSeed: 2,
                                       phase: "value-check", romDirectory: testROMDirectory, recordValues: true)
        let e = try #require(played.first)
        let learning = try #require(e.learningRewards), ends = try #require(e.learningEnds)
        #expect(!e.truncated && e.rewards.contains { $0 > 1 }, "a random game over with invaders shot")
        #expect(learning == (nature ? e.rewards.map { min(1, max(-1, $0)) } : e.rewards))
        #expect(ends.count == e.length && ends.last == true)
        let early = ends.dropLast().filter { $0 }.count
        #expect(nature ? early == 2 : early == 0, "lives lost before the last: \(early)")
        let check = try #require(ValueCheck.measure(episodes: played, gamma: config.gamma))
        #expect(check.learningEnds == early && check.states == e.length)
    }

    @Test func theHorizonIsWhereTheTailWeighsAtMostOnePercent() {
        let h = ValueCheck.horizon(gamma: 0.99)
        #expect(h == 459)
        #expect(pow(0.99, Double(h)) <= 0.01 && pow(0.99, Double(h - 1)) > 0.01)
        #expect(ValueCheck.horizon(gamma: 0.5) == 7)  // 0.5^7 = 0.0078, 0.5^6 = 0.0156
        #expect(ValueCheck.horizon(gamma: 1) == Int.max)
    }

    @Test func capsLoseTheirLastHorizonStatesAndGameOversKeepAll() throws {
        let gamma = 0.5  // horizon 7
        let ended = Self.episode(values: [Float](repeating: 0, count: 10), rewards: [Float](repeating: 1, count: 10), truncated: false)
        let capped = Self.episode(values: [Float](repeating: 0, count: 10), rewards: [Float](repeating: 1, count: 10), truncated: true)
        let check = try #require(ValueCheck.measure(episodes: [ended, capped], gamma: gamma))
        #expect(check.states == 10 + 3 && check.excludedStates == 7 && check.horizon == 7)
        #expect(check.episodes.map(\.states) == [10, 3])
        // The capped episode's first three states see at least 7 more rewards: close to 1 / (1 - 0.5).
        #expect(check.episodes[1].realisedMean > 1.98 && check.episodes[1].realisedMean < 2)
        // Nothing to compare: every state of a short capped episode is within the horizon.
        let short = Self.episode(values: [1, 2, 3], rewards: [0, 0, 1], truncated: true)
        #expect(ValueCheck.measure(episodes: [short], gamma: gamma) == nil)
        // Undiscounted, no capped state counts.
        #expect(ValueCheck.measure(episodes: [capped], gamma: 1) == nil)
        // Episodes played without recording are not compared.
        var plain = ended
        plain.predictedValues = nil
        plain.learningRewards = nil
        #expect(ValueCheck.measure(episodes: [plain], gamma: gamma) == nil)
    }

    @Test func biasErrorAndCorrelationCompareStateByState() throws {
        let rewards: [Float] = [0, 1, 0, 0, -1, 1, 0, 1]
        let gamma = 0.9
        let realised = ValueCheck.discountedReturns(rewards: rewards, gamma: gamma)
        // Values one above what follows: bias and error 1, perfectly correlated.
        let high = try #require(ValueCheck.measure(
            episodes: [Self.episode(values: realised.map { Float($0 + 1) }, rewards: rewards, truncated: false)], gamma: gamma))
        #expect(abs(high.bias - 1) < 1e-6 && abs(high.meanAbsoluteError - 1) < 1e-6)
        #expect(abs(try #require(high.correlation) - 1) < 1e-6)
        #expect(abs(high.realisedMean - realised.reduce(0, +) / 8) < 1e-12)
        // Values of the opposite sign: anti-correlated, and the error is twice the mean magnitude.
        let flipped = try #require(ValueCheck.measure(
            episodes: [Self.episode(values: realised.map { Float(-$0) }, rewards: rewards, truncated: false)], gamma: gamma))
        #expect(abs(try #require(flipped.correlation) + 1) < 1e-6)
        #expect(abs(flipped.meanAbsoluteError - 2 * realised.map(abs).reduce(0, +) / 8) < 1e-6)
        // Constant values say nothing about states: no correlation, not a number.
        let flat = try #require(ValueCheck.measure(
            episodes: [Self.episode(values: [Float](repeating: 0.5, count: 8), rewards: rewards, truncated: false)], gamma: gamma))
        #expect(flat.correlation == nil && flat.sentence.contains("correlation undefined"))
        #expect(high.sentence.contains("8 states") && high.sentence.contains("bias +1.000"))
    }
}
