import Foundation

/// A configuration that cannot be used, as a sentence that names the bad value and says what to do.
public struct ConfigurationError: Error, CustomStringConvertible, LocalizedError, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
    public var errorDescription: String? { description }
}

/// Any key, to list the keys a JSON object actually has.
struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue; intValue = nil }
    init(intValue: Int) { stringValue = String(intValue); self.intValue = intValue }
    init(_ name: String) { self.init(stringValue: name) }
}

enum StrictDecoding {
    /// Throws a `ConfigurationError` naming every key of the object being decoded that is not in
    /// `known` (sorted), with the path of the object (`optimizer`, `prioritized`...) and the keys
    /// that are allowed.
    static func rejectUnknownKeys(_ decoder: Decoder, known: [String], object: String) throws {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        let unknown = container.allKeys.map(\.stringValue).filter { !known.contains($0) }.sorted()
        guard !unknown.isEmpty else { return }
        let prefix = decoder.codingPath.map(\.stringValue).joined(separator: ".")
        let named = unknown.map { "'" + (prefix.isEmpty ? $0 : prefix + "." + $0) + "'" }.joined(separator: ", ")
        let noun = unknown.count == 1 ? "key" : "keys"
        throw ConfigurationError(
            "Unknown \(noun) \(named) in the \(object). Known keys are: \(known.joined(separator: ", ")). Fix the spelling or remove \(unknown.count == 1 ? "it" : "them").")
    }

    /// Decodes `key` if present, else returns `fallback`.
    static func value<T: Decodable>(_ container: KeyedDecodingContainer<AnyCodingKey>, _ key: String, _ fallback: T) throws -> T {
        try container.decodeIfPresent(T.self, forKey: AnyCodingKey(key)) ?? fallback
    }
}
