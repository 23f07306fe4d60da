import ArenaSupport
import Foundation

/// The comparison report: report.md, a self-contained report.html (inline CSS and SVG, no external
/// assets) and the SVG charts under charts/.
///
/// Number formats (tests rely on them): raw scores with 2 decimals, human-normalized scores and
/// aggregates with 3 decimals, intervals as `[lower, upper]`.
public struct CompareReport {
    public var comparison: Comparison
    public init(_ comparison: Comparison) { self.comparison = comparison }

    /// A chart: file name under charts/, caption and SVG document.
    public struct Chart { public var file: String; public var caption: String; public var svg: String }

    public var charts: [Chart] {
        var c = [Chart(file: "normalized-scores.svg", caption: "Human-normalized score per game (bars: mean over seeds, whiskers: 95% t-interval over seeds)",
                       svg: SVGChart.normalizedScores(comparison)),
                 Chart(file: "performance-profile.svg", caption: "Performance profile with stratified-bootstrap 95% bands",
                       svg: SVGChart.performanceProfile(comparison))]
        let games = Set(comparison.groups.flatMap { $0.runs.map(\.game) }).sorted()
        for g in games {
            c.append(Chart(file: "learning-curves-\(Self.fileSafe(g)).svg", caption: "Learning curves: \(g)",
                           svg: SVGChart.learningCurves(comparison, game: g)))
        }
        return c
    }

    /// Writes report.md, report.html and charts/*.svg into `folder` (created if needed), each
    /// file atomically. Returns the written files.
    @discardableResult
    public func write(to folder: URL) throws -> [URL] {
        let chartsDir = folder.appendingPathComponent("charts", isDirectory: true)
        do {
            try FileManager.default.createDirectory(at: chartsDir, withIntermediateDirectories: true)
        } catch {
            throw RunFolderError.cannotCreateFolder(path: chartsDir.path, reason: error.localizedDescription)
        }
        let charts = self.charts
        var written: [URL] = []
        for c in charts {
            let u = chartsDir.appendingPathComponent(c.file)
            try AtomicFile.write(Data(c.svg.utf8), to: u)
            written.append(u)
        }
        let md = folder.appendingPathComponent("report.md")
        try AtomicFile.write(Data(markdown(charts: charts).utf8), to: md)
        let html = folder.appendingPathComponent("report.html")
        try AtomicFile.write(Data(self.html(charts: charts).utf8), to: html)
        return [md, html] + written
    }

    // MARK: - Tables as rows of cells, shared by Markdown and HTML

    struct Table { var header: [String]; var rows: [[String]] }

    var intro: [String] {
        let b = comparison.options.bootstrap
        let runs = comparison.groups.flatMap(\.runs)
        let unfinished = runs.filter { $0.interimAgentSteps != nil }.count
        let counted = unfinished == 0 ? "\(runs.count) complete run(s)"
            : "\(runs.count - unfinished) complete and \(unfinished) unfinished run(s)"
        return [
            "\(counted) in \(comparison.groups.count) group(s) (agent, protocol); runs of different protocols are never pooled.",
            "Per-game 95% intervals: Student-t over seeds, on the mean of each run's final evaluation score (needs 2+ seeds).",
            "Aggregates (rliable, Agarwal et al. 2021) on human-normalized scores (score - random) / (human - random): median and mean of per-game means, interquartile mean (IQM) and optimality gap (gamma = 1) over all runs x games; 95% intervals from a stratified bootstrap over runs, percentile method, \(b.reps) replications, seed \(b.seed).",
        ]
    }

    var groupsTable: Table {
        Table(header: ["Group", "Agent", "Protocol", "Games", "Runs", "Seeds"],
              rows: comparison.groups.map { g in
                  let seeds = Set(g.runs.map(\.seed)).sorted().map(String.init).joined(separator: ", ")
                  return [g.key.label, g.key.agent, g.key.protocolName, "\(g.rows.count)", "\(g.runs.count)", seeds]
              })
    }

    var aggregateTable: Table {
        var rows: [[String]] = []
        for g in comparison.groups {
            guard let m = g.matrix else {
                rows.append([g.key.label, g.key.protocolName, "0"] + AggregateMetric.allCases.map { _ in "n/a" })
                continue
            }
            rows.append([g.key.label, g.key.protocolName, "\(m.gameCount) x \(m.runCount)"]
                + AggregateMetric.allCases.map { g.aggregates[$0].map(Self.estimate) ?? "n/a" })
            if let d = g.dqnNatureAggregates {
                rows.append(["Nature DQN (published) on the games of \(g.key.label)", "nature2015", "\(m.gameCount) x 1"]
                    + AggregateMetric.allCases.map { d[$0].map { Self.num($0, 3) } ?? "n/a" })
            }
        }
        return Table(header: ["Group", "Protocol", "Games x runs"] + AggregateMetric.allCases.map(\.title), rows: rows)
    }

    func gameTable(_ g: RunGroup) -> Table {
        var header = ["Game", "Seeds", "Mean score", "95% CI (t)", "HNS", "HNS 95% CI", "Random", "Human"]
        if comparison.options.showDQNNature { header += ["Nature DQN", "Nature DQN HNS"] }
        let rows: [[String]] = g.rows.map { r in
            var cells = [r.game, r.seeds.map(String.init).joined(separator: ", "), Self.num(r.meanScore, 2),
                         r.scoreCI.map { Self.interval($0, 2) } ?? "n/a (1 seed)",
                         r.hns.map { Self.num($0, 3) } ?? "n/a", r.hnsCI.map { Self.interval($0, 3) } ?? "n/a",
                         r.reference.map { Self.num($0.random, 1) } ?? "n/a", r.reference.map { Self.num($0.human, 1) } ?? "n/a"]
            if comparison.options.showDQNNature {
                let d = r.reference?.dqnNature
                cells += [d.map { Self.num($0, 1) } ?? "n/a",
                          r.reference.flatMap { ref in d.map { Self.num(ref.humanNormalized($0), 3) } } ?? "n/a"]
            }
            return cells
        }
        return Table(header: header, rows: rows)
    }

    /// Each compared run: its score and what it cost on the machine that trained it.
    var runsTable: Table {
        let rows: [[String]] = comparison.groups.flatMap { g in
            g.runs.sorted { ($0.game, $0.seed) < ($1.game, $1.seed) }.map { r in
                let score = r.finalMean.map { Self.num($0, 2) + (r.interimAgentSteps != nil ? " (unfinished)" : "") } ?? "n/a"
                let c = r.cost
                return [g.key.label, r.game, "\(r.seed)", score,
                        r.finalMeanAtEpsilon001.map { Self.num($0, 2) } ?? "n/a",
                        r.trainMeanReturn.map { Self.num($0, 2) } ?? "n/a",
                        c.map { ProgressFormat.count($0.agentSteps) } ?? "n/a",
                        c?.frames.map { ProgressFormat.count($0) } ?? "n/a",
                        c.map { ProgressFormat.duration($0.wallSeconds) } ?? "n/a",
                        c?.trainingStepsPerSecond.map { Self.num($0, 1) } ?? "n/a",
                        c?.overallStepsPerSecond.map { Self.num($0, 1) } ?? "n/a"]
            }
        }
        return Table(header: ["Group", "Game", "Seed", "Score", "Score at epsilon 0.01", "Training return",
                              "Agent steps", "Frames", "Wall time",
                              "Steps/s (training)", "Steps/s (overall)"], rows: rows)
    }

    static let runsNote = "Score: the protocol's (its evaluation epsilon). Beside it, never pooled with it: the final "
        + "evaluation's episodes again at epsilon 0.01 (the training epsilon CleanRL reports at) and the mean return of the "
        + "training episodes of the last iteration (n/a for runs recorded before these were kept). "
        + "Agent steps, frames and wall time up to each run's last iteration (training, "
        + "per-iteration evaluations and checkpoints, summed over resumes; the final evaluation is not included). "
        + "Steps/s (training): agent steps over the training phases' time; (overall): over the wall time."

    var skippedLines: [String] { comparison.skipped.map { "\($0.folder.path): \($0.reason)" } }

    // MARK: - Markdown

    public func markdown(charts: [Chart]? = nil) -> String {
        let charts = charts ?? self.charts
        var s = "# AtariArena comparison\n\n"
        for line in intro { s += line + "\n" }
        s += "\n"
        if !comparison.warnings.isEmpty {
            s += "## Warnings\n\n"
            for w in comparison.warnings { s += "- **Warning:** \(w)\n" }
            s += "\n"
        }
        s += "## Groups\n\n" + Self.markdownTable(groupsTable) + "\n"
        s += "## Aggregates (human-normalized scores)\n\nOptimality gap: lower is better.\n\n" + Self.markdownTable(aggregateTable) + "\n"
        for g in comparison.groups {
            s += "## Per-game scores: \(g.key.agent), protocol \(g.key.protocolName)\n\n"
            for n in g.notes { s += "> Note: \(n)\n\n" }
            s += Self.markdownTable(gameTable(g)) + "\n"
        }
        s += "## Runs\n\n\(Self.runsNote)\n\n" + Self.markdownTable(runsTable) + "\n"
        if !skippedLines.isEmpty {
            s += "## Runs left out\n\n"
            for l in skippedLines { s += "- \(l)\n" }
            s += "\n"
        }
        s += "## Charts\n\n"
        for c in charts { s += "![\(c.caption)](charts/\(c.file))\n\n" }
        return s
    }

    static func markdownTable(_ t: Table) -> String {
        func cell(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|") }
        var s = "| " + t.header.map(cell).joined(separator: " | ") + " |\n"
        s += "|" + t.header.indices.map { $0 == 0 ? " --- |" : " ---: |" }.joined() + "\n"
        for r in t.rows { s += "| " + r.map(cell).joined(separator: " | ") + " |\n" }
        return s
    }

    // MARK: - HTML

    public func html(charts: [Chart]? = nil) -> String {
        let charts = charts ?? self.charts
        let e = SVGChart.esc
        var s = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>AtariArena comparison</title>
        <style>
        body { font-family: Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; padding: 0 1em; }
        table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 13px; }
        th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
        th:first-child, td:first-child { text-align: left; }
        th { background: #f3f3f3; }
        .warning { background: #fff4e0; border-left: 4px solid #E69F00; padding: 0.5em 1em; margin: 0.5em 0; }
        .note { color: #555; font-style: italic; }
        figure { margin: 1em 0; overflow-x: auto; }
        figcaption { font-size: 13px; color: #555; }
        </style>
        </head>
        <body>
        <h1>AtariArena comparison</h1>

        """
        for line in intro { s += "<p>\(e(line))</p>\n" }
        for w in comparison.warnings { s += "<div class=\"warning\"><strong>Warning:</strong> \(e(w))</div>\n" }
        s += "<h2>Groups</h2>\n" + Self.htmlTable(groupsTable)
        s += "<h2>Aggregates (human-normalized scores)</h2>\n<p>Optimality gap: lower is better.</p>\n" + Self.htmlTable(aggregateTable)
        for g in comparison.groups {
            s += "<h2>Per-game scores: \(e(g.key.agent)), protocol \(e(g.key.protocolName))</h2>\n"
            for n in g.notes { s += "<p class=\"note\">Note: \(e(n))</p>\n" }
            s += Self.htmlTable(gameTable(g))
        }
        s += "<h2>Runs</h2>\n<p>\(e(Self.runsNote))</p>\n" + Self.htmlTable(runsTable)
        if !skippedLines.isEmpty {
            s += "<h2>Runs left out</h2>\n<ul>\n" + skippedLines.map { "<li>\(e($0))</li>\n" }.joined() + "</ul>\n"
        }
        s += "<h2>Charts</h2>\n"
        for c in charts {
            s += "<figure>\n\(Self.inlineSVG(c.svg))<figcaption>\(e(c.caption))</figcaption>\n</figure>\n"
        }
        return s + "</body>\n</html>\n"
    }

    static func htmlTable(_ t: Table) -> String {
        let e = SVGChart.esc
        var s = "<table>\n<thead><tr>" + t.header.map { "<th>\(e($0))</th>" }.joined() + "</tr></thead>\n<tbody>\n"
        for r in t.rows { s += "<tr>" + r.map { "<td>\(e($0))</td>" }.joined() + "</tr>\n" }
        return s + "</tbody>\n</table>\n"
    }

    /// The SVG element without its XML declaration, for embedding in HTML.
    static func inlineSVG(_ svg: String) -> String {
        guard let r = svg.range(of: "<svg") else { return svg }
        return String(svg[r.lowerBound...])
    }

    // MARK: - Number formats

    public static func num(_ v: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", v) }
    public static func interval(_ e: Estimate, _ digits: Int) -> String { "[\(num(e.lower, digits)), \(num(e.upper, digits))]" }
    public static func estimate(_ e: Estimate) -> String { "\(num(e.point, 3)) \(interval(e, 3))" }

    static func fileSafe(_ s: String) -> String {
        String(s.map { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" ? $0 : "_" })
    }
}
