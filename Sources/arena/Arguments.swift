import ArgumentParser
import Environment
import Foundation
import NeuralNet

// Command-line types shared by every command: `--help` lists their valid values, and a bad
// value gets one sentence naming it and what is allowed.

extension EvaluationProtocol: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}

extension Precision: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}

extension Kernels: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}

/// A game id as ALE names it (`pong`, `montezuma_revenge`), checked against the catalog in
/// `validate()` so a misspelling gets the closest ids as suggestions.
struct GameArgument: ExpressibleByArgument {
    let name: String
    init?(argument: String) { name = argument }
    static var allValueStrings: [String] { GameCatalog.all.map(\.id) }

    /// The catalog entry, or a usage error naming the closest ids.
    func resolve() throws -> GameInfo {
        do { return try GameCatalog.resolve(name) } catch { throw ValidationError("\(error)") }
    }
}

/// `--protocol` for commands that run under one protocol (default nature2015).
struct ProtocolOption: ParsableArguments {
    @Option(name: .customLong("protocol"), help: "Evaluation protocol (recorded with every result; results of different protocols are never pooled).")
    var value: EvaluationProtocol = .nature2015
}

/// `--threads` for commands that train: the threads the agent learns on.
struct ThreadsOption: ParsableArguments {
    @Option(name: .customLong("threads"), help: ArgumentHelp(
        "Threads the agent learns on (default: all cores, or OPENBLAS_NUM_THREADS when set).",
        discussion: "DQN runs each update in N lanes (pieces of the batch side by side, at most the batch size). A run keeps the number it started with when resumed, so its numerics do not change."))
    var value: Int?

    func validate() throws {
        if let value, !(1...256).contains(value) {
            throw ValidationError("--threads must be between 1 and 256, got \(value); give the number of threads the agent learns on (this machine has \(ProcessInfo.processInfo.activeProcessorCount) cores).")
        }
    }

    /// The threads asked for, or OpenBLAS's default (all cores unless OPENBLAS_NUM_THREADS says
    /// otherwise), read before anything sets OpenBLAS to one thread.
    var threads: Int { value ?? max(1, BLAS.threads) }
}
