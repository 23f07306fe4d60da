/// The last `depth` preprocessed frames, handed out oldest first as one `[depth, H, W]` block:
/// the input of the Nature DQN network (4 x 84 x 84).
///
/// A ring buffer: `push` copies the new frame into the slot of the oldest one and moves an
/// index, so nothing is shifted; `write(into:)` is the only other copy. Nothing is allocated
/// after `init` (unless the value is copied and then mutated, as for any Swift value type).
///
/// What the stack holds right after `reset(with:)` differs between the reference
/// implementations, so it is a setting:
/// - `.repeatFirstFrame` (the default): every slot holds the first frame of the episode. This is
///   gymnasium's `FrameStackObservation` (its default `padding_type="reset"`), which is what
///   `AtariPreprocessing` + frame stacking pipelines (CleanRL, SB3-style wrappers) feed agents.
/// - `.zeros`: the older slots are zero and the first frame is the newest, as in the original
///   DQN (Mnih et al. 2015, whose replay memory zeroes frames from before the episode start) and
///   Dopamine (`_reset_state` zeroes its state, then the first observation is recorded).
/// For the record, DeepMind's DQN Zoo uses a third layout: `processors.atari` pads with
/// trailing zeros, so its first observation of an episode is `[first, 0, 0, 0]` oldest first.
public struct FrameStack: Sendable {
    public enum Padding: String, Codable, Sendable, CaseIterable {
        case repeatFirstFrame
        case zeros
    }

    public let depth: Int
    public let frameSize: Int
    public let padding: Padding
    private var storage: [UInt8]
    /// Slot index of the newest frame; the oldest is the next one (mod depth).
    private var newest: Int

    public init(depth: Int = 4, frameSize: Int = 7056, padding: Padding = .repeatFirstFrame) {
        precondition(depth >= 1, "FrameStack: depth must be at least 1, got \(depth)")
        precondition(frameSize >= 1, "FrameStack: frameSize must be at least 1, got \(frameSize)")
        self.depth = depth
        self.frameSize = frameSize
        self.padding = padding
        storage = [UInt8](repeating: 0, count: depth * frameSize)
        newest = depth - 1
    }

    /// Starts an episode: fills the stack according to `padding`; `frame` is the newest.
    public mutating func reset(with frame: UnsafePointer<UInt8>) {
        let n = frameSize, d = depth
        storage.withUnsafeMutableBufferPointer { s in
            // safe because: storage holds depth * frameSize bytes; frame holds frameSize.
            let base = s.baseAddress.unsafelyUnwrapped
            for slot in 0..<d {
                if padding == .zeros && slot != d - 1 {
                    (base + slot * n).update(repeating: 0, count: n)
                } else {
                    (base + slot * n).update(from: frame, count: n)
                }
            }
        }
        newest = d - 1
    }

    /// Adds `frame` (`frameSize` bytes) as the newest frame, dropping the oldest.
    public mutating func push(_ frame: UnsafePointer<UInt8>) {
        let slot = newest + 1 == depth ? 0 : newest + 1
        let n = frameSize
        storage.withUnsafeMutableBufferPointer { s in
            // safe because: slot < depth, so the frame fits in storage.
            (s.baseAddress.unsafelyUnwrapped + slot * n).update(from: frame, count: n)
        }
        newest = slot
    }

    /// Writes the stack oldest first into `out` (`depth * frameSize` bytes).
    public func write(into out: UnsafeMutablePointer<UInt8>) {
        let n = frameSize, d = depth
        let oldest = newest + 1 == d ? 0 : newest + 1
        storage.withUnsafeBufferPointer { s in
            // safe because: both runs stay inside storage (depth * frameSize bytes) and out.
            let base = s.baseAddress.unsafelyUnwrapped
            let tail = d - oldest  // slots oldest..<depth come first
            out.update(from: base + oldest * n, count: tail * n)
            (out + tail * n).update(from: base, count: oldest * n)
        }
    }

    /// Calls `body` with the frame `age` steps old (0 is the newest), without copying.
    public func withFrame<R>(age: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        precondition(age >= 0 && age < depth, "FrameStack.withFrame: age must be in 0..<\(depth), got \(age)")
        let slot = (newest - age + depth) % depth
        return try storage.withUnsafeBufferPointer { s in
            // safe because: slot < depth; the slice is frameSize bytes inside storage.
            try body(UnsafeBufferPointer(rebasing: s[(slot * frameSize)..<((slot + 1) * frameSize)]))
        }
    }
}
