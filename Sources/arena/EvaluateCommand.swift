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
    @Option(help: "A weights file (safetensors) instead of a run folder; needs --game.")
    var weights: String?
    @Option(help: "Game id, with --weights.")
    var game: String?
    @Option(help: "Episodes to play.")
    var episodes: Int = 30
    @Option(help: "Protocol (default: the run's, or nature2015 with --weights).")
    var `protocol`: String?
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
        if (runFolder == nil) == (weights == nil) { throw ValidationError("Give either --run DIR or --weights FILE --game G.") }
        if weights != nil && game == nil { throw ValidationError("--weights needs --game (the game the weights were trained on).") }
        if episodes < 1 { throw ValidationError("--episodes must be at least 1, got \(episodes).") }
        if let epsilon, !(0...1).contains(epsilon) { throw ValidationError("--epsilon must be between 0 and 1, got \(epsilon).") }
        if let maxEpisodeFrames, maxEpisodeFrames < 1 {
            throw ValidationError("--max-episode-frames must be at least 1, got \(maxEpisodeFrames).")
        }
    }

    func run() throws {
        let proto = try `protocol`.map(parseProtocol)
        var request: EvaluationRequest
        if let runFolder {
            request = try EvaluationRequest.fromRun(URL(fileURLWithPath: runFolder), episodes: episodes, protocolOverride: proto, seed: seed)
        } else {
            let url = URL(fileURLWithPath: weights ?? "")
            // The agent settings beside the weights: a run folder's config.json, else the defaults
            // (the network head and action count are read from the weights file itself).
            var config = DQNConfig()
            let sibling = url.deletingLastPathComponent().appendingPathComponent("config.json")
            if let data = try? Data(contentsOf: sibling) {
                if let run = try? JSONDecoder().decode(RunRecord.self, from: data) {
                    config = run.agentConfig
                } else if let c = try? DQNConfig.decode(data) {
                    config = c
                }
            }
            request = EvaluationRequest(game: game ?? "", weights: url, protocol: proto ?? .nature2015, episodes: episodes,
                                        seed: seed ?? 1, agentName: url.deletingPathExtension().lastPathComponent,
                                        agentConfig: config, episodesDirectory: nil)
        }
        if let episodesDir { request.episodesDirectory = URL(fileURLWithPath: episodesDir) }
        request.epsilonOverride = epsilon
        request.maxEpisodeFramesOverride = maxEpisodeFrames
        request.valueCheck = valueCheck
        if !json {
            let s = request.settings
            print("evaluating \(request.weights.path) on \(request.game), protocol \(s.name), \(request.episodes) episodes, seed \(request.seed)"
                  + " (epsilon \(s.evalEpsilon), cap \(s.evalMaxEpisodeFrames) frames)")
        }
        let summary = try request.run { i, e in
            if !json {
                var line = String(format: "episode %d: score %.1f, %d steps, %d frames%@", i + 1, e.score, e.length, e.frames,
                                  e.truncated ? " (truncated)" : "")
                // With the value check, where this episode's values stand against its returns.
                if let v = ValueCheck.measure(episodes: [e], gamma: request.agentConfig.gamma)?.episodes.first {
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
}
