import Environment
import Foundation

/// Where a replay stopped agreeing with its episode file.
public struct ReplayDivergence: Error, CustomStringConvertible {
    public let description: String
}

/// Re-runs an episode file's actions from its seed and settings and checks every step's reward,
/// the score and the final emulator-state checksum.
public enum EpisodeReplayer {
    public struct Outcome: Sendable {
        public var score: Double
        public var steps: Int
        public var frames: Int
        public var finalStateChecksum: String
    }

    /// The environment the episode was recorded in, reset to its start.
    public static func environment(for record: EpisodeRecord, romDirectory: URL? = nil) throws -> AtariEnvironment {
        guard record.aleVersion == ArcadeEnvironment.aleVersion else {
            throw ReplayDivergence(description: "The episode was recorded with ALE \(record.aleVersion) but this arena runs ALE \(ArcadeEnvironment.aleVersion); emulation may differ, so it cannot be replayed exactly.")
        }
        let settings = try EpisodeArchive.environment(of: record)
        return try AtariEnvironment(game: record.game, emulator: settings.emulator, preprocessing: settings.preprocessing,
                                    seed: record.seed, romDirectory: romDirectory)
    }

    /// Replays `record`; `onStep` sees the environment after each agent step (for panels and
    /// Q-values); set `env.frameObserver` beforehand to see every emulator frame.
    public static func replay(_ record: EpisodeRecord, in env: AtariEnvironment,
                              onReset: () throws -> Void = {},
                              onStep: (Int, StepResult) throws -> Void = { _, _ in }) throws -> Outcome {
        try env.reset()
        try onReset()
        for (i, action) in record.actions.enumerated() {
            guard Int(action) < env.actionCount else {
                throw ReplayDivergence(description: "Step \(i + 1) uses action \(action) but \(record.game) has \(env.actionCount) actions under these settings; the file does not belong to this game.")
            }
            let r = env.step(Int(action))
            try onStep(i, r)
            if Float(r.reward) != record.rewards[i] {
                throw ReplayDivergence(description: "The replay diverged at step \(i + 1) of \(record.actions.count) (frame \(env.episodeFrames)): the recording has reward \(record.rewards[i]) but the emulator gave \(r.reward).")
            }
            if r.episodeEnded && i < record.actions.count - 1 {
                throw ReplayDivergence(description: "The replay diverged at step \(i + 1) of \(record.actions.count): the episode ended there, but the recording goes on.")
            }
        }
        let checksum = try env.arcade.stateChecksum()
        if env.episodeReturn != record.finalScore {
            throw ReplayDivergence(description: "The replay scored \(env.episodeReturn) but the recording says \(record.finalScore).")
        }
        if checksum != record.finalStateChecksum {
            throw ReplayDivergence(description: "The replay matched every reward but ended in a different emulator state (checksum \(checksum.prefix(12))… instead of \(record.finalStateChecksum.prefix(12))…).")
        }
        return Outcome(score: env.episodeReturn, steps: record.actions.count, frames: env.episodeFrames, finalStateChecksum: checksum)
    }
}
