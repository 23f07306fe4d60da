import Agent
import ArenaSupport
import Environment
import Foundation
import NeuralNet

/// `arena evaluate`: loads an agent's weights (from a run folder or a weights file) and plays
/// evaluation episodes under a protocol, saving every episode as a replayable file.
public struct EvaluationRequest: Sendable {
    public var game: String
    public var weights: URL
    public var `protocol`: EvaluationProtocol
    public var episodes: Int
    public var seed: UInt64
    public var agentName: String
    /// Agent configuration (network shape, eval epsilon is overridden by the protocol).
    public var agentConfig: DQNConfig
    /// Where episode files go (nil: not saved).
    public var episodesDirectory: URL?
    /// Evaluation epsilon instead of the protocol's (e.g. Dopamine's 0.001), nil: the protocol's.
    public var epsilonOverride: Double?
    /// Evaluation episode cap in emulator frames instead of the protocol's, nil: the protocol's.
    public var maxEpisodeFramesOverride: Int?
    /// Also compare the network's values with the returns that followed (`ValueCheck`).
    public var valueCheck = false

    /// The protocol's settings with the overrides applied. A changed protocol is named for what
    /// changed ("nature2015, eval epsilon 0.001"), in the summary and in every episode file, so a
    /// score is never mistaken for one under the protocol proper.
    public var settings: ProtocolSettings {
        var s = self.protocol.settings
        var changes: [String] = []
        if let e = epsilonOverride, e != s.evalEpsilon {
            s.evalEpsilon = e
            changes.append("eval epsilon \(e)")
        }
        if let f = maxEpisodeFramesOverride, f != s.evalMaxEpisodeFrames {
            s.evalMaxEpisodeFrames = f
            changes.append("cap \(f) frames")
        }
        if !changes.isEmpty { s.name += ", " + changes.joined(separator: ", ") }
        return s
    }

    /// From a run folder: its config.json, and its newest weights.
    public static func fromRun(_ dir: URL, episodes: Int, protocolOverride: EvaluationProtocol?, seed: UInt64?) throws -> EvaluationRequest {
        let configURL = dir.appendingPathComponent("config.json")
        guard let data = try? Data(contentsOf: configURL) else {
            throw RunError("\(dir.path) is not a run folder (no config.json); give a folder made by `arena train`, or use --weights FILE --game G.")
        }
        let record: RunRecord
        do { record = try JSONDecoder().decode(RunRecord.self, from: data) } catch {
            throw RunError("\(configURL.path) cannot be read (\(error)).")
        }
        let weights = dir.appendingPathComponent("weights.safetensors")
        guard FileManager.default.fileExists(atPath: weights.path) else {
            throw RunError("The run folder \(dir.path) has no weights.safetensors yet; it is written after the first iteration.")
        }
        return EvaluationRequest(game: record.game, weights: weights, protocol: protocolOverride ?? record.run.protocol,
                                 episodes: episodes, seed: seed ?? record.seed, agentName: record.agent,
                                 agentConfig: record.agentConfig,
                                 episodesDirectory: dir.appendingPathComponent("episodes"))
    }

    public init(game: String, weights: URL, protocol: EvaluationProtocol, episodes: Int, seed: UInt64, agentName: String,
                agentConfig: DQNConfig, episodesDirectory: URL?) {
        self.game = game
        self.weights = weights
        self.protocol = `protocol`
        self.episodes = episodes
        self.seed = seed
        self.agentName = agentName
        self.agentConfig = agentConfig
        self.episodesDirectory = episodesDirectory
    }

    /// An agent in evaluation mode with the weights loaded. The replay memory is tiny: nothing is stored.
    public func makeAgent(actionCount: Int) throws -> DQNAgent {
        let (network, _) = try WeightsFile.load(from: weights)
        guard network.actions == actionCount else {
            throw RunError("The weights in \(weights.lastPathComponent) have \(network.actions) actions but \(game) under \(self.protocol) has \(actionCount); evaluate with the game and protocol they were trained on.")
        }
        var config = agentConfig
        config.dueling = network.dueling
        config.evalEpsilon = settings.evalEpsilon
        let agent = try Self.evaluationAgent(config: config, actionCount: actionCount, seed: seed, name: agentName)
        try agent.learner.loadWeights(from: weights)
        return agent
    }

    /// A DQN agent used only to act in evaluation episodes: same network and epsilon, a tiny
    /// replay memory (nothing is stored while evaluating).
    static func evaluationAgent(config: DQNConfig, actionCount: Int, seed: UInt64, name: String) throws -> DQNAgent {
        var c = config
        c.replayCapacity = max(c.batchSize * 4, 1_000)
        c.warmupSteps = min(c.warmupSteps, c.replayCapacity)
        return try DQNAgent(config: c, actionCount: actionCount, seed: seed, name: name)
    }

    public func run(onEpisode: (Int, EvaluatedEpisode) -> Void = { _, _ in }) throws -> EvaluationSummary {
        let settings = self.settings
        let info = try GameCatalog.resolve(game)
        let probe = try ArcadeEnvironment(game: info.id, settings: settings.emulator, seed: seed)
        let agent = try makeAgent(actionCount: probe.actionCount)
        let weightsHash = try? SHA256.hash(Data(contentsOf: weights)).hexString
        let phase = "evaluate-seed-\(seed)"
        let episodes = try Evaluator.run(agent: agent, game: info.id, settings: settings, episodes: self.episodes,
                                         runSeed: seed, phase: phase, recordValues: valueCheck) { i, e in
            if let dir = episodesDirectory {
                try EpisodeArchive.save(e, game: info.id, settings: settings, agent: agentName, weightsSHA256: weightsHash,
                                        to: dir.appendingPathComponent("\(phase)-episode-\(String(format: "%03d", i)).episode"))
            }
            onEpisode(i, e)
        }
        var summary = EvaluationSummary(game: info.id, protocol: settings.name, agent: agentName, seed: seed,
                                        agentSteps: agent.statistics.agentSteps, episodes: episodes,
                                        evalEpsilon: settings.evalEpsilon, maxEpisodeFrames: settings.evalMaxEpisodeFrames)
        if valueCheck { summary.valueCheck = ValueCheck.measure(episodes: episodes, gamma: agentConfig.gamma) }
        return summary
    }
}
