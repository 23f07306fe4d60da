import Agent
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

    public func validate() throws {
        func bad(_ s: String) throws { throw RunError(s) }
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

/// The effective configuration of a run, as written to config.json.
public struct RunRecord: Codable, Equatable, Sendable {
    public var game: String
    public var agent: String
    public var seed: UInt64
    public var `protocol`: String
    public var arenaVersion: String
    public var aleVersion: String
    public var budgetAgentSteps: Int
    public var run: RunSettings
    public var agentConfig: DQNConfig
    public var protocolSettings: ProtocolSettings
    /// How updates were split when the run started (1: one piece; 2: two half-batches side by
    /// side). A resumed run keeps it whatever the machine's thread count, so it stays bit-exact.
    /// Nil in runs recorded before it was stored; they take the thread count's choice.
    public var learnerLanes: Int?

    enum CodingKeys: String, CodingKey {
        case game, agent, seed, `protocol`, run
        case arenaVersion = "arena_version", aleVersion = "ale_version", budgetAgentSteps = "budget_agent_steps"
        case agentConfig = "agent_config", protocolSettings = "protocol_settings", learnerLanes = "learner_lanes"
    }
}

public enum ArenaVersion {
    public static let string = "0.1.0"
}
