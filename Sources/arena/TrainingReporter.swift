#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Runner

/// A stop request from SIGINT or SIGTERM: the handler only sets a flag the training loop polls,
/// so the loop finishes its step and writes a checkpoint before exiting 0.
final class StopSignal: @unchecked Sendable {
    private let sources: [DispatchSourceSignal]
    private let lock = NSLock()
    private var flag = false
    var requested: Bool { lock.lock(); defer { lock.unlock() }; return flag }

    private init(sources: [DispatchSourceSignal]) { self.sources = sources }

    static func install() -> StopSignal {
        var sources: [DispatchSourceSignal] = []
        let queue = DispatchQueue(label: "arena.signals")
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)  // delivered to the dispatch source instead of killing us
            sources.append(DispatchSource.makeSignalSource(signal: sig, queue: queue))
        }
        let stop = StopSignal(sources: sources)
        for s in sources {
            s.setEventHandler { [weak stop] in
                guard let stop else { return }
                stop.lock.lock(); stop.flag = true; stop.lock.unlock()
                FileHandle.standardError.write(Data("\narena: stop requested; finishing the step and writing a checkpoint...\n".utf8))
            }
            s.resume()
        }
        return stop
    }
}

/// Prints training progress: one redrawn line on a terminal, plain lines every 30 s otherwise.
final class TrainingReporter {
    let tty: Bool
    private var lastPlain = Date.distantPast
    private var drawn = false

    init(plain: Bool) { tty = !plain && isatty(STDOUT_FILENO) == 1 }

    func update(_ p: TrainingProgress) {
        let line = Self.format(p)
        if tty {
            FileHandle.standardOutput.write(Data("\r\u{1B}[2K\(line)".utf8))
            drawn = true
        } else if Date().timeIntervalSince(lastPlain) >= 30 || p.phase.hasPrefix("iteration") {
            lastPlain = Date()
            print(line)
            fflush(stdout)
        }
    }

    func message(_ s: String) {
        if drawn { print("") ; drawn = false }
        print(s)
        fflush(stdout)
    }

    func finish() { if drawn { print(""); drawn = false } }

    static func format(_ p: TrainingProgress) -> String {
        let remaining = max(0, p.budgetAgentSteps - p.agentSteps)
        let eta = p.stepsPerSecond > 0 ? duration(Double(remaining) / p.stepsPerSecond) : "?"
        let pct = 100 * Double(p.agentSteps) / Double(max(1, p.budgetAgentSteps))
        var parts = [
            String(format: "[it %d] %@ steps (%.1f%%), %@ frames", p.iteration, count(p.agentSteps), pct, count(p.frames)),
            String(format: "%.0f steps/s", p.stepsPerSecond), "ETA \(eta)",
        ]
        if let r = p.recentMeanReturn { parts.append(String(format: "return(10) %.1f", r)) }
        if let e = p.lastEvalMean { parts.append(String(format: "eval %.1f", e)) }
        parts.append(String(format: "eps %.3f", p.statistics.epsilon))
        if let l = p.statistics.lastLoss { parts.append(String(format: "loss %.4f", l)) }
        parts.append("replay \(count(p.statistics.replayTransitions))/\(count(p.statistics.replayCapacity))")
        if p.phase != "train" { parts.append(p.phase) }
        return parts.joined(separator: " | ")
    }

    static func count(_ n: Int) -> String {
        n >= 1_000_000 ? String(format: "%.2fM", Double(n) / 1e6) : n >= 10_000 ? String(format: "%.1fk", Double(n) / 1e3) : String(n)
    }

    static func duration(_ s: Double) -> String {
        let t = Int(s.rounded())
        return t >= 3600 ? String(format: "%dh%02dm", t / 3600, (t % 3600) / 60) : String(format: "%dm%02ds", t / 60, t % 60)
    }
}
