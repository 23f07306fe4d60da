import Environment
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import Runner

/// Fixture run folders: Fixtures/runs/nature (pong and breakout, 3 seeds each, nature2015; an
/// unfinished breakout seed 4; a game without reference scores) and Fixtures/runs/machado (pong,
/// 2 seeds, machado2018, same agent name).
@Suite("Compare: run folders and report")
struct CompareReportTests {
    static let runs = CompareFixtures.folder.appendingPathComponent("runs")
    /// Values from atari57.csv (Mnih et al. 2015).
    static let reference: ReferenceTable = [
        "pong": ReferenceScore(random: -20.7, human: 14.6, dqnNature: 18.9),
        "breakout": ReferenceScore(random: 1.7, human: 30.5, dqnNature: 401.2),
    ]
    /// scipy.stats.t.ppf(0.975, df) for df = 1, 2.
    static let t975 = [1: 12.706204736174694, 2: 4.302652729749462]

    // Naive reference computations, written independently of the code under test.
    static func mean(_ x: [Double]) -> Double { x.reduce(0, +) / Double(x.count) }
    static func tHalfWidth(_ x: [Double]) -> Double {
        let m = mean(x)
        let sd = (x.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(x.count - 1)).squareRoot()
        return (t975[x.count - 1] ?? .nan) * sd / Double(x.count).squareRoot()
    }
    static func hns(_ s: Double, _ game: String) -> Double {
        let r = reference[game]!
        return (s - r.random) / (r.human - r.random)
    }
    static func f(_ v: Double, _ d: Int) -> String { String(format: "%.\(d)f", v) }

    func comparison(_ paths: [URL]) throws -> Comparison {
        try Comparison.load(paths: paths, options: CompareOptions(reference: Self.reference, bootstrap: StratifiedBootstrap(reps: 500, seed: 5)))
    }

    @Test("finds every run folder and reads what the contract says")
    func readsRunFolders() throws {
        let folders = try RunFolders.find(under: [Self.runs])
        #expect(folders.count == 10)
        let b1 = try RunFolders.load(Self.runs.appendingPathComponent("nature/breakout/dqn-a/1"))
        #expect(b1.game == "breakout" && b1.agent == "dqn-a" && b1.seed == 1 && b1.protocolName == "nature2015")
        #expect(b1.finalMean == 30.0 && b1.completion == .complete)
        // Iteration rows have eval_mean_return null here: the curve comes from eval episode rows (25 +- 1, 30 +- 1).
        // Training returns still come from the iteration rows.
        #expect(b1.curve == [CurvePoint(agentSteps: 500, frames: 2000, evalMeanReturn: 25, trainMeanReturn: 23),
                             CurvePoint(agentSteps: 1000, frames: 4000, evalMeanReturn: 30, trainMeanReturn: 28)])
        let b4 = RunFolders.completion(of: Self.runs.appendingPathComponent("nature/breakout/dqn-a/4"))
        #expect(!b4.isComplete)
        #expect(!RunFolders.completion(of: Self.runs.appendingPathComponent("nature/nothing/here/1")).isComplete)
    }

    @Test("unfinished runs are left out unless asked for; then their latest iteration's evaluation counts and the group says so")
    func unfinishedRuns() throws {
        let nature = Self.runs.appendingPathComponent("nature")
        let plain = try comparison([nature])
        #expect(plain.skipped.contains { $0.folder.path.hasSuffix("breakout/dqn-a/4") })
        let options = CompareOptions(reference: Self.reference, bootstrap: StratifiedBootstrap(reps: 500, seed: 5),
                                     includeUnfinished: true)
        let c = try Comparison.load(paths: [nature], options: options)
        #expect(!c.skipped.contains { $0.folder.path.hasSuffix("breakout/dqn-a/4") })
        let group = try #require(c.groups.first { $0.key.agent == "dqn-a" })
        let breakout = try #require(group.rows.first { $0.game == "breakout" })
        #expect(breakout.seeds == [1, 2, 3, 4])
        #expect(breakout.scores.last == 94.0)  // seed 4's only iteration: eval_mean_return 94 at 500 steps
        #expect(group.notes.contains { $0.contains("1 run(s) still in progress") && $0.contains("breakout seed 4 at 500 agent steps") })
        let runs = c.groups.reduce(0) { $0 + $1.runs.count }
        #expect(CompareReport(c).markdown().contains("\(runs - 1) complete and 1 unfinished run(s) in"))
        let finishedComparison = try comparison([nature])
        let finished = try #require(finishedComparison.groups.first { $0.key.agent == "dqn-a" })
        #expect(!finished.notes.contains { $0.contains("still in progress") })
        #expect(CompareReport(finishedComparison).markdown().contains("\(runs - 1) complete run(s) in"))
    }

    @Test("a missing path is an error that says what to give")
    func missingPath() {
        #expect(throws: RunFolderError.self) { try RunFolders.find(under: [Self.runs.appendingPathComponent("nope")]) }
    }

    @Test("reference table CSV: the project's atari57.csv reads as 57 games; bad lines are named")
    func referenceCSV() throws {
        let csv = URL(fileURLWithPath: #filePath).deletingLastPathComponent()  // Tests/RunnerTests/Compare
            .appendingPathComponent("../../../Sources/Environment/Resources/atari57.csv").standardizedFileURL
        let table = try ReferenceScore.loadTable(csv: csv)
        #expect(table.count == 57)
        #expect(table["pong"] == ReferenceScore(random: -20.7, human: 14.6, dqnNature: 18.9))
        #expect(abs(table["pong"]!.humanNormalized(14.6) - 1) < 1e-12 && table["pong"]!.humanNormalized(-20.7) == 0)
        // The file read through the catalog's parser is the table the catalog parsed at start.
        #expect(table == ReferenceScore.atari57)
        let partial = try ReferenceScore.parseTable(csv: "game,random,human,dqn_nature\nx,1,2,\n")
        #expect(partial["x"] == ReferenceScore(random: 1, human: 2, dqnNature: nil))
        #expect(throws: ReferenceTableError.badLine(path: "<csv>", line: 2, text: "y,one,2")) {
            try ReferenceScore.parseTable(csv: "game,random,human\ny,one,2\n")
        }
        #expect(throws: ReferenceTableError.self) {
            try ReferenceScore.loadTable(csv: Self.runs.appendingPathComponent("no-such-table.csv"))
        }
    }

    @Test("Student t quantiles match scipy.stats.t.ppf")
    func tQuantiles() {
        // scipy.stats.t.ppf(0.975, df) and t.cdf(1.3, df)
        let ppf: [(Double, Double, Double)] = [(1, 12.706204736174694, 0.7912855998398473), (2, 4.302652729749462, 0.8383764840919798),
                                               (3, 3.1824463052837078, 0.8577662456360515), (4, 2.7764451051977934, 0.868274201764388),
                                               (9, 2.262157162798205, 0.8870468136634754), (29, 2.045229642132703, 0.898080408168985),
                                               (100, 1.9839715185235518, 0.9017052682888169)]
        for (df, q, c) in ppf {
            #expect(abs(StudentT.quantile(0.975, df: df) - q) <= 1e-9 * q, "df \(df)")
            #expect(abs(StudentT.cdf(1.3, df: df) - c) <= 1e-12, "df \(df)")
            #expect(abs(StudentT.quantile(0.025, df: df) + q) <= 1e-9 * q)
        }
    }

    @Test("run cost: steps, frames, wall time and steps/s from iteration rows; the report lists every run with it")
    func runCost() throws {
        // Out of order on purpose; the second iteration trained at half the speed of the first.
        let rows: [[String: Any]] = [
            ["kind": "iteration", "agent_steps": 100_000, "frames": 402_000, "steps_per_second": 40.0, "wall_seconds": 2000.0],
            ["kind": "iteration", "agent_steps": 50_000, "frames": 201_000, "steps_per_second": 80.0, "wall_seconds": 700.0],
        ]
        let cost = try #require(RunFolders.cost(iterations: rows))
        #expect(cost.agentSteps == 100_000 && cost.frames == 402_000 && cost.wallSeconds == 2000)
        #expect(abs(try #require(cost.trainingStepsPerSecond) - 100_000 / (625.0 + 1250.0)) < 1e-9)
        #expect(cost.overallStepsPerSecond == 50)
        #expect(RunFolders.cost(iterations: [["kind": "iteration", "agent_steps": 5]]) == nil)  // no wall time
        let untimed = RunFolders.cost(iterations: [["kind": "iteration", "agent_steps": 5, "wall_seconds": 2.0]])
        #expect(untimed?.trainingStepsPerSecond == nil && untimed?.overallStepsPerSecond == 2.5)

        let md = CompareReport(try comparison([Self.runs.appendingPathComponent("nature")])).markdown()
        #expect(md.contains("## Runs\n"))
        // pong/dqn-a/1: two iterations of 500 steps at 100 steps/s, wall time 10 s, final evaluation 18,
        // 19.5 at epsilon 0.01, training return 16.25; pong/dqn-a/2 recorded neither of the last two.
        #expect(md.contains("| dqn-a (nature2015) | pong | 1 | 18.00 | 19.50 | 16.25 | 1.0k | 4.0k | 10s | 100.0 | 100.0 |"))
        #expect(md.contains("| dqn-a (nature2015) | pong | 2 | ") && md.contains("| n/a | n/a | "))
    }

    @Test("per-game table: mean over seeds, t-interval, HNS, reference columns")
    func perGameTable() throws {
        let c = try comparison([Self.runs.appendingPathComponent("nature")])
        let md = CompareReport(c).markdown()
        for (game, scores) in [("pong", [18.0, 19.5, 20.1]), ("breakout", [30.0, 45.5, 12.25])] {
            let m = Self.mean(scores), h = Self.tHalfWidth(scores)
            let r = Self.reference[game]!
            let expected = "| \(game) | 1, 2, 3 | \(Self.f(m, 2)) | [\(Self.f(m - h, 2)), \(Self.f(m + h, 2))] | \(Self.f(Self.hns(m, game), 3)) | "
                + "[\(Self.f(Self.hns(m - h, game), 3)), \(Self.f(Self.hns(m + h, game), 3))] | \(Self.f(r.random, 1)) | \(Self.f(r.human, 1)) | "
                + "\(Self.f(r.dqnNature!, 1)) | \(Self.f(Self.hns(r.dqnNature!, game), 3)) |"
            #expect(md.contains(expected), "missing row: \(expected)\n\(md)")
        }
        #expect(md.contains("| mygame | 1 | 5.00 | n/a (1 seed) | n/a |"))
        #expect(md.contains("No reference scores for mygame"))
        // The unfinished run is listed with its reason and its score (99) appears nowhere.
        #expect(md.contains("breakout/dqn-a/4: no evaluation.json"))
        #expect(!md.contains("99.00"))
    }

    @Test("aggregate table equals the rliable definitions computed by hand")
    func aggregateTable() throws {
        let c = try comparison([Self.runs.appendingPathComponent("nature")])
        let pong = [18.0, 19.5, 20.1].map { Self.hns($0, "pong") }
        let breakout = [30.0, 45.5, 12.25].map { Self.hns($0, "breakout") }
        let means = [Self.mean(breakout), Self.mean(pong)]
        let median = (means[0] + means[1]) / 2  // two games: numpy.median averages them
        let all = (pong + breakout).sorted()
        let iqm = Self.mean(Array(all[1..<5]))  // trim_mean(6 values, 0.25): floor(1.5) = 1 cut per side
        let og = Self.mean(all.map { max(1 - $0, 0) })
        let g = try #require(c.groups.first)
        #expect(abs(g.aggregates[.median]!.point - median) < 1e-12)
        #expect(abs(g.aggregates[.mean]!.point - Self.mean(means)) < 1e-12)
        #expect(abs(g.aggregates[.iqm]!.point - iqm) < 1e-12)
        #expect(abs(g.aggregates[.optimalityGap]!.point - og) < 1e-12)
        let md = CompareReport(c).markdown()
        #expect(md.contains("| dqn-a (nature2015) | nature2015 | 2 x 3 | \(Self.f(median, 3)) ["))
        #expect(md.contains("| \(Self.f(Self.mean(means), 3)) ["))
        // Nature DQN row on the same two games.
        let dqn = [Self.hns(401.2, "breakout"), Self.hns(18.9, "pong")]
        #expect(md.contains("| Nature DQN (published) on the games of dqn-a (nature2015) | nature2015 | 2 x 1 | \(Self.f(Self.mean(dqn), 3)) | \(Self.f(Self.mean(dqn), 3)) |"))
    }

    @Test("the same run reached through two paths, or copied, counts once")
    func duplicates() throws {
        let nature = Self.runs.appendingPathComponent("nature")
        let c = try comparison([nature, nature.appendingPathComponent("pong")])
        #expect(c.groups.first?.runs.count == 7)
        let r = try RunFolders.load(nature.appendingPathComponent("pong/dqn-a/1"))
        var copy = r
        copy.folder = URL(fileURLWithPath: "/elsewhere/pong/dqn-a/1")
        let d = Comparison(runs: [r, copy], options: CompareOptions(reference: Self.reference, bootstrap: StratifiedBootstrap(reps: 10)))
        #expect(d.groups.first?.runs.count == 1)
        #expect(d.skipped.count == 1 && d.skipped[0].reason.hasPrefix("the same game, agent, protocol and seed as"))
    }

    @Test("groups with different protocols are never pooled and the report warns")
    func protocolSeparation() throws {
        let c = try comparison([Self.runs.appendingPathComponent("nature"), Self.runs.appendingPathComponent("machado")])
        #expect(c.groups.map(\.key.label) == ["dqn-a (machado2018)", "dqn-a (nature2015)"])
        let machado = c.groups[0]
        #expect(machado.runs.count == 2 && machado.runs.allSatisfy { $0.protocolName == "machado2018" })
        #expect(c.groups[1].runs.allSatisfy { $0.protocolName == "nature2015" })
        let md = CompareReport(c).markdown()
        #expect(md.contains("different protocols (machado2018; nature2015)"))
        #expect(md.contains("## Per-game scores: dqn-a, protocol machado2018"))
        #expect(md.contains("## Per-game scores: dqn-a, protocol nature2015"))
        let h = Self.tHalfWidth([10, 12])
        #expect(md.contains("| pong | 1, 2 | 11.00 | [\(Self.f(11 - h, 2)), \(Self.f(11 + h, 2))] |"))
        #expect(md.contains("| pong | 1, 2, 3 | 19.20 |"))
        #expect(CompareReport(c).html().contains("class=\"warning\""))
    }

    @Test("report files: markdown, self-contained HTML, well-formed SVG charts")
    func writesFiles() throws {
        let c = try comparison([Self.runs.appendingPathComponent("nature"), Self.runs.appendingPathComponent("machado")])
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("compare-report-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let files = try CompareReport(c).write(to: out)
        let names = Set(files.map(\.lastPathComponent))
        #expect(names.isSuperset(of: ["report.md", "report.html", "normalized-scores.svg", "performance-profile.svg",
                                      "learning-curves-pong.svg", "learning-curves-breakout.svg"]))
        for svg in files where svg.pathExtension == "svg" {
            let data = try Data(contentsOf: svg)
            try Self.expectWellFormedXML(data, svg.lastPathComponent)
        }
        let html = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(html.contains("<svg") && html.contains("<style>"))
        for external in ["<link", "src=", "<script", "href=", "url("] { #expect(!html.contains(external), "external asset: \(external)") }
        // Breakout's three finished seeds each draw an evaluation curve (seed 1's from eval
        // episode rows) and a dashed curve of their training returns.
        let curves = try String(contentsOf: out.appendingPathComponent("charts/learning-curves-breakout.svg"), encoding: .utf8)
        let lines = curves.components(separatedBy: "<polyline").dropFirst()
        #expect(lines.count == 6)
        #expect(lines.filter { $0.contains("stroke-dasharray") }.count == 3)
        for seed in 1...3 { #expect(curves.contains("dqn-a (nature2015) seed \(seed), training episodes")) }
        #expect(!curves.contains("seed 4"))
        // One group ran Breakout: each seed has its own colour, shared by its two curves.
        let strokes = lines.map { $0.components(separatedBy: "stroke=\"")[1].prefix(7) }
        #expect(Set(strokes).count == 3 && strokes[0] == strokes[1] && strokes[2] == strokes[3])
        // Pong ran in two groups: one colour per group.
        let pong = try String(contentsOf: out.appendingPathComponent("charts/learning-curves-pong.svg"), encoding: .utf8)
        let pongStrokes = Set(pong.components(separatedBy: "<polyline").dropFirst().map { $0.components(separatedBy: "stroke=\"")[1].prefix(7) })
        #expect(pongStrokes.count == 2)
    }

    static func expectWellFormedXML(_ data: Data, _ name: String) throws {
        #if canImport(FoundationXML) || os(macOS)
        let doc = try XMLDocument(data: data)
        #expect(doc.rootElement()?.name == "svg", "\(name)")
        #else
        let s = String(decoding: data, as: UTF8.self)
        #expect(s.contains("<svg") && s.hasSuffix("</svg>\n"), "\(name)")
        #endif
    }
}
