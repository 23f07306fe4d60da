// Where an update's time goes: every pass (each layer's forward, weight gradient and input
// gradient, patch building, the loss, bf16 weight packing, the gradient norm, the optimizer step
// with clipping) with its FLOPs and wall time. Off in training (a nil profile costs one branch
// per pass); `arena bench agent --layers` turns it on for one-lane updates.

import Dispatch

/// Accumulated wall time and FLOPs per named pass, in the order the passes first ran.
public final class PassProfile {
    public struct Entry: Sendable, Equatable {
        public var name: String
        /// Floating-point operations of all its calls (multiply and add count 2; 0 for data movement).
        public var flops: Double
        public var seconds: Double
        public var calls: Int
    }

    public private(set) var entries: [Entry] = []
    private var index: [String: Int] = [:]

    public init() {}

    /// Runs `body` and adds its wall time (and `flops`) to the entry `name`.
    func time(_ name: String, flops: Double, _ body: () -> Void) {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if let i = index[name] {
            entries[i].seconds += seconds
            entries[i].flops += flops
            entries[i].calls += 1
        } else {
            index[name] = entries.count
            entries.append(Entry(name: name, flops: flops, seconds: seconds, calls: 1))
        }
    }

    /// Sets every entry back to zero time and calls (keeps the order), for a fresh measurement.
    public func reset() {
        for i in entries.indices { entries[i].seconds = 0; entries[i].flops = 0; entries[i].calls = 0 }
    }
}

/// `body`, timed into `profile` when there is one. The name and FLOPs are only evaluated then.
@inline(__always)
func timed(_ profile: PassProfile?, _ name: @autoclosure () -> String, flops: @autoclosure () -> Double = 0,
           _ body: () -> Void) {
    guard let profile else { body(); return }
    profile.time(name(), flops: flops(), body)
}
