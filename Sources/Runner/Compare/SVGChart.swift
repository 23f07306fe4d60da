import Foundation

/// Hand-written SVG charts (no dependencies): per-game normalized scores, performance profiles
/// and learning curves. Each function returns a complete standalone SVG document.
public enum SVGChart {
    /// Colour-blind-safe palette (Okabe and Ito).
    static let palette = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442", "#000000"]
    public static func color(_ i: Int) -> String { palette[i % palette.count] }

    public struct Series {
        public var label: String
        public var color: String
        public var points: [(x: Double, y: Double)]
        /// Optional band (same x as points): lower and upper y.
        public var band: [(lower: Double, upper: Double)]?
        public var dashed: Bool
        public init(label: String, color: String, points: [(x: Double, y: Double)], band: [(lower: Double, upper: Double)]? = nil, dashed: Bool = false) {
            self.label = label; self.color = color; self.points = points; self.band = band; self.dashed = dashed
        }
    }

    /// Per-game human-normalized scores: one bar per group and game with its 95% interval as a
    /// whisker, Nature DQN as a black tick, and dashed lines at 0 (random) and 1 (human).
    public static func normalizedScores(_ comparison: Comparison) -> String {
        let groups = comparison.groups
        let games = Array(Set(groups.flatMap { $0.rows.filter { $0.hns != nil }.map(\.game) })).sorted()
        let groupCount = max(groups.count, 1)
        let minSlot = Double(max(14 * groupCount + 10, 28))
        let legendCount = groups.count + (comparison.options.showDQNNature ? 1 : 0)
        let left = 60.0, right = 20.0, top = 40.0, bottom = 100.0 + Double(legendCount) * 14
        let plotW = max(minSlot * Double(max(games.count, 1)), 480)
        let slot = plotW / Double(max(games.count, 1))
        let width = left + plotW + right
        let height = top + 260 + bottom
        var values: [Double] = [0, 1]
        for g in groups {
            for r in g.rows {
                if let h = r.hns { values.append(h) }
                if let c = r.hnsCI { values += [c.lower, c.upper] }
                if comparison.options.showDQNNature, let ref = r.reference, let d = ref.dqnNature { values.append(ref.humanNormalized(d)) }
            }
        }
        let y = Axis(min: values.min() ?? 0, max: values.max() ?? 1, pixelsFrom: top + 260, to: top)
        var s = header(width: width, height: height, title: "Human-normalized score per game")
        s += yAxis(y, left: left, right: left + plotW, label: "human-normalized score")
        for ref in [0.0, 1.0] where ref >= y.lo && ref <= y.hi {
            s += "<line x1=\"\(f(left))\" y1=\"\(f(y.px(ref)))\" x2=\"\(f(left + plotW))\" y2=\"\(f(y.px(ref)))\" stroke=\"#888\" stroke-dasharray=\"4 3\"/>\n"
            s += "<text x=\"\(f(left + plotW - 2))\" y=\"\(f(y.px(ref) - 3))\" text-anchor=\"end\" font-size=\"10\" fill=\"#666\">\(ref == 0 ? "random" : "human")</text>\n"
        }
        let bw = min(24, (slot - 10) / Double(groupCount))
        for (gi, game) in games.enumerated() {
            let x0 = left + Double(gi) * slot + (slot - bw * Double(groupCount)) / 2
            var dqnDrawn = false
            for (k, g) in groups.enumerated() {
                guard let row = g.rows.first(where: { $0.game == game }), let h = row.hns else { continue }
                let bx = x0 + Double(k) * bw
                let y0 = y.px(0), y1 = y.px(h)
                s += "<rect x=\"\(f(bx))\" y=\"\(f(min(y0, y1)))\" width=\"\(f(bw - 1))\" height=\"\(f(abs(y1 - y0)))\" fill=\"\(color(k))\">"
                s += "<title>\(esc(g.key.label)) \(esc(game)): \(fmt(h, 3))</title></rect>\n"
                if let c = row.hnsCI {
                    let cx = bx + (bw - 1) / 2
                    s += "<line x1=\"\(f(cx))\" y1=\"\(f(y.px(c.lower)))\" x2=\"\(f(cx))\" y2=\"\(f(y.px(c.upper)))\" stroke=\"#222\"/>\n"
                }
                if !dqnDrawn, comparison.options.showDQNNature, let ref = row.reference, let d = ref.dqnNature {
                    let yd = y.px(ref.humanNormalized(d))
                    s += "<line x1=\"\(f(x0 - 4))\" y1=\"\(f(yd))\" x2=\"\(f(x0 + bw * Double(groupCount) + 3))\" y2=\"\(f(yd))\" stroke=\"#000\" stroke-width=\"2\"><title>Nature DQN \(esc(game)): \(fmt(ref.humanNormalized(d), 3))</title></line>\n"
                    dqnDrawn = true
                }
            }
            let lx = x0 + bw * Double(groupCount) / 2 - 3
            s += "<text transform=\"translate(\(f(lx)),\(f(top + 266))) rotate(60)\" font-size=\"10\">\(esc(game))</text>\n"
        }
        var legend = groups.enumerated().map { (k, g) in (g.key.label, color(k), false) }
        if comparison.options.showDQNNature { legend.append(("Nature DQN (published)", "#000", false)) }
        s += legendSVG(legend, x: left, y: top + 260 + 96)
        return s + "</svg>\n"
    }

    /// Performance profiles: fraction of runs x games with normalized score above tau, with the
    /// bootstrap 95% band.
    public static func performanceProfile(_ comparison: Comparison) -> String {
        let series: [Series] = comparison.groups.enumerated().compactMap { (k, g) in
            guard !g.profile.isEmpty else { return nil }
            return Series(label: g.key.label, color: color(k),
                          points: zip(comparison.taus, g.profile).map { ($0, $1.point) },
                          band: g.profile.map { ($0.lower, $0.upper) })
        }
        return lineChart(title: "Performance profile (score distribution)", series: series,
                         xLabel: "human-normalized score \u{3C4}", yLabel: "fraction of runs with score > \u{3C4}",
                         yRange: (0, 1), step: true)
    }

    /// Learning curves of every run of `game`: evaluation mean return against agent steps (solid),
    /// and the training episodes' mean return per iteration (dashed, same colour) where the
    /// metrics have it: the gap between the two is what exploration and the evaluation's own
    /// epsilon and episode cap cost. One colour per group; when only one group ran the game, one
    /// colour per seed instead, so its seeds can be told apart.
    public static func learningCurves(_ comparison: Comparison, game: String) -> String {
        var series: [Series] = []
        let groups = comparison.groups.filter { g in g.runs.contains { $0.game == game && !$0.curve.isEmpty } }
        for (k, g) in groups.enumerated() {
            let runs = g.runs.filter { $0.game == game && !$0.curve.isEmpty }.sorted { $0.seed < $1.seed }
            for (i, r) in runs.enumerated() {
                let shade = color(groups.count == 1 ? i : k)
                series.append(Series(label: "\(g.key.label) seed \(r.seed)", color: shade,
                                     points: r.curve.map { (Double($0.agentSteps), $0.evalMeanReturn) }))
                let training = r.curve.compactMap { p in p.trainMeanReturn.map { (x: Double(p.agentSteps), y: $0) } }
                if !training.isEmpty {
                    series.append(Series(label: "\(g.key.label) seed \(r.seed), training episodes", color: shade,
                                         points: training, dashed: true))
                }
            }
        }
        return lineChart(title: "Learning curves: \(game)", series: series, xLabel: "agent steps",
                         yLabel: "mean return (evaluation solid, training dashed)", yRange: nil, step: false)
    }

    /// A line chart with optional bands and a legend.
    public static func lineChart(title: String, series: [Series], xLabel: String, yLabel: String,
                                 yRange: (Double, Double)?, step: Bool) -> String {
        let left = 64.0, right = 20.0, top = 40.0, plotH = 260.0, plotW = 480.0
        let legendH = Double(series.count) * 14 + 8
        let width = left + plotW + right, height = top + plotH + 50 + legendH
        let xs = series.flatMap { $0.points.map(\.x) }
        var ys = series.flatMap { $0.points.map(\.y) }
        ys += series.flatMap { $0.band?.flatMap { [$0.lower, $0.upper] } ?? [] }
        let x = Axis(min: xs.min() ?? 0, max: xs.max() ?? 1, pixelsFrom: left, to: left + plotW)
        let y = yRange.map { Axis(min: $0.0, max: $0.1, pixelsFrom: top + plotH, to: top, nice: false) }
            ?? Axis(min: ys.min() ?? 0, max: ys.max() ?? 1, pixelsFrom: top + plotH, to: top)
        var s = header(width: width, height: height, title: title)
        s += yAxis(y, left: left, right: left + plotW, label: yLabel)
        s += xAxis(x, bottom: top + plotH, top: top, label: xLabel)
        if series.isEmpty {
            s += "<text x=\"\(f(left + plotW / 2))\" y=\"\(f(top + plotH / 2))\" text-anchor=\"middle\" fill=\"#666\">no data</text>\n"
        }
        for sr in series {
            if let band = sr.band, band.count == sr.points.count, !band.isEmpty {
                // Corners of the band; a step chart holds each value until the next x.
                var upper: [(Double, Double)] = [], lower: [(Double, Double)] = []
                for (i, (p, b)) in zip(sr.points, band).enumerated() {
                    if step, i > 0 {
                        upper.append((p.x, band[i - 1].upper)); lower.append((p.x, band[i - 1].lower))
                    }
                    upper.append((p.x, b.upper)); lower.append((p.x, b.lower))
                }
                let pts = (upper + lower.reversed()).map { "\(f(x.px($0.0))),\(f(y.px($0.1)))" }
                s += "<polygon points=\"\(pts.joined(separator: " "))\" fill=\"\(sr.color)\" fill-opacity=\"0.2\" stroke=\"none\"/>\n"
            }
            var pts: [String] = []
            for (i, p) in sr.points.enumerated() {
                if step, i > 0 { pts.append("\(f(x.px(p.x))),\(f(y.px(sr.points[i - 1].y)))") }
                pts.append("\(f(x.px(p.x))),\(f(y.px(p.y)))")
            }
            let dash = sr.dashed ? " stroke-dasharray=\"5 3\"" : ""
            s += "<polyline points=\"\(pts.joined(separator: " "))\" fill=\"none\" stroke=\"\(sr.color)\" stroke-width=\"1.8\"\(dash)><title>\(esc(sr.label))</title></polyline>\n"
            if sr.points.count == 1, let p = sr.points.first {
                s += "<circle cx=\"\(f(x.px(p.x)))\" cy=\"\(f(y.px(p.y)))\" r=\"3\" fill=\"\(sr.color)\"/>\n"
            }
        }
        s += legendSVG(series.map { ($0.label, $0.color, $0.dashed) }, x: left, y: top + plotH + 44)
        return s + "</svg>\n"
    }

    // MARK: - Pieces

    /// A linear axis mapping data to pixels, with 1-2-5 ticks.
    struct Axis {
        var lo: Double, hi: Double, p0: Double, p1: Double, ticks: [Double]
        init(min a: Double, max b: Double, pixelsFrom p0: Double, to p1: Double, nice: Bool = true) {
            var lo = a, hi = b
            if hi - lo < 1e-12 { lo -= 0.5; hi += 0.5 }
            let raw = (hi - lo) / 5
            let mag = pow(10, (log10(raw)).rounded(.down))
            let stepUnit = [1.0, 2, 5, 10].first { $0 * mag >= raw } ?? 10
            let step = stepUnit * mag
            if nice { lo = (lo / step).rounded(.down) * step; hi = (hi / step).rounded(.up) * step }
            var t: [Double] = []
            var v = (lo / step).rounded(.up) * step
            while v <= hi + step * 1e-9 { t.append(abs(v) < step * 1e-9 ? 0 : v); v += step }
            self.lo = lo; self.hi = hi; self.p0 = p0; self.p1 = p1; self.ticks = t
        }
        func px(_ v: Double) -> Double { p0 + (v - lo) / (hi - lo) * (p1 - p0) }
    }

    static func header(width: Double, height: Double, title: String) -> String {
        """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(f(width))" height="\(f(height))" viewBox="0 0 \(f(width)) \(f(height))" font-family="Helvetica, Arial, sans-serif">
        <title>\(esc(title))</title>
        <rect x="0" y="0" width="\(f(width))" height="\(f(height))" fill="#fff"/>
        <text x="\(f(width / 2))" y="20" text-anchor="middle" font-size="14" font-weight="bold">\(esc(title))</text>

        """
    }

    static func yAxis(_ y: Axis, left: Double, right: Double, label: String) -> String {
        var s = "<line x1=\"\(f(left))\" y1=\"\(f(y.p0))\" x2=\"\(f(left))\" y2=\"\(f(y.p1))\" stroke=\"#333\"/>\n"
        for t in y.ticks {
            let py = y.px(t)
            s += "<line x1=\"\(f(left))\" y1=\"\(f(py))\" x2=\"\(f(right))\" y2=\"\(f(py))\" stroke=\"#eee\"/>\n"
            s += "<text x=\"\(f(left - 4))\" y=\"\(f(py + 3))\" text-anchor=\"end\" font-size=\"10\">\(esc(tickLabel(t)))</text>\n"
        }
        let cy = (y.p0 + y.p1) / 2
        s += "<text transform=\"translate(14,\(f(cy))) rotate(-90)\" text-anchor=\"middle\" font-size=\"11\">\(esc(label))</text>\n"
        return s
    }

    static func xAxis(_ x: Axis, bottom: Double, top: Double, label: String) -> String {
        var s = "<line x1=\"\(f(x.p0))\" y1=\"\(f(bottom))\" x2=\"\(f(x.p1))\" y2=\"\(f(bottom))\" stroke=\"#333\"/>\n"
        for t in x.ticks {
            let px = x.px(t)
            s += "<line x1=\"\(f(px))\" y1=\"\(f(bottom))\" x2=\"\(f(px))\" y2=\"\(f(bottom + 4))\" stroke=\"#333\"/>\n"
            s += "<text x=\"\(f(px))\" y=\"\(f(bottom + 15))\" text-anchor=\"middle\" font-size=\"10\">\(esc(tickLabel(t)))</text>\n"
        }
        s += "<text x=\"\(f((x.p0 + x.p1) / 2))\" y=\"\(f(bottom + 32))\" text-anchor=\"middle\" font-size=\"11\">\(esc(label))</text>\n"
        return s
    }

    static func legendSVG(_ items: [(String, String, Bool)], x: Double, y: Double) -> String {
        var s = ""
        for (i, item) in items.enumerated() {
            let yy = y + Double(i) * 14
            let dash = item.2 ? " stroke-dasharray=\"5 3\"" : ""
            s += "<line x1=\"\(f(x))\" y1=\"\(f(yy - 4))\" x2=\"\(f(x + 18))\" y2=\"\(f(yy - 4))\" stroke=\"\(item.1)\" stroke-width=\"4\"\(dash)/>\n"
            s += "<text x=\"\(f(x + 24))\" y=\"\(f(yy))\" font-size=\"11\">\(esc(item.0))</text>\n"
        }
        return s
    }

    static func tickLabel(_ v: Double) -> String {
        let a = abs(v)
        if a >= 1e6 { return fmt(v / 1e6, a.truncatingRemainder(dividingBy: 1e6) == 0 ? 0 : 1) + "M" }
        if a >= 1e4 { return fmt(v / 1e3, a.truncatingRemainder(dividingBy: 1e3) == 0 ? 0 : 1) + "k" }
        if v == v.rounded() { return fmt(v, 0) }
        return String(format: "%g", v)
    }

    /// Pixel coordinates with two decimals.
    static func f(_ v: Double) -> String { String(format: "%.2f", v) }
    static func fmt(_ v: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", v) }

    /// Escapes text for XML content and attribute values.
    public static func esc(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for ch in s {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(ch)
            }
        }
        return out
    }
}
