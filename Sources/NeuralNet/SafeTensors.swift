// The safetensors format (Hugging Face), read and written by hand. Floats are written as F32 or
// F16; F32, F16 and BF16 tensors are read (as Float); other dtypes are parsed but not read:
//   [u64 little-endian N] [N bytes of JSON header, space-padded so N % 8 == 0] [tensor data]
//   header: {"__metadata__": {"k": "v", ...},
//            "<name>": {"dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end]}, ...}
//   offsets are relative to the start of the data section; data is little-endian row-major.

import Foundation

/// A problem found while decoding a safetensors file (a phrase; callers add the path).
public struct SafeTensorsProblem: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// An in-memory safetensors file, values held as Float, in file order.
public struct SafeTensors: Sendable, Equatable {
    public struct Tensor: Sendable, Equatable {
        public var name: String
        /// "F32" or "F16" when writing (F16 rounds each value to the nearest half); decoding keeps
        /// what the file says and reads values of F32, F16 and BF16 tensors (others get empty `values`).
        public var dtype: String
        public var shape: [Int]
        public var values: [Float]
        public init(name: String, shape: [Int], values: [Float]) {
            self.name = name; self.dtype = "F32"; self.shape = shape; self.values = values
        }
        public init(name: String, dtype: String, shape: [Int], values: [Float]) {
            self.name = name; self.dtype = dtype; self.shape = shape; self.values = values
        }

        /// Bytes per value of the dtypes we write.
        var writtenWidth: Int {
            switch dtype {
            case "F32": return 4
            case "F16": return 2
            default: preconditionFailure("safetensors writing supports F32 and F16, not \(dtype)")
            }
        }
    }

    public var tensors: [Tensor]
    public var metadata: [String: String]

    public init(tensors: [Tensor], metadata: [String: String] = [:]) {
        self.tensors = tensors; self.metadata = metadata
    }

    public func tensor(named name: String) -> Tensor? { tensors.first { $0.name == name } }

    // MARK: Encoding

    /// The file's bytes. Tensors in array order; header keys in that order, metadata first.
    public func encoded() -> [UInt8] {
        var header = "{"
        if !metadata.isEmpty {
            header += "\"__metadata__\":{"
            header += metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0] ?? ""))" }
                .joined(separator: ",")
            header += "}"
        }
        var offset = 0
        for t in tensors {
            precondition(t.values.count == t.shape.reduce(1, *),
                         "tensor \(t.name) has \(t.values.count) values for shape \(t.shape)")
            let end = offset + t.writtenWidth * t.values.count
            if header.count > 1 { header += "," }
            header += "\(jsonString(t.name)):{\"dtype\":\"\(t.dtype)\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(end)]}"
            offset = end
        }
        header += "}"
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
        var out = [UInt8]()
        out.reserveCapacity(8 + headerBytes.count + offset)
        var n = UInt64(headerBytes.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(contentsOf: headerBytes)
        for t in tensors {
            if t.dtype == "F16" {
                for v in t.values {
                    let bits = halfBits(v)
                    out.append(UInt8(truncatingIfNeeded: bits)); out.append(UInt8(truncatingIfNeeded: bits >> 8))
                }
                continue
            }
            #if _endian(little)
            t.values.withUnsafeBytes { out.append(contentsOf: $0) }  // already little-endian
            #else
            for v in t.values {
                var bits = v.bitPattern.littleEndian
                withUnsafeBytes(of: &bits) { out.append(contentsOf: $0) }
            }
            #endif
        }
        return out
    }

    // MARK: Decoding

    /// Parses and validates a whole file; any inconsistency is a `SafeTensorsProblem`.
    public init(decoding bytes: [UInt8]) throws {
        guard bytes.count >= 8 else {
            throw SafeTensorsProblem("it is \(bytes.count) bytes long, too short to hold the 8-byte header length")
        }
        var headerLength: UInt64 = 0
        for i in 0..<8 { headerLength |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw SafeTensorsProblem("its header claims \(headerLength) bytes but only \(bytes.count - 8) follow (the file is truncated or not safetensors)")
        }
        let headerEnd = 8 + Int(headerLength)
        let headerData = Data(bytes[8..<headerEnd])
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: headerData)
        } catch {
            throw SafeTensorsProblem("its header is not valid JSON")
        }
        guard let object = json as? [String: Any] else {
            throw SafeTensorsProblem("its header is JSON but not an object of tensors")
        }
        let dataCount = bytes.count - headerEnd
        var metadata: [String: String] = [:]
        var entries: [(name: String, dtype: String, shape: [Int], begin: Int, end: Int)] = []
        for key in object.keys.sorted() {  // sorted: the first problem reported is deterministic
            guard let value = object[key] else { continue }
            if key == "__metadata__" {
                guard let dict = value as? [String: Any] else {
                    throw SafeTensorsProblem("its __metadata__ is not an object of strings")
                }
                for (k, v) in dict {
                    guard let s = v as? String else {
                        throw SafeTensorsProblem("its __metadata__ entry \"\(k)\" is not a string")
                    }
                    metadata[k] = s
                }
                continue
            }
            guard let info = value as? [String: Any] else {
                throw SafeTensorsProblem("the header entry for tensor \"\(key)\" is not an object")
            }
            guard let dtype = info["dtype"] as? String else {
                throw SafeTensorsProblem("tensor \"\(key)\" has no dtype string")
            }
            guard let rawShape = info["shape"] as? [Any] else {
                throw SafeTensorsProblem("tensor \"\(key)\" has no shape list")
            }
            var shape: [Int] = []
            for d in rawShape {
                guard let v = jsonInt(d), v >= 0 else {
                    throw SafeTensorsProblem("tensor \"\(key)\" has a shape entry that is not a non-negative integer")
                }
                shape.append(v)
            }
            guard let rawOffsets = info["data_offsets"] as? [Any], rawOffsets.count == 2,
                  let begin = jsonInt(rawOffsets[0]), let end = jsonInt(rawOffsets[1]) else {
                throw SafeTensorsProblem("tensor \"\(key)\" has no data_offsets pair of integers")
            }
            guard begin >= 0, begin <= end, end <= dataCount else {
                throw SafeTensorsProblem("tensor \"\(key)\" spans bytes \(begin)..<\(end) of a \(dataCount)-byte data section (the file is truncated or its header is wrong)")
            }
            var elements = 1
            for d in shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow else { throw SafeTensorsProblem("tensor \"\(key)\" has an impossibly large shape \(shape)") }
                elements = product
            }
            let width: Int
            switch dtype {
            case "F64", "I64", "U64": width = 8
            case "F32", "I32", "U32": width = 4
            case "F16", "BF16", "I16", "U16": width = 2
            case "I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2": width = 1
            default: throw SafeTensorsProblem("tensor \"\(key)\" has unknown dtype \(dtype)")
            }
            let (size, overflow) = elements.multipliedReportingOverflow(by: width)
            guard !overflow, end - begin == size else {
                throw SafeTensorsProblem("tensor \"\(key)\" has shape \(shape) of \(dtype) (\(elements) values) but \(end - begin) bytes of data")
            }
            entries.append((key, dtype, shape, begin, end))
        }
        entries.sort { ($0.begin, $0.name) < ($1.begin, $1.name) }
        var tensors: [Tensor] = []
        tensors.reserveCapacity(entries.count)
        for e in entries {
            var values: [Float] = []
            if e.dtype == "F32" {
                let count = (e.end - e.begin) / 4
                values = [Float](repeating: 0, count: count)
                bytes.withUnsafeBytes { raw in
                    values.withUnsafeMutableBytes { dst in
                        // safe because: headerEnd + end <= bytes.count (checked above) and dst
                        // holds exactly end - begin bytes.
                        dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[(headerEnd + e.begin)..<(headerEnd + e.end)]))
                    }
                }
                #if _endian(big)
                values = values.map { Float(bitPattern: UInt32(littleEndian: $0.bitPattern)) }
                #endif
            } else if e.dtype == "F16" || e.dtype == "BF16" {
                let start = headerEnd + e.begin, count = (e.end - e.begin) / 2
                values = (0..<count).map { i in
                    let bits = UInt16(bytes[start + 2 * i]) | UInt16(bytes[start + 2 * i + 1]) << 8
                    return e.dtype == "F16" ? floatFromHalf(bits) : Float(bitPattern: UInt32(bits) << 16)
                }
            }
            tensors.append(Tensor(name: e.name, dtype: e.dtype, shape: e.shape, values: values))
        }
        self.tensors = tensors
        self.metadata = metadata
    }
}

/// An integer from a JSONSerialization value (NSNumber on Linux), or nil for non-integers.
private func jsonInt(_ value: Any) -> Int? {
    if let number = value as? NSNumber {
        let d = number.doubleValue
        guard d.isFinite, d == d.rounded(), abs(d) < 9e15 else { return nil }
        return Int(d)
    }
    return nil
}

/// A JSON string literal with the required escapes.
func jsonString(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 {
                out += String(format: "\\u%04x", scalar.value)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}

/// IEEE 754 binary16 bits of `x`, rounded to nearest even (Swift's Float16 conversion).
@inline(__always)
func halfBits(_ x: Float) -> UInt16 { Float16(x).bitPattern }

/// The Float value of IEEE 754 binary16 bits (exact: every half is a float).
@inline(__always)
func floatFromHalf(_ h: UInt16) -> Float { Float(Float16(bitPattern: h)) }
