import Foundation
import Testing
import ArenaSupport
@testable import Environment

// MARK: - Fixtures (made once by scripts/make_resize_fixtures.py with OpenCV)

private struct FixtureCase: Decodable {
    var name: String
    var op: String
    var source: [Int]
    var target: [Int]
}

private struct FixtureManifest: Decodable {
    var opencv: String
    var cases: [FixtureCase]
}

private enum Fixtures {
    static func data(_ name: String, _ ext: String) throws -> [UInt8] {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Fixtures"),
                               "missing fixture \(name).\(ext)")
        return [UInt8](try Data(contentsOf: url))
    }

    static func manifest() throws -> FixtureManifest {
        let url = try #require(Bundle.module.url(forResource: "resize_cases", withExtension: "json",
                                                 subdirectory: "Fixtures"))
        return try JSONDecoder().decode(FixtureManifest.self, from: Data(contentsOf: url))
    }

    static var areaCaseNames: [String] {
        (try? manifest().cases.filter { $0.op == "area" }.map(\.name)) ?? []
    }
}

// MARK: - A naive reference of OpenCV's INTER_AREA, written straight from the algorithm

/// OpenCV's resize for INTER_AREA and uint8, one channel, as plainly as possible: tables of
/// (destination, source, weight) entries, a Float horizontal sum per source row in table
/// order, a Float vertical sum in table order, round half to even. Independent of the
/// production code's padded taps, row caching and rounding trick.
private func naiveAreaResize(_ src: [UInt8], height sh: Int, width sw: Int, targetHeight dh: Int, targetWidth dw: Int) -> [UInt8] {
    let scaleX = 1.0 / (Double(dw) / Double(sw)), scaleY = 1.0 / (Double(dh) / Double(sh))
    let ix = Int(scaleX.rounded()), iy = Int(scaleY.rounded())
    if abs(scaleX - Double(ix)) < Double.ulpOfOne && abs(scaleY - Double(iy)) < Double.ulpOfOne {
        var out = [UInt8](repeating: 0, count: dh * dw)
        for dy in 0..<dh {
            for dx in 0..<dw {
                var s = 0
                for y in 0..<iy { for x in 0..<ix { s += Int(src[(dy * iy + y) * sw + dx * ix + x]) } }
                if ix == 2 && iy == 2 {
                    out[dy * dw + dx] = UInt8((s + 2) >> 2)
                } else {
                    let v = (Float(s) * (1 / Float(ix * iy))).rounded(.toNearestOrEven)
                    out[dy * dw + dx] = UInt8(min(max(v, 0), 255))
                }
            }
        }
        return out
    }
    func table(_ ssize: Int, _ dsize: Int, _ scale: Double) -> [(d: Int, s: Int, w: Float)] {
        var t: [(d: Int, s: Int, w: Float)] = []
        for d in 0..<dsize {
            let f1 = Double(d) * scale, f2 = f1 + scale
            let cell = min(scale, Double(ssize) - f1)
            var s1 = Int(f1.rounded(.up)), s2 = Int(f2.rounded(.down))
            s2 = min(s2, ssize - 1)
            s1 = min(s1, s2)
            if Double(s1) - f1 > 1e-3 { t.append((d, s1 - 1, Float((Double(s1) - f1) / cell))) }
            var s = s1
            while s < s2 { t.append((d, s, Float(1.0 / cell))); s += 1 }
            if f2 - Double(s2) > 1e-3 { t.append((d, s2, Float(min(min(f2 - Double(s2), 1.0), cell) / cell))) }
        }
        return t
    }
    let xt = table(sw, dw, scaleX), yt = table(sh, dh, scaleY)
    var sums = [Float](repeating: 0, count: dh * dw)
    for (dy, sy, beta) in yt {
        var buf = [Float](repeating: 0, count: dw)
        for (dx, sx, alpha) in xt { buf[dx] += Float(src[sy * sw + sx]) * alpha }
        for dx in 0..<dw { sums[dy * dw + dx] += beta * buf[dx] }
    }
    return sums.map { UInt8(min(max($0.rounded(.toNearestOrEven), 0), 255)) }
}

private func resize(_ src: [UInt8], _ r: AreaResizer) -> [UInt8] {
    var out = [UInt8](repeating: 0xAB, count: r.targetHeight * r.targetWidth)
    src.withUnsafeBufferPointer { s in
        out.withUnsafeMutableBufferPointer { o in
            // safe because: both arrays have exactly the sizes the resizer was built for.
            r.resize(s.baseAddress.unsafelyUnwrapped, into: o.baseAddress.unsafelyUnwrapped)
        }
    }
    return out
}

private final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}

private func randomBytes(_ n: Int, _ g: inout SeededGenerator) -> [UInt8] {
    (0..<n).map { _ in UInt8(truncatingIfNeeded: g.next()) }
}

// MARK: - Area resize

@Suite struct AreaResizerTests {
    @Test func manifestListsTheStandardAtariCase() throws {
        let m = try Fixtures.manifest()
        #expect(m.cases.contains { $0.source == [210, 160] && $0.target == [84, 84] && $0.op == "area" })
        #expect(m.cases.count >= 10)
    }

    @Test(arguments: Fixtures.areaCaseNames)
    func matchesOpenCVExactly(_ name: String) throws {
        let m = try Fixtures.manifest()
        let c = try #require(m.cases.first { $0.name == name })
        let src = try Fixtures.data(name, "in.u8"), expected = try Fixtures.data(name, "out.u8")
        #expect(src.count == c.source[0] * c.source[1])
        #expect(expected.count == c.target[0] * c.target[1])
        let r = AreaResizer(sourceHeight: c.source[0], sourceWidth: c.source[1],
                            targetHeight: c.target[0], targetWidth: c.target[1])
        let out = resize(src, r)
        let diffs = zip(out, expected).filter { $0 != $1 }.count
        let maxDiff = zip(out, expected).map { abs(Int($0) - Int($1)) }.max() ?? 0
        #expect(diffs == 0, "\(name): \(diffs) pixels differ from OpenCV \(m.opencv), max by \(maxDiff)")
    }

    @Test func naiveReferenceAlsoMatchesOpenCV() throws {
        // Guards the reference itself, so the random-size comparison below means something.
        for name in ["noise_210x160_to_84x84", "pong_screen", "noise_37x29_to_11x13", "ties_40x30_to_20x15"] {
            let m = try Fixtures.manifest()
            let c = try #require(m.cases.first { $0.name == name })
            let src = try Fixtures.data(name, "in.u8"), expected = try Fixtures.data(name, "out.u8")
            let out = naiveAreaResize(src, height: c.source[0], width: c.source[1],
                                      targetHeight: c.target[0], targetWidth: c.target[1])
            #expect(out == expected, "\(name)")
        }
    }

    @Test func matchesNaiveReferenceOnRandomShapes() {
        var g = SeededGenerator(seed: 11, stream: "resize-shapes")
        for _ in 0..<60 {
            let sh = Int(g.next() % 60) + 1, sw = Int(g.next() % 60) + 1
            let dh = Int(g.next() % UInt64(sh)) + 1, dw = Int(g.next() % UInt64(sw)) + 1
            let src = randomBytes(sh * sw, &g)
            let r = AreaResizer(sourceHeight: sh, sourceWidth: sw, targetHeight: dh, targetWidth: dw)
            let out = resize(src, r)
            let ref = naiveAreaResize(src, height: sh, width: sw, targetHeight: dh, targetWidth: dw)
            #expect(out == ref, "\(sh)x\(sw) -> \(dh)x\(dw)")
        }
    }

    @Test func flatImagesStayFlat() {
        // Box filtering a constant image returns the constant (weights sum to one).
        let r = AreaResizer(sourceHeight: 210, sourceWidth: 160, targetHeight: 84, targetWidth: 84)
        for v in [0, 1, 87, 128, 254, 255] as [UInt8] {
            let out = resize([UInt8](repeating: v, count: 210 * 160), r)
            #expect(out.allSatisfy { $0 == v }, "value \(v)")
        }
    }

    @Test func reusingOneResizerGivesTheSameAnswer() throws {
        let r = AreaResizer(sourceHeight: 210, sourceWidth: 160, targetHeight: 84, targetWidth: 84)
        let a = try Fixtures.data("pong_screen", "in.u8"), b = try Fixtures.data("noise_210x160_to_84x84", "in.u8")
        let first = resize(a, r)
        _ = resize(b, r)
        #expect(resize(a, r) == first)
    }

    @Test func concurrentCallsOnOneResizerStayExact() throws {
        // One resizer shared by several threads: calls that find its scratch busy use their
        // own, and every result must still equal OpenCV's.
        let r = AreaResizer(sourceHeight: 210, sourceWidth: 160, targetHeight: 84, targetWidth: 84)
        let names = ["noise_210x160_to_84x84", "pong_screen", "checker_210x160_to_84x84", "sprites_210x160_to_84x84"]
        let inputs = try names.map { try Fixtures.data($0, "in.u8") }
        let expected = try names.map { try Fixtures.data($0, "out.u8") }
        let failures = LockedCounter()
        DispatchQueue.concurrentPerform(iterations: 64) { i in
            let k = i % names.count
            if resize(inputs[k], r) != expected[k] { failures.increment() }
        }
        #expect(failures.value == 0)
    }

    @Test func identitySizeCopies() {
        var g = SeededGenerator(seed: 5)
        let src = randomBytes(21 * 16, &g)
        #expect(resize(src, AreaResizer(sourceHeight: 21, sourceWidth: 16, targetHeight: 21, targetWidth: 16)) == src)
    }

    @Test func tableWeightsOfEachCellSumToOne() {
        let scale = 1.0 / (84.0 / 160.0)
        let t = AreaResizer.areaTable(source: 160, target: 84, scale: scale)
        for dx in 0..<84 {
            let total = t.filter { $0.dest == dx }.reduce(0.0) { $0 + Double($1.weight) }
            #expect(abs(total - 1) < 1e-5, "column \(dx): \(total)")
        }
        // Every source column is used, in increasing order within a destination cell.
        #expect(Set(t.map(\.source)) == Set(0..<160))
    }
}

// MARK: - Max pooling

@Suite struct FramePoolingTests {
    @Test func elementwiseMaxForManyLengths() {
        var g = SeededGenerator(seed: 2, stream: "pool")
        for n in [0, 1, 15, 16, 17, 63, 64, 65, 100, 210 * 160, 210 * 160 * 3] {
            let a = randomBytes(n, &g), b = randomBytes(n, &g)
            var out = [UInt8](repeating: 0, count: n)
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    out.withUnsafeMutableBufferPointer { po in FramePooling.max(pa, pb, into: po) }
                }
            }
            var expected = [UInt8](repeating: 0, count: n)
            for i in 0..<n { expected[i] = a[i] >= b[i] ? a[i] : b[i] }
            #expect(out == expected, "n = \(n)")
        }
    }

    @Test func inPlaceIntoFirstOperand() {
        var a: [UInt8] = [0, 200, 5, 255, 17]
        let b: [UInt8] = [3, 100, 5, 0, 18]
        a.withUnsafeMutableBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                // safe because: a and b both hold 5 bytes; writing into a is elementwise.
                let p = pa.baseAddress.unsafelyUnwrapped
                FramePooling.max(UnsafePointer(p), pb.baseAddress.unsafelyUnwrapped, into: p, count: 5)
            }
        }
        #expect(a == [3, 200, 5, 255, 18])
    }

    @Test func spriteDrawnOnAlternateFramesSurvives() {
        // A flickering object present only in frame b must appear in the pooled frame.
        var a = [UInt8](repeating: 0, count: 210 * 160), b = a
        a[10 * 160 + 20] = 236
        b[100 * 160 + 50] = 147
        var out = [UInt8](repeating: 0, count: a.count)
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                out.withUnsafeMutableBufferPointer { po in FramePooling.max(pa, pb, into: po) }
            }
        }
        #expect(out[10 * 160 + 20] == 236 && out[100 * 160 + 50] == 147)
        #expect(out.filter { $0 != 0 }.count == 2)
    }
}

// MARK: - Grayscale

@Suite struct GrayscaleTests {
    @Test func matchesOpenCVRGB2Gray() throws {
        let rgb = try Fixtures.data("rgb_21x16", "in.u8"), expected = try Fixtures.data("rgb_21x16", "out.u8")
        #expect(rgb.count == 3 * expected.count)
        var out = [UInt8](repeating: 0, count: expected.count)
        rgb.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { o in
                Grayscale.fromRGB(s.baseAddress.unsafelyUnwrapped, into: o.baseAddress.unsafelyUnwrapped,
                                  pixelCount: expected.count)
            }
        }
        #expect(out == expected)
    }

    @Test func primariesAndExtremes() {
        // By hand: 9798*255 = 2498490 -> (2498490 + 16384) >> 15 = 76; green 150; blue 29.
        let rgb: [UInt8] = [0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 255, 0, 0, 0, 255]
        var out = [UInt8](repeating: 0, count: 5)
        rgb.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { o in
                Grayscale.fromRGB(s.baseAddress.unsafelyUnwrapped, into: o.baseAddress.unsafelyUnwrapped, pixelCount: 5)
            }
        }
        #expect(out == [0, 255, 76, 150, 29])
    }
}

// MARK: - Frame stack

/// Frames whose every byte is `tag`, so a stack's contents can be read back by tag.
private func frame(_ tag: UInt8, size: Int) -> [UInt8] { [UInt8](repeating: tag, count: size) }

private func contents(_ s: FrameStack) -> [UInt8] {
    var out = [UInt8](repeating: 0xEE, count: s.depth * s.frameSize)
    out.withUnsafeMutableBufferPointer { o in s.write(into: o.baseAddress.unsafelyUnwrapped) }
    // One tag per slot, oldest first; check each slot is uniform.
    return (0..<s.depth).map { slot in
        let part = out[(slot * s.frameSize)..<((slot + 1) * s.frameSize)]
        return part.allSatisfy { $0 == part.first } ? part.first ?? 0xEE : 0xEE
    }
}

private extension FrameStack {
    mutating func reset(tag: UInt8) {
        let f = frame(tag, size: frameSize)
        f.withUnsafeBufferPointer { reset(with: $0.baseAddress.unsafelyUnwrapped) }
    }
    mutating func push(tag: UInt8) {
        let f = frame(tag, size: frameSize)
        f.withUnsafeBufferPointer { push($0.baseAddress.unsafelyUnwrapped) }
    }
}

@Suite struct FrameStackTests {
    @Test func resetRepeatsTheFirstFrameByDefault() {
        var s = FrameStack(depth: 4, frameSize: 7)
        s.reset(tag: 9)
        #expect(contents(s) == [9, 9, 9, 9])
        s.push(tag: 1)
        #expect(contents(s) == [9, 9, 9, 1])
    }

    @Test func zeroPaddingPutsTheFirstFrameNewest() {
        var s = FrameStack(depth: 4, frameSize: 7, padding: .zeros)
        s.push(tag: 5)  // leftovers from a previous episode must vanish at reset
        s.reset(tag: 9)
        #expect(contents(s) == [0, 0, 0, 9])
        s.push(tag: 1)
        #expect(contents(s) == [0, 0, 9, 1])
    }

    @Test(arguments: [1, 2, 3, 4, 5, 8])
    func everyWrapAroundPositionKeepsOrder(depth: Int) {
        // Walk the ring through more than two full turns and compare with a plain array model.
        var s = FrameStack(depth: depth, frameSize: 3)
        s.reset(tag: 100)
        var model = [UInt8](repeating: 100, count: depth)
        for t in 1...(2 * depth + 3) {
            s.push(tag: UInt8(t))
            model.removeFirst()
            model.append(UInt8(t))
            #expect(contents(s) == model, "depth \(depth), after push \(t)")
            s.withFrame(age: 0) { #expect($0.allSatisfy { $0 == UInt8(t) }) }
            s.withFrame(age: depth - 1) { #expect($0.first == model[0]) }
        }
    }

    @Test func resetInTheMiddleOfTheRing() {
        var s = FrameStack(depth: 4, frameSize: 2)
        s.reset(tag: 1)
        s.push(tag: 2); s.push(tag: 3)
        s.reset(tag: 7)
        #expect(contents(s) == [7, 7, 7, 7])
        s.push(tag: 8)
        #expect(contents(s) == [7, 7, 7, 8])
    }

    @Test func writesTheNatureShape() {
        var s = FrameStack()
        #expect(s.depth == 4 && s.frameSize == 84 * 84)
        var g = SeededGenerator(seed: 4)
        let frames = (0..<6).map { _ in randomBytes(84 * 84, &g) }
        frames[0].withUnsafeBufferPointer { s.reset(with: $0.baseAddress.unsafelyUnwrapped) }
        for f in frames[1...] { f.withUnsafeBufferPointer { s.push($0.baseAddress.unsafelyUnwrapped) } }
        var out = [UInt8](repeating: 0, count: 4 * 84 * 84)
        out.withUnsafeMutableBufferPointer { s.write(into: $0.baseAddress.unsafelyUnwrapped) }
        #expect(out == Array(frames[2...].joined()))
    }
}
