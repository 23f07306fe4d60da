import ArenaSupport
import Foundation
@testable import NeuralNet

/// Uniform floats in [-scale, scale) from a seeded generator.
func randomFloats(_ count: Int, scale: Float = 1, seed: UInt64) -> [Float] {
    var g = SeededGenerator(seed: seed, stream: "test-floats")
    return (0..<count).map { _ in (2 * g.nextUnitFloat() - 1) * scale }
}

func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var g = SeededGenerator(seed: seed, stream: "test-bytes")
    return (0..<count).map { _ in UInt8(truncatingIfNeeded: g.next()) }
}

/// [N, C, P] -> [N, P, C]
func toNHWC(_ x: [Float], batch: Int, channels: Int, pixels: Int) -> [Float] {
    var out = [Float](repeating: 0, count: x.count)
    for n in 0..<batch { for c in 0..<channels { for p in 0..<pixels {
        out[(n * pixels + p) * channels + c] = x[(n * channels + c) * pixels + p]
    } } }
    return out
}

/// [N, P, C] -> [N, C, P]
func fromNHWC(_ x: [Float], batch: Int, channels: Int, pixels: Int) -> [Float] {
    var out = [Float](repeating: 0, count: x.count)
    for n in 0..<batch { for c in 0..<channels { for p in 0..<pixels {
        out[(n * channels + c) * pixels + p] = x[(n * pixels + p) * channels + c]
    } } }
    return out
}

/// max |a - b| / (atol + rtol * |b|) over elements; <= 1 means "close".
func closeness(_ a: [Float], _ b: [Float], atol: Float = 1e-5, rtol: Float = 1e-4) -> Float {
    precondition(a.count == b.count, "sizes differ: \(a.count) vs \(b.count)")
    var worst: Float = 0
    for i in a.indices { worst = max(worst, abs(a[i] - b[i]) / (atol + rtol * abs(b[i]))) }
    return worst
}

/// A small network shape with non-square input and mixed strides, for fast exact checks.
let smallShape = NetworkShape(
    inputChannels: 3, inputHeight: 13, inputWidth: 11,
    convs: [.init(outChannels: 4, kernel: 3, stride: 2),   // -> 4x6x5
            .init(outChannels: 5, kernel: 2, stride: 1),   // -> 5x5x4
            .init(outChannels: 3, kernel: 2, stride: 2)],  // -> 3x2x2 = 12
    hidden: 7)

func temporaryDirectory() -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("nn-tests-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
