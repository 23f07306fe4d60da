import ArenaSupport
import ArgumentParser
import Environment
import Foundation

/// `arena bench env`: environment throughput against a C++ loop over the same libale, measured
/// in the same run. A benchmark, not a test: it reports, it asserts nothing.
struct BenchEnvCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "env",
        abstract: "Measure environment speed: raw Swift vs C++ frames/s, preprocessed and vector steps/s.")

    @Option(help: "Emulator frames per raw measurement.")
    var frames: Int = 100_000
    @Option(help: "Agent steps for the preprocessed and vector measurements.")
    var steps: Int = 20_000
    @Option(help: "Repetitions of each measurement (the median is reported).")
    var repeats: Int = 3
    @Option(help: "Environments in the vector environment.")
    var envs: Int = 8
    @Option(help: "Worker threads of the vector environment.")
    var threads: Int = 2
    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        guard frames >= 1000, steps >= 100, repeats >= 1, envs >= 1, threads >= 1 else {
            throw ValidationError("--frames must be at least 1000, --steps at least 100, and --repeats, --envs, --threads at least 1.")
        }
    }

    func run() throws {
        let cpu = machineCPU()
        let reference = try referenceBinary()
        var perGame: [[String: Any]] = []
        var swiftTotal = 0.0, cppTotal = 0.0
        for game in ["pong", "breakout"] {
            let rom = try RomLocator.romURL(for: game)
            var swiftRates: [Double] = [], cppRates: [Double] = []
            for r in 0..<repeats {  // interleaved, so drift in machine load hits both alike
                cppRates.append(try runReference(reference, rom: rom, seed: r + 1))
                swiftRates.append(try rawSwift(rom: rom, seed: UInt64(r + 1)))
            }
            let s = median(swiftRates), c = median(cppRates)
            swiftTotal += s; cppTotal += c
            perGame.append(["game": game, "swift_frames_per_s": s, "cpp_frames_per_s": c, "ratio": s / c])
            if !json { print(String(format: "raw %@: Swift %.0f frames/s, C++ %.0f frames/s, ratio %.3f", game, s, c, s / c)) }
        }
        let swiftMean = swiftTotal / 2, cppMean = cppTotal / 2
        let pre = median(try (0..<repeats).map { try preprocessed(seed: UInt64($0 + 1)) })
        if !json { print(String(format: "preprocessed (nature2015, pong, 4-frame stack): %.0f agent steps/s", pre)) }
        let vec = median(try (0..<repeats).map { try vector(seed: UInt64($0 + 1)) })
        if !json { print(String(format: "vector (%d envs, %d threads, pong): %.0f agent steps/s", envs, threads, vec)) }
        let obj: [String: Any] = [
            "date": ISO8601DateFormatter().string(from: Date()), "cpu": cpu, "cores": ProcessInfo.processInfo.activeProcessorCount,
            "ale_version": ArcadeEnvironment.aleVersion, "frames": frames, "steps": steps, "repeats": repeats,
            "swift_frames_per_s": swiftMean, "cpp_frames_per_s": cppMean, "ratio": swiftMean / cppMean,
            "per_game": perGame, "preprocessed_steps_per_s": pre, "vector_steps_per_s": vec,
            "vector_envs": envs, "vector_threads": threads,
        ]
        if json {
            let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .prettyPrinted])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(String(format: "overall: Swift/C++ frames/s ratio %.3f on %@", swiftMean / cppMean, cpu))
        }
    }

    /// The same loop as Sources/ALEReferenceBench/main.cpp, through the Swift environment.
    func rawSwift(rom: URL, seed: UInt64) throws -> Double {
        let env = try ArcadeEnvironment(romURL: rom, settings: EmulatorSettings(stickyActionProbability: 0.25), seed: 123)
        let ids = env.minimalActionSet
        let n = UInt64(ids.count)
        var state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 1
        var total = 0
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<frames {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            total &+= env.actALE(ids[Int(state % n)])
            if env.isGameOver { try env.reset() }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        _ = total
        return Double(frames) / seconds
    }

    func preprocessed(seed: UInt64) throws -> Double {
        let settings = EvaluationProtocol.nature2015.settings
        let env = try AtariEnvironment(game: "pong", emulator: settings.emulator, preprocessing: settings.preprocessing, seed: seed)
        var stack = FrameStack(depth: 4, frameSize: env.frameSize)
        var obs = [UInt8](repeating: 0, count: 4 * env.frameSize)
        var rng = SeededGenerator(seed: seed, stream: "policy")
        try env.reset()
        env.withFrame { stack.reset(with: $0.baseAddress.unsafelyUnwrapped) }
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<steps {
            let r = env.step(Int(rng.next() % UInt64(env.actionCount)))
            if r.episodeEnded {
                try env.reset()
                env.withFrame { stack.reset(with: $0.baseAddress.unsafelyUnwrapped) }
            } else {
                env.withFrame { stack.push($0.baseAddress.unsafelyUnwrapped) }
            }
            obs.withUnsafeMutableBufferPointer { stack.write(into: $0.baseAddress.unsafelyUnwrapped) }
        }
        return Double(steps) / (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }

    func vector(seed: UInt64) throws -> Double {
        let settings = EvaluationProtocol.nature2015.settings
        let venv = try VectorEnvironment(game: "pong", count: envs, emulator: settings.emulator,
                                         preprocessing: settings.preprocessing, seed: seed, threads: threads)
        try venv.reset()
        var rng = SeededGenerator(seed: seed, stream: "policy")
        var actions = [Int](repeating: 0, count: envs)
        let rounds = max(1, steps / envs)
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<rounds {
            for i in 0..<envs { actions[i] = Int(rng.next() % UInt64(venv.actionCount)) }
            try venv.step(actions)
        }
        return Double(rounds * envs) / (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }

    func referenceBinary() throws -> URL {
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let url = exe.deletingLastPathComponent().appendingPathComponent("ale-reference-bench")
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            throw ValidationError("The C++ reference loop is not built next to arena (\(url.path)). Build it with `swift build -c release --product ale-reference-bench`, or run `make bench`.")
        }
        return url
    }

    func runReference(_ binary: URL, rom: URL, seed: Int) throws -> Double {
        let p = Process()
        p.executableURL = binary
        p.arguments = [rom.path, String(frames), String(seed)]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0,
              let obj = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let rate = obj["frames_per_s"] as? Double else {
            throw ValidationError("The C++ reference loop failed (exit \(p.terminationStatus)).")
        }
        return rate
    }
}

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks (reported, never asserted): env, agent.",
        subcommands: [BenchEnvCommand.self, BenchAgentCommand.self])
}
