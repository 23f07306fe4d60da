import ArenaSupport
import Foundation
import Testing
import TestSupport
@testable import Environment

/// One episode recorded through gymnasium's Atari pipeline by scripts/make_gymnasium_fixtures.py.
private struct GymnasiumEpisode: Decodable {
    let game: String
    let envID: String
    let seed: Int
    let actionCount: Int
    let actions: [Int]
    let rewards: [Double]
    let terminated: [Bool]
    /// The reset observation's hash, then one per step: first 16 hex digits of SHA-256 over 84x84 bytes.
    let observationHashes: [String]

    enum CodingKeys: String, CodingKey {
        case game, seed, actions, rewards, terminated
        case envID = "env_id", actionCount = "action_count", observationHashes = "observation_sha256_16"
    }

    static func load(_ game: String) throws -> GymnasiumEpisode {
        let url = try #require(Bundle.module.url(forResource: "gymnasium_\(game)", withExtension: "json",
                                                 subdirectory: "Fixtures"))
        return try JSONDecoder().decode(GymnasiumEpisode.self, from: Data(contentsOf: url))
    }
}

/// Our preprocessed environment against gymnasium's `AtariPreprocessing` over ale-py 0.12.1, the
/// pipeline most Python DQN code trains on: same actions, so the same pixels and rewards at every
/// agent step. This is the end-to-end check behind "preprocessing as in gymnasium": the kernels
/// are tested one by one against OpenCV in PreprocessingTests; here the frame skip, the choice of
/// the two pooled frames, ALE's grayscale palette, the minimal action set and the reward sums are
/// checked together.
@Suite struct GymnasiumParityTests {
    @Test(arguments: ["pong", "breakout"])
    func sameObservationsAndRewardsAsGymnasium(game: String) throws {
        let episode = try GymnasiumEpisode.load(game)
        #expect(episode.game == game)
        #expect(episode.observationHashes.count == episode.actions.count + 1)
        var settings = EvaluationProtocol.nature2015.settings
        settings.emulator.stickyActionProbability = 0
        var p = settings.preprocessing
        p.noopMax = 0           // gymnasium: noop_max=0
        p.fireOnReset = false   // AtariPreprocessing has no FIRE reset
        p.terminalOnLifeLoss = false
        p.fireOnLifeLoss = false  // nor a FIRE after a lost life
        p.clipRewards = false
        let env = try AtariEnvironment(game: game, emulator: settings.emulator, preprocessing: p, seed: UInt64(episode.seed),
                                       romDirectory: testROMDirectory)
        #expect(env.actionCount == episode.actionCount)
        try env.reset()
        func hash() -> String { env.withFrame { String(SHA256.hash($0).hexString.prefix(16)) } }
        #expect(hash() == episode.observationHashes[0], "reset observation differs from gymnasium's")

        var firstMismatch: Int?
        for (i, action) in episode.actions.enumerated() {
            let r = env.step(action)
            #expect(r.reward == episode.rewards[i], "step \(i): reward \(r.reward), gymnasium \(episode.rewards[i])")
            #expect(r.terminated == episode.terminated[i], "step \(i): terminated \(r.terminated), gymnasium \(episode.terminated[i])")
            // At game over gymnasium stops the frame loop before grabbing a screen and returns the
            // previous step's pooled frame again; we pool the frames the game actually ended on.
            // No learner bootstraps from a terminal observation, so that step is not compared.
            if !episode.terminated[i], firstMismatch == nil, hash() != episode.observationHashes[i + 1] {
                firstMismatch = i
            }
            if r.terminated { break }
        }
        #expect(firstMismatch == nil, "first observation that differs from gymnasium's: step \(firstMismatch ?? -1)")
        #expect(env.episodeSteps == episode.actions.count)
        #expect(env.episodeReturn == episode.rewards.reduce(0, +))
    }
}
