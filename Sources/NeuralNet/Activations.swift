// Element-wise pieces: bias + ReLU, column sums, the dueling combination, layout transposes.
//
// Dimension legend
//   N batch, A actions, C channels, P pixels per sample (H*W), O columns of a row-major matrix
//   NHWC [N, P, C] is the internal conv layout; NCHW-flat [N, C*P] is PyTorch's flatten order,
//   the input of fc1 (index c*P + p, the order `torch.flatten(x, 1)` gives).
//   Dueling (Wang et al. 2016): q [N, A] = v [N, 1] + adv [N, A] - mean_a adv [N, a].

enum Activations {
    /// y = max(0, y) in place.
    static func reluForward(_ x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { x[i] = max(x[i], 0) }
    }

    /// grad *= (output > 0), in place; `output` is the ReLU's output.
    static func reluBackward(output: UnsafePointer<Float>, gradient: UnsafeMutablePointer<Float>, count: Int) {
        Vectorized.reluBackward(output: output, gradient: gradient, count: count)
    }

    /// y[r][c] += bias[c] for a row-major [rows, columns] matrix, then ReLU when `relu`.
    static func addBias(_ bias: UnsafePointer<Float>, rows: Int, columns: Int, to y: UnsafeMutablePointer<Float>,
                        relu: Bool) {
        for r in 0..<rows {
            // safe because: y holds rows * columns floats, bias holds columns.
            Vectorized.addBias(bias, to: y + r * columns, count: columns, relu: relu)
        }
    }

    /// sums[c] += sum_r x[r][c] for a row-major [rows, columns] matrix.
    static func addColumnSums(_ x: UnsafePointer<Float>, rows: Int, columns: Int, to sums: UnsafeMutablePointer<Float>) {
        for r in 0..<rows { Vectorized.add(x + r * columns, to: sums, count: columns) }
    }

    /// sums[c] = column sums of x [rows, columns] in row order (what zeroing and then
    /// `addColumnSums` give, without the zeroing); with `accumulate`, `addColumnSums`.
    static func columnSums(_ x: UnsafePointer<Float>, rows: Int, columns: Int, into sums: UnsafeMutablePointer<Float>,
                           accumulate: Bool) {
        guard !accumulate else { addColumnSums(x, rows: rows, columns: columns, to: sums); return }
        guard rows >= 1 else { sums.update(repeating: 0, count: columns); return }
        sums.update(from: x, count: columns)
        for r in 1..<rows { Vectorized.add(x + r * columns, to: sums, count: columns) }
    }

    /// [N, P, C] -> [N, C*P] (per-sample transpose).
    static func nhwcToFlat(_ src: UnsafePointer<Float>, channels: Int, batch: Int, pixels: Int,
                           into dst: UnsafeMutablePointer<Float>) {
        let size = channels * pixels
        for n in 0..<batch {
            let s = src + n * size, d = dst + n * size
            for p in 0..<pixels { for c in 0..<channels { d[c * pixels + p] = s[p * channels + c] } }
        }
    }

    /// [N, C*P] -> [N, P, C].
    static func flatToNHWC(_ src: UnsafePointer<Float>, channels: Int, batch: Int, pixels: Int,
                           into dst: UnsafeMutablePointer<Float>) {
        let size = channels * pixels
        for n in 0..<batch {
            let s = src + n * size, d = dst + n * size
            for p in 0..<pixels { for c in 0..<channels { d[p * channels + c] = s[c * pixels + p] } }
        }
    }

    /// q = v + adv - mean(adv), per sample.
    static func duelingForward(value: UnsafePointer<Float>, advantage: UnsafePointer<Float>,
                               batch: Int, actions: Int, q: UnsafeMutablePointer<Float>) {
        for n in 0..<batch {
            let adv = advantage + n * actions
            var mean: Float = 0
            for a in 0..<actions { mean += adv[a] }
            mean /= Float(actions)
            for a in 0..<actions { q[n * actions + a] = value[n] + adv[a] - mean }
        }
    }

    /// dv = sum_a dq, dadv = dq - mean_a dq (both written).
    static func duelingBackward(dq: UnsafePointer<Float>, batch: Int, actions: Int,
                                dValue: UnsafeMutablePointer<Float>, dAdvantage: UnsafeMutablePointer<Float>) {
        for n in 0..<batch {
            let g = dq + n * actions
            var sum: Float = 0
            for a in 0..<actions { sum += g[a] }
            dValue[n] = sum
            let mean = sum / Float(actions)
            for a in 0..<actions { dAdvantage[n * actions + a] = g[a] - mean }
        }
    }
}
