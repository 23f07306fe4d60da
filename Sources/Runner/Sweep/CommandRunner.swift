#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// What a finished external command printed.
public struct CommandOutput: Equatable, Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    public init(status: Int32, stdout: String, stderr: String) { self.status = status; self.stdout = stdout; self.stderr = stderr }
}

/// Runs scheduler commands (sbatch, squeue, scontrol). Tests inject canned answers.
public protocol CommandRunning: Sendable {
    /// Runs `arguments` (the first is the program, looked up on PATH) and waits at most `timeout` seconds.
    func run(_ arguments: [String], timeout: Double) throws -> CommandOutput
}

/// Runs commands as child processes with a timeout (the child is terminated, then killed).
public struct SystemCommandRunner: CommandRunning {
    /// Variables added to (or replacing) this process's environment for every command, e.g.
    /// `SLURM_CONF` for a test cluster.
    public var environment: [String: String]
    public init(environment: [String: String] = [:]) { self.environment = environment }

    public func run(_ arguments: [String], timeout: Double) throws -> CommandOutput {
        precondition(!arguments.isEmpty, "a command needs at least a program name")
        let shown = arguments.joined(separator: " ")
        let p = Process()
        p.executableURL = Self.resolve(arguments[0])
        p.arguments = Array(arguments.dropFirst())
        if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        // Unique per process and call (no system randomness: the project's rule).
        let stem = FileManager.default.temporaryDirectory.appendingPathComponent("arena-cmd-\(getpid())-\(Self.counter.next())").path
        let outURL = URL(fileURLWithPath: stem + ".out")
        let errURL = URL(fileURLWithPath: stem + ".err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: outURL); try? FileManager.default.removeItem(at: errURL) }
        let outHandle: FileHandle, errHandle: FileHandle
        do {
            outHandle = try FileHandle(forWritingTo: outURL)
            errHandle = try FileHandle(forWritingTo: errURL)
        } catch {
            throw SweepError.cannotStart(command: shown, reason: "no temporary file for its output (\(error.localizedDescription))")
        }
        defer { try? outHandle.close(); try? errHandle.close() }
        p.standardOutput = outHandle
        p.standardError = errHandle
        p.standardInput = FileHandle.nullDevice
        let done = DispatchSemaphore(value: 0)
        p.terminationHandler = { _ in done.signal() }
        do { try p.run() } catch {
            throw SweepError.cannotStart(command: shown, reason: error.localizedDescription)
        }
        if done.wait(timeout: .now() + timeout) == .timedOut {
            // The child leads its own process group; stop the whole group (and anything it started).
            kill(-p.processIdentifier, SIGTERM)
            if done.wait(timeout: .now() + 2) == .timedOut { kill(-p.processIdentifier, SIGKILL); _ = done.wait(timeout: .now() + 2) }
            throw SweepError.commandTimedOut(command: shown, seconds: timeout)
        }
        let out = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        return CommandOutput(status: p.terminationStatus, stdout: out, stderr: err)
    }

    static let counter = CallCounter()

    /// An absolute or relative path is used as is; a bare name is looked up on PATH.
    public static func resolve(_ program: String) -> URL {
        if program.contains("/") { return URL(fileURLWithPath: program) }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(dir)).appendingPathComponent(program)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return URL(fileURLWithPath: program)
    }
}

/// A process-wide counter for unique temporary names.
final class CallCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int { lock.lock(); defer { lock.unlock() }; value += 1; return value }
}
