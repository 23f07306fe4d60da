import ArenaSupport
import Environment
import Foundation

/// The environment an evaluation episode was played in, stored in its episode file so that
/// `arena replay` rebuilds exactly that environment.
public struct EpisodeEnvironment: Codable, Equatable, Sendable {
    public var emulator: EmulatorSettings
    public var preprocessing: PreprocessingSettings
}

/// Turns evaluated episodes into `.episode` files and back into environments.
public enum EpisodeArchive {
    public static func url(in runDirectory: URL, phase: String, index: Int) -> URL {
        runDirectory.appendingPathComponent("episodes")
            .appendingPathComponent("\(phase)-episode-\(String(format: "%03d", index)).episode")
    }

    public static func record(_ e: EvaluatedEpisode, game: String, settings: ProtocolSettings, agent: String,
                              weightsSHA256: String? = nil) throws -> EpisodeRecord {
        let environment = EpisodeEnvironment(emulator: settings.emulator, preprocessing: settings.evaluationPreprocessing)
        return EpisodeRecord(game: game, protocolName: settings.name, protocolSettings: try JSONValue(encoding: environment),
                             aleVersion: ArcadeEnvironment.aleVersion, arenaVersion: ArenaVersion.string,
                             seed: e.environmentSeed, agent: agent, mode: settings.emulator.mode ?? 0,
                             difficulty: settings.emulator.difficulty ?? 0,
                             frameSkip: environment.preprocessing.frameSkip,
                             stickyActionProbability: Double(settings.emulator.stickyActionProbability),
                             fullActionSet: settings.emulator.fullActionSpace, finalScore: e.score,
                             finalStateChecksum: e.finalStateChecksum, weightsSHA256: weightsSHA256,
                             actions: e.actions, rewards: e.rewards)
    }

    public static func save(_ e: EvaluatedEpisode, game: String, settings: ProtocolSettings, agent: String,
                            weightsSHA256: String? = nil, to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try EpisodeFile.write(try record(e, game: game, settings: settings, agent: agent, weightsSHA256: weightsSHA256), to: url)
    }

    /// The settings stored in an episode file.
    public static func environment(of record: EpisodeRecord) throws -> EpisodeEnvironment {
        do {
            let data = try JSONEncoder().encode(record.protocolSettings)
            return try JSONDecoder().decode(EpisodeEnvironment.self, from: data)
        } catch {
            throw RunError("The episode file's environment settings cannot be read (\(error)); it was written by another version.")
        }
    }
}
