import Foundation

/// Finds ROM files. Order: an explicit folder, `ARENA_ROM_DIR`, `./roms`, then the `roms/`
/// folder of the package the running executable was built in (`.build/<config>/arena`).
public enum RomLocator {
    public static func searchDirectories(explicit: URL? = nil) -> [URL] {
        if let explicit { return [explicit] }
        var dirs: [URL] = []
        if let env = ProcessInfo.processInfo.environment["ARENA_ROM_DIR"], !env.isEmpty {
            return [URL(fileURLWithPath: env)]
        }
        dirs.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("roms"))
        let exe = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        for _ in 0..<4 {
            dir = dir.deletingLastPathComponent()
            dirs.append(dir.appendingPathComponent("roms"))
        }
        return dirs
    }

    /// The ROM file for a game id, or an error that says where it looked and how to install it.
    public static func romURL(for gameID: String, directory: URL? = nil) throws -> URL {
        let dirs = searchDirectories(explicit: directory)
        for dir in dirs {
            let url = dir.appendingPathComponent("\(gameID).bin")
            if FileManager.default.isReadableFile(atPath: url.path) { return url }
        }
        let looked = dirs.map(\.path).joined(separator: ", ")
        let anyRoms = dirs.contains { FileManager.default.fileExists(atPath: $0.appendingPathComponent("MD5SUMS").path) && (try? FileManager.default.contentsOfDirectory(atPath: $0.path).contains { $0.hasSuffix(".bin") }) == true }
        if anyRoms {
            return try fail("The ROM for '\(gameID)' is missing from the ROM folder (looked in \(looked)). Run `make setup` to reinstall the ROMs, or set ARENA_ROM_DIR to a folder holding \(gameID).bin.")
        }
        return try fail("No ROMs are installed (looked in \(looked)). Run `make setup` (it copies the ROMs from the ale-py source distribution into roms/), or set ARENA_ROM_DIR to a folder of ROMs.")
    }

    private static func fail(_ s: String) throws -> URL { throw EnvironmentError(s) }
}
