import Environment
import Foundation
import NeuralNet

/// Replays an episode into frame sinks: every emulator frame (resets, no-ops and skipped frames
/// included), optionally with the side panel of `PanelRenderer`, whose Q-values come from
/// `learner` evaluated on the same stacked observations the agent saw.
public enum EpisodeRenderer {
    @discardableResult
    public static func render(_ record: EpisodeRecord, env: AtariEnvironment, learner: QLearner?, panel: Bool,
                              sinks: [FrameSink]) throws -> EpisodeReplayer.Outcome {
        let gameWidth = env.arcade.screenWidth, height = env.arcade.screenHeight
        let renderer = PanelRenderer(gameWidth: gameWidth, height: height, actionSet: env.arcade.actionSet)
        var game = [UInt8](repeating: 0, count: gameWidth * height * 3)
        var out = [UInt8](repeating: 0, count: (panel ? renderer.width : gameWidth) * height * 3)
        var stack = FrameStack(depth: 4, frameSize: env.frameSize)
        var observation = [UInt8](repeating: 0, count: 4 * env.frameSize)
        var q: [Float]? = learner.map { [Float](repeating: 0, count: $0.network.actions) }
        var chosen: Int? = record.actions.first.map(Int.init)
        var step = 0
        var sinkError: Error?

        func updateQ() {
            guard let learner, q != nil else { return }
            observation.withUnsafeMutableBufferPointer { o in
                // safe because: observation holds 4 frames, the stack's size.
                stack.write(into: o.baseAddress.unsafelyUnwrapped)
                q?.withUnsafeMutableBufferPointer { learner.qValues(observation: o.baseAddress.unsafelyUnwrapped, into: $0.baseAddress.unsafelyUnwrapped) }
            }
        }

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
            env.withFrame { stack.reset(with: $0.baseAddress.unsafelyUnwrapped) }
            updateQ()
        }, onStep: { i, _ in
            step = i + 1
            env.withFrame { stack.push($0.baseAddress.unsafelyUnwrapped) }
            chosen = i + 1 < record.actions.count ? Int(record.actions[i + 1]) : nil
            updateQ()
            if let sinkError { throw sinkError }
        })
        for sink in sinks { try sink.finish() }
        if let sinkError { throw sinkError }
        return outcome
    }
}
