import Foundation
import ArenaSupport
@testable import Agent

/// Frames of 3 bytes that spell their own logical index, so a stack can be read back.
enum TinyFrames {
    static let size = 3
    static func frame(_ logical: Int) -> [UInt8] {
        [UInt8(logical & 0xFF), UInt8((logical >> 8) & 0xFF), UInt8((logical >> 16) & 0xFF)]
    }
    static func decode(_ bytes: ArraySlice<UInt8>) -> Int {
        let b = Array(bytes)
        return Int(b[0]) | Int(b[1]) << 8 | Int(b[2]) << 16
    }
    /// The logical indices of the frames of a stacked observation.
    static func decodeStack(_ bytes: [UInt8], row: Int, depth: Int) -> [Int] {
        (0..<depth).map { c in
            let start = (row * depth + c) * size
            return decode(bytes[start..<(start + size)])
        }
    }
}

/// A replay memory's contents written out the slow, obvious way: the whole history, never
/// overwritten, with episodes as lists. The reference the circular store is checked against.
struct NaiveReplay {
    struct Transition { var action: Int; var reward: Float; var terminated: Bool; var truncated: Bool }
    struct Frame { var episode: Int; var transition: Transition? }
    let capacity: Int, stackDepth: Int, nStep: Int, gamma: Double
    var frames: [Frame] = []
    var episodeStart: [Int] = []       // per episode: logical index of its first frame
    var openEpisode: Int? = nil        // the episode that can still grow

    init(capacity: Int, stackDepth: Int, nStep: Int, gamma: Double) {
        self.capacity = capacity; self.stackDepth = stackDepth; self.nStep = nStep; self.gamma = gamma
    }

    var written: Int { frames.count }
    var oldest: Int { max(0, written - capacity) }

    mutating func startEpisode() {
        episodeStart.append(written)
        frames.append(Frame(episode: episodeStart.count - 1, transition: nil))
        openEpisode = episodeStart.count - 1
    }

    mutating func append(_ t: Transition) {
        let e = frames[written - 1].episode
        frames[written - 1].transition = t
        frames.append(Frame(episode: e, transition: nil))
        if t.truncated && !t.terminated { openEpisode = nil }
    }

    struct Expected: Equatable {
        var steps: Int; var bootstraps: Bool
        var stack: [Int]; var nextStack: [Int]
        var action: Int; var ret: Double; var discount: Double
    }

    func stack(of j: Int) -> [Int] {
        let s = episodeStart[frames[j].episode]
        return (0..<stackDepth).map { c in max(j - stackDepth + 1 + c, s) }
    }

    /// What sampling transition `i` must produce, or nil if it must not be sampled.
    func expected(_ i: Int) -> Expected? {
        guard i >= oldest, i < written, let first = frames[i].transition else { return nil }
        let obs = stack(of: i)
        guard obs.allSatisfy({ $0 >= oldest }) else { return nil }
        var steps = 0, bootstraps = true
        var k = 0
        while k < nStep {
            guard let t = frames[i + k].transition else {
                // i + k is the last frame so far of this episode.
                if frames[i + k].episode == openEpisode && i + k == written - 1 { return nil }
                break
            }
            steps = k + 1
            if t.terminated { bootstraps = false; break }
            if t.truncated { break }
            k += 1
        }
        var ret = 0.0
        for k in 0..<steps { ret += Foundation.pow(gamma, Double(k)) * Double(frames[i + k].transition?.reward ?? .nan) }
        return Expected(steps: steps, bootstraps: bootstraps, stack: obs, nextStack: stack(of: i + steps),
                        action: first.action, ret: ret, discount: bootstraps ? Foundation.pow(gamma, Double(steps)) : 0)
    }
}

/// Drives a real and a naive memory with the same operations.
struct ReplayPair {
    let memory: ReplayMemory
    var naive: NaiveReplay

    init(capacity: Int, stackDepth: Int, nStep: Int, gamma: Double = 0.9,
         prioritized: PrioritizedReplayConfig = PrioritizedReplayConfig(), seed: UInt64 = 1) throws {
        let config = ReplayConfiguration(capacity: capacity, stackDepth: stackDepth, frameSize: TinyFrames.size,
                                         nStep: nStep, gamma: gamma, prioritized: prioritized)
        memory = try ReplayMemory(config, generator: SeededGenerator(seed: seed, stream: "replay"))
        naive = NaiveReplay(capacity: capacity, stackDepth: stackDepth, nStep: nStep, gamma: gamma)
    }

    mutating func startEpisode() {
        let f = TinyFrames.frame(naive.written)
        f.withUnsafeBufferPointer { memory.startEpisode(frame: $0) }
        naive.startEpisode()
    }

    mutating func append(action: Int, reward: Float, terminated: Bool = false, truncated: Bool = false) {
        let f = TinyFrames.frame(naive.written)
        f.withUnsafeBufferPointer {
            memory.append(action: action, reward: reward, nextFrame: $0, terminated: terminated, truncated: truncated)
        }
        naive.append(.init(action: action, reward: reward, terminated: terminated, truncated: truncated))
    }

    /// Every disagreement between the memory and the naive model, over all indices around the
    /// retained range (empty when they agree).
    func mismatches() -> [String] {
        var out: [String] = []
        let batch = ReplayBatch(size: 1, stackDepth: naive.stackDepth, frameSize: TinyFrames.size)
        if memory.framesWritten != naive.written { out.append("framesWritten \(memory.framesWritten) != \(naive.written)") }
        let transitions = (naive.oldest..<naive.written).filter { naive.frames[$0].transition != nil }.count
        if memory.count != transitions { out.append("count \(memory.count) != \(transitions)") }
        for i in max(0, naive.oldest - 3)..<(naive.written + 2) {
            let expected = naive.expected(i)
            let window = memory.window(i)
            guard let e = expected else {
                if window != nil { out.append("index \(i): sampleable, expected not") }
                continue
            }
            guard let w = window else { out.append("index \(i): not sampleable, expected \(e)"); continue }
            memory.fill(batch, row: 0, index: i, window: w)
            let stack = TinyFrames.decodeStack(batch.observations, row: 0, depth: naive.stackDepth)
            let next = TinyFrames.decodeStack(batch.nextObservations, row: 0, depth: naive.stackDepth)
            let got = NaiveReplay.Expected(steps: w.steps, bootstraps: w.bootstraps, stack: stack, nextStack: next,
                                           action: Int(batch.actions[0]), ret: Double(batch.returns[0]),
                                           discount: Double(batch.discounts[0]))
            let close = abs(got.ret - e.ret) <= 1e-5 * max(1, abs(e.ret)) && abs(got.discount - e.discount) <= 1e-6
            if got.steps != e.steps || got.bootstraps != e.bootstraps || got.stack != e.stack
                || got.nextStack != e.nextStack || got.action != e.action || !close
                || batch.steps[0] != Int32(e.steps) || batch.indices[0] != i {
                out.append("index \(i): got \(got), expected \(e)")
            }
        }
        return out
    }
}
