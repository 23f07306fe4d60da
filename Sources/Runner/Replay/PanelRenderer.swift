import Foundation

/// Draws a game frame with a side panel, as Dopamine's visualizer does: the running return, the
/// agent step, and the agent's Q-value of every action as a bar (the chosen action in yellow).
///
/// Layout: output RGB [height, gameWidth + panelWidth, 3]; the game on the left, unscaled.
public struct PanelRenderer: Sendable {
    public static let panelWidth = 128
    public let gameWidth: Int
    public let height: Int
    public let actionNames: [String]
    public var width: Int { gameWidth + Self.panelWidth }

    /// ALE's names of its 18 action ids.
    public static let aleActionNames = ["NOOP", "FIRE", "UP", "RIGHT", "LEFT", "DOWN", "UPRIGHT", "UPLEFT", "DOWNRIGHT",
                                        "DOWNLEFT", "UPFIRE", "RIGHTFIRE", "LEFTFIRE", "DOWNFIRE", "UPRIGHTFIRE",
                                        "UPLEFTFIRE", "DOWNRIGHTFIRE", "DOWNLEFTFIRE"]

    public init(gameWidth: Int, height: Int, actionSet: [Int32]) {
        self.gameWidth = gameWidth
        self.height = height
        actionNames = actionSet.map { Int($0) < Self.aleActionNames.count ? Self.aleActionNames[Int($0)] : "A\($0)" }
    }

    /// Composes `game` (gameWidth x height RGB) and the panel into `out` (width x height RGB).
    public func compose(game: [UInt8], qValues: [Float]?, chosen: Int?, episodeReturn: Double, step: Int,
                        into out: inout [UInt8]) {
        precondition(game.count == gameWidth * height * 3, "game frame has \(game.count) bytes, expected \(gameWidth * height * 3)")
        precondition(out.count == width * height * 3, "output has \(out.count) bytes, expected \(width * height * 3)")
        for y in 0..<height {
            let src = y * gameWidth * 3, dst = y * width * 3
            for x in 0..<(gameWidth * 3) { out[dst + x] = game[src + x] }
            for x in (gameWidth * 3)..<(width * 3) { out[dst + x] = 24 }
        }
        let x0 = gameWidth + 4
        text("RETURN", x: x0, y: 4, color: (160, 160, 160), into: &out)
        text(number(episodeReturn), x: x0, y: 14, color: (255, 255, 255), into: &out)
        text("STEP", x: x0, y: 28, color: (160, 160, 160), into: &out)
        text(String(step), x: x0, y: 38, color: (255, 255, 255), into: &out)
        guard let q = qValues, !q.isEmpty else { return }
        text("Q", x: x0, y: 54, color: (160, 160, 160), into: &out)
        let lo = q.min() ?? 0, hi = q.max() ?? 0
        let rowHeight = max(6, min(9, (height - 64) / max(1, q.count)))
        for (i, value) in q.enumerated() {
            let y = 64 + i * rowHeight
            if y + 5 > height { break }
            let isChosen = i == chosen
            let color: (UInt8, UInt8, UInt8) = isChosen ? (255, 220, 0) : (0, 190, 220)
            text(String(actionNames[safe: i]?.prefix(9) ?? "A\(i)"), x: x0, y: y, color: color, into: &out)
            let fraction = hi > lo ? Double(value - lo) / Double(hi - lo) : 1
            fill(x: x0 + 58, y: y, w: max(1, Int(fraction * 60)), h: 5, color: color, into: &out)
        }
    }

    func number(_ v: Double) -> String {
        v == v.rounded() ? String(Int(v)) : String(format: "%.1f", v)
    }

    func fill(x: Int, y: Int, w: Int, h: Int, color: (UInt8, UInt8, UInt8), into out: inout [UInt8]) {
        for yy in max(0, y)..<min(height, y + h) {
            for xx in max(0, x)..<min(width, x + w) {
                let o = (yy * width + xx) * 3
                out[o] = color.0; out[o + 1] = color.1; out[o + 2] = color.2
            }
        }
    }

    func text(_ s: String, x: Int, y: Int, color: (UInt8, UInt8, UInt8), into out: inout [UInt8]) {
        var cx = x
        for ch in s.uppercased() {
            if let rows = Self.font[ch] {
                for (r, bits) in rows.enumerated() {
                    for c in 0..<5 where bits & (0x10 >> c) != 0 {
                        fill(x: cx + c, y: y + r, w: 1, h: 1, color: color, into: &out)
                    }
                }
            }
            cx += 6
        }
    }

    /// A 5x7 bitmap font for the characters the panel uses (row-major, 5 bits a row).
    static let font: [Character: [UInt8]] = [
        "0": [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E], "1": [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        "2": [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F], "3": [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        "4": [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02], "5": [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        "6": [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E], "7": [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        "8": [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E], "9": [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        "-": [0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00], ".": [0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C],
        "A": [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11], "D": [0x1E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1E],
        "E": [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F], "F": [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        "G": [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F], "H": [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        "I": [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E], "L": [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        "N": [0x11, 0x19, 0x15, 0x13, 0x11, 0x11, 0x11], "O": [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        "P": [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10], "Q": [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D],
        "R": [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11], "S": [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E],
        "T": [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04], "U": [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        "W": [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A],
    ]
}

extension Array {
    subscript(safe i: Int) -> Element? { indices.contains(i) ? self[i] : nil }
}
