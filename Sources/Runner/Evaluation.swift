import Agent
import ArenaSupport
import Environment
import Foundation

/// `arena evaluate`: plays evaluation episodes of an agent under a protocol, saving every episode
/// as a replayable file. The agent comes from a closure, so any agent kind evaluates the same way:
/// from a run folder (`fromRun`: the recorded kind and configuration, the published files), from
/// a weights file, or a fresh one (`random`).
public struct EvaluationRequest {
    public var game: String
    public var `protocol`: EvaluationProtocol
    public var episodes: Int
    public var seed: UInt64
    public var agentName: String
    /// Builds the agent that plays, for the game's action count and the request's seed, with
    /// the evaluation epsilon given (the protocol's, or the override).
    public var makeAgent: (AgentContext, Double) throws -> ArenaAgent
    /// What the agent was loaded from, for the first line of `arena evaluate`.
    public var source: String
    /// A file the agent's weights came from: its SHA-256 goes into every episode file. Nil: none.
    public var weightsFile: URL?
    /// Where episode files go (nil: not saved).
    public var episodesDirectory: URL?
    /// Preprocessing changes of the protocol (`RunSettings.protocolChanges`): a run trained under a
    /// changed protocol is evaluated under the same one, unless another protocol is asked for.
    public var protocolChanges: [String] = []
    /// Evaluation epsilon instead of the protocol's (e.g. Dopamine's 0.001), nil: the protocol's.
    public var epsilonOverride: Double?
    /// Evaluation episode cap in emulator frames instead of the protocol's, nil: the protocol's.
    public var maxEpisodeFramesOverride: Int?
    /// Also compare the agent's values with the returns that followed (`ValueCheck`); the agent
    /// must be an `ActionValueAgent`.
    public var valueCheck = false

    public init(game: String, protocol: EvaluationProtocol, episodes: Int, seed: UInt64, agentName: String, source: String,
                weightsFile: URL? = nil, episodesDirectory: URL? = nil,
                makeAgent: @escaping (AgentContext, Double) throws -> ArenaAgent) {
        self.game = game
        self.protocol = `protocol`
        self.episodes = episodes
        self.seed = seed
        self.agentName = agentName
        self.source = source
        self.weightsFile = weightsFile
        self.episodesDirectory = episodesDirectory
        self.makeAgent = makeAgent
    }

    /// The protocol's settings with the overrides applied. A changed protocol is named for what
    /// changed ("nature2015, eval epsilon 0.001"), in the summary and in every episode file, so a
    /// score is never mistaken for one under the protocol proper.
    public var settings: ProtocolSettings {
        get throws {
            var s = try self.protocol.settings(changing: protocolChanges)
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
    }

    /// From a run folder (or a shipped agent's folder): its config.json names the agent's kind and
    /// configuration, and the agent loads what it published there (DQN: weights.safetensors).
    public static func fromRun(_ dir: URL, episodes: Int, protocolOverride: EvaluationProtocol?, seed: UInt64?) throws -> EvaluationRequest {
        let record = try RunRecord.read(from: dir.appendingPathComponent("config.json"))
        let factory = try record.agentFactory()
        let weights = dir.appendingPathComponent("weights.safetensors")
        let proto = protocolOverride ?? record.run.protocol
        var request = EvaluationRequest(game: record.game, protocol: proto, episodes: episodes,
                                 seed: seed ?? record.seed, agentName: record.agent, source: dir.path,
                                 weightsFile: FileManager.default.fileExists(atPath: weights.path) ? weights : nil,
                                 episodesDirectory: dir.appendingPathComponent("episodes")) { context, epsilon in
            try factory.loadPublished(from: dir, context: context, epsilon: epsilon)
        }
        if proto == record.run.protocol { request.protocolChanges = record.run.protocolChanges }
        return request
    }

    /// Plays the episodes; `onEpisode` sees each one as it ends, with its value check when asked for.
    public func run(onEpisode: (Int, EvaluatedEpisode, ValueCheck.Episode?) -> Void = { _, _, _ in }) throws -> EvaluationSummary {
        let settings = try self.settings
        let info = try GameCatalog.resolve(game)
        let probe = try ArcadeEnvironment(game: info.id, settings: settings.emulator, seed: seed)
        let agent = try makeAgent(AgentContext(actionCount: probe.actionCount, seed: seed), settings.evalEpsilon)
        guard agent.actionCount == probe.actionCount else {
            throw RunError("The agent from \(source) has \(agent.actionCount) actions but \(info.id) under \(self.protocol) has \(probe.actionCount); evaluate with the game and protocol it was trained on.")
        }
        let discount = (agent as? ActionValueAgent)?.discount
        if valueCheck && discount == nil {
            throw RunError("A value check needs an agent with action values: \(agent.name) has none.")
        }
        let weightsHash = try weightsFile.map { try SHA256.hash(Data(contentsOf: $0)).hexString }
        let phase = "evaluate-seed-\(seed)"
        let episodes = try Evaluator.run(agent: agent, game: info.id, settings: settings, episodes: self.episodes,
                                         runSeed: seed, phase: phase, recordValues: valueCheck) { i, e in
            if let dir = episodesDirectory {
                try EpisodeArchive.save(e, game: info.id, settings: settings, agent: agentName, weightsSHA256: weightsHash,
                                        to: dir.appendingPathComponent("\(phase)-episode-\(String(format: "%03d", i)).episode"))
            }
            onEpisode(i, e, discount.flatMap { ValueCheck.measure(episodes: [e], gamma: $0)?.episodes.first })
        }
        var summary = EvaluationSummary(game: info.id, settings: settings, agent: agentName, seed: seed,
                                        agentSteps: agent.statistics.agentSteps, episodes: episodes)
        if valueCheck, let discount { summary.valueCheck = ValueCheck.measure(episodes: episodes, gamma: discount) }
        return summary
    }
}
