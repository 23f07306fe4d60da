import ArenaSupport
import Environment
import Foundation
import Testing
import TestSupport
@testable import Runner

/// Decodes a PNG with Python's zlib and struct alone (an independent reader): checks the
/// signature and every chunk's CRC-32, inflates IDAT and returns (width, height, RGB rows), or
/// nil when Python rejects the file. Handles filter type 0 only, the one the encoder writes.
func decodePNGWithPython(_ url: URL) throws -> (width: Int, height: Int, rgb: [UInt8])? {
    let script = """
    import struct, sys, zlib
    b = open(sys.argv[1], 'rb').read()
    assert b[:8] == bytes([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    i, idat = 8, b''
    while i < len(b):
        n, t = struct.unpack('>I4s', b[i:i + 8]); d = b[i + 8:i + 8 + n]
        assert zlib.crc32(t + d) == struct.unpack('>I', b[i + 8 + n:i + 12 + n])[0], t
        if t == b'IHDR': w, h = struct.unpack('>II', d[:8]); assert d[8:] == bytes([8, 2, 0, 0, 0])
        if t == b'IDAT': idat += d
        i += 12 + n
    raw = zlib.decompress(idat)
    assert len(raw) == h * (w * 3 + 1)
    assert all(raw[y * (w * 3 + 1)] == 0 for y in range(h))
    sys.stdout.buffer.write(struct.pack('>II', w, h) + b''.join(raw[y * (w * 3 + 1) + 1:(y + 1) * (w * 3 + 1)] for y in range(h)))
    """
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", script, url.path]
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    let bytes = [UInt8](out.fileHandleForReading.readDataToEndOfFile())
    p.waitUntilExit()
    guard p.terminationStatus == 0, bytes.count >= 8 else { return nil }
    func u32(_ at: Int) -> Int { bytes[at..<at + 4].reduce(0) { $0 << 8 | Int($1) } }
    return (u32(0), u32(4), Array(bytes[8...]))
}

@Suite struct PNGTests {
    /// zlib's CRC-32 is the IEEE one PNG uses: the standard check value, and the CRC every
    /// PNG's IEND chunk carries.
    @Test func chunkChecksumsAreCRC32() {
        #expect(PNG.crc32(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(PNG.crc32(Array("IEND".utf8)) == 0xAE42_6082)
        var out: [UInt8] = []
        PNG.chunk("IEND", [], into: &out)
        #expect(out == [0, 0, 0, 0, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82])
    }

    /// A real Pong frame (160x210, 100,800 bytes of RGB) round-trips exactly through an
    /// independent decoder and is deflated to a small fraction of its raw size (in stored blocks,
    /// as the encoder wrote them before zlib, any 160x210 frame took 101,083 bytes).
    @Test func aPongFrameRoundTripsAndIsCompressed() throws {
        let arcade = try ArcadeEnvironment(game: "pong", seed: 3, romDirectory: testROMDirectory)
        try arcade.reset()
        for t in 0..<200 { _ = arcade.act(t % arcade.actionSet.count) }
        let (width, height) = (arcade.screenWidth, arcade.screenHeight)
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        rgb.withUnsafeMutableBufferPointer { arcade.rgb(into: $0.baseAddress.unsafelyUnwrapped) }
        #expect(Set(rgb).count > 3, "the frame shows more than the background")

        let png = try PNG.encodeRGB(rgb, width: width, height: height)
        let dir = try makeTemporaryDirectory("png")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("pong.png")
        try Data(png).write(to: url)
        let decoded = try #require(try decodePNGWithPython(url), "Python's zlib did not decode the PNG")
        #expect(decoded.width == 160 && decoded.height == 210)
        #expect(decoded.rgb == rgb)
        // Stored blocks need raw + 5 bytes per 64 KB + headers: over 100 KB here.
        #expect(png.count < rgb.count / 20, "\(png.count) bytes for \(rgb.count) bytes of RGB")
    }

    /// Noise does not compress, and a frame larger than one 64 KB deflate block still decodes.
    @Test func incompressibleAndLargeImagesDecode() throws {
        var generator = SeededGenerator(seed: 17)
        let (width, height) = (300, 250)
        let rgb = (0..<width * height * 3).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        let dir = try makeTemporaryDirectory("png")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("noise.png")
        try Data(try PNG.encodeRGB(rgb, width: width, height: height)).write(to: url)
        let decoded = try #require(try decodePNGWithPython(url), "Python's zlib did not decode the PNG")
        #expect(decoded.width == width && decoded.height == height && decoded.rgb == rgb)
    }
}
