#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArenaSupport
import Foundation

/// The checkpoints of one run: `checkpoints/ckpt-<agentSteps>/`, each a folder of files plus a
/// `MANIFEST` listing every file's size and SHA-256.
///
/// Writing is atomic: files go into `ckpt-<n>.tmp/` (each fsynced), the MANIFEST is written last
/// and fsynced, the folder is renamed to `ckpt-<n>` and the parent folder fsynced. Only then are
/// old checkpoints deleted, keeping the newest `keep` complete ones. A crash at any moment leaves
/// either the new checkpoint complete or the previous ones untouched. Any failure (full disk,
/// unwritable folder) removes the temporary folder and throws a `CheckpointWriteError` that says
/// which checkpoint is still intact.
///
///     let store = CheckpointStore(directory: runFolder.appendingPathComponent("checkpoints"))
///     try store.write(agentSteps: 250_000) { ckpt in
///         try ckpt.add("weights.safetensors", bytes: weights)
///         try ckpt.add("replay.bin") { sink in try replay.save(to: sink) }   // streamed, hashed on the way
///     }
///     if let found = try store.latestValid() {
///         found.warnings.forEach { print($0) }
///         let ckpt = try CheckpointReader(url: found.url)
///         let weights = try ckpt.bytes("weights.safetensors")            // checksum verified
///     }
public struct CheckpointStore {
    public let directory: URL
    /// How many complete checkpoints to keep (at least 1).
    public let keep: Int
    /// Tests only: make the write of `file` fail with `errno` once `afterBytes` bytes are written.
    var injectedWriteFailure: (file: String, afterBytes: Int, errno: Int32)?

    public static let manifestName = "MANIFEST"

    /// Opens the store. Leftovers of an interrupted write (`*.tmp` folders) are removed; the store
    /// is created on the first `write`.
    public init(directory: URL, keep: Int = 2) {
        precondition(keep >= 1, "CheckpointStore keeps at least 1 checkpoint, got keep = \(keep)")
        self.directory = directory
        self.keep = keep
        cleanUpInterruptedWrites()
    }

    public static func folderName(agentSteps: Int) -> String { "ckpt-\(agentSteps)" }

    /// Writes checkpoint `ckpt-<agentSteps>` with the files `body` adds, and returns its URL.
    /// A checkpoint with the same agent steps is replaced. Checkpoints with more agent steps
    /// belong to a timeline the run abandoned by resuming from an older one, and are deleted.
    @discardableResult
    public func write(agentSteps: Int, _ body: (CheckpointWriter) throws -> Void) throws -> URL {
        precondition(agentSteps >= 0, "checkpoint agent steps must be >= 0, got \(agentSteps)")
        let name = Self.folderName(agentSteps: agentSteps)
        let finalURL = directory.appendingPathComponent(name, isDirectory: true)
        let tmpURL = directory.appendingPathComponent(name + ".tmp", isDirectory: true)
        let asideURL = directory.appendingPathComponent(name + ".replaced", isDirectory: true)
        do {
            try FileSystem.makeDirectories(directory)
            FileSystem.removeTree(tmpURL)
            guard mkdir(tmpURL.path, 0o755) == 0 else {
                throw FileWriteError(path: tmpURL.path, reason: AtomicFile.errnoText())
            }
            let writer = CheckpointWriter(directory: tmpURL, agentSteps: agentSteps, injectedWriteFailure: injectedWriteFailure)
            try body(writer)
            try writer.writeManifest()
            try FileSystem.syncDirectory(tmpURL)
            let replacing = FileManager.default.fileExists(atPath: finalURL.path)
            if replacing {
                FileSystem.removeTree(asideURL)
                guard rename(finalURL.path, asideURL.path) == 0 else {
                    throw FileWriteError(path: finalURL.path, reason: AtomicFile.errnoText())
                }
            }
            guard rename(tmpURL.path, finalURL.path) == 0 else {
                let reason = AtomicFile.errnoText()
                if replacing { rename(asideURL.path, finalURL.path) }
                throw FileWriteError(path: finalURL.path, reason: reason)
            }
            try FileSystem.syncDirectory(directory)
            if replacing { FileSystem.removeTree(asideURL) }
        } catch {
            FileSystem.removeTree(tmpURL)
            // Whatever complete checkpoint remains was not touched by this failed write.
            let intact = completeCheckpoints().first
            throw CheckpointWriteError(checkpoint: name, directory: directory.path, underlying: error,
                                       intactCheckpoint: intact.map { Self.folderName(agentSteps: $0.agentSteps) })
        }
        prune(after: agentSteps)
        return finalURL
    }

    /// The newest checkpoint whose manifest and every file checksum verify, with one warning per
    /// newer checkpoint that did not (for the caller to print). Nil when there is no checkpoint
    /// at all; throws `CheckpointUnusableError` when there are some but none verifies, rather than
    /// let a run silently start over.
    public func latestValid() throws -> (url: URL, agentSteps: Int, warnings: [String])? {
        var rejected: [(name: String, problems: [String])] = []
        for candidate in checkpointFolders() {
            let problems = CheckpointReader.verify(candidate.url, expectedAgentSteps: candidate.agentSteps)
            let name = Self.folderName(agentSteps: candidate.agentSteps)
            if problems.isEmpty {
                let warnings = rejected.map {
                    "checkpoint \($0.name) is incomplete or damaged: \($0.problems.joined(separator: "; ")); using \(name)"
                }
                return (candidate.url, candidate.agentSteps, warnings)
            }
            rejected.append((name, problems))
        }
        if rejected.isEmpty { return nil }
        throw CheckpointUnusableError(directory: directory.path,
                                      problems: rejected.map { "\($0.name): \($0.problems.joined(separator: "; "))" })
    }

    /// Every `ckpt-<n>` folder, newest first (complete or not).
    func checkpointFolders() -> [(url: URL, agentSteps: Int)] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return [] }
        return names.compactMap { name -> (URL, Int)? in
            guard name.hasPrefix("ckpt-"), let steps = Int(name.dropFirst(5)), steps >= 0,
                  name == Self.folderName(agentSteps: steps) else { return nil }
            return (directory.appendingPathComponent(name, isDirectory: true), steps)
        }
        .sorted { $0.1 > $1.1 }
    }

    /// Folders that have a MANIFEST (finished writing), newest first. Checksums are not verified.
    func completeCheckpoints() -> [(url: URL, agentSteps: Int)] {
        checkpointFolders().filter {
            FileManager.default.fileExists(atPath: $0.url.appendingPathComponent(Self.manifestName).path)
        }
    }

    /// Deletes checkpoints newer than the one just written, then all but the newest `keep`
    /// complete ones (and any unfinished folder). Best effort: a failed delete costs only space.
    private func prune(after agentSteps: Int) {
        var kept = 0
        for folder in checkpointFolders() {
            let complete = FileManager.default.fileExists(atPath: folder.url.appendingPathComponent(Self.manifestName).path)
            if folder.agentSteps <= agentSteps && complete && kept < keep {
                kept += 1
            } else {
                FileSystem.removeTree(folder.url)
            }
        }
        try? FileSystem.syncDirectory(directory)
    }

    /// Removes `*.tmp` folders of interrupted writes. A `ckpt-<n>.replaced` folder whose
    /// replacement never arrived is renamed back; otherwise it is removed.
    private func cleanUpInterruptedWrites() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return }
        for name in names where name.hasPrefix("ckpt-") {
            let url = directory.appendingPathComponent(name)
            if name.hasSuffix(".tmp") {
                FileSystem.removeTree(url)
            } else if name.hasSuffix(".replaced") {
                let original = directory.appendingPathComponent(String(name.dropLast(".replaced".count)))
                if FileManager.default.fileExists(atPath: original.path) {
                    FileSystem.removeTree(url)
                } else {
                    rename(url.path, original.path)
                }
            }
        }
    }
}

/// Adds files to a checkpoint being written. Names are plain file names (no slashes, not
/// `MANIFEST`, not starting with a dot), each used once.
public final class CheckpointWriter {
    /// The temporary folder being filled.
    public let directory: URL
    public let agentSteps: Int
    private(set) var entries: [CheckpointManifest.Entry] = []
    private let injectedWriteFailure: (file: String, afterBytes: Int, errno: Int32)?

    init(directory: URL, agentSteps: Int, injectedWriteFailure: (file: String, afterBytes: Int, errno: Int32)?) {
        self.directory = directory
        self.agentSteps = agentSteps
        self.injectedWriteFailure = injectedWriteFailure
    }

    public func add(_ name: String, bytes: some Collection<UInt8>) throws {
        try add(name) { sink in try sink.write(bytes) }
    }

    public func add(_ name: String, data: Data) throws {
        try add(name) { sink in try data.withUnsafeBytes { try sink.write($0) } }
    }

    /// Streams a file: `body` writes pieces to the sink, which hashes them on the way to disk, so a
    /// replay memory of gigabytes is never copied into memory.
    public func add(_ name: String, _ body: (CheckpointFileSink) throws -> Void) throws {
        precondition(!name.isEmpty && !name.contains("/") && !name.hasPrefix(".") && name != CheckpointStore.manifestName,
                     "checkpoint file name must be a plain name other than MANIFEST, got '\(name)'")
        precondition(!entries.contains { $0.name == name }, "checkpoint file '\(name)' added twice")
        let url = directory.appendingPathComponent(name)
        let fd = try FileSystem.createFile(url)
        let failure = injectedWriteFailure.flatMap { $0.file == name ? ($0.afterBytes, $0.errno) : nil }
        let sink = CheckpointFileSink(fd: fd, path: url.path, injectedFailure: failure)
        do {
            try body(sink)
            try sink.flushBuffer()
        } catch {
            close(fd)
            throw error
        }
        try FileSystem.syncAndClose(fd, path: url.path)
        entries.append(.init(name: name, size: sink.bytesWritten, sha256: sink.finalizeDigest().hexString))
    }

    /// Lets `body` write whole files straight into the checkpoint folder (savers that manage their
    /// own files, like an agent's replay memory), then fsyncs and hashes each new file once by
    /// reading it back: no staging copy of gigabytes.
    public func adoptFiles(_ body: (URL) throws -> Void) throws {
        try body(directory)
        let known = Set(entries.map(\.name))
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        for name in names where !known.contains(name) && name != CheckpointStore.manifestName {
            precondition(!name.hasPrefix(".") && !name.contains("/"), "adopted checkpoint file must be a plain name, got '\(name)'")
            let url = directory.appendingPathComponent(name)
            let fd = open(url.path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw FileWriteError(path: url.path, reason: AtomicFile.errnoText(errno)) }
            var hasher = SHA256()
            var size = 0
            var chunk = [UInt8](repeating: 0, count: 1 << 20)
            do {
                while true {
                    let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw FileWriteError(path: url.path, reason: AtomicFile.errnoText(errno))
                    }
                    if n == 0 { break }
                    chunk.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                    size += n
                }
            } catch {
                close(fd)
                throw error
            }
            try FileSystem.syncAndClose(fd, path: url.path)
            entries.append(.init(name: name, size: size, sha256: hasher.finalize().hexString))
        }
    }

    func writeManifest() throws {
        let manifest = CheckpointManifest(agentSteps: agentSteps, files: entries)
        let url = directory.appendingPathComponent(CheckpointStore.manifestName)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let json = try encoder.encode(manifest)
        let fd = try FileSystem.createFile(url)
        do {
            try json.withUnsafeBytes { try AtomicFile.writeAll(fd, $0, path: url.path) }
        } catch {
            close(fd)
            throw error
        }
        try FileSystem.syncAndClose(fd, path: url.path)
    }
}

/// Where a streamed checkpoint file's bytes go. Small writes are gathered into a 1 MiB buffer;
/// everything is hashed (SHA-256) on the way.
public final class CheckpointFileSink {
    private let fd: Int32
    private let path: String
    private var hasher = SHA256()
    private var buffer: [UInt8] = []
    private static let bufferSize = 1 << 20
    private var injectedFailure: (afterBytes: Int, errno: Int32)?
    private var bytesOnDisk = 0
    /// Bytes accepted so far.
    public private(set) var bytesWritten = 0

    init(fd: Int32, path: String, injectedFailure: (afterBytes: Int, errno: Int32)?) {
        self.fd = fd
        self.path = path
        self.injectedFailure = injectedFailure
    }

    public func write(_ bytes: some Collection<UInt8>) throws {
        let done: Void?? = try bytes.withContiguousStorageIfAvailable { try write(UnsafeRawBufferPointer($0)) }
        if done == nil { try Array(bytes).withUnsafeBytes { try write($0) } }
    }

    /// Writes the raw bytes of an array of plain values (floats, integers) in memory order
    /// (little-endian on every platform the arena runs on).
    public func write<T: BitwiseCopyable>(contentsOf values: [T]) throws {
        try values.withUnsafeBytes { try write($0) }
    }

    public func write(_ raw: UnsafeRawBufferPointer) throws {
        guard raw.count > 0 else { return }
        hasher.update(raw)
        bytesWritten += raw.count
        if buffer.count + raw.count <= Self.bufferSize {
            if buffer.capacity < Self.bufferSize { buffer.reserveCapacity(Self.bufferSize) }
            buffer.append(contentsOf: raw)
            return
        }
        try flushBuffer()
        try writeToDisk(raw)
    }

    func flushBuffer() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try writeToDisk($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeToDisk(_ raw: UnsafeRawBufferPointer) throws {
        if let failure = injectedFailure, bytesOnDisk + raw.count > failure.afterBytes {
            let allowed = max(0, failure.afterBytes - bytesOnDisk)
            // safe because: allowed < raw.count.
            try AtomicFile.writeAll(fd, UnsafeRawBufferPointer(rebasing: raw[0..<allowed]), path: path)
            bytesOnDisk += allowed
            throw FileWriteError(path: path, reason: AtomicFile.errnoText(failure.errno))
        }
        try AtomicFile.writeAll(fd, raw, path: path)
        bytesOnDisk += raw.count
    }

    func finalizeDigest() -> SHA256.Digest { hasher.finalize() }
}

/// The MANIFEST of a checkpoint, written last: what a complete checkpoint contains.
public struct CheckpointManifest: Codable, Equatable, Sendable {
    public static let currentFormatVersion = 1
    public struct Entry: Codable, Equatable, Sendable {
        public var name: String
        public var size: Int
        /// Lower-case hex SHA-256 of the file's bytes.
        public var sha256: String
    }
    public var format = "atariarena-checkpoint"
    public var formatVersion = CheckpointManifest.currentFormatVersion
    public var agentSteps: Int
    /// When the checkpoint was written, ISO 8601 UTC.
    public var created: String
    public var files: [Entry]

    init(agentSteps: Int, files: [Entry], created: Date = Date()) {
        self.agentSteps = agentSteps
        self.files = files
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        self.created = formatter.string(from: created)
    }

    enum CodingKeys: String, CodingKey {
        case format, formatVersion = "format_version", agentSteps = "agent_steps", created, files
    }
}

/// Reads files back from a complete checkpoint, verifying each file's size and SHA-256.
public struct CheckpointReader {
    public let url: URL
    public let manifest: CheckpointManifest
    public var agentSteps: Int { manifest.agentSteps }
    public var fileNames: [String] { manifest.files.map(\.name) }
    private var name: String { url.lastPathComponent }

    public init(url: URL) throws {
        self.url = url
        manifest = try Self.readManifest(url).get()
    }

    public func contains(_ file: String) -> Bool { manifest.files.contains { $0.name == file } }

    /// The whole file, after checking its size and checksum.
    public func bytes(_ file: String) throws -> [UInt8] {
        var out: [UInt8] = []
        try read(file) { out.append(contentsOf: $0) }
        return out
    }

    /// Streams the file through `body` in chunks. The checksum is known only at the end: if this
    /// throws, discard whatever `body` built from the chunks.
    public func read(_ file: String, chunkSize: Int = 1 << 20, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard let entry = manifest.files.first(where: { $0.name == file }) else {
            throw CheckpointReadError(checkpoint: name, problem: "it has no file named \(file)")
        }
        let path = url.appendingPathComponent(file).path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CheckpointReadError(checkpoint: name, problem: "\(file) cannot be opened (\(AtomicFile.errnoText()))") }
        defer { close(fd) }
        var hasher = SHA256()
        var total = 0
        var chunk = [UInt8](repeating: 0, count: max(1, chunkSize))
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw CheckpointReadError(checkpoint: name, problem: "\(file) cannot be read (\(AtomicFile.errnoText()))")
            }
            if n == 0 { break }
            total += n
            guard total <= entry.size else { break }
            try chunk.withUnsafeBytes { all in
                let piece = UnsafeRawBufferPointer(rebasing: all[0..<n])
                hasher.update(piece)
                try body(piece)
            }
        }
        guard total == entry.size else {
            throw CheckpointReadError(checkpoint: name, problem: "\(file) has \(total > entry.size ? "more than" : "only") \(total) bytes, its MANIFEST says \(entry.size)")
        }
        guard hasher.finalize().hexString == entry.sha256 else {
            throw CheckpointReadError(checkpoint: name, problem: "\(file) does not match its checksum")
        }
    }

    static func readManifest(_ url: URL) -> Result<CheckpointManifest, CheckpointReadError> {
        let name = url.lastPathComponent
        let manifestURL = url.appendingPathComponent(CheckpointStore.manifestName)
        guard let data = FileManager.default.contents(atPath: manifestURL.path) else {
            return .failure(CheckpointReadError(checkpoint: name, problem: "it has no MANIFEST (its writing never finished)"))
        }
        let manifest: CheckpointManifest
        do {
            manifest = try JSONDecoder().decode(CheckpointManifest.self, from: data)
        } catch {
            return .failure(CheckpointReadError(checkpoint: name, problem: "its MANIFEST is not a valid checkpoint manifest"))
        }
        guard manifest.format == "atariarena-checkpoint" else {
            return .failure(CheckpointReadError(checkpoint: name, problem: "its MANIFEST is of format '\(manifest.format)', not an arena checkpoint"))
        }
        guard manifest.formatVersion <= CheckpointManifest.currentFormatVersion else {
            return .failure(CheckpointReadError(checkpoint: name, problem: "it was written by a newer arena (format version \(manifest.formatVersion); this one reads up to \(CheckpointManifest.currentFormatVersion))"))
        }
        return .success(manifest)
    }

    /// Every problem that makes the checkpoint at `url` unusable (empty when it verifies):
    /// manifest, agent steps, and each file's presence, size and SHA-256.
    public static func verify(_ url: URL, expectedAgentSteps: Int? = nil) -> [String] {
        let reader: CheckpointReader
        do {
            reader = try CheckpointReader(url: url)
        } catch let error as CheckpointReadError {
            return [error.problem]
        } catch {
            return ["\(error)"]
        }
        var problems: [String] = []
        if let expected = expectedAgentSteps, reader.agentSteps != expected {
            problems.append("its MANIFEST says \(reader.agentSteps) agent steps, its name \(expected)")
        }
        for entry in reader.manifest.files {
            let path = url.appendingPathComponent(entry.name).path
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                  let size = (attributes[.size] as? NSNumber)?.intValue else {
                problems.append("\(entry.name) is missing")
                continue
            }
            guard size == entry.size else {
                problems.append("\(entry.name) has \(size) bytes, its MANIFEST says \(entry.size)")
                continue
            }
            do {
                try reader.read(entry.name) { _ in }
            } catch let error as CheckpointReadError {
                problems.append(error.problem)
            } catch {
                problems.append("\(error)")
            }
        }
        return problems
    }
}

/// A checkpoint could not be written. Says which earlier checkpoint is intact.
public struct CheckpointWriteError: Error, CustomStringConvertible {
    public let checkpoint: String
    public let directory: String
    public let underlying: any Error
    public let intactCheckpoint: String?
    public var description: String {
        let cause = "\(underlying)"
        let sentence = cause.hasSuffix(".") ? cause : cause + "."
        let intact = intactCheckpoint.map { "The earlier checkpoint \($0) is intact; a resumed run starts from it." }
            ?? "There is no earlier checkpoint."
        return "Checkpoint \(checkpoint) was not written to \(directory): \(sentence) \(intact)"
    }
}

/// Checkpoints exist but none verifies.
public struct CheckpointUnusableError: Error, CustomStringConvertible {
    public let directory: String
    public let problems: [String]
    public var description: String {
        "No checkpoint in \(directory) is usable (\(problems.joined(separator: "; "))). "
            + "Restore a checkpoint from a backup, or move the checkpoints folder away to start the run over."
    }
}
