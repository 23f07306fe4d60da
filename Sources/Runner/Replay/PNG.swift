import CZlib
import Foundation

/// A PNG encoder for 8-bit RGB images over Debian's zlib: the scanlines (filter type 0, none) are
/// deflated with `compress2` and every chunk carries zlib's CRC-32. Atari frames have few colours
/// in long runs: a 160x210 Pong frame (100,800 bytes of RGB) takes well under a kilobyte.
public enum PNG {
    /// The deflate level: zlib's default (6), its usual balance of size and speed.
    static let compressionLevel: Int32 = Z_DEFAULT_COMPRESSION

    /// The PNG file of `rgb` (`width * height` pixels, three bytes each, rows top to bottom).
    /// Throws only when zlib cannot compress (out of memory).
    public static func encodeRGB(_ rgb: [UInt8], width: Int, height: Int) throws -> [UInt8] {
        precondition(width > 0 && height > 0 && rgb.count == width * height * 3,
                     "PNG: \(rgb.count) bytes for a \(width)x\(height) RGB image, expected \(max(0, width * height * 3))")
        // Raw scanlines: filter type 0 (none) before each row.
        let rowBytes = width * 3
        var raw = [UInt8]()
        raw.reserveCapacity(height * (rowBytes + 1))
        for y in 0..<height {
            raw.append(0)
            raw.append(contentsOf: rgb[(y * rowBytes)..<((y + 1) * rowBytes)])
        }

        var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        chunk("IHDR", bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [8, 2, 0, 0, 0], into: &out)
        chunk("IDAT", try deflate(raw), into: &out)
        chunk("IEND", [], into: &out)
        return out
    }

    /// `data` as a zlib stream (header, deflate blocks, Adler-32), which is what IDAT holds.
    static func deflate(_ data: [UInt8]) throws -> [UInt8] {
        let bound = compressBound(uLong(data.count))
        var compressed = [UInt8](repeating: 0, count: Int(bound))
        var length = bound
        let status = compressed.withUnsafeMutableBufferPointer { destination in
            data.withUnsafeBufferPointer { source in
                // safe because: destination holds compressBound(source.count) bytes, the most
                // compress2 can write, and length tells it so.
                compress2(destination.baseAddress, &length, source.baseAddress, uLong(source.count), compressionLevel)
            }
        }
        guard status == Z_OK else { throw PNGEncodingError(zlibStatus: status) }
        compressed.removeSubrange(Int(length)...)
        return compressed
    }

    static func chunk(_ type: String, _ data: [UInt8], into out: inout [UInt8]) {
        let typeBytes = Array(type.utf8)
        out += bigEndian(UInt32(data.count))
        out += typeBytes
        out += data
        out += bigEndian(crc32(typeBytes + data))
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
    }

    /// CRC-32 (IEEE 802.3), as PNG chunks use: zlib's.
    static func crc32(_ data: [UInt8]) -> UInt32 {
        let crc = data.withUnsafeBufferPointer { bytes in
            // safe because: zlib reads exactly bytes.count bytes from the base address.
            CZlib.crc32(0, bytes.baseAddress, uInt(bytes.count))
        }
        return UInt32(truncatingIfNeeded: crc)
    }
}

/// zlib could not compress a frame.
public struct PNGEncodingError: Error, CustomStringConvertible, LocalizedError {
    public let zlibStatus: Int32
    /// A clause (the PNG sink puts it into its own sentence).
    public var description: String {
        let meaning = zlibStatus == Z_MEM_ERROR ? "out of memory" : "zlib status \(zlibStatus)"
        return "zlib could not compress the frame (\(meaning))"
    }
    public var errorDescription: String? { description }
}
