import Foundation
import ArenaSupport

/// The one protocol the runner drives every agent through (DQN, random, a user's own).
///
/// Observations are single preprocessed 84x84 uint8 frames (7056 bytes, row-major), valid only
/// during the call: an agent copies what it keeps and owns its frame stack. Rewards are already
/// clipped by the environment when the protocol says so. All counts are agent steps: one agent
/// step is one action returned while training.
///
/// The sequence for an episode is `beginEpisode`, then `step` for every later action, then
/// `endEpisode` with the last reward and frame. Calling `beginEpisode` again without
/// `endEpisode` abandons the running episode (a training episode abandoned this way is treated
/// as truncated at its last stored frame).
///
/// Life loss (`lifeLost` in `step`): the runner passes true only when a life was lost on this
/// step AND the protocol treats life loss as a learning terminal (`nature2015` training, as in
/// DeepMind's code); it passes false otherwise, and always false in evaluation. The agent then
/// stores the transition as terminated (no bootstrap, n-step sums stop there) while the episode,
/// the environment and the frame stack simply go on. The score of the episode is unaffected.
public protocol ArenaAgent: AnyObject {
    /// Short id recorded with results (`dqn`, `random`).
    var name: String { get }
    /// Actions the agent chooses among: indices into the environment's minimal action set.
    var actionCount: Int { get }
    /// Starts an episode at its first frame and returns the first action. `training: false`
    /// is an evaluation episode: nothing is stored or learned, exploration uses evalEpsilon.
    func beginEpisode(frame: UnsafeBufferPointer<UInt8>, training: Bool) -> Int
    /// Reports the reward of the last action and the frame it led to; returns the next action.
    func step(reward: Float, frame: UnsafeBufferPointer<UInt8>, lifeLost: Bool) -> Int
    /// Reports the last reward and final frame. `terminated`: the game is over (no bootstrap).
    /// `truncated`: stopped by a limit (bootstrap from `frame`). Neither counts as truncated.
    func endEpisode(reward: Float, frame: UnsafeBufferPointer<UInt8>, terminated: Bool, truncated: Bool)
    /// Writes everything needed to continue bit-exactly into `directory` (which exists).
    func save(to directory: URL) throws
    /// Restores what `save(to:)` wrote; the agent must have been built with the same
    /// configuration, action count and seed.
    func restore(from directory: URL) throws
    /// Counters for logs.
    var statistics: AgentStatistics { get }
}

/// What an agent reports for logs; fields that do not apply are 0 or nil.
public struct AgentStatistics: Codable, Equatable, Sendable {
    /// Training actions taken.
    public var agentSteps: Int = 0
    /// Gradient updates made.
    public var updates: Int = 0
    /// Target-network syncs made.
    public var targetSyncs: Int = 0
    /// Exploration rate the next training action uses.
    public var epsilon: Double = 0
    /// Loss of the last update (nil before the first).
    public var lastLoss: Double? = nil
    /// Mean Q(s, a) of the taken actions in the last update's batch (nil before the first).
    public var lastQMean: Double? = nil
    /// Transitions in the replay memory, and its capacity in frame slots.
    public var replayTransitions: Int = 0
    public var replayCapacity: Int = 0

    public init() {}
}

/// Uniformly random actions from a seeded generator: the arena's baseline, and the proof that
/// the runner needs nothing DQN-specific.
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
