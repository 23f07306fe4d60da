import Foundation
import Testing
import NeuralNet
import Runner
import TestSupport

extension Trait where Self == RequiresComponent {
    /// Needs the arena executable built beside the test bundle (see `RequiresComponent`).
    static var arenaExecutable: Self { .requires(CLITests.built, CLITests.needsArena) }
}

/// The arena executable, run as a user runs it: bad input gets one sentence and a non-zero exit,
/// never a crash or a stack trace.
@Suite struct CLITests {
    static let arena = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("arena")
    static let built = FileManager.default.isExecutableFile(atPath: arena.path)
    /// The gate of every test that runs the arena executable (skipped without it; under CI=true failed).
    static let needsArena = "needs the arena executable built beside the tests at \(arena.path) (make test builds it)"

    func run(_ args: [String], env extra: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = Self.arena
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["ARENA_ROM_DIR"] = testROMDirectory.path
        for (k, v) in extra { env[k] = v }
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    /// A Nature network for Pong's 6 actions, freshly initialised (seed 4), as `w.safetensors` in `dir`.
    func untrainedPongWeights(in dir: URL) throws -> String {
        let weights = dir.appendingPathComponent("w.safetensors").path
        let r = try run(["weights", "init", "--actions", "6", "--seed", "4", "--out", weights])
        guard r.status == 0 else { throw RunError("arena weights init failed: \(r.err)") }
        return weights
    }

    @Test(.arenaExecutable,
          arguments: [
            (["play", "--game", "pogn"], "Did you mean pong?"),
            (["play", "--game", "pong", "--mode", "99"], "Mode 99 is not available for pong"),
            (["play", "--game", "pong", "--difficulty", "7"], "Difficulty 7 is not available for pong"),
            (["play", "--game", "pong", "--protocol", "dopamine"], "'dopamine' is invalid for '--protocol <protocol>'. Please provide one of 'nature2015' and 'machado2018'"),
            (["train", "--game", "pong", "--threads", "0"], "--threads must be between 1 and 256, got 0"),
            (["train", "--game", "pong", "--threads=-2"], "--threads must be between 1 and 256, got -2"),
            (["train", "--game", "pong", "--threads", "1000"], "--threads must be between 1 and 256, got 1000"),
            (["train", "--game", "pong", "--checkpoint-minutes=-1"], "--checkpoint-minutes must be 0 (only at iteration ends) or a positive number of minutes, got -1.0"),
            (["train", "--game", "pong", "--set", "precision=fp8"], "Unknown precision 'fp8' at 'precision'. Use one of: fp32, bf16."),
            (["train", "--game", "pong", "--protocol-set", "fireOnLifeloss=false"], "Unknown preprocessing setting 'fireOnLifeloss'"),
            (["train", "--game", "pong", "--protocol-set", "noopMax=-1"], "noopMax must be 0 or more, got -1."),
            (["evaluate", "--agent", "random", "--game", "pong", "--protocol-set", "lives=3"], "Unknown preprocessing setting 'lives'"),
            (["bench", "agent", "--precision", "fp16"], "'fp16' is invalid for '--precision <precision>'. Please provide one of 'fp32' and 'bf16'"),
            (["bench", "agent", "--lanes", "0"], "--lanes must be between 1 and 32"),
            (["train", "--game", "pogn"], "Did you mean pong?"),
            (["train", "--game", "pong", "--agent", "dqn-natur"], "Unknown agent 'dqn-natur'"),
            (["evaluate", "--agent", "random"], "--agent random needs --game"),
            (["evaluate", "--agent", "dqn-nature", "--game", "pong"], "--agent takes random"),
            (["play", "--game", "pong", "--episods", "3"], "Unknown option '--episods'"),
            (["play", "--rom", "/etc/hostname"], "is not a ROM that ALE 0.12.1 supports"),
            (["replay", "/etc/hostname"], "is not a usable episode file"),
            (["evaluate", "--run", "/tmp"], "is not a run folder"),
            (["evaluate", "--run", "/tmp", "--epsilon", "1.5"], "--epsilon must be between 0 and 1, got 1.5"),
            (["evaluate", "--run", "/tmp", "--max-episode-frames", "0"], "--max-episode-frames must be at least 1"),
            (["train", "--game", "pong", "--agent", "missing.json"], "does not exist"),
            (["weights", "convert", "w.safetensors", "--dtype", "f8", "--out", "x.safetensors"], "--dtype must be f32 or f16"),
            (["weights", "convert", "/etc/hostname", "--dtype", "f16", "--out", "/tmp/x.safetensors"], "Cannot use the weights file /etc/hostname"),
            (["sweep", "status", "--out", "/no-such-results-folder"], "/no-such-results-folder does not exist"),
            (["sweep", "status", "--runs", "--wait"], "--runs lists run folders; it takes neither --sweep nor --wait."),
          ])
    func badInputIsOneSentenceAndANonZeroExit(args: [String], expected: String) throws {
        let r = try run(args)
        #expect(r.status != 0)
        #expect(r.err.contains(expected), "stderr was: \(r.err)")
        #expect(!r.err.contains("Fatal error") && !r.err.contains("Backtrace"))
    }

    /// Runs started without a sweep (by hand or by scripts/learning-runs.sh) are what
    /// `arena sweep status` shows when their results folder holds no sweep.
    @Test(.arenaExecutable)
    func sweepStatusListsRunFoldersWhenThereIsNoSweep() throws {
        let dir = try makeTemporaryDirectory("runs-status-cli")
        defer { try? FileManager.default.removeItem(at: dir) }
        let empty = try run(["sweep", "status", "--out", dir.path])
        #expect(empty.status != 0 && empty.err.contains("No sweep and no run folder under \(dir.path)"), "stderr: \(empty.err)")
        let folder = dir.appendingPathComponent("breakout-10m/breakout/dqn-x/1")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data(#"{"game":"breakout","agent":"dqn-x","seed":1,"budget_agent_steps":2500000}"#.utf8)
            .write(to: folder.appendingPathComponent("config.json"))
        try Data(#"{"kind":"iteration","iteration":0,"agent_steps":50000,"eval_mean_return":11.0}"#.utf8)
            .write(to: folder.appendingPathComponent("metrics.jsonl"))
        for args in [["sweep", "status", "--out", dir.path], ["sweep", "status", "--runs", "--out", dir.path]] {
            let r = try run(args)
            #expect(r.status == 0, "stderr: \(r.err)")
            #expect(r.out.contains("1 run folder(s): 0 finished, 0 running, 1 stopped"), "stdout: \(r.out)")
            #expect(r.out.contains("breakout\tdqn-x\tseed 1\tstopped\t50.0k/2.50M agent steps, last evaluation 11.0 at 50.0k"))
            #expect(r.out.contains("no sweep under") == (args.count == 4))
        }
    }

    @Test(.arenaExecutable)
    func aMissingROMFolderNamesTheInstallCommand() throws {
        let empty = try makeTemporaryDirectory("noroms")
        defer { try? FileManager.default.removeItem(at: empty) }
        let r = try run(["play", "--game", "pong"], env: ["ARENA_ROM_DIR": empty.path])
        #expect(r.status != 0 && r.err.contains("make setup"))
    }

    @Test(.arenaExecutable)
    func playPrintsScoresWithHumanNormalizedScores() throws {
        let r = try run(["play", "--game", "pong", "--policy", "random", "--episodes", "1", "--protocol", "nature2015", "--seed", "1", "--json"])
        #expect(r.status == 0)
        let line = try #require(r.out.split(separator: "\n").first)
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let score = try #require(obj["score"] as? Double)
        let hns = try #require(obj["human_normalized"] as? Double)
        #expect(abs(hns - (score + 20.7) / (14.6 + 20.7)) < 1e-9)  // Pong: random -20.7, human 14.6
    }

    /// A dueling network converted to F16 is about half the size and gives nearly the same Q-values.
    @Test(.arenaExecutable)
    func weightsConvertToHalfPrecision() throws {
        let dir = try makeTemporaryDirectory("convert")
        defer { try? FileManager.default.removeItem(at: dir) }
        let full = dir.appendingPathComponent("f32.safetensors").path, half = dir.appendingPathComponent("f16.safetensors").path
        #expect(try run(["weights", "init", "--actions", "6", "--dueling", "--seed", "4", "--out", full]).status == 0)
        let converted = try run(["weights", "convert", full, "--dtype", "f16", "--out", half])
        #expect(converted.status == 0, "stderr: \(converted.err)")
        let fullSize = try #require(try FileManager.default.attributesOfItem(atPath: full)[.size] as? Int)
        let halfSize = try #require(try FileManager.default.attributesOfItem(atPath: half)[.size] as? Int)
        #expect(halfSize < fullSize / 2 + 4096, "F16 file is \(halfSize) bytes, F32 \(fullSize)")
        let obs = dir.appendingPathComponent("obs.npy")
        try Data(NPY.encodeUInt8((0..<(4 * 84 * 84)).map { UInt8($0 % 251) }, shape: [4, 84, 84])).write(to: obs)
        func q(_ path: String) throws -> [Double] {
            let r = try run(["weights", "q", path, "--observation", obs.path])
            #expect(r.status == 0, "stderr: \(r.err)")
            let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
            return try #require(obj["q"] as? [Double])
        }
        let a = try q(full), b = try q(half)
        #expect(a.count == 6 && b.count == 6)
        #expect(zip(a, b).allSatisfy { abs($0 - $1) < 1e-2 } && a != b, "f32 \(a) vs f16 \(b)")
        let same = try run(["weights", "convert", full, "--dtype", "f16", "--out", full])
        #expect(same.status != 0 && same.err.contains("must name a new file"))
    }

    /// `--epsilon` and `--max-episode-frames` change the evaluation, and the summary and the
    /// episode files say so; an episode played under a changed cap still replays exactly.
    @Test(.arenaExecutable)
    func evaluationOverridesAreNamedAndReplayable() throws {
        let dir = try makeTemporaryDirectory("evaluate-overrides")
        defer { try? FileManager.default.removeItem(at: dir) }
        let weights = try untrainedPongWeights(in: dir)
        func evaluate(_ extra: [String]) throws -> EvaluationSummary {
            let r = try run(["evaluate", "--weights", weights, "--game", "pong", "--episodes", "1", "--seed", "3", "--json"] + extra)
            #expect(r.status == 0, "stderr: \(r.err)")
            return try JSONDecoder().decode(EvaluationSummary.self, from: Data(r.out.utf8))
        }
        let changed = try evaluate(["--epsilon", "1", "--max-episode-frames", "400", "--episodes-dir", dir.path])
        #expect(changed.protocol == "nature2015, eval epsilon 1.0, cap 400 frames")
        #expect(changed.evalEpsilon == 1 && changed.maxEpisodeFrames == 400)
        #expect(changed.episodes.count == 1 && changed.episodes[0].frames <= 400 && changed.episodes[0].length <= 100)
        let file = try #require(try FileManager.default.contentsOfDirectory(atPath: dir.path).first { $0.hasSuffix(".episode") })
        let replay = try run(["replay", dir.appendingPathComponent(file).path])
        #expect(replay.status == 0, "stderr: \(replay.err)")
        #expect(replay.out.contains("final emulator state match"))

        // The protocol's own values are no change: the protocol keeps its name.
        let same = try evaluate(["--epsilon", "0.05", "--max-episode-frames", "18000"])
        #expect(same.protocol == "nature2015" && same.evalEpsilon == 0.05 && same.maxEpisodeFrames == 18_000)
        #expect(same.episodes[0].frames > 400)
    }

    /// `--value-check` on an untrained network played at random to game over: every state is
    /// compared, the realised returns are those of a losing game, and values that know nothing
    /// do not correlate with them (the shipped agent's do: ShippedAgentTests).
    @Test(.arenaExecutable)
    func valueCheckComparesEveryStateOfAGameOver() throws {
        let dir = try makeTemporaryDirectory("value-check")
        defer { try? FileManager.default.removeItem(at: dir) }
        let weights = try untrainedPongWeights(in: dir)
        let args = ["evaluate", "--weights", weights, "--game", "pong", "--episodes", "1", "--seed", "4",
                    "--epsilon", "1", "--max-episode-frames", "108000", "--value-check"]
        let r = try run(args + ["--json"])
        #expect(r.status == 0, "stderr: \(r.err)")
        let summary = try JSONDecoder().decode(EvaluationSummary.self, from: Data(r.out.utf8))
        let check = try #require(summary.valueCheck)
        let episode = try #require(summary.episodes.first)
        #expect(episode.frames < 108_000 && episode.score < 0)
        #expect(check.states == episode.length && check.excludedStates == 0 && check.episodes.count == 1)
        #expect(check.realisedMean < -1, "a lost game's discounted returns, got \(check.realisedMean)")
        #expect(abs(check.predictedMean) < 0.2 && check.bias > 1)
        #expect(abs(try #require(check.correlation)) < 0.2)
        let text = try run(args)
        #expect(text.status == 0 && text.out.contains("value check (gamma 0.99, \(episode.length) states)"))
        #expect(text.out.contains(String(format: "Q(s,a) %.3f against realised %.3f over %d states",
                                         check.episodes[0].predictedMean, check.episodes[0].realisedMean, episode.length)))
        // Without the flag there is no check and no extra field.
        let plain = try run(Array(args.dropLast()) + ["--json"])
        #expect(plain.status == 0 && !plain.out.contains("value_check"))
    }

    @Test(.arenaExecutable)
    func liveReplayFromWeightsSavesAnEpisodeThatReplaysWithThePanel() throws {
        let dir = try makeTemporaryDirectory("live")
        defer { try? FileManager.default.removeItem(at: dir) }
        let weights = try untrainedPongWeights(in: dir)
        let episode = dir.appendingPathComponent("live.episode").path
        let live = try run(["replay", "--weights", weights, "--game", "pong", "--seed", "2", "--save", episode])
        #expect(live.status == 0, "stderr: \(live.err)")
        #expect(live.out.contains("episode saved to \(episode)") && live.out.contains("final emulator state match"))
        let frames = dir.appendingPathComponent("frames").path
        let again = try run(["replay", episode, "--weights", weights, "--panel", "--frames", frames])
        #expect(again.status == 0, "stderr: \(again.err)")
        let pngs = try FileManager.default.contentsOfDirectory(atPath: frames).filter { $0.hasSuffix(".png") }
        #expect(pngs.count > 1000)
    }
}
