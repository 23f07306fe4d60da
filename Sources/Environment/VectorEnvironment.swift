import ArenaSupport
import Dispatch
import Foundation

/// N preprocessed environments stepped together on worker threads. Observations are stacked
/// (`stackDepth` frames, oldest first) and written into one contiguous batch
/// `[count, stackDepth, screenSize, screenSize]`. An environment whose episode ended is reset in
/// the same call ("same-step auto-reset"); its result row still reports how the episode ended.
///
/// Each environment only ever touches its own emulator, generator and slice of the batch, and
/// environment `i` is seeded with `VectorEnvironment.seed(base:index:)`, so the results are
/// identical to stepping the same environments one by one, whatever the thread timing.
public final class VectorEnvironment {
    public let count: Int
    public let stackDepth: Int
    public let frameSize: Int
    public let actionCount: Int
    public let threads: Int

    /// `[count, stackDepth, side, side]` uint8, valid after `reset()` and every `step`.
    public var observations: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(batch) }
    /// What each environment's last step did.
    public var results: [StepResult] { slots.map(\.result) }
    /// Unclipped return of the episode that ended at the last step (per environment; nil if none).
    public var finishedReturns: [Double?] { slots.map(\.finishedReturn) }
    public var environments: [AtariEnvironment] { slots.map(\.env) }

    /// One environment and everything only its worker touches.
    private final class Slot {
        let env: AtariEnvironment
        var stack: FrameStack
        var result = StepResult(reward: 0, trainingReward: 0, terminated: false, truncated: false, lifeLost: false, lives: 0)
        var finishedReturn: Double?
        var error: Error?
        init(env: AtariEnvironment, stack: FrameStack) { self.env = env; self.stack = stack }
    }
    private let slots: [Slot]
    // The batch is shared by the workers; each writes only its own slots' rows.
    private let batch: UnsafeMutableBufferPointer<UInt8>

    /// The seed of environment `index` in a vector seeded with `base`.
    public static func seed(base: UInt64, index: Int) -> UInt64 {
        var g = SeededGenerator(seed: base, stream: "vector-env-\(index)")
        return g.next()
    }

    public init(game: String, count: Int, emulator: EmulatorSettings, preprocessing: PreprocessingSettings,
                stackDepth: Int = 4, seed: UInt64, threads: Int = 2, romDirectory: URL? = nil) throws {
        guard count >= 1 else { throw EnvironmentError("A vector environment needs at least 1 environment, got \(count).") }
        guard stackDepth >= 1 else { throw EnvironmentError("The frame stack depth must be at least 1, got \(stackDepth).") }
        guard threads >= 1 else { throw EnvironmentError("The number of threads must be at least 1, got \(threads).") }
        var slots: [Slot] = []
        for i in 0..<count {
            let env = try AtariEnvironment(game: game, emulator: emulator, preprocessing: preprocessing,
                                           seed: Self.seed(base: seed, index: i), romDirectory: romDirectory)
            slots.append(Slot(env: env, stack: FrameStack(depth: stackDepth, frameSize: env.frameSize)))
        }
        self.slots = slots
        self.count = count
        self.stackDepth = stackDepth
        self.threads = min(threads, count)
        frameSize = slots[0].env.frameSize
        actionCount = slots[0].env.actionCount
        batch = .allocate(capacity: count * stackDepth * frameSize)
        batch.initialize(repeating: 0)
    }

    deinit { batch.deallocate() }

    /// Resets every environment.
    public func reset() throws {
        forEachSlice { slot, i in
            do { try self.resetOne(slot, i) } catch { slot.error = error }
        }
        try throwFirstError()
    }

    /// Steps every environment with its action; `actions.count` must equal `count`.
    public func step(_ actions: [Int]) throws {
        guard actions.count == count else {
            throw EnvironmentError("Expected \(count) actions, one per environment, got \(actions.count).")
        }
        for a in actions where a < 0 || a >= actionCount {
            throw EnvironmentError("Action \(a) is out of range; this game has \(actionCount) actions (0..<\(actionCount)).")
        }
        actions.withUnsafeBufferPointer { acts in
            forEachSlice { slot, i in
                let r = slot.env.step(acts[i])
                slot.result = r
                if r.episodeEnded {
                    slot.finishedReturn = slot.env.episodeReturn
                    do { try self.resetOne(slot, i) } catch { slot.error = error }
                } else {
                    slot.finishedReturn = nil
                    slot.env.withFrame { f in slot.stack.push(f.baseAddress.unsafelyUnwrapped) }
                    self.writeStack(slot, i)
                }
            }
        }
        try throwFirstError()
    }

    private func throwFirstError() throws {
        for slot in slots {
            if let e = slot.error { slot.error = nil; throw e }
        }
    }

    private func resetOne(_ slot: Slot, _ i: Int) throws {
        try slot.env.reset()
        slot.env.withFrame { f in slot.stack.reset(with: f.baseAddress.unsafelyUnwrapped) }
        writeStack(slot, i)
    }

    private func writeStack(_ slot: Slot, _ i: Int) {
        // safe because: row i spans [i*stride, (i+1)*stride) inside the batch, and only the
        // worker that owns slot i writes it.
        slot.stack.write(into: batch.baseAddress.unsafelyUnwrapped + i * stackDepth * frameSize)
    }

    /// Runs `body` for every environment, split into `threads` contiguous slices run concurrently.
    private func forEachSlice(_ body: (Slot, Int) -> Void) {
        let n = count, t = threads
        if t == 1 {
            for i in 0..<n { body(slots[i], i) }
            return
        }
        DispatchQueue.concurrentPerform(iterations: t) { w in
            for i in (w * n / t)..<((w + 1) * n / t) { body(slots[i], i) }
        }
    }
}
