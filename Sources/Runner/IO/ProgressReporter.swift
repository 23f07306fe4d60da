#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// What the progress line shows, as the training loop knows it.
public struct ProgressSnapshot: Equatable, Sendable {
    public var iteration: Int
    public var phase: MetricsPhase
    public var agentSteps: Int
    public var budgetAgentSteps: Int
    public var frames: Int
    /// Mean return of the last (up to) 10 finished training episodes; see `RecentMean`.
    public var recentMeanReturn: Double?
    public var epsilon: Double?
    public var loss: Double?
    public var replayFill: Int
    public var replayCapacity: Int

    public init(iteration: Int, phase: MetricsPhase, agentSteps: Int, budgetAgentSteps: Int, frames: Int,
                recentMeanReturn: Double? = nil, epsilon: Double? = nil, loss: Double? = nil,
                replayFill: Int = 0, replayCapacity: Int = 0) {
        self.iteration = iteration
        self.phase = phase
        self.agentSteps = agentSteps
        self.budgetAgentSteps = budgetAgentSteps
        self.frames = frames
        self.recentMeanReturn = recentMeanReturn
        self.epsilon = epsilon
        self.loss = loss
        self.replayFill = replayFill
        self.replayCapacity = replayCapacity
    }
}

/// Mean of the last `capacity` values (recent episode returns). Fixed storage, no allocation
/// after init.
public struct RecentMean: Sendable {
    private var values: [Double]
    private var next = 0
    public private(set) var count = 0

    public init(capacity: Int = 10) {
        precondition(capacity >= 1, "RecentMean capacity must be >= 1, got \(capacity)")
        values = [Double](repeating: 0, count: capacity)
    }

    public mutating func add(_ value: Double) {
        values[next] = value
        next = (next + 1) % values.count
        count = min(count + 1, values.count)
    }

    /// Nil before the first value.
    public var mean: Double? {
        guard count > 0 else { return nil }
        // The filled slots are the first `count` ones until the ring wraps, then all of them.
        return values[0..<count].reduce(0, +) / Double(count)
    }
}

/// Agent steps per second over a sliding window. Cheap enough to call every step: it keeps about
/// 30 samples spaced over the window, plus the latest.
public struct RateMeter: Sendable {
    public let window: Double
    private var samples: [(time: Double, steps: Int)] = []
    private var latest: (time: Double, steps: Int)?

    public init(window: Double = 30) {
        precondition(window > 0, "RateMeter window must be > 0 seconds, got \(window)")
        self.window = window
        samples.reserveCapacity(40)
    }

    public mutating func record(agentSteps: Int, at time: Double) {
        if let last = latest, agentSteps < last.steps || time < last.time { samples.removeAll(keepingCapacity: true) }  // restarted
        latest = (time, agentSteps)
        if let last = samples.last, time - last.time < window / 30 { return }
        samples.append((time, agentSteps))
        // Keep one sample at or before the window's start so the span covers the whole window.
        while samples.count > 2 && samples[1].time <= time - window { samples.removeFirst() }
    }

    /// Steps per second, nil until two samples span some time.
    public var rate: Double? {
        guard let first = samples.first, let last = latest, last.time > first.time else { return nil }
        return Double(last.steps - first.steps) / (last.time - first.time)
    }
}

/// Pure formatting for the progress line.
public enum ProgressFormat {
    /// "45s", "3m05s", "1h02m", "2d03h"; "--" when unknown or not finite.
    public static func duration(_ seconds: Double?) -> String {
        guard let seconds, seconds.isFinite, seconds >= 0 else { return "--" }
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m" + twoDigits(s % 60) + "s" }
        if s < 86_400 { return "\(s / 3600)h" + twoDigits(s / 60 % 60) + "m" }
        return "\(s / 86_400)d" + twoDigits(s / 3600 % 24) + "h"
    }

    /// Time to finish `remainingSteps` at `stepsPerSecond`; "--" without a positive rate.
    public static func eta(remainingSteps: Int, stepsPerSecond: Double?) -> String {
        if remainingSteps <= 0 { return "0s" }
        guard let rate = stepsPerSecond, rate > 0 else { return "--" }
        return duration(Double(remainingSteps) / rate)
    }

    /// "999", "12.3k", "1.23M", "4.56G".
    public static func count(_ n: Int) -> String {
        let sign = n < 0 ? "-" : ""
        let a = Double(n.magnitude)
        if a < 1000 { return "\(n)" }
        if a < 999_950 { return sign + fixed(a / 1e3, 1) + "k" }
        if a < 999_995_000 { return sign + fixed(a / 1e6, 2) + "M" }
        return sign + fixed(a / 1e9, 2) + "G"
    }

    /// A number with `digits` decimals ("-15.20"), or "--".
    public static func fixed(_ value: Double?, _ digits: Int) -> String {
        guard let value, value.isFinite else { return "--" }
        return String(format: "%.\(digits)f", value)
    }

    /// A loss or other small positive quantity with 3 significant digits ("0.0123", "1.23e-05").
    public static func significant(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "--" }
        return String(format: "%.3g", value)
    }

    public static func line(_ s: ProgressSnapshot, stepsPerSecond: Double?) -> String {
        let percent = s.budgetAgentSteps > 0 ? 100 * Double(s.agentSteps) / Double(s.budgetAgentSteps) : nil
        // Most telling first: a narrow terminal cuts the end of the line.
        var parts = [
            "iter \(s.iteration) \(s.phase.rawValue)",
            "\(count(s.agentSteps))/\(count(s.budgetAgentSteps)) steps (\(fixed(percent, 1))%)",
            "\(fixed(stepsPerSecond, 0)) steps/s",
            "ETA \(eta(remainingSteps: s.budgetAgentSteps - s.agentSteps, stepsPerSecond: stepsPerSecond))",
            "return(10) \(fixed(s.recentMeanReturn, 1))",
            "eps \(fixed(s.epsilon, 3))",
            "loss \(significant(s.loss))",
        ]
        if s.replayCapacity > 0 {
            parts.append("replay \(fixed(100 * Double(s.replayFill) / Double(s.replayCapacity), 0))% of \(count(s.replayCapacity))")
        }
        parts.append("\(count(s.frames)) frames")
        return parts.joined(separator: " | ")
    }

    /// The line printed when an iteration ends: its evaluation and how its training went.
    /// "iter 6 done | 350.0k steps | eval -11.5 ± 4.9 over 10 episodes, human-normalized 0.261 |
    ///  train return -14.4 over 7 episodes | 78 steps/s | eval took 1m22s"
    public static func iterationSummary(iteration: Int, agentSteps: Int, evaluation: EvaluationSummary?,
                                        trainMeanReturn: Double?, trainEpisodes: Int,
                                        trainStepsPerSecond: Double?, evalSeconds: Double) -> String {
        var parts = ["iter \(iteration) done", "\(count(agentSteps)) steps"]
        if let e = evaluation {
            var text = "eval \(fixed(e.mean, 1)) ± \(fixed(e.std, 1)) over \(e.episodes.count) episode\(e.episodes.count == 1 ? "" : "s")"
            if let h = e.humanNormalized { text += ", human-normalized \(fixed(h, 3))" }
            parts.append(text)
        } else {
            parts.append("no evaluation episodes")
        }
        parts.append(trainEpisodes == 0 ? "no training episode ended"
                     : "train return \(fixed(trainMeanReturn, 1)) over \(trainEpisodes) episode\(trainEpisodes == 1 ? "" : "s")")
        parts.append("\(fixed(trainStepsPerSecond, 0)) steps/s")
        if evaluation != nil { parts.append("eval took \(duration(evalSeconds))") }
        return parts.joined(separator: " | ")
    }

    private static func twoDigits(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}

/// The live progress line. On a terminal it redraws one line in place (carriage return, clear
/// line), at most 5 times a second, cut to the terminal's width; otherwise (a log file, CI) it
/// prints a plain line every `plainInterval` seconds and at the end of every iteration.
public final class ProgressReporter {
    public let isTerminal: Bool
    public let plainInterval: Double
    private let columns: Int
    private let output: (String) -> Void
    private var meter = RateMeter()
    private var lastDraw = -Double.infinity
    private var lineShown = false

    /// - Parameters:
    ///   - isTerminal: whether standard output is a terminal (default: `isatty(1)`).
    ///   - plainInterval: seconds between plain lines when not a terminal.
    ///   - columns: terminal width (default: asked from the terminal, else `COLUMNS`, else 80).
    ///   - output: where text goes (default: standard output, unbuffered).
    public init(isTerminal: Bool = isatty(1) != 0, plainInterval: Double = 30, columns: Int? = nil,
                output: @escaping (String) -> Void = ProgressReporter.writeToStandardOutput) {
        self.isTerminal = isTerminal
        self.plainInterval = plainInterval
        self.columns = columns ?? ProgressReporter.terminalColumns() ?? ProcessInfo.processInfo.environment["COLUMNS"].flatMap(Int.init) ?? 80
        self.output = output
    }

    /// The width of the terminal on standard output, if it is one.
    public static func terminalColumns() -> Int? {
        var size = winsize()
        guard ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
        return Int(size.ws_col)
    }

    /// Seconds on a monotonic clock.
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    public static func writeToStandardOutput(_ text: String) {
        var text = text
        text.withUTF8 { buffer in
            guard let base = buffer.baseAddress else { return }  // empty text
            var offset = 0
            while offset < buffer.count {
                // safe because: offset < buffer.count and the length passed is what remains.
                let n = write(1, base + offset, buffer.count - offset)
                if n <= 0 { if n < 0 && errno == EINTR { continue }; return }
                offset += n
            }
        }
    }

    /// Current steps/s over the last 30 s of training (nil at first).
    public var stepsPerSecond: Double? { meter.rate }

    /// Call as often as you like (every step is fine): drawing is throttled here.
    public func update(_ snapshot: ProgressSnapshot, now: Double = ProgressReporter.now()) {
        if snapshot.phase == .train { meter.record(agentSteps: snapshot.agentSteps, at: now) }
        let interval = isTerminal ? 0.2 : plainInterval
        guard now - lastDraw >= interval else { return }
        lastDraw = now
        draw(snapshot)
    }

    /// Always shows the state at the end of an iteration; on a terminal the line is kept
    /// (a newline follows) and the next update starts a fresh one.
    public func iterationFinished(_ snapshot: ProgressSnapshot, now: Double = ProgressReporter.now()) {
        lastDraw = now
        draw(snapshot)
        if isTerminal { output("\n") }
        lineShown = false
    }

    /// Prints a message on its own line (clearing the live line first on a terminal).
    public func message(_ text: String) {
        if isTerminal && lineShown { output("\r\u{1B}[2K") }
        output(text + "\n")
        lineShown = false
        lastDraw = -Double.infinity  // redraw the live line at the next update
    }

    /// Ends the live line so later output starts on a new line.
    public func finish() {
        if isTerminal && lineShown { output("\n") }
        lineShown = false
    }

    private func draw(_ snapshot: ProgressSnapshot) {
        let line = ProgressFormat.line(snapshot, stepsPerSecond: meter.rate)
        if isTerminal {
            // A line longer than the terminal would wrap and break the in-place redraw.
            let width = max(10, columns - 1)
            output("\r\u{1B}[2K" + (line.count > width ? String(line.prefix(width - 1)) + "…" : line))
            lineShown = true
        } else {
            output(line + "\n")
        }
    }
}
