#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Where replayed RGB frames go: a video or GIF through ffmpeg, image files, or a window.
public protocol FrameSink: AnyObject {
    func write(_ rgb: [UInt8]) throws
    func finish() throws
}

/// A sentence for a replay output that cannot be made.
public struct ReplayOutputError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// True when `tool` is an executable on PATH.
public func commandExists(_ tool: String) -> Bool {
    (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        .contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)") }
}

/// Feeds raw RGB frames at 60 fps to ffmpeg through a pipe; ffmpeg encodes the file.
public final class FFmpegSink: FrameSink {
    let process = Process()
    let pipe = Pipe()
    let output: String

    /// An H.264 MP4 (or whatever the extension says) of every frame at 60 fps.
    public static func video(_ output: String, width: Int, height: Int) throws -> FFmpegSink {
        try FFmpegSink(output: output, width: width, height: height, arguments: ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "18"])
    }

    /// An animated GIF with a palette made for the clip.
    public static func gif(_ output: String, width: Int, height: Int) throws -> FFmpegSink {
        try FFmpegSink(output: output, width: width, height: height, arguments: ["-vf", "split[a][b];[a]palettegen[p];[b][p]paletteuse"])
    }

    /// Why videos and GIFs cannot be written here, or nil when ffmpeg is installed.
    public static var unavailable: String? {
        commandExists("ffmpeg") ? nil
            : "Videos and GIFs need ffmpeg, which is not installed; install it with `apt-get install ffmpeg`, or use --frames DIR."
    }

    init(output: String, width: Int, height: Int, arguments: [String]) throws {
        if let why = Self.unavailable { throw ReplayOutputError(why) }
        self.output = output
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ffmpeg", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
                             "-s", "\(width)x\(height)", "-r", "60", "-i", "-"] + arguments + [output]
        process.standardInput = pipe
        try process.run()
    }

    public func write(_ rgb: [UInt8]) throws {
        do { try pipe.fileHandleForWriting.write(contentsOf: rgb) } catch {
            throw ReplayOutputError("ffmpeg stopped reading frames for \(output) (\(error)); check the output path and its extension.")
        }
    }

    public func finish() throws {
        try? pipe.fileHandleForWriting.close()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ReplayOutputError("ffmpeg could not write \(output) (exit \(process.terminationStatus)); check the output path and its extension.")
        }
    }
}

/// Writes each frame as a PNG image: frame-000001.png, ...
public final class PNGSink: FrameSink {
    let directory: URL
    let width: Int, height: Int
    public private(set) var count = 0

    public init(directory: String, width: Int, height: Int) throws {
        self.directory = URL(fileURLWithPath: directory)
        self.width = width
        self.height = height
        do { try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true) } catch {
            throw ReplayOutputError("Cannot create the frames folder \(directory): \(error.localizedDescription).")
        }
    }

    public func write(_ rgb: [UInt8]) throws {
        count += 1
        let url = directory.appendingPathComponent(String(format: "frame-%06d.png", count))
        do { try Data(PNG.encodeRGB(rgb, width: width, height: height)).write(to: url) } catch {
            throw ReplayOutputError("Cannot write \(url.path): \(error.localizedDescription).")
        }
    }

    public func finish() throws {}
}

/// A window through SDL2, loaded at run time (Debian's libsdl2-2.0-0), so the arena builds and
/// runs without it; `--window` then says what to install. Frames are shown at 60 fps, scaled 3x
/// (`ARENA_REPLAY_FPS` sets another rate; 0 shows them as fast as they come).
public final class SDLWindowSink: FrameSink {
    private typealias InitFn = @convention(c) (UInt32) -> Int32
    private typealias CreateWindowFn = @convention(c) (UnsafePointer<CChar>, Int32, Int32, Int32, Int32, UInt32) -> OpaquePointer?
    private typealias CreateRendererFn = @convention(c) (OpaquePointer, Int32, UInt32) -> OpaquePointer?
    private typealias CreateTextureFn = @convention(c) (OpaquePointer, UInt32, Int32, Int32, Int32) -> OpaquePointer?
    private typealias UpdateTextureFn = @convention(c) (OpaquePointer, UnsafeRawPointer?, UnsafeRawPointer, Int32) -> Int32
    private typealias RenderCopyFn = @convention(c) (OpaquePointer, OpaquePointer, UnsafeRawPointer?, UnsafeRawPointer?) -> Int32
    private typealias RenderPresentFn = @convention(c) (OpaquePointer) -> Void
    private typealias PollEventFn = @convention(c) (UnsafeMutableRawPointer) -> Int32
    private typealias DelayFn = @convention(c) (UInt32) -> Void
    private typealias GetErrorFn = @convention(c) () -> UnsafePointer<CChar>?
    private typealias DestroyFn = @convention(c) (OpaquePointer) -> Void
    private typealias QuitFn = @convention(c) () -> Void

    private let lib: UnsafeMutableRawPointer
    private let window: OpaquePointer, renderer: OpaquePointer, texture: OpaquePointer
    private let width: Int
    private let updateTexture: UpdateTextureFn, renderCopy: RenderCopyFn, present: RenderPresentFn
    private let pollEvent: PollEventFn, delay: DelayFn
    private let destroyTexture: DestroyFn, destroyRenderer: DestroyFn, destroyWindow: DestroyFn, quit: QuitFn
    private var event = [UInt8](repeating: 0, count: 64)
    private let frameMilliseconds: UInt32
    /// True once the user closed the window.
    public private(set) var closed = false

    public init(title: String, width: Int, height: Int, scale: Int = 3) throws {
        guard let lib = dlopen("libSDL2-2.0.so.0", RTLD_NOW) else {
            throw ReplayOutputError("--window needs the SDL2 library, which is not installed; install it with `apt-get install libsdl2-2.0-0` (or libsdl2-dev), or use --video out.mp4.")
        }
        func sym<T>(_ name: String, _: T.Type) throws -> T {
            guard let p = dlsym(lib, name) else { throw ReplayOutputError("The SDL2 library lacks \(name); install SDL 2.0.10 or later.") }
            return unsafeBitCast(p, to: T.self)
        }
        let sdlInit = try sym("SDL_Init", InitFn.self)
        let getError = try sym("SDL_GetError", GetErrorFn.self)
        func sdlError() -> String { getError().map { String(cString: $0) } ?? "unknown error" }
        guard sdlInit(0x20) == 0 else {  // SDL_INIT_VIDEO
            throw ReplayOutputError("SDL could not open a display (\(sdlError())); run under a desktop or Xvfb, or use --video out.mp4.")
        }
        let createWindow = try sym("SDL_CreateWindow", CreateWindowFn.self)
        let createRenderer = try sym("SDL_CreateRenderer", CreateRendererFn.self)
        let createTexture = try sym("SDL_CreateTexture", CreateTextureFn.self)
        guard let w = title.withCString({ createWindow($0, 0x1FFF0000, 0x1FFF0000, Int32(width * scale), Int32(height * scale), 0) }) else {
            throw ReplayOutputError("SDL could not create a window (\(sdlError())).")
        }
        guard let r = createRenderer(w, -1, 0) else { throw ReplayOutputError("SDL could not create a renderer (\(sdlError())).") }
        // SDL_PIXELFORMAT_RGB24, SDL_TEXTUREACCESS_STREAMING
        guard let t = createTexture(r, 0x17101803, 1, Int32(width), Int32(height)) else {
            throw ReplayOutputError("SDL could not create a texture (\(sdlError())).")
        }
        self.lib = lib
        let fps = ProcessInfo.processInfo.environment["ARENA_REPLAY_FPS"].flatMap(Double.init) ?? 60
        frameMilliseconds = fps > 0 ? UInt32(1000 / fps) : 0
        window = w; renderer = r; texture = t
        self.width = width
        updateTexture = try sym("SDL_UpdateTexture", UpdateTextureFn.self)
        renderCopy = try sym("SDL_RenderCopy", RenderCopyFn.self)
        present = try sym("SDL_RenderPresent", RenderPresentFn.self)
        pollEvent = try sym("SDL_PollEvent", PollEventFn.self)
        delay = try sym("SDL_Delay", DelayFn.self)
        destroyTexture = try sym("SDL_DestroyTexture", DestroyFn.self)
        destroyRenderer = try sym("SDL_DestroyRenderer", DestroyFn.self)
        destroyWindow = try sym("SDL_DestroyWindow", DestroyFn.self)
        quit = try sym("SDL_Quit", QuitFn.self)
    }

    public func write(_ rgb: [UInt8]) throws {
        if closed { return }
        event.withUnsafeMutableBytes { e in
            // safe because: 64 bytes hold any SDL_Event (56 bytes); the type is its first UInt32.
            while pollEvent(e.baseAddress.unsafelyUnwrapped) != 0 {
                if e.load(as: UInt32.self) == 0x100 { closed = true }  // SDL_QUIT
            }
        }
        rgb.withUnsafeBytes { _ = updateTexture(texture, nil, $0.baseAddress.unsafelyUnwrapped, Int32(width * 3)) }
        _ = renderCopy(renderer, texture, nil, nil)
        present(renderer)
        if frameMilliseconds > 0 { delay(frameMilliseconds) }
    }

    public func finish() throws {
        destroyTexture(texture)
        destroyRenderer(renderer)
        destroyWindow(window)
        quit()
        dlclose(lib)
    }
}
