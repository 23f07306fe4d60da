import Agent
import ArenaSupport
import Environment
import Foundation
import Testing
import TestSupport
@testable import Runner

/// A user's own agent, in one file, as the README shows it: an epsilon-greedy bandit that keeps
/// the mean reward each action earned (no network, no replay memory). It knows the runner only
/// through `ArenaAgent` and `AgentFactory`.
final class BanditAgent: ArenaAgent {
    struct Config: Codable, Equatable { var epsilon = 0.2 }
    /// The agent's learning: per action, the rewards it earned and how often it was taken.
    struct Values: Codable, Equatable { var totals: [Double]; var counts: [Int] }
    struct State: Codable { var values: Values; var steps: Int; var last: Int; var training: Bool; var generator: [UInt64] }

    let name = "bandit"
    let actionCount: Int
    let config: Config
    /// Exploration in evaluation episodes (an evaluation copy's); training uses config.epsilon.
    let evalEpsilon: Double
    private var values: Values
    private var steps = 0, last = 0, training = false
    private var generator: SeededGenerator

    init(actionCount: Int, seed: UInt64, config: Config, evalEpsilon: Double = 0, values: Values? = nil) {
        self.actionCount = actionCount
        self.config = config
        self.evalEpsilon = evalEpsilon
        self.values = values ?? Values(totals: Array(repeating: 0, count: actionCount), counts: Array(repeating: 0, count: actionCount))
        generator = SeededGenerator(seed: seed, stream: "bandit")
    }

    static func factory(_ config: Config) throws -> AgentFactory {
        AgentFactory(kind: "bandit", name: "bandit", configuration: try JSONValue(encoding: config),
                     make: { BanditAgent(actionCount: $0.actionCount, seed: $0.seed, config: config) },
                     loadPublished: { context, directory, epsilon in
                         let values = try JSONDecoder().decode(Values.self, from: Data(contentsOf: directory.appendingPathComponent("bandit-values.json")))
                         return BanditAgent(actionCount: context.actionCount, seed: context.seed, config: config,
                                            evalEpsilon: epsilon, values: values)
                     })
    }

    private func choose() -> Int {
        let epsilon = training ? config.epsilon : evalEpsilon
        if generator.nextUnitDouble() < epsilon { return Int(generator.next() % UInt64(actionCount)) }
        let means = (0..<actionCount).map { values.counts[$0] == 0 ? 0 : values.totals[$0] / Double(values.counts[$0]) }
        return means.indices.max { means[$0] < means[$1] } ?? 0
    }

    private func learn(_ reward: Float) {
        guard training else { return }
        values.totals[last] += Double(reward)
        values.counts[last] += 1
    }

    func beginEpisode(frame: UnsafeBufferPointer<UInt8>, training: Bool) -> Int {
        self.training = training
        last = choose()
        if training { steps += 1 }
        return last
    }

    func step(reward: Float, frame: UnsafeBufferPointer<UInt8>, lifeLost: Bool) -> Int {
        learn(reward)
        last = choose()
        if training { steps += 1 }
        return last
    }

    func endEpisode(reward: Float, frame: UnsafeBufferPointer<UInt8>, terminated: Bool, truncated: Bool) { learn(reward) }

    func save(to directory: URL) throws {
        let state = State(values: values, steps: steps, last: last, training: training, generator: generator.state)
        try AtomicFile.write(try JSONEncoder().encode(state), to: directory.appendingPathComponent("bandit.json"))
    }

    func restore(from directory: URL) throws {
        let state = try JSONDecoder().decode(State.self, from: Data(contentsOf: directory.appendingPathComponent("bandit.json")))
        values = state.values; steps = state.steps; last = state.last; training = state.training
        generator.state = state.generator
    }

    func evaluationCopy(epsilon: Double, seed: UInt64) throws -> ArenaAgent {
        BanditAgent(actionCount: actionCount, seed: seed, config: config, evalEpsilon: epsilon, values: values)
    }

    func publish(to directory: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys  // Foundation's key order varies from run to run otherwise
        try AtomicFile.write(try encoder.encode(values), to: directory.appendingPathComponent("bandit-values.json"))
    }

    var statistics: AgentStatistics {
        var s = AgentStatistics()
        s.agentSteps = steps
        s.epsilon = config.epsilon
        return s
    }
}

@Suite(.serialized) struct CustomAgentTests {
    func settings() -> RunSettings {
        var s = RunSettings(game: "breakout", agent: "bandit", seed: 5, protocol: .nature2015, budgetAgentSteps: 300)
        s.iterationSteps = 150
        s.evalEpisodes = 1
        s.finalEvalEpisodes = 2
        return s
    }

    /// The runner trains, checkpoints, stops, resumes and evaluates an agent it has never heard
    /// of, and the resumed run ends exactly where an uninterrupted one does.
    @Test func aCustomAgentTrainsCheckpointsResumesAndEvaluates() throws {
        let a = try makeTemporaryDirectory("custom-a"), b = try makeTemporaryDirectory("custom-b")
        defer { try? FileManager.default.removeItem(at: a); try? FileManager.default.removeItem(at: b) }
        let s = settings(), config = BanditAgent.Config(epsilon: 0.3)
        #expect(try Trainer(settings: s, agent: BanditAgent.factory(config), runDirectory: a, romDirectory: testROMDirectory).run() == .finished)

        var hooks = TrainerHooks()
        var steps = 0
        hooks.progressInterval = 1
        hooks.progress = { snap, _ in steps = snap.agentSteps }
        hooks.shouldStop = { steps >= 220 }
        #expect(try Trainer(settings: s, agent: BanditAgent.factory(config), runDirectory: b, romDirectory: testROMDirectory).run(hooks: hooks)
                == .stopped(agentSteps: 220))
        var logs: [String] = []
        var resumeHooks = TrainerHooks()
        resumeHooks.log = { logs.append($0) }
        #expect(try Trainer(settings: s, agent: BanditAgent.factory(config), runDirectory: b, romDirectory: testROMDirectory).run(hooks: resumeHooks) == .finished)
        #expect(logs.contains { $0.contains("from checkpoint at 220") })
        let published = try JSONDecoder().decode(BanditAgent.Values.self, from: Data(contentsOf: a.appendingPathComponent("bandit-values.json")))
        #expect(published.counts.reduce(0, +) == 300, "the bandit learns from every training step")
        let valuesB = try JSONDecoder().decode(BanditAgent.Values.self, from: Data(contentsOf: b.appendingPathComponent("bandit-values.json")))
        #expect(published == valuesB)
        #expect(try comparableMetrics(a) == comparableMetrics(b))

        // The record names the kind and keeps the agent's configuration as it is.
        let record = try RunRecord.read(from: a.appendingPathComponent("config.json"))
        let recorded = try JSONValue(encoding: config)
        #expect(record.agentKind == "bandit" && record.agentConfig == recorded)
        // A different configuration does not resume into this folder.
        #expect {
            try Trainer(settings: s, agent: BanditAgent.factory(BanditAgent.Config(epsilon: 0.5)), runDirectory: a, romDirectory: testROMDirectory).run()
        } throws: { "\($0)".contains("holds a run with a different configuration") }

        // The final evaluation has its episodes and no value check (the bandit has no action values).
        let summary = try JSONDecoder().decode(EvaluationSummary.self, from: Data(contentsOf: a.appendingPathComponent("evaluation.json")))
        #expect(summary.episodes.count == 2 && summary.valueCheck == nil && summary.agent == "bandit")

        // `arena evaluate --run` does the same through the published files.
        let factory = try BanditAgent.factory(config)
        var request = EvaluationRequest(game: "breakout", protocol: .nature2015, episodes: 1, seed: 7, agentName: "bandit",
                                        source: a.path) { context, epsilon in
            try factory.loadPublished(from: a, context: context, epsilon: epsilon)
        }
        let evaluated = try request.run()
        #expect(evaluated.episodes.count == 1 && evaluated.evalEpsilon == 0.05)
        request.valueCheck = true
        #expect { _ = try request.run() } throws: { "\($0)".contains("needs an agent with action values") }
    }
}
