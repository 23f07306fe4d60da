import ArenaSupport
import Foundation
import Testing
@testable import Runner

@Suite struct JSONValueTests {
    struct Settings: Codable {
        var noopMax = 30
        var epsilon = 1.0
        var terminalOnLifeLoss = false
        var name = "nature2015"
        var schedule: [Double] = [0.5, 2]
        var note: String? = nil
    }

    @Test func recordsAnyEncodableAndRoundTrips() throws {
        let value = try JSONValue(encoding: Settings())
        // Optional nil is left out by JSONEncoder; 1.0 and 2.0 come back as integers but compare equal.
        #expect(value == .object(["noopMax": .int(30), "epsilon": .double(1), "terminalOnLifeLoss": .bool(false),
                                  "name": .string("nature2015"), "schedule": .array([.double(0.5), .int(2)])]))
        let again = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(value))
        #expect(again == value)
        #expect(JSONValue.int(1) != .bool(true))
        #expect(JSONValue.double(1.5) != .int(1))
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data("null".utf8)) == .null)
    }
}
