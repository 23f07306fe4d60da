// swift-tools-version:6.0
// AtariArena: a reinforcement-learning arena for Atari 2600 games over the real ALE.
import PackageDescription

let package = Package(
    name: "AtariArena",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "arena", targets: ["arena"]),
        .library(name: "Environment", targets: ["Environment"]),
        .library(name: "NeuralNet", targets: ["NeuralNet"]),
        .library(name: "Agent", targets: ["Agent"]),
        .library(name: "Runner", targets: ["Runner"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // Flags only: brings ALE's include and library paths from ale.pc (written by scripts/setup.sh).
        .systemLibrary(name: "ALEFlags", path: "Sources/ALEFlags", pkgConfig: "ale"),
        // C++ shim over ALE's C++ API: a C API over an opaque handle, every exception caught.
        .target(name: "CALE", dependencies: ["ALEFlags"], path: "Sources/CALE"),
        // Debian's OpenBLAS (cblas.h). Only NeuralNet imports it, in one file.
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),

        // Debian's OpenSSL libcrypto: SHA-256 (checkpoints are hashed in full, so it must be fast;
        // libcrypto picks the CPU's SHA instructions at run time). Only ArenaSupport imports it.
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "libcrypto",
                       providers: [.apt(["libssl-dev"])]),
        // Debian's zlib: deflate for the PNG frames of `arena replay`. Only Runner imports it.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),

        // Our own CPU kernels in C (bf16 GEMM with AVX512_BF16), compiled for baseline x86-64
        // with per-function targets and chosen at run time. Only NeuralNet's BLAS seam calls them.
        .target(name: "CKernels", path: "Sources/CKernels"),
        // C++ shim over Debian's oneDNN (libdnnl-dev): the convolutions of the `onednn` kernels
        // setting. oneDNN picks its kernels for the CPU at run time. Only NeuralNet's OneDNN.swift
        // calls it.
        .target(name: "CDNN", path: "Sources/CDNN",
                linkerSettings: [.linkedLibrary("dnnl"), .linkedLibrary("gomp")]),

        // Seeded generators, atomic files, checksums, shared errors: what every module uses.
        .target(name: "ArenaSupport", dependencies: ["COpenSSL"]),
        .target(name: "Environment", dependencies: ["CALE", "ArenaSupport"], exclude: ["Resources"]),
        .target(name: "NeuralNet", dependencies: ["CBLAS", "CKernels", "CDNN", "ArenaSupport"]),
        .target(name: "Agent", dependencies: ["NeuralNet", "Environment", "ArenaSupport"]),
        // No NeuralNet: the runner knows agents only through ArenaAgent and AgentFactory.
        .target(name: "Runner", dependencies: ["Agent", "Environment", "ArenaSupport", "CZlib"]),
        .executableTarget(name: "arena", dependencies: [
            "Runner", "Agent", "Environment", "NeuralNet", "ArenaSupport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // The C++ reference loop the environment benchmark compares against (same libale).
        .executableTarget(name: "ale-reference-bench", dependencies: ["ALEFlags"],
                          path: "Sources/ALEReferenceBench"),

        .target(name: "TestSupport", dependencies: ["Environment"], path: "Tests/TestSupport"),
        .testTarget(name: "ArenaSupportTests", dependencies: ["ArenaSupport"]),
        .testTarget(name: "EnvironmentTests", dependencies: ["Environment", "TestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "NeuralNetTests", dependencies: ["NeuralNet", "TestSupport"]),
        .testTarget(name: "AgentTests", dependencies: ["Agent", "NeuralNet", "TestSupport"]),
        .testTarget(name: "RunnerTests", dependencies: ["Runner", "Agent", "NeuralNet", "TestSupport"],
                    exclude: ["Compare/Fixtures"]),
    ],
    swiftLanguageModes: [.v5],
    cxxLanguageStandard: .cxx17
)
