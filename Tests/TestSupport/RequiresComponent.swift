import Foundation
import Testing

/// True when the environment says `CI=true` (the convention of GitHub Actions, GitLab CI and most
/// others; `.ci/run` sets it too). Under CI a test whose real component is missing fails.
public var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

/// A test that needs a real component (a program, a library, a cluster, root) it cannot fake.
///
/// One rule for every such test, in one trait: when the component is there the test runs; when
/// it is missing the test is skipped with `sentence` as its reason, except under `CI=true`, where
/// it fails with that sentence instead, so that a CI run cannot pass by skipping what it was
/// meant to check. The availability check runs once per test, when the run is planned.
///
///     @Test(.requires(commandExists("ffmpeg"), "needs ffmpeg (make test installs it)"))
public struct RequiresComponent: TestTrait, SuiteTrait {
    let isAvailable: @Sendable () -> Bool
    /// What the test needs and how to get it, as one sentence.
    public let sentence: String
    public let sourceLocation: SourceLocation

    public var isRecursive: Bool { true }
    public var comments: [Comment] { [Comment(rawValue: sentence)] }

    public func prepare(for test: Test) async throws {
        if isAvailable() { return }
        if isCI { throw MissingComponent(sentence: sentence) }
        // Outside CI: skip, through the library's own condition trait (the same report as
        // `.enabled(if: false, sentence)`).
        try await ConditionTrait.disabled(Comment(rawValue: sentence), sourceLocation: sourceLocation).prepare(for: test)
    }
}

/// The failure a test gated by `.requires` records under `CI=true` when its component is missing.
public struct MissingComponent: Error, CustomStringConvertible {
    public let sentence: String
    public var description: String { "CI=true, so this test fails instead of skipping: \(sentence)" }
}

extension Trait where Self == RequiresComponent {
    /// Runs the test when `available` is true; otherwise skips it with `sentence`, or under
    /// `CI=true` fails it with `sentence`.
    public static func requires(_ available: @autoclosure @escaping @Sendable () -> Bool, _ sentence: String,
                                sourceLocation: SourceLocation = #_sourceLocation) -> Self {
        RequiresComponent(isAvailable: available, sentence: sentence, sourceLocation: sourceLocation)
    }
}
