import Foundation
import Testing
import Runner
import TestSupport

/// `--agent` on the command line: any agent kind trains and evaluates through the same commands.
@Suite struct AgentCLITests {
    let cli = CLITests()

    @Test(.arenaExecutable)
    func theRandomAgentTrainsAndEvaluatesFromTheCommandLine() throws {
        let dir = try makeTemporaryDirectory("cli-random")
        defer { try? FileManager.default.removeItem(at: dir) }
        let train = try cli.run(["train", "--game", "breakout", "--agent", "random", "--steps", "400", "--iteration-steps", "200",
                                 "--eval-episodes", "1", "--final-eval-episodes", "2", "--out", dir.path, "--plain"])
        #expect(train.status == 0, "stderr: \(train.err)")
        #expect(train.out.contains("final evaluation: mean ") && train.out.contains("over 2 episodes"))
        let run = dir.appendingPathComponent("breakout/random/1")
        let record = try RunRecord.read(from: run.appendingPathComponent("config.json"))
        #expect(record.agentKind == "random" && record.agent == "random")
        #expect(!FileManager.default.fileExists(atPath: run.appendingPathComponent("weights.safetensors").path))

        let fromRun = try cli.run(["evaluate", "--run", run.path, "--episodes", "2", "--json"])
        #expect(fromRun.status == 0, "stderr: \(fromRun.err)")
        let summary = try JSONDecoder().decode(EvaluationSummary.self, from: Data(fromRun.out.utf8))
        #expect(summary.agent == "random" && summary.episodes.count == 2)

        let fresh = try cli.run(["evaluate", "--agent", "random", "--game", "breakout", "--episodes", "1", "--json"])
        #expect(fresh.status == 0, "stderr: \(fresh.err)")
        let freshSummary = try JSONDecoder().decode(EvaluationSummary.self, from: Data(fresh.out.utf8))
        #expect(freshSummary.episodes.count == 1 && freshSummary.protocol == "nature2015")
        let changed = try cli.run(["evaluate", "--agent", "random", "--game", "breakout", "--episodes", "1", "--json",
                                   "--protocol-set", "fireOnLifeLoss=false"])
        #expect(changed.status == 0, "stderr: \(changed.err)")
        let changedSummary = try JSONDecoder().decode(EvaluationSummary.self, from: Data(changed.out.utf8))
        #expect(changedSummary.protocol == "nature2015, fireOnLifeLoss=false")
        // A random agent has no action values to check.
        let check = try cli.run(["evaluate", "--agent", "random", "--game", "breakout", "--episodes", "1", "--value-check"])
        #expect(check.status != 0 && check.err.contains("needs an agent with action values"), "stderr: \(check.err)")
    }

    /// A config.json beside --weights that cannot be read is refused with a sentence, not
    /// replaced by the default settings.
    @Test(.arenaExecutable)
    func aBrokenConfigBesideTheWeightsIsRefused() throws {
        let dir = try makeTemporaryDirectory("cli-broken-config")
        defer { try? FileManager.default.removeItem(at: dir) }
        let weights = try cli.untrainedPongWeights(in: dir)
        try Data("{\"gamma\": 0.99,".utf8).write(to: dir.appendingPathComponent("config.json"))
        let r = try cli.run(["evaluate", "--weights", weights, "--game", "pong", "--episodes", "1"])
        #expect(r.status != 0)
        #expect(r.err.contains("config.json beside the weights is neither a run's config.json nor a DQN preset"), "stderr: \(r.err)")
        #expect(!r.err.contains("Fatal error"))
        // Without the file the defaults are used and the evaluation runs.
        try FileManager.default.removeItem(at: dir.appendingPathComponent("config.json"))
        let ok = try cli.run(["evaluate", "--weights", weights, "--game", "pong", "--episodes", "1", "--max-episode-frames", "2000"])
        #expect(ok.status == 0, "stderr: \(ok.err)")
    }
}
