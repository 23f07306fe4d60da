#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// How one task of a sweep ended.
public enum TaskOutcome: Equatable, Sendable {
    /// The run folder was already complete; nothing was run.
    case alreadyComplete
    /// The process exited 0 and the run folder is complete.
    case completed
    /// It failed: non-zero exit, a timeout, or a run folder left incomplete. `log` is where its output is.
    case failed(reason: String, log: String)
}

public struct SweepSummary: Equatable, Sendable {
    public var outcomes: [(task: SweepTask, outcome: TaskOutcome)]
    public var skipped: Int { outcomes.filter { $0.outcome == .alreadyComplete }.count }
    public var completed: Int { outcomes.filter { $0.outcome == .completed }.count }
    public var failures: [(task: SweepTask, reason: String, log: String)] {
        outcomes.compactMap { o in
            if case let .failed(reason, log) = o.outcome { return (o.task, reason, log) }
            return nil
        }
    }

    /// A few lines for the terminal: counts, then one line per failure with its log.
    public var text: String {
        var s = "sweep: \(outcomes.count) task(s): \(completed) completed, \(skipped) already complete, \(failures.count) failed\n"
        for f in failures { s += "  FAILED \(f.task.label): \(f.reason)" + (f.log.isEmpty ? "\n" : "; log: \(f.log)\n") }
        return s
    }

    public static func == (a: SweepSummary, b: SweepSummary) -> Bool {
        a.outcomes.count == b.outcomes.count && zip(a.outcomes, b.outcomes).allSatisfy { $0.task == $1.task && $0.outcome == $1.outcome }
    }
}

/// Runs a sweep on this machine: up to `jobs` task processes at once. Resumable: tasks whose run
/// folder is complete are skipped, the others (never started or interrupted) are run again, and
/// `arena train` resumes from the run folder's last checkpoint.
public struct LocalSweep {
    public var plan: SweepPlan
    public var jobs: Int
    /// Each task is terminated after this many seconds (nil: no limit).
    public var taskTimeout: Double?
    /// Log file name inside each run folder (the task's stdout and stderr, appended).
    public static let logName = "train.log"

    /// Stops the sweep from another thread (or a signal): running tasks get SIGTERM (their whole
    /// process group, so `arena train` saves and exits), no new task starts.
    public let control = SweepControl()
    /// On SIGINT/SIGTERM, stop as `control.interrupt()` does. The command line sets it; tests do not.
    public var handlesSignals: Bool

    public init(plan: SweepPlan, jobs: Int, taskTimeout: Double? = nil, handlesSignals: Bool = false) {
        precondition(jobs >= 1, "a local sweep needs at least 1 job slot, got \(jobs)")
        self.plan = plan; self.jobs = jobs; self.taskTimeout = taskTimeout; self.handlesSignals = handlesSignals
    }

    /// Runs every task not yet complete; `progress` gets one line per started and finished task.
    public func run(progress: @escaping @Sendable (String) -> Void = { print($0) }) -> SweepSummary {
        let tasks = plan.tasks
        let state = OutcomeBox(count: tasks.count)
        let slots = DispatchSemaphore(value: jobs)
        let group = DispatchGroup()
        let toRun = tasks.indices.filter { i in
            if plan.completion(of: tasks[i]).isComplete {
                state.outcomes[i] = .alreadyComplete
                return false
            }
            return true
        }
        if tasks.count > toRun.count {
            progress("sweep: \(tasks.count - toRun.count) of \(tasks.count) task(s) already complete, skipped")
        }
        var signalSources: [DispatchSourceSignal] = []
        if handlesSignals {
            for sig in [SIGINT, SIGTERM] {
                signal(sig, SIG_IGN)
                let src = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                src.setEventHandler { [control] in
                    if control.isInterrupted {
                        progress("sweep: second interrupt; killing the running tasks now (they resume from their last checkpoint)")
                    } else {
                        progress("sweep: interrupted; the running tasks save a checkpoint and stop "
                            + "(interrupt again to kill them at once; run the same command again to resume)")
                    }
                    control.interrupt()
                }
                src.resume()
                signalSources.append(src)
            }
        }
        defer {
            for src in signalSources { src.cancel() }
            if handlesSignals { signal(SIGINT, SIG_DFL); signal(SIGTERM, SIG_DFL) }
        }
        for (n, i) in toRun.enumerated() {
            let task = tasks[i]
            slots.wait()
            if control.isInterrupted {
                _ = state.record(.failed(reason: "not started: the sweep was interrupted", log: ""), at: i)
                slots.signal()
                continue
            }
            group.enter()
            let record: @Sendable (TaskOutcome) -> Void = { outcome in
                let k = state.record(outcome, at: i)
                switch outcome {
                case .completed: progress("[\(k)/\(toRun.count)] \(task.label): done")
                case let .failed(reason, log): progress("[\(k)/\(toRun.count)] \(task.label): FAILED (\(reason)); log: \(log)")
                case .alreadyComplete: break
                }
                slots.signal()
                group.leave()
            }
            progress("[start \(n + 1)/\(toRun.count)] \(task.label)")
            start(task, record: record)
        }
        group.wait()
        return SweepSummary(outcomes: tasks.indices.map { (tasks[$0], state.outcomes[$0] ?? .failed(reason: "not run", log: "")) })
    }

    /// Each task's state from its run folder alone (a local sweep has no scheduler): complete ->
    /// completed; `arena train` holding the folder's lock -> running; no folder -> pending;
    /// otherwise failed (stopped or crashed before the end; running the sweep again resumes it).
    public static func status(_ plan: SweepPlan) -> [SweepTaskStatus] {
        plan.tasks.enumerated().map { (i, task) in
            let folder = URL(fileURLWithPath: task.runFolder)
            let log = folder.appendingPathComponent(logName).path
            var st = SweepTaskStatus(task: task, arrayJobID: nil, index: i, state: .pending, detail: "not started", log: log)
            switch plan.completion(of: task) {
            case .complete:
                st.state = .completed; st.detail = "run folder complete"
            case let .incomplete(reason):
                if RunFolders.isLocked(folder) {
                    st.state = .running; st.detail = "arena train holds the run folder"
                } else if FileManager.default.fileExists(atPath: folder.path) {
                    st.state = .failed; st.detail = "not running, incomplete: \(reason)"
                }
                if let p = RunFolders.progress(of: folder) { st.detail += "; " + p }
            }
            return st
        }
    }

    /// Starts one task; `record` is called exactly once when it has ended.
    func start(_ task: SweepTask, record: @escaping @Sendable (TaskOutcome) -> Void) {
        let folder = URL(fileURLWithPath: task.runFolder)
        let logURL = folder.appendingPathComponent(Self.logName)
        let args = plan.command.render(task, plan: plan)
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            record(.failed(reason: "could not create the run folder (\(error.localizedDescription))", log: logURL.path)); return
        }
        if !FileManager.default.fileExists(atPath: logURL.path) { _ = FileManager.default.createFile(atPath: logURL.path, contents: nil) }
        guard let log = try? FileHandle(forWritingTo: logURL) else {
            record(.failed(reason: "could not open its log for writing", log: logURL.path)); return
        }
        log.seekToEndOfFile()
        log.write(Data("# arena sweep: \(args.joined(separator: " "))\n".utf8))

        let p = Process()
        p.executableURL = SystemCommandRunner.resolve(args[0])
        p.arguments = Array(args.dropFirst())
        p.standardOutput = log
        p.standardError = log
        p.standardInput = FileHandle.nullDevice
        let timedOut = TimeoutFlag()
        let control = self.control
        p.terminationHandler = { proc in
            try? log.close()
            control.unregister(proc.processIdentifier)
            let status = proc.terminationStatus
            if control.isInterrupted {
                record(.failed(reason: "interrupted (exit status \(status))", log: logURL.path))
            } else if timedOut.isSet {
                record(.failed(reason: "timed out after \(Int(self.taskTimeout ?? 0)) s", log: logURL.path))
            } else if proc.terminationReason == .uncaughtSignal {
                record(.failed(reason: "killed by signal \(status)", log: logURL.path))
            } else if status != 0 {
                record(.failed(reason: "exit status \(status)", log: logURL.path))
            } else if case let .incomplete(reason) = self.plan.completion(of: task) {
                record(.failed(reason: "exited 0 but the run is not complete: \(reason)", log: logURL.path))
            } else {
                record(.completed)
            }
        }
        do { try p.run() } catch {
            try? log.close()
            record(.failed(reason: "could not start \(args[0]) (\(error.localizedDescription))", log: logURL.path))
            return
        }
        let pid = p.processIdentifier
        control.register(pid)
        if let t = taskTimeout {
            DispatchQueue.global().asyncAfter(deadline: .now() + t) {
                if control.isRunning(pid) {
                    timedOut.set()
                    control.stop(pid)
                }
            }
        }
    }
}

/// A flag set from one thread and read from another.
final class TimeoutFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}

/// Outcomes written by termination handlers on other threads, under a lock.
final class OutcomeBox: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [TaskOutcome?]
    private var finished = 0
    init(count: Int) { storage = Array(repeating: nil, count: count) }
    var outcomes: [TaskOutcome?] {
        get { lock.lock(); defer { lock.unlock() }; return storage }
        set { lock.lock(); storage = newValue; lock.unlock() }
    }
    /// Stores a finished task's outcome; returns how many have finished so far.
    func record(_ o: TaskOutcome, at i: Int) -> Int {
        lock.lock(); defer { lock.unlock() }
        storage[i] = o
        finished += 1
        return finished
    }
}

/// The running task processes of a local sweep, and whether it was interrupted.
///
/// Foundation starts each child as the leader of its own process group, so the terminal's Ctrl-C
/// does not reach it: the sweep forwards the stop to each whole group (the task and anything it
/// started), SIGTERM first and SIGKILL after a grace period. The grace period is long because
/// `arena train` answers SIGTERM by writing a checkpoint, and hashing and writing a 1M-transition
/// replay memory (about 7 GB) takes a minute or more; killing it earlier would throw away the
/// work since the previous checkpoint. A second interrupt kills at once, as Ctrl-C twice does
/// for `arena train` itself.
public final class SweepControl: @unchecked Sendable {
    private let lock = NSLock()
    private var running = Set<Int32>()
    private var interrupted = false
    /// Seconds between SIGTERM and SIGKILL.
    public var gracePeriod: Double

    public init(gracePeriod: Double = 300) { self.gracePeriod = gracePeriod }

    public var isInterrupted: Bool { lock.lock(); defer { lock.unlock() }; return interrupted }

    /// Stops every running task (SIGTERM, SIGKILL after the grace period) and prevents new ones
    /// from starting. Called a second time, kills the running tasks at once.
    public func interrupt() {
        lock.lock()
        let again = interrupted
        interrupted = true
        let pids = running
        lock.unlock()
        for pid in pids where pid > 0 {
            if again { kill(-pid, SIGKILL) } else { stop(pid) }
        }
    }

    func register(_ pid: Int32) { lock.lock(); running.insert(pid); lock.unlock() }
    func unregister(_ pid: Int32) { lock.lock(); running.remove(pid); lock.unlock() }
    func isRunning(_ pid: Int32) -> Bool { lock.lock(); defer { lock.unlock() }; return running.contains(pid) }

    /// SIGTERM to the task's process group, SIGKILL if it is still registered after the grace period.
    func stop(_ pid: Int32) {
        guard pid > 0 else { return }
        kill(-pid, SIGTERM)
        DispatchQueue.global().asyncAfter(deadline: .now() + gracePeriod) { [self] in
            if isRunning(pid) { kill(-pid, SIGKILL) }
        }
    }
}
