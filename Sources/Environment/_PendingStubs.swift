// TEMPORARY: stand-ins for the preprocessing and catalog files being written on branch `prep`,
// and SHA256 on branch `runnerio`. Deleted when those branches land.
import Foundation
public struct GameInfo: Codable, Sendable, Equatable { public var id: String; public var title: String; public var isAtari57: Bool; public var random: Double?; public var human: Double?; public var dqnNature: Double? }
public enum GameCatalog {
    public static func resolve(_ id: String) throws -> GameInfo { GameInfo(id: id, title: id, isAtari57: true, random: -20.7, human: 14.6, dqnNature: 18.9) }
    public static func info(_ id: String) -> GameInfo? { try? resolve(id) }
    public static func humanNormalized(score: Double, game: String) -> Double? { nil }
}
public enum FramePooling { public static func max(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, into: UnsafeMutablePointer<UInt8>, count: Int) { for i in 0..<count { into[i] = Swift.max(a[i], b[i]) } } }
public struct AreaResizer { public init(sourceHeight: Int, sourceWidth: Int, targetHeight: Int, targetWidth: Int) {}; public func resize(_ src: UnsafePointer<UInt8>, into dst: UnsafeMutablePointer<UInt8>) {} }
public struct FrameStack { public init(depth: Int = 4, frameSize: Int = 7056) {}; public mutating func reset(with frame: UnsafePointer<UInt8>) {}; public mutating func push(_ frame: UnsafePointer<UInt8>) {}; public func write(into: UnsafeMutablePointer<UInt8>) {} }
