import Foundation
import Testing
@testable import NeuralNet

/// `arena bench agent --layers`: the profile of an update times every pass and changes nothing.
@Suite struct PassProfileTests {
    @Test(arguments: [false, true])
    func aProfiledUpdateIsTheSameUpdateWithEveryPassTimed(dueling: Bool) {
        let a = QLearnerTests.smallLearner(dueling: dueling, double: true, optimizer: .adam(lr: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8),
                                           batch: 8, clip: 10)
        let b = QLearnerTests.smallLearner(dueling: dueling, double: true, optimizer: .adam(lr: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8),
                                           batch: 8, clip: 10)
        let batch = a.makeBatch()
        QLearnerTests.fill(batch, actions: 3, seed: 4)
        let profile = PassProfile()
        for _ in 0..<3 {
            let plain = a.update(batch)
            let profiled = b.profiledUpdate(batch, into: profile)
            #expect(plain == profiled)
        }
        #expect(a.parameters == b.parameters, "profiling changed the update")

        let names = Set(profile.entries.map(\.name))
        let layers = dueling ? ["fc1_value", "fc1_advantage", "value", "advantage"] : ["fc1", "fc2"]
        for expected in ["conv1 patches (uint8)", "conv1 forward", "conv3 forward", "conv1 weight gradient",
                         "conv2 input gradient (GEMM + col2im)", "TD targets and loss",
                         "gradient norm", "optimizer step (with clipping)"] + layers.map({ "\($0) forward" }) {
            #expect(names.contains(expected), "no pass named \(expected) in \(names.sorted())")
        }
        #expect(!names.contains("zero gradients"), "the backward pass writes the gradients: no zeroing pass")
        #expect(profile.entries.allSatisfy { $0.calls >= 3 && $0.seconds >= 0 })
        // The forward GEMMs' FLOPs add up to the network's: 3 updates x (target on s', online on s and s').
        let net = QNetwork(config: QNetworkConfig(actions: 3, dueling: dueling), shape: smallShape)
        let expectedForward = Double(3 * 3 * 8) * (net.convs.map { $0.gemmFlops(batch: 1) }.reduce(0, +)
                                                   + net.linears.map { $0.gemmFlops(batch: 1) }.reduce(0, +))
        let forward = profile.entries.filter { $0.name.hasSuffix(" forward") }.map(\.flops).reduce(0, +)
        #expect(abs(forward - expectedForward) < 1e-6 * expectedForward, "forward FLOPs \(forward), expected \(expectedForward)")
    }
}
