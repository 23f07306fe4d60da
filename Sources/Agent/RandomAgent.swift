import Foundation
import ArenaSupport

/// Uniformly random actions from a seeded generator: the arena's baseline, and the proof that
/// the runner needs nothing DQN-specific (`arena train --agent random`).
public final class RandomAgent: ArenaAgent {
    public let name = "random"
    public let actionCount: Int
    private var generator: SeededGenerator
    private var steps = 0
    private var training = false

    public init(actionCount: Int, seed: UInt64) {
        precondition(actionCount >= 1, "RandomAgent needs at least 1 action, got \(actionCount)")
        self.actionCount = actionCount
        self.generator = SeededGenerator(seed: seed, stream: "random-agent")
    }

    /// The random agent as the runner builds it: no configuration, nothing to publish.
    public static let factory = AgentFactory(
        kind: "random", name: "random", configuration: .object([:]),
        make: { RandomAgent(actionCount: $0.actionCount, seed: $0.seed) },
        loadPublished: { context, _, _ in RandomAgent(actionCount: context.actionCount, seed: context.seed) })

    private func choose() -> Int {
        if training { steps += 1 }
        return generator.nextInt(below: actionCount)
    }

    public func beginEpisode(frame: UnsafeBufferPointer<UInt8>, training: Bool) -> Int {
        self.training = training
        return choose()
    }

    public func step(reward: Float, frame: UnsafeBufferPointer<UInt8>, lifeLost: Bool) -> Int { choose() }

    public func endEpisode(reward: Float, frame: UnsafeBufferPointer<UInt8>, terminated: Bool, truncated: Bool) {}

    /// Random play has no epsilon: the copy only takes the seed.
    public func evaluationCopy(epsilon: Double, seed: UInt64) throws -> ArenaAgent {
        RandomAgent(actionCount: actionCount, seed: seed)
    }

    struct State: Codable { var name: String; var actionCount: Int; var generator: [UInt64]; var steps: Int; var training: Bool }
    static let fileName = "random-agent.json"

    public func save(to directory: URL) throws {
        let state = State(name: name, actionCount: actionCount, generator: generator.state, steps: steps, training: training)
        try AtomicFile.write(try JSONEncoder().encode(state), to: directory.appendingPathComponent(Self.fileName))
    }

    public func restore(from directory: URL) throws {
        let url = directory.appendingPathComponent(Self.fileName)
        guard let data = try? Data(contentsOf: url) else {
            throw CheckpointReadError(path: url.path, reason: "the file does not exist or is unreadable")
        }
        guard let state = try? JSONDecoder().decode(State.self, from: data), state.generator.count == 4 else {
            throw CheckpointReadError(path: url.path, reason: "it is not a random-agent state")
        }
        guard state.actionCount == actionCount else {
            throw CheckpointReadError(path: url.path, reason: "it was saved with \(state.actionCount) actions, this agent has \(actionCount)")
        }
        generator.state = state.generator
        steps = state.steps
        training = state.training
    }

    public var statistics: AgentStatistics {
        var s = AgentStatistics()
        s.agentSteps = steps
        s.epsilon = 1
        return s
    }
}
