/// A checkpoint that cannot be read back, with a sentence a user can act on. One type for both
/// levels of a checkpoint: the run's checkpoint folder (its MANIFEST, the sizes and checksums of
/// the files it lists; Runner's CheckpointReader) and one agent state file inside it (an agent's
/// `restore`, the replay memory, the learner state).
public struct CheckpointReadError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What could not be read.
    public enum Subject: Equatable, Sendable {
        /// A checkpoint folder of a run, by name (`ckpt-3000`).
        case checkpoint(String)
        /// One state file an agent restores from, by path.
        case file(path: String)
    }

    public let subject: Subject
    /// What is wrong, as a clause that fits after a colon ("weights.bin does not match its checksum").
    public let problem: String

    /// The checkpoint folder named `checkpoint` cannot be used because of `problem`.
    public init(checkpoint: String, problem: String) {
        subject = .checkpoint(checkpoint)
        self.problem = problem
    }

    /// The state file at `path` cannot be restored from because of `reason`.
    public init(path: String, reason: String) {
        subject = .file(path: path)
        problem = reason
    }

    public var description: String {
        // The problem may quote another error's whole sentence: do not end on two periods.
        let clause = problem.hasSuffix(".") ? String(problem.dropLast()) : problem
        switch subject {
        case let .checkpoint(name):
            return "Checkpoint \(name) cannot be used: \(clause)."
        case let .file(path):
            return "Could not restore from \(path): \(clause). Use a checkpoint written by this version with the same agent configuration, or start a fresh run."
        }
    }
}
