/// A binary sum tree over `capacity` non-negative leaf values, for prioritized replay
/// (Schaul et al. 2016, appendix B.2.1): set a leaf in O(log n), read the total in O(1), and find
/// the leaf where a running sum crosses a value in O(log n), so sampling is proportional to the
/// leaves.
///
/// Layout: one flat array in heap order. `nodes[1]` is the root, node `k` has children `2k` and
/// `2k + 1`, and leaf `i` lives at `nodes[leafBase + i]` where `leafBase` is the smallest power of
/// two at least `capacity`. Every inner node is recomputed as the exact sum of its two children
/// whenever a leaf below it changes (never by adding a delta), so the tree is a pure function of
/// its leaves: rebuilding it from the leaves after a restore gives the same bits.
/// Sums are Doubles: a million Float priorities would lose the small ones in a Float total.
public struct SumTree: Sendable, Equatable {
    /// Number of leaves in use.
    public let capacity: Int
    /// Index of leaf 0 in `nodes`.
    let leafBase: Int
    private(set) var nodes: [Double]

    public init(capacity: Int) {
        precondition(capacity >= 1, "SumTree capacity must be at least 1, got \(capacity)")
        var base = 1
        while base < capacity { base <<= 1 }
        self.capacity = capacity
        self.leafBase = base
        self.nodes = [Double](repeating: 0, count: 2 * base)
    }

    /// The sum of all leaves.
    public var total: Double { nodes[1] }

    /// The value of leaf `index`.
    public subscript(index: Int) -> Double {
        precondition(index >= 0 && index < capacity, "SumTree leaf index must be in 0..<\(capacity), got \(index)")
        return nodes[leafBase + index]
    }

    /// Sets leaf `index` to `value` (finite, >= 0) and refreshes the sums above it.
    public mutating func set(_ index: Int, _ value: Double) {
        precondition(index >= 0 && index < capacity, "SumTree leaf index must be in 0..<\(capacity), got \(index)")
        precondition(value >= 0 && value.isFinite, "SumTree values must be finite and >= 0, got \(value)")
        var node = leafBase + index
        nodes[node] = value
        node >>= 1
        while node >= 1 {
            nodes[node] = nodes[2 * node] + nodes[2 * node + 1]
            node >>= 1
        }
    }

    /// The leaf `i` such that the sum of leaves before `i` is <= `target` < that sum plus leaf `i`,
    /// for `target` in [0, total). Always returns a leaf with a positive value when `total > 0`:
    /// rounding can never send the search into an all-zero subtree.
    public func find(_ target: Double) -> Int {
        precondition(total > 0, "SumTree.find needs a positive total, got \(total)")
        var u = max(0, target)
        var node = 1
        while node < leafBase {
            let left = 2 * node, right = left + 1
            if (u >= nodes[left] && nodes[right] > 0) || nodes[left] <= 0 {
                u = max(0, u - nodes[left])
                node = right
            } else {
                node = left
            }
        }
        return node - leafBase
    }

    /// Recomputes every inner node from the leaves (after leaves were loaded in bulk).
    mutating func rebuild(leaves: [Double]) {
        precondition(leaves.count == capacity, "SumTree.rebuild expects \(capacity) leaves, got \(leaves.count)")
        for i in 0..<nodes.count { nodes[i] = 0 }
        for (i, v) in leaves.enumerated() { nodes[leafBase + i] = v }
        var node = leafBase - 1
        while node >= 1 {
            nodes[node] = nodes[2 * node] + nodes[2 * node + 1]
            node -= 1
        }
    }

    /// All leaf values in order.
    var leaves: ArraySlice<Double> { nodes[leafBase..<(leafBase + capacity)] }
}
