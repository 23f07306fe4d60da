import Agent
import ArenaSupport
import Environment
import Foundation
import NeuralNet
import Testing
import TestSupport
@testable import Runner

/// A run small enough for a test: Breakout (short random episodes), a tiny replay memory and
/// network updates from step 64 on, two iterations of 150 agent steps.
func tinyRun(budget: Int = 300) -> (RunSettings, DQNConfig) {
    var s = RunSettings(game: "breakout", agent: "tiny", seed: 3, protocol: .nature2015, budgetAgentSteps: budget)
    s.iterationSteps = 150
    s.evalEpisodes = 1
    s.finalEvalEpisodes = 2
    var c = DQNConfig()
    c.replayCapacity = 600
    c.warmupSteps = 64
    c.batchSize = 8
    c.targetUpdatePeriod = 40
    c.epsilonDecaySteps = 200
    c.optimizer = OptimizerSettings(kind: .adam, learningRate: 1e-4, epsilon: 1.5e-4)
    c.doubleDQN = true
    c.nStep = 3
    return (s, c)
}

func fileBytes(_ url: URL) throws -> [UInt8] { [UInt8](try Data(contentsOf: url)) }

/// Metrics rows without their wall-clock fields, for comparing two runs.
func comparableMetrics(_ dir: URL) throws -> [String] {
    try String(contentsOf: dir.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        .split(separator: "\n").map { line in
            line.replacingOccurrences(of: #""wall_seconds": ?[0-9.e+-]+"#, with: "", options: .regularExpression)
                .replacingOccurrences(of: #""steps_per_second": ?[0-9.e+-]+"#, with: "", options: .regularExpression)
        }
}

@Suite(.serialized) struct TrainerTests {
    @Test func aTinyRunWritesEveryResultFile() throws {
        let dir = try makeTemporaryDirectory("train")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (s, c) = tinyRun()
        let trainer = try Trainer(settings: s, agent: DQNAgent.factory(name: s.agent, config: c), runDirectory: dir, romDirectory: testROMDirectory)
        #expect(try trainer.run() == .finished)

        let record = try JSONDecoder().decode(RunRecord.self, from: Data(contentsOf: dir.appendingPathComponent("config.json")))
        #expect(record.game == "breakout" && record.seed == 3 && record.protocol == "nature2015" && record.aleVersion == "0.12.1")
        // The agent's own configuration, as given: the runner records it opaquely with its kind.
        let recorded = try JSONValue(encoding: c)
        #expect(record.agentKind == "dqn" && record.agentConfig == recorded && record.threads == 1)

        let rows = try MetricsLog.readRows(from: dir.appendingPathComponent("metrics.jsonl"))
        let iterations = rows.compactMap { if case .iteration(let m) = $0 { return m } else { return nil } }
        #expect(iterations.map(\.agentSteps) == [150, 300])
        #expect(iterations.allSatisfy { $0.evalEpisodes == 1 && $0.evalMeanReturn != nil && $0.loss != nil })
        let trainEpisodes = rows.filter { if case .episode(let e) = $0 { return e.phase == .train } else { return false } }
        #expect(trainEpisodes.count >= 1)
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("metrics.csv").path))

        let summary = try JSONDecoder().decode(EvaluationSummary.self, from: Data(contentsOf: dir.appendingPathComponent("evaluation.json")))
        #expect(summary.episodes.count == 2 && summary.game == "breakout")
        #expect(summary.humanNormalized == GameCatalog.humanNormalized(score: summary.mean, game: "breakout"))
        // The final evaluation also compares the values with the returns: every state counted once.
        let check = try #require(summary.valueCheck)
        #expect(check.gamma == c.gamma && check.episodes.count == 2)
        #expect(check.states + check.excludedStates == summary.episodes.map(\.length).reduce(0, +))

        // Every evaluation episode file replays to the recorded score and final emulator state.
        let episodes = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("episodes").path)
        #expect(episodes.count == 6)  // one per iteration, two final, two final at epsilon 0.01
        // Beside the protocol's figure, never in it: the same count of episodes at epsilon 0.01,
        // and the last iteration's training return.
        let beside = try #require(summary.besideProtocol?.first)
        #expect(beside.evalEpsilon == 0.01 && beside.episodes == 2 && summary.besideProtocol?.count == 1)
        #expect(summary.trainMeanReturn == iterations.last?.trainMeanReturn)
        #expect(summary.evalEpsilon == 0.05 && summary.protocol == "nature2015")
        for name in episodes {
            let record = try EpisodeFile.read(from: dir.appendingPathComponent("episodes").appendingPathComponent(name))
            let env = try EpisodeReplayer.environment(for: record, romDirectory: testROMDirectory)
            let outcome = try EpisodeReplayer.replay(record, in: env)
            #expect(outcome.score == record.finalScore)
        }
        let (network, _) = try WeightsFile.load(from: dir.appendingPathComponent("weights.safetensors"))
        #expect(network.dueling == c.dueling)

        // Running a finished run again changes nothing: no training, no second final evaluation.
        let evalURL = dir.appendingPathComponent("evaluation.json")
        let before = try FileManager.default.attributesOfItem(atPath: evalURL.path)[.modificationDate] as? Date
        let rowsBefore = try MetricsLog.readRows(from: dir.appendingPathComponent("metrics.jsonl")).count
        #expect(try Trainer(settings: s, agent: DQNAgent.factory(name: s.agent, config: c), runDirectory: dir, romDirectory: testROMDirectory).run() == .finished)
        #expect(try FileManager.default.attributesOfItem(atPath: evalURL.path)[.modificationDate] as? Date == before)
        #expect(try MetricsLog.readRows(from: dir.appendingPathComponent("metrics.jsonl")).count == rowsBefore)
    }

    @Test func tensorBoardReadsTheScalars() throws {
        let dir = try makeTemporaryDirectory("train-tb")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (s, c) = tinyRun()
        try Trainer(settings: s, agent: DQNAgent.factory(name: s.agent, config: c), runDirectory: dir, romDirectory: testROMDirectory).run()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", packageRoot.appendingPathComponent("scripts/read_tfevents.py").path, dir.path]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        try #require(p.terminationStatus == 0, "scripts/read_tfevents.py failed: run `make test`, which installs tensorboard")
        let obj = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let scalars = try #require(obj["scalars"] as? [String: Any])
        for tag in ["train/episode_return", "eval/mean_return", "eval/human_normalized", "train/loss", "train/q_mean",
                    "train/epsilon", "perf/steps_per_second"] {
            #expect(scalars[tag] != nil, "missing TensorBoard tag \(tag)")
        }
        let evalPoints = try #require(scalars["eval/mean_return"] as? [[Double]])
        #expect(evalPoints.map { Int($0[0]) } == [150, 300])
    }

    @Test func stoppedAndResumedRunEndsBitIdentical() throws {
        let a = try makeTemporaryDirectory("train-a"), b = try makeTemporaryDirectory("train-b")
        defer { try? FileManager.default.removeItem(at: a); try? FileManager.default.removeItem(at: b) }
        let (s, c) = tinyRun()
        try Trainer(settings: s, agent: DQNAgent.factory(name: s.agent, config: c), runDirectory: a, romDirectory: testROMDirectory).run()

        // Stop mid-iteration (step 220), then resume in a new trainer.
        var hooks = TrainerHooks()
        var steps = 0
        hooks.progressInterval = 1
        hooks.progress = { snap, _ in steps = snap.agentSteps }
        hooks.shouldStop = { steps >= 220 }
        let first = try Trainer(settings: s, agent: DQNAgent.factory(name: s.agent, config: c), runDirectory: b, romDirectory: testROMDirectory).run(hooks: hooks)
        #expect(first == .stopped(agentSteps: 220))
        var logs: [String] = []
        var resumeHooks = TrainerHooks()
        resumeHooks.log = { logs.append($0) }
        #expect(try Trainer(settings: s, agent: DQNAgent.factory(name: s.agent, config: c), runDirectory: b, romDirectory: testROMDirectory).run(hooks: resumeHooks) == .finished)
        #expect(logs.contains { $0.contains("from checkpoint at 220") })
        // The iteration the resumed run finishes is announced with its evaluation.
        #expect(logs.contains { $0.hasPrefix("iter 1 done | 300 steps | eval ") && $0.contains(" over 1 episode, human-normalized ") })
        #expect(try fileBytes(a.appendingPathComponent("weights.safetensors")) == fileBytes(b.appendingPathComponent("weights.safetensors")))
        let ma = try comparableMetrics(a), mb = try comparableMetrics(b)
        #expect(ma == mb, "metrics differ: \(zip(ma, mb).filter { $0 != $1 }.prefix(2)) counts \(ma.count) vs \(mb.count)")
    }

    @Test func checkpointsWithinAPhaseChangeNothingAndAreResumedFrom() throws {
        let a = try makeTemporaryDirectory("train-a"), b = try makeTemporaryDirectory("train-b")
        defer { try? FileManager.default.removeItem(at: a); try? FileManager.default.removeItem(at: b) }
        let (s, c) = tinyRun()
        try Trainer(settings: s, agent: DQNAgent.factory(name: s.agent, config: c), runDirectory: a, romDirectory: testROMDirectory).run()

        // Asked for a checkpoint at steps 200 and 260 (within iteration 1); then stopped at 270,
        // as SIGTERM would, and that stop's checkpoint lost, as if the process had been SIGKILLed.
        var steps = 0
        var offered: [Double] = []
        var hooks = TrainerHooks()
        hooks.progressInterval = 1
        hooks.progress = { snap, _ in steps = snap.agentSteps }
        hooks.shouldCheckpoint = { seconds in offered.append(seconds); return steps == 200 || steps == 260 }
        hooks.shouldStop = { steps >= 270 }
        var logs: [String] = []
        hooks.log = { logs.append($0) }
        let first = try Trainer(settings: s, agent: DQNAgent.factory(name: s.agent, config: c), runDirectory: b, romDirectory: testROMDirectory).run(hooks: hooks)
        #expect(first == .stopped(agentSteps: 270))
        #expect(logs.contains("Checkpoint at 200 agent steps (within iteration 1)."))
        #expect(offered.allSatisfy { $0 >= 0 } && offered.count == 270 - 1 - 1, "offered \(offered.count) times")
        let store = CheckpointStore(directory: b.appendingPathComponent("checkpoints"), keep: 2)
        #expect(try store.latestValid()?.url.lastPathComponent == "ckpt-270")
        try FileManager.default.removeItem(at: b.appendingPathComponent("checkpoints/ckpt-270"))
        var resumeLogs: [String] = []
        var resumeHooks = TrainerHooks()
        resumeHooks.log = { resumeLogs.append($0) }
        #expect(try Trainer(settings: s, agent: DQNAgent.factory(name: s.agent, config: c), runDirectory: b, romDirectory: testROMDirectory).run(hooks: resumeHooks) == .finished)
        #expect(resumeLogs.contains { $0.contains("from checkpoint at 260") })
        #expect(try fileBytes(a.appendingPathComponent("weights.safetensors")) == fileBytes(b.appendingPathComponent("weights.safetensors")))
        let ma = try comparableMetrics(a), mb = try comparableMetrics(b)
        #expect(ma == mb, "metrics differ: \(zip(ma, mb).filter { $0 != $1 }.prefix(2)) counts \(ma.count) vs \(mb.count)")
    }

    @Test func aDamagedNewestCheckpointFallsBackToTheOneBefore() throws {
        let a = try makeTemporaryDirectory("train-a"), b = try makeTemporaryDirectory("train-b")
        defer { try? FileManager.default.removeItem(at: a); try? FileManager.default.removeItem(at: b) }
        let (s, c) = tinyRun()
        try Trainer(settings: s, agent: DQNAgent.factory(name: s.agent, config: c), runDirectory: a, romDirectory: testROMDirectory).run()
        var steps = 0
        var hooks = TrainerHooks()
        hooks.progressInterval = 1
        hooks.progress = { snap, _ in steps = snap.agentSteps }
        hooks.shouldStop = { steps >= 200 }
        _ = try Trainer(settings: s, agent: DQNAgent.factory(name: s.agent, config: c), runDirectory: b, romDirectory: testROMDirectory).run(hooks: hooks)
        // Tear the newest checkpoint's trainer state, as a crash in the middle of a disk write could.
        let torn = b.appendingPathComponent("checkpoints/ckpt-200/trainer.json")
        try Data("{\"agentSteps\": 2".utf8).write(to: torn)
        var logs: [String] = []
        var resumeHooks = TrainerHooks()
        resumeHooks.log = { logs.append($0) }
        #expect(try Trainer(settings: s, agent: DQNAgent.factory(name: s.agent, config: c), runDirectory: b, romDirectory: testROMDirectory).run(hooks: resumeHooks) == .finished)
        #expect(logs.contains { $0.contains("ckpt-200") })
        #expect(logs.contains { $0.contains("from checkpoint at 150") })
        #expect(try fileBytes(a.appendingPathComponent("weights.safetensors")) == fileBytes(b.appendingPathComponent("weights.safetensors")))
    }

    @Test func aFolderWithAnotherRunIsRefused() throws {
        let dir = try makeTemporaryDirectory("train-other")
        defer { try? FileManager.default.removeItem(at: dir) }
        var (s, c) = tinyRun(budget: 10)
        s.evalEpisodes = 0
        s.finalEvalEpisodes = 0
        try Trainer(settings: s, agent: DQNAgent.factory(name: s.agent, config: c), runDirectory: dir, romDirectory: testROMDirectory).run()
        c.batchSize = 16
        #expect {
            try Trainer(settings: s, agent: DQNAgent.factory(name: s.agent, config: c), runDirectory: dir, romDirectory: testROMDirectory).run()
        } throws: { "\($0)".contains("holds a run with a different configuration") }
    }

    /// A run recorded before FIRE after a lost life was a setting goes on without it (what it
    /// played from its start); any other difference in the protocol's settings is refused.
    @Test func aRunRecordedBeforeFireOnLifeLossResumesWithoutIt() throws {
        let dir = try makeTemporaryDirectory("train-old-protocol")
        defer { try? FileManager.default.removeItem(at: dir) }
        var (s, c) = tinyRun(budget: 150)
        s.evalEpisodes = 0
        s.finalEvalEpisodes = 0
        let factory = try DQNAgent.factory(name: s.agent, config: c)
        try Trainer(settings: s, agent: factory, runDirectory: dir, romDirectory: testROMDirectory).run()
        let configURL = dir.appendingPathComponent("config.json")
        func editPreprocessing(_ edit: (inout [String: Any]) -> Void) throws {
            var record = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any])
            var settings = try #require(record["protocol_settings"] as? [String: Any])
            var preprocessing = try #require(settings["preprocessing"] as? [String: Any])
            edit(&preprocessing)
            settings["preprocessing"] = preprocessing
            record["protocol_settings"] = settings
            try JSONSerialization.data(withJSONObject: record).write(to: configURL)
        }
        try editPreprocessing { $0["fireOnLifeLoss"] = nil }
        s.budgetAgentSteps = 300
        var logs: [String] = []
        var hooks = TrainerHooks()
        hooks.log = { logs.append($0) }
        #expect(try Trainer(settings: s, agent: factory, runDirectory: dir, romDirectory: testROMDirectory).run(hooks: hooks) == .finished)
        #expect(logs.contains { $0.contains("as recorded when this run started") })
        let kept = try RunRecord.read(from: configURL)
        #expect(!kept.protocolSettings.preprocessing.fireOnLifeLoss && kept.budgetAgentSteps == 300)

        try editPreprocessing { $0["noopMax"] = 7 }
        s.budgetAgentSteps = 450
        #expect {
            try Trainer(settings: s, agent: factory, runDirectory: dir, romDirectory: testROMDirectory).run()
        } throws: { "\($0)".contains("holds a run with a different configuration") }
    }

    /// A run under a changed protocol (an ablation) records the changes and the changed
    /// protocol's name, which is what results are grouped by; its evaluations play under it; a
    /// record without changes reads as the protocol proper; other changes do not resume it.
    @Test func aChangedProtocolIsRecordedNamedAndKept() throws {
        let dir = try makeTemporaryDirectory("train-changed-protocol")
        defer { try? FileManager.default.removeItem(at: dir) }
        var (s, c) = tinyRun(budget: 150)
        s.evalEpisodes = 0
        s.finalEvalEpisodes = 1
        s.protocolChanges = ["fireOnLifeLoss=false"]
        let factory = try DQNAgent.factory(name: s.agent, config: c)
        #expect(try Trainer(settings: s, agent: factory, runDirectory: dir, romDirectory: testROMDirectory).run() == .finished)
        let configURL = dir.appendingPathComponent("config.json")
        let record = try RunRecord.read(from: configURL)
        #expect(record.run.protocolChanges == ["fireOnLifeLoss=false"] && record.run.protocol == .nature2015)
        #expect(!record.protocolSettings.preprocessing.fireOnLifeLoss)
        let raw = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any])
        #expect(raw["protocol"] as? String == "nature2015, fireOnLifeLoss=false")
        let summary = try JSONDecoder().decode(EvaluationSummary.self, from: Data(contentsOf: dir.appendingPathComponent("evaluation.json")))
        #expect(summary.protocol == "nature2015, fireOnLifeLoss=false")
        // `arena evaluate --run` plays the run's changed protocol, unless another is asked for.
        #expect(try EvaluationRequest.fromRun(dir, episodes: 1, protocolOverride: nil, seed: nil).settings.name == "nature2015, fireOnLifeLoss=false")
        #expect(try EvaluationRequest.fromRun(dir, episodes: 1, protocolOverride: .machado2018, seed: nil).settings.name == "machado2018")

        var proper = s
        proper.protocolChanges = []
        let properJSON = try #require(String(data: try JSONEncoder().encode(proper), encoding: .utf8))
        #expect(!properJSON.contains("protocolChanges"))
        #expect(try JSONDecoder().decode(RunSettings.self, from: Data(properJSON.utf8)) == proper)
        proper.budgetAgentSteps = 300
        #expect {
            try Trainer(settings: proper, agent: factory, runDirectory: dir, romDirectory: testROMDirectory).run()
        } throws: { "\($0)".contains("holds a run with a different configuration") }
        s.protocolChanges = ["frameSkip=0"]
        #expect {
            try Trainer(settings: s, agent: factory, runDirectory: dir, romDirectory: testROMDirectory)
        } throws: { "\($0)" == "frameSkip must be at least 1, got 0." }
    }

    @Test func aStartFromZeroDropsEventsOfAnAttemptThatNeverCheckpointed() throws {
        let dir = try makeTemporaryDirectory("train-stale")
        defer { try? FileManager.default.removeItem(at: dir) }
        let stale = dir.appendingPathComponent("events.out.tfevents.1.old")
        try Data([1, 2, 3]).write(to: stale)
        var (s, c) = tinyRun(budget: 10)
        s.evalEpisodes = 0
        s.finalEvalEpisodes = 0
        try Trainer(settings: s, agent: DQNAgent.factory(name: s.agent, config: c), runDirectory: dir, romDirectory: testROMDirectory).run()
        #expect(!FileManager.default.fileExists(atPath: stale.path))
        let events = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix("events.out.tfevents.") }
        #expect(events.count == 1)
    }

    @Test func anUnwritableFolderIsAClearError() throws {
        let (s, c) = tinyRun(budget: 10)
        #expect {
            try Trainer(settings: s, agent: DQNAgent.factory(name: s.agent, config: c), runDirectory: URL(fileURLWithPath: "/proc/arena-run"), romDirectory: testROMDirectory).run()
        } throws: { "\($0)".contains("Cannot create the run folder /proc/arena-run") }
    }
}
