import ArgumentParser
import Environment
import Foundation
import Runner

/// `arena compare RUN_OR_FOLDER...`: per-game tables and rliable aggregates across runs.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare runs across games: per-game scores, human-normalized scores and rliable aggregates.",
        discussion: """
        Finds run folders (results/<game>/<agent>/<seed>) under the given paths, groups them by agent \
        and protocol (groups of different protocols are never pooled), and writes report.md, \
        report.html and SVG charts. Per-game intervals are Student-t over seeds; aggregate intervals \
        come from rliable's stratified bootstrap (percentile, 95%).
        """)

    @Argument(help: "Run folders, or folders that contain run folders (e.g. results).")
    var paths: [String]

    @Option(help: "Reference agent shown beside yours: dqn_nature (Nature DQN's published scores) or none.")
    var reference: String = "dqn_nature"

    @Option(help: "Folder for report.md, report.html and charts/.")
    var out: String = "compare-report"

    @Option(help: "Seed of the bootstrap resampling.")
    var seed: UInt64 = 0

    @Option(help: "Bootstrap replications (rliable's default is 2000).")
    var reps: Int = 2000

    @Option(help: "CSV of reference scores (columns game,random,human,dqn_nature) instead of the built-in table.")
    var referenceTable: String?

    @Flag(help: "Also compare runs still in progress, scored by their latest iteration's evaluation (the report names them).")
    var includeUnfinished = false

    func validate() throws {
        if paths.isEmpty { throw ValidationError("Give at least one run folder or results folder, e.g. arena compare results.") }
        if !["dqn_nature", "none"].contains(reference) {
            throw ValidationError("--reference must be dqn_nature or none, not '\(reference)'.")
        }
        if reps < 100 { throw ValidationError("--reps must be at least 100 for a meaningful 95% interval, not \(reps).") }
    }

    func run() throws {
        let urls = paths.map { URL(fileURLWithPath: $0) }
        let folders = try RunFolders.find(under: urls)
        if folders.isEmpty {
            throw ValidationError("No run folders (with config.json or evaluation.json) under \(paths.joined(separator: ", ")). Train with `arena train` or `arena sweep` first.")
        }
        let games = Set(folders.compactMap { try? RunFolders.load($0).game })
        let table: ReferenceTable
        if let csv = referenceTable {
            table = try ReferenceScore.loadTable(csv: URL(fileURLWithPath: csv))
        } else {
            table = Self.catalogReferenceScores(games: games)
        }
        let options = CompareOptions(reference: table, showDQNNature: reference == "dqn_nature",
                                     bootstrap: StratifiedBootstrap(reps: reps, seed: seed), includeUnfinished: includeUnfinished)
        let comparison = try Comparison.load(paths: urls, options: options)
        if comparison.groups.isEmpty {
            let reasons = comparison.skipped.map { "  \($0.folder.path): \($0.reason)" }.joined(separator: "\n")
            throw ValidationError("None of the \(folders.count) run folder(s) holds a finished run\(includeUnfinished ? " or an evaluated iteration" : " (--include-unfinished compares runs in progress)"):\n\(reasons)")
        }
        let report = CompareReport(comparison)
        let outURL = URL(fileURLWithPath: out)
        let files = try report.write(to: outURL)

        for w in comparison.warnings { print("warning: \(w)") }
        for s in comparison.skipped { print("skipped \(s.folder.path): \(s.reason)") }
        for g in comparison.groups {
            let parts = AggregateMetric.allCases.map { m in "\(m.title) \(g.aggregates[m].map(CompareReport.estimate) ?? "n/a")" }
            print("\(g.key.label): \(g.rows.count) game(s), \(g.runs.count) run(s); " + parts.joined(separator: "; "))
            for n in g.notes { print("  note: \(n)") }
        }
        print("wrote \(files.count) file(s) to \(outURL.path) (open \(outURL.appendingPathComponent("report.html").path))")
    }

    /// Reference scores from the games catalog: the one place compare touches it.
    static func catalogReferenceScores(games: Set<String>) -> ReferenceTable {
        var table = ReferenceTable()
        for g in games {
            guard let info = GameCatalog.info(g), let r = info.random, let h = info.human else { continue }
            table[g] = ReferenceScore(random: r, human: h, dqnNature: info.dqnNature)
        }
        return table
    }
}
