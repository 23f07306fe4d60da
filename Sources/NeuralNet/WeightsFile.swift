// Q-network weights as safetensors with PyTorch's names and layouts, so a PyTorch module with the
// same layers (see scripts/check_safetensors.py) loads them with `load_state_dict`, and weights
// trained in PyTorch load here.
//
// Names and shapes (A actions), all F32 (or all F16 with `halfPrecision`, for shipping; F32, F16
// and BF16 files are read):
//   conv1.weight [32,4,8,8]   conv1.bias [32]
//   conv2.weight [64,32,4,4]  conv2.bias [64]
//   conv3.weight [64,64,3,3]  conv3.bias [64]
//   plain head:   fc1.weight [512,3136]  fc1.bias [512]  fc2.weight [A,512]  fc2.bias [A]
//   dueling head: fc1_value.weight [512,3136]  fc1_value.bias [512]
//                 fc1_advantage.weight [512,3136]  fc1_advantage.bias [512]
//                 value.weight [1,512]  value.bias [1]  advantage.weight [A,512]  advantage.bias [A]
// Metadata we write: {"format": "pt", "arena_actions": "6", "arena_dueling": "false"}.
// The head (plain or dueling) and the action count are read from the tensors themselves, so
// files written by PyTorch without our metadata load too.

import ArenaSupport
import Foundation

/// A weights file that cannot be used, with what was wrong and what to do.
public struct WeightsFileError: Error, CustomStringConvertible {
    public let path: String
    public let problem: String
    public let advice: String

    public static let defaultAdvice =
        "Write it again with `arena weights init` or from PyTorch with safetensors.torch.save_file(model.state_dict(), path)."

    public init(path: String, problem: String, advice: String = WeightsFileError.defaultAdvice) {
        self.path = path; self.problem = problem; self.advice = advice
    }

    public var description: String { "Cannot use the weights file \(path): \(problem). \(advice)" }
}

/// Reads and writes Q-network weights in safetensors format.
public enum WeightsFile {
    /// Writes `parameters` (flat, `QLearner.tensors` layout) atomically; `halfPrecision` stores
    /// every value rounded to IEEE half (F16), which halves the file.
    public static func save(network: QNetworkConfig, parameters: [Float], to url: URL, halfPrecision: Bool = false) throws {
        try AtomicFile.write(encode(network: network, shape: .nature, parameters: parameters, halfPrecision: halfPrecision),
                             to: url)
    }

    /// Reads a weights file: the network it describes and its flat parameters.
    public static func load(from url: URL) throws -> (QNetworkConfig, [Float]) {
        try load(from: url, shape: .nature)
    }

    /// Reads any safetensors file (for `arena weights show`).
    public static func read(from url: URL) throws -> SafeTensors {
        let bytes: [UInt8]
        do {
            bytes = try [UInt8](Data(contentsOf: url))
        } catch {
            let exists = FileManager.default.fileExists(atPath: url.path)
            throw WeightsFileError(path: url.path,
                                   problem: exists ? "it could not be read (check its permissions)" : "there is no such file",
                                   advice: exists ? "" : "Check the path.")
        }
        do {
            return try SafeTensors(decoding: bytes)
        } catch let problem as SafeTensorsProblem {
            throw WeightsFileError(path: url.path, problem: problem.description)
        }
    }

    static func encode(network: QNetworkConfig, shape: NetworkShape, parameters: [Float], halfPrecision: Bool = false) -> [UInt8] {
        let net = QNetwork(config: network, shape: shape)
        precondition(parameters.count == net.parameterCount,
                     "expected \(net.parameterCount) parameters, got \(parameters.count)")
        let tensors = net.tensors.map {
            SafeTensors.Tensor(name: $0.name, dtype: halfPrecision ? "F16" : "F32", shape: $0.shape,
                               values: Array(parameters[$0.offset..<($0.offset + $0.count)]))
        }
        let metadata = ["format": "pt", "arena_actions": String(network.actions),
                        "arena_dueling": String(network.dueling)]
        return SafeTensors(tensors: tensors, metadata: metadata).encoded()
    }

    static func load(from url: URL, shape: NetworkShape) throws -> (QNetworkConfig, [Float]) {
        let file = try read(from: url)
        do {
            return try decode(file, shape: shape)
        } catch let problem as SafeTensorsProblem {
            throw WeightsFileError(path: url.path, problem: problem.description)
        }
    }

    /// Checks names, dtypes and shapes against the network the tensors describe.
    static func decode(_ file: SafeTensors, shape: NetworkShape) throws -> (QNetworkConfig, [Float]) {
        let config: QNetworkConfig
        if let adv = file.tensor(named: "advantage.weight") {
            guard adv.shape.count == 2, adv.shape[0] >= 1 else {
                throw SafeTensorsProblem("tensor advantage.weight has shape \(adv.shape), expected [actions, \(shape.hidden)]")
            }
            config = QNetworkConfig(actions: adv.shape[0], dueling: true)
        } else if let fc2 = file.tensor(named: "fc2.weight") {
            guard fc2.shape.count == 2, fc2.shape[0] >= 1 else {
                throw SafeTensorsProblem("tensor fc2.weight has shape \(fc2.shape), expected [actions, \(shape.hidden)]")
            }
            config = QNetworkConfig(actions: fc2.shape[0], dueling: false)
        } else {
            throw SafeTensorsProblem("it has neither fc2.weight (plain head) nor advantage.weight (dueling head), so it is not a DQN Q-network")
        }
        if let declared = file.metadata["arena_actions"], declared != String(config.actions) {
            throw SafeTensorsProblem("its metadata says \(declared) actions but its output layer has \(config.actions)")
        }
        if let declared = file.metadata["arena_dueling"], declared != String(config.dueling) {
            throw SafeTensorsProblem("its metadata says dueling \(declared) but its tensors say \(config.dueling)")
        }
        let net = QNetwork(config: config, shape: shape)
        let expected = Set(net.tensors.map(\.name))
        let present = Set(file.tensors.map(\.name))
        let missing = net.tensors.map(\.name).filter { !present.contains($0) }
        if !missing.isEmpty {
            throw SafeTensorsProblem("it lacks tensor\(missing.count == 1 ? "" : "s") \(missing.joined(separator: ", "))")
        }
        let extra = file.tensors.map(\.name).filter { !expected.contains($0) }
        if !extra.isEmpty {
            throw SafeTensorsProblem("it has unexpected tensor\(extra.count == 1 ? "" : "s") \(extra.joined(separator: ", ")) (expected exactly \(net.tensors.map(\.name).joined(separator: ", ")))")
        }
        var parameters = [Float](repeating: 0, count: net.parameterCount)
        for spec in net.tensors {
            guard let t = file.tensor(named: spec.name) else { continue }
            guard ["F32", "F16", "BF16"].contains(t.dtype) else {
                throw SafeTensorsProblem("tensor \(spec.name) has dtype \(t.dtype) but only F32, F16 and BF16 are supported (convert with tensor.float())")
            }
            guard t.shape == spec.shape else {
                throw SafeTensorsProblem("tensor \(spec.name) has shape \(t.shape), expected \(spec.shape)")
            }
            parameters.replaceSubrange(spec.offset..<(spec.offset + spec.count), with: t.values)
        }
        return (config, parameters)
    }
}

extension QLearner {
    /// Saves everything needed to resume training (online and target parameters, optimizer
    /// moments, update count) as one safetensors file, atomically. Bit-exact round trip.
    public func saveState(to url: URL) throws {
        let s = exportState()
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys  // the same bytes for the same state (Foundation's key order varies)
        let optimizerJSON = (try? String(decoding: encoder.encode(s.optimizer), as: UTF8.self)) ?? ""
        let p = s.parameters.count
        let file = SafeTensors(tensors: [
            .init(name: "online", shape: [p], values: s.parameters),
            .init(name: "target", shape: [p], values: s.targetParameters),
            .init(name: "moment1", shape: [p], values: s.moment1),
            .init(name: "moment2", shape: [p], values: s.moment2),
        ], metadata: ["arena_kind": "learner_state", "arena_actions": String(s.network.actions),
                      "arena_dueling": String(s.network.dueling), "arena_optimizer": optimizerJSON,
                      "arena_update_count": String(s.updateCount)])
        try AtomicFile.write(file.encoded(), to: url)
    }

    /// Restores a state written by `saveState(to:)`.
    public func restoreState(from url: URL) throws {
        let file = try WeightsFile.read(from: url)
        func fail(_ problem: String) -> WeightsFileError {
            WeightsFileError(path: url.path, problem: problem, advice: "Resume from another checkpoint.")
        }
        guard file.metadata["arena_kind"] == "learner_state" else { throw fail("it is not a learner state (no arena_kind learner_state)") }
        guard let actionsText = file.metadata["arena_actions"], let actions = Int(actionsText),
              let duelingText = file.metadata["arena_dueling"], let dueling = Bool(duelingText),
              let countText = file.metadata["arena_update_count"], let count = Int(countText),
              let optimizerText = file.metadata["arena_optimizer"],
              let optimizer = try? JSONDecoder().decode(OptimizerConfig.self, from: Data(optimizerText.utf8)) else {
            throw fail("its metadata is incomplete")
        }
        var arrays: [[Float]] = []
        for name in ["online", "target", "moment1", "moment2"] {
            guard let t = file.tensor(named: name), t.dtype == "F32" else { throw fail("it lacks the F32 tensor \(name)") }
            arrays.append(t.values)
        }
        try restoreState(LearnerState(network: QNetworkConfig(actions: actions, dueling: dueling), optimizer: optimizer,
                                      parameters: arrays[0], targetParameters: arrays[1], moment1: arrays[2],
                                      moment2: arrays[3], updateCount: count))
    }
}
