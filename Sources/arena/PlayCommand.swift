import ArenaSupport
import ArgumentParser
import Environment
import Foundation

/// Options that pick a game and its emulator settings, shared by the commands that play.
struct GameOptions: ParsableArguments {
    @Option(help: "Game id as ALE names it (e.g. pong, breakout, montezuma_revenge). See `arena games`.")
    var game: GameArgument?

    @Option(help: "Path to a ROM file instead of a game id.")
    var rom: String?

    @OptionGroup var protocolOption: ProtocolOption

    @Option(help: "Game mode (default: the game's own). Invalid modes list the available ones.")
    var mode: Int?

    @Option(help: "Game difficulty (default: the game's own).")
    var difficulty: Int?

    func validate() throws {
        if game == nil && rom == nil { throw ValidationError("Give a game with --game (e.g. --game pong) or a ROM file with --rom.") }
        if game != nil && rom != nil { throw ValidationError("Give either --game or --rom, not both.") }
        _ = try game?.resolve()
    }

    func protocolValue() throws -> EvaluationProtocol { protocolOption.value }

    func emulatorSettings() throws -> EmulatorSettings {
        var e = try protocolValue().settings.emulator
        e.mode = mode
        e.difficulty = difficulty
        return e
    }

    func makeArcade(seed: UInt64) throws -> ArcadeEnvironment {
        if let rom { return try ArcadeEnvironment(romURL: URL(fileURLWithPath: rom), settings: emulatorSettings(), seed: seed) }
        return try ArcadeEnvironment(game: game?.name ?? "", settings: emulatorSettings(), seed: seed)
    }
}

struct PlayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "play",
        abstract: "Play episodes with a simple policy and print each score with its human-normalized score.")

    @OptionGroup var gameOptions: GameOptions

    @Option(help: "Policy: random (uniform over the action set) or noop.")
    var policy: String = "random"

    @Option(help: "Number of episodes.")
    var episodes: Int = 3

    @Option(help: "Seed of the emulator, the no-op starts and the policy.")
    var seed: UInt64 = 1

    @Flag(help: "Print one JSON object per episode.")
    var json = false

    func validate() throws {
        guard ["random", "noop"].contains(policy) else {
            throw ValidationError("Unknown policy '\(policy)'; choose random or noop. Trained agents play with `arena evaluate`.")
        }
        guard episodes >= 1 else { throw ValidationError("--episodes must be at least 1, got \(episodes).") }
    }

    func run() throws {
        let proto = try gameOptions.protocolValue()
        let settings = proto.settings
        let env = try AtariEnvironment(arcade: try gameOptions.makeArcade(seed: seed),
                                       preprocessing: settings.evaluationPreprocessing, seed: seed)
        let info = GameCatalog.info(env.gameID)
        var rng = SeededGenerator(seed: seed, stream: "policy")
        if !json {
            print("\(env.gameID): \(episodes) episode(s), \(policy) policy, protocol \(proto), seed \(seed), ALE \(ArcadeEnvironment.aleVersion)")
        }
        var scores: [Double] = []
        for episode in 1...episodes {
            try env.reset()
            var result: StepResult
            repeat {
                let action = policy == "random" ? Int(rng.next() % UInt64(env.actionCount)) : 0
                result = env.step(action)
            } while !result.episodeEnded
            let score = env.episodeReturn
            scores.append(score)
            let hns = GameCatalog.humanNormalized(score: score, game: env.gameID)
            if json {
                let obj: [String: Any] = ["game": env.gameID, "episode": episode, "score": score,
                                          "steps": env.episodeSteps, "frames": env.episodeFrames,
                                          "truncated": result.truncated, "human_normalized": hns ?? NSNull(),
                                          "protocol": proto.rawValue, "seed": seed]
                let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                let hnsText = hns.map { String(format: "%.3f", $0) } ?? "n/a (no reference scores)"
                print(String(format: "episode %d: score %.1f, %d steps (%d frames)%@, human-normalized %@",
                             episode, score, env.episodeSteps, env.episodeFrames,
                             result.truncated ? ", truncated" : "", hnsText))
            }
        }
        if !json, scores.count > 1 {
            let mean = scores.reduce(0, +) / Double(scores.count)
            let hns = GameCatalog.humanNormalized(score: mean, game: env.gameID)
            print(String(format: "mean score %.2f over %d episodes", mean, scores.count)
                  + (hns.map { String(format: ", human-normalized %.3f", $0) } ?? "")
                  + (info.flatMap { i in i.random.flatMap { r in i.human.map { String(format: " (random %.1f, human %.1f)", r, $0) } } } ?? ""))
        }
    }
}
