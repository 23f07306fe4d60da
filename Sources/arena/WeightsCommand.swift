import ArgumentParser
import Foundation
import NeuralNet

/// `arena weights`: create and inspect Q-network weights (safetensors with PyTorch's names).
struct WeightsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weights",
        abstract: "Create and inspect Q-network weights (safetensors, PyTorch names and layouts).",
        discussion: """
            Tensor names: conv1.weight [32,4,8,8], conv1.bias, conv2.weight [64,32,4,4], conv2.bias,
            conv3.weight [64,64,3,3], conv3.bias, then fc1.weight [512,3136], fc1.bias, fc2.weight [A,512],
            fc2.bias; or, with a dueling head, fc1_value.*, fc1_advantage.* [512,3136], value.weight [1,512],
            value.bias, advantage.weight [A,512], advantage.bias.
            """,
        subcommands: [Init.self, Q.self, Show.self, Convert.self])

    struct Convert: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rewrite a weights file in F32 or F16 (half the size, for shipping a trained agent).",
            discussion: "F16 rounds every value to the nearest IEEE half; evaluate the converted file, not the original, when you report its scores. PyTorch's load_state_dict converts F16 tensors into F32 parameters.")

        @Argument(help: "A .safetensors weights file (F32, F16 or BF16).")
        var file: String
        @Option(help: "Value type of the new file: f32 or f16.")
        var dtype: String
        @Option(help: "Output .safetensors file (written atomically; must differ from the input).")
        var out: String

        func validate() throws {
            guard dtype == "f32" || dtype == "f16" else { throw ValidationError("--dtype must be f32 or f16, got \(dtype).") }
            guard !out.isEmpty else { throw ValidationError("--out needs a file name.") }
            guard URL(fileURLWithPath: out).standardizedFileURL != URL(fileURLWithPath: file).standardizedFileURL else {
                throw ValidationError("--out must name a new file, not the input \(file).")
            }
        }

        func run() throws {
            let (config, parameters) = try WeightsFile.load(from: URL(fileURLWithPath: file))
            try WeightsFile.save(network: config, parameters: parameters, to: URL(fileURLWithPath: out), halfPrecision: dtype == "f16")
            let size = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? nil
            print("Wrote \(out): \(parameters.count) parameters as \(dtype.uppercased())\(size.map { ", \($0) bytes" } ?? "").")
        }
    }

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a freshly initialized Nature DQN network (PyTorch's default initialization).")

        @Option(help: "Number of actions (outputs), 1 to 256.")
        var actions: Int
        @Flag(help: "Use a dueling head (Wang et al. 2016).")
        var dueling = false
        @Option(help: "Seed of the initialization.")
        var seed: UInt64
        @Option(help: "Output .safetensors file (written atomically).")
        var out: String

        func validate() throws {
            guard (1...256).contains(actions) else {
                throw ValidationError("--actions must be between 1 and 256, got \(actions).")
            }
            guard !out.isEmpty else { throw ValidationError("--out needs a file name.") }
        }

        func run() throws {
            let learner = QLearner(network: QNetworkConfig(actions: actions, dueling: dueling), batchSize: 1, seed: seed)
            try learner.saveWeights(to: URL(fileURLWithPath: out))
            print("Wrote \(out): \(learner.parameterCount) parameters, \(actions) actions, dueling \(dueling), seed \(seed).")
        }
    }

    struct Q: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the Q-values of uint8 observations ([4,84,84] or [N,4,84,84] .npy) as JSON.")

        @Argument(help: "A .safetensors weights file.")
        var file: String
        @Option(help: "A uint8 NumPy .npy file of shape [4,84,84] or [N,4,84,84].")
        var observation: String

        func run() throws {
            let (config, parameters) = try WeightsFile.load(from: URL(fileURLWithPath: file))
            let array = try NPY.readUInt8(from: URL(fileURLWithPath: observation))
            let frame = [4, 84, 84]
            let count: Int
            if array.shape == frame {
                count = 1
            } else if array.shape.count == 4, Array(array.shape.dropFirst()) == frame, array.shape[0] >= 1 {
                count = array.shape[0]
            } else {
                throw ValidationError("\(observation) has shape \(array.shape); observations must have shape [4, 84, 84] or [N, 4, 84, 84] (4 stacked 84x84 frames).")
            }
            let learner = QLearner(network: config, batchSize: min(count, 32), seed: 0)
            learner.parameters = parameters
            var q = [Float](repeating: 0, count: count * config.actions)
            array.values.withUnsafeBufferPointer { obs in
                q.withUnsafeMutableBufferPointer { out in
                    // safe because: both buffers hold count observations / count * actions floats.
                    guard let o = obs.baseAddress, let d = out.baseAddress else { return }
                    learner.qValues(observations: o, count: count, into: d)
                }
            }
            let rows = (0..<count).map { Array(q[($0 * config.actions)..<(($0 + 1) * config.actions)]) }
            let greedy = rows.map { row in row.indices.reduce(0) { row[$1] > row[$0] ? $1 : $0 } }
            let qText = count == 1 && array.shape.count == 3
                ? jsonArray(rows[0]) : "[" + rows.map(jsonArray).joined(separator: ",") + "]"
            let actionText = count == 1 && array.shape.count == 3
                ? "\"greedy_action\":\(greedy[0])" : "\"greedy_actions\":[\(greedy.map(String.init).joined(separator: ","))]"
            print("{\"actions\":\(config.actions),\"dueling\":\(config.dueling),\"q\":\(qText),\(actionText)}")
        }

        private func jsonArray(_ values: [Float]) -> String {
            "[" + values.map { $0.isFinite ? "\($0)" : "null" }.joined(separator: ",") + "]"
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the tensors, shapes and parameter count of a weights file.")

        @Argument(help: "A .safetensors file.")
        var file: String

        func run() throws {
            let url = URL(fileURLWithPath: file)
            let contents = try WeightsFile.read(from: url)
            let nameWidth = max(12, contents.tensors.map(\.name.count).max() ?? 0)
            var total = 0
            for t in contents.tensors {
                let count = t.shape.reduce(1, *)
                total += count
                let name = t.name.padding(toLength: nameWidth, withPad: " ", startingAt: 0)
                print("\(name)  \(t.dtype)  \(t.shape)  \(count)")
            }
            print("\(contents.tensors.count) tensors, \(total) parameters")
            if !contents.metadata.isEmpty {
                print("metadata: " + contents.metadata.keys.sorted().map { "\($0)=\(contents.metadata[$0] ?? "")" }.joined(separator: " "))
            }
            do {
                let (config, _) = try WeightsFile.load(from: url)
                print("Q-network: \(config.actions) actions, \(config.dueling ? "dueling" : "plain") head")
            } catch {
                print("Not loadable as a Q-network: \(error)")
            }
        }
    }
}
