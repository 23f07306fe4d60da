import Foundation

/// How raw emulator frames become what an agent sees and is rewarded with. Every piece is a
/// setting; the named protocols (`EvaluationProtocol`) fix them all.
public struct PreprocessingSettings: Codable, Equatable, Sendable {
    /// Emulator frames per agent step; the action repeats and the rewards add up.
    public var frameSkip: Int = 4
    /// Observe the pixel-wise max of the last two frames of each agent step (Atari flicker).
    public var maxPoolLastTwoFrames: Bool = true
    /// Side of the square grayscale observation, resized by area interpolation (OpenCV INTER_AREA).
    public var screenSize: Int = 84
    /// At reset, play a uniform random number of NOOP frames in 1...noopMax (0: none).
    public var noopMax: Int = 30
    /// At reset, press FIRE for one agent step in games whose action 1 is FIRE (Breakout...).
    public var fireOnReset: Bool = true
    /// Report a lost life as the end of a *training* episode for learning (the game goes on).
    public var terminalOnLifeLoss: Bool = true
    /// After a lost life (the game going on), press FIRE for one agent step in games whose
    /// action 1 is FIRE, as at reset: the FIRE `wrap_deepmind` presses at every reset, which its
    /// life-loss wrapper makes happen after every lost life in training. Records written before
    /// this setting existed read as `false` (what those runs played).
    public var fireOnLifeLoss: Bool = true
    /// Clip training rewards to [-1, 1] (scores are always reported unclipped).
    public var clipRewards: Bool = true
    /// Truncate (not terminate) an episode after this many emulator frames.
    public var maxEpisodeFrames: Int = 108_000

    public init() {}

    /// The reward the learner sees for an agent step's summed game reward `reward`.
    public func learningReward(_ reward: Double) -> Float {
        clipRewards ? Float(max(-1, min(1, reward))) : Float(reward)
    }

    enum CodingKeys: String, CodingKey {
        case frameSkip, maxPoolLastTwoFrames, screenSize, noopMax, fireOnReset, terminalOnLifeLoss,
             fireOnLifeLoss, clipRewards, maxEpisodeFrames
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        frameSkip = try c.decode(Int.self, forKey: .frameSkip)
        maxPoolLastTwoFrames = try c.decode(Bool.self, forKey: .maxPoolLastTwoFrames)
        screenSize = try c.decode(Int.self, forKey: .screenSize)
        noopMax = try c.decode(Int.self, forKey: .noopMax)
        fireOnReset = try c.decode(Bool.self, forKey: .fireOnReset)
        terminalOnLifeLoss = try c.decode(Bool.self, forKey: .terminalOnLifeLoss)
        fireOnLifeLoss = try c.decodeIfPresent(Bool.self, forKey: .fireOnLifeLoss) ?? false
        clipRewards = try c.decode(Bool.self, forKey: .clipRewards)
        maxEpisodeFrames = try c.decode(Int.self, forKey: .maxEpisodeFrames)
    }

    private static let boolKeys: [String: WritableKeyPath<PreprocessingSettings, Bool>] = [
        "maxPoolLastTwoFrames": \.maxPoolLastTwoFrames, "fireOnReset": \.fireOnReset,
        "terminalOnLifeLoss": \.terminalOnLifeLoss, "fireOnLifeLoss": \.fireOnLifeLoss, "clipRewards": \.clipRewards,
    ]
    private static let intKeys: [String: WritableKeyPath<PreprocessingSettings, Int>] = [
        "frameSkip": \.frameSkip, "screenSize": \.screenSize, "noopMax": \.noopMax, "maxEpisodeFrames": \.maxEpisodeFrames,
    ]

    /// Splits `key=value` and checks the key and the value's type, with a sentence on failure.
    static func parse(_ change: String) throws -> (key: String, value: String) {
        guard let eq = change.firstIndex(of: "="), eq != change.startIndex else {
            throw EnvironmentError("Protocol change '\(change)' is not of the form key=value (for example fireOnLifeLoss=false).")
        }
        let key = change[..<eq].trimmingCharacters(in: .whitespaces)
        let value = change[change.index(after: eq)...].trimmingCharacters(in: .whitespaces)
        if boolKeys[key] != nil {
            guard value == "true" || value == "false" else {
                throw EnvironmentError("Protocol change '\(change)': \(key) is true or false, got '\(value)'.")
            }
        } else if intKeys[key] != nil {
            guard Int(value) != nil else {
                throw EnvironmentError("Protocol change '\(change)': \(key) is a whole number, got '\(value)'.")
            }
        } else {
            let known = (Array(boolKeys.keys) + Array(intKeys.keys)).sorted().joined(separator: ", ")
            throw EnvironmentError("Unknown preprocessing setting '\(key)' in protocol change '\(change)'. Known settings: \(known).")
        }
        return (key, value)
    }

    /// Applies one checked `key=value` change.
    mutating func apply(_ change: String) throws {
        let (key, value) = try Self.parse(change)
        if let path = Self.boolKeys[key] { self[keyPath: path] = value == "true" }
        if let path = Self.intKeys[key], let v = Int(value) { self[keyPath: path] = v }
    }

    /// The changes that alter `base`, one per key (the last given wins), as `key=value` in key
    /// order: the canonical form a run records and a changed protocol is named by.
    public static func canonicalChanges(_ changes: [String], from base: PreprocessingSettings) throws -> [String] {
        var last: [String: String] = [:]
        for change in changes {
            let (key, value) = try parse(change)
            last[key] = value
        }
        return try last.keys.sorted().compactMap { key in
            var changed = base
            let change = "\(key)=\(last[key]!)"
            try changed.apply(change)
            return changed == base ? nil : change
        }
    }

    public func validate() throws {
        func bad(_ s: String) throws { throw EnvironmentError(s) }
        if frameSkip < 1 { try bad("frameSkip must be at least 1, got \(frameSkip).") }
        if screenSize < 1 || screenSize > 160 { try bad("screenSize must be in 1...160, got \(screenSize).") }
        if noopMax < 0 { try bad("noopMax must be 0 or more, got \(noopMax).") }
        if maxEpisodeFrames < 1 { try bad("maxEpisodeFrames must be at least 1, got \(maxEpisodeFrames).") }
    }
}

/// The two named protocols. A result always records which one produced it; results of different
/// protocols are never pooled.
public enum EvaluationProtocol: String, Codable, CaseIterable, Sendable, CustomStringConvertible {
    /// Mnih et al. 2015 (Nature): no sticky actions, minimal action set, 1-30 no-op starts,
    /// life loss ends training episodes, rewards clipped for learning, evaluation at epsilon 0.05
    /// with episodes capped at 18,000 frames (5 minutes). FIRE at reset and after every lost life
    /// (training and evaluation alike) follows the widely used `wrap_deepmind` wrappers (OpenAI
    /// Baselines, Stable-Baselines3, CleanRL), which press FIRE after every lost life in training.
    case nature2015
    /// Machado et al. 2018 (ALE v5 defaults): sticky actions 0.25, full action set, no life-loss
    /// signal, no no-op starts, no FIRE at reset or after a lost life, 108,000-frame cap,
    /// evaluation at epsilon 0.001 as in Dopamine.
    case machado2018

    public var description: String { rawValue }

    public var settings: ProtocolSettings {
        switch self {
        case .nature2015:
            var p = PreprocessingSettings()
            p.noopMax = 30
            p.fireOnReset = true
            p.terminalOnLifeLoss = true
            p.fireOnLifeLoss = true
            p.clipRewards = true
            p.maxEpisodeFrames = 108_000
            return ProtocolSettings(name: rawValue,
                                    emulator: EmulatorSettings(stickyActionProbability: 0, fullActionSpace: false),
                                    preprocessing: p, evalEpsilon: 0.05, evalMaxEpisodeFrames: 18_000)
        case .machado2018:
            var p = PreprocessingSettings()
            p.noopMax = 0
            p.fireOnReset = false
            p.terminalOnLifeLoss = false
            p.fireOnLifeLoss = false
            p.clipRewards = true
            p.maxEpisodeFrames = 108_000
            return ProtocolSettings(name: rawValue,
                                    emulator: EmulatorSettings(stickyActionProbability: 0.25, fullActionSpace: true),
                                    preprocessing: p, evalEpsilon: 0.001, evalMaxEpisodeFrames: 108_000)
        }
    }

    /// The protocol's settings with preprocessing changes (`key=value`, e.g.
    /// `fireOnLifeLoss=false`) for ablations: each change that differs from the protocol's own
    /// value is applied and named, in key order, after the protocol's name ("nature2015,
    /// fireOnLifeLoss=false"), so a changed protocol is never taken for the protocol proper and
    /// results under it are never pooled with it. Unknown keys, values of the wrong type and
    /// values the preprocessing cannot use are refused with a sentence naming them.
    public func settings(changing changes: [String]) throws -> ProtocolSettings {
        var s = settings
        let applied = try PreprocessingSettings.canonicalChanges(changes, from: s.preprocessing)
        guard !applied.isEmpty else { return s }
        for change in applied { try s.preprocessing.apply(change) }
        try s.preprocessing.validate()
        s.name += ", " + applied.joined(separator: ", ")
        return s
    }

    /// Parses a protocol name, with a sentence listing the valid ones on failure.
    public static func named(_ name: String) throws -> EvaluationProtocol {
        guard let p = EvaluationProtocol(rawValue: name.lowercased()) else {
            throw EnvironmentError("Unknown protocol '\(name)'; choose one of \(allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        return p
    }
}

/// Everything a protocol fixes, recorded in every run's config.json.
public struct ProtocolSettings: Codable, Equatable, Sendable {
    public var name: String
    public var emulator: EmulatorSettings
    /// Preprocessing while training.
    public var preprocessing: PreprocessingSettings
    /// Epsilon of the epsilon-greedy policy during evaluation.
    public var evalEpsilon: Double
    /// Episode cap, in emulator frames, during evaluation.
    public var evalMaxEpisodeFrames: Int

    /// Preprocessing while evaluating: no life-loss signal, raw rewards, the evaluation cap.
    public var evaluationPreprocessing: PreprocessingSettings {
        var p = preprocessing
        p.terminalOnLifeLoss = false
        p.clipRewards = false
        p.maxEpisodeFrames = evalMaxEpisodeFrames
        return p
    }
}
