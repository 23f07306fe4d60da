// A small NumPy .npy reader and writer for uint8 arrays (observations for `arena weights q`).
// Format: "\x93NUMPY", major, minor, header length (u16 LE for v1, u32 LE for v2/v3), then a
// Python dict literal {'descr': '|u1', 'fortran_order': False, 'shape': (4, 84, 84), } padded
// with spaces and a newline, then the raw data in C order.

import Foundation

/// A uint8 array read from a .npy file.
public struct NPYArray: Sendable, Equatable {
    public var shape: [Int]
    public var values: [UInt8]
    public init(shape: [Int], values: [UInt8]) { self.shape = shape; self.values = values }
}

/// An unusable .npy file, with a sentence saying why and what to do.
public struct NPYError: Error, CustomStringConvertible {
    public let description: String
    init(_ path: String, _ problem: String) {
        description = "Cannot use \(path) as a uint8 NumPy array: \(problem). Save it with numpy.save(path, array.astype(numpy.uint8))."
    }
}

public enum NPY {
    /// Reads a uint8 .npy file.
    public static func readUInt8(from url: URL) throws -> NPYArray {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw NPYError(url.path, FileManager.default.fileExists(atPath: url.path) ? "it could not be read" : "there is no such file")
        }
        return try decodeUInt8([UInt8](data), path: url.path)
    }

    /// Parses the bytes of a uint8 .npy file.
    public static func decodeUInt8(_ bytes: [UInt8], path: String = "the array") throws -> NPYArray {
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            throw NPYError(path, "it does not start with the NumPy magic bytes (it is not a .npy file)")
        }
        let major = bytes[6]
        var headerStart: Int
        var headerLength: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw NPYError(path, "it is truncated inside its header") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default:
            throw NPYError(path, "it has .npy format version \(major), which is not supported (1, 2 or 3 are)")
        }
        guard headerStart + headerLength <= bytes.count else {
            throw NPYError(path, "it is truncated inside its header")
        }
        let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        guard let descr = quotedValue(after: "'descr'", in: header) else {
            throw NPYError(path, "its header has no 'descr'")
        }
        guard ["|u1", "<u1", ">u1", "=u1", "u1"].contains(descr) || descr == "B" else {
            throw NPYError(path, "its dtype is '\(descr)' but observations must be uint8 ('|u1')")
        }
        guard let shapeText = tupleText(after: "'shape'", in: header) else {
            throw NPYError(path, "its header has no 'shape' tuple")
        }
        var shape: [Int] = []
        for part in shapeText.split(separator: ",") {
            let t = part.trimmingCharacters(in: .whitespaces)
            if t.isEmpty { continue }
            guard let v = Int(t.hasSuffix("L") ? String(t.dropLast()) : t), v >= 0 else {
                throw NPYError(path, "its shape (\(shapeText)) is not a tuple of non-negative integers")
            }
            shape.append(v)
        }
        if header.contains("'fortran_order': True") && shape.filter({ $0 > 1 }).count > 1 {
            throw NPYError(path, "it is stored in Fortran order; save a C-ordered copy with numpy.ascontiguousarray")
        }
        var count = 1
        for d in shape {
            let (p, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else { throw NPYError(path, "its shape \(shape) is impossibly large") }
            count = p
        }
        let dataStart = headerStart + headerLength
        guard bytes.count - dataStart >= count else {
            throw NPYError(path, "it is truncated: shape \(shape) needs \(count) bytes of data but \(bytes.count - dataStart) are present")
        }
        return NPYArray(shape: shape, values: Array(bytes[dataStart..<(dataStart + count)]))
    }

    /// The bytes of a version-1 .npy file holding `values` with `shape` as uint8.
    public static func encodeUInt8(_ values: [UInt8], shape: [Int]) -> [UInt8] {
        precondition(values.count == shape.reduce(1, *), "\(values.count) values do not fill shape \(shape)")
        let dims = shape.count == 1 ? "\(shape[0])," : shape.map(String.init).joined(separator: ", ")
        var header = "{'descr': '|u1', 'fortran_order': False, 'shape': (\(dims)), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        let n = header.utf8.count
        return [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(n & 0xFF), UInt8(n >> 8)]
            + Array(header.utf8) + values
    }

    private static func quotedValue(after key: String, in header: String) -> String? {
        guard let k = header.range(of: key) else { return nil }
        let rest = header[k.upperBound...]
        guard let open = rest.firstIndex(where: { $0 == "'" || $0 == "\"" }) else { return nil }
        let quote = rest[open]
        let afterOpen = rest.index(after: open)
        guard let close = rest[afterOpen...].firstIndex(of: quote) else { return nil }
        return String(rest[afterOpen..<close])
    }

    private static func tupleText(after key: String, in header: String) -> String? {
        guard let k = header.range(of: key) else { return nil }
        let rest = header[k.upperBound...]
        guard let open = rest.firstIndex(of: "("), let close = rest[open...].firstIndex(of: ")") else { return nil }
        return String(rest[rest.index(after: open)..<close])
    }
}
