import Foundation
import Testing
@testable import NeuralNet

/// The blocks the update streams through: zeroed, and from 2 MiB up aligned for huge pages.
@Suite struct FloatArenaTests {
    @Test(arguments: [1, 1000, FloatArena.hugePageBytes / 4 - 1, FloatArena.hugePageBytes / 4, 3_290_000])
    func zeroedUsableAndHugePageAlignedFromTwoMiB(count: Int) {
        let arena = FloatArena(count: count)
        let large = count * MemoryLayout<Float>.stride >= FloatArena.hugePageBytes
        arena.withBase { base in
            #expect(UnsafeBufferPointer(start: base, count: count).allSatisfy { $0 == 0 })
            // The whole block is writable, to its last float.
            base[count - 1] = 7
            #expect(base[count - 1] == 7)
            if large { #expect(Int(bitPattern: base) % FloatArena.hugePageBytes == 0) }
        }
        #if os(Linux)
        // The kernel accepts the huge-page request wherever it has transparent huge pages at all.
        let thp = FileManager.default.fileExists(atPath: "/sys/kernel/mm/transparent_hugepage/enabled")
        #expect(arena.hugePagesRequested == (large && thp))
        #else
        #expect(!arena.hugePagesRequested)
        #endif
        #expect(arena.toArray().count == count)
    }
}
