/// Area ("box") downscaling of a single-channel `UInt8` image that gives, bit for bit, what
/// OpenCV's `cv2.resize(src, (targetWidth, targetHeight), interpolation=cv2.INTER_AREA)` gives.
/// That call is what gymnasium's `AtariPreprocessing` uses for 210x160 -> 84x84, so frames
/// produced here equal the frames Python agents are trained on.
///
/// How OpenCV computes it (modules/imgproc/src/resize.cpp, checked against opencv-python 4.11
/// and 5.0 with `scripts/make_resize_fixtures.py`):
///
/// - The scale is `1 / (target / source)` in `Double` per axis.
/// - When both scales are whole numbers (`168 -> 84`), each output pixel is the mean of its
///   `sx * sy` source block: `(sum + 2) >> 2` for 2x2 blocks, otherwise
///   `round(Float(sum) * (1 / Float(area)))` (round half to even).
/// - Otherwise each axis gets a table of (destination, source, weight) entries
///   (`computeResizeAreaTab`): the fraction of every source pixel that falls into the
///   destination cell, divided by the cell width, stored as `Float`. For every source row the
///   horizontal sums `buf[dx] = ((0 + s0 * w0) + s1 * w1) + ...` are formed in `Float`, in
///   source order; each destination row is then `sum = ((0 + b0 * buf0) + b1 * buf1) + ...`
///   over its source rows, in order, and finally rounded half to even and clamped to 0...255.
///
/// This type reproduces exactly those `Float` operations in exactly that order (no fused
/// multiply-add; padding taps have weight 0, and adding `+0` leaves a sum unchanged), so the
/// result is identical, not merely close. Tests compare against images produced by OpenCV.
///
/// Only downscaling (or keeping) each axis is supported: OpenCV itself switches to a bilinear
/// variant when an axis is enlarged.
///
/// A resizer precomputes its tables once; `resize` allocates nothing on the heap (its two small
/// scratch rows live on the stack) and may be called from several threads at once.
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
    private let taps: Int
    /// First source column of each destination column's taps (`targetWidth` entries).
    private let xStart: [Int32]
    /// Tap weights, `targetWidth * taps`, column-major by destination column: `[dx * taps + k]`.
    private let xWeight: [Float]
    /// Vertical entries in OpenCV's order: destination row, source row, weight.
    private let yDest: [Int32]
    private let ySource: [Int32]
    private let yWeight: [Float]

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

        let x = AreaResizer.areaTable(source: sourceWidth, target: targetWidth, scale: scaleX)
        let y = AreaResizer.areaTable(source: sourceHeight, target: targetHeight, scale: scaleY)

        // Pad every destination column to the same number of consecutive taps.
        var first = [Int](repeating: Int.max, count: targetWidth)
        var last = [Int](repeating: -1, count: targetWidth)
        for e in x {
            first[e.dest] = min(first[e.dest], e.source)
            last[e.dest] = max(last[e.dest], e.source)
        }
        var taps = 1
        for dx in 0..<targetWidth {
            precondition(last[dx] >= first[dx], "AreaResizer: destination column \(dx) has no source pixels")
            taps = max(taps, last[dx] - first[dx] + 1)
        }
        var weights = [Float](repeating: 0, count: targetWidth * taps)
        for e in x {
            let k = e.source - first[e.dest]
            precondition(weights[e.dest * taps + k] == 0, "AreaResizer: duplicate horizontal tap")
            weights[e.dest * taps + k] = e.weight
        }
        self.kind = isWhole ? .blocks(scaleX: intX, scaleY: intY) : .weighted
        self.taps = taps
        self.xStart = first.map { Int32($0) }
        self.xWeight = weights
        self.yDest = y.map { Int32($0.dest) }
        self.ySource = y.map { Int32($0.source) }
        self.yWeight = y.map { $0.weight }
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

    /// Resizes one `sourceHeight x sourceWidth` image (rows contiguous) into `dst`
    /// (`targetHeight x targetWidth`, rows contiguous). `src` and `dst` must not overlap.
    public func resize(_ src: UnsafePointer<UInt8>, into dst: UnsafeMutablePointer<UInt8>) {
        switch kind {
        case let .blocks(scaleX, scaleY):
            resizeBlocks(src, into: dst, scaleX: scaleX, scaleY: scaleY)
        case .weighted:
            resizeWeighted(src, into: dst)
        }
    }

    /// Round half to even, then clamp to a byte, as OpenCV's `saturate_cast<uchar>(float)`.
    /// For 0 <= x < 2^22, adding 1.5 * 2^23 leaves the nearest integer (ties to even, the
    /// default rounding mode) in the low mantissa bits, which the bit pattern then gives
    /// without a float-to-int conversion. The sums here are never negative (non-negative
    /// pixels times positive weights) and at most 255 plus rounding error.
    @inline(__always)
    private static func roundToByte(_ x: Float) -> UInt8 {
        let n = (Swift.max(x, 0) + 12_582_912).bitPattern &- 0x4B40_0000
        return UInt8(truncatingIfNeeded: Swift.min(n, 255))
    }

    private func resizeWeighted(_ src: UnsafePointer<UInt8>, into dst: UnsafeMutablePointer<UInt8>) {
        let sw = sourceWidth, dw = targetWidth, taps = taps
        // Scratch: one source row as Float (padded with `taps` zeros so padding taps may read
        // past the row end), the horizontal sums of the current source row, and the running
        // vertical sums of the current destination row.
        let rowCount = sw + taps
        withUnsafeTemporaryAllocation(of: Float.self, capacity: rowCount + 2 * dw) { scratch in
            // safe because: scratch has rowCount + 2 * dw floats and is only used in this scope.
            let row = scratch.baseAddress.unsafelyUnwrapped
            let buf = row + rowCount
            let sum = buf + dw
            (row + sw).initialize(repeating: 0, count: taps)
            buf.initialize(repeating: 0, count: 2 * dw)

            xStart.withUnsafeBufferPointer { xs in
            xWeight.withUnsafeBufferPointer { xw in
            yDest.withUnsafeBufferPointer { yd in
            ySource.withUnsafeBufferPointer { ys in
            yWeight.withUnsafeBufferPointer { yw in
                // safe because: the tables were built in init for exactly these sizes; every
                // xStart + tap < sw + taps = rowCount; every ySource < sourceHeight.
                let starts = xs.baseAddress.unsafelyUnwrapped, weights = xw.baseAddress.unsafelyUnwrapped
                var lastSourceRow = -1
                var currentDest = Int(yd[0])
                for j in 0..<yd.count {
                    let dy = Int(yd[j]), sy = Int(ys[j])
                    let beta = yw[j]
                    if sy != lastSourceRow {
                        // OpenCV recomputes a source row shared by two destination rows; the
                        // result is the same, so it is computed once here.
                        let s = src + sy * sw
                        for i in 0..<sw { row[i] = Float(s[i]) }
                        Self.horizontal(row: row, starts: starts, weights: weights, taps: taps, into: buf, count: dw)
                        lastSourceRow = sy
                    }
                    if dy != currentDest {
                        let d = dst + currentDest * dw
                        for i in 0..<dw { d[i] = Self.roundToByte(sum[i]) }
                        for i in 0..<dw { sum[i] = beta * buf[i] }
                        currentDest = dy
                    } else {
                        for i in 0..<dw { sum[i] = sum[i] + beta * buf[i] }
                    }
                }
                let d = dst + currentDest * dw
                for i in 0..<dw { d[i] = Self.roundToByte(sum[i]) }
            }}}}}
        }
    }

    /// `buf[dx] = sum_k row[start + k] * w[dx, k]`, summed in tap order starting from the
    /// first product (OpenCV starts from 0, and 0 + p0 == p0 exactly).
    @inline(__always)
    private static func horizontal(row: UnsafeMutablePointer<Float>, starts st: UnsafePointer<Int32>,
                                   weights w: UnsafePointer<Float>, taps: Int,
                                   into buf: UnsafeMutablePointer<Float>, count: Int) {
        switch taps {
        case 1:
            for dx in 0..<count { buf[dx] = row[Int(st[dx])] * w[dx] }
        case 2:
            for dx in 0..<count {
                let p = row + Int(st[dx]), q = w + 2 * dx
                buf[dx] = p[0] * q[0] + p[1] * q[1]
            }
        case 3:
            for dx in 0..<count {
                let p = row + Int(st[dx]), q = w + 3 * dx
                buf[dx] = (p[0] * q[0] + p[1] * q[1]) + p[2] * q[2]
            }
        case 4:
            for dx in 0..<count {
                let p = row + Int(st[dx]), q = w + 4 * dx
                buf[dx] = ((p[0] * q[0] + p[1] * q[1]) + p[2] * q[2]) + p[3] * q[3]
            }
        default:
            for dx in 0..<count {
                let p = row + Int(st[dx]), q = w + taps * dx
                var acc = p[0] * q[0]
                for k in 1..<taps { acc = acc + p[k] * q[k] }
                buf[dx] = acc
            }
        }
    }

    /// Whole-number scales: OpenCV's `resizeAreaFast_` (integer sums; 2x2 blocks round half up
    /// through `(sum + 2) >> 2`, other blocks multiply by `Float(1 / area)` and round half to even).
    private func resizeBlocks(_ src: UnsafePointer<UInt8>, into dst: UnsafeMutablePointer<UInt8>,
                              scaleX: Int, scaleY: Int) {
        let sw = sourceWidth
        let area = scaleX * scaleY
        let inverse = 1 / Float(area)
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
                    d[dx] = Self.roundToByte(Float(total) * inverse)
                }
            }
        }
    }
}
