import Foundation
import Testing
@testable import Runner

@Suite struct MetricsLogTests {
    static let episode = MetricsRow.episode(EpisodeMetrics(
        phase: .train, iteration: 3, agentSteps: 123_456, frames: 493_824, episodeReturn: -19, length: 812, wallSeconds: 812.5))
    static func iteration(_ steps: Int, loss: Double? = 0.012) -> MetricsRow {
        .iteration(IterationMetrics(
            iteration: steps / 1000, agentSteps: steps, frames: steps * 4, trainMeanReturn: -15.2, trainEpisodes: 12,
            evalMeanReturn: -10.1, evalStdReturn: 3.2, evalEpisodes: 10, evalHumanNormalized: nil, loss: loss,
            qMean: 0.54, epsilon: 0.1, stepsPerSecond: 410, wallSeconds: 2400))
    }

    func text(_ url: URL) throws -> String { String(decoding: try Data(contentsOf: url), as: UTF8.self) }

    /// The exact lines of the results-folder contract, written out by hand.
    @Test func rowsFollowTheResultsFolderFormat() throws {
        let folder = try TemporaryFolder("metrics")
        defer { folder.remove() }
        let log = try MetricsLog(directory: folder.url)
        try log.append(Self.episode)
        try log.append(Self.iteration(250_000, loss: .nan))
        log.close()
        #expect(try text(folder.path("metrics.jsonl")) == """
            {"kind": "episode", "phase": "train", "iteration": 3, "agent_steps": 123456, "frames": 493824, "return": -19.0, "length": 812, "wall_seconds": 812.5}
            {"kind": "iteration", "iteration": 250, "agent_steps": 250000, "frames": 1000000, "train_mean_return": -15.2, "train_episodes": 12, "eval_mean_return": -10.1, "eval_std_return": 3.2, "eval_episodes": 10, "eval_human_normalized": null, "loss": null, "q_mean": 0.54, "epsilon": 0.1, "steps_per_second": 410.0, "wall_seconds": 2400.0}

            """)
        #expect(try text(folder.path("metrics.csv")) == """
            kind,phase,iteration,agent_steps,frames,return,length,train_mean_return,train_episodes,eval_mean_return,eval_std_return,eval_episodes,eval_human_normalized,loss,q_mean,epsilon,steps_per_second,wall_seconds
            episode,train,3,123456,493824,-19.0,812,,,,,,,,,,,812.5
            iteration,,250,250000,1000000,,,-15.2,12,-10.1,3.2,10,,,0.54,0.1,410.0,2400.0

            """)
    }

    @Test func readRowsRoundTripsAndReopeningAppends() throws {
        let folder = try TemporaryFolder("metrics")
        defer { folder.remove() }
        let first = try MetricsLog(directory: folder.url)
        try first.append(Self.episode)
        first.close()
        let second = try MetricsLog(directory: folder.url)
        try second.append(Self.iteration(250_000))
        second.close()
        #expect(try MetricsLog.readRows(from: folder.path("metrics.jsonl")) == [Self.episode, Self.iteration(250_000)])
        let csvLines = try text(folder.path("metrics.csv")).split(separator: "\n")
        #expect(csvLines.count == 3 && csvLines[0].hasPrefix("kind,phase,"))
    }

    @Test func aRowTornByACrashIsCutOnReopen() throws {
        let folder = try TemporaryFolder("metrics")
        defer { folder.remove() }
        let log = try MetricsLog(directory: folder.url)
        try log.append(Self.episode)
        log.close()
        let handle = try FileHandle(forWritingTo: folder.path("metrics.jsonl"))
        handle.seekToEndOfFile()
        handle.write(Data("{\"kind\": \"epis".utf8))
        try handle.close()
        let reopened = try MetricsLog(directory: folder.url)
        try reopened.append(Self.iteration(2000))
        reopened.close()
        #expect(try MetricsLog.readRows(from: folder.path("metrics.jsonl")) == [Self.episode, Self.iteration(2000)])
    }

    @Test func truncateDropsRowsNewerThanTheCheckpoint() throws {
        let folder = try TemporaryFolder("metrics")
        defer { folder.remove() }
        let log = try MetricsLog(directory: folder.url)
        for steps in [1000, 2000, 3000] { try log.append(Self.iteration(steps)) }
        try log.truncate(afterAgentSteps: 2000)
        try log.append(Self.iteration(3000, loss: 0.5))
        log.close()
        #expect(try MetricsLog.readRows(from: folder.path("metrics.jsonl"))
                == [Self.iteration(1000), Self.iteration(2000), Self.iteration(3000, loss: 0.5)])
        let csv = try text(folder.path("metrics.csv")).split(separator: "\n")
        #expect(csv.count == 4)
        #expect(csv.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false)[3] } == ["1000", "2000", "3000"])
        #expect(csv[3].contains(",0.5,"))
    }

    @Test func badLinesAreNamed() throws {
        let folder = try TemporaryFolder("metrics")
        defer { folder.remove() }
        let url = folder.path("metrics.jsonl")
        try Data((Self.episode.jsonLine + "\n{\"kind\": \"iteration\", \"iteration\": 1}\n").utf8).write(to: url)
        #expect {
            _ = try MetricsLog.readRows(from: url)
        } throws: { error in
            "\(error)".contains("line 2 is not a metrics row") && "\(error)".contains("agent_steps")
        }
    }

    /// Python's json and csv modules read our files as the contract says (an independent reader).
    @Test func pythonReadsBothFiles() throws {
        let folder = try TemporaryFolder("metrics")
        defer { folder.remove() }
        let log = try MetricsLog(directory: folder.url)
        try log.append(Self.episode)
        try log.append(Self.iteration(250_000, loss: nil))
        log.close()
        let script = """
            import csv, json, sys
            d = sys.argv[1]
            rows = [json.loads(l) for l in open(d + '/metrics.jsonl')]
            table = list(csv.DictReader(open(d + '/metrics.csv')))
            print(json.dumps([rows[0]['return'], rows[1]['loss'], rows[1]['eval_std_return'],
                              table[0]['kind'], table[1]['agent_steps'], table[1]['loss'], list(table[0].keys())[0]]))
            """
        let result = try runProcess(["python3", "-c", script, folder.url.path])
        try #require(result.status == 0, "\(result.err)")
        let values = try #require(try JSONSerialization.jsonObject(with: result.out) as? [Any])
        #expect(values[0] as? Double == -19)
        #expect(values[1] is NSNull)
        #expect(values[2] as? Double == 3.2)
        #expect(values[3] as? String == "episode")
        #expect(values[4] as? String == "250000")
        #expect(values[5] as? String == "")
        #expect(values[6] as? String == "kind")
    }
}
