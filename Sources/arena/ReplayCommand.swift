import ArgumentParser
import Environment
import Foundation
import Runner

/// `arena replay EPISODE_FILE`: re-runs an episode exactly and checks it; optionally writes every
/// emulator frame as a video (ffmpeg), a GIF (ffmpeg) or PPM images.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Re-run a recorded episode from its seed and actions, check it, and optionally export it.")

    @Argument(help: "An .episode file written by `arena train` or `arena evaluate`.")
    var episode: String
    @Option(help: "Write an MP4 video of every emulator frame at 60 fps (needs ffmpeg: apt-get install ffmpeg).")
    var video: String?
    @Option(help: "Write an animated GIF of every emulator frame (needs ffmpeg).")
    var gif: String?
    @Option(help: "Write every emulator frame as a PPM image into this folder.")
    var frames: String?
    @Flag(help: "Show the replay in a window (SDL2).")
    var window = false

    func validate() throws {
        if window {
            throw ValidationError("--window needs SDL2, and this build of arena was made without it; install libsdl2-dev (apt-get install libsdl2-dev) and rebuild, or use --video out.mp4 instead.")
        }
        if (video != nil || gif != nil) && !Self.hasFFmpeg() {
            throw ValidationError("--video and --gif need ffmpeg, which is not installed; install it with `apt-get install ffmpeg`, or use --frames DIR.")
        }
    }

    static func hasFFmpeg() -> Bool {
        (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":")
            .contains { FileManager.default.isExecutableFile(atPath: "\($0)/ffmpeg") }
    }

    func run() throws {
        let record = try EpisodeFile.read(from: URL(fileURLWithPath: episode))
        let env = try EpisodeReplayer.environment(for: record)
        let width = env.arcade.screenWidth, height = env.arcade.screenHeight
        var sinks: [FrameSink] = []
        if let video { sinks.append(try FFmpegSink(output: video, width: width, height: height, arguments: ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "18"])) }
        if let gif { sinks.append(try FFmpegSink(output: gif, width: width, height: height, arguments: ["-vf", "split[a][b];[a]palettegen[p];[b][p]paletteuse"])) }
        if let frames { sinks.append(try PPMSink(directory: frames, width: width, height: height)) }
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        var sinkError: Error?
        if !sinks.isEmpty {
            env.frameObserver = { arcade in
                rgb.withUnsafeMutableBufferPointer { arcade.rgb(into: $0.baseAddress.unsafelyUnwrapped) }
                for s in sinks where sinkError == nil {
                    do { try s.write(rgb) } catch { sinkError = error }
                }
            }
        }
        let outcome = try EpisodeReplayer.replay(record, in: env)
        for s in sinks { try s.finish() }
        if let sinkError { throw sinkError }
        print(String(format: "replayed %@ (%@, protocol %@, seed %llu): %d steps, %d frames, score %.1f; every reward, the score and the final emulator state match",
                     episode, record.game, record.protocolName, record.seed, outcome.steps, outcome.frames, outcome.score))
        if let video { print("video: \(video)") }
        if let gif { print("gif: \(gif)") }
        if let frames { print("frames: \(frames)/") }
    }
}

protocol FrameSink: AnyObject {
    func write(_ rgb: [UInt8]) throws
    func finish() throws
}

/// Feeds raw RGB frames to ffmpeg through a pipe; ffmpeg writes the file.
final class FFmpegSink: FrameSink {
    let process = Process()
    let pipe = Pipe()
    let output: String

    init(output: String, width: Int, height: Int, arguments: [String]) throws {
        self.output = output
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ffmpeg", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
                             "-s", "\(width)x\(height)", "-r", "60", "-i", "-"] + arguments + [output]
        process.standardInput = pipe
        try process.run()
    }

    func write(_ rgb: [UInt8]) throws {
        try pipe.fileHandleForWriting.write(contentsOf: rgb)
    }

    func finish() throws {
        try pipe.fileHandleForWriting.close()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ValidationError("ffmpeg could not write \(output) (exit \(process.terminationStatus)); check the path and the extension.")
        }
    }
}

/// Writes each frame as a binary PPM (P6) image: frame-000001.ppm, ...
final class PPMSink: FrameSink {
    let directory: URL
    let header: [UInt8]
    var index = 0

    init(directory: String, width: Int, height: Int) throws {
        self.directory = URL(fileURLWithPath: directory)
        try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
        header = Array("P6\n\(width) \(height)\n255\n".utf8)
    }

    func write(_ rgb: [UInt8]) throws {
        index += 1
        let url = directory.appendingPathComponent(String(format: "frame-%06d.ppm", index))
        try Data(header + rgb).write(to: url)
    }

    func finish() throws {}
}
