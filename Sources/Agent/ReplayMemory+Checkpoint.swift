import Foundation
import ArenaSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Saving and restoring a replay memory exactly: frames, transitions, priorities, the write
/// position and the sampling generator, so a restored run samples the same batches.
///
/// File layout (`replay.bin`, little-endian):
///   "ATARIRPL"  magic, 8 bytes
///   UInt64      length of the header that follows
///   header      version, configuration (checked on restore), framesWritten, count, episodeOpen,
///               maxPriority, generator state, then per slot: actions (UInt8), rewards (Float32),
///               flags (UInt8), and priority leaves (Float64, prioritized only)
///   frames      min(framesWritten, capacity) frames in slot order, raw uint8
/// The runner adds checksums around the files of a checkpoint.
extension ReplayMemory {
    public static let checkpointFileName = "replay.bin"
    static let magic = Array("ATARIRPL".utf8)
    static let formatVersion: UInt32 = 1

    /// Writes the memory to `directory/replay.bin` (atomically: temporary name, fsync, rename).
    public func save(to directory: URL) throws {
        let url = directory.appendingPathComponent(Self.checkpointFileName)
        var header = BinaryWriter()
        header.append(Self.formatVersion)
        let c = configuration
        header.append(c.capacity); header.append(c.stackDepth); header.append(c.frameSize)
        header.append(c.nStep); header.append(c.gamma)
        header.append(c.prioritized.enabled); header.append(c.prioritized.alpha)
        header.append(c.prioritized.betaStart); header.append(c.prioritized.betaSteps)
        header.append(c.prioritized.epsilon)
        header.append(framesWritten); header.append(count); header.append(episodeOpen)
        header.append(maxPriority)
        for word in generator.state { header.append(word) }
        let storage = storageForCheckpoint
        header.append(contentsOf: storage.actions)
        header.append(contentsOf: storage.rewards)
        header.append(contentsOf: storage.flags)
        if c.prioritized.enabled { header.append(contentsOf: storage.leaves) }

        var prefix = BinaryWriter()
        prefix.append(contentsOf: Self.magic)
        prefix.append(UInt64(header.bytes.count))
        let frameBytes = min(framesWritten, capacity) * frameSize
        let frames = storedFrames
        try AtomicFile.write(to: url) { fd in
            try prefix.bytes.withUnsafeBytes { try AtomicFile.writeAll(fd, $0, path: url.path) }
            try header.bytes.withUnsafeBytes { try AtomicFile.writeAll(fd, $0, path: url.path) }
            // safe because: the first min(framesWritten, capacity) slots lie inside the mapping.
            try AtomicFile.writeAll(fd, UnsafeRawBufferPointer(start: frames, count: frameBytes), path: url.path)
        }
    }

    /// Restores the state saved by `save(to:)` into this memory, which must have the same
    /// configuration. Throws a `CheckpointReadError` for a missing, torn or mismatched file.
    public func restore(from directory: URL) throws {
        let path = directory.appendingPathComponent(Self.checkpointFileName).path
        let fd = try RawFile.openForReading(path)
        defer { close(fd) }
        var prefix = BinaryReader(bytes: try RawFile.readBytes(fd, count: 16, path: path), path: path)
        guard try prefix.readBytes(8) == Self.magic else {
            throw CheckpointReadError(path: path, reason: "it is not a replay memory file (wrong magic bytes)")
        }
        let headerLength = try prefix.read(UInt64.self)
        guard headerLength < UInt64(Int.max / 2) else {
            throw CheckpointReadError(path: path, reason: "the header length \(headerLength) is impossible")
        }
        let expectedLength = 4 + 8 * 5 + 1 + 8 * 4 + 8 * 2 + 1 + 8 + 32 + capacity * 6
            + (configuration.prioritized.enabled ? capacity * 8 : 0)
        var r = BinaryReader(bytes: try RawFile.readBytes(fd, count: Int(headerLength), path: path), path: path)
        let version = try r.read(UInt32.self)
        guard version == Self.formatVersion else {
            throw CheckpointReadError(path: path, reason: "it has format version \(version), this build reads version \(Self.formatVersion)")
        }
        var saved = ReplayConfiguration(capacity: try r.readInt())
        saved.stackDepth = try r.readInt(); saved.frameSize = try r.readInt()
        saved.nStep = try r.readInt(); saved.gamma = try r.readDouble()
        saved.prioritized = PrioritizedReplayConfig(enabled: try r.readBool(), alpha: try r.readDouble(),
                                                    betaStart: try r.readDouble(), betaSteps: try r.readInt(),
                                                    epsilon: try r.readDouble())
        guard saved == configuration else {
            throw CheckpointReadError(path: path, reason: "it was saved with replay settings \(Self.summary(saved)) but this agent has \(Self.summary(configuration))")
        }
        guard Int(headerLength) == expectedLength else {
            throw CheckpointReadError(path: path, reason: "its header has \(headerLength) bytes, expected \(expectedLength)")
        }
        let written = try r.readInt(), count = try r.readInt(), open = try r.readBool()
        let maxPriority = try r.readDouble()
        var generator = SeededGenerator(seed: 0)
        generator.state = [try r.read(UInt64.self), try r.read(UInt64.self), try r.read(UInt64.self), try r.read(UInt64.self)]
        let actions = try r.readBytes(capacity)
        let rewards = try r.readFloats(capacity)
        let flags = try r.readBytes(capacity)
        let leaves = configuration.prioritized.enabled ? try r.readDoubles(capacity) : nil
        guard written >= 0, count >= 0, count <= capacity, maxPriority.isFinite, maxPriority > 0 else {
            throw CheckpointReadError(path: path, reason: "its counters are inconsistent (framesWritten \(written), count \(count))")
        }
        if let leaves, leaves.contains(where: { !($0 >= 0 && $0.isFinite) }) {
            throw CheckpointReadError(path: path, reason: "it holds a negative or non-finite priority")
        }
        try RawFile.readAll(fd, into: storedFrames, count: min(written, capacity) * frameSize, path: path)
        var extra: UInt8 = 0
        guard read(fd, &extra, 1) == 0 else {
            throw CheckpointReadError(path: path, reason: "it has bytes after the frames")
        }
        restoreState(framesWritten: written, count: count, maxPriority: maxPriority, episodeOpen: open,
                     actions: actions, rewards: rewards, flags: flags, leaves: leaves, generator: generator)
    }

    static func summary(_ c: ReplayConfiguration) -> String {
        "(capacity \(c.capacity), stackDepth \(c.stackDepth), frameSize \(c.frameSize), nStep \(c.nStep), gamma \(c.gamma), prioritized \(c.prioritized.enabled ? "alpha \(c.prioritized.alpha) betaStart \(c.prioritized.betaStart) betaSteps \(c.prioritized.betaSteps) epsilon \(c.prioritized.epsilon)" : "off"))"
    }
}
