import Foundation
import Testing
import Agent
import NeuralNet
@testable import Runner
import TestSupport

/// scripts/export-agent.sh turns a run folder into a shippable agent folder: F16 weights, the run's
/// config, an evaluation of those weights and an episode file that replays.
@Suite(.serialized) struct ExportAgentTests {
    @Test(.arenaExecutable)
    func exportsAnAgentThatEvaluatesAndReplays() throws {
        let dir = try makeTemporaryDirectory("export")
        defer { try? FileManager.default.removeItem(at: dir) }
        let runDir = dir.appendingPathComponent("run")
        let (s, c) = tinyRun()
        #expect(try Trainer(settings: s, agent: DQNAgent.factory(name: s.agent, config: c), runDirectory: runDir, romDirectory: testROMDirectory).run() == .finished)

        let out = dir.appendingPathComponent("agent")
        func export(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/bash")
            p.arguments = [packageRoot.appendingPathComponent("scripts/export-agent.sh").path] + args
            p.environment = ProcessInfo.processInfo.environment.merging(["ARENA": CLITests.arena.path]) { $1 }
            let o = Pipe(), e = Pipe()
            p.standardOutput = o; p.standardError = e
            try p.run()
            let od = o.fileHandleForReading.readDataToEndOfFile(), ed = e.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return (p.terminationStatus, String(decoding: od, as: UTF8.self), String(decoding: ed, as: UTF8.self))
        }
        let r = try export([runDir.path, out.path, "2"])
        #expect(r.status == 0, "stderr: \(r.err)")
        #expect(r.out.contains("over 2 episodes"))

        let weights = out.appendingPathComponent("weights.safetensors")
        #expect(try WeightsFile.read(from: weights).tensors.allSatisfy { $0.dtype == "F16" })
        let summary = try JSONDecoder().decode(EvaluationSummary.self, from: Data(contentsOf: out.appendingPathComponent("evaluation.json")))
        #expect(summary.game == "breakout" && summary.episodes.count == 2)
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("config.json").path))
        let best = out.appendingPathComponent("best.episode")
        let episode = try EpisodeFile.read(from: best)
        #expect(episode.finalScore == summary.episodes.map(\.score).max())
        // No staging folder is left beside the agent.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["agent", "run"])

        let again = try export([runDir.path, out.path])
        #expect(again.status != 0 && again.err.contains("already exists"))
        let notARun = try export([dir.path, dir.appendingPathComponent("other").path])
        #expect(notARun.status != 0 && notARun.err.contains("is not a run folder"))
        // A run whose budget is not spent (here: extended, so its evaluation.json is older) is not exported.
        var longer = s
        longer.budgetAgentSteps = 450
        let unfinished = dir.appendingPathComponent("unfinished")
        var hooks = TrainerHooks()
        hooks.shouldStop = { true }
        try FileManager.default.copyItem(at: runDir, to: unfinished)
        #expect(try Trainer(settings: longer, agent: DQNAgent.factory(name: s.agent, config: c), runDirectory: unfinished,
                            romDirectory: testROMDirectory).run(hooks: hooks) == .stopped(agentSteps: 301))
        let early = try export([unfinished.path, dir.appendingPathComponent("early").path])
        #expect(early.status != 0 && early.err.contains("has not finished"), "stderr: \(early.err)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("early").path))

        // A run under a changed protocol is evaluated for its export under the same changes.
        var changed = s
        changed.protocolChanges = ["fireOnLifeLoss=false"]
        changed.budgetAgentSteps = 150
        let changedRun = dir.appendingPathComponent("changed-run")
        #expect(try Trainer(settings: changed, agent: DQNAgent.factory(name: s.agent, config: c), runDirectory: changedRun,
                            romDirectory: testROMDirectory).run() == .finished)
        let changedOut = dir.appendingPathComponent("changed-agent")
        let exported = try export([changedRun.path, changedOut.path, "1"])
        #expect(exported.status == 0, "stderr: \(exported.err)")
        let changedSummary = try JSONDecoder().decode(EvaluationSummary.self, from: Data(contentsOf: changedOut.appendingPathComponent("evaluation.json")))
        #expect(changedSummary.protocol == "nature2015, fireOnLifeLoss=false")
    }
}
