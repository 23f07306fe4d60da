import Foundation

extension DQNConfig {
    /// Every problem with the values, each a sentence naming the field and the bad value.
    public func problems() -> [String] {
        var out: [String] = []
        func need(_ ok: Bool, _ message: @autoclosure () -> String) { if !ok { out.append(message()) } }
        func unit(_ name: String, _ v: Double) { need(v >= 0 && v <= 1, "\(name) must be between 0 and 1, got \(v)") }
        unit("gamma", gamma)
        need(nStep >= 1, "nStep must be at least 1, got \(nStep)")
        need(batchSize >= 1, "batchSize must be at least 1, got \(batchSize)")
        need(stackDepth >= 1, "stackDepth must be at least 1, got \(stackDepth)")
        let minimumCapacity = max(1, stackDepth) + max(1, nStep) + 1
        need(replayCapacity >= minimumCapacity,
             "replayCapacity must be at least stackDepth + nStep + 1 = \(minimumCapacity), got \(replayCapacity)")
        need(warmupSteps >= batchSize,
             "warmupSteps must be at least batchSize (\(batchSize)), got \(warmupSteps): the first update samples a batch from what warm-up stored")
        need(updatePeriod >= 1, "updatePeriod must be at least 1, got \(updatePeriod)")
        need(targetUpdatePeriod >= 1, "targetUpdatePeriod must be at least 1, got \(targetUpdatePeriod)")
        unit("epsilonStart", epsilonStart)
        unit("epsilonEnd", epsilonEnd)
        unit("evalEpsilon", evalEpsilon)
        need(epsilonDecaySteps >= 0, "epsilonDecaySteps must be at least 0, got \(epsilonDecaySteps)")
        let o = optimizer
        need(o.learningRate > 0 && o.learningRate.isFinite, "optimizer.learningRate must be a positive number, got \(o.learningRate)")
        need(o.decay >= 0 && o.decay < 1, "optimizer.decay must be in [0, 1), got \(o.decay)")
        need(o.beta1 >= 0 && o.beta1 < 1, "optimizer.beta1 must be in [0, 1), got \(o.beta1)")
        need(o.beta2 >= 0 && o.beta2 < 1, "optimizer.beta2 must be in [0, 1), got \(o.beta2)")
        need(o.epsilon > 0 && o.epsilon.isFinite, "optimizer.epsilon must be a positive number, got \(o.epsilon)")
        let p = prioritized
        need(p.alpha >= 0 && p.alpha.isFinite, "prioritized.alpha must be at least 0, got \(p.alpha)")
        unit("prioritized.betaStart", p.betaStart)
        need(p.betaSteps >= 0, "prioritized.betaSteps must be at least 0, got \(p.betaSteps)")
        need(p.epsilon > 0 && p.epsilon.isFinite, "prioritized.epsilon must be a positive number, got \(p.epsilon)")
        if let reason = precision.unsupportedReason { out.append(reason.prefix(1).lowercased() + reason.dropFirst().dropLast()) }
        if let reason = kernels.unsupportedReason { out.append(reason.prefix(1).lowercased() + reason.dropFirst().dropLast()) }
        need(gradientClipNorm >= 0 && gradientClipNorm.isFinite,
             "gradientClipNorm must be 0 (off) or a positive number, got \(gradientClipNorm)")
        return out
    }

    /// Throws a `ConfigurationError` listing every problem (see `problems()`).
    public func validate() throws {
        let found = problems()
        guard !found.isEmpty else { return }
        throw ConfigurationError("Invalid DQN configuration: " + found.joined(separator: "; ")
                                 + ". Fix the value" + (found.count == 1 ? "" : "s") + " in the preset or on the command line.")
    }

    /// Decodes a configuration from JSON text (missing keys take the defaults, unknown keys are
    /// rejected). Does not validate: apply overrides first, then call `validate()`.
    public static func decode(_ data: Data, source: String = "the configuration") throws -> DQNConfig {
        do {
            return try JSONDecoder().decode(DQNConfig.self, from: data)
        } catch let error as ConfigurationError {
            throw ConfigurationError("\(source): \(error.description)")
        } catch let error as DecodingError {
            throw ConfigurationError("\(source): \(describe(error))")
        }
    }

    /// Reads an `agents/*.json` file (see `decode`). Does not validate.
    public static func load(from url: URL) throws -> DQNConfig {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ConfigurationError("Could not read the agent configuration \(url.path): \(FileManager.default.fileExists(atPath: url.path) ? "it is not readable" : "the file does not exist"). Pass an existing file such as agents/dqn-nature.json.")
        }
        return try decode(data, source: url.path)
    }

    /// Code defaults < the file at `url` (if any) < `overrides` (`key=value`), validated.
    public static func resolve(file url: URL?, overrides: [String] = []) throws -> DQNConfig {
        var config = try url.map { try load(from: $0) } ?? DQNConfig()
        try config.apply(overrides: overrides)
        try config.validate()
        return config
    }

    /// Applies `key=value` overrides in order. Keys are field names, dotted for nested fields
    /// (`optimizer.learningRate=1e-4`, `prioritized.enabled=true`); values are JSON literals
    /// (numbers, true/false) or bare words for names (`loss=mse`, `optimizer.kind=adam`).
    /// Unknown keys and values of the wrong type are rejected with a sentence naming them.
    public mutating func apply(overrides: [String]) throws {
        guard !overrides.isEmpty else { return }
        guard var root = try JSONSerialization.jsonObject(with: JSONEncoder().encode(self)) as? [String: Any] else {
            throw ConfigurationError("Could not encode the DQN configuration to apply overrides.")
        }
        for override in overrides {
            guard let eq = override.firstIndex(of: "="), eq != override.startIndex else {
                throw ConfigurationError("Override '\(override)' is not of the form key=value (for example batchSize=64).")
            }
            let key = String(override[..<eq]).trimmingCharacters(in: .whitespaces)
            let text = String(override[override.index(after: eq)...]).trimmingCharacters(in: .whitespaces)
            let value: Any
            if let data = text.data(using: .utf8),
               let parsed = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]),
               !(parsed is [Any]), !(parsed is [String: Any]) {
                value = parsed
            } else {
                value = text
            }
            try Self.set(&root, path: key.split(separator: ".").map(String.init), value: value, override: override)
        }
        let data = try JSONSerialization.data(withJSONObject: root)
        self = try Self.decode(data, source: "The overrides \(overrides.joined(separator: " "))")
    }

    private static func set(_ object: inout [String: Any], path: [String], value: Any, override: String) throws {
        guard let head = path.first else {
            throw ConfigurationError("Override '\(override)' has an empty key.")
        }
        guard let existing = object[head] else {
            let known = object.keys.sorted().joined(separator: ", ")
            throw ConfigurationError("Unknown configuration key '\(head)' in override '\(override)'. Known keys here are: \(known).")
        }
        if path.count == 1 {
            if existing is [String: Any] {
                throw ConfigurationError("Override '\(override)' sets the group '\(head)' as a whole; set one of its fields instead, for example \(head).\((existing as? [String: Any])?.keys.sorted().first ?? "field")=...")
            }
            object[head] = value
            return
        }
        guard var nested = existing as? [String: Any] else {
            throw ConfigurationError("Override '\(override)': '\(head)' is a single value and has no field '\(path[1])'.")
        }
        try set(&nested, path: Array(path.dropFirst()), value: value, override: override)
        object[head] = nested
    }

    /// The configuration as pretty JSON with sorted keys (for run folders and printing).
    public func prettyJSON() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let p = context.codingPath.map(\.stringValue).joined(separator: ".")
            return p.isEmpty ? "the top level" : "'\(p)'"
        }
        func kind(_ type: Any.Type) -> String {
            if type == Int.self { return "a whole number" }
            if type == Double.self || type == Float.self { return "a number" }
            if type == Bool.self { return "true or false" }
            if type == String.self { return "a string" }
            return "a JSON object"
        }
        switch error {
        case .typeMismatch(let type, let context):
            return "the value at \(path(context)) must be \(kind(type)). Fix its type."
        case .valueNotFound(let type, let context):
            return "the value at \(path(context)) is missing or null; it must be \(kind(type))."
        case .keyNotFound(let key, let context):
            return "the key '\(key.stringValue)' is missing at \(path(context))."
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                return "it is not valid JSON (\(context.underlyingError.map { "\($0)" } ?? context.debugDescription)). Check commas, quotes and brackets."
            }
            return "the value at \(path(context)) is not usable: \(context.debugDescription)"
        @unknown default:
            return "it could not be decoded: \(error)"
        }
    }
}
