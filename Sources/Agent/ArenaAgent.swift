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
///
/// Evaluation never touches the training agent: the runner asks for an `evaluationCopy` with the
/// protocol's epsilon and a seed of its own, plays it with `training: false`, and drops it.
public protocol ArenaAgent: AnyObject {
    /// Short id recorded with results (`dqn`, `random`).
    var name: String { get }
    /// Actions the agent chooses among: indices into the environment's minimal action set.
    var actionCount: Int { get }
    /// Starts an episode at its first frame and returns the first action. `training: false`
    /// is an evaluation episode: nothing is stored or learned.
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
    /// A separate agent that acts as this one does now (the same policy, weights copied), for
    /// evaluation episodes: exploration `epsilon`, randomness from `seed`, nothing learned. This
    /// agent and its episode in progress are untouched.
    func evaluationCopy(epsilon: Double, seed: UInt64) throws -> ArenaAgent
    /// Writes what another process needs to evaluate this agent without its training state
    /// (DQN: `weights.safetensors`) into `directory`; `AgentFactory.loadPublished` reads it back.
    /// The runner calls it after every checkpoint. Agents with nothing to publish write nothing.
    func publish(to directory: URL) throws
    /// Counters for logs.
    var statistics: AgentStatistics { get }
    /// Named values that show how learning goes over the training phase that just ended (DQN:
    /// the TD error, loss, gradient norm and Q by action on a sample of its replay memory, the
    /// share of each action it took, Adam's step scale per tensor), for seeing a stall while it
    /// happens. The runner calls it once at the end of every training phase, before the
    /// checkpoint, and logs each value as `agent/<name>` in TensorBoard and in the iteration's
    /// row of metrics.jsonl. What the agent counts for it starts again after the call; it must
    /// not change how the agent acts or learns. Default: none.
    func iterationDiagnostics() -> [(name: String, value: Double)]
}

extension ArenaAgent {
    public func publish(to directory: URL) throws {}
    public func iterationDiagnostics() -> [(name: String, value: Double)] { [] }
}

/// What only a value-based agent can give: its action values, for the value check of
/// `arena evaluate --value-check` and the Q-value panel of `arena replay --panel`.
public protocol ActionValueAgent: ArenaAgent {
    /// The discount per agent step the values are learnt with.
    var discount: Double { get }
    /// Q(s, a) for every action of the current observation (the stack after the last
    /// `beginEpisode` or `step`).
    func currentActionValues() -> [Float]
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
