import Foundation

/// What a user names on the command line to choose an agent, resolved once at the edge:
/// `random`, a preset name in `agents/` (`dqn-nature`, `dqn-cpu-fast`), or a path to a JSON file.
public enum AgentDefinition: Equatable, Sendable {
    case random
    /// A DQN agent: `name` is recorded with results (the preset name or the file's base name).
    case dqn(name: String, config: DQNConfig)

    /// The recorded name.
    public var name: String {
        switch self {
        case .random: return "random"
        case .dqn(let name, _): return name
        }
    }

    /// Resolves `spec` with `overrides` (`key=value`) applied on top of the file and validated.
    /// Throws a `ConfigurationError` that lists the presets when `spec` names nothing known.
    public static func resolve(_ spec: String, agentsDirectory: URL, overrides: [String] = []) throws -> AgentDefinition {
        if spec == "random" {
            guard overrides.isEmpty else {
                throw ConfigurationError("The random agent takes no configuration, but overrides were given: \(overrides.joined(separator: " ")). Remove them or choose a DQN preset.")
            }
            return .random
        }
        let file: URL
        if spec.hasSuffix(".json") || spec.contains("/") {
            file = URL(fileURLWithPath: spec)
        } else {
            file = agentsDirectory.appendingPathComponent(spec + ".json")
            guard FileManager.default.fileExists(atPath: file.path) else {
                let presets = (try? FileManager.default.contentsOfDirectory(atPath: agentsDirectory.path))?
                    .filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted() ?? []
                throw ConfigurationError("Unknown agent '\(spec)'. Choose random, a preset (\(presets.isEmpty ? "none found in \(agentsDirectory.path)" : presets.joined(separator: ", "))) or a path to a JSON file.")
            }
        }
        let config = try DQNConfig.resolve(file: file, overrides: overrides)
        return .dqn(name: file.deletingPathExtension().lastPathComponent, config: config)
    }

    /// Builds the agent for a game with `actionCount` actions.
    public func makeAgent(actionCount: Int, seed: UInt64) throws -> ArenaAgent {
        switch self {
        case .random: return RandomAgent(actionCount: actionCount, seed: seed)
        case .dqn(let name, let config): return try DQNAgent(config: config, actionCount: actionCount, seed: seed, name: name)
        }
    }
}
