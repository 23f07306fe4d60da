import Foundation
import ArenaSupport
import Environment
import NeuralNet

/// The DQN agent of Mnih et al. 2015 with the usual options (Double DQN, dueling head, n-step
/// returns, prioritized replay, gradient clipping), all set by one `DQNConfig`.
///
/// It owns its frame stack, its replay memory and its training cadence (Dopamine's split): at
/// every training agent step it first stores the transition that just finished, then learns if
/// due, then picks the next action:
///   - an update (one batch from replay, one optimizer step) when agentSteps >= warmupSteps and
///     agentSteps % updatePeriod == 0, where agentSteps counts the training actions taken before
///     this one;
///   - a target sync under the same rule with targetUpdatePeriod;
///   - epsilon-greedy: epsilon = config.epsilon(atStep: agentSteps) (epsilonStart through
///     warm-up, then linear to epsilonEnd), or evalEpsilon in evaluation episodes.
/// Evaluation episodes (`training: false`) store nothing, learn nothing and do not count steps.
///
/// Randomness: three independent streams of the run seed: "qnetwork-init" (the learner's
/// initialization), "replay" (sampling), "act" (exploration). Acting allocates nothing.
public final class DQNAgent: ActionValueAgent {
    public let name: String
    public let config: DQNConfig
    public let actionCount: Int
    public let seed: UInt64
    /// The learner (online and target networks, optimizer). Exposed for tools and tests.
    public let learner: QLearner
    /// The replay memory. Exposed for tools and tests.
    public let replay: ReplayMemory

    let batch: ReplayBatch
    var stack: FrameStack
    /// The stack laid out oldest first, [stackDepth, frameSize]: what the Q-network reads.
    var observation: [UInt8]
    var actGenerator: SeededGenerator
    var q: [Float]
    var agentSteps = 0
    var updates = 0
    var targetSyncs = 0
    var lastLoss: Float? = nil
    var lastQMean: Float? = nil
    var training = false
    var inEpisode = false
    var lastAction = 0
    /// Training actions taken per action since the last `iterationDiagnostics()`.
    var actionCounts: [Int]

    /// A DQN agent for the Nature network (4 x 84 x 84 observations) and `actionCount` actions.
    /// `config` must be valid (`validate()`); throws if it is not, or if the replay memory cannot
    /// be reserved.
    /// `learnerLanes` 2 runs each update as two half-batches side by side (see `QLearner.update`):
    /// faster on two or more cores, deterministic, but not bit-identical to 1.
    public convenience init(config: DQNConfig, actionCount: Int, seed: UInt64, name: String = "dqn",
                            learnerLanes: Int = 1) throws {
        try config.validate()
        guard config.stackDepth == 4 else {
            throw ConfigurationError("stackDepth must be 4 for the Nature Q-network (it reads 4 x 84 x 84 observations), got \(config.stackDepth).")
        }
        guard actionCount >= 1 else {
            throw ConfigurationError("The agent needs at least 1 action, got \(actionCount).")
        }
        let learner = QLearner(network: QNetworkConfig(actions: actionCount, dueling: config.dueling),
                               optimizer: config.optimizerConfig, loss: config.lossKind,
                               batchSize: config.batchSize, doubleDQN: config.doubleDQN,
                               gradientClipNorm: config.gradientClipNorm > 0 ? Float(config.gradientClipNorm) : nil,
                               lanes: learnerLanes, precision: config.precision, kernels: config.kernels, seed: seed)
        try self.init(config: config, learner: learner, frameSize: 84 * 84, seed: seed, name: name)
    }

    /// Any learner whose observations are `config.stackDepth` frames of `frameSize` bytes (tests
    /// use small networks and frames through this).
    init(config: DQNConfig, learner: QLearner, frameSize: Int, seed: UInt64, name: String) throws {
        try config.validate()
        precondition(learner.batchSize == config.batchSize, "learner batch \(learner.batchSize) != config batch \(config.batchSize)")
        let batch = ReplayBatch(training: learner.makeBatch(), stackDepth: config.stackDepth)
        precondition(batch.frameSize == frameSize, "learner observations hold \(batch.frameSize)-byte frames, expected \(frameSize)")
        self.name = name
        self.config = config
        self.actionCount = learner.network.actions
        self.seed = seed
        self.learner = learner
        self.batch = batch
        self.replay = try ReplayMemory(config.replayConfiguration(frameSize: frameSize),
                                       generator: SeededGenerator(seed: seed, stream: "replay"))
        self.stack = FrameStack(depth: config.stackDepth, frameSize: frameSize)
        self.observation = [UInt8](repeating: 0, count: config.stackDepth * frameSize)
        self.actGenerator = SeededGenerator(seed: seed, stream: "act")
        self.q = [Float](repeating: 0, count: learner.network.actions)
        self.actionCounts = [Int](repeating: 0, count: learner.network.actions)
    }

    // MARK: ArenaAgent

    public func beginEpisode(frame: UnsafeBufferPointer<UInt8>, training: Bool) -> Int {
        self.training = training
        inEpisode = true
        precondition(frame.count == stack.frameSize, "frames have \(stack.frameSize) bytes, got \(frame.count)")
        // safe because: the frame holds frameSize bytes (checked above).
        stack.reset(with: frame.baseAddress.unsafelyUnwrapped)
        refreshObservation()
        if training {
            replay.startEpisode(frame: frame)
            learnIfDue()
        }
        return act()
    }

    public func step(reward: Float, frame: UnsafeBufferPointer<UInt8>, lifeLost: Bool) -> Int {
        precondition(inEpisode, "DQNAgent.step called outside an episode: call beginEpisode first")
        precondition(frame.count == stack.frameSize, "frames have \(stack.frameSize) bytes, got \(frame.count)")
        // safe because: the frame holds frameSize bytes (checked above).
        stack.push(frame.baseAddress.unsafelyUnwrapped)
        refreshObservation()
        if training {
            replay.append(action: lastAction, reward: reward, nextFrame: frame, terminated: lifeLost, truncated: false)
            learnIfDue()
        }
        return act()
    }

    public func endEpisode(reward: Float, frame: UnsafeBufferPointer<UInt8>, terminated: Bool, truncated: Bool) {
        precondition(inEpisode, "DQNAgent.endEpisode called outside an episode: call beginEpisode first")
        if training {
            replay.append(action: lastAction, reward: reward, nextFrame: frame,
                          terminated: terminated, truncated: !terminated)
        }
        inEpisode = false
    }

    public var statistics: AgentStatistics {
        var s = AgentStatistics()
        s.agentSteps = agentSteps
        s.updates = updates
        s.targetSyncs = targetSyncs
        s.epsilon = config.epsilon(atStep: agentSteps)
        s.lastLoss = lastLoss.map(Double.init)
        s.lastQMean = lastQMean.map(Double.init)
        s.replayTransitions = replay.count
        s.replayCapacity = replay.capacity
        return s
    }

    // MARK: Acting and learning

    /// Epsilon-greedy on the current stack; counts a training agent step. Allocation-free.
    private func act() -> Int {
        let epsilon = training ? config.epsilon(atStep: agentSteps) : config.evalEpsilon
        let action: Int
        if actGenerator.nextUnitDouble() < epsilon {
            action = actGenerator.nextInt(below: actionCount)
        } else {
            action = greedyAction()
        }
        if training {
            agentSteps += 1
            actionCounts[action] += 1
        }
        lastAction = action
        return action
    }

    /// Lays the stack out oldest first in `observation` (one 28 KB copy, no allocation).
    func refreshObservation() {
        observation.withUnsafeMutableBufferPointer { out in
            // safe because: observation holds depth * frameSize bytes, what write(into:) fills.
            stack.write(into: out.baseAddress.unsafelyUnwrapped)
        }
    }

    /// The greedy action for the current stack (ties to the lowest index).
    func greedyAction() -> Int {
        observation.withUnsafeBufferPointer { buffer in
            // safe because: the stack holds exactly one observation of the learner's size.
            guard let base = buffer.baseAddress else { return 0 }
            return learner.greedyAction(observation: base)
        }
    }

    /// Q-values of the current stack (for tools; allocates the returned array).
    public func currentActionValues() -> [Float] {
        observation.withUnsafeBufferPointer { buffer in
            q.withUnsafeMutableBufferPointer { out in
                // safe because: one observation in, actionCount floats out.
                guard let base = buffer.baseAddress, let qBase = out.baseAddress else { return }
                learner.qValues(observation: base, into: qBase)
            }
        }
        return q
    }

    private func learnIfDue() {
        guard agentSteps >= config.warmupSteps else { return }
        if agentSteps % config.updatePeriod == 0 { update() }
        if agentSteps % config.targetUpdatePeriod == 0 {
            learner.syncTarget()
            targetSyncs += 1
        }
    }

    private func update() {
        guard replay.sample(into: batch, beta: replay.beta(atStep: agentSteps)) else { return }
        let stats = learner.update(batch.training)
        updates += 1
        lastLoss = stats.loss
        lastQMean = stats.qMean
        if config.prioritized.enabled {
            replay.updatePriorities(indices: batch.indices, tdErrors: batch.training.tdErrors)
        }
    }

    /// Saves the online network's weights as safetensors (PyTorch names), for sharing.
    public func saveWeights(to url: URL) throws { try learner.saveWeights(to: url) }

    // MARK: Diagnostics

    /// See `ArenaAgent.iterationDiagnostics`. On one batch drawn from the replay memory with a
    /// generator of its own (seeded from the run seed and the agent steps, so the memory's own
    /// sampling stream is untouched and a resumed run measures the same): `td_error` (mean
    /// |Q(s,a) - y|), `loss`, `gradient_norm` (before clipping), `q/<a>` (mean Q(s, a) per
    /// action a); over the training actions since the last call: `action_share/<a>`; from the
    /// optimizer: `adam_normalized/<tensor>` and `adam_below_epsilon/<tensor>` (see
    /// `QLearner.adamStepScales`). Allocates; once per iteration.
    public func iterationDiagnostics() -> [(name: String, value: Double)] {
        var out: [(name: String, value: Double)] = []
        let taken = actionCounts.reduce(0, +)
        if taken > 0 {
            for (a, n) in actionCounts.enumerated() { out.append(("action_share/\(a)", Double(n) / Double(taken))) }
        }
        actionCounts = [Int](repeating: 0, count: actionCount)
        if updates > 0 {
            let saved = replay.generator
            replay.generator = SeededGenerator(seed: seed, stream: "diagnostics-\(agentSteps)")
            let sampled = replay.sample(into: batch, beta: replay.beta(atStep: agentSteps))
            replay.generator = saved
            if sampled {
                let stats = learner.measure(batch.training)
                let n = batch.training.batchSize
                out.append(("td_error", Double(batch.training.tdErrors.reduce(0, +)) / Double(n)))
                out.append(("loss", Double(stats.loss)))
                if let g = stats.gradientNorm { out.append(("gradient_norm", Double(g))) }
                var values = [Float](repeating: 0, count: n * actionCount)
                batch.training.observations.withUnsafeBufferPointer { obs in
                    values.withUnsafeMutableBufferPointer { v in
                        // safe because: n observations in, n * actionCount values out.
                        learner.qValues(observations: obs.baseAddress.unsafelyUnwrapped, count: n, into: v.baseAddress.unsafelyUnwrapped)
                    }
                }
                for a in 0..<actionCount {
                    let sum = (0..<n).reduce(0.0) { $0 + Double(values[$1 * actionCount + a]) }
                    out.append(("q/\(a)", sum / Double(n)))
                }
            }
        }
        for t in learner.adamStepScales() ?? [] {
            out.append(("adam_normalized/\(t.tensor)", t.normalized))
            out.append(("adam_below_epsilon/\(t.tensor)", t.belowEpsilon))
        }
        return out
    }

    // MARK: Evaluation, publishing, the factory

    public var discount: Double { config.gamma }

    /// The file `publish(to:)` writes and `evaluating(weights:...)` reads.
    public static let weightsFileName = "weights.safetensors"

    /// The newest online weights as `weights.safetensors` (PyTorch names and layouts), for
    /// `arena evaluate --run` and PyTorch users.
    public func publish(to directory: URL) throws {
        try saveWeights(to: directory.appendingPathComponent(Self.weightsFileName))
    }

    public func evaluationCopy(epsilon: Double, seed: UInt64) throws -> ArenaAgent {
        let copy = try Self.evaluationAgent(config: config, actionCount: actionCount, epsilon: epsilon, seed: seed, name: name)
        copy.learner.parameters = learner.parameters
        return copy
    }

    /// A DQN agent used only to act in evaluation episodes: the same network, exploration
    /// `epsilon`, a tiny replay memory (nothing is stored while evaluating).
    static func evaluationAgent(config: DQNConfig, actionCount: Int, epsilon: Double, seed: UInt64, name: String) throws -> DQNAgent {
        var c = config
        c.evalEpsilon = epsilon
        c.replayCapacity = max(c.batchSize * 4, 1_000)
        c.warmupSteps = min(c.warmupSteps, c.replayCapacity)
        // It only acts, and acting is fp32 on our kernels whatever the training numerics: so an
        // agent trained in bf16 or with oneDNN evaluates on a CPU that has neither.
        c.precision = .fp32
        c.kernels = .arena
        return try DQNAgent(config: c, actionCount: actionCount, seed: seed, name: name)
    }

    /// An evaluation agent with the weights of a safetensors file (ours or PyTorch's); the
    /// network head (dueling or not) is read from the file. The file must hold `actionCount` actions.
    public static func evaluating(weights url: URL, config: DQNConfig, actionCount: Int, epsilon: Double,
                                  seed: UInt64, name: String) throws -> DQNAgent {
        let (network, _) = try WeightsFile.load(from: url)
        guard network.actions == actionCount else {
            throw ConfigurationError("The weights in \(url.path) have \(network.actions) actions but the game under this protocol has \(actionCount); evaluate with the game and protocol they were trained on.")
        }
        var c = config
        c.dueling = network.dueling
        let agent = try evaluationAgent(config: c, actionCount: actionCount, epsilon: epsilon, seed: seed, name: name)
        try agent.learner.loadWeights(from: url)
        return agent
    }

    /// The DQN agent as the runner builds it (kind `dqn`): updates in `threads` lanes (at most
    /// the batch size; see `QLearner.update`).
    public static func factory(name: String, config: DQNConfig) -> AgentFactory {
        // A DQNConfig always encodes; the fallback only keeps this total.
        let recorded = (try? JSONValue(encoding: config)) ?? .object([:])
        return AgentFactory(
            kind: "dqn", name: name, configuration: recorded,
            make: { context in
                try DQNAgent(config: config, actionCount: context.actionCount, seed: context.seed, name: name,
                             learnerLanes: min(context.compute.threads, config.batchSize))
            },
            loadPublished: { context, directory, epsilon in
                let weights = directory.appendingPathComponent(weightsFileName)
                guard FileManager.default.fileExists(atPath: weights.path) else {
                    throw ConfigurationError("The folder \(directory.path) has no \(weightsFileName) yet; a run writes it after its first iteration.")
                }
                return try evaluating(weights: weights, config: config,
                               actionCount: context.actionCount, epsilon: epsilon, seed: context.seed, name: name)
            },
            sameConfiguration: { recorded in
                // The evaluation epsilon plays no part in training (evaluation copies take the
                // protocol's); runs recorded before this version stored the protocol's value there.
                guard var theirs = try? DQNConfig.decode(JSONEncoder().encode(recorded)) else { return false }
                theirs.evalEpsilon = config.evalEpsilon
                return theirs == config
            })
    }
}

extension DQNConfig {
    /// The NeuralNet optimizer this configuration names.
    public var optimizerConfig: OptimizerConfig {
        switch optimizer.kind {
        case .rmspropCentered:
            return .rmspropCentered(lr: Float(optimizer.learningRate), decay: Float(optimizer.decay),
                                    epsilon: Float(optimizer.epsilon))
        case .adam:
            return .adam(lr: Float(optimizer.learningRate), beta1: Float(optimizer.beta1),
                         beta2: Float(optimizer.beta2), epsilon: Float(optimizer.epsilon))
        }
    }

    /// The NeuralNet loss this configuration names.
    public var lossKind: LossKind {
        switch loss {
        case .huber: return .huber
        case .mse: return .mse
        }
    }
}
