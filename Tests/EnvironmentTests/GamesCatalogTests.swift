import Foundation
import Testing
@testable import Environment

/// The CSV shipped as the Environment resource, read from the source tree with a parser of
/// the test's own (not GameCatalog's), so the catalog is checked against the file rather
/// than against itself.
private func csvRows() throws -> [[String]] {
    let url = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/Environment/Resources/atari57.csv")
    let text = try String(contentsOf: url, encoding: .utf8)
    return text.components(separatedBy: "\n").filter { !$0.isEmpty }.map { $0.components(separatedBy: ",") }
}

@Suite struct GamesCatalogTests {
    @Test func theCompiledInTableIsTheCSVFile() throws {
        let url = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/Environment/Resources/atari57.csv")
        #expect(GameCatalog.atari57CSV == (try String(contentsOf: url, encoding: .utf8)))
    }

    @Test func referenceTableHas57GamesWithHumanAboveRandom() {
        let games = GameCatalog.atari57
        #expect(games.count == 57)
        for g in games {
            let random = g.random ?? .nan, human = g.human ?? .nan
            #expect(human > random, "\(g.id): human \(human) must be above random \(random)")
        }
    }

    @Test func everyALEGameIsListedOnceInOrder() {
        let ids = GameCatalog.all.map(\.id)
        #expect(ids.count == 104)
        #expect(ids == ids.sorted())
        #expect(Set(ids).count == ids.count)
        for id in ids { #expect(id.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "_" }, "\(id)") }
        // The four multiplayer-only ROMs ALE refuses are not games here.
        for id in ["combat", "joust", "maze_craze", "warlords"] { #expect(GameCatalog.info(id) == nil) }
    }

    @Test func everyAtari57GameIsInAll() {
        let all = Set(GameCatalog.all.map(\.id))
        for g in GameCatalog.atari57 { #expect(all.contains(g.id)) }
        #expect(GameCatalog.all.filter(\.isAtari57).count == 57)
        for g in GameCatalog.all where !g.isAtari57 {
            #expect(g.random == nil && g.human == nil && g.dqnNature == nil, "\(g.id)")
        }
    }

    @Test func matchesTheBundledCSVReadIndependently() throws {
        let rows = try csvRows()
        #expect(rows.first == ["game", "title", "random", "human", "dqn_nature"])
        let body = rows.dropFirst()
        #expect(body.count == 57)
        for r in body {
            let g = try #require(GameCatalog.info(r[0]), "\(r[0]) missing from the catalog")
            #expect(g.isAtari57)
            #expect(g.title == r[1])
            #expect(g.random == Double(r[2]))
            #expect(g.human == Double(r[3]))
            #expect(g.dqnNature == (r[4].isEmpty ? nil : Double(r[4])))
        }
    }

    @Test func pongSpotCheckByHand() throws {
        // From atari57.csv: pong,Pong,-20.7,14.6,18.9 (DQN Zoo; Mnih et al. 2015).
        let pong = try #require(GameCatalog.info("pong"))
        #expect(pong.random == -20.7 && pong.human == 14.6 && pong.dqnNature == 18.9)
        #expect(pong.title == "Pong")
        // Games the Nature paper did not run have no DQN score.
        for id in ["berzerk", "defender", "phoenix", "pitfall", "skiing", "solaris", "surround", "yars_revenge"] {
            let g = try #require(GameCatalog.info(id))
            #expect(g.isAtari57 && g.dqnNature == nil, "\(id)")
        }
        #expect(GameCatalog.atari57.filter { $0.dqnNature != nil }.count == 49)
    }

    @Test func humanNormalizedScoreEndpoints() throws {
        for g in GameCatalog.atari57 {
            let random = try #require(g.random), human = try #require(g.human)
            let atHuman = try #require(GameCatalog.humanNormalized(score: human, game: g.id))
            let atRandom = try #require(GameCatalog.humanNormalized(score: random, game: g.id))
            #expect(abs(atHuman - 1) < 1e-12, "\(g.id)")
            #expect(abs(atRandom) < 1e-12, "\(g.id)")
        }
        // Pong at 18.9 (Nature DQN): (18.9 + 20.7) / (14.6 + 20.7) = 39.6 / 35.3.
        let pong = try #require(GameCatalog.humanNormalized(score: 18.9, game: "pong"))
        #expect(abs(pong - 39.6 / 35.3) < 1e-12)
        #expect(GameCatalog.humanNormalized(score: 10, game: "tetris") == nil)
        #expect(GameCatalog.humanNormalized(score: 10, game: "no_such_game") == nil)
    }

    @Test(arguments: [
        ("pong", "pong"), ("Pong", "pong"), ("PONG", "pong"),
        ("MontezumaRevenge", "montezuma_revenge"), ("montezuma-revenge", "montezuma_revenge"),
        ("Montezuma Revenge", "montezuma_revenge"), ("ALE/Pong-v5", "pong"),
        ("PongNoFrameskip-v4", "pong"), ("BreakoutDeterministic-v4", "breakout"),
        ("SpaceInvaders", "space_invaders"), ("TicTacToe3D", "tic_tac_toe_3d"), ("Pitfall2", "pitfall2"),
    ])
    func acceptsCommonSpellings(_ spelling: String, _ id: String) throws {
        #expect(try GameCatalog.resolve(spelling).id == id)
    }

    @Test func suggestsCloseIDsForTypos() {
        #expect(GameCatalog.closestIDs(to: "pogn").first == "pong")
        #expect(GameCatalog.closestIDs(to: "breakot").first == "breakout")
        #expect(GameCatalog.closestIDs(to: "space_invader").first == "space_invaders")
        #expect(GameCatalog.closestIDs(to: "montezuma").first == "montezuma_revenge")
        #expect(GameCatalog.closestIDs(to: "pacman", limit: 5).contains("ms_pacman"))
        #expect(GameCatalog.closestIDs(to: "qbret").first == "qbert")
        #expect(GameCatalog.closestIDs(to: "zzzzzzzzzzzz").isEmpty)
        #expect(GameCatalog.closestIDs(to: "pong", limit: 0).isEmpty)
        #expect(GameCatalog.closestIDs(to: "pogn", limit: 1).count == 1)
    }

    @Test func unknownGameErrorIsASentenceWithSuggestions() {
        do {
            _ = try GameCatalog.resolve("pogn")
            Issue.record("resolve accepted an unknown game")
        } catch let error as GameCatalogError {
            let text = error.description
            #expect(text.hasPrefix("Unknown game 'pogn'."))
            #expect(text.contains("Did you mean pong"))
            #expect(text.contains("arena games"))
            #expect(error.errorDescription == text)
        } catch {
            Issue.record("unexpected error \(error)")
        }
        #expect(throws: GameCatalogError.self) { try GameCatalog.resolve("   ") }
        #expect(throws: GameCatalogError.self) { try GameCatalog.resolve("combat") }
    }

    @Test func editDistanceByHand() {
        func d(_ a: String, _ b: String) -> Int {
            GameCatalog.editDistance(Array(a.unicodeScalars), Array(b.unicodeScalars))
        }
        #expect(d("", "abc") == 3)
        #expect(d("pong", "pong") == 0)
        #expect(d("pogn", "pong") == 1)   // one swap
        #expect(d("kitten", "sitting") == 3)
        #expect(d("ca", "abc") == 3)      // optimal string alignment, not full Damerau
    }

    @Test func parserRejectsBrokenTables() {
        let header = "game,title,random,human,dqn_nature"
        #expect(throws: ReferenceTableError.badHeader(path: "t.csv", header: "")) {
            try GameCatalog.parseReferenceTable("", path: "t.csv")
        }
        #expect(throws: ReferenceTableError.badHeader(path: "t.csv", header: "game,title")) {
            try GameCatalog.parseReferenceTable("game,title\npong,Pong", path: "t.csv")
        }
        #expect(throws: ReferenceTableError.badLine(path: "t.csv", line: 2, text: "pong,Pong,x,14.6,18.9")) {
            try GameCatalog.parseReferenceTable("\(header)\npong,Pong,x,14.6,18.9", path: "t.csv")
        }
        // A bad dqn_nature is an error, not a silently missing score; so is a non-finite one.
        #expect(throws: ReferenceTableError.badLine(path: "t.csv", line: 2, text: "pong,Pong,1,2,lots")) {
            try GameCatalog.parseReferenceTable("\(header)\npong,Pong,1,2,lots", path: "t.csv")
        }
        #expect(throws: ReferenceTableError.self) { try GameCatalog.parseReferenceTable("\(header)\npong,Pong,1,inf,") }
        #expect(throws: ReferenceTableError.badLine(path: "t.csv", line: 2, text: ",Pong,1,2,")) {
            try GameCatalog.parseReferenceTable("\(header)\n,Pong,1,2,", path: "t.csv")
        }
        // Line numbers count every line of the file, blank ones too.
        #expect(throws: ReferenceTableError.duplicateGame(path: "t.csv", game: "pong", line: 4)) {
            try GameCatalog.parseReferenceTable("\(header)\npong,Pong,1,2,\n\npong,Pong,1,2,", path: "t.csv")
        }
        let ok = try? GameCatalog.parseReferenceTable("\(header)\npong,Pong,-20.7,14.6,\n")
        #expect(ok?["pong"] == GameCatalog.ReferenceRow(title: "Pong", random: -20.7, human: 14.6, dqnNature: nil))
    }

    /// The parser finds its columns by name: any order, extra columns, no title or dqn_nature
    /// column at all, blank lines and CRLF line ends.
    @Test func parserReadsColumnsByName() throws {
        let reordered = try GameCatalog.parseReferenceTable("human, notes ,game,dqn_nature,random\r\n\r\n14.6,x,pong,18.9,-20.7\r\n")
        #expect(reordered == ["pong": GameCatalog.ReferenceRow(title: nil, random: -20.7, human: 14.6, dqnNature: 18.9)])
        let minimal = try GameCatalog.parseReferenceTable("game,random,human\nx,1,2\n")
        #expect(minimal == ["x": GameCatalog.ReferenceRow(title: nil, random: 1, human: 2, dqnNature: nil)])
    }

    /// Every message is a whole sentence that names the file.
    @Test func referenceTableErrorsAreSentences() {
        let errors: [ReferenceTableError] = [
            .unreadable(path: "t.csv", reason: "no such file"), .badHeader(path: "t.csv", header: "a,b"),
            .badLine(path: "t.csv", line: 3, text: "x"), .duplicateGame(path: "t.csv", game: "pong", line: 4),
        ]
        for e in errors {
            #expect(e.description.contains("t.csv") && e.description.hasSuffix(".") && !e.description.hasSuffix(".."), "\(e)")
        }
    }

    @Test func jsonHasOneSchemaWithNulls() throws {
        let data = try JSONEncoder().encode([try #require(GameCatalog.info("tetris")), try #require(GameCatalog.info("pong"))])
        let objects = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        let keys: Set<String> = ["id", "title", "is_atari57", "random", "human", "dqn_nature"]
        for o in objects { #expect(Set(o.keys) == keys) }
        #expect(objects[0]["random"] is NSNull)
        let back = try JSONDecoder().decode([GameInfo].self, from: data)
        #expect(back.map(\.id) == ["tetris", "pong"])
        #expect(back[1] == GameCatalog.info("pong"))
    }
}
