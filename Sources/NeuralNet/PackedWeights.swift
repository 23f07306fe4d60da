// The fully connected layers' weights packed once for the bf16 GEMM (CKernels), instead of once
// per GEMM call and lane: fc1 alone is 1.6M weights (two streams with the dueling head), and its
// forward and input-gradient GEMMs are short (16-64 rows per lane), so packing its weights on the
// fly cost as much as a third of those GEMMs. Packed once per update (online weights, its blocks
// split over the learner's threads) or once per target sync (target weights). The same bits as
// packing on the fly: the packed words are the ones each GEMM would have built.
//
// Per linear layer k (weight W [O, I] row-major, see Linear.swift):
//   forward         y = x W^T: op(B) = W^T [I x O], stored as W (transB)   -> forward(k)
//   input gradient  dx = dy W: op(B) = W   [O x I]                          -> inputGradient(k)

import CKernels

final class PackedLinearWeights {
    let linears: [Linear]
    let withInputGradients: Bool
    /// Word offsets of each layer's packs in `storage` (each a multiple of 16: 64-byte aligned).
    private let forwardOffsets: [Int]
    private let inputOffsets: [Int]
    private let wordCount: Int
    private let storage: UnsafeMutablePointer<UInt32>

    init(linears: [Linear], withInputGradients: Bool) {
        self.linears = linears
        self.withInputGradients = withInputGradients
        var total = 0
        func take(_ n: Int) -> Int { defer { total += (n + 15) / 16 * 16 }; return total }
        forwardOffsets = linears.map { take(Int(arena_bf16_packed_b_words(Int32($0.outFeatures), Int32($0.inFeatures)))) }
        inputOffsets = linears.map {
            withInputGradients ? take(Int(arena_bf16_packed_b_words(Int32($0.inFeatures), Int32($0.outFeatures)))) : -1
        }
        wordCount = max(total, 16)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: wordCount * 4, alignment: 64)
        storage = raw.initializeMemory(as: UInt32.self, repeating: 0, count: wordCount)
    }

    deinit { storage.deallocate() }

    /// Packs every layer's weights from the flat parameters. The packs are split block by block
    /// over the worker's parts (blocks of 256 x 512 weights, dealt round-robin on from where the
    /// last pack's blocks ended), so the parts get about equal shares whatever the layers' sizes
    /// (whole packs dealt to parts left one thread packing all of fc1 without the dueling head).
    /// The same words on any split.
    func pack(parameters p: UnsafePointer<Float>, worker: WorkerThread?) {
        func run(part: Int32, parts: Int32) {
            var first: Int32 = 0
            for (k, l) in linears.enumerated() {
                // safe because: each offset holds arena_bf16_packed_b_words of its shape; W is O x I floats.
                first += arena_bf16_pack_b_part(1, Int32(l.outFeatures), Int32(l.inFeatures), p + l.weightOffset,
                                                Int32(l.inFeatures), storage + forwardOffsets[k], first, part, parts)
                if withInputGradients {
                    first += arena_bf16_pack_b_part(0, Int32(l.inFeatures), Int32(l.outFeatures), p + l.weightOffset,
                                                    Int32(l.inFeatures), storage + inputOffsets[k], first, part, parts)
                }
            }
        }
        guard let worker else { run(part: 0, parts: 1); return }
        let parts = Int32(worker.parts)
        worker.run { part in run(part: Int32(part), parts: parts) }
    }

    /// Every packed word, for tests.
    var words: [UInt32] { Array(UnsafeBufferPointer(start: storage, count: wordCount)) }

    /// Layer k's weights packed for its forward GEMM.
    func forward(_ k: Int) -> UnsafePointer<UInt32> { UnsafePointer(storage + forwardOffsets[k]) }

    /// Layer k's weights packed for its input-gradient GEMM (nil when not kept).
    func inputGradient(_ k: Int) -> UnsafePointer<UInt32>? {
        withInputGradients ? UnsafePointer(storage + inputOffsets[k]) : nil
    }
}
