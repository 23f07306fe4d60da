import Foundation

/// A wait that ran out of time: says what did not happen and how long the test waited.
public struct WaitTimeout: Error, CustomStringConvertible {
    public let description: String
}

/// Polls `condition` every `poll` seconds until it returns true, for at most `timeout` seconds,
/// then throws a `WaitTimeout` that names `what` (e.g. "a checkpoint at 150 agent steps").
/// Tests wait on events this way, never on a fixed sleep that assumes how fast something runs.
/// `condition` may throw to give up early (e.g. when the process it watches has exited).
public func waitUntil(_ what: @autoclosure () -> String, timeout: Double, poll: Double = 0.01,
                      _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        if try condition() { return }
        guard Date() < deadline else {
            throw WaitTimeout(description: "\(what()) did not happen within \(timeout) s")
        }
        usleep(UInt32(poll * 1_000_000))
    }
}

/// The CPU time (user + system, in seconds) a running process has used so far, from
/// /proc/<pid>/stat; nil once it is gone. A measure of how far a child has got that does not
/// depend on how loaded the machine is: moments chosen in CPU time land at the same point of
/// the child's work whether or not other processes share the cores.
public func cpuSeconds(ofProcess pid: Int32) -> Double? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return nil }
    // Fields after "pid (comm)": state is field 3, utime field 14, stime field 15.
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 12, fields[0] != "Z", let utime = Double(fields[11]), let stime = Double(fields[12]) else { return nil }
    return (utime + stime) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// Starts `process` with no signal blocked, as a shell would start it. Test threads block
/// signals (so that a signal raised in one test does not land in another), and a child inherits
/// the mask of the thread that spawns it: without this, SIGTERM sent to a child started from a
/// test stays pending forever and the child never sees it.
public func runWithSignalsUnblocked(_ process: Process) throws {
    var all = sigset_t(), previous = sigset_t()
    sigfillset(&all)
    pthread_sigmask(SIG_UNBLOCK, &all, &previous)
    defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
    try process.run()
}

/// Whether `signal` is blocked in a running process (its SigBlk in /proc/<pid>/status); nil
/// when the process is gone.
public func isSignalBlocked(_ signal: Int32, inProcess pid: Int32) -> Bool? {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("SigBlk:") }),
          let mask = UInt64(line.dropFirst("SigBlk:".count).trimmingCharacters(in: .whitespaces), radix: 16) else { return nil }
    return mask & (1 << UInt64(signal - 1)) != 0
}
