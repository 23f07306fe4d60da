import Agent
import ArgumentParser
import Environment
import Foundation
import Runner

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Evaluate trained weights: scores, mean ± std, human-normalized score, Nature DQN reference.")

    @Option(name: .customLong("run"), help: "A run folder made by `arena train` (uses its config and newest weights).")
    var runFolder: String?
    @Option(help: "A DQN weights file (safetensors, ours or PyTorch's) instead of a run folder; needs --game.")
    var weights: String?
    @Option(help: "An agent that needs no training files instead of a run folder: random. Needs --game.")
    var agent: String?
    @Option(help: "Game id, with --weights or --agent.")
    var game: GameArgument?
    @Option(help: "Episodes to play.")
    var episodes: Int = 30
    @Option(help: "Protocol (default: the run's, or nature2015 with --weights).")
    var `protocol`: EvaluationProtocol?
    @Option(name: .customLong("protocol-set"), help: ArgumentHelp(
        "Change a preprocessing setting of the protocol, key=value (repeatable), e.g. --protocol-set fireOnLifeLoss=false.",
        discussion: "Default: a run's own changes (`arena train --protocol-set`), none with --weights or --agent. The summary and the episode files name the changed protocol."))
    var protocolChanges: [String] = []
    @Option(help: "Seed of the evaluation (no-op starts, epsilon, sticky actions).")
    var seed: UInt64?
    @Option(help: "Folder for the episode files (default: the run's episodes/, or none with --weights).")
    var episodesDir: String?
    @Option(help: ArgumentHelp("Epsilon of the evaluation policy instead of the protocol's (nature2015 0.05, machado2018 0.001).",
                               discussion: "The scores are then no longer the protocol's: the summary and the episode files name the change."))
    var epsilon: Double?
    @Option(help: ArgumentHelp("Episode cap in emulator frames instead of the protocol's (nature2015 18000, machado2018 108000).",
                               discussion: "The scores are then no longer the protocol's: the summary and the episode files name the change."))
    var maxEpisodeFrames: Int?
    @Flag(help: ArgumentHelp("Also compare the network's Q(s,a) with the discounted return that followed, state by state.",
                             discussion: "Uses the agent's gamma and learning rewards; one more forward pass a step. States within the discount horizon of an episode cap are left out."))
    var valueCheck = false
    @Flag(help: "Print the summary as JSON.")
    var json = false

    func validate() throws {
        let sources = [runFolder, weights, agent].compactMap { $0 }.count
        if sources != 1 { throw ValidationError("Give one of --run DIR, --weights FILE --game G, or --agent random --game G.") }
        if weights != nil && game == nil { throw ValidationError("--weights needs --game (the game the weights were trained on).") }
        if let agent {
            guard agent == "random" else {
                throw ValidationError("--agent takes random (an agent that needs no training); evaluate a trained agent with --run DIR or --weights FILE.")
            }
            if game == nil { throw ValidationError("--agent random needs --game.") }
        }
        if runFolder != nil && game != nil { throw ValidationError("--game is for --weights or --agent; a run folder already names its game.") }
        _ = try game?.resolve()
        if episodes < 1 { throw ValidationError("--episodes must be at least 1, got \(episodes).") }
        do { _ = try (`protocol` ?? .nature2015).settings(changing: protocolChanges) } catch { throw ValidationError("\(error)") }
        if let epsilon, !(0...1).contains(epsilon) { throw ValidationError("--epsilon must be between 0 and 1, got \(epsilon).") }
        if let maxEpisodeFrames, maxEpisodeFrames < 1 {
            throw ValidationError("--max-episode-frames must be at least 1, got \(maxEpisodeFrames).")
        }
    }

    func run() throws {
        var request: EvaluationRequest
        if let runFolder {
            request = try EvaluationRequest.fromRun(URL(fileURLWithPath: runFolder), episodes: episodes, protocolOverride: `protocol`, seed: seed)
        } else if let weights {
            let url = URL(fileURLWithPath: weights)
            let config = try Self.dqnConfig(besideWeights: url)
            let name = url.deletingPathExtension().lastPathComponent
            request = EvaluationRequest(game: game?.name ?? "", protocol: `protocol` ?? .nature2015, episodes: episodes,
                                        seed: seed ?? 1, agentName: name, source: url.path, weightsFile: url) { context, epsilon in
                try DQNAgent.evaluating(weights: url, config: config, actionCount: context.actionCount, epsilon: epsilon,
                                        seed: context.seed, name: name)
            }
        } else {
            let factory = RandomAgent.factory
            request = EvaluationRequest(game: game?.name ?? "", protocol: `protocol` ?? .nature2015, episodes: episodes,
                                        seed: seed ?? 1, agentName: factory.name, source: "the random agent") { context, _ in
                try factory.makeAgent(context)
            }
        }
        if !protocolChanges.isEmpty { request.protocolChanges = protocolChanges }
        if let episodesDir { request.episodesDirectory = URL(fileURLWithPath: episodesDir) }
        request.epsilonOverride = epsilon
        request.maxEpisodeFramesOverride = maxEpisodeFrames
        request.valueCheck = valueCheck
        if !json {
            let s = try request.settings
            print("evaluating \(request.source) on \(request.game), protocol \(s.name), \(request.episodes) episodes, seed \(request.seed)"
                  + " (epsilon \(s.evalEpsilon), cap \(s.evalMaxEpisodeFrames) frames)")
        }
        let summary = try request.run { i, e, values in
            if !json {
                var line = String(format: "episode %d: score %.1f, %d steps, %d frames%@", i + 1, e.score, e.length, e.frames,
                                  e.truncated ? " (truncated)" : "")
                // With the value check, where this episode's values stand against its returns.
                if let v = values {
                    line += String(format: ", Q(s,a) %.3f against realised %.3f over %d states", v.predictedMean, v.realisedMean, v.states)
                }
                print(line)
            }
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(summary), as: UTF8.self))
        } else {
            var line = String(format: "mean %.2f ± %.2f (std) over %d episodes", summary.mean, summary.std, summary.episodes.count)
            if let h = summary.humanNormalized { line += String(format: ", human-normalized %.3f", h) }
            print(line)
            if valueCheck { print(summary.valueCheck?.sentence ?? "value check: no state to compare (every step was within the discount horizon of a cap)") }
            let ref = [summary.random.map { String(format: "random %.1f", $0) }, summary.human.map { String(format: "human %.1f", $0) },
                       summary.dqnNature.map { String(format: "Nature DQN %.1f", $0) }].compactMap { $0 }
            if !ref.isEmpty { print("reference (\(summary.protocol == "nature2015" ? "same protocol" : "nature2015 protocol; not directly comparable")): " + ref.joined(separator: ", ")) }
            if let dir = request.episodesDirectory { print("episode files: \(dir.path)") }
        }
    }

    /// The DQN settings beside a weights file: a run folder's or shipped agent's config.json, or
    /// the defaults when there is none (the network head and action count come from the weights
    /// file itself). A config.json that cannot be read is refused, never replaced by defaults.
    static func dqnConfig(besideWeights url: URL) throws -> DQNConfig {
        let sibling = url.deletingLastPathComponent().appendingPathComponent("config.json")
        guard FileManager.default.fileExists(atPath: sibling.path) else { return DQNConfig() }
        guard let data = try? Data(contentsOf: sibling) else {
            throw ValidationError("\(sibling.path) beside the weights cannot be read; fix its permissions or move it away to evaluate with the default DQN settings.")
        }
        if let record = try? JSONDecoder().decode(RunRecord.self, from: data) {
            guard record.agentKind == "dqn" else {
                throw ValidationError("\(sibling.path) says the agent is of kind '\(record.agentKind)', not DQN; evaluate its folder with --run instead.")
            }
            do { return try DQNConfig.decode(JSONEncoder().encode(record.agentConfig), source: sibling.path) } catch {
                throw ValidationError("\(error)")
            }
        }
        do { return try DQNConfig.decode(data, source: sibling.path) } catch {
            throw ValidationError("\(sibling.path) beside the weights is neither a run's config.json nor a DQN preset (\(error)); fix it or move it away to evaluate with the default DQN settings.")
        }
    }
}
