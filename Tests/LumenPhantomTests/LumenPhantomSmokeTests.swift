import Testing
@testable import LumenPhantom
