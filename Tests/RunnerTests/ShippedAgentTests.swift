import Foundation
import Testing
import NeuralNet
@testable import Runner
import TestSupport

/// The trained Pong agent committed in agents/ works right after set-up: its files are what the
/// README says, its best episode replays exactly, and its evaluation reproduces from the weights.
///
/// Both tests are regression checks: what they compare against (evaluation.json, best.episode,
/// the weights) was written by this project's own train, evaluate and export code, so they show
/// that today's code agrees with the code that made the agent, not that either is right.
@Suite struct ShippedAgentTests {
    static let folder = packageRoot.appendingPathComponent("agents/pong-dqn-cpu-fast")

    static func summary() throws -> EvaluationSummary {
        try JSONDecoder().decode(EvaluationSummary.self, from: Data(contentsOf: folder.appendingPathComponent("evaluation.json")))
    }

    @Test("regression check: the shipped agent's files, written by our own code, are small F16 weights and describe a Pong run")
    func regressionCheckShippedFilesAreSmallHalfPrecisionAndDescribeAPongRun() throws {
        let weights = Self.folder.appendingPathComponent("weights.safetensors")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: weights.path)[.size] as? Int)
        #expect(size < 8_000_000, "shipped weights must stay under 8 MB, got \(size) bytes")
        let file = try WeightsFile.read(from: weights)
        #expect(!file.tensors.isEmpty && file.tensors.allSatisfy { $0.dtype == "F16" })
        let config = try #require(try JSONSerialization.jsonObject(
            with: Data(contentsOf: Self.folder.appendingPathComponent("config.json"))) as? [String: Any])
        #expect(config["game"] as? String == "pong")
        let summary = try Self.summary()
        #expect(summary.game == "pong" && summary.protocol == "nature2015" && summary.episodes.count == 30)
        #expect(summary.evalEpsilon == 0.05 && summary.maxEpisodeFrames == 18_000)
        let scores = summary.episodes.map(\.score)
        #expect(abs(summary.mean - scores.reduce(0, +) / 30) < 1e-9)
        // What the README claims: far above random play (-20.7), short of the issue's +18.
        let random = try #require(summary.random)
        #expect(summary.mean > random + 15, "the shipped agent's evaluation mean is \(summary.mean)")
        let best = try EpisodeFile.read(from: Self.folder.appendingPathComponent("best.episode"))
        #expect(best.finalScore == scores.max())
        #expect(best.game == "pong" && best.protocolName == "nature2015")
    }

    @Test("regression check: the shipped best episode replays and the shipped evaluation.json reproduces from the weights",
          .arenaExecutable)
    func regressionCheckBestEpisodeReplaysAndTheEvaluationReproduces() throws {
        let cli = CLITests()
        let replay = try cli.run(["replay", Self.folder.appendingPathComponent("best.episode").path])
        #expect(replay.status == 0, "stderr: \(replay.err)")
        #expect(replay.out.contains("final emulator state match"))

        // The first two episodes of the shipped evaluation, played again from the F16 weights
        // with the same seed: the same scores, lengths and frames. The value check rides along:
        // recording Q(s, a) must not change a single action.
        let shipped = try Self.summary()
        let eval = try cli.run(["evaluate", "--weights", Self.folder.appendingPathComponent("weights.safetensors").path,
                                "--game", "pong", "--episodes", "2", "--seed", "\(shipped.seed)", "--value-check", "--json"])
        #expect(eval.status == 0, "stderr: \(eval.err)")
        let again = try JSONDecoder().decode(EvaluationSummary.self, from: Data(eval.out.utf8))
        #expect(again.episodes == Array(shipped.episodes.prefix(2)))

        // A trained agent's values follow what it then collects: clearly correlated state by
        // state (an untrained network's are not), and within half a point of the realised
        // discounted return on average. Both episodes end at the 18,000-frame cap, so each one's
        // last 459 states (gamma 0.99) are left out.
        let check = try #require(again.valueCheck)
        #expect(check.gamma == 0.99 && check.horizon == 459)
        #expect(check.states + check.excludedStates == again.episodes.map(\.length).reduce(0, +))
        #expect(check.episodes.count == 2 && check.excludedStates == 2 * 459)
        #expect(try #require(check.correlation) > 0.4, "correlation \(String(describing: check.correlation))")
        #expect(abs(check.bias) < 0.5, "bias \(check.bias)")
    }
}
