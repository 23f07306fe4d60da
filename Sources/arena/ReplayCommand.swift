import Agent
import ArgumentParser
import Environment
import Foundation
import NeuralNet
import Runner

/// `arena replay`: re-runs a recorded episode exactly and checks it, or plays trained weights
/// live and records the episode; optionally shows or exports every emulator frame.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Re-run a recorded episode (or play weights live), check it, and show or export every frame.",
        discussion: """
        arena replay EPISODE_FILE [--weights W --panel] [--video out.mp4] [--gif out.gif] [--frames DIR] [--window]
        arena replay --weights W --game G [--protocol P] [--seed S] [--save FILE.episode] [outputs as above]
        """)

    @Argument(help: "An .episode file written by `arena train`, `arena evaluate` or `arena replay --save`.")
    var episode: String?
    @Option(help: "Weights (safetensors): with an episode file they give the panel's Q-values; with --game the agent plays live.")
    var weights: String?
    @Option(help: "Game to play live with --weights.")
    var game: GameArgument?
    @Option(help: "Protocol of a live episode.")
    var `protocol`: EvaluationProtocol = .nature2015
    @Option(help: "Seed of a live episode.")
    var seed: UInt64 = 1
    @Option(help: "Where to save the live episode file (default: live-<game>-seed<S>.episode).")
    var save: String?
    @Option(help: "Write an MP4 video of every emulator frame at 60 fps (needs ffmpeg).")
    var video: String?
    @Option(help: "Write an animated GIF of every emulator frame (needs ffmpeg).")
    var gif: String?
    @Option(help: "Write every emulator frame as a PNG image into this folder.")
    var frames: String?
    @Flag(help: "Show the replay in a window (needs Debian's libsdl2-2.0-0).")
    var window = false
    @Flag(help: "Draw the running return and the agent's Q-values per action beside the game (Q-values need --weights).")
    var panel = false

    func validate() throws {
        if episode == nil && (weights == nil || game == nil) {
            throw ValidationError("Give an episode file, or --weights FILE --game G to play live.")
        }
        if episode != nil && game != nil { throw ValidationError("--game is for live play; an episode file already names its game.") }
        if video != nil || gif != nil, let why = FFmpegSink.unavailable { throw ValidationError(why) }
    }

    func run() throws {
        let record: EpisodeRecord
        if let episode {
            record = try EpisodeFile.read(from: URL(fileURLWithPath: episode))
        } else {
            record = try playLive()
        }
        let env = try EpisodeReplayer.environment(for: record)
        var values: ActionValueAgent? = nil
        if let weights {
            let (network, _) = try WeightsFile.load(from: URL(fileURLWithPath: weights))
            guard network.actions == env.actionCount else {
                throw ValidationError("The weights have \(network.actions) actions but this episode's game has \(env.actionCount); use the weights that played it.")
            }
            values = try DQNAgent.evaluating(weights: URL(fileURLWithPath: weights), config: DQNConfig(), actionCount: env.actionCount,
                                             epsilon: 0, seed: 0, name: "panel")
        }
        let width = env.arcade.screenWidth + (panel ? PanelRenderer.panelWidth : 0), height = env.arcade.screenHeight
        var sinks: [FrameSink] = []
        if let video { sinks.append(try FFmpegSink.video(video, width: width, height: height)) }
        if let gif { sinks.append(try FFmpegSink.gif(gif, width: width, height: height)) }
        if let frames { sinks.append(try PNGSink(directory: frames, width: width, height: height)) }
        if window { sinks.append(try SDLWindowSink(title: "arena replay: \(record.game)", width: width, height: height)) }
        let outcome = try EpisodeRenderer.render(record, env: env, values: values, panel: panel, sinks: sinks)
        print(String(format: "replayed %@ (protocol %@, seed %llu): %d steps, %d frames, score %.1f; every reward, the score and the final emulator state match",
                     record.game, record.protocolName, record.seed, outcome.steps, outcome.frames, outcome.score))
        for (flag, path) in [("video", video), ("gif", gif), ("frames", frames)] {
            if let path { print("\(flag): \(path)") }
        }
    }

    /// Plays one evaluation episode with the weights and saves its episode file.
    func playLive() throws -> EpisodeRecord {
        let proto = `protocol`
        let info = try game?.resolve() ?? GameCatalog.resolve("")
        let url = URL(fileURLWithPath: weights ?? "")
        let name = url.deletingPathExtension().lastPathComponent
        let request = EvaluationRequest(game: info.id, protocol: proto, episodes: 1, seed: seed, agentName: name,
                                        source: url.path, weightsFile: url) { context, epsilon in
            try DQNAgent.evaluating(weights: url, config: DQNConfig(), actionCount: context.actionCount, epsilon: epsilon,
                                    seed: context.seed, name: name)
        }
        var played: EvaluatedEpisode? = nil
        _ = try request.run { _, e, _ in played = e }
        guard let e = played else { throw ValidationError("The live episode did not run.") }
        let saveURL = URL(fileURLWithPath: save ?? "live-\(info.id)-seed\(seed).episode")
        try EpisodeArchive.save(e, game: info.id, settings: proto.settings, agent: request.agentName, to: saveURL)
        print(String(format: "played %@ live with %@: score %.1f in %d steps; episode saved to %@",
                     info.id, url.lastPathComponent, e.score, e.length, saveURL.path))
        return try EpisodeFile.read(from: saveURL)
    }
}
