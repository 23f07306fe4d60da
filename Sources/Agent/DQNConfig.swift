import Foundation
import NeuralNet

/// Every hyperparameter of `DQNAgent`, in agent steps (one agent step = one action chosen while
/// training; with frame skip 4 that is 4 emulator frames). The code defaults are the values of
/// Mnih et al. 2015 ("Human-level control through deep reinforcement learning", Nature 518,
/// Extended Data Table 1), so `agents/dqn-nature.json` only restates them.
///
/// Precedence: these defaults < an `agents/*.json` file < command-line overrides (`key=value`,
/// dotted for nested fields: `optimizer.learningRate=1e-4`). Keys missing from a file take the
/// defaults; unknown keys are rejected with a message naming them.
public struct DQNConfig: Codable, Equatable, Sendable {
    /// Discount per agent step. Nature: 0.99.
    public var gamma: Double = 0.99
    /// Rewards summed per learning target (1 = one-step Q-learning). Nature: 1; Rainbow (Hessel et al. 2018): 3.
    public var nStep: Int = 1
    /// Transitions per gradient update. Nature: 32.
    public var batchSize: Int = 32
    /// Frame slots in the replay memory (about 7.07 KB each; one per transition plus one per
    /// episode for its final frame). Nature: 1,000,000.
    public var replayCapacity: Int = 1_000_000
    /// Agent steps of acting (with epsilonStart) before the first update; also the earliest
    /// target sync. Nature: 50,000 ("replay start size").
    public var warmupSteps: Int = 50_000
    /// Agent steps between gradient updates. Nature: 4 ("update frequency").
    public var updatePeriod: Int = 4
    /// Agent steps between copies of the online network into the target network. Nature:
    /// 10,000 (counted in agent steps, as in DeepMind's released code).
    public var targetUpdatePeriod: Int = 10_000
    /// Exploration rate during warm-up and at the start of the decay. Nature: 1.0.
    public var epsilonStart: Double = 1.0
    /// Exploration rate after the decay. Nature: 0.1.
    public var epsilonEnd: Double = 0.1
    /// Agent steps over which epsilon falls linearly from epsilonStart to epsilonEnd, counted
    /// from the end of warm-up (as DeepMind's code and Dopamine do). Nature: 1,000,000.
    public var epsilonDecaySteps: Int = 1_000_000
    /// Exploration rate in evaluation episodes. Nature: 0.05.
    public var evalEpsilon: Double = 0.05
    /// The optimizer and its constants. Nature: centered RMSProp, lr 2.5e-4, decay 0.95, eps 0.01.
    public var optimizer: OptimizerSettings = OptimizerSettings()
    /// The TD loss: huber (Nature's clipped TD error, delta 1) or mse.
    public var loss: LossSetting = .huber
    /// Select next actions with the online network and evaluate them with the target network
    /// (van Hasselt et al. 2016). Nature: false.
    public var doubleDQN: Bool = false
    /// Dueling value/advantage head (Wang et al. 2016). Nature: false.
    public var dueling: Bool = false
    /// Prioritized replay (Schaul et al. 2016, proportional). Nature: off.
    public var prioritized: PrioritizedReplayConfig = PrioritizedReplayConfig()
    /// Largest global L2 norm of the gradient before the optimizer step; 0 disables clipping.
    /// Nature: 0 (the Huber loss already clips the TD error). Stable-Baselines3 DQN: 10.
    public var gradientClipNorm: Double = 0
    /// Frames per observation stack. Nature: 4.
    public var stackDepth: Int = 4
    /// How the update's matrix products multiply: fp32, or bf16 (bfloat16 products with fp32
    /// accumulation, on CPUs with AVX512_BF16; weights, gradients and optimizer state stay fp32,
    /// acting and evaluation run in fp32). Not in Nature (fp32). Default fp32: bf16 becomes a
    /// preset's choice only once Pong runs show it learns as well (agents/README.md).
    public var precision: Precision = .fp32
    /// What runs the update's convolutions: "arena" (ours: patch matrices and GEMMs) or "onednn"
    /// (oneDNN's convolution primitives, Debian's libdnnl; with `precision` bf16, in bf16). The
    /// fully connected layers, the optimizer and acting are ours either way. Not in Nature
    /// (ours). Default arena; a preset names onednn where measurement says it is faster
    /// (BENCHMARKS.md: on AVX-512 CPUs).
    public var kernels: Kernels = .arena

    public init() {}

    static let keys = ["gamma", "nStep", "batchSize", "replayCapacity", "warmupSteps", "updatePeriod",
                       "targetUpdatePeriod", "epsilonStart", "epsilonEnd", "epsilonDecaySteps", "evalEpsilon",
                       "optimizer", "loss", "doubleDQN", "dueling", "prioritized", "gradientClipNorm", "stackDepth", "precision",
                       "kernels"]

    public init(from decoder: Decoder) throws {
        try StrictDecoding.rejectUnknownKeys(decoder, known: Self.keys, object: "DQN configuration")
        let c = try decoder.container(keyedBy: AnyCodingKey.self)
        let d = DQNConfig()
        gamma = try StrictDecoding.value(c, "gamma", d.gamma)
        nStep = try StrictDecoding.value(c, "nStep", d.nStep)
        batchSize = try StrictDecoding.value(c, "batchSize", d.batchSize)
        replayCapacity = try StrictDecoding.value(c, "replayCapacity", d.replayCapacity)
        warmupSteps = try StrictDecoding.value(c, "warmupSteps", d.warmupSteps)
        updatePeriod = try StrictDecoding.value(c, "updatePeriod", d.updatePeriod)
        targetUpdatePeriod = try StrictDecoding.value(c, "targetUpdatePeriod", d.targetUpdatePeriod)
        epsilonStart = try StrictDecoding.value(c, "epsilonStart", d.epsilonStart)
        epsilonEnd = try StrictDecoding.value(c, "epsilonEnd", d.epsilonEnd)
        epsilonDecaySteps = try StrictDecoding.value(c, "epsilonDecaySteps", d.epsilonDecaySteps)
        evalEpsilon = try StrictDecoding.value(c, "evalEpsilon", d.evalEpsilon)
        optimizer = try StrictDecoding.value(c, "optimizer", d.optimizer)
        loss = try StrictDecoding.value(c, "loss", d.loss)
        doubleDQN = try StrictDecoding.value(c, "doubleDQN", d.doubleDQN)
        dueling = try StrictDecoding.value(c, "dueling", d.dueling)
        prioritized = try StrictDecoding.value(c, "prioritized", d.prioritized)
        gradientClipNorm = try StrictDecoding.value(c, "gradientClipNorm", d.gradientClipNorm)
        stackDepth = try StrictDecoding.value(c, "stackDepth", d.stackDepth)
        let rawPrecision = try StrictDecoding.value(c, "precision", d.precision.rawValue)
        guard let precision = Precision(rawValue: rawPrecision) else {
            throw ConfigurationError("Unknown precision '\(rawPrecision)' at 'precision'. Use one of: \(Precision.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        self.precision = precision
        let rawKernels = try StrictDecoding.value(c, "kernels", d.kernels.rawValue)
        guard let kernels = Kernels(rawValue: rawKernels) else {
            throw ConfigurationError("Unknown kernels '\(rawKernels)' at 'kernels'. Use one of: \(Kernels.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        self.kernels = kernels
    }

    /// Epsilon at agent step `step` of training: epsilonStart through warm-up, then linear to
    /// epsilonEnd over epsilonDecaySteps, then epsilonEnd.
    public func epsilon(atStep step: Int) -> Double {
        let afterWarmup = step - warmupSteps
        if afterWarmup <= 0 { return epsilonStart }
        if afterWarmup >= epsilonDecaySteps { return epsilonEnd }
        return epsilonStart + (epsilonEnd - epsilonStart) * Double(afterWarmup) / Double(epsilonDecaySteps)
    }

    /// The replay memory this configuration describes, for frames of `frameSize` bytes.
    public func replayConfiguration(frameSize: Int = 84 * 84) -> ReplayConfiguration {
        ReplayConfiguration(capacity: replayCapacity, stackDepth: stackDepth, frameSize: frameSize,
                            nStep: nStep, gamma: gamma, prioritized: prioritized)
    }
}

/// Which optimizer updates the Q-network, with its constants (fields a kind does not use are ignored).
public struct OptimizerSettings: Codable, Equatable, Sendable {
    /// rmsprop-centered (DeepMind's: epsilon inside the square root, no momentum) or adam.
    public var kind: OptimizerKind = .rmspropCentered
    /// Step size. Nature: 2.5e-4. Adam presets: 1e-4 (Hessel et al. 2018: 6.25e-5).
    public var learningRate: Double = 2.5e-4
    /// RMSProp decay of the squared-gradient averages. Nature: 0.95.
    public var decay: Double = 0.95
    /// Adam's first-moment decay. Kingma and Ba 2015: 0.9.
    public var beta1: Double = 0.9
    /// Adam's second-moment decay. Kingma and Ba 2015: 0.999.
    public var beta2: Double = 0.999
    /// Added for stability: inside the square root for centered RMSProp (Nature: 0.01), outside
    /// it for Adam (Hessel et al. 2018, Rainbow: 1.5e-4).
    public var epsilon: Double = 0.01

    public init() {}
    public init(kind: OptimizerKind, learningRate: Double, decay: Double = 0.95, beta1: Double = 0.9,
                beta2: Double = 0.999, epsilon: Double) {
        self.kind = kind; self.learningRate = learningRate; self.decay = decay
        self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon
    }

    static let keys = ["kind", "learningRate", "decay", "beta1", "beta2", "epsilon"]

    public init(from decoder: Decoder) throws {
        try StrictDecoding.rejectUnknownKeys(decoder, known: Self.keys, object: "optimizer settings")
        let c = try decoder.container(keyedBy: AnyCodingKey.self)
        let d = OptimizerSettings()
        kind = try StrictDecoding.value(c, "kind", d.kind)
        learningRate = try StrictDecoding.value(c, "learningRate", d.learningRate)
        decay = try StrictDecoding.value(c, "decay", d.decay)
        beta1 = try StrictDecoding.value(c, "beta1", d.beta1)
        beta2 = try StrictDecoding.value(c, "beta2", d.beta2)
        epsilon = try StrictDecoding.value(c, "epsilon", d.epsilon)
    }
}

/// The optimizers the agent offers.
public enum OptimizerKind: String, Codable, Equatable, Sendable, CaseIterable {
    case rmspropCentered = "rmsprop-centered"
    case adam

    public init(from decoder: Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        guard let kind = OptimizerKind(rawValue: raw) else {
            throw ConfigurationError("Unknown optimizer kind '\(raw)' at '\(decoder.codingPath.map(\.stringValue).joined(separator: "."))'. Use one of: \(Self.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        self = kind
    }
}

/// The TD losses the agent offers.
public enum LossSetting: String, Codable, Equatable, Sendable, CaseIterable {
    case huber
    case mse

    public init(from decoder: Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        guard let loss = LossSetting(rawValue: raw) else {
            throw ConfigurationError("Unknown loss '\(raw)' at '\(decoder.codingPath.map(\.stringValue).joined(separator: "."))'. Use one of: \(Self.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        self = loss
    }
}

/// Prioritized replay, proportional variant (Schaul et al. 2016, "Prioritized Experience Replay").
public struct PrioritizedReplayConfig: Codable, Equatable, Sendable {
    /// Sample by priority instead of uniformly. Nature: false.
    public var enabled: Bool = false
    /// Priority exponent: P(i) is proportional to priority^alpha. Schaul et al. (proportional): 0.6.
    public var alpha: Double = 0.6
    /// Importance-sampling exponent at agent step 0. Schaul et al. (proportional): 0.4.
    public var betaStart: Double = 0.4
    /// Agent steps over which beta rises linearly from betaStart to 1 (Schaul et al.: the whole
    /// run; 0 means beta = 1 from the start).
    public var betaSteps: Int = 10_000_000
    /// Added to |TD error| so no transition gets priority 0. Common choice: 1e-6.
    public var epsilon: Double = 1e-6

    public init() {}
    public init(enabled: Bool, alpha: Double = 0.6, betaStart: Double = 0.4, betaSteps: Int = 10_000_000, epsilon: Double = 1e-6) {
        self.enabled = enabled; self.alpha = alpha; self.betaStart = betaStart
        self.betaSteps = betaSteps; self.epsilon = epsilon
    }

    static let keys = ["enabled", "alpha", "betaStart", "betaSteps", "epsilon"]

    public init(from decoder: Decoder) throws {
        try StrictDecoding.rejectUnknownKeys(decoder, known: Self.keys, object: "prioritized replay settings")
        let c = try decoder.container(keyedBy: AnyCodingKey.self)
        let d = PrioritizedReplayConfig()
        enabled = try StrictDecoding.value(c, "enabled", d.enabled)
        alpha = try StrictDecoding.value(c, "alpha", d.alpha)
        betaStart = try StrictDecoding.value(c, "betaStart", d.betaStart)
        betaSteps = try StrictDecoding.value(c, "betaSteps", d.betaSteps)
        epsilon = try StrictDecoding.value(c, "epsilon", d.epsilon)
    }
}
