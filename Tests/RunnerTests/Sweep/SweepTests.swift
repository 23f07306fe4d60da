import Foundation
import Testing
import TestSupport
@testable import Runner

@Suite("Sweep: plan, command template, local backend")
struct SweepPlanTests {
    func plan(games: [String] = ["pong", "breakout"], seeds: [Int] = [1, 2], results: String = "/r", exe: String = "/bin/arena") -> SweepPlan {
        SweepPlan(games: games, seeds: seeds, agentFile: "/a/agents/dqn-nature.json", frames: 4000, resultsRoot: results,
                  command: .arenaTrain(executable: exe))
    }

    @Test("tasks: one per (game, seed), game-major, run folders from the results contract")
    func tasks() {
        let p = plan()
        #expect(p.agentName == "dqn-nature")
        #expect(p.tasks.map(\.label) == ["pong seed 1", "pong seed 2", "breakout seed 1", "breakout seed 2"])
        #expect(p.tasks[3].runFolder == "/r/breakout/dqn-nature/2")
    }

    @Test("the default command is arena train with the task's game and seed")
    func render() {
        let p = plan()
        #expect(p.command.render(p.tasks[1], plan: p) == ["/bin/arena", "train", "--game", "pong", "--agent", "/a/agents/dqn-nature.json",
                                                          "--seed", "2", "--frames", "4000", "--out", "/r"])
        let custom = TrainCommandTemplate(arguments: ["x", "--run={run}", "{agent_name}-{seed}"])
        #expect(custom.render(p.tasks[0], plan: p) == ["x", "--run=/r/pong/dqn-nature/1", "dqn-nature-1"])
    }

    @Test("shell command: constants single-quoted, per-task values from shell variables")
    func shellCommand() {
        let p = plan(results: "/r it's", exe: "/bin/arena")
        #expect(p.command.shellCommand(plan: p) ==
                #"'/bin/arena' 'train' '--game' "${GAME}" '--agent' '/a/agents/dqn-nature.json' '--seed' "${SEED}" '--frames' '4000' '--out' '/r it'\''s'"#)
        let mixed = TrainCommandTemplate(arguments: ["x", "--run={run}/x", "{nope}"])
        #expect(mixed.shellCommand(plan: p) == #"'x' '--run='"${RUN_DIR}"'/x' '{nope}'"#)
    }

    @Test("--games: atari57 or a comma list; bad lists are rejected with a sentence")
    func parseGames() throws {
        #expect(try SweepPlan.parseGames("atari57", atari57: ["a", "b"]) == ["a", "b"])
        #expect(try SweepPlan.parseGames("pong, breakout,pong", atari57: []) == ["pong", "breakout"])
        #expect(throws: SweepError.self) { try SweepPlan.parseGames(",", atari57: []) }
        #expect(throws: SweepError.self) { try SweepPlan.parseGames("pong;rm -rf", atari57: []) }
    }

    @Test("local: runs every task, skips finished ones on resume, reports failures with their log")
    func localResume() throws {
        let tmp = try TempFolder("sweep-local")
        defer { tmp.cleanup() }
        let (script, agent) = try FakeTrainer.install(in: tmp.url)
        let results = tmp.path + "/results"
        let p = SweepPlan(games: ["pong", "failgame", "halfgame"], seeds: [1, 2], agentFile: agent, frames: 100,
                          resultsRoot: results, command: .arenaTrain(executable: script))
        // An interrupted run: config and metrics but no evaluation.json. It must be run again.
        let interrupted = results + "/pong/dqn-test/2"
        try FileManager.default.createDirectory(atPath: interrupted, withIntermediateDirectories: true)
        try Data(#"{"game":"pong","budget_agent_steps":10}"#.utf8).write(to: URL(fileURLWithPath: interrupted + "/config.json"))

        let first = LocalSweep(plan: p, jobs: 3).run(progress: { _ in })
        #expect(first.completed == 2 && first.skipped == 0 && first.failures.count == 4)
        #expect(FakeTrainer.invocations(results) == ["failgame 1", "failgame 2", "halfgame 1", "halfgame 2", "pong 1", "pong 2"])
        let fail = try #require(first.failures.first { $0.task.game == "failgame" })
        #expect(fail.reason == "exit status 3")
        #expect(fail.log == results + "/failgame/dqn-test/\(fail.task.seed)/train.log")
        let log = try String(contentsOfFile: fail.log, encoding: .utf8)
        #expect(log.contains("boom") && log.contains("# arena sweep: \(script) train --game failgame"))
        let half = try #require(first.failures.first { $0.task.game == "halfgame" })
        #expect(half.reason.hasPrefix("exited 0 but the run is not complete"))
        #expect(first.text.contains("FAILED failgame seed 1: exit status 3; log: "))

        // Resume: the two finished pong runs are skipped, the four failed tasks run again.
        let second = LocalSweep(plan: p, jobs: 2).run(progress: { _ in })
        #expect(second.skipped == 2 && second.completed == 0 && second.failures.count == 4)
        #expect(FakeTrainer.invocations(results).filter { $0.hasPrefix("pong") }.count == 2)
        #expect(FakeTrainer.invocations(results).count == 10)
    }

    @Test("local: a finished run with a smaller budget than the sweep's is run again (extended), not skipped")
    func localExtendsShorterRuns() throws {
        let tmp = try TempFolder("sweep-extend")
        defer { tmp.cleanup() }
        let (script, agent) = try FakeTrainer.install(in: tmp.url)
        let results = tmp.path + "/results"
        func plan(_ frames: Int) -> SweepPlan {
            SweepPlan(games: ["pong"], seeds: [1], agentFile: agent, frames: frames, resultsRoot: results,
                      command: .arenaTrain(executable: script))
        }
        #expect(LocalSweep(plan: plan(100), jobs: 1).run(progress: { _ in }).completed == 1)
        #expect(LocalSweep(plan: plan(100), jobs: 1).run(progress: { _ in }).skipped == 1)
        let longer = plan(400)
        guard case let .incomplete(reason) = longer.completion(of: longer.tasks[0]) else {
            Issue.record("a run that finished at 25 agent steps counts as complete for a 100-step sweep"); return
        }
        #expect(reason == "finished at its budget of 25 agent steps, below this sweep's 100 (running the sweep extends it)")
        #expect(LocalSweep.status(longer).map(\.state) == [.failed])
        let extended = LocalSweep(plan: longer, jobs: 1).run(progress: { _ in })
        #expect(extended.completed == 1 && extended.skipped == 0)
        #expect(FakeTrainer.invocations(results) == ["pong 1", "pong 1"])
        // A sweep with a smaller budget than the run's finds it complete.
        #expect(plan(200).completion(of: plan(200).tasks[0]) == .complete)
    }

    @Test("local status from run folders: completed, running (lock held), failed (stopped), pending")
    func localStatus() throws {
        let tmp = try TempFolder("sweep-status")
        defer { tmp.cleanup() }
        let (script, agent) = try FakeTrainer.install(in: tmp.url)
        let results = tmp.path + "/results"
        let p = SweepPlan(games: ["pong", "failgame"], seeds: [1], agentFile: agent, frames: 100, resultsRoot: results,
                          command: .arenaTrain(executable: script))
        _ = LocalSweep(plan: p, jobs: 2).run(progress: { _ in })
        let wider = SweepPlan(games: ["pong", "failgame", "breakout", "boxing"], seeds: [1], agentFile: agent, frames: 100,
                              resultsRoot: results, command: p.command)
        // breakout: a train process holds its folder's lock.
        let breakout = URL(fileURLWithPath: wider.runFolder(game: "breakout", seed: 1))
        let lock = try RunFolderLock(directory: breakout)
        defer { lock.release() }
        // ... and is partway: two iterations of 50k and a training episode after them, of 1M steps.
        try Data(#"{"game":"breakout","agent":"dqn-test","seed":1,"protocol":"nature2015","budget_agent_steps":1000000}"#.utf8)
            .write(to: breakout.appendingPathComponent("config.json"))
        try Data(("""
            {"kind":"iteration","iteration":0,"agent_steps":50000,"eval_mean_return":1.5}
            {"kind":"iteration","iteration":1,"agent_steps":100000,"eval_mean_return":-12.34}
            {"kind":"episode","phase":"train","iteration":2,"agent_steps":123456,"return":3}

            """).utf8).write(to: breakout.appendingPathComponent("metrics.jsonl"))
        let s = LocalSweep.status(wider)
        #expect(s.map(\.state) == [.completed, .failed, .running, .pending])
        #expect(s[2].detail == "arena train holds the run folder; 123.5k/1.00M agent steps, last evaluation -12.3 at 100.0k")
        #expect(s[1].detail.hasPrefix("not running, incomplete: no evaluation.json"))
        #expect(s[1].log == results + "/failgame/dqn-test/1/train.log")
        lock.release()
        #expect(LocalSweep.status(wider)[2].state == .failed)
    }

    @Test("local: a task past its timeout is stopped and reported")
    func localTimeout() throws {
        let tmp = try TempFolder("sweep-timeout")
        defer { tmp.cleanup() }
        let (script, agent) = try FakeTrainer.install(in: tmp.url)
        let p = SweepPlan(games: ["sleepgame"], seeds: [1], agentFile: agent, frames: 100, resultsRoot: tmp.path + "/results",
                          command: .arenaTrain(executable: script))
        let s = LocalSweep(plan: p, jobs: 1, taskTimeout: 1).run(progress: { _ in })
        #expect(s.failures.first?.reason == "timed out after 1 s")
    }

    @Test("local: an interrupted sweep stops its running task and starts no other")
    func localInterrupt() throws {
        let tmp = try TempFolder("sweep-interrupt")
        defer { tmp.cleanup() }
        let (script, agent) = try FakeTrainer.install(in: tmp.url)
        let p = SweepPlan(games: ["sleepgame"], seeds: [1, 2], agentFile: agent, frames: 100, resultsRoot: tmp.path + "/results",
                          command: .arenaTrain(executable: script))
        let sweep = LocalSweep(plan: p, jobs: 1)
        // Interrupt once the first task is running (its run folder has `ready`), not after a guess.
        let ready = tmp.path + "/results/sleepgame/dqn-test/1/ready"
        let steps = BackgroundSteps(onError: { sweep.control.interrupt() }) { _ in
            try waitUntil("the first task starting (\(ready))", timeout: 60) { fileExists(ready) }
            sweep.control.interrupt()
        }
        let s = sweep.run(progress: { _ in })
        _ = try steps.finish()
        #expect(s.failures.map(\.reason) == ["interrupted (exit status 15)", "not started: the sweep was interrupted"])
        #expect(FakeTrainer.invocations(tmp.path + "/results") == ["sleepgame 1"])
    }

    @Test("local: an interrupted task gets time to save its checkpoint; a second interrupt kills it at once")
    func localInterruptGraceAndKill() throws {
        for twice in [false, true] {
            let tmp = try TempFolder("sweep-grace")
            defer { tmp.cleanup() }
            let (script, agent) = try FakeTrainer.install(in: tmp.url)
            let results = tmp.path + "/results"
            let p = SweepPlan(games: ["savegame"], seeds: [1], agentFile: agent, frames: 100, resultsRoot: results,
                              command: .arenaTrain(executable: script))
            let sweep = LocalSweep(plan: p, jobs: 1)
            // Interrupt once the task waits with its TERM handler in place (`ready`); the second
            // time once its 2 s save has begun (`saving`). Times are measured from the last interrupt.
            let folder = results + "/savegame/dqn-test/1"
            let steps = BackgroundSteps(onError: { sweep.control.interrupt(); sweep.control.interrupt() }) { background in
                try waitUntil("the task waiting with its TERM handler in place (\(folder)/ready)", timeout: 60) {
                    fileExists(folder + "/ready")
                }
                background.mark("interrupt")
                sweep.control.interrupt()
                if twice {
                    try waitUntil("the task starting its save (\(folder)/saving)", timeout: 60) { fileExists(folder + "/saving") }
                    background.mark("interrupt")
                    sweep.control.interrupt()
                }
            }
            let s = sweep.run(progress: { _ in })
            let returned = Date()
            let lastInterrupt = try #require(try steps.finish()["interrupt"])
            let elapsed = returned.timeIntervalSince(lastInterrupt)
            let saved = fileExists(folder + "/saved")
            #expect(s.failures.count == 1)
            #expect(s.failures.first?.reason.hasPrefix("interrupted") == true)
            if twice {
                #expect(!saved, "a second interrupt must kill the task before its 2 s save ends")
                #expect(elapsed < 2, "the sweep took \(elapsed) s to end after the second interrupt; the save alone takes 2 s")
            } else {
                #expect(saved, "the task was killed while saving; the grace period must outlast a checkpoint write")
                #expect(elapsed >= 2, "the sweep ended \(elapsed) s after the interrupt, before the task's 2 s save could end")
            }
        }
    }

    @Test("local: a command that cannot start is a failure, not a crash")
    func localMissingExecutable() throws {
        let tmp = try TempFolder("sweep-missing")
        defer { tmp.cleanup() }
        let p = SweepPlan(games: ["pong"], seeds: [1], agentFile: tmp.path + "/a.json", frames: 1, resultsRoot: tmp.path + "/results",
                          command: .arenaTrain(executable: tmp.path + "/no-such-arena"))
        let s = LocalSweep(plan: p, jobs: 1).run(progress: { _ in })
        #expect(s.failures.count == 1)
        #expect(s.failures.first?.reason.hasPrefix("could not start") == true)
    }
}
