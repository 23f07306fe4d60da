#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArenaSupport
import Foundation

/// Writes TensorBoard event files by hand: TFRecord framing around hand-encoded `Event` protos
/// (tensorflow/core/util/event.proto), so no TensorFlow or protobuf library is needed.
///
/// Each instance opens a NEW file `events.out.tfevents.<unix time>.<host>` in `directory`; a
/// resumed run therefore adds a second file beside the first and TensorBoard merges them. Pass
/// `resumingAfter:` the checkpoint's agent steps: the writer then records a session restart
/// (`SessionLog.START`, as TensorFlow's supervisor did), and TensorBoard drops the old files'
/// points newer than the checkpoint, which the resumed run writes again.
/// `scalar` only buffers in memory; `flush` writes the buffer and throws on failure.
public final class TensorBoardWriter {
    /// The events file this writer appends to.
    public let url: URL
    private var fd: Int32
    private var buffer: [UInt8] = []

    /// Creates the folder if needed and opens a new events file whose first record carries the
    /// file version (`brain.Event:2`), as TensorFlow's writer does.
    public init(directory: URL, resumingAfter resumedAgentSteps: Int? = nil,
                wallTime: Double = Date().timeIntervalSince1970, host: String? = nil) throws {
        try FileSystem.makeDirectories(directory)
        let base = "events.out.tfevents.\(Int(wallTime.rounded(.down))).\(host ?? TensorBoardWriter.hostName())"
        // Two writers in the same second (a quick resume) must not share a file: add a suffix,
        // which also sorts after the first file, the order TensorBoard reads them in.
        var suffix = 0
        while true {
            let candidate = directory.appendingPathComponent(suffix == 0 ? base : "\(base).\(suffix)")
            let opened = open(candidate.path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0o644)
            if opened >= 0 {
                url = candidate
                fd = opened
                break
            }
            if errno != EEXIST { throw FileWriteError(path: candidate.path, reason: AtomicFile.errnoText()) }
            suffix += 1
        }
        var event = ProtoWriter()
        event.double(field: 1, wallTime)
        event.int64(field: 2, 0)
        event.string(field: 3, "brain.Event:2")
        TFRecord.append(event.bytes, to: &buffer)
        if let resumed = resumedAgentSteps {
            // TensorBoard purges points with step >= this event's step, so the checkpoint's own
            // points (step == resumed) stay and everything after it is replaced by this run's.
            var sessionLog = ProtoWriter()
            sessionLog.int64(field: 1, 1)  // status = START
            var restart = ProtoWriter()
            restart.double(field: 1, wallTime)
            restart.int64(field: 2, Int64(resumed) + 1)
            restart.message(field: 7, sessionLog.bytes)  // Event.session_log
            TFRecord.append(restart.bytes, to: &buffer)
        }
        try flush()
    }

    deinit { close() }

    /// Adds one scalar point (stored as a 32-bit float, as TensorBoard's `simple_value` is).
    public func scalar(_ tag: String, _ value: Double, step: Int, wallTime: Double = Date().timeIntervalSince1970) {
        var value_ = ProtoWriter()
        value_.string(field: 1, tag)
        value_.float(field: 2, Float(value))
        var summary = ProtoWriter()
        summary.message(field: 1, value_.bytes)
        var event = ProtoWriter()
        event.double(field: 1, wallTime)
        event.int64(field: 2, Int64(step))
        event.message(field: 5, summary.bytes)
        TFRecord.append(event.bytes, to: &buffer)
    }

    /// Writes buffered points to the file (no fsync: losing the last points in a power cut is
    /// fine, the metrics files are the record of truth).
    public func flush() throws {
        guard !buffer.isEmpty else { return }
        guard fd >= 0 else {
            preconditionFailure("TensorBoardWriter: flush after close (\(buffer.count) bytes pending in \(url.path))")
        }
        let path = url.path
        try buffer.withUnsafeBytes { try AtomicFile.writeAll(fd, $0, path: path) }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes what it can and closes the file. Call `flush()` first to see write errors.
    public func close() {
        guard fd >= 0 else { return }
        try? flush()
        _ = Glibc.close(fd)
        fd = -1
        buffer.removeAll()
    }

    static func hostName() -> String {
        var name = [CChar](repeating: 0, count: 256)
        guard gethostname(&name, name.count - 1) == 0 else { return "localhost" }
        let host = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // A file name must not contain a slash; hosts never should, but be sure.
        let cleaned = host.replacingOccurrences(of: "/", with: "_")
        return cleaned.isEmpty ? "localhost" : cleaned
    }
}

/// TFRecord framing: uint64 length (LE), masked CRC-32C of those 8 bytes, the data, masked
/// CRC-32C of the data.
enum TFRecord {
    static func append(_ data: [UInt8], to out: inout [UInt8]) {
        var header: [UInt8] = []
        appendLittleEndian(UInt64(data.count), to: &header)
        out += header
        appendLittleEndian(CRC32C.masked(CRC32C.checksum(header)), to: &out)
        out += data
        appendLittleEndian(CRC32C.masked(CRC32C.checksum(data)), to: &out)
    }
}

func appendLittleEndian<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
    var v = value.littleEndian
    withUnsafeBytes(of: &v) { out.append(contentsOf: $0) }
}

/// The few protobuf wire-format pieces an `Event` needs.
struct ProtoWriter {
    private(set) var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func key(_ field: Int, wireType: UInt64) { varint(UInt64(field) << 3 | wireType) }

    /// Wire type 1 (64-bit).
    mutating func double(field: Int, _ value: Double) {
        key(field, wireType: 1)
        appendLittleEndian(value.bitPattern, to: &bytes)
    }

    /// Wire type 5 (32-bit).
    mutating func float(field: Int, _ value: Float) {
        key(field, wireType: 5)
        appendLittleEndian(value.bitPattern, to: &bytes)
    }

    /// Wire type 0; negative values take ten bytes, as protobuf encodes int64.
    mutating func int64(field: Int, _ value: Int64) {
        key(field, wireType: 0)
        varint(UInt64(bitPattern: value))
    }

    /// Wire type 2.
    mutating func string(field: Int, _ value: String) { message(field: field, Array(value.utf8)) }

    /// Wire type 2: a length-prefixed embedded message or bytes.
    mutating func message(field: Int, _ value: [UInt8]) {
        key(field, wireType: 2)
        varint(UInt64(value.count))
        bytes += value
    }
}
