import Foundation
import TestSupport
@testable import Runner

/// A temporary folder removed by `cleanup()`.
struct TempFolder {
    let url: URL
    init(_ name: String) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("arena-\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    var path: String { url.path }
    func cleanup() { try? FileManager.default.removeItem(at: url) }
}

/// A fake `arena train`: parses the same flags, writes a complete run folder (config.json with a
/// budget of frames / 4 agent steps, one iteration row reaching it, evaluation.json), and appends
/// "game seed" to <out>/invocations.txt. Game `failgame` fails with exit status 3 after printing
/// "boom" on stderr; `sleepgame` sleeps 30 s; `savegame` sleeps 30 s but answers SIGTERM by
/// "saving" for 2 s (a file `saved` in its run folder), as `arena train` writes a checkpoint;
/// `halfgame` exits 0 but leaves the run incomplete. So that tests can wait on events instead of
/// sleeping, `sleepgame` and `savegame` write a file `ready` in their run folder once they wait
/// (savegame with its TERM handler in place), and savegame a file `saving` when its save starts.
enum FakeTrainer {
    static let script = #"""
    #!/bin/sh
    while [ $# -gt 0 ]; do
      case "$1" in
        --game) G="$2"; shift ;;
        --agent) A="$2"; shift ;;
        --seed) S="$2"; shift ;;
        --frames) N="$2"; shift ;;
        --out) O="$2"; shift ;;
      esac
      shift
    done
    NAME=$(basename "$A" .json)
    D="$O/$G/$NAME/$S"
    mkdir -p "$D"
    echo "$G $S" >> "$O/invocations.txt"
    echo "fake train: $G seed $S frames $N"
    case "$G" in
      failgame) echo "boom" >&2; exit 3 ;;
      sleepgame) : > "$D/ready"; sleep 30 ;;
      savegame) trap ': > "$D/saving"; sleep 2; echo saved > "$D/saved"; exit 143' TERM; : > "$D/ready"; sleep 30 & wait $! ;;
    esac
    B=$((N / 4))
    printf '{"game":"%s","agent":"%s","seed":%s,"protocol":"nature2015","budget_agent_steps":%s}\n' "$G" "$NAME" "$S" "$B" > "$D/config.json"
    if [ "$G" = halfgame ]; then
      printf '{"kind":"iteration","iteration":0,"agent_steps":%s,"eval_mean_return":1.0}\n' $((B / 2)) > "$D/metrics.jsonl"
    else
      printf '{"kind":"iteration","iteration":0,"agent_steps":%s,"eval_mean_return":1.5}\n' "$B" > "$D/metrics.jsonl"
    fi
    printf '{"game":"%s","protocol":"nature2015","agent":"%s","seed":%s,"mean":%s.5}\n' "$G" "$NAME" "$S" "$S" > "$D/evaluation.json"
    exit 0
    """#

    /// Writes the script (mode 755) and an agent file into `folder`; returns (script, agent file).
    static func install(in folder: URL) throws -> (script: String, agent: String) {
        let script = folder.appendingPathComponent("fake-train.sh")
        try Data(Self.script.utf8).write(to: script)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        let agent = folder.appendingPathComponent("dqn-test.json")
        try Data("{}\n".utf8).write(to: agent)
        return (script.path, agent.path)
    }

    static func invocations(_ results: String) -> [String] {
        ((try? String(contentsOfFile: results + "/invocations.txt", encoding: .utf8)) ?? "")
            .split(separator: "\n").map(String.init).sorted()
    }
}

/// Canned answers for scheduler commands, keyed by the command's first words; records every call.
final class FakeCommandRunner: CommandRunning, @unchecked Sendable {
    private let lock = NSLock()
    private var answers: [(prefix: [String], output: CommandOutput)]
    private(set) var calls: [[String]] = []
    var sbatchCount = 0

    init(_ answers: [(prefix: [String], output: CommandOutput)]) { self.answers = answers }

    func run(_ arguments: [String], timeout: Double) throws -> CommandOutput {
        lock.lock(); defer { lock.unlock() }
        calls.append(arguments)
        if arguments.first == "sbatch" {
            sbatchCount += 1
            return CommandOutput(status: 0, stdout: "\(100 + sbatchCount)\n", stderr: "")
        }
        for a in answers where arguments.starts(with: a.prefix) { return a.output }
        return CommandOutput(status: 1, stdout: "", stderr: "no canned answer for \(arguments)")
    }
}

enum SlurmFixtures {
    static let folder = CompareFixtures.folder.appendingPathComponent("slurm")
    static func text(_ name: String) throws -> String {
        try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
    }
}

/// Work a test does on another thread while it runs a sweep, each step after waiting for its
/// event (a file appearing; see `waitUntil`). `finish()` waits for the thread and rethrows the
/// first wait that timed out; on such an error `onError` runs first (e.g. to interrupt the sweep
/// so that it ends). `marks` keeps named moments for the test to measure from.
final class BackgroundSteps: @unchecked Sendable {
    private let group = DispatchGroup()
    private let lock = NSLock()
    private var error: Error?
    private var moments: [String: Date] = [:]

    init(onError: @escaping @Sendable () -> Void, _ body: @escaping @Sendable (BackgroundSteps) throws -> Void) {
        group.enter()
        DispatchQueue.global().async {
            do { try body(self) } catch {
                self.lock.withLock { self.error = error }
                onError()
            }
            self.group.leave()
        }
    }

    func mark(_ name: String) { lock.withLock { moments[name] = Date() } }

    /// Waits for the steps to end; returns the marked moments.
    func finish() throws -> [String: Date] {
        group.wait()
        return try lock.withLock {
            if let error { throw error }
            return moments
        }
    }
}

func fileExists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }
