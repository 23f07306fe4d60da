import Agent
import ArenaSupport
import Environment
import Foundation

/// What a training run is: the game, the agent and its configuration, the protocol, the seed,
/// the budget and the shape of its iterations. Written to `config.json` in the run folder.
public struct RunSettings: Codable, Equatable, Sendable {
    /// Game id (ALE's ROM id, e.g. `pong`).
    public var game: String
    /// Agent name: the preset file's name without `.json` (e.g. `dqn-cpu-fast`).
    public var agent: String
    public var seed: UInt64
    public var `protocol`: EvaluationProtocol
    /// Changes to the protocol's preprocessing for an ablation (`fireOnLifeLoss=false`), in the
    /// canonical form of `PreprocessingSettings.canonicalChanges`; empty: the protocol proper.
    /// The changed protocol is named for them (`protocolSettings.name`). Absent in records
    /// written before changes existed (read as none).
    public var protocolChanges: [String] = []
    /// Total agent steps of training (one agent step = `frameSkip` emulator frames).
    public var budgetAgentSteps: Int
    /// Agent steps of the training phase of one iteration (Dopamine: 250,000 = 1M frames).
    public var iterationSteps: Int = 50_000
    /// Evaluation episodes after each iteration's training phase (0: none).
    public var evalEpisodes: Int = 10
    /// Episodes of the final evaluation written to evaluation.json (nature2015: 30).
    public var finalEvalEpisodes: Int = 30
    /// Complete checkpoints kept in checkpoints/.
    public var keepCheckpoints: Int = 2

    public init(game: String, agent: String, seed: UInt64, protocol: EvaluationProtocol, budgetAgentSteps: Int) {
        self.game = game
        self.agent = agent
        self.seed = seed
        self.protocol = `protocol`
        self.budgetAgentSteps = budgetAgentSteps
    }

    /// The protocol's settings with `protocolChanges` applied (`EvaluationProtocol.settings(changing:)`).
    public func protocolSettings() throws -> ProtocolSettings {
        do { return try self.protocol.settings(changing: protocolChanges) } catch { throw RunError("\(error)") }
    }

    enum CodingKeys: String, CodingKey {
        case game, agent, seed, `protocol`, protocolChanges, budgetAgentSteps, iterationSteps, evalEpisodes,
             finalEvalEpisodes, keepCheckpoints
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        game = try c.decode(String.self, forKey: .game)
        agent = try c.decode(String.self, forKey: .agent)
        seed = try c.decode(UInt64.self, forKey: .seed)
        self.protocol = try c.decode(EvaluationProtocol.self, forKey: .protocol)
        protocolChanges = try c.decodeIfPresent([String].self, forKey: .protocolChanges) ?? []
        budgetAgentSteps = try c.decode(Int.self, forKey: .budgetAgentSteps)
        iterationSteps = try c.decode(Int.self, forKey: .iterationSteps)
        evalEpisodes = try c.decode(Int.self, forKey: .evalEpisodes)
        finalEvalEpisodes = try c.decode(Int.self, forKey: .finalEvalEpisodes)
        keepCheckpoints = try c.decode(Int.self, forKey: .keepCheckpoints)
    }

    /// Writes every field, `protocolChanges` only when there are some (so the records of runs
    /// under a protocol proper read as they always have).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(game, forKey: .game)
        try c.encode(agent, forKey: .agent)
        try c.encode(seed, forKey: .seed)
        try c.encode(self.protocol, forKey: .protocol)
        if !protocolChanges.isEmpty { try c.encode(protocolChanges, forKey: .protocolChanges) }
        try c.encode(budgetAgentSteps, forKey: .budgetAgentSteps)
        try c.encode(iterationSteps, forKey: .iterationSteps)
        try c.encode(evalEpisodes, forKey: .evalEpisodes)
        try c.encode(finalEvalEpisodes, forKey: .finalEvalEpisodes)
        try c.encode(keepCheckpoints, forKey: .keepCheckpoints)
    }

    public func validate() throws {
        func bad(_ s: String) throws { throw RunError(s) }
        _ = try protocolSettings()
        if budgetAgentSteps < 1 { try bad("The training budget must be at least 1 agent step, got \(budgetAgentSteps).") }
        if iterationSteps < 1 { try bad("iterationSteps must be at least 1, got \(iterationSteps).") }
        if evalEpisodes < 0 || finalEvalEpisodes < 0 { try bad("Evaluation episode counts cannot be negative.") }
        if keepCheckpoints < 1 { try bad("keepCheckpoints must be at least 1, got \(keepCheckpoints).") }
    }

    /// `results/<game>/<agent>/<seed>` under `root`.
    public func runDirectory(root: URL) -> URL {
        root.appendingPathComponent(game).appendingPathComponent(agent).appendingPathComponent(String(seed))
    }
}

/// A runner error: one sentence that says what went wrong and what to do.
public struct RunError: Error, CustomStringConvertible, LocalizedError {
    public let description: String
    public init(_ description: String) { self.description = description }
    public var errorDescription: String? { description }
}

/// The effective configuration of a run, as written to config.json: the run's settings, the
/// agent's kind and its own configuration (opaque to the runner), the protocol's settings, the
/// versions and the threads the run started with.
///
/// The file also carries `game`, `agent`, `seed`, `protocol` and `budget_agent_steps` at its top
/// level, derived from `run` when written, for readers that want them without knowing `run`
/// (scripts/export-agent.sh, `arena compare`); reading takes them from `run`.
public struct RunRecord: Equatable, Sendable {
    public var run: RunSettings
    public var arenaVersion: String
    public var aleVersion: String
    /// The agent's kind (`AgentFactory.kind`); records written before kinds were recorded are `dqn`.
    public var agentKind: String
    /// The agent's own configuration (`AgentFactory.configuration`).
    public var agentConfig: JSONValue
    public var protocolSettings: ProtocolSettings
    /// The threads the agent was given when the run started (`ComputeResources`). A resumed run
    /// keeps them whatever the machine, so it stays bit-exact. Nil in runs recorded before it
    /// was stored; they take this machine's choice.
    public var threads: Int?

    public var game: String { run.game }
    public var agent: String { run.agent }
    public var seed: UInt64 { run.seed }
    /// The protocol's name as results are grouped by: the named protocol, or with its changes
    /// (`RunSettings.protocolChanges`) the changed protocol's name.
    public var `protocol`: String { protocolSettings.name }
    public var budgetAgentSteps: Int { run.budgetAgentSteps }

    public init(run: RunSettings, arenaVersion: String, aleVersion: String, agentKind: String, agentConfig: JSONValue,
                protocolSettings: ProtocolSettings, threads: Int?) {
        self.run = run
        self.arenaVersion = arenaVersion
        self.aleVersion = aleVersion
        self.agentKind = agentKind
        self.agentConfig = agentConfig
        self.protocolSettings = protocolSettings
        self.threads = threads
    }
}

extension RunRecord: Codable {
    enum CodingKeys: String, CodingKey {
        case game, agent, seed, `protocol`, run, threads
        case arenaVersion = "arena_version", aleVersion = "ale_version", budgetAgentSteps = "budget_agent_steps"
        case agentKind = "agent_kind", agentConfig = "agent_config", protocolSettings = "protocol_settings"
        /// What `threads` was called when it could only be 1 or 2 (read, never written).
        case learnerLanes = "learner_lanes"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        run = try c.decode(RunSettings.self, forKey: .run)
        arenaVersion = try c.decode(String.self, forKey: .arenaVersion)
        aleVersion = try c.decode(String.self, forKey: .aleVersion)
        agentKind = try c.decodeIfPresent(String.self, forKey: .agentKind) ?? "dqn"
        agentConfig = try c.decode(JSONValue.self, forKey: .agentConfig)
        protocolSettings = try c.decode(ProtocolSettings.self, forKey: .protocolSettings)
        threads = try c.decodeIfPresent(Int.self, forKey: .threads) ?? c.decodeIfPresent(Int.self, forKey: .learnerLanes)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(game, forKey: .game)
        try c.encode(agent, forKey: .agent)
        try c.encode(seed, forKey: .seed)
        try c.encode(`protocol`, forKey: .protocol)
        try c.encode(budgetAgentSteps, forKey: .budgetAgentSteps)
        try c.encode(run, forKey: .run)
        try c.encode(arenaVersion, forKey: .arenaVersion)
        try c.encode(aleVersion, forKey: .aleVersion)
        try c.encode(agentKind, forKey: .agentKind)
        try c.encode(agentConfig, forKey: .agentConfig)
        try c.encode(protocolSettings, forKey: .protocolSettings)
        try c.encodeIfPresent(threads, forKey: .threads)
    }

    /// Reads a run folder's config.json, with a sentence saying what to do when it cannot.
    public static func read(from url: URL) throws -> RunRecord {
        guard let data = try? Data(contentsOf: url) else {
            throw RunError("\(url.deletingLastPathComponent().path) is not a run folder (no readable config.json); give a folder made by `arena train`.")
        }
        do { return try JSONDecoder().decode(RunRecord.self, from: data) } catch {
            throw RunError("\(url.path) is not a config.json this version can read (\(error)); move the folder away or pick another one.")
        }
    }

    /// The factory of the recorded agent (see `AgentCatalog`).
    public func agentFactory() throws -> AgentFactory {
        try AgentCatalog.factory(kind: agentKind, name: agent, configuration: agentConfig)
    }
}

public enum ArenaVersion {
    public static let string = "0.1.0"
}
