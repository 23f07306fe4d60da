import Foundation
import ArenaSupport

/// What the runner tells an agent it builds.
public struct AgentContext: Sendable {
    /// Actions of the game under the run's protocol.
    public var actionCount: Int
    /// The run's seed: every random choice of the agent derives from it.
    public var seed: UInt64
    /// The cores the agent may learn on.
    public var compute: ComputeResources

    public init(actionCount: Int, seed: UInt64, compute: ComputeResources = ComputeResources(threads: 1)) {
        self.actionCount = actionCount
        self.seed = seed
        self.compute = compute
    }
}

/// The threads a run gives its agent, chosen once when the run starts and recorded in
/// config.json, so a resumed run keeps its numerics whatever machine it resumes on.
public struct ComputeResources: Codable, Equatable, Sendable {
    /// Threads the agent may learn on (at least 1). DQN runs its updates in `threads` lanes (at most the batch size).
    public var threads: Int

    public init(threads: Int) {
        precondition(threads >= 1, "an agent needs at least 1 thread, got \(threads)")
        self.threads = threads
    }
}

/// Everything the runner knows of an agent: how to build it, its kind and name for results, and
/// its configuration, recorded as it is in config.json (`agent_kind`, `agent_config`). Dopamine's
/// `create_agent_fn`, with the record a resume and `arena evaluate --run` need.
public struct AgentFactory {
    /// The kind of agent (`dqn`, `random`, a user's own): `AgentCatalog` rebuilds the factory
    /// from it and the configuration.
    public let kind: String
    /// The name results are filed under: results/<game>/<name>/<seed>.
    public let name: String
    /// The agent's own configuration, opaque to the runner.
    public let configuration: JSONValue
    private let make: (AgentContext) throws -> ArenaAgent
    private let loadPublishedAgent: (AgentContext, URL, Double) throws -> ArenaAgent
    private let matches: (JSONValue) -> Bool

    /// - Parameters:
    ///   - make: a new agent for training.
    ///   - loadPublished: an agent for evaluation episodes from what `ArenaAgent.publish(to:)`
    ///     wrote into a folder, playing with the given epsilon.
    ///   - sameConfiguration: whether a recorded configuration is this one for resuming
    ///     (default: equal JSON).
    public init(kind: String, name: String, configuration: JSONValue,
                make: @escaping (AgentContext) throws -> ArenaAgent,
                loadPublished: ((AgentContext, URL, Double) throws -> ArenaAgent)? = nil,
                sameConfiguration: ((JSONValue) -> Bool)? = nil) {
        self.kind = kind
        self.name = name
        self.configuration = configuration
        self.make = make
        self.loadPublishedAgent = loadPublished ?? { _, dir, _ in
            throw ConfigurationError("Agents of kind '\(kind)' publish nothing to evaluate from \(dir.path); evaluate them during training.")
        }
        self.matches = sameConfiguration ?? { $0 == configuration }
    }

    /// A new agent for training.
    public func makeAgent(_ context: AgentContext) throws -> ArenaAgent { try make(context) }

    /// An evaluation agent from a folder the agent published into (a run folder, a shipped agent).
    public func loadPublished(from directory: URL, context: AgentContext, epsilon: Double) throws -> ArenaAgent {
        try loadPublishedAgent(context, directory, epsilon)
    }

    /// Whether `recorded` (from a run folder) is this configuration, so the run may resume.
    public func sameConfiguration(as recorded: JSONValue) -> Bool { matches(recorded) }

    /// The configuration as pretty JSON with sorted keys (printed when a run starts).
    public var configurationJSON: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return (try? encoder.encode(configuration)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}

/// The agent kinds the arena can build by name: the command line's `--agent` and the record of
/// every run folder go through here. A new kind is one more case in `factory(kind:...)`.
public enum AgentCatalog {
    /// Every kind `factory(kind:name:configuration:)` knows.
    public static let kinds = ["dqn", "random"]

    /// Rebuilds the factory of a recorded agent (config.json's `agent_kind` and `agent_config`).
    public static func factory(kind: String, name: String, configuration: JSONValue) throws -> AgentFactory {
        switch kind {
        case "dqn":
            let data = try JSONEncoder().encode(configuration)
            return DQNAgent.factory(name: name, config: try DQNConfig.decode(data, source: "The recorded DQN configuration"))
        case "random":
            return RandomAgent.factory
        default:
            throw ConfigurationError("Unknown agent kind '\(kind)'; this arena builds \(kinds.joined(separator: ", ")).")
        }
    }

    /// What a user names on the command line, resolved once at the edge: `random`, a preset name
    /// in `agentsDirectory` (`dqn-nature`, `dqn-cpu-fast`), or a path to a DQN JSON file, with
    /// `overrides` (`key=value`) applied on top of the file and validated.
    public static func resolve(_ spec: String, agentsDirectory: URL, overrides: [String] = []) throws -> AgentFactory {
        if spec == "random" {
            guard overrides.isEmpty else {
                throw ConfigurationError("The random agent takes no configuration, but overrides were given: \(overrides.joined(separator: " ")). Remove them or choose a DQN preset.")
            }
            return RandomAgent.factory
        }
        let file: URL
        if spec.hasSuffix(".json") || spec.contains("/") {
            file = URL(fileURLWithPath: spec)
            guard FileManager.default.fileExists(atPath: file.path) else {
                throw ConfigurationError("The agent file \(spec) does not exist; the presets are in \(agentsDirectory.path) (e.g. dqn-cpu-fast), or use random.")
            }
        } else {
            file = agentsDirectory.appendingPathComponent(spec + ".json")
            guard FileManager.default.fileExists(atPath: file.path) else {
                let presets = (try? FileManager.default.contentsOfDirectory(atPath: agentsDirectory.path))?
                    .filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted() ?? []
                throw ConfigurationError("Unknown agent '\(spec)'. Choose random, a preset (\(presets.isEmpty ? "none found in \(agentsDirectory.path)" : presets.joined(separator: ", "))) or a path to a JSON file.")
            }
        }
        let config = try DQNConfig.resolve(file: file, overrides: overrides)
        return DQNAgent.factory(name: file.deletingPathExtension().lastPathComponent, config: config)
    }
}
