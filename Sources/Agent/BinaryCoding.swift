import Foundation
import ArenaSupport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

#if _endian(big)
#error("Checkpoint files are little-endian; add byte swapping before building for a big-endian platform.")
#endif

/// Little-endian bytes for checkpoint headers and small arrays.
struct BinaryWriter {
    private(set) var bytes: [UInt8] = []

    mutating func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
    mutating func append(_ value: Int) { append(Int64(value)) }
    mutating func append(_ value: Bool) { append(UInt8(value ? 1 : 0)) }
    mutating func append(_ value: Double) { append(value.bitPattern) }
    mutating func append(_ value: Float) { append(value.bitPattern) }
    mutating func append(_ text: String) {
        let utf8 = Array(text.utf8)
        append(Int64(utf8.count))
        bytes.append(contentsOf: utf8)
    }
    mutating func append(contentsOf values: [UInt8]) { bytes.append(contentsOf: values) }
    mutating func append(contentsOf values: [Float]) { for v in values { append(v) } }
    /// Floats as raw little-endian bytes in one copy (the platforms we build for are little-endian).
    mutating func appendRaw(_ values: [Float]) {
        values.withUnsafeBytes { bytes.append(contentsOf: $0) }
    }
    mutating func append(contentsOf values: some Sequence<Double>) { for v in values { append(v) } }
}

/// Reads what `BinaryWriter` wrote; every read checks the remaining length and throws a
/// `CheckpointReadError` naming the file when it runs out.
struct BinaryReader {
    let bytes: [UInt8]
    let path: String
    private(set) var offset = 0

    init(bytes: [UInt8], path: String) { self.bytes = bytes; self.path = path }

    var remaining: Int { bytes.count - offset }

    private mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, n <= remaining else {
            throw CheckpointReadError(path: path, reason: "the file ends early (truncated or torn)")
        }
        defer { offset += n }
        return bytes[offset..<(offset + n)]
    }

    mutating func read<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        let slice = try take(MemoryLayout<T>.size)
        var value: T = 0
        for (i, b) in slice.enumerated() { value |= T(truncatingIfNeeded: b) << (8 * i) }
        return value
    }
    mutating func readInt() throws -> Int {
        let v = try read(Int64.self)
        guard v >= Int64(Int.min), v <= Int64(Int.max) else {
            throw CheckpointReadError(path: path, reason: "a count is out of range")
        }
        return Int(v)
    }
    mutating func readBool() throws -> Bool { try read(UInt8.self) != 0 }
    mutating func readDouble() throws -> Double { Double(bitPattern: try read(UInt64.self)) }
    mutating func readFloat() throws -> Float { Float(bitPattern: try read(UInt32.self)) }
    mutating func readString() throws -> String {
        let n = try readInt()
        return String(decoding: try take(n), as: UTF8.self)
    }
    mutating func readBytes(_ n: Int) throws -> [UInt8] { Array(try take(n)) }
    mutating func readFloats(_ n: Int) throws -> [Float] {
        var out = [Float](); out.reserveCapacity(max(0, n))
        for _ in 0..<n { out.append(try readFloat()) }
        return out
    }
    /// Reads what `appendRaw` wrote.
    mutating func readFloatsRaw(_ n: Int) throws -> [Float] {
        guard n >= 0 else { throw CheckpointReadError(path: path, reason: "a count is negative") }
        let slice = try take(n * 4)
        var out = [Float](repeating: 0, count: n)
        out.withUnsafeMutableBytes { raw in slice.withUnsafeBytes { raw.copyMemory(from: $0) } }
        return out
    }
    mutating func readDoubles(_ n: Int) throws -> [Double] {
        var out = [Double](); out.reserveCapacity(max(0, n))
        for _ in 0..<n { out.append(try readDouble()) }
        return out
    }
}

enum RawFile {
    /// Reads exactly `count` bytes from `fd` into `destination`, or throws.
    static func readAll(_ fd: Int32, into destination: UnsafeMutableRawPointer, count: Int, path: String) throws {
        var offset = 0
        while offset < count {
            // safe because: offset < count and the length asked for is what remains of the destination.
            let n = read(fd, destination + offset, count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw CheckpointReadError(path: path, reason: String(cString: strerror(errno)))
            }
            if n == 0 { throw CheckpointReadError(path: path, reason: "the file ends early (truncated or torn)") }
            offset += n
        }
    }

    /// Opens `path` for reading or throws a sentence.
    static func openForReading(_ path: String) throws -> Int32 {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let reason = errno == ENOENT ? "the file does not exist" : String(cString: strerror(errno))
            throw CheckpointReadError(path: path, reason: reason)
        }
        return fd
    }

    /// Reads `count` bytes from `fd` into a new array.
    static func readBytes(_ fd: Int32, count: Int, path: String) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        try out.withUnsafeMutableBytes { raw in
            // safe because: the array holds exactly `count` bytes for the scope of this closure.
            guard let base = raw.baseAddress else { return }
            try readAll(fd, into: base, count: count, path: path)
        }
        return out
    }
}
