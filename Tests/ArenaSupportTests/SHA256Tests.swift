import Foundation
import Testing
@testable import ArenaSupport

/// Published test vectors: FIPS 180-4 examples (NIST CSRC "Examples with Intermediate Values")
/// and the NESSIE/NIST long-message vector of one million 'a'.
@Suite struct SHA256Tests {
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
        ("The quick brown fox jumps over the lazy dog",
         "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592"),
    ])
    func publishedVectors(message: String, expected: String) {
        #expect(SHA256.hash(Array(message.utf8)).hexString == expected)
    }

    @Test func oneMillionA() {
        var hasher = SHA256()
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        for _ in 0..<1000 { hasher.update(chunk) }
        #expect(hasher.finalize().hexString == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// A multi-megabyte message streamed in uneven, growing pieces (1, 4, 13, 40, ... bytes, so the
    /// pieces straddle every block boundary) gives the one-shot digest and Python's:
    /// `hashlib.sha256(bytes(i % 251 for i in range((1 << 20) + 37))).hexdigest()`.
    @Test func multiChunkStreamingMatchesOneShotAndPython() {
        let message = (0..<(1 << 20) + 37).map { UInt8($0 % 251) }
        let expected = "1873887da67560ac533b212299c64f42421d197e67f687e0ab10c53f426f4465"
        #expect(SHA256.hash(message).hexString == expected)
        var hasher = SHA256()
        var start = 0, piece = 1, pieces = 0
        message.withUnsafeBytes { all in
            while start < all.count {
                let end = min(all.count, start + piece)
                hasher.update(UnsafeRawBufferPointer(rebasing: all[start..<end]))
                start = end; piece = piece * 3 + 1; pieces += 1
            }
        }
        #expect(pieces > 10)
        #expect(hasher.finalize().hexString == expected)
    }

    /// A hasher is a value: a copy taken halfway continues on its own, and the original is not
    /// changed by what is fed to the copy.
    @Test func aCopyContinuesIndependently() {
        var original = SHA256()
        original.update(Array("abc".utf8))
        var copy = original
        copy.update(Array("xyz".utf8))
        original.update(Array("def".utf8))
        #expect(original.finalize() == SHA256.hash(Array("abcdef".utf8)))
        #expect(copy.finalize().hexString == "f312795e322c87461a6f3c49e09897c59ca0d5a36245d2a00f08cbc66eee976d")
    }

    /// After `finalize` the hasher starts over: the next digest is of what was fed after it only.
    @Test func finalizeStartsOver() {
        var hasher = SHA256()
        hasher.update(Array("not this".utf8))
        _ = hasher.finalize()
        hasher.update(Array("abc".utf8))
        #expect(hasher.finalize().hexString == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hasher.finalize() == SHA256.hash([UInt8]()))
    }

    /// Collections without contiguous storage (a lazy map) hash like the same bytes in an array.
    @Test func nonContiguousCollectionsHashLikeArrays() {
        let lazyBytes = (0..<1000).lazy.map { UInt8(truncatingIfNeeded: $0 &* 7) }
        #expect(SHA256.hash(lazyBytes) == SHA256.hash(Array(lazyBytes)))
    }

    /// Every split of a message into two pieces, around the block and padding boundaries
    /// (55, 56, 63, 64 bytes), gives the digest of the whole.
    @Test func piecewiseUpdatesMatchOneShot() {
        var generator = SeededGenerator(seed: 7)
        for length in [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 200] {
            let message = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let whole = SHA256.hash(message)
            for cut in 0...length {
                var hasher = SHA256()
                hasher.update(message[..<cut])
                hasher.update(message[cut...])
                #expect(hasher.finalize() == whole, "length \(length) cut \(cut)")
            }
        }
    }

    /// Expected digests computed with Python's hashlib:
    /// `hashlib.sha256(bytes(i % 256 for i in range(n))).hexdigest()`.
    @Test(arguments: [
        (55, "463eb28e72f82e0a96c0a4cc53690c571281131f672aa229e0d45ae59b598b59"),
        (56, "da2ae4d6b36748f2a318f23e7ab1dfdf45acdc9d049bd80e59de82a60895f562"),
        (64, "fdeab9acf3710362bd2658cdc9a29e8f9c757fcf9811603a8c447cd1d9151108"),
        (200, "1901da1c9f699b48f6b2636e65cbf73abf99d0441ef67f5c540a42f7051dec6f"),
    ])
    func paddingBoundaryLengthsMatchPython(length: Int, expected: String) {
        let message = (0..<length).map { UInt8(truncatingIfNeeded: $0) }
        #expect(SHA256.hash(message).hexString == expected)
    }
}
