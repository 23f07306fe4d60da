import ArenaSupport
import Foundation
import Testing
import TestSupport
@testable import Runner

/// Real processes, real signals: `arena train` killed with SIGKILL at an arbitrary moment and
/// resumed must end with the same weights as an uninterrupted run; SIGTERM must checkpoint and
/// exit 0.
@Suite(.serialized) struct KillResumeTests {
    /// The arena executable built beside the test bundle.
    var arena: URL { CLITests.arena }

    func writeAgent(in dir: URL) throws -> URL {
        let (_, config) = tinyRun()
        let url = dir.appendingPathComponent("tiny.json")
        try JSONEncoder().encode(config).write(to: url)
        return url
    }

    func start(_ out: URL, agent: URL, threads: Int = 1, log: URL? = nil) throws -> Process {
        let p = Process()
        p.executableURL = arena
        p.arguments = ["train", "--game", "breakout", "--agent", agent.path, "--steps", "600", "--iteration-steps", "150",
                       "--eval-episodes", "1", "--final-eval-episodes", "1", "--seed", "3", "--out", out.path, "--plain"]
        var env = ProcessInfo.processInfo.environment
        env["OPENBLAS_NUM_THREADS"] = String(threads)
        env["ARENA_ROM_DIR"] = testROMDirectory.path
        p.environment = env
        if let log {
            guard FileManager.default.createFile(atPath: log.path, contents: nil) else {
                throw RunError("cannot create the log \(log.path)")
            }
            p.standardOutput = try FileHandle(forWritingTo: log)
        } else {
            p.standardOutput = FileHandle.nullDevice
        }
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    func runToEnd(_ out: URL, agent: URL, threads: Int = 1, log: URL? = nil) throws -> Int32 {
        let p = try start(out, agent: agent, threads: threads, log: log)
        p.waitUntilExit()
        return p.terminationStatus
    }

    /// Waits (at most 120 s) until the run has a complete checkpoint at `steps` or later.
    func waitForCheckpoint(_ run: URL, atLeast steps: Int, process: Process) throws {
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline && process.isRunning {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: run.appendingPathComponent("checkpoints").path)) ?? []
            if names.contains(where: { $0.hasPrefix("ckpt-") && !$0.hasSuffix(".tmp") && (Int($0.dropFirst(5)) ?? 0) >= steps }) { return }
            usleep(20_000)
        }
        throw RunError("no checkpoint at \(steps) steps appeared within 120 s")
    }

    func weights(_ out: URL) throws -> Data {
        try Data(contentsOf: out.appendingPathComponent("breakout/tiny/3/weights.safetensors"))
    }

    @Test(.enabled(if: CLITests.built, "needs the arena executable built beside the tests (make test builds it)"))
    func sigkillAtAnyMomentThenResumeEndsBitIdentical() throws {
        let root = try makeTemporaryDirectory("kill")
        defer { try? FileManager.default.removeItem(at: root) }
        let agent = try writeAgent(in: root)
        let reference = root.appendingPathComponent("reference"), killed = root.appendingPathComponent("killed")
        #expect(try runToEnd(reference, agent: agent) == 0)

        // Kill twice at seeded random moments after a checkpoint, then let it finish.
        var rng = SeededGenerator(seed: 11)
        for after in [150, 300] {
            let p = try start(killed, agent: agent)
            try waitForCheckpoint(killed.appendingPathComponent("breakout/tiny/3"), atLeast: after, process: p)
            usleep(UInt32(rng.next() % 1_500_000))
            if p.isRunning { kill(p.processIdentifier, SIGKILL) }
            p.waitUntilExit()
        }
        #expect(try runToEnd(killed, agent: agent) == 0)
        #expect(try weights(reference) == weights(killed))
        let summary = try JSONDecoder().decode(EvaluationSummary.self,
                                               from: Data(contentsOf: killed.appendingPathComponent("breakout/tiny/3/evaluation.json")))
        #expect(summary.agentSteps == 600)
    }

    /// With two threads the trainer runs its updates in two lanes; a run stopped and resumed
    /// ends bit-identical to an uninterrupted two-thread run, even when resumed with one thread
    /// (the run folder keeps the lane count it started with).
    @Test(.enabled(if: CLITests.built, "needs the arena executable built beside the tests (make test builds it)"))
    func twoLaneRunResumesBitIdentical() throws {
        let root = try makeTemporaryDirectory("lanes")
        defer { try? FileManager.default.removeItem(at: root) }
        let agent = try writeAgent(in: root)
        let reference = root.appendingPathComponent("reference"), stopped = root.appendingPathComponent("stopped")
        let log = root.appendingPathComponent("reference.log")
        #expect(try runToEnd(reference, agent: agent, threads: 2, log: log) == 0)
        #expect(try String(contentsOf: log, encoding: .utf8).contains("2 lanes"))

        let p = try start(stopped, agent: agent, threads: 2)
        try waitForCheckpoint(stopped.appendingPathComponent("breakout/tiny/3"), atLeast: 150, process: p)
        usleep(200_000)
        if p.isRunning { kill(p.processIdentifier, SIGTERM) }
        p.waitUntilExit()
        let resumeLog = root.appendingPathComponent("resume.log")
        #expect(try runToEnd(stopped, agent: agent, threads: 1, log: resumeLog) == 0)
        #expect(try String(contentsOf: resumeLog, encoding: .utf8).contains("2 lanes, OpenBLAS single-threaded) as when this run started"))
        #expect(try weights(reference) == weights(stopped))
    }

    @Test(.enabled(if: CLITests.built, "needs the arena executable built beside the tests (make test builds it)"))
    func sigtermWritesACheckpointAndExitsZero() throws {
        let root = try makeTemporaryDirectory("term")
        defer { try? FileManager.default.removeItem(at: root) }
        let agent = try writeAgent(in: root)
        let out = root.appendingPathComponent("run")
        let p = try start(out, agent: agent)
        let run = out.appendingPathComponent("breakout/tiny/3")
        try waitForCheckpoint(run, atLeast: 150, process: p)
        usleep(300_000)
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        #expect(p.terminationReason == .exit && p.terminationStatus == 0)
        let store = CheckpointStore(directory: run.appendingPathComponent("checkpoints"))
        let latest = try #require(try store.latestValid())
        #expect(latest.agentSteps > 150)
        #expect(try runToEnd(out, agent: agent) == 0)
    }
}
