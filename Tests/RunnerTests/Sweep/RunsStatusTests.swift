import Foundation
import Testing
@testable import Runner

/// `arena sweep status --runs`: every run folder under a results folder, however it was started.
@Suite("Runs status: run folders started by hand or by a script")
struct RunsStatusTests {
    /// A run folder `<root>/<study>/<game>/<agent>/<seed>` with a config of `budget` agent steps,
    /// iteration rows at `iterations` (evaluation means -10, -9, ...) and, when `final` is given,
    /// an evaluation.json with that mean.
    func run(_ root: URL, study: String, game: String, seed: Int, budget: Int, iterations: [Int], final: Double? = nil) throws -> URL {
        let folder = root.appendingPathComponent("\(study)/\(game)/dqn-test/\(seed)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data(#"{"game":"\#(game)","agent":"dqn-test","seed":\#(seed),"protocol":"nature2015","budget_agent_steps":\#(budget)}"#.utf8)
            .write(to: folder.appendingPathComponent("config.json"))
        let rows = iterations.enumerated().map { i, steps in
            #"{"kind":"iteration","iteration":\#(i),"agent_steps":\#(steps),"eval_mean_return":\#(Double(i) - 10),"wall_seconds":\#(i * 60 + 60),"steps_per_second":100}"#
        }
        try Data((rows.joined(separator: "\n") + "\n").utf8).write(to: folder.appendingPathComponent("metrics.jsonl"))
        if let final {
            try Data(#"{"game":"\#(game)","agent":"dqn-test","seed":\#(seed),"mean":\#(final)}"#.utf8)
                .write(to: folder.appendingPathComponent("evaluation.json"))
        }
        return folder
    }

    @Test("finished, running (lock held) and stopped runs in path order, with progress and how to resume")
    func scanAndText() throws {
        let tmp = try TempFolder("runs-status")
        defer { tmp.cleanup() }
        let root = tmp.url
        _ = try run(root, study: "a-2m", game: "pong", seed: 1, budget: 2000, iterations: [1000, 2000], final: 19.4)
        let running = try run(root, study: "b-10m", game: "breakout", seed: 1, budget: 2_500_000, iterations: [50000, 100000])
        // Stopped after its final evaluation of a smaller budget, now to be carried on: incomplete.
        _ = try run(root, study: "c-4m", game: "pong", seed: 3, budget: 1_000_000, iterations: [50000], final: 12)
        let lock = try RunFolderLock(directory: running)
        defer { lock.release() }

        let s = try RunsStatus.scan(root)
        #expect(s.map(\.state) == [.finished, .running, .stopped])
        #expect(s.map(\.game) == ["pong", "breakout", "pong"])
        #expect(s.map(\.seed) == [1, 1, 3])
        #expect(s[0].detail == "final evaluation 19.4 after 2.0k agent steps")
        #expect(s[1].detail == "100.0k/2.50M agent steps, last evaluation -9.0 at 100.0k")
        #expect(s[2].detail == "50.0k/1.00M agent steps, last evaluation -10.0 at 50.0k; incomplete: the last iteration reached 50000 of 1000000 agent steps")

        let text = RunsStatus.text(s, root: root)
        #expect(text.hasPrefix("runs under \(root.path): 3 run folder(s): 1 finished, 1 running, 1 stopped\n"))
        #expect(text.contains("\n  breakout\tdqn-test\tseed 1\trunning\t100.0k/2.50M agent steps, last evaluation -9.0 at 100.0k\tb-10m/breakout/dqn-test/1\n"))
        #expect(text.contains("A stopped run resumes from its newest checkpoint"))

        // Once its trainer lets go, the Breakout run is stopped too.
        lock.release()
        #expect(try RunsStatus.scan(root).map(\.state) == [.finished, .stopped, .stopped])
    }

    @Test("a folder without runs gives an empty list; a missing folder is an error that names it")
    func emptyAndMissing() throws {
        let tmp = try TempFolder("runs-status-empty")
        defer { tmp.cleanup() }
        #expect(try RunsStatus.scan(tmp.url).isEmpty)
        #expect(!RunsStatus.text([], root: tmp.url).contains("resumes"))
        let missing = tmp.url.appendingPathComponent("nothing-here")
        #expect { try RunsStatus.scan(missing) } throws: { "\($0)".contains("nothing-here does not exist") }
    }
}
