import Foundation
import Testing
import TestSupport
@testable import Runner

/// The test cluster of scripts/slurm-test-cluster.sh: SLURM_CONF from the environment, else its
/// default config path. Reachable when `sinfo` answers within 5 s.
enum TestCluster {
    static let environment: [String: String] = {
        if let c = ProcessInfo.processInfo.environment["SLURM_CONF"] { return ["SLURM_CONF": c] }
        let c = (ProcessInfo.processInfo.environment["ARENA_SLURM_DIR"] ?? "/tmp/arena-slurm") + "/etc/slurm.conf"
        return FileManager.default.fileExists(atPath: c) ? ["SLURM_CONF": c] : [:]
    }()

    static let isReachable: Bool = {
        guard let out = try? SystemCommandRunner(environment: environment).run(["sinfo", "-h", "-o", "%T"], timeout: 5) else { return false }
        return out.status == 0 && ["idle", "mix", "alloc"].contains { out.stdout.contains($0) }
    }()
}

/// Passes everything to the real scheduler except MaxArraySize, which it lowers so that a small
/// sweep is split into several arrays on the real cluster too.
struct LowMaxArraySizeRunner: CommandRunning {
    var real: SystemCommandRunner
    var maxArraySize: Int
    func run(_ arguments: [String], timeout: Double) throws -> CommandOutput {
        if arguments == ["scontrol", "show", "config"] {
            return CommandOutput(status: 0, stdout: "MaxArraySize            = \(maxArraySize)\n", stderr: "")
        }
        return try real.run(arguments, timeout: timeout)
    }
}

@Suite("Sweep: end to end on a real Slurm cluster")
struct SlurmEndToEndTests {
    // Needs the single-node test cluster (`scripts/slurm-test-cluster.sh start`, which `make test`
    // runs first). Where Slurm is absent the test is skipped (sinfo is not reachable); under
    // CI=true it fails instead.
    @Test("a 2 games x 2 seeds sweep of a fake trainer runs to completion as split job arrays",
          .requires(TestCluster.isReachable, "needs a reachable Slurm cluster with an idle node (sinfo failed or found none); "
                    + "start one with scripts/slurm-test-cluster.sh start (make test does)"),
          .timeLimit(.minutes(3)))
    func sweepOnCluster() throws {
        let tmp = try TempFolder("slurm-e2e")
        defer { tmp.cleanup() }
        let (script, agent) = try FakeTrainer.install(in: tmp.url)
        let results = tmp.path + "/results"
        let plan = SweepPlan(games: ["pong", "failgame"], seeds: [1, 2], agentFile: agent, frames: 100, resultsRoot: results,
                             command: .arenaTrain(executable: script))
        let runner = LowMaxArraySizeRunner(real: SystemCommandRunner(environment: TestCluster.environment), maxArraySize: 3)
        let sweep = SlurmSweep(plan: plan, resources: SlurmResources(time: "00:05:00", throttle: 2, jobName: "arena-e2e"), runner: runner)
        let record = try sweep.submit(workingDirectory: tmp.path)
        #expect(record.arrays.count == 2)
        #expect(record.arrays.allSatisfy { $0.jobID != nil })

        let final = try sweep.wait(record, timeout: 120, poll: 1)
        #expect(final.filter { $0.task.game == "pong" }.allSatisfy { $0.state == .completed })
        let failed = final.filter { $0.task.game == "failgame" }
        #expect(failed.count == 2 && failed.allSatisfy { $0.state == .failed })
        #expect(failed.allSatisfy { $0.detail.hasPrefix("FAILED") })
        for f in failed {
            let log = try String(contentsOfFile: f.log, encoding: .utf8)
            #expect(log.contains("boom"), "Slurm log \(f.log)")
        }
        #expect(FakeTrainer.invocations(results) == ["failgame 1", "failgame 2", "pong 1", "pong 2"])

        // Resubmitting runs only what is not complete.
        let again = try sweep.submit(workingDirectory: tmp.path)
        #expect(again.arrays.flatMap(\.tasks).map(\.game) == ["failgame", "failgame"])
        let rerun = try sweep.wait(again, timeout: 120, poll: 1)
        #expect(rerun.count == 2 && rerun.allSatisfy { $0.task.game == "failgame" && $0.state == .failed })
    }
}
