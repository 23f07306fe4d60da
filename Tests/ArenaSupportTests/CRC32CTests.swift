import Testing
@testable import ArenaSupport

/// CRC-32C check value from the CRC catalogue ("123456789" -> 0xE3069283) and the iSCSI test
/// vectors of RFC 3720, appendix B.4.
@Suite struct CRC32CTests {
    @Test func checkValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    }

    @Test func rfc3720Vectors() {
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(CRC32C.checksum((0..<32).reversed().map { UInt8($0) }) == 0x113F_DB5C)
    }

    /// The sliced implementation against a bit-at-a-time reference, at every length up to 40
    /// and every split point (so continuing a CRC over pieces is exercised too).
    @Test func matchesBitwiseReferenceAndContinues() {
        func reference(_ bytes: [UInt8]) -> UInt32 {
            var c: UInt32 = 0xFFFF_FFFF
            for byte in bytes {
                c ^= UInt32(byte)
                for _ in 0..<8 { c = (c >> 1) ^ (c & 1 == 1 ? 0x82F6_3B78 : 0) }
            }
            return ~c
        }
        var generator = SeededGenerator(seed: 3)
        for length in 0...40 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let expected = reference(bytes)
            #expect(CRC32C.checksum(bytes) == expected)
            for cut in 0...length {
                let first = CRC32C.checksum(bytes[..<cut])
                #expect(CRC32C.checksum(bytes[cut...], continuing: first) == expected)
            }
        }
    }

    /// TensorFlow's masking: masked(crc) = ((crc >> 15) | (crc << 17)) + 0xa282ead8, worked by hand
    /// for crc = 0: rotation of 0 is 0, so the mask is the constant itself.
    @Test func maskingRoundTrips() {
        #expect(CRC32C.masked(0) == 0xA282_EAD8)
        #expect(CRC32C.masked(0x0000_8000) == 0x1 &+ 0xA282_EAD8)
        for value: UInt32 in [0, 1, 0xE306_9283, 0xFFFF_FFFF] {
            #expect(CRC32C.unmasked(CRC32C.masked(value)) == value)
        }
    }
}
