import Agent
import ArenaSupport
import Environment
import Foundation
import NeuralNet
import Testing
import TestSupport
@testable import Runner

/// Episodes short enough for tests: nature2015 with evaluation capped at 400 frames.
let shortProtocol: ProtocolSettings = {
    var s = EvaluationProtocol.nature2015.settings
    s.evalMaxEpisodeFrames = 400
    return s
}()

/// A random agent's short Pong episode, as an episode record.
func shortEpisode(seed: UInt64 = 5) throws -> EpisodeRecord {
    let env = try AtariEnvironment(game: "pong", emulator: shortProtocol.emulator,
                                   preprocessing: shortProtocol.evaluationPreprocessing, seed: seed, romDirectory: testROMDirectory)
    let agent = RandomAgent(actionCount: env.actionCount, seed: 9)
    let played = try Evaluator.play(agent: agent, env: env, seed: seed)
    return try EpisodeArchive.record(played, game: "pong", settings: shortProtocol, agent: "random")
}

/// Re-encodes a changed record so that its file checksum is valid again (a tool, not an accident).
func reencoded(_ r: EpisodeRecord) throws -> EpisodeRecord {
    let dir = try makeTemporaryDirectory("ep")
    defer { try? FileManager.default.removeItem(at: dir) }
    let url = dir.appendingPathComponent("x.episode")
    try EpisodeFile.write(r, to: url)
    return try EpisodeFile.read(from: url)
}

/// Whether libSDL2-2.0.so.0 loads, as `SDLWindowSink` loads it (on any architecture's library path).
let sdl2Loads: Bool = {
    guard let lib = dlopen("libSDL2-2.0.so.0", RTLD_NOW) else { return false }
    dlclose(lib)
    return true
}()

@Suite(.serialized) struct ReplayTests {
    @Test func aRecordedEpisodeReplaysExactly() throws {
        let record = try shortEpisode()
        // 400 frames in all: the no-op and FIRE starts, then agent steps of 4 frames until the cap.
        #expect(record.actions.count > 80 && record.actions.count <= 100)
        let env = try EpisodeReplayer.environment(for: record, romDirectory: testROMDirectory)
        let outcome = try EpisodeReplayer.replay(record, in: env)
        #expect(outcome.finalStateChecksum == record.finalStateChecksum && outcome.frames == 400)
    }

    @Test func aChangedRewardIsReportedWhereItDiverges() throws {
        var record = try shortEpisode()
        record.rewards[41] += 1
        record.finalScore += 1
        let changed = try reencoded(record)
        let env = try EpisodeReplayer.environment(for: changed, romDirectory: testROMDirectory)
        #expect { _ = try EpisodeReplayer.replay(changed, in: env) } throws: {
            "\($0)".contains("diverged at step 42 of \(changed.actions.count)")
        }
    }

    @Test func aChangedActionEndsInAnotherState() throws {
        var record = try shortEpisode()
        #expect(record.actions[20..<80].contains { $0 != 3 })
        for i in 20..<80 { record.actions[i] = 3 }  // LEFT throughout: the paddle ends elsewhere
        let changed = try reencoded(record)
        let env = try EpisodeReplayer.environment(for: changed, romDirectory: testROMDirectory)
        #expect { _ = try EpisodeReplayer.replay(changed, in: env) } throws: {
            let s = "\($0)"
            return s.contains("different emulator state") || s.contains("diverged")
        }
    }

    @Test func everyEmulatorFrameIsRenderedWithThePanel() throws {
        let record = try shortEpisode()
        let dir = try makeTemporaryDirectory("frames")
        defer { try? FileManager.default.removeItem(at: dir) }
        let env = try EpisodeReplayer.environment(for: record, romDirectory: testROMDirectory)
        var config = DQNConfig()
        config.replayCapacity = 1_000
        config.warmupSteps = config.batchSize
        let values = try DQNAgent(config: config, actionCount: env.actionCount, seed: 3)
        let width = 160 + PanelRenderer.panelWidth
        let sink = try PNGSink(directory: dir.path, width: width, height: 210)
        try EpisodeRenderer.render(record, env: env, values: values, panel: true, sinks: [sink])
        #expect(sink.count == 401)  // the reset frame and 400 played frames
        // Decode the PNG independently (Python's zlib and struct) back to RGB.
        let png = dir.appendingPathComponent("frame-000200.png")
        let decoded = try #require(try decodePNGWithPython(png), "the PNG did not decode")
        try #require(decoded.width == width && decoded.height == 210 && decoded.rgb.count == width * 210 * 3)
        let pixels = decoded.rgb
        // Deflated, not stored: the file is a small fraction of the raw RGB.
        let size = try Data(contentsOf: png).count
        #expect(size < width * 210 * 3 / 10, "\(size) bytes for a \(width)x210 frame")
        // The chosen action's bar is drawn in yellow somewhere in the panel.
        var yellow = 0
        for y in 60..<210 { for x in 160..<width {
            let o = (y * width + x) * 3
            if pixels[o] == 255 && pixels[o + 1] == 220 && pixels[o + 2] == 0 { yellow += 1 }
        } }
        #expect(yellow > 20)
    }

    @Test(.requires(commandExists("ffmpeg") && commandExists("ffprobe"), "needs ffmpeg and ffprobe on PATH (make test installs the ffmpeg package)"))
    func videoHasEveryFrameAt60fps() throws {
        let record = try shortEpisode()
        let dir = try makeTemporaryDirectory("video")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("e.mp4")
        let env = try EpisodeReplayer.environment(for: record, romDirectory: testROMDirectory)
        try EpisodeRenderer.render(record, env: env, values: nil, panel: false,
                                   sinks: [try FFmpegSink.video(url.path, width: 160, height: 210)])
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
                       "-show_entries", "stream=nb_read_frames,width,height,r_frame_rate", "-of", "csv=p=0", url.path]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(text.trimmingCharacters(in: .whitespacesAndNewlines) == "160,210,60/1,401")
    }

    @Test(.requires(sdl2Loads, "needs SDL2 (libSDL2-2.0.so.0, which the replay window loads; make test installs libsdl2-2.0-0)"))
    func windowShowsTheReplayWithSDLsDummyDriver() throws {
        setenv("SDL_VIDEODRIVER", "dummy", 1)
        setenv("ARENA_REPLAY_FPS", "0", 1)
        let record = try shortEpisode()
        let env = try EpisodeReplayer.environment(for: record, romDirectory: testROMDirectory)
        let window = try SDLWindowSink(title: "test", width: 160, height: 210)
        let outcome = try EpisodeRenderer.render(record, env: env, values: nil, panel: false, sinks: [window])
        #expect(outcome.steps == record.actions.count && !window.closed)
    }
}
