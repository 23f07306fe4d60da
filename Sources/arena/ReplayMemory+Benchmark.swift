import Agent
import ArenaSupport
import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a full replay memory costs in resident memory, measured (not computed): `arena bench agent`
/// reports it. Benchmark code, so it lives in the CLI, not in the Agent library.
struct ReplayFootprint: Codable, Equatable, Sendable {
    /// Transitions stored during the measurement.
    var transitions: Int
    /// Frame slots of the memory measured (transitions plus one final frame per episode).
    var capacity: Int
    /// Whether the sum tree of prioritized replay was included.
    var prioritized: Bool
    /// Resident bytes of the process before the memory was created and after it was filled.
    var residentBytesBefore: Int
    var residentBytesAfter: Int
    /// (after - before) / transitions: what the whole process grew by, per transition.
    var bytesPerTransition: Double
    /// The memory's own resident bytes: pages of the frame mapping the kernel reports resident
    /// (mincore) plus the per-slot arrays and the sum tree counted in full (an upper bound).
    /// Unaffected by other threads.
    var storageResidentBytes: Int
    /// storageResidentBytes / transitions.
    var storageBytesPerTransition: Double
    /// bytesPerTransition * 1,000,000: the resident size of a memory holding 1M transitions
    /// (measured directly when `transitions` is 1,000,000).
    var residentBytesAt1M: Double
}

extension ReplayMemory {
    /// Resident bytes of this process (second field of /proc/self/statm times the page size);
    /// nil where /proc is missing.
    static func residentBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count >= 2, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Creates a replay memory for `transitions` transitions of 84x84 frames (episodes of
    /// `episodeLength` steps), fills it with non-constant frames, and measures how much resident
    /// memory it added. `arena bench agent` calls this with the default 1,000,000 (about 7.1 GB
    /// for a few seconds); smaller counts extrapolate. Throws if the memory cannot be reserved or
    /// /proc/self/statm cannot be read.
    static func benchmarkBytesPerTransition(transitions: Int = 1_000_000, prioritized: Bool = true,
                                            episodeLength: Int = 1_000) throws -> ReplayFootprint {
        precondition(transitions >= 10 && episodeLength >= 1, "benchmark needs >= 10 transitions and episodes of >= 1 step")
        let episodes = (transitions + episodeLength - 1) / episodeLength
        let capacity = transitions + episodes
        let frameSize = 84 * 84
        guard let before = residentBytes() else {
            throw ValidationError("Could not read /proc/self/statm to measure resident memory; this benchmark needs Linux.")
        }
        var config = ReplayConfiguration(capacity: capacity, frameSize: frameSize)
        config.prioritized.enabled = prioritized
        let memory = try ReplayMemory(config, generator: SeededGenerator(seed: 0, stream: "replay-bench"))
        var frame = [UInt8](repeating: 0, count: frameSize)
        var stored = 0, t = 0
        frame.withUnsafeMutableBufferPointer { buffer in
            func fill() {
                // Different bytes every frame, so no page can be deduplicated or left untouched.
                for k in Swift.stride(from: 0, to: frameSize, by: 64) { buffer[k] = UInt8(truncatingIfNeeded: t &+ k) }
                t += 1
            }
            while stored < transitions {
                fill()
                memory.startEpisode(frame: UnsafeBufferPointer(buffer))
                for step in 0..<episodeLength where stored < transitions {
                    fill()
                    let last = step == episodeLength - 1 || stored == transitions - 1
                    memory.append(action: step % 18, reward: 0, nextFrame: UnsafeBufferPointer(buffer),
                                  terminated: last, truncated: false)
                    stored += 1
                }
            }
        }
        let after = residentBytes() ?? before
        let perTransition = Double(after - before) / Double(stored)
        let storage = memory.storageResidentBytes()
        return ReplayFootprint(transitions: stored, capacity: capacity, prioritized: prioritized,
                               residentBytesBefore: before, residentBytesAfter: after,
                               bytesPerTransition: perTransition,
                               storageResidentBytes: storage,
                               storageBytesPerTransition: Double(storage) / Double(stored),
                               residentBytesAt1M: perTransition * 1_000_000)
    }
}
