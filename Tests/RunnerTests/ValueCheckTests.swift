import Foundation
import Testing
@testable import Runner

/// `arena evaluate --value-check`: the realised returns, which states count, and the statistics.
@Suite struct ValueCheckTests {
    /// An episode carrying recorded values and learning rewards (the rest does not matter here).
    static func episode(values: [Float], rewards: [Float], truncated: Bool) -> EvaluatedEpisode {
        var e = EvaluatedEpisode(score: Double(rewards.reduce(0, +)), length: rewards.count, frames: 4 * rewards.count,
                                 truncated: truncated, environmentSeed: 1, actions: [UInt8](repeating: 0, count: rewards.count),
                                 rewards: rewards, finalStateChecksum: "")
        e.predictedValues = values
        e.learningRewards = rewards
        return e
    }

    @Test func discountedReturnsRunBackwardFromTheLastStep() {
        let g = ValueCheck.discountedReturns(rewards: [1, 0, -1, 2], gamma: 0.5)
        // G3 = 2, G2 = -1 + 0.5 * 2 = 0, G1 = 0 + 0.5 * 0 = 0, G0 = 1 + 0.5 * 0 = 1
        #expect(g == [1, 0, 0, 2])
        #expect(ValueCheck.discountedReturns(rewards: [1, 1, 1], gamma: 0.9) == [1 + 0.9 * (1 + 0.9), 1 + 0.9, 1])
        #expect(ValueCheck.discountedReturns(rewards: [], gamma: 0.99).isEmpty)
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
