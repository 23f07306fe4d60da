import Foundation
import Testing
@testable import Runner

/// Fixtures under Compare/Fixtures/slurm/ are real outputs of Slurm 22.05 (the test cluster of
/// scripts/slurm-test-cluster.sh) for a 4-task array `--array=0-3%1` (job 6) whose task 1 exits 3:
/// squeue/scontrol while task 1 runs, and scontrol later (0, 2 completed, 1 failed, 3 running).
@Suite("Sweep: Slurm scripts and scheduler output")
struct SlurmTests {
    func plan(results: String, games: [String] = ["pong", "breakout"], seeds: [Int] = [1, 2], exe: String = "/opt/arena") -> SweepPlan {
        SweepPlan(games: games, seeds: seeds, agentFile: "/a/dqn-nature.json", frames: 4000, resultsRoot: results,
                  command: .arenaTrain(executable: exe))
    }

    @Test("job-array script: resources as #SBATCH lines, %A_%a output, task lookup by array index")
    func script() {
        let p = plan(results: "/r")
        let res = SlurmResources(partition: "gpu", time: "02:00:00", cpusPerTask: 4, mem: "8G", throttle: 2)
        let s = Slurm.script(plan: p, resources: res, taskCount: 4, taskListPath: "/r/sweeps/x/tasks-0.tsv",
                             logFolder: "/r/sweeps/x/logs", workingDirectory: "/work")
        let lines = s.split(separator: "\n").map(String.init)
        #expect(lines.first == "#!/bin/bash")
        for expected in ["#SBATCH --job-name=arena-sweep", "#SBATCH --array=0-3%2", "#SBATCH --output=/r/sweeps/x/logs/%A_%a.out",
                         "#SBATCH --chdir=/work", "#SBATCH --partition=gpu", "#SBATCH --time=02:00:00",
                         "#SBATCH --cpus-per-task=4", "#SBATCH --mem=8G", "TASKS='/r/sweeps/x/tasks-0.tsv'"] {
            #expect(lines.contains(expected), "missing line: \(expected)")
        }
        #expect(s.contains(#"'/opt/arena' 'train' '--game' "${GAME}" '--agent' '/a/dqn-nature.json' '--seed' "${SEED}" '--frames' '4000' '--out' '/r' 2>&1 | tee -a "$RUN_DIR/train.log""#))
        // Without resources, no resource lines (the cluster's defaults apply).
        let bare = Slurm.script(plan: p, resources: SlurmResources(), taskCount: 1, taskListPath: "/t", logFolder: "/l", workingDirectory: "/w")
        #expect(bare.contains("#SBATCH --array=0\n"))
        for flag in ["--partition", "--time", "--cpus-per-task", "--mem"] { #expect(!bare.contains(flag)) }
    }

    @Test("the script really picks its task: run it with bash for each array index")
    func scriptRunsUnderBash() throws {
        let tmp = try TempFolder("slurm-script")
        defer { tmp.cleanup() }
        let p = SweepPlan(games: ["pong", "space_invaders"], seeds: [1, 2], agentFile: "/a/x.json", frames: 10, resultsRoot: tmp.path + "/results",
                          command: TrainCommandTemplate(arguments: ["/bin/echo", "RAN", "{game}", "{seed}", "{run}"]))
        let list = tmp.path + "/tasks.tsv"
        try Data(Slurm.taskList(p.tasks).utf8).write(to: URL(fileURLWithPath: list))
        let script = tmp.path + "/a.sbatch"
        try Data(Slurm.script(plan: p, resources: SlurmResources(), taskCount: 4, taskListPath: list, logFolder: tmp.path, workingDirectory: tmp.path).utf8)
            .write(to: URL(fileURLWithPath: script))
        for (i, t) in p.tasks.enumerated() {
            let out = try SystemCommandRunner(environment: ["SLURM_ARRAY_TASK_ID": "\(i)", "SLURM_ARRAY_JOB_ID": "77"]).run(["/bin/bash", script], timeout: 20)
            #expect(out.status == 0, "\(out.stderr)")
            #expect(out.stdout.contains("RAN \(t.game) \(t.seed) \(t.runFolder)\n"))
            let log = try String(contentsOfFile: t.runFolder + "/train.log", encoding: .utf8)
            #expect(log == "RAN \(t.game) \(t.seed) \(t.runFolder)\n")
        }
        let missing = try SystemCommandRunner(environment: ["SLURM_ARRAY_TASK_ID": "9", "SLURM_ARRAY_JOB_ID": "77"]).run(["/bin/bash", script], timeout: 20)
        #expect(missing.status == 2 && missing.stderr.contains("no task 9"))
    }

    @Test("task list, array spec and splitting at MaxArraySize")
    func chunks() {
        let p = plan(results: "/r", games: ["a", "b", "c"], seeds: [1, 2, 3])
        #expect(Slurm.taskList(Array(p.tasks.prefix(2))) == "0\ta\t1\t/r/a/dqn-nature/1\n1\ta\t2\t/r/a/dqn-nature/2\n")
        #expect(Slurm.arraySpec(count: 5, throttle: nil) == "0-4")
        #expect(Slurm.arraySpec(count: 5, throttle: 3) == "0-4%3")
        let c = Slurm.chunks(p.tasks, maxArraySize: 4)
        #expect(c.map(\.count) == [4, 4, 1])
        #expect(c.flatMap { $0 } == p.tasks)
        #expect(Slurm.chunks(p.tasks, maxArraySize: 1001).count == 1)
    }

    @Test("parses MaxArraySize, sbatch --parsable, squeue and scontrol output")
    func parsing() throws {
        #expect(Slurm.maxArraySize(fromShowConfig: try SlurmFixtures.text("scontrol-show-config.txt")) == 1001)
        #expect(Slurm.maxArraySize(fromShowConfig: "Foo = 1\nMaxArraySize            = 50\n") == 50)
        #expect(Slurm.jobID(fromParsable: try SlurmFixtures.text("sbatch-parsable.txt")) == "6")
        #expect(Slurm.jobID(fromParsable: "4242;cluster2\n") == "4242")
        #expect(Slurm.jobID(fromParsable: "sbatch: error: oops") == nil)

        let q = Slurm.squeueTasks(try SlurmFixtures.text("squeue-running.txt"))
        #expect(q.map { "\($0.arrayJobID)_\($0.taskIndex) \($0.state)" } == ["6_2 PENDING", "6_3 PENDING", "6_1 RUNNING"])
        #expect(q[0].reason == "JobArrayTaskLimit" && q[2].reason == nil)
        let compact = Slurm.squeueTasks(try SlurmFixtures.text("squeue-compact.txt"))
        #expect(compact.map { "\($0.taskIndex) \($0.state)" } == ["2 PENDING", "3 PENDING", "1 RUNNING"])

        let running = Slurm.scontrolTasks(try SlurmFixtures.text("scontrol-running.txt"))
        #expect(running.map { "\($0.taskIndex) \($0.state)" } == ["2 PENDING", "3 PENDING", "1 RUNNING", "0 COMPLETED"])
        let later = Slurm.scontrolTasks(try SlurmFixtures.text("scontrol-later.txt"))
        #expect(later.map { "\($0.taskIndex) \($0.state) \($0.exitCode ?? "")" } == ["3 RUNNING 0:0", "2 COMPLETED 0:0", "1 FAILED 3:0", "0 COMPLETED 0:0"])
        #expect(later[2].reason == "NonZeroExitCode")
        #expect(Slurm.indices("[1,4-6%2]") == [1, 4, 5, 6])
        // An array cancelled while pending: its own record (ArrayTaskId=4294967294) stands for the rest.
        let cancelled = Slurm.scontrolTasks(try SlurmFixtures.text("scontrol-cancelled.txt"))
        #expect(cancelled.map { "\($0.taskIndex) \($0.state)" } == ["\(Slurm.restOfArray) CANCELLED", "5 COMPLETED", "4 COMPLETED"])
    }

    @Test("submit: skips finished runs, splits at MaxArraySize, records job ids in sweep.json")
    func submit() throws {
        let tmp = try TempFolder("slurm-submit")
        defer { tmp.cleanup() }
        let p = plan(results: tmp.path + "/results", games: ["a", "b", "c", "d"], seeds: [1, 2])
        try writeCompleteRun(p.tasks[0])
        let runner = FakeCommandRunner([(["scontrol", "show", "config"], CommandOutput(status: 0, stdout: "MaxArraySize = 3\n", stderr: ""))])
        let sweep = SlurmSweep(plan: p, resources: SlurmResources(time: "00:10:00", throttle: 2), runner: runner)
        let record = try sweep.submit(name: "s1", workingDirectory: tmp.path)
        #expect(record.arrays.map(\.tasks.count) == [3, 3, 1])
        #expect(record.arrays.flatMap(\.tasks) == Array(p.tasks.dropFirst()))
        #expect(record.arrays.map(\.jobID) == ["101", "102", "103"])
        #expect(runner.calls.filter { $0.first == "sbatch" }.map { $0.dropFirst().first } == ["--parsable", "--parsable", "--parsable"])
        let script2 = try String(contentsOfFile: record.arrays[2].scriptPath, encoding: .utf8)
        #expect(script2.contains("#SBATCH --array=0%2\n") && script2.contains("#SBATCH --time=00:10:00\n"))
        let list0 = try String(contentsOfFile: record.arrays[0].taskListPath, encoding: .utf8)
        #expect(list0.hasPrefix("0\ta\t2\t"))
        let loaded = try SlurmSweep.load(sweepFolder: record.folder)
        #expect(loaded == record)
        #expect(try SlurmSweep.latestSweepFolder(resultsRoot: p.resultsRoot) == record.folder)
    }

    @Test("status: run folders first, then squeue, then scontrol; failures carry their log path")
    func status() throws {
        let tmp = try TempFolder("slurm-status")
        defer { tmp.cleanup() }
        let p = plan(results: tmp.path + "/results", games: ["a", "b"], seeds: [1, 2])
        let record = SweepRecord(plan: p, resources: SlurmResources(),
                                      arrays: [SlurmArray(tasks: p.tasks, scriptPath: "", taskListPath: "", jobID: "6")],
                                      submittedAt: "t", folder: tmp.path + "/sweep")
        try writeCompleteRun(p.tasks[0])

        let whileRunning = FakeCommandRunner([
            (["squeue"], CommandOutput(status: 0, stdout: try SlurmFixtures.text("squeue-running.txt"), stderr: "")),
            (["scontrol", "-o", "show", "job", "6"], CommandOutput(status: 0, stdout: try SlurmFixtures.text("scontrol-running.txt"), stderr: "")),
        ])
        let s1 = try SlurmSweep(plan: p, resources: SlurmResources(), runner: whileRunning).status(record)
        #expect(s1.map(\.state) == [.completed, .running, .pending, .pending])
        #expect(s1[2].detail == "PENDING (JobArrayTaskLimit)")
        #expect(whileRunning.calls.first == ["squeue", "-h", "-r", "-j", "6", "-o", "%F|%K|%T|%r"])

        // Later: squeue no longer knows the job (exit 1); scontrol has the final states.
        let later = FakeCommandRunner([
            (["squeue"], CommandOutput(status: 1, stdout: "", stderr: "slurm_load_jobs error: Invalid job id specified")),
            (["scontrol", "-o", "show", "job", "6"], CommandOutput(status: 0, stdout: try SlurmFixtures.text("scontrol-later.txt"), stderr: "")),
        ])
        let s2 = try SlurmSweep(plan: p, resources: SlurmResources(), runner: later).status(record)
        #expect(s2.map(\.state) == [.completed, .failed, .failed, .running])
        #expect(s2[1].detail == "FAILED, exit code 3:0")
        #expect(s2[1].log == tmp.path + "/sweep/logs/6_1.out")
        #expect(s2[2].detail.hasPrefix("COMPLETED, exit code 0:0, but "))  // finished without a result
        let text = SlurmSweep.statusText(s2)
        #expect(text.hasPrefix("sweep: 4 task(s): 1 completed, 1 running, 0 pending, 2 failed, 0 unknown\n"))
        #expect(text.contains("6_1\ta\tseed 2\tfailed\tFAILED, exit code 3:0\tlog: \(tmp.path)/sweep/logs/6_1.out"))
    }

    @Test("status: tasks cancelled while pending take the array record's state")
    func cancelledWhilePending() throws {
        let tmp = try TempFolder("slurm-cancel")
        defer { tmp.cleanup() }
        let p = plan(results: tmp.path + "/results", games: ["a", "b", "c"], seeds: [1, 2])
        let record = SweepRecord(plan: p, resources: SlurmResources(),
                                      arrays: [SlurmArray(tasks: p.tasks, scriptPath: "", taskListPath: "", jobID: "19")],
                                      submittedAt: "t", folder: tmp.path)
        let runner = FakeCommandRunner([
            (["squeue"], CommandOutput(status: 0, stdout: "", stderr: "")),
            (["scontrol", "-o", "show", "job", "19"], CommandOutput(status: 0, stdout: try SlurmFixtures.text("scontrol-cancelled.txt"), stderr: "")),
        ])
        let s = try SlurmSweep(plan: p, resources: SlurmResources(), runner: runner).status(record)
        #expect(s.map(\.state) == [.failed, .failed, .failed, .failed, .failed, .failed])
        #expect(s[0].detail.hasPrefix("CANCELLED") && s[5].detail.hasPrefix("COMPLETED"))
    }

    @Test("wait gives up at its timeout with the number of unfinished tasks")
    func waitTimeout() throws {
        let tmp = try TempFolder("slurm-wait")
        defer { tmp.cleanup() }
        let p = plan(results: tmp.path + "/results", games: ["a"], seeds: [1])
        let record = SweepRecord(plan: p, resources: SlurmResources(),
                                      arrays: [SlurmArray(tasks: p.tasks, scriptPath: "", taskListPath: "", jobID: "6")],
                                      submittedAt: "t", folder: tmp.path)
        let runner = FakeCommandRunner([(["squeue"], CommandOutput(status: 0, stdout: "6|0|PENDING|Priority\n", stderr: ""))])
        #expect(throws: SweepError.self) {
            _ = try SlurmSweep(plan: p, resources: SlurmResources(), runner: runner).wait(record, timeout: 0.3, poll: 0.1)
        }
    }

    /// A finished run at the budget of `plan`'s 4,000 frames (1,000 agent steps).
    func writeCompleteRun(_ t: SweepTask) throws {
        try FileManager.default.createDirectory(atPath: t.runFolder, withIntermediateDirectories: true)
        try Data(#"{"game":"\#(t.game)","budget_agent_steps":1000,"protocol":"nature2015"}"#.utf8).write(to: URL(fileURLWithPath: t.runFolder + "/config.json"))
        try Data(#"{"kind":"iteration","iteration":0,"agent_steps":1000}"#.utf8 + [10]).write(to: URL(fileURLWithPath: t.runFolder + "/metrics.jsonl"))
        try Data(#"{"mean":1.0}"#.utf8).write(to: URL(fileURLWithPath: t.runFolder + "/evaluation.json"))
    }
}
