import Testing
@testable import ArenaSupport

/// One error type for both levels of a checkpoint; each message is one clear sentence (or two,
/// the second saying what to do), never ending on two periods.
@Suite struct CheckpointReadErrorTests {
    @Test func aCheckpointFolderNamesTheCheckpoint() {
        let e = CheckpointReadError(checkpoint: "ckpt-3000", problem: "weights.bin does not match its checksum")
        #expect(e.subject == .checkpoint("ckpt-3000") && e.problem == "weights.bin does not match its checksum")
        #expect(e.description == "Checkpoint ckpt-3000 cannot be used: weights.bin does not match its checksum.")
    }

    @Test func aStateFileNamesThePathAndWhatToDo() {
        let e = CheckpointReadError(path: "/r/ckpt-3000/agent/replay.bin", reason: "the file ends early (truncated or torn)")
        #expect(e.subject == .file(path: "/r/ckpt-3000/agent/replay.bin"))
        #expect(e.description == "Could not restore from /r/ckpt-3000/agent/replay.bin: the file ends early (truncated or torn). "
            + "Use a checkpoint written by this version with the same agent configuration, or start a fresh run.")
    }

    /// A problem that quotes another error's whole sentence keeps a single period.
    @Test func aQuotedSentenceDoesNotDoubleThePeriod() {
        let inner = CheckpointReadError(path: "/r/learner.bin", reason: "it holds 3 parameters, this network has 4")
        let outer = CheckpointReadError(path: "/r/learner.bin", reason: "\(inner)")
        #expect(!outer.description.contains(".."), "\(outer)")
        #expect(CheckpointReadError(checkpoint: "c", problem: "it is torn.").description == "Checkpoint c cannot be used: it is torn.")
    }

    @Test func theTwoLevelsAreDifferentErrors() {
        #expect(CheckpointReadError(checkpoint: "x", problem: "p") != CheckpointReadError(path: "x", reason: "p"))
    }
}
