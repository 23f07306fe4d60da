import Agent
import Environment
import Foundation

/// Replays an episode into frame sinks: every emulator frame (resets, no-ops and skipped frames
/// included), optionally with the side panel of `PanelRenderer`, whose Q-values come from a
/// value-based agent shown the same frames the playing agent saw (its own actions are ignored:
/// the episode's recorded actions are replayed).
public enum EpisodeRenderer {
    @discardableResult
    public static func render(_ record: EpisodeRecord, env: AtariEnvironment, values agent: ActionValueAgent?, panel: Bool,
                              sinks: [FrameSink]) throws -> EpisodeReplayer.Outcome {
        let gameWidth = env.arcade.screenWidth, height = env.arcade.screenHeight
        let renderer = PanelRenderer(gameWidth: gameWidth, height: height, actionSet: env.arcade.actionSet)
        var game = [UInt8](repeating: 0, count: gameWidth * height * 3)
        var out = [UInt8](repeating: 0, count: (panel ? renderer.width : gameWidth) * height * 3)
        var q: [Float]? = nil
        var chosen: Int? = record.actions.first.map(Int.init)
        var step = 0
        var sinkError: Error?

        env.frameObserver = { arcade in
            guard sinkError == nil else { return }
            game.withUnsafeMutableBufferPointer { arcade.rgb(into: $0.baseAddress.unsafelyUnwrapped) }
            if panel {
                renderer.compose(game: game, qValues: q, chosen: chosen, episodeReturn: env.episodeReturn, step: step, into: &out)
            }
            for sink in sinks {
                do { try sink.write(panel ? out : game) } catch { sinkError = error; return }
            }
        }
        defer { env.frameObserver = nil }
        let outcome = try EpisodeReplayer.replay(record, in: env, onReset: {
            guard let agent else { return }
            _ = env.withFrame { agent.beginEpisode(frame: $0, training: false) }
            q = agent.currentActionValues()
        }, onStep: { i, result in
            step = i + 1
            chosen = i + 1 < record.actions.count ? Int(record.actions[i + 1]) : nil
            if let agent {
                _ = env.withFrame { agent.step(reward: result.trainingReward, frame: $0, lifeLost: false) }
                q = agent.currentActionValues()
            }
            if let sinkError { throw sinkError }
        })
        for sink in sinks { try sink.finish() }
        if let sinkError { throw sinkError }
        return outcome
    }
}
