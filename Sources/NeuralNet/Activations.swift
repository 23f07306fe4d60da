// Element-wise pieces: ReLU, the dueling combination, and layout transposes.
//
// Dimension legend
//   N batch, A actions, C channels, P pixels per sample (H*W)
//   CNHW [C, N, P] is the internal conv layout; NCHW-flat [N, C*P] is PyTorch's flatten order,
//   the input of fc1 (index c*P + p, the order `torch.flatten(x, 1)` gives).
//   Dueling (Wang et al. 2016): q [N, A] = v [N, 1] + adv [N, A] - mean_a adv [N, a].

enum Activations {
    /// y = max(0, y) in place.
    static func reluForward(_ x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { x[i] = max(x[i], 0) }
    }

    /// grad *= (output > 0), in place; `output` is the ReLU's output.
    static func reluBackward(output: UnsafePointer<Float>, gradient: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count where !(output[i] > 0) { gradient[i] = 0 }
    }

    /// [C, N, P] -> [N, C*P].
    static func cnhwToFlat(_ src: UnsafePointer<Float>, channels: Int, batch: Int, pixels: Int,
                           into dst: UnsafeMutablePointer<Float>) {
        for c in 0..<channels {
            for n in 0..<batch {
                (dst + (n * channels + c) * pixels).update(from: src + (c * batch + n) * pixels, count: pixels)
            }
        }
    }

    /// [N, C*P] -> [C, N, P].
    static func flatToCNHW(_ src: UnsafePointer<Float>, channels: Int, batch: Int, pixels: Int,
                           into dst: UnsafeMutablePointer<Float>) {
        for c in 0..<channels {
            for n in 0..<batch {
                (dst + (c * batch + n) * pixels).update(from: src + (n * channels + c) * pixels, count: pixels)
            }
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
