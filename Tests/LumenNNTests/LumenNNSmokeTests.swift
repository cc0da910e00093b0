import Testing
@testable import LumenNN
