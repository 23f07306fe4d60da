import Testing
@testable import ArenaSupport

@Suite struct SeededGeneratorTests {
    @Test func sameSeedSameStream() {
        var a = SeededGenerator(seed: 42), b = SeededGenerator(seed: 42)
        for _ in 0..<1000 { #expect(a.next() == b.next()) }
    }

    @Test func differentSeedsAndStreamsDiffer() {
        var a = SeededGenerator(seed: 1), b = SeededGenerator(seed: 2)
        var c = SeededGenerator(seed: 1, stream: "env"), d = SeededGenerator(seed: 1, stream: "replay")
        #expect(a.next() != b.next())
        #expect(c.next() != d.next())
    }

    @Test func stateRoundTripContinuesTheStream() {
        var a = SeededGenerator(seed: 7)
        for _ in 0..<13 { _ = a.next() }
        var b = SeededGenerator(seed: 0)
        b.state = a.state
        for _ in 0..<100 { #expect(a.next() == b.next()) }
    }

    @Test func unitFloatsStayInRange() {
        var g = SeededGenerator(seed: 3)
        var sum = 0.0
        for _ in 0..<10_000 {
            let f = g.nextUnitFloat(), d = g.nextUnitDouble()
            #expect(f >= 0 && f < 1 && d >= 0 && d < 1)
            sum += d
        }
        #expect(abs(sum / 10_000 - 0.5) < 0.02)
    }

    @Test func boundedDrawsAreUniformAndInRange() {
        var g = SeededGenerator(seed: 4)
        var counts = [Int](repeating: 0, count: 7)
        for _ in 0..<70_000 { counts[g.nextInt(below: 7)] += 1 }
        for c in counts { #expect(abs(c - 10_000) < 500) }
    }

    /// The exact draws are pinned (computed by an independent Python transcription of
    /// xoshiro256**, SplitMix64 and Lemire's method): a change here would change every random
    /// agent's actions, every epsilon-greedy step and every replay batch.
    @Test func boundedDrawsArePinned() {
        var actions = SeededGenerator(seed: 2024)
        #expect((0..<12).map { _ in actions.nextInt(below: 18) } == [1, 14, 1, 2, 13, 4, 7, 4, 10, 0, 12, 16])
        var replay = SeededGenerator(seed: 2024)
        #expect((0..<6).map { _ in replay.nextInt(below: 1_000_003) } == [55793, 782106, 72055, 159716, 773652, 244872])
        // n = 2^62 + 1 rejects about one draw in four: 8 results take 10 words of the stream here.
        var rejecting = SeededGenerator(seed: 5)
        #expect((0..<8).map { _ in rejecting.nextInt(below: (1 << 62) + 1) } == [
            1_330_062_028_510_147_546, 2_776_614_677_647_034_679, 2_382_922_332_294_756_498, 3_617_978_140_038_130_274,
            2_323_781_569_918_610_064, 3_729_293_371_659_378_274, 1_671_907_858_301_158_398, 1_756_789_467_152_707_868,
        ])
        #expect(rejecting.next() == 18_419_546_525_936_383_411)
    }

    @Test func boundedDrawsOfOneAreZero() {
        var g = SeededGenerator(seed: 9)
        #expect((0..<100).allSatisfy { _ in g.nextInt(below: 1) == 0 })
    }
}
