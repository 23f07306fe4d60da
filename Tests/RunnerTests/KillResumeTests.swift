import ArenaSupport
import Foundation
import Testing
import TestSupport
@testable import Runner

/// Real processes, real signals: `arena train` killed with SIGKILL at an arbitrary moment and
/// resumed must end with the same weights as an uninterrupted run; SIGTERM must checkpoint and
/// exit 0.
///
/// None of this may pass by accident: every signal must reach a run that is still working (the
/// test fails if the run had already finished, and a SIGKILLed run must have died of that
/// signal), and every restart must say it resumed from the checkpoint that was on disk when its
/// predecessor died ("Resuming ... from checkpoint at N agent steps", N > 0). Kill moments are
/// chosen in the child's CPU time, measured against the CPU time an iteration takes in the
/// reference run, so they fall at the same point of the work however loaded the machine is.
@Suite(.serialized) struct KillResumeTests {
    /// The arena executable built beside the test bundle.
    var arena: URL { CLITests.arena }

    func writeAgent(in dir: URL) throws -> URL {
        let (_, config) = tinyRun()
        let url = dir.appendingPathComponent("tiny.json")
        try JSONEncoder().encode(config).write(to: url)
        return url
    }

    /// Starts `arena train` (600 agent steps in 4 iterations of 150) with its output in `log`.
    func start(_ out: URL, agent: URL, threads: Int = 1, log: URL) throws -> Process {
        let p = Process()
        p.executableURL = arena
        p.arguments = ["train", "--game", "breakout", "--agent", agent.path, "--steps", "600", "--iteration-steps", "150",
                       "--eval-episodes", "1", "--final-eval-episodes", "1", "--seed", "3", "--out", out.path, "--plain"]
        var env = ProcessInfo.processInfo.environment
        env["OPENBLAS_NUM_THREADS"] = String(threads)
        env["ARENA_ROM_DIR"] = testROMDirectory.path
        p.environment = env
        guard FileManager.default.createFile(atPath: log.path, contents: nil) else {
            throw RunError("cannot create the log \(log.path)")
        }
        let handle = try FileHandle(forWritingTo: log)
        p.standardOutput = handle
        p.standardError = handle
        // As from a shell: with SIGTERM blocked (the mask of a test thread) the run would never
        // see the signal and would pass the SIGTERM tests by simply finishing.
        try runWithSignalsUnblocked(p)
        #expect(isSignalBlocked(SIGTERM, inProcess: p.processIdentifier) != true, "arena train started with SIGTERM blocked")
        return p
    }

    func runToEnd(_ out: URL, agent: URL, threads: Int = 1, log: URL) throws -> Int32 {
        let p = try start(out, agent: agent, threads: threads, log: log)
        p.waitUntilExit()
        return p.terminationStatus
    }

    func text(_ log: URL) -> String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    func run(_ out: URL) -> URL { out.appendingPathComponent("breakout/tiny/3") }

    /// The agent steps of the complete checkpoints in `run` (a folder still being written ends in .tmp).
    func checkpointSteps(_ run: URL) -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: run.appendingPathComponent("checkpoints").path)) ?? []
        return names.filter { $0.hasPrefix("ckpt-") && !$0.hasSuffix(".tmp") }.compactMap { Int($0.dropFirst(5)) }.sorted()
    }

    /// Waits (at most 120 s) until the run has a complete checkpoint at `steps` or later; returns
    /// the CPU seconds the process had used when it was seen. Fails if the process exits first.
    @discardableResult
    func waitForCheckpoint(_ run: URL, atLeast steps: Int, process: Process, log: URL) throws -> Double {
        var cpu = 0.0
        try waitUntil("a checkpoint at \(steps) agent steps or later in \(run.path)", timeout: 120) {
            guard let now = cpuSeconds(ofProcess: process.processIdentifier), process.isRunning else {
                throw RunError("arena train exited before writing a checkpoint at \(steps) agent steps; its output:\n\(text(log))")
            }
            cpu = now
            return checkpointSteps(run).contains { $0 >= steps }
        }
        return cpu
    }

    /// Waits (at most 120 s) until the process has used `seconds` of CPU time. Fails if it exits first.
    func waitForCPU(_ process: Process, _ seconds: Double, log: URL) throws {
        try waitUntil("arena train reaching \(seconds) CPU seconds", timeout: 120) {
            guard let now = cpuSeconds(ofProcess: process.processIdentifier), process.isRunning else {
                throw RunError("arena train exited before the moment chosen to signal it; its output:\n\(text(log))")
            }
            return now >= seconds
        }
    }

    /// Runs the uninterrupted reference to its end, watching it: returns the smallest CPU time
    /// one iteration took (between two checkpoints appearing).
    func runReference(_ out: URL, agent: URL, threads: Int = 1, log: URL) throws -> Double {
        let p = try start(out, agent: agent, threads: threads, log: log)
        var seenAt: [Int: Double] = [:]
        try waitUntil("the reference run ending", timeout: 300) {
            guard let cpu = cpuSeconds(ofProcess: p.processIdentifier), p.isRunning else { return true }
            for s in checkpointSteps(run(out)) where seenAt[s] == nil { seenAt[s] = cpu }
            return false
        }
        p.waitUntilExit()
        #expect(p.terminationReason == .exit && p.terminationStatus == 0, "reference run output:\n\(text(log))")
        let times = [150, 300, 450, 600].compactMap { seenAt[$0] }
        try #require(times.count == 4, "the reference run's checkpoints were seen at \(seenAt); output:\n\(text(log))")
        let iteration = zip(times.dropFirst(), times).map { $0 - $1 }.min() ?? 0
        try #require(iteration > 0, "an iteration of the reference run took no measurable CPU time (\(seenAt))")
        return iteration
    }

    /// Sends `signal` to the child, which must still be running (else the test would prove
    /// nothing), and waits for it to end.
    func signalWhileRunning(_ p: Process, _ signal: Int32, log: URL) throws {
        try #require(p.isRunning, "arena train had already exited before signal \(signal) was sent; its output:\n\(text(log))")
        #expect(kill(p.processIdentifier, signal) == 0)
        p.waitUntilExit()
    }

    /// The agent steps of the newest complete checkpoint in `run`, which must exist and be > 0.
    func latestCheckpoint(_ run: URL) throws -> Int {
        let latest = try #require(try CheckpointStore(directory: run.appendingPathComponent("checkpoints")).latestValid(),
                                  "no complete checkpoint in \(run.path)")
        #expect(latest.agentSteps > 0)
        return latest.agentSteps
    }

    /// The log says the run resumed from the checkpoint at `steps` agent steps.
    func expectResumed(_ log: URL, run: URL, from steps: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        let line = "Resuming \(run.path) from checkpoint at \(steps) agent steps."
        #expect(text(log).contains(line), "expected \"\(line)\" in the output:\n\(text(log))", sourceLocation: sourceLocation)
    }

    func weights(_ out: URL) throws -> Data {
        try Data(contentsOf: run(out).appendingPathComponent("weights.safetensors"))
    }

    @Test(.arenaExecutable)
    func sigkillAtAnyMomentThenResumeEndsBitIdentical() throws {
        let root = try makeTemporaryDirectory("kill")
        defer { try? FileManager.default.removeItem(at: root) }
        let agent = try writeAgent(in: root)
        let reference = root.appendingPathComponent("reference"), killed = root.appendingPathComponent("killed")
        let iterationCPU = try runReference(reference, agent: agent, log: root.appendingPathComponent("reference.log"))

        // Kill twice at seeded random moments, each within one iteration after a checkpoint
        // (so possibly while the next one is written), then let it finish. Every start after
        // the first must resume from the checkpoint its predecessor left.
        var rng = SeededGenerator(seed: 11)
        var resumeFrom: Int? = nil
        for (i, after) in [150, 300].enumerated() {
            let log = root.appendingPathComponent("killed-\(i).log")
            let p = try start(killed, agent: agent, log: log)
            let cpuAtCheckpoint = try waitForCheckpoint(run(killed), atLeast: after, process: p, log: log)
            try waitForCPU(p, cpuAtCheckpoint + Double(rng.next() % 1000) / 1000 * iterationCPU, log: log)
            try signalWhileRunning(p, SIGKILL, log: log)
            #expect(p.terminationReason == .uncaughtSignal && p.terminationStatus == SIGKILL,
                    "the run must die of the SIGKILL, not finish on its own; output:\n\(text(log))")
            if let resumeFrom { expectResumed(log, run: run(killed), from: resumeFrom) }
            let latest = try latestCheckpoint(run(killed))
            #expect(latest >= after)
            resumeFrom = latest
        }
        let last = root.appendingPathComponent("killed-end.log")
        #expect(try runToEnd(killed, agent: agent, log: last) == 0, "output:\n\(text(last))")
        expectResumed(last, run: run(killed), from: try #require(resumeFrom))
        #expect(try weights(reference) == weights(killed))
        let summary = try JSONDecoder().decode(EvaluationSummary.self,
                                               from: Data(contentsOf: run(killed).appendingPathComponent("evaluation.json")))
        #expect(summary.agentSteps == 600)
    }

    /// With two threads the trainer runs its updates in two lanes; a run stopped and resumed
    /// ends bit-identical to an uninterrupted two-thread run, even when resumed with one thread
    /// (the run folder keeps the lane count it started with).
    @Test(.arenaExecutable)
    func twoLaneRunResumesBitIdentical() throws {
        let root = try makeTemporaryDirectory("lanes")
        defer { try? FileManager.default.removeItem(at: root) }
        let agent = try writeAgent(in: root)
        let reference = root.appendingPathComponent("reference"), stopped = root.appendingPathComponent("stopped")
        let log = root.appendingPathComponent("reference.log")
        let iterationCPU = try runReference(reference, agent: agent, threads: 2, log: log)
        #expect(text(log).contains("Agent threads: 2."))  // DQN: two update lanes

        let stopLog = root.appendingPathComponent("stopped.log")
        let p = try start(stopped, agent: agent, threads: 2, log: stopLog)
        let cpuAtCheckpoint = try waitForCheckpoint(run(stopped), atLeast: 150, process: p, log: stopLog)
        try waitForCPU(p, cpuAtCheckpoint + 0.3 * iterationCPU, log: stopLog)
        try signalWhileRunning(p, SIGTERM, log: stopLog)
        #expect(p.terminationReason == .exit && p.terminationStatus == 0, "output:\n\(text(stopLog))")
        let at = try latestCheckpoint(run(stopped))
        #expect(text(stopLog).contains("stopped at \(at) agent steps; checkpoint written."), "output:\n\(text(stopLog))")

        let resumeLog = root.appendingPathComponent("resume.log")
        #expect(try runToEnd(stopped, agent: agent, threads: 1, log: resumeLog) == 0, "output:\n\(text(resumeLog))")
        expectResumed(resumeLog, run: run(stopped), from: at)
        #expect(text(resumeLog).contains("Agent threads: 2 as when this run started"), "output:\n\(text(resumeLog))")
        #expect(try weights(reference) == weights(stopped))
    }

    @Test(.arenaExecutable)
    func sigtermWritesACheckpointAndExitsZero() throws {
        let root = try makeTemporaryDirectory("term")
        defer { try? FileManager.default.removeItem(at: root) }
        let agent = try writeAgent(in: root)
        let out = root.appendingPathComponent("run")
        let log = root.appendingPathComponent("term.log")
        let p = try start(out, agent: agent, log: log)
        // Signal halfway through the second iteration, in CPU time: half of what the first
        // iteration (with start-up) took.
        let cpuAtCheckpoint = try waitForCheckpoint(run(out), atLeast: 150, process: p, log: log)
        try waitForCPU(p, cpuAtCheckpoint * 1.5, log: log)
        try signalWhileRunning(p, SIGTERM, log: log)
        #expect(p.terminationReason == .exit && p.terminationStatus == 0, "output:\n\(text(log))")
        let at = try latestCheckpoint(run(out))
        #expect(at > 150, "SIGTERM must write a checkpoint where the run stopped, not leave the one at 150")
        #expect(text(log).contains("stopped at \(at) agent steps; checkpoint written."), "output:\n\(text(log))")
        let resumeLog = root.appendingPathComponent("resume.log")
        #expect(try runToEnd(out, agent: agent, log: resumeLog) == 0, "output:\n\(text(resumeLog))")
        expectResumed(resumeLog, run: run(out), from: at)
    }
}
