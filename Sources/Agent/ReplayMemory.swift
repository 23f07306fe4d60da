import Foundation
import ArenaSupport
import NeuralNet
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a replay memory holds and how it turns stored frames into training samples.
public struct ReplayConfiguration: Equatable, Sendable {
    /// Frame slots in the circular store. Each transition uses one slot; each episode uses one
    /// extra slot for its final frame (the next observation of its last transition).
    public var capacity: Int
    /// Frames per observation stack (4 in DQN).
    public var stackDepth: Int
    /// Bytes per frame (84 * 84 = 7056 for the Atari protocols; tests use tiny frames).
    public var frameSize: Int
    /// Steps summed into each return (1 = one-step DQN).
    public var nStep: Int
    /// Discount per agent step.
    public var gamma: Double
    /// Prioritized replay (off by default: uniform sampling).
    public var prioritized: PrioritizedReplayConfig

    public init(capacity: Int, stackDepth: Int = 4, frameSize: Int = 84 * 84, nStep: Int = 1,
                gamma: Double = 0.99, prioritized: PrioritizedReplayConfig = PrioritizedReplayConfig()) {
        self.capacity = capacity
        self.stackDepth = stackDepth
        self.frameSize = frameSize
        self.nStep = nStep
        self.gamma = gamma
        self.prioritized = prioritized
    }

    /// Programmer errors only: user-facing values are validated by `DQNConfig.validate()`.
    func check() {
        precondition(stackDepth >= 1, "ReplayMemory stackDepth must be >= 1, got \(stackDepth)")
        precondition(frameSize >= 1, "ReplayMemory frameSize must be >= 1, got \(frameSize)")
        precondition(nStep >= 1, "ReplayMemory nStep must be >= 1, got \(nStep)")
        precondition(capacity >= stackDepth + nStep + 1,
                     "ReplayMemory capacity must be at least stackDepth + nStep + 1 = \(stackDepth + nStep + 1), got \(capacity)")
        precondition(gamma >= 0 && gamma <= 1, "ReplayMemory gamma must be in [0, 1], got \(gamma)")
        precondition(!prioritized.enabled || prioritized.epsilon > 0,
                     "prioritized epsilon must be > 0, got \(prioritized.epsilon)")
    }
}

/// Preallocated buffers one `sample` call fills: the learner's `TrainingBatch` (written in
/// place, no copy) plus what only the replay needs. Created once per batch size and reused for
/// every update (sampling allocates nothing).
///
/// Layouts: observations are [batch, stackDepth, frameSize] uint8, oldest frame first and the
/// newest last (the same order as `FrameStack`). `training.rewards` holds the n-step return
/// sum over k < m of gamma^k r_(t+k); `training.discounts` holds gamma^m when the target
/// bootstraps from `nextObservations` and 0 when the window ended in a terminated transition;
/// `training.weights` holds importance weights normalized so the batch's largest is 1 (all 1
/// with uniform sampling).
public final class ReplayBatch {
    public let size: Int
    public let stackDepth: Int
    public let frameSize: Int
    /// What the learner reads.
    public let training: TrainingBatch
    /// [size]: logical indices of the sampled transitions, for `updatePriorities`.
    public var indices: [Int]
    /// [size]: steps in each n-step window (m, 1...nStep).
    public var steps: [Int32]

    public init(size: Int, stackDepth: Int = 4, frameSize: Int = 84 * 84) {
        precondition(size >= 1, "ReplayBatch size must be >= 1, got \(size)")
        self.size = size
        self.stackDepth = stackDepth
        self.frameSize = frameSize
        training = TrainingBatch(batchSize: size, observationBytes: stackDepth * frameSize)
        indices = [Int](repeating: 0, count: size)
        steps = [Int32](repeating: 0, count: size)
    }

    /// Wraps an existing training batch (e.g. `QLearner.makeBatch()`).
    public init(training: TrainingBatch, stackDepth: Int = 4) {
        precondition(training.observationBytes % stackDepth == 0,
                     "observationBytes \(training.observationBytes) is not a multiple of stackDepth \(stackDepth)")
        self.size = training.batchSize
        self.stackDepth = stackDepth
        self.frameSize = training.observationBytes / stackDepth
        self.training = training
        indices = [Int](repeating: 0, count: size)
        steps = [Int32](repeating: 0, count: size)
    }

    // Read-only views for tests and tools (each returns a copy).
    public var observations: [UInt8] { training.observations }
    public var nextObservations: [UInt8] { training.nextObservations }
    public var actions: [Int32] { training.actions }
    public var returns: [Float] { training.rewards }
    public var discounts: [Float] { training.discounts }
    public var weights: [Float] { training.weights }
}

/// Replay memory of Mnih et al. 2015, storing single frames rather than stacks, in the manner of
/// Dopamine's circular replay buffer.
///
/// Storage. One circular store of `capacity` frame slots in a single anonymous memory mapping that
/// the kernel backs only as slots are first written (so an empty 1M memory costs nothing and a
/// full one about 7.07 KB per transition). Frames get consecutive *logical* indices 0, 1, 2, ...;
/// logical index `i` lives in slot `i % capacity`, and the retained frames are the last
/// `capacity` written. Beside each frame: the action, reward and flags of the transition that
/// starts at that frame, if any.
///
/// Episodes. `startEpisode(frame:)` writes an episode's first frame; each `append` records a
/// transition from the newest frame and writes its next frame. An episode's final frame is
/// stored too (the next observation of its last transition: needed to bootstrap a truncation)
/// and starts no transition.
///
/// Stacks. The observation of frame `i` is frames `i-3 ... i` (for depth 4), oldest first; frames
/// before the episode's first frame are replaced by that first frame, exactly as `FrameStack`
/// builds the acting stack at an episode start. Stacks never reach into another episode.
///
/// Terminated vs truncated. A terminated transition (game over, or a life loss the protocol
/// treats as terminal) does not bootstrap: discount 0. A truncated one (time limit) bootstraps
/// from its stored next frame. An episode that just stops (neither flag, then a new
/// `startEpisode`) is treated like a truncation.
///
/// n-step. A sample at `i` sums rewards of transitions `i ... i+m-1` where the window stops at
/// `nStep` transitions, at the first terminated or truncated transition, or at the episode's end,
/// whichever comes first. The discount is gamma^m, or 0 if the window ended in a termination.
///
/// Valid samples: a transition is sampled only if its whole stack is still retained (or starts at
/// a retained episode start) and its n-step window is complete (it does not reach past the
/// newest frame of a running episode). Sampling rejects invalid draws and draws again, so the
/// distribution is exactly uniform (or exactly proportional to priority) over valid transitions.
public final class ReplayMemory {
    public let configuration: ReplayConfiguration
    public var capacity: Int { configuration.capacity }
    public var stackDepth: Int { configuration.stackDepth }
    public var frameSize: Int { configuration.frameSize }

    /// The stream that picks samples. Saved and restored with the memory.
    public var generator: SeededGenerator

    /// Frames ever written (the next frame gets this logical index).
    public private(set) var framesWritten = 0
    /// Transitions currently retained.
    public private(set) var count = 0
    /// The largest priority seen (before the alpha power); new transitions get it.
    public private(set) var maxPriority: Double = 1
    /// Whether the newest frame belongs to an episode that can still grow.
    public private(set) var episodeOpen = false

    // One mapping of capacity * frameSize bytes; see `init`.
    private let frames: UnsafeMutableRawPointer
    let mappedBytes: Int
    private var actions: [UInt8]
    private var rewards: [Float]
    private var flags: [UInt8]
    private var tree: SumTree

    static let hasTransition: UInt8 = 1
    static let terminatedFlag: UInt8 = 2
    static let truncatedFlag: UInt8 = 4
    static let episodeStartFlag: UInt8 = 8

    /// Sampling gives up after this many invalid draws in a row (returns false). With a
    /// memory past warm-up almost every draw is valid, so this never triggers in training.
    static let maxDrawsPerSample = 10_000

    /// Reserves (but does not touch) `capacity * frameSize` bytes of address space.
    /// Throws if the system refuses the reservation.
    public init(_ configuration: ReplayConfiguration, generator: SeededGenerator) throws {
        configuration.check()
        self.configuration = configuration
        self.generator = generator
        let (bytes, overflow) = configuration.capacity.multipliedReportingOverflow(by: configuration.frameSize)
        precondition(!overflow, "ReplayMemory capacity * frameSize overflows")
        mappedBytes = bytes
        let pointer = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        guard let pointer, pointer != MAP_FAILED else {
            let gb = String(format: "%.2f", Double(bytes) / 1e9)
            throw ReplayMemoryError("Could not reserve \(gb) GB for a replay memory of \(configuration.capacity) frames: \(String(cString: strerror(errno))). Lower replayCapacity or free memory.")
        }
        frames = pointer
        actions = [UInt8](repeating: 0, count: configuration.capacity)
        rewards = [Float](repeating: 0, count: configuration.capacity)
        flags = [UInt8](repeating: 0, count: configuration.capacity)
        tree = SumTree(capacity: configuration.prioritized.enabled ? configuration.capacity : 1)
    }

    deinit { munmap(frames, mappedBytes) }

    // MARK: Writing

    /// The smallest logical index still retained.
    public var oldestRetained: Int { max(0, framesWritten - capacity) }

    @inline(__always) func slot(_ logical: Int) -> Int { logical % capacity }

    /// Writes the first frame of a new episode. A previous episode still open ends here: its last
    /// frame becomes its final frame (its last transition then bootstraps, like a truncation).
    public func startEpisode(frame: UnsafeBufferPointer<UInt8>) {
        writeFrame(frame, flags: Self.episodeStartFlag)
        episodeOpen = true
    }

    /// Records the transition from the newest frame: `action` taken, `reward` received, `nextFrame`
    /// observed. `terminated`: the learner must not bootstrap past it (game over, or a life loss
    /// the protocol treats as terminal; the episode may go on after a life loss). `truncated`: the
    /// episode stops here but the target bootstraps from `nextFrame`; call `startEpisode` next.
    public func append(action: Int, reward: Float, nextFrame: UnsafeBufferPointer<UInt8>,
                       terminated: Bool, truncated: Bool) {
        precondition(episodeOpen, "ReplayMemory.append needs an open episode: call startEpisode(frame:) first (after a truncation, too)")
        precondition(action >= 0 && action < 256, "ReplayMemory stores actions in 0..<256, got \(action)")
        let s = slot(framesWritten - 1)
        var f = flags[s] | Self.hasTransition
        if terminated { f |= Self.terminatedFlag }
        if truncated && !terminated { f |= Self.truncatedFlag }
        flags[s] = f
        actions[s] = UInt8(action)
        rewards[s] = reward
        count += 1
        if configuration.prioritized.enabled {
            tree.set(s, Self.power(maxPriority, configuration.prioritized.alpha))
        }
        writeFrame(nextFrame, flags: 0)
        if truncated && !terminated { episodeOpen = false }
    }

    private func writeFrame(_ frame: UnsafeBufferPointer<UInt8>, flags newFlags: UInt8) {
        precondition(frame.count == frameSize, "ReplayMemory frames have \(frameSize) bytes, got \(frame.count)")
        let s = slot(framesWritten)
        if framesWritten >= capacity {
            // The slot's old frame (logical framesWritten - capacity) leaves the memory, with its transition.
            if flags[s] & Self.hasTransition != 0 {
                count -= 1
                if configuration.prioritized.enabled { tree.set(s, 0) }
            }
        }
        flags[s] = newFlags
        actions[s] = 0
        rewards[s] = 0
        if let base = frame.baseAddress {
            // safe because: s < capacity, so the destination is the slot's frameSize bytes inside
            // the mapping, and the source holds frameSize bytes (checked above).
            (frames + s * frameSize).copyMemory(from: base, byteCount: frameSize)
        }
        framesWritten += 1
    }

    // MARK: Validity

    /// The n-step window of the transition at logical index `i`, or nil if `i` cannot be sampled
    /// now (no transition there, stack no longer retained, or window not complete yet).
    func window(_ i: Int) -> (steps: Int, bootstraps: Bool)? {
        guard i >= oldestRetained, i < framesWritten, flags[slot(i)] & Self.hasTransition != 0 else { return nil }
        // The stack: walk back to the episode start or stackDepth - 1 frames, all retained.
        var j = i, back = 0
        while back < stackDepth - 1 && flags[slot(j)] & Self.episodeStartFlag == 0 {
            j -= 1; back += 1
            if j < oldestRetained { return nil }
        }
        // The window.
        var m = 0
        var k = i
        while true {
            let f = flags[slot(k)]  // k holds a transition here
            m += 1
            if f & Self.terminatedFlag != 0 { return (m, false) }
            if f & Self.truncatedFlag != 0 || m == configuration.nStep { return (m, true) }
            k += 1  // frame k is written, since transition k - 1 is
            if flags[slot(k)] & Self.hasTransition == 0 {
                // Either the newest frame of a running episode (window not complete yet) or the
                // final frame of an episode that just stopped (bootstrap from it).
                if k == framesWritten - 1 && episodeOpen { return nil }
                return (m, true)
            }
        }
    }

    /// Whether the transition at logical index `i` can be sampled now.
    public func isValid(_ i: Int) -> Bool { window(i) != nil }

    /// The logical index whose frame lives in `slot` (among retained frames).
    func logicalIndex(ofSlot s: Int) -> Int {
        let lo = oldestRetained
        return lo + ((s - lo % capacity) + capacity) % capacity
    }

    /// Writes the stacked observation of frame `i` (stackDepth * frameSize bytes, oldest first).
    func writeStack(of i: Int, into destination: UnsafeMutablePointer<UInt8>) {
        // The episode start within reach, if any.
        var first = i - (stackDepth - 1)
        var j = i
        while j > first {
            if flags[slot(j)] & Self.episodeStartFlag != 0 { first = j; break }
            j -= 1
        }
        precondition(first >= oldestRetained, "ReplayMemory stack of \(i) reaches \(first), below the oldest retained frame \(oldestRetained)")
        for c in 0..<stackDepth {
            let source = max(i - (stackDepth - 1) + c, first)
            // safe because: slot(source) < capacity (inside the mapping) and the destination holds
            // stackDepth * frameSize bytes, of which this writes frame c.
            (destination + c * frameSize).update(
                from: (frames + slot(source) * frameSize).assumingMemoryBound(to: UInt8.self), count: frameSize)
        }
    }

    /// A copy of the frame at logical index `i` (tests and debugging).
    public func frame(at i: Int) -> [UInt8] {
        precondition(i >= oldestRetained && i < framesWritten, "frame \(i) is not retained (retained: \(oldestRetained)..<\(framesWritten))")
        // safe because: the slot's frameSize bytes lie inside the mapping.
        return Array(UnsafeBufferPointer(start: (frames + slot(i) * frameSize).assumingMemoryBound(to: UInt8.self), count: frameSize))
    }

    // MARK: Sampling

    /// Beta of prioritized replay at agent step `step`: betaStart annealed linearly to 1 over betaSteps.
    public func beta(atStep step: Int) -> Double {
        let p = configuration.prioritized
        guard p.betaSteps > 0 else { return 1 }
        let fraction = min(1, Double(max(0, step)) / Double(p.betaSteps))
        return p.betaStart + (1 - p.betaStart) * fraction
    }

    /// Fills `batch` with `batch.size` transitions drawn with replacement: uniformly over valid
    /// transitions, or with probability proportional to priority^alpha when prioritized (then
    /// with importance weights (N * P(i))^-beta / max over the batch). Returns false, leaving the
    /// batch unspecified, if no valid transition was found (e.g. before any complete window).
    /// Allocates nothing.
    @discardableResult
    public func sample(into batch: ReplayBatch, beta: Double = 1) -> Bool {
        precondition(batch.stackDepth == stackDepth && batch.frameSize == frameSize,
                     "ReplayBatch shape [\(batch.stackDepth), \(batch.frameSize)] does not match the memory's [\(stackDepth), \(frameSize)]")
        guard count > 0 else { return false }
        let prioritized = configuration.prioritized.enabled
        var maxWeight = 0.0
        for b in 0..<batch.size {
            var drawn = -1, win: (steps: Int, bootstraps: Bool) = (0, false), probability = 1.0
            for _ in 0..<Self.maxDrawsPerSample {
                let i: Int
                if prioritized {
                    let total = tree.total
                    guard total > 0 else { return false }
                    let s = tree.find(generator.nextUnitDouble() * total)
                    i = logicalIndex(ofSlot: s)
                    probability = tree[s] / total
                } else {
                    i = oldestRetained + generator.nextInt(below: framesWritten - oldestRetained)
                }
                if let w = window(i) { drawn = i; win = w; break }
            }
            guard drawn >= 0 else { return false }
            fill(batch, row: b, index: drawn, window: win)
            if prioritized {
                let w = Self.power(Double(count) * probability, -beta)
                batch.training.weights[b] = Float(w)
                maxWeight = max(maxWeight, w)
            } else {
                batch.training.weights[b] = 1
            }
        }
        if prioritized && maxWeight > 0 {
            // Recomputed in Double (the tree has not changed since the draws), then normalized.
            let total = tree.total
            for b in 0..<batch.size {
                let probability = tree[slot(batch.indices[b])] / total
                let w = Self.power(Double(count) * probability, -beta)
                batch.training.weights[b] = Float(w / maxWeight)
            }
        }
        return true
    }

    /// Writes the transition at logical index `i` (with its n-step `window`) into row `row` of
    /// `batch`: both stacks, action, n-step return (summed in Double in time order), discount,
    /// steps and index. Does not touch the weights.
    func fill(_ batch: ReplayBatch, row: Int, index i: Int, window win: (steps: Int, bootstraps: Bool)) {
        let stride = stackDepth * frameSize
        var ret = 0.0, discount = 1.0
        for k in 0..<win.steps {
            ret += discount * Double(rewards[slot(i + k)])
            discount *= configuration.gamma
        }
        let t = batch.training
        batch.indices[row] = i
        batch.steps[row] = Int32(win.steps)
        t.actions[row] = Int32(actions[slot(i)])
        t.rewards[row] = Float(ret)
        t.discounts[row] = win.bootstraps ? Float(discount) : 0
        t.observations.withUnsafeMutableBufferPointer { obs in
            // safe because: the buffer holds size * stride bytes and row < size.
            guard let base = obs.baseAddress else { return }
            writeStack(of: i, into: base + row * stride)
        }
        t.nextObservations.withUnsafeMutableBufferPointer { next in
            // safe because: as above.
            guard let base = next.baseAddress else { return }
            writeStack(of: i + win.steps, into: base + row * stride)
        }
    }

    /// Sets the priorities of the transitions in `indices` from their TD errors:
    /// priority = |error| + epsilon (stored to the power alpha). Transitions that left the memory
    /// since they were sampled are skipped; a non-finite error gets the current max priority.
    public func updatePriorities(indices: UnsafeBufferPointer<Int>, tdErrors: UnsafeBufferPointer<Float>) {
        precondition(indices.count == tdErrors.count, "updatePriorities: \(indices.count) indices but \(tdErrors.count) errors")
        let p = configuration.prioritized
        guard p.enabled else { return }
        for n in 0..<indices.count {
            let i = indices[n]
            guard i >= oldestRetained, i < framesWritten, flags[slot(i)] & Self.hasTransition != 0 else { continue }
            let error = Double(tdErrors[n])
            let priority = error.isFinite ? abs(error) + p.epsilon : maxPriority
            maxPriority = max(maxPriority, priority)
            tree.set(slot(i), Self.power(priority, p.alpha))
        }
    }

    /// Array convenience for `updatePriorities`.
    public func updatePriorities(indices: [Int], tdErrors: [Float]) {
        indices.withUnsafeBufferPointer { i in tdErrors.withUnsafeBufferPointer { e in updatePriorities(indices: i, tdErrors: e) } }
    }

    /// The stored priority^alpha of the transition at logical index `i` (0 if none).
    public func storedPriority(_ i: Int) -> Double {
        guard configuration.prioritized.enabled, i >= oldestRetained, i < framesWritten else { return 0 }
        return tree[slot(i)]
    }

    /// The total of all stored priority^alpha.
    public var priorityTotal: Double { configuration.prioritized.enabled ? tree.total : 0 }

    // MARK: Helpers

    /// x^y with exact shortcuts for the common exponents, so results do not depend on libm for them.
    @inline(__always) static func power(_ x: Double, _ y: Double) -> Double {
        if y == 1 { return x }
        if y == 0 { return 1 }
        if y == -1 { return 1 / x }
        return Foundation.pow(x, y)
    }

    // MARK: Footprint

    /// Resident bytes of this memory: frame-mapping pages the kernel holds (mincore), plus the
    /// per-slot arrays (action, reward, flags: 6 bytes a slot) and the sum tree counted in full
    /// (an upper bound: zero-filled arrays may not all be resident yet).
    public func storageResidentBytes() -> Int {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let pages = (mappedBytes + page - 1) / page
        var vector = [UInt8](repeating: 0, count: pages)
        let status = vector.withUnsafeMutableBufferPointer { v in
            // safe because: the vector has one byte per page of the mapping.
            mincore(frames, mappedBytes, v.baseAddress)
        }
        let framePages = status == 0 ? vector.reduce(0) { $0 + Int($1 & 1) } : pages
        return framePages * page + capacity * 6 + treeBytes
    }

    // MARK: State access for checkpoints (ReplayMemory+Checkpoint.swift)

    var storedFrames: UnsafeMutableRawPointer { frames }
    var treeBytes: Int { configuration.prioritized.enabled ? 2 * tree.leafBase * MemoryLayout<Double>.size : 0 }
    var storageForCheckpoint: (actions: [UInt8], rewards: [Float], flags: [UInt8], leaves: ArraySlice<Double>) {
        (actions, rewards, flags, tree.leaves)
    }
    func restoreState(framesWritten: Int, count: Int, maxPriority: Double, episodeOpen: Bool,
                      actions: [UInt8], rewards: [Float], flags: [UInt8], leaves: [Double]?, generator: SeededGenerator) {
        self.framesWritten = framesWritten
        self.count = count
        self.maxPriority = maxPriority
        self.episodeOpen = episodeOpen
        self.actions = actions
        self.rewards = rewards
        self.flags = flags
        if let leaves { tree.rebuild(leaves: leaves) }
        self.generator = generator
    }
}

/// A replay memory that could not be created or used, as a sentence.
public struct ReplayMemoryError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
