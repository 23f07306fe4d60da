import Foundation
import Testing
@testable import Runner

@Suite struct ProgressReporterTests {
    static let durationCases: [(Double, String)] = [
        (0.0, "0s"), (44.6, "45s"), (59.4, "59s"), (60, "1m00s"), (185, "3m05s"), (3599, "59m59s"),
        (3600, "1h00m"), (3720, "1h02m"), (86_399, "23h59m"), (97_259, "1d03h"),
    ]

    @Test func iterationSummaryLine() {
        func episode(_ score: Double) -> EvaluatedEpisode {
            EvaluatedEpisode(score: score, length: 100, frames: 400, truncated: false, environmentSeed: 1,
                             actions: [], rewards: [], finalStateChecksum: "")
        }
        let e = EvaluationSummary(game: "pong", protocol: "nature2015", agent: "a", seed: 1, agentSteps: 350_000,
                                  episodes: [episode(3), episode(5)])
        #expect(ProgressFormat.iterationSummary(iteration: 6, agentSteps: 350_000, evaluation: e, trainMeanReturn: -14.43,
                                                trainEpisodes: 7, trainStepsPerSecond: 78.4, evalSeconds: 82)
                == "iter 6 done | 350.0k steps | eval 4.0 ± 1.4 over 2 episodes, human-normalized 0.700 | "
                + "train return -14.4 over 7 episodes | 78 steps/s | eval took 1m22s")
        #expect(ProgressFormat.iterationSummary(iteration: 0, agentSteps: 500, evaluation: nil, trainMeanReturn: nil,
                                                trainEpisodes: 0, trainStepsPerSecond: nil, evalSeconds: 0)
                == "iter 0 done | 500 steps | no evaluation episodes | no training episode ended | -- steps/s")
    }

    @Test(arguments: durationCases)
    func durations(seconds: Double, expected: String) {
        #expect(ProgressFormat.duration(seconds) == expected)
    }

    @Test func unknownDurationsAndEtas() {
        #expect(ProgressFormat.duration(nil) == "--")
        #expect(ProgressFormat.duration(.infinity) == "--")
        #expect(ProgressFormat.duration(-1) == "--")
        #expect(ProgressFormat.eta(remainingSteps: 1000, stepsPerSecond: nil) == "--")
        #expect(ProgressFormat.eta(remainingSteps: 1000, stepsPerSecond: 0) == "--")
        #expect(ProgressFormat.eta(remainingSteps: 0, stepsPerSecond: nil) == "0s")
        // 750,000 steps at 410 steps/s = 1829.3 s = 30 min 29 s.
        #expect(ProgressFormat.eta(remainingSteps: 750_000, stepsPerSecond: 410) == "30m29s")
    }

    static let countCases: [(Int, String)] = [
        (0, "0"), (999, "999"), (1000, "1.0k"), (12_345, "12.3k"), (999_949, "999.9k"), (999_950, "1.00M"),
        (1_234_567, "1.23M"), (50_000_000, "50.00M"), (2_500_000_000, "2.50G"), (-12_345, "-12.3k"),
    ]

    @Test(arguments: countCases)
    func counts(n: Int, expected: String) {
        #expect(ProgressFormat.count(n) == expected)
    }

    @Test func recentMeanKeepsTheLastTen() {
        var recent = RecentMean(capacity: 10)
        #expect(recent.mean == nil)
        recent.add(4)
        #expect(recent.mean == 4)
        for value in 1...15 { recent.add(Double(value)) }
        // The last ten added are 6...15, whose mean is 10.5.
        #expect(recent.mean == 10.5)
        #expect(recent.count == 10)
    }

    @Test func rateMeterMeasuresOverItsWindow() {
        var meter = RateMeter(window: 10)
        #expect(meter.rate == nil)
        meter.record(agentSteps: 0, at: 100)
        #expect(meter.rate == nil)
        // 100 steps/s for 20 s, then 400 steps/s for 10 s: the 10 s window sees only the latter.
        for t in 1...20 { meter.record(agentSteps: 100 * t, at: 100 + Double(t)) }
        #expect(meter.rate == 100)
        for t in 1...10 { meter.record(agentSteps: 2000 + 400 * t, at: 120 + Double(t)) }
        #expect(meter.rate == 400)
        // A resumed run counts from its checkpoint: steps going back start over.
        meter.record(agentSteps: 500, at: 131)
        #expect(meter.rate == nil)
    }

    static func snapshot(steps: Int, phase: MetricsPhase = .train) -> ProgressSnapshot {
        ProgressSnapshot(iteration: 3, phase: phase, agentSteps: steps, budgetAgentSteps: 1_000_000, frames: 4 * steps,
                         recentMeanReturn: -15.24, epsilon: 0.1, loss: 0.012_34, replayFill: steps, replayCapacity: 1_000_000)
    }

    @Test func lineShowsEveryField() {
        let line = ProgressFormat.line(Self.snapshot(steps: 250_000), stepsPerSecond: 410)
        #expect(line == "iter 3 train | 250.0k/1.00M steps (25.0%) | 410 steps/s | ETA 30m29s | return(10) -15.2 | eps 0.100 | loss 0.0123 | replay 25% of 1.00M | 1.00M frames")
        let unknown = ProgressFormat.line(ProgressSnapshot(iteration: 0, phase: .eval, agentSteps: 0, budgetAgentSteps: 0, frames: 0),
                                          stepsPerSecond: nil)
        #expect(unknown == "iter 0 eval | 0/0 steps (--%) | -- steps/s | ETA 0s | return(10) -- | eps -- | loss -- | 0 frames")
    }

    @Test func terminalRedrawsOneLineAtMostFiveTimesASecond() {
        var out: [String] = []
        let reporter = ProgressReporter(isTerminal: true, columns: 200) { out.append($0) }
        reporter.update(Self.snapshot(steps: 0), now: 0)
        reporter.update(Self.snapshot(steps: 10), now: 0.1)  // too soon: not drawn
        reporter.update(Self.snapshot(steps: 100), now: 1)
        #expect(out.count == 2)
        #expect(out.allSatisfy { $0.hasPrefix("\r\u{1B}[2K") && !$0.contains("\n") })
        #expect(out[1].contains("100 steps/s"))  // 100 steps in 1 s
        reporter.message("checkpoint ckpt-100 written")
        #expect(out.suffix(2) == ["\r\u{1B}[2K", "checkpoint ckpt-100 written\n"])
        reporter.iterationFinished(Self.snapshot(steps: 100), now: 1.05)
        #expect(out.last == "\n")
        reporter.finish()
        #expect(out.last == "\n" && out.count == 6)
    }

    @Test func terminalLineIsCutToTheWidth() {
        var out: [String] = []
        let reporter = ProgressReporter(isTerminal: true, columns: 40) { out.append($0) }
        reporter.update(Self.snapshot(steps: 5), now: 0)
        let shown = String(out[0].dropFirst("\r\u{1B}[2K".count))
        #expect(shown.count == 39)
        #expect(shown.hasSuffix("…") && shown.hasPrefix("iter 3 train | "))
    }

    @Test func plainOutputPrintsEveryIntervalAndEveryIteration() {
        var out: [String] = []
        let reporter = ProgressReporter(isTerminal: false, plainInterval: 30) { out.append($0) }
        for second in 0...65 { reporter.update(Self.snapshot(steps: 100 * second), now: Double(second)) }
        #expect(out.count == 3)  // at 0, 30 and 60 s
        #expect(out.allSatisfy { $0.hasSuffix("\n") && !$0.contains("\r") && !$0.contains("\u{1B}") })
        reporter.iterationFinished(Self.snapshot(steps: 6600), now: 66)
        #expect(out.count == 4)
        reporter.finish()
        #expect(out.count == 4)
    }
}
