/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum TFRecord files use.
/// Table-driven, slicing by 8 bytes; `masked` is TensorFlow's masking of a stored CRC.
public enum CRC32C {
    /// CRC-32C of `bytes`, continuing from `crc` (0 to start).
    public static func checksum(_ bytes: some Collection<UInt8>, continuing crc: UInt32 = 0) -> UInt32 {
        if let result = bytes.withContiguousStorageIfAvailable({ checksum(UnsafeRawBufferPointer($0), continuing: crc) }) {
            return result
        }
        return Array(bytes).withUnsafeBytes { checksum($0, continuing: crc) }
    }

    public static func checksum(_ buffer: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        var c = ~crc
        table.withUnsafeBufferPointer { t in
            var i = 0
            let n = buffer.count
            // safe because: every index read below is < n, and table indices are < 8 * 256.
            while i + 8 <= n {
                let lo = c ^ (UInt32(buffer[i]) | UInt32(buffer[i + 1]) << 8 | UInt32(buffer[i + 2]) << 16 | UInt32(buffer[i + 3]) << 24)
                c = t[7 * 256 + Int(lo & 0xff)] ^ t[6 * 256 + Int((lo >> 8) & 0xff)]
                    ^ t[5 * 256 + Int((lo >> 16) & 0xff)] ^ t[4 * 256 + Int(lo >> 24)]
                    ^ t[3 * 256 + Int(buffer[i + 4])] ^ t[2 * 256 + Int(buffer[i + 5])]
                    ^ t[1 * 256 + Int(buffer[i + 6])] ^ t[Int(buffer[i + 7])]
                i += 8
            }
            while i < n {
                c = t[Int((c ^ UInt32(buffer[i])) & 0xff)] ^ (c >> 8)
                i += 1
            }
        }
        return ~c
    }

    /// TensorFlow's mask for CRCs stored next to the data they cover: rotate right by 15, add a constant.
    public static func masked(_ crc: UInt32) -> UInt32 { ((crc >> 15) | (crc << 17)) &+ 0xa282_ead8 }

    /// Inverse of `masked`.
    public static func unmasked(_ value: UInt32) -> UInt32 {
        let rotated = value &- 0xa282_ead8
        return (rotated << 15) | (rotated >> 17)
    }

    /// table[k * 256 + b]: CRC of byte b followed by k zero bytes.
    private static let table: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for b in 0..<256 {
            var c = UInt32(b)
            for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
            t[b] = c
        }
        for k in 1..<8 {
            for b in 0..<256 {
                let prev = t[(k - 1) * 256 + b]
                t[k * 256 + b] = t[Int(prev & 0xff)] ^ (prev >> 8)
            }
        }
        return t
    }()
}
