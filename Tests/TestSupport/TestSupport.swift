import Environment
import Foundation

/// The package's root folder, found from this file's path.
public let packageRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The ROM folder tests use: ARENA_ROM_DIR, else the package's roms/ (installed by `make test`).
public var testROMDirectory: URL {
    if let env = ProcessInfo.processInfo.environment["ARENA_ROM_DIR"], !env.isEmpty { return URL(fileURLWithPath: env) }
    return packageRoot.appendingPathComponent("roms")
}

/// A fresh temporary folder, removed by the caller with `removeTemporaryDirectory`.
public func makeTemporaryDirectory(_ label: String = "arena-test") throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// FNV-1a over bytes: a cheap fingerprint for comparing screens and observations in tests.
public func fingerprint(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
    return h
}

public func fingerprint(_ bytes: [UInt8]) -> UInt64 { bytes.withUnsafeBufferPointer { fingerprint($0) } }
