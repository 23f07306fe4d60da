import Foundation
#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// Area ("box") downscaling of a single-channel `UInt8` image that gives, bit for bit, what
/// OpenCV's `cv2.resize(src, (targetWidth, targetHeight), interpolation=cv2.INTER_AREA)` gives.
/// That call is what gymnasium's `AtariPreprocessing` uses for 210x160 -> 84x84, so frames
/// produced here equal the frames Python agents are trained on.
///
/// How OpenCV computes it (modules/imgproc/src/resize.cpp, `cv::hal::resize`,
/// `computeResizeAreaTab`, `ResizeArea_Invoker`, `resizeAreaFast_Invoker`; checked against
/// opencv-python-headless 4.11 and 5.0 with `scripts/make_resize_fixtures.py`):
///
/// - The scale is `1 / (target / source)` in `Double` per axis.
/// - When both scales are whole numbers (`168 -> 84`), each output pixel is the mean of its
///   `sx * sy` source block: `(sum + 2) >> 2` for 2x2 blocks, otherwise
///   `round(Float(sum) * (1 / Float(area)))` (round half to even).
/// - Otherwise each axis gets a table of (destination, source, weight) entries: the fraction
///   of every source pixel that falls into the destination cell, divided by the cell width,
///   stored as `Float`. For every source row the horizontal sums
///   `buf[dx] = ((0 + s0 * w0) + s1 * w1) + ...` are formed in `Float`, in source order; each
///   destination row is then `sum = ((0 + b0 * buf0) + b1 * buf1) + ...` over its source
///   rows, in order, and finally rounded half to even and clamped to 0...255.
///
/// This type performs exactly those `Float` operations in exactly that order (no fused
/// multiply-add; padding taps have weight 0, and adding `+0` to a sum leaves it unchanged), so
/// the result is identical, not merely close. Tests compare against images made by OpenCV and
/// against a naive transcription of the algorithm.
///
/// The fast path puts four destination rows in the four lanes of a `SIMD4<Float>`: for each
/// vertical tap it transposes the four source rows involved into lane-interleaved floats
/// (SSE2 byte unpacking on x86-64), then each destination column costs a few vector
/// multiply-adds for all four rows at once, horizontal and vertical sums fused.
///
/// Only downscaling (or keeping) each axis is supported: OpenCV itself switches to a bilinear
/// variant when an axis is enlarged.
///
/// A resizer precomputes its tables and scratch memory once; `resize` allocates nothing. A
/// resizer is meant to be used by one thread at a time (one per environment); concurrent calls
/// on one resizer are still correct, the later ones just use a temporary scratch allocation.
public struct AreaResizer: Sendable {
    public let sourceHeight: Int
    public let sourceWidth: Int
    public let targetHeight: Int
    public let targetWidth: Int

    private enum Kind: Sendable {
        /// Both scales are whole numbers: plain block means.
        case blocks(scaleX: Int, scaleY: Int)
        /// General fractional-area weights.
        case weighted
    }
    private let kind: Kind

    /// Horizontal taps per destination column, padded to the same count for every column.
    private let xTaps: Int
    /// First source column of each destination column's taps (`targetWidth` entries).
    private let xStart: [Int32]
    /// Tap weights broadcast to four lanes, `[dx * xTaps + k]`.
    private let xWeight: [SIMD4<Float>]
    /// Vertical taps per destination row, padded to the same count for every row.
    private let yTaps: Int
    /// First source row of each destination row's taps (`targetHeight` entries).
    private let yStart: [Int32]
    /// Tap weights, `[dy * yTaps + k]`; padding taps are 0.
    private let yWeight: [Float]
    /// Floats per transposed row in the scratch: the source width plus padding for the taps
    /// that may read past the row end (with weight 0).
    private let laneRowStride: Int
    private let scratch: Scratch

    public init(sourceHeight: Int, sourceWidth: Int, targetHeight: Int, targetWidth: Int) {
        precondition(sourceHeight > 0 && sourceWidth > 0,
                     "AreaResizer: source size must be positive, got \(sourceHeight)x\(sourceWidth)")
        precondition(targetHeight > 0 && targetWidth > 0,
                     "AreaResizer: target size must be positive, got \(targetHeight)x\(targetWidth)")
        precondition(targetHeight <= sourceHeight && targetWidth <= sourceWidth,
                     "AreaResizer: only downscaling is supported: target \(targetHeight)x\(targetWidth) "
                     + "must be at most source \(sourceHeight)x\(sourceWidth)")
        self.sourceHeight = sourceHeight
        self.sourceWidth = sourceWidth
        self.targetHeight = targetHeight
        self.targetWidth = targetWidth

        // As OpenCV: inv_scale = dsize / ssize, scale = 1 / inv_scale, in Double.
        let scaleX = 1.0 / (Double(targetWidth) / Double(sourceWidth))
        let scaleY = 1.0 / (Double(targetHeight) / Double(sourceHeight))
        let intX = Int(scaleX.rounded()), intY = Int(scaleY.rounded())
        let isWhole = abs(scaleX - Double(intX)) < Double.ulpOfOne && abs(scaleY - Double(intY)) < Double.ulpOfOne
        kind = isWhole ? .blocks(scaleX: intX, scaleY: intY) : .weighted

        let x = AreaResizer.padded(AreaResizer.areaTable(source: sourceWidth, target: targetWidth, scale: scaleX),
                                   targets: targetWidth)
        let y = AreaResizer.padded(AreaResizer.areaTable(source: sourceHeight, target: targetHeight, scale: scaleY),
                                   targets: targetHeight)
        xTaps = x.taps
        xStart = x.start.map { Int32($0) }
        xWeight = x.weights.map { SIMD4(repeating: $0) }
        yTaps = y.taps
        yStart = y.start.map { Int32($0) }
        yWeight = y.weights
        laneRowStride = (sourceWidth + x.taps + 15) & ~15
        scratch = Scratch(floats: 4 * (yTaps * laneRowStride + targetWidth))
    }

    struct TableEntry: Equatable {
        var dest: Int
        var source: Int
        var weight: Float
    }

    /// OpenCV's `computeResizeAreaTab` for one axis (one channel), with the same `Double`
    /// arithmetic and the same 1e-3 thresholds.
    static func areaTable(source ssize: Int, target dsize: Int, scale: Double) -> [TableEntry] {
        var table: [TableEntry] = []
        table.reserveCapacity(ssize * 2)
        for dx in 0..<dsize {
            let fsx1 = Double(dx) * scale
            let fsx2 = fsx1 + scale
            let cellWidth = min(scale, Double(ssize) - fsx1)
            var sx1 = Int(fsx1.rounded(.up))
            var sx2 = Int(fsx2.rounded(.down))
            sx2 = min(sx2, ssize - 1)
            sx1 = min(sx1, sx2)
            if Double(sx1) - fsx1 > 1e-3 {
                table.append(TableEntry(dest: dx, source: sx1 - 1, weight: Float((Double(sx1) - fsx1) / cellWidth)))
            }
            if sx1 < sx2 {
                for sx in sx1..<sx2 {
                    table.append(TableEntry(dest: dx, source: sx, weight: Float(1.0 / cellWidth)))
                }
            }
            if fsx2 - Double(sx2) > 1e-3 {
                let w = min(min(fsx2 - Double(sx2), 1.0), cellWidth) / cellWidth
                table.append(TableEntry(dest: dx, source: sx2, weight: Float(w)))
            }
        }
        return table
    }

    /// Regroups a table as `taps` consecutive sources per destination, weights padded with
    /// zeros at the end. OpenCV's entries for one destination are consecutive sources in
    /// increasing order, so summing the padded taps in order performs the same operations.
    static func padded(_ table: [TableEntry], targets: Int) -> (taps: Int, start: [Int], weights: [Float]) {
        var first = [Int](repeating: Int.max, count: targets)
        var last = [Int](repeating: -1, count: targets)
        for e in table {
            first[e.dest] = min(first[e.dest], e.source)
            last[e.dest] = max(last[e.dest], e.source)
        }
        var taps = 1
        for d in 0..<targets {
            precondition(last[d] >= first[d], "AreaResizer: destination \(d) has no source pixels")
            taps = max(taps, last[d] - first[d] + 1)
        }
        var weights = [Float](repeating: 0, count: targets * taps)
        var previous = (dest: -1, source: -1)
        for e in table {
            precondition(e.dest > previous.dest || (e.dest == previous.dest && e.source == previous.source + 1),
                         "AreaResizer: table entries out of order at \(e)")
            previous = (e.dest, e.source)
            weights[e.dest * taps + e.source - first[e.dest]] = e.weight
        }
        return (taps, first, weights)
    }

    /// Resizes one `sourceHeight x sourceWidth` image (rows contiguous) into `dst`
    /// (`targetHeight x targetWidth`, rows contiguous). `src` and `dst` must not overlap.
    public func resize(_ src: UnsafePointer<UInt8>, into dst: UnsafeMutablePointer<UInt8>) {
        switch kind {
        case let .blocks(scaleX, scaleY):
            resizeBlocks(src, into: dst, scaleX: scaleX, scaleY: scaleY)
        case .weighted:
            if scratch.lock.try() {
                defer { scratch.lock.unlock() }
                resizeWeighted(src, into: dst, scratch: scratch.base)
            } else {
                // Another thread is using this resizer's scratch: use a private one.
                let temporary = Scratch(floats: scratch.floats)
                resizeWeighted(src, into: dst, scratch: temporary.base)
            }
        }
    }

    private func resizeWeighted(_ src: UnsafePointer<UInt8>, into dst: UnsafeMutablePointer<UInt8>,
                                scratch: UnsafeMutablePointer<SIMD4<Float>>) {
        let sw = sourceWidth, sh = sourceHeight, dw = targetWidth, dh = targetHeight
        let xTaps = xTaps, yTaps = yTaps, stride = laneRowStride
        // Scratch layout: yTaps lane-interleaved rows of `stride` SIMD4 (padding stays zero),
        // then `dw` SIMD4 of rounded results.
        let lanes = scratch
        let results = UnsafeMutableRawPointer(scratch + yTaps * stride).bindMemory(to: SIMD4<UInt32>.self, capacity: dw)
        xStart.withUnsafeBufferPointer { xs in
        xWeight.withUnsafeBufferPointer { xw in
        yStart.withUnsafeBufferPointer { ys in
        yWeight.withUnsafeBufferPointer { yw in
            // safe because: the tables were built in init for exactly these sizes: every
            // xStart + tap < sw + xTaps <= stride, every clamped source row < sh, and the
            // scratch holds yTaps * stride + dw SIMD4 values.
            let starts = xs.baseAddress.unsafelyUnwrapped, weights = xw.baseAddress.unsafelyUnwrapped
            var dy0 = 0
            while dy0 < dh {
                let count = Swift.min(4, dh - dy0)
                // Lane i is destination row dy0 + i (lanes past the end repeat the last row).
                for j in 0..<yTaps {
                    let r0 = Self.sourceRow(src, sw, sh, ys, dy0, count, lane: 0, tap: j)
                    let r1 = Self.sourceRow(src, sw, sh, ys, dy0, count, lane: 1, tap: j)
                    let r2 = Self.sourceRow(src, sw, sh, ys, dy0, count, lane: 2, tap: j)
                    let r3 = Self.sourceRow(src, sw, sh, ys, dy0, count, lane: 3, tap: j)
                    Self.interleave(r0, r1, r2, r3, width: sw, into: lanes + j * stride)
                }
                // Per-lane vertical weights (0 for lanes past the end).
                func beta(_ j: Int) -> SIMD4<Float> {
                    SIMD4(yw[dy0 * yTaps + j],
                          count > 1 ? yw[(dy0 + 1) * yTaps + j] : 0,
                          count > 2 ? yw[(dy0 + 2) * yTaps + j] : 0,
                          count > 3 ? yw[(dy0 + 3) * yTaps + j] : 0)
                }
                switch (xTaps, yTaps) {
                case (3, 3):
                    Self.columns3x3(lanes: lanes, stride: stride, starts: starts, weights: weights,
                                    b0: beta(0), b1: beta(1), b2: beta(2), count: dw, into: results)
                default:
                    Self.columnsGeneric(lanes: lanes, stride: stride, starts: starts, weights: weights,
                                        xTaps: xTaps, yTaps: yTaps, beta: beta, count: dw, into: results)
                }
                Self.store(results, rows: count, width: dw, into: dst + dy0 * dw)
                dy0 += 4
            }
        }}}}
    }

    /// The source row for vertical tap `tap` of the destination row in `lane`; padding taps
    /// and lanes past the last destination row read a valid row (their weight is 0).
    @inline(__always)
    private static func sourceRow(_ src: UnsafePointer<UInt8>, _ sw: Int, _ sh: Int, _ ys: UnsafeBufferPointer<Int32>,
                                  _ dy0: Int, _ count: Int, lane: Int, tap: Int) -> UnsafePointer<UInt8> {
        let dy = dy0 + Swift.min(lane, count - 1)
        let row = Swift.min(Int(ys[dy]) + tap, sh - 1)
        return src + row * sw
    }

    /// `out[x] = (Float(a[x]), Float(b[x]), Float(c[x]), Float(d[x]))` for `x < width`.
    @inline(__always)
    private static func interleave(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>,
                                   _ c: UnsafePointer<UInt8>, _ d: UnsafePointer<UInt8>,
                                   width: Int, into out: UnsafeMutablePointer<SIMD4<Float>>) {
        var x = 0
        #if arch(x86_64)
        // SSE2 (every x86-64 CPU): 16 columns of four rows per step, bytes interleaved by
        // unpacking, then widened to 32-bit integers and converted exactly to Float.
        let zero = _mm_setzero_si128()
        while x + 16 <= width {
            // safe because: x + 16 <= width bytes in each row; out holds width SIMD4 values.
            let va = _mm_loadu_si128(UnsafePointer<__m128i>(OpaquePointer(a + x)))
            let vb = _mm_loadu_si128(UnsafePointer<__m128i>(OpaquePointer(b + x)))
            let vc = _mm_loadu_si128(UnsafePointer<__m128i>(OpaquePointer(c + x)))
            let vd = _mm_loadu_si128(UnsafePointer<__m128i>(OpaquePointer(d + x)))
            let abLow = _mm_unpacklo_epi8(va, vb), abHigh = _mm_unpackhi_epi8(va, vb)
            let cdLow = _mm_unpacklo_epi8(vc, vd), cdHigh = _mm_unpackhi_epi8(vc, vd)
            let quads = (_mm_unpacklo_epi16(abLow, cdLow), _mm_unpackhi_epi16(abLow, cdLow),
                         _mm_unpacklo_epi16(abHigh, cdHigh), _mm_unpackhi_epi16(abHigh, cdHigh))
            let o = out + x
            Self.widen(quads.0, zero, into: o)
            Self.widen(quads.1, zero, into: o + 4)
            Self.widen(quads.2, zero, into: o + 8)
            Self.widen(quads.3, zero, into: o + 12)
            x += 16
        }
        #endif
        while x < width {
            out[x] = SIMD4(Float(a[x]), Float(b[x]), Float(c[x]), Float(d[x]))
            x += 1
        }
    }

    #if arch(x86_64)
    /// Four columns of four bytes (16 bytes) into four SIMD4<Float>.
    @inline(__always)
    private static func widen(_ q: __m128i, _ zero: __m128i, into o: UnsafeMutablePointer<SIMD4<Float>>) {
        let low = _mm_unpacklo_epi8(q, zero), high = _mm_unpackhi_epi8(q, zero)
        o[0] = _mm_cvtepi32_ps(_mm_unpacklo_epi16(low, zero))
        o[1] = _mm_cvtepi32_ps(_mm_unpackhi_epi16(low, zero))
        o[2] = _mm_cvtepi32_ps(_mm_unpacklo_epi16(high, zero))
        o[3] = _mm_cvtepi32_ps(_mm_unpackhi_epi16(high, zero))
    }
    #endif

    /// Round half to even (adding 1.5 * 2^23 leaves the nearest integer, ties to even, in the
    /// low mantissa bits for 0 <= x < 2^22), as OpenCV's `saturate_cast<uchar>(float)`. The
    /// sums are never negative (non-negative pixels, positive weights); the caller clamps
    /// to 255.
    @inline(__always)
    private static func rounded(_ x: SIMD4<Float>) -> SIMD4<UInt32> {
        let biased = x + SIMD4(repeating: 12_582_912)
        return unsafeBitCast(biased, to: SIMD4<UInt32>.self) &- SIMD4(repeating: 0x4B40_0000)
    }

    /// Writes `rows` (1...4) destination rows from `results[dx]` (lane i = row i, values
    /// 0...256), clamping to 255.
    @inline(__always)
    private static func store(_ results: UnsafeMutablePointer<SIMD4<UInt32>>, rows: Int, width: Int,
                              into d: UnsafeMutablePointer<UInt8>) {
        var dx = 0
        #if arch(x86_64)
        if rows == 4 {
            let raw = UnsafeMutableRawPointer(d)
            while dx + 4 <= width {
                // safe because: dx + 4 <= width, so four results and four bytes in each of the
                // four rows exist.
                let r = UnsafeRawPointer(results + dx)
                func lanes(_ k: Int) -> __m128i { r.loadUnaligned(fromByteOffset: 16 * k, as: __m128i.self) }
                // u32 -> u16 (signed saturation, values are small) -> u8 (saturating at 255):
                // bytes ordered column-major, [dx0 r0..r3, dx1 r0..r3, ...].
                let bytes = _mm_packus_epi16(_mm_packs_epi32(lanes(0), lanes(1)), _mm_packs_epi32(lanes(2), lanes(3)))
                // Transpose the 4x4 byte block to row-major with two interleaving steps.
                let half = _mm_unpacklo_epi8(bytes, _mm_unpackhi_epi64(bytes, bytes))
                let rowMajor = _mm_unpacklo_epi8(half, _mm_unpackhi_epi64(half, half))
                let words = unsafeBitCast(rowMajor, to: SIMD4<UInt32>.self)
                raw.storeBytes(of: words[0], toByteOffset: dx, as: UInt32.self)
                raw.storeBytes(of: words[1], toByteOffset: width + dx, as: UInt32.self)
                raw.storeBytes(of: words[2], toByteOffset: 2 * width + dx, as: UInt32.self)
                raw.storeBytes(of: words[3], toByteOffset: 3 * width + dx, as: UInt32.self)
                dx += 4
            }
        }
        #endif
        for i in 0..<rows {
            let row = d + i * width
            for x in dx..<width { row[x] = UInt8(truncatingIfNeeded: Swift.min(results[x][i], 255)) }
        }
    }

    /// Three horizontal and three vertical taps (the 210x160 -> 84x84 case), unrolled. Kept
    /// out of line so its loop gets all the registers (inlined, the pointers were spilled).
    @inline(never)
    private static func columns3x3(lanes: UnsafeMutablePointer<SIMD4<Float>>, stride: Int,
                                   starts: UnsafePointer<Int32>, weights: UnsafePointer<SIMD4<Float>>,
                                   b0: SIMD4<Float>, b1: SIMD4<Float>, b2: SIMD4<Float>,
                                   count: Int, into results: UnsafeMutablePointer<SIMD4<UInt32>>) {
        let l0 = lanes, l1 = lanes + stride, l2 = lanes + 2 * stride
        #if arch(x86_64)
        let magic = _mm_set1_ps(12_582_912), bias = _mm_set1_epi32(-0x4B40_0000)
        for dx in 0..<count {
            let o = Int(starts[dx]), w = weights + dx &* 3
            let w0 = w[0], w1 = w[1], w2 = w[2]
            let h0 = _mm_add_ps(_mm_add_ps(_mm_mul_ps(l0[o], w0), _mm_mul_ps(l0[o + 1], w1)), _mm_mul_ps(l0[o + 2], w2))
            let h1 = _mm_add_ps(_mm_add_ps(_mm_mul_ps(l1[o], w0), _mm_mul_ps(l1[o + 1], w1)), _mm_mul_ps(l1[o + 2], w2))
            let h2 = _mm_add_ps(_mm_add_ps(_mm_mul_ps(l2[o], w0), _mm_mul_ps(l2[o + 1], w1)), _mm_mul_ps(l2[o + 2], w2))
            let v = _mm_add_ps(_mm_add_ps(_mm_mul_ps(b0, h0), _mm_mul_ps(b1, h1)), _mm_mul_ps(b2, h2))
            results[dx] = unsafeBitCast(_mm_add_epi32(_mm_castps_si128(_mm_add_ps(v, magic)), bias), to: SIMD4<UInt32>.self)
        }
        #else
        for dx in 0..<count {
            let o = Int(starts[dx]), w = weights + dx &* 3
            let w0 = w[0], w1 = w[1], w2 = w[2]
            let h0 = (l0[o] * w0 + l0[o + 1] * w1) + l0[o + 2] * w2
            let h1 = (l1[o] * w0 + l1[o + 1] * w1) + l1[o + 2] * w2
            let h2 = (l2[o] * w0 + l2[o + 1] * w1) + l2[o + 2] * w2
            results[dx] = rounded((b0 * h0 + b1 * h1) + b2 * h2)
        }
        #endif
    }

    private static func columnsGeneric(lanes: UnsafeMutablePointer<SIMD4<Float>>, stride: Int,
                                       starts: UnsafePointer<Int32>, weights: UnsafePointer<SIMD4<Float>>,
                                       xTaps: Int, yTaps: Int, beta: (Int) -> SIMD4<Float>,
                                       count: Int, into results: UnsafeMutablePointer<SIMD4<UInt32>>) {
        for dx in 0..<count {
            let o = Int(starts[dx]), w = weights + xTaps * dx
            var acc = SIMD4<Float>.zero
            for j in 0..<yTaps {
                let l = lanes + j * stride + o
                var h = l[0] * w[0]
                for k in 1..<Swift.max(xTaps, 1) { h = h + l[k] * w[k] }
                acc = j == 0 ? beta(0) * h : acc + beta(j) * h
            }
            results[dx] = rounded(acc)
        }
    }

    /// Whole-number scales: OpenCV's `resizeAreaFast_` (integer sums; 2x2 blocks round half up
    /// through `(sum + 2) >> 2`, other blocks multiply by `Float(1 / area)` and round half to
    /// even). Rare (not the Atari case), so plain loops.
    private func resizeBlocks(_ src: UnsafePointer<UInt8>, into dst: UnsafeMutablePointer<UInt8>,
                              scaleX: Int, scaleY: Int) {
        let sw = sourceWidth
        let inverse = 1 / Float(scaleX * scaleY)
        for dy in 0..<targetHeight {
            let top = src + dy * scaleY * sw
            let d = dst + dy * targetWidth
            for dx in 0..<targetWidth {
                // safe because: the block lies inside the source (source = scale * target).
                var total = 0
                for r in 0..<scaleY {
                    let p = top + r * sw + dx * scaleX
                    for c in 0..<scaleX { total += Int(p[c]) }
                }
                if scaleX == 2 && scaleY == 2 {
                    d[dx] = UInt8(truncatingIfNeeded: (total + 2) >> 2)
                } else {
                    let n = Self.rounded(SIMD4(repeating: Float(total) * inverse))[0]
                    d[dx] = UInt8(truncatingIfNeeded: Swift.min(n, 255))
                }
            }
        }
    }

    /// Preallocated scratch memory, guarded so that two threads never share it.
    private final class Scratch: @unchecked Sendable {
        let lock = NSLock()
        let floats: Int
        let base: UnsafeMutablePointer<SIMD4<Float>>

        init(floats: Int) {
            self.floats = floats
            base = .allocate(capacity: floats / 4)
            base.initialize(repeating: .zero, count: floats / 4)
        }

        deinit { base.deallocate() }
    }
}
