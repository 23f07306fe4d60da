import Testing
@testable import Environment
